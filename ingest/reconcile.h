/*
 * reconcile.h - makes "Redis lost the queue" harmless: finds inbox rows
 * that still need work but that the queue does not know about, and queues
 * them again.
 *
 * The inbox (MariaDB) is the truth; the queue is only a hint of what to do
 * next. A row needs the reconciler when
 *   - it is pending and was never queued (the process died between the
 *     inbox commit and queue_push, or Redis was down at that moment), or
 *     Redis lost its job (restart without persistence, flush, failover to
 *     a replica that had not seen it, trimming of an overlong stream);
 *   - it is processing but its worker stopped renewing the lease and the
 *     queue no longer holds the job to hand it to another worker.
 * A pending row younger than grace_ms is skipped: its ingest path is about
 * to queue it. A row the queue knows (queued within horizon_ms and not
 * finished) is skipped too, so a long backlog is not queued twice over on
 * every pass; one the queue has "known" for longer than horizon_ms is
 * queued again, which bounds what an unexpectedly lost job can cost.
 * Queueing a row twice is harmless: the claim on the inbox row decides.
 *
 *   struct reconcile r;
 *   reconcile_init(&r, NULL);
 *   every minute or so, in one thread of one worker process:
 *       do rc = reconcile_once(&r, st, q, &res); while (!rc && !res.sweep_done);
 *
 * The struct holds the position of a sweep through the inbox between
 * calls; each call looks at one bounded batch.
 */
#ifndef DMARCD_INGEST_RECONCILE_H
#define DMARCD_INGEST_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/queue.h"
#include "lib/error.h"
#include "storage/inbox.h"
#include "storage/store.h"

struct reconcile_options {
    uint32_t grace_ms;      /* a pending row this young is left to its ingest path, 60000 */
    uint32_t lease_ms;      /* a processing row untouched this long lost its worker, 600000 */
    uint32_t horizon_ms;    /* a job queued longer ago than this is presumed lost, 3600000 */
    size_t batch;           /* rows looked at per call, 500 */
};

void reconcile_options_default(struct reconcile_options *o);

struct reconcile {
    struct reconcile_options o;
    struct inbox_cursor cursor;
};

/* o may be NULL for the defaults. */
void reconcile_init(struct reconcile *r, const struct reconcile_options *o);

struct reconcile_result {
    size_t examined;        /* candidate rows looked at */
    size_t requeued;        /* of which queued again */
    bool sweep_done;        /* the sweep reached the end; the next call starts a new one */
};

/*
 * Looks at the next batch of candidate rows and queues those the queue
 * does not know. A database or Redis failure leaves the position where it
 * was, so the next call retries the same batch.
 */
enum dmarcd_err reconcile_once(struct reconcile *r, struct store *st, struct queue *q,
                               struct reconcile_result *res) DMARCD_MUST_CHECK;

#endif
