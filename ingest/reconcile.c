/*
 * reconcile.c - re-queues inbox rows the queue lost (see reconcile.h).
 *
 * One call: a page of candidates from the inbox (keyset walk, so the cost
 * is the page, not the table), one round trip asking the queue which of
 * them it knows, a push per unknown one. The cursor only moves on after
 * the pushes succeeded, so an outage in the middle repeats the page rather
 * than skipping it.
 */
#include <stdlib.h>
#include <string.h>

#include "ingest/reconcile.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

void reconcile_options_default(struct reconcile_options *o)
{
    o->grace_ms = 60000;
    o->lease_ms = 600000;
    o->horizon_ms = 3600000;
    o->batch = 500;
}

void reconcile_init(struct reconcile *r, const struct reconcile_options *o)
{
    memset(r, 0, sizeof(*r));
    if (o)
        r->o = *o;
    else
        reconcile_options_default(&r->o);
    if (r->o.batch == 0)
        r->o.batch = 1;
    inbox_cursor_init(&r->cursor);
}

enum dmarcd_err reconcile_once(struct reconcile *r, struct store *st, struct queue *q,
                               struct reconcile_result *res)
{
    struct inbox_cursor next = r->cursor;
    size_t n = 0;
    uint64_t *ids = xcalloc(r->o.batch, sizeof(*ids));
    bool *unknown = xcalloc(r->o.batch, sizeof(*unknown));
    memset(res, 0, sizeof(*res));
    if (inbox_cursor_done(&next))
        inbox_cursor_init(&next);
    enum dmarcd_err rc =
        inbox_pending(st, &next, r->o.grace_ms, r->o.lease_ms, ids, r->o.batch, &n);
    if (!rc && n)
        rc = queue_unknown(q, ids, n, r->o.horizon_ms, unknown);
    for (size_t i = 0; !rc && i < n; i++) {
        if (!unknown[i])
            continue;
        rc = queue_push(q, ids[i]);
        if (!rc)
            res->requeued++;
    }
    if (!rc) {
        r->cursor = next;
        res->examined = n;
        res->sweep_done = inbox_cursor_done(&next);
    }
    if (res->requeued)
        log_info("inbox rows re-queued", LOG_UINT("count", res->requeued),
                 LOG_UINT("examined", n), LOG_STR("stream", queue_stream_key(q)));
    if (rc)
        log_warn("reconcile pass failed", LOG_ERR(rc), LOG_UINT("requeued", res->requeued));
    free(unknown);
    free(ids);
    return rc;
}
