/*
 * prng.c - splitmix64 + xoshiro256** (Blackman and Vigna, public domain
 * algorithms), re-implemented here so that the output is independent of the
 * C library's rand() and identical everywhere.
 */
#include "prng.h"
#include "lib/banned.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void rng_init(struct rng *r, uint64_t seed)
{
    uint64_t x = seed;

    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

void rng_derive(struct rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    uint64_t x = seed;
    uint64_t labels[4] = {a, b, c, d};
    uint64_t h = splitmix64(&x);

    /* Chain the labels through splitmix so that (1,2) and (2,1) differ. */
    for (int i = 0; i < 4; i++) {
        x = h ^ labels[i];
        h = splitmix64(&x);
    }
    rng_init(r, h);
}

uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
    /* Rejection sampling: no modulo bias. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;

    do
        v = rng_next(r);
    while (v >= limit);
    return v % n;
}

uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
    return lo + rng_below(r, hi - lo + 1);
}

double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

int rng_chance(struct rng *r, double p)
{
    return rng_unit(r) < p;
}

double rng_gauss(struct rng *r)
{
    double sum = 0.0;

    for (int i = 0; i < 12; i++)
        sum += rng_unit(r);
    return sum - 6.0;
}

uint64_t rng_round(struct rng *r, double x)
{
    uint64_t whole;

    if (x <= 0.0)
        return 0;
    whole = (uint64_t)x;
    return whole + (rng_unit(r) < x - (double)whole ? 1 : 0);
}

const char *rng_pick(struct rng *r, const char *const *table, uint64_t n)
{
    return table[rng_below(r, n)];
}
