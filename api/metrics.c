/*
 * metrics.c - Prometheus text exposition of the API (see metrics.h).
 *
 * Statuses are counted in a fixed table of the codes the API answers (any
 * other lands in "other"), so counting never allocates or locks. Values
 * that cost a round trip (queue depth, report counters) are cached for
 * CACHE_S seconds under a mutex, so a burst of scrapes from several
 * Prometheus replicas costs one read.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/cache.h"
#include "api/metrics.h"
#include "api/pool.h"
#include "api/router.h"
#include "ingest/queue.h"
#include "lib/xalloc.h"
#include "storage/portal.h"
#include "lib/banned.h"

#define CACHE_S 5

static const unsigned STATUSES[] = { 200, 201, 202, 204, 206, 304, 400, 401, 403, 404,
                                     405, 409, 411, 413, 415, 429, 500, 503 };
#define NSTATUS (sizeof(STATUSES) / sizeof(STATUSES[0]))
#define STATUS_OTHER NSTATUS

/* Upper bounds of the latency buckets, in microseconds. */
static const uint64_t BUCKETS_US[] = { 1000,   2500,   5000,    10000,   25000,  50000,
                                       100000, 250000, 500000, 1000000, 2500000, 10000000 };
#define NBUCKET (sizeof(BUCKETS_US) / sizeof(BUCKETS_US[0]))

struct route_stats {
    atomic_uint_fast64_t by_status[NSTATUS + 1];
    atomic_uint_fast64_t buckets[NBUCKET];      /* not cumulative: rendered cumulatively */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
};

struct api_metrics {
    size_t routes;
    struct route_stats *stats;          /* routes + 1 */
    pthread_mutex_t lock;               /* guards the cache below */
    time_t cached_at;
    bool queue_ok;
    struct queue_stats queue;
    bool db_ok;
    struct portal_counters counters;
    time_t started;
};

struct api_metrics *api_metrics_new(size_t routes)
{
    struct api_metrics *m = xcalloc(1, sizeof(*m));
    m->routes = routes;
    m->stats = xcalloc(routes + 1, sizeof(*m->stats));
    for (size_t r = 0; r <= routes; r++) {
        for (size_t i = 0; i <= NSTATUS; i++)
            atomic_init(&m->stats[r].by_status[i], 0);
        for (size_t i = 0; i < NBUCKET; i++)
            atomic_init(&m->stats[r].buckets[i], 0);
        atomic_init(&m->stats[r].count, 0);
        atomic_init(&m->stats[r].sum_us, 0);
    }
    pthread_mutex_init(&m->lock, NULL);
    m->started = time(NULL);
    return m;
}

void api_metrics_free(struct api_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m->stats);
    free(m);
}

void api_metrics_observe(struct api_metrics *m, size_t route, unsigned status, uint64_t us)
{
    if (route > m->routes)
        route = m->routes;
    struct route_stats *s = &m->stats[route];
    size_t i = 0;
    while (i < NSTATUS && STATUSES[i] != status)
        i++;
    atomic_fetch_add_explicit(&s->by_status[i], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < NBUCKET && us > BUCKETS_US[b])
        b++;
    if (b < NBUCKET)
        atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, us, memory_order_relaxed);
}

static void route_labels(const struct api_metrics *m, size_t r, struct strbuf *out)
{
    if (r < m->routes)
        (void)strbuf_addf(out, "route=\"%s\",method=\"%s\"", api_routes[r].pattern,
                          api_method_name(api_routes[r].method));
    else
        (void)strbuf_addstr(out, "route=\"other\",method=\"other\"");
}

static void render_requests(const struct api_metrics *m, struct strbuf *out)
{
    (void)strbuf_addstr(out, "# HELP dmarcd_http_requests_total HTTP requests answered, by route "
                             "pattern, method and status.\n"
                             "# TYPE dmarcd_http_requests_total counter\n");
    for (size_t r = 0; r <= m->routes; r++) {
        for (size_t i = 0; i <= NSTATUS; i++) {
            uint64_t n = atomic_load_explicit(&m->stats[r].by_status[i], memory_order_relaxed);
            if (!n)
                continue;
            (void)strbuf_addstr(out, "dmarcd_http_requests_total{");
            route_labels(m, r, out);
            if (i < NSTATUS)
                (void)strbuf_addf(out, ",status=\"%u\"} %llu\n", STATUSES[i],
                                  (unsigned long long)n);
            else
                (void)strbuf_addf(out, ",status=\"other\"} %llu\n", (unsigned long long)n);
        }
    }
}

