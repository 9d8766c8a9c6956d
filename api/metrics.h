/*
 * metrics.h - the API's Prometheus metrics: requests by route, method and
 * status, a latency histogram per route, and (read when scraped, cached a
 * few seconds) the queue depth from Redis and the report counters from
 * MariaDB.
 *
 * Request counters are lock-free atomics indexed by route and status, so
 * counting costs a few relaxed increments per request. Routes are the
 * patterns of the route table (never raw paths), which keeps the label
 * set small and fixed.
 */
#ifndef DMARCD_API_METRICS_H
#define DMARCD_API_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "api/http.h"
#include "lib/strbuf.h"

struct api_metrics;

/* routes: how many routes the table has (one more slot counts the rest). */
struct api_metrics *api_metrics_new(size_t routes);
void api_metrics_free(struct api_metrics *m);

/* Counts one answered request of route (routes: unmatched) taking us microseconds. */
void api_metrics_observe(struct api_metrics *m, size_t route, unsigned status, uint64_t us);

/* Writes the text exposition into out; reads the queue and the database
 * through c when the cached values are older than a few seconds. */
void api_metrics_render(struct api_metrics *m, struct api_call *c, struct strbuf *out);

#endif
