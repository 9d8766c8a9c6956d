/*
 * worker.h - the engine of `dmarcd worker`: threads that take jobs off the
 * queue (queue.h) and turn the inbox rows they name (storage/inbox.h) into
 * stored reports (storage/sink_db.h). The one place where the parser and
 * the storage meet.
 *
 * Each worker thread owns a store, a queue handle and its database sinks,
 * and loops:
 *
 *   queue_claim ─▶ inbox_claim ─▶ inbox_load ─▶ parse + store ─▶ inbox_done ─▶ queue_ack
 *                   │ not ours: queue_ack          │ no report at all: inbox_quarantine
 *                   │ too many claims:             │ transient: inbox_release + queue_retry,
 *                   │   quarantine + queue_dead    │   or quarantine + queue_dead when the
 *                                                  │   attempts are spent
 *
 * One housekeeping thread, with its own store and queue handle, renews the
 * leases of the jobs in hand (inbox_touch + queue_extend) so that a long
 * report is never taken for a dead worker's, runs the reconciler
 * (reconcile.h) while it holds the Redis lock "reconcile" (one reconciler
 * across all worker processes), and forgets long-idle consumers.
 *
 * A worker killed at any instant is harmless: its job stays unacknowledged
 * and its inbox row in `processing`; both run out after the visibility
 * timeout, and another worker takes the job over (storing is idempotent).
 *
 *   struct worker_options o;
 *   worker_options_default(&o);
 *   o.db = &db_url; o.redis = &redis_url; o.threads = 4;
 *   rc = worker_start(&o, &pool, &why);    connects everything before any thread runs
 *   ... on SIGTERM: worker_stop(pool);     no new jobs; the jobs in hand go on
 *   if (!worker_wait(pool, deadline_ms))
 *       worker_abandon(pool);              release the jobs in hand, unacknowledged
 *   worker_wait(pool, ...); worker_free(pool);
 *
 * The pool's functions are called from one controlling thread.
 */
#ifndef DMARCD_INGEST_WORKER_H
#define DMARCD_INGEST_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "ingest/queue.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/url.h"
#include "storage/forensic.h"

#define WORKER_MAX_THREADS 64

struct worker_options {
    const struct db_url *db;            /* borrowed for the pool's life */
    const struct redis_url *redis;      /* borrowed for the pool's life */
    /* Master keys sealing the failure-report samples of `encrypted`
     * tenants (storage/keys.h; NULL: those samples are not kept), and what
     * becomes of a sample whose tenant's OpenPGP key cannot encrypt.
     * Borrowed for the pool's life; shared by the threads. */
    const struct keyring *keys;
    enum forensic_fallback pgp_fallback;
    /* prefix, group, visibility_ms (also the inbox lease), max_attempts,
     * retry backoff; client_name is set per connection */
    struct queue_options queue;
    unsigned threads;                   /* 1 .. WORKER_MAX_THREADS, 2 */
    uint32_t claim_block_ms;            /* how long one claim waits for a job, 1500 */
    /* Interval of the reconciler's passes, also the age a pending inbox row
     * must reach before the reconciler queues it again; 0: no reconciler. 60000 */
    uint32_t reconcile_ms;
    uint64_t prune_idle_ms;             /* consumers idle this long are removed, 3600000 */
    /* End by itself once every thread found the queue empty and the inbox
     * holds no pending or processing row (back-fills, tests, benchmarks). */
    bool until_idle;
    const char *host;                   /* in consumer names; NULL: gethostname() */
};

void worker_options_default(struct worker_options *o);

/* Counts since the start, over every thread. */
struct worker_totals {
    uint64_t jobs;          /* jobs taken off the queue */
    uint64_t done;          /* messages finished (inbox done) */
    uint64_t quarantined;   /* messages quarantined whole */
    uint64_t retried;       /* transient failures put back with a backoff */
    uint64_t dead;          /* jobs given up after their attempts */
    uint64_t skipped;       /* jobs whose inbox row was not to be processed */
    uint64_t released;      /* jobs handed back unfinished at shutdown */
    uint64_t reports;       /* reports stored */
    uint64_t records;       /* their aggregate records */
    uint64_t duplicates;    /* reports found already stored */
    uint64_t problems;      /* reports and parts quarantined */
    uint64_t requeued;      /* inbox rows the reconciler queued again */
};

struct worker_pool;

/*
 * Connects one store and one queue handle per thread and one pair for the
 * housekeeper, prepares the sinks' statements, then starts the threads.
 * why (may be NULL) says what failed. DMARCD_E_DB_UNAVAILABLE or
 * DMARCD_E_QUEUE_UNAVAILABLE when a service cannot be reached,
 * DMARCD_E_DB when the schema is missing or old, DMARCD_E_CONFIG or
 * DMARCD_E_INVALID for bad options.
 */
enum dmarcd_err worker_start(const struct worker_options *o, struct worker_pool **out,
                             struct strbuf *why) DMARCD_MUST_CHECK;

/* No more jobs are claimed; the jobs in hand are finished. */
void worker_stop(struct worker_pool *p);

/*
 * The jobs in hand stop at the next report or record: their inbox rows go
 * back to pending and their jobs stay unacknowledged, so that another
 * worker takes them over once the visibility timeout has passed.
 */
void worker_abandon(struct worker_pool *p);

/*
 * Waits up to timeout_ms (0: just looks) for every thread to end, after
 * worker_stop(), or by themselves with until_idle. True when they have.
 */
bool worker_wait(struct worker_pool *p, uint32_t timeout_ms);

/* Stops, abandons what is left, joins the threads and closes everything; NULL is a no-op. */
void worker_free(struct worker_pool *p);

void worker_totals(struct worker_pool *p, struct worker_totals *out);

#endif
