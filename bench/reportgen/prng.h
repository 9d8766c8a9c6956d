/*
 * prng.h - the generator's own deterministic random numbers.
 *
 * xoshiro256** seeded through splitmix64. Never rand() or the clock: the same
 * arguments must give byte-identical output on every machine. Streams are
 * derived from (seed, labels...) with rng_derive() so that one report's
 * content does not depend on how many numbers other reports consumed.
 */
#ifndef REPORTGEN_PRNG_H
#define REPORTGEN_PRNG_H

#include <stdint.h>

struct rng {
    uint64_t s[4];
};

/* Seeds from one 64-bit value. */
void rng_init(struct rng *r, uint64_t seed);
/* Seeds from a base seed and up to four labels (domain, day, reporter...). */
void rng_derive(struct rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c, uint64_t d);

uint64_t rng_next(struct rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Uniform in [lo, hi] inclusive. */
uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi);
/* Uniform double in [0, 1). */
double rng_unit(struct rng *r);
/* 1 with probability p. */
int rng_chance(struct rng *r, double p);
/* Roughly standard normal (Irwin-Hall of 12 uniforms); keeps us off libm. */
double rng_gauss(struct rng *r);
/* floor(x) plus one with probability frac(x): unbiased rounding of rates. */
uint64_t rng_round(struct rng *r, double x);
/* Picks an element of a NULL-free string table. */
const char *rng_pick(struct rng *r, const char *const *table, uint64_t n);

#endif