static void render_latency(const struct api_metrics *m, struct strbuf *out)
{
    (void)strbuf_addstr(out, "# HELP dmarcd_http_request_duration_seconds Time from a request's "
                             "arrival to its response being ready, by route.\n"
                             "# TYPE dmarcd_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r <= m->routes; r++) {
        const struct route_stats *s = &m->stats[r];
        uint64_t count = atomic_load_explicit(&s->count, memory_order_relaxed);
        if (!count)
            continue;
        uint64_t cum = 0;
        for (size_t b = 0; b < NBUCKET; b++) {
            cum += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
            (void)strbuf_addstr(out, "dmarcd_http_request_duration_seconds_bucket{");
            route_labels(m, r, out);
            (void)strbuf_addf(out, ",le=\"%g\"} %llu\n", (double)BUCKETS_US[b] / 1e6,
                              (unsigned long long)cum);
        }
        (void)strbuf_addstr(out, "dmarcd_http_request_duration_seconds_bucket{");
        route_labels(m, r, out);
        (void)strbuf_addf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)count);
        (void)strbuf_addstr(out, "dmarcd_http_request_duration_seconds_sum{");
        route_labels(m, r, out);
        (void)strbuf_addf(out, "} %.6f\n",
                          (double)atomic_load_explicit(&s->sum_us, memory_order_relaxed) / 1e6);
        (void)strbuf_addstr(out, "dmarcd_http_request_duration_seconds_count{");
        route_labels(m, r, out);
        (void)strbuf_addf(out, "} %llu\n", (unsigned long long)count);
    }
}

/* Refreshes the cached queue and database figures (m->lock held). */
static void refresh(struct api_metrics *m, struct api_call *c)
{
    struct queue *q = NULL;
    m->queue_ok = c->slot && !api_pool_queue(c->env->pool, c->slot, &q) &&
                  !queue_stats(q, &m->queue);
    m->db_ok = false;
    if (c->st) {
        enum dmarcd_err rc = portal_read_counters(c->st, &m->counters);
        m->db_ok = !rc;
        if (rc)
            c->store_rc = rc;
    }
    m->cached_at = time(NULL);
}

static void gauge(struct strbuf *out, const char *name, const char *type, const char *help,
                  const char *labels, uint64_t v, bool first)
{
    if (first)
        (void)strbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    (void)strbuf_addf(out, "%s%s%s%s %llu\n", name, labels ? "{" : "", labels ? labels : "",
                      labels ? "}" : "", (unsigned long long)v);
}

static void render_backends(struct api_metrics *m, struct strbuf *out)
{
    gauge(out, "dmarcd_queue_up", "gauge", "1 when Redis answered the last queue read.", NULL,
          m->queue_ok, true);
    if (m->queue_ok) {
        const char *help = "Jobs in the Redis queue, by state.";
        gauge(out, "dmarcd_queue_jobs", "gauge", help, "state=\"waiting\"", m->queue.waiting,
              true);
        gauge(out, "dmarcd_queue_jobs", "gauge", help, "state=\"pending\"", m->queue.pending,
              false);
        gauge(out, "dmarcd_queue_jobs", "gauge", help, "state=\"delayed\"", m->queue.delayed,
              false);
        gauge(out, "dmarcd_queue_jobs", "gauge", help, "state=\"dead\"", m->queue.dead, false);
        gauge(out, "dmarcd_queue_oldest_pending_idle_seconds", "gauge",
              "How long the oldest delivered, unacknowledged job has been idle.", NULL,
              m->queue.oldest_pending_idle_ms / 1000, true);
    }
    gauge(out, "dmarcd_database_up", "gauge", "1 when MariaDB answered the last counter read.",
          NULL, m->db_ok, true);
    if (m->db_ok) {
        const char *help = "Reports stored so far, by kind (highest row id: grows by one per "
                           "stored report, give or take gaps after rollbacks).";
        gauge(out, "dmarcd_reports_stored_total", "counter", help, "kind=\"aggregate\"",
              m->counters.aggregate_reports, true);
        gauge(out, "dmarcd_reports_stored_total", "counter", help, "kind=\"failure\"",
              m->counters.failure_reports, false);
        gauge(out, "dmarcd_reports_stored_total", "counter", help, "kind=\"tls\"",
              m->counters.tls_reports, false);
        gauge(out, "dmarcd_quarantined_total", "counter",
              "Message parts that could not be stored and were quarantined with a reason.", NULL,
              m->counters.quarantined, true);
    }
}

void api_metrics_render(struct api_metrics *m, struct api_call *c, struct strbuf *out)
{
    pthread_mutex_lock(&m->lock);
    if (time(NULL) - m->cached_at >= CACHE_S)
        refresh(m, c);
    render_backends(m, out);
    pthread_mutex_unlock(&m->lock);
    gauge(out, "dmarcd_api_start_time_seconds", "gauge", "When this API process started (epoch).",
          NULL, (uint64_t)m->started, true);
    uint64_t hits = 0, misses = 0;
    api_cache_counts(c->env->cache, &hits, &misses);
    gauge(out, "dmarcd_api_cache_requests_total", "counter",
          "Cacheable requests (overview, sources, time series), by outcome.", "outcome=\"hit\"",
          hits, true);
    gauge(out, "dmarcd_api_cache_requests_total", "counter",
          "Cacheable requests (overview, sources, time series), by outcome.",
          "outcome=\"miss\"", misses, false);
    render_requests(m, out);
    render_latency(m, out);
}
