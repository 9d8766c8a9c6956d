/*
 * cache.h - a short-lived cache of the API's expensive read answers
 * (overview, sources, time series), per tenant and query.
 *
 * Why: those answers sum every roll-up row of a tenant's period (a 90-day
 * overview of a big tenant reads hundreds of thousands of rows), while the
 * data behind them changes only as reports arrive, mostly once a day. A
 * dashboard opened by several people, or reloaded, asks the same questions
 * again and again. Answers are kept for a few seconds (api_cache_seconds),
 * so they are at most that much older than the database.
 *
 * Concurrent misses of one key are single-flighted: the first caller
 * computes the answer, the others wait for it (up to the wait limit, then
 * compute themselves), so a burst of identical requests costs the database
 * one query instead of one per request.
 *
 * Keys are built by the dispatcher from the tenant id, the route, the query
 * parameters (sorted) and whatever else the answer depends on (today's date
 * for default ranges, the Accept header for CSV); the role does not enter,
 * because only routes whose answer is the same for every role that may call
 * them are cached. Only 200 answers are kept. Memory is bounded by a byte
 * budget; the least recently used answers go first.
 *
 *   switch (api_cache_begin(cache, key, &hit)) {
 *   case API_CACHE_HIT:   use hit (status, type, body); api_cache_hit_release(&hit)
 *   case API_CACHE_OWNER: compute; api_cache_end(cache, key, resp or NULL)
 *   case API_CACHE_BYPASS: compute, do not store
 *   }
 */
#ifndef DMARCD_API_CACHE_H
#define DMARCD_API_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "api/http.h"

struct api_cache;

/* ttl_s 0 disables the cache (every call bypasses). */
struct api_cache *api_cache_new(unsigned ttl_s, size_t max_bytes);
void api_cache_free(struct api_cache *c);

enum api_cache_result { API_CACHE_HIT, API_CACHE_OWNER, API_CACHE_BYPASS };

struct api_cache_hit {
    char content_type[80];
    char *body;                         /* heap copy */
    size_t len;
    unsigned age_s;
};

void api_cache_hit_release(struct api_cache_hit *hit);

enum api_cache_result api_cache_begin(struct api_cache *c, const char *key,
                                      struct api_cache_hit *hit);

/* The owner's answer: stored when resp is a 200, else the waiters compute
 * their own. resp may be NULL. */
void api_cache_end(struct api_cache *c, const char *key, const struct api_response *resp);

/* Hits and misses so far, for metrics. */
void api_cache_counts(struct api_cache *c, uint64_t *hits, uint64_t *misses);

#endif
