/*
 * worker.c - queue workers: claim a job, store the reports of its inbox
 * message, settle the message and the job (see worker.h for the model).
 *
 * The inbox row decides, the queue only delivers. Every outcome is first
 * written to the inbox row (done, quarantined, released) and only then to
 * the queue (ack, dead letter, retry), so a crash between the two leaves a
 * job whose row says what happened, and the redelivery costs one UPDATE.
 * A failure on the database side leaves the job unacknowledged: it comes
 * back after the visibility timeout, when the row's lease has run out too.
 *
 * Leases are renewed by the housekeeping thread on its own connections,
 * not by the worker between reports: a report's records go in one
 * transaction that may last minutes, and a touch inside it would stay
 * invisible to other workers until the commit. The inbox lease is a fifth
 * shorter than the queue's visibility timeout, so that when the queue
 * hands a silent worker's job to another, the row can always be taken
 * over as well.
 *
 * Shutdown is cooperative. After worker_stop() nothing new is claimed;
 * worker_abandon() makes the sink wrapper below refuse the next report or
 * record with a transient error, which stops the parse; the message is
 * released to pending and its job left unacknowledged for another worker.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest/reconcile.h"
#include "ingest/worker.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "parser/parse.h"
#include "parser/sinks.h"
#include "storage/forensic.h"
#include "storage/inbox.h"
#include "storage/sink_db.h"
#include "storage/store.h"
#include "lib/banned.h"

#define RECONCILE_LOCK "reconcile"
/* The housekeeper's pace: lease checks, idle checks, reconciler batches. */
#define KEEPER_TICK_MS 250
/* Reconciler batches per tick, so that lease renewals are never held up long. */
#define RECONCILE_BATCHES_PER_TICK 20
/* Readings of one message after deadlocks or a reconnect, before the
 * job goes back to the queue with its backoff. */
#define LOCAL_ATTEMPTS 3
/* Pause between attempts to reach a service that is away. */
#define OUTAGE_PAUSE_MS 1000
/* Longest problem text kept for a message-level quarantine reason. */
#define PROBLEM_MAX 600
#define HOST_MAX 40

struct worker_pool;

/* A job in hand, as the housekeeper sees it (guarded by the pool's lock). */
struct held_job {
    bool busy;
    struct queue_job job;
    uint64_t renewed_ms;        /* claim or last renewal, monotonic */
};

struct worker_thread {
    struct worker_pool *pool;
    unsigned index;
    pthread_t tid;
    bool started;
    char consumer[96];          /* host:pid:index */
    struct store *st;           /* NULL while the database is away */
    struct queue *q;
    struct sink_db *routed;     /* tenant by domain */
    struct sink_db *fixed;      /* every report to fixed_tenant */
    uint32_t fixed_tenant;
    struct held_job held;       /* pool lock */
    bool idle;                  /* pool lock: the last claim found nothing */
    /* the message in hand */
    struct report_sink inner;   /* the chosen sink_db, behind the guard */
    uint64_t inbox_id;
    enum dmarcd_err first_err;  /* first problem the sink reported */
    struct strbuf first_problem;
};

struct worker_pool {
    struct worker_options o;
    char owner[80];             /* host:pid: the reconciler lock's owner */
    uint32_t lease_ms;
    atomic_bool stop, abandon;
    pthread_mutex_t lock;
    pthread_cond_t changed;     /* a thread ended, or stop was asked */
    unsigned running;           /* threads not ended, the housekeeper included */
    unsigned workers_running;
    struct worker_thread *threads;
    unsigned nthreads;
    pthread_t keeper;
    bool keeper_started;
    struct store *kst;          /* the housekeeper's */
    struct queue *kq;
    struct worker_totals totals;
};

/* ---- time and waiting ---- */

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct timespec deadline_in(uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Sleeps up to ms, or until stop is asked (a worker) or every worker has
 * ended (the housekeeper). */
static void pool_sleep(struct worker_pool *p, uint32_t ms, bool worker)
{
    struct timespec until = deadline_in(ms);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        bool wake = worker ? atomic_load(&p->stop) : p->workers_running == 0;
        if (wake || pthread_cond_timedwait(&p->changed, &p->lock, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&p->lock);
}

/* ---- counting ---- */

#define COUNT(p, field, n)                                                              \
    do {                                                                                \
        pthread_mutex_lock(&(p)->lock);                                                 \
        (p)->totals.field += (n);                                                       \
        pthread_mutex_unlock(&(p)->lock);                                               \
    } while (0)

static void count_message(struct worker_pool *p, const struct sink_db_counters *d)
{
    pthread_mutex_lock(&p->lock);
    p->totals.reports += d->stored;
    p->totals.records += d->records;
    p->totals.duplicates += d->duplicates;
    p->totals.problems += d->quarantined + d->failed;
    pthread_mutex_unlock(&p->lock);
}

static void set_idle(struct worker_thread *t, bool idle)
{
    pthread_mutex_lock(&t->pool->lock);
    t->idle = idle;
    pthread_mutex_unlock(&t->pool->lock);
}

static void hold(struct worker_thread *t, const struct queue_job *job)
{
    pthread_mutex_lock(&t->pool->lock);
    t->held.busy = true;
    t->held.job = *job;
    t->held.renewed_ms = monotonic_ms();
    pthread_mutex_unlock(&t->pool->lock);
}

static void unhold(struct worker_thread *t)
{
    pthread_mutex_lock(&t->pool->lock);
    t->held.busy = false;
    pthread_mutex_unlock(&t->pool->lock);
}

/* ---- connections ---- */

static enum dmarcd_err open_store(const struct worker_pool *p, unsigned attempts,
                                  struct store **st, struct strbuf *why)
{
    struct store_options so;
    store_options_default(&so);
    so.connect_attempts = attempts;
    return store_open_opts(p->o.db, &so, st, why);
}

static enum dmarcd_err open_queue(const struct worker_pool *p, struct queue **q,
                                  struct strbuf *why)
{
    struct queue_options qo = p->o.queue;
    qo.client_name = "dmarcd-worker";
    return queue_open(p->o.redis, &qo, q, why);
}

/* The thread's connection broke: the sinks let go of it, it is closed. */
static void drop_store(struct worker_thread *t)
{
    sink_db_set_store(t->routed, NULL);
    if (t->fixed)
        sink_db_set_store(t->fixed, NULL);
    store_close(t->st);
    t->st = NULL;
}

/* One attempt at a new connection for the thread and its sinks. */
static bool reconnect(struct worker_thread *t)
{
    struct strbuf why;
    struct store *st = NULL;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = open_store(t->pool, 1, &st, &why);
    if (rc)
        log_warn("database reconnect failed", LOG_STR("consumer", t->consumer), LOG_ERR(rc),
                 LOG_STR("message", why.buf));
    strbuf_release(&why);
    if (rc)
        return false;
    t->st = st;
    sink_db_set_store(t->routed, st);
    if (t->fixed)
        sink_db_set_store(t->fixed, st);
    log_info("database reconnected", LOG_STR("consumer", t->consumer));
    return true;
}

/* A database call failed; the job stays unacknowledged and comes back. */
static void db_failed(struct worker_thread *t, const char *what, enum dmarcd_err rc)
{
    log_warn("database call failed: job left for redelivery", LOG_STR("call", what),
             LOG_UINT("inbox_id", t->inbox_id), LOG_STR("consumer", t->consumer), LOG_ERR(rc),
             LOG_STR("message", t->st ? store_last_error(t->st) : ""));
    if (rc == DMARCD_E_DB_UNAVAILABLE && t->st)
        drop_store(t);
}

static void queue_failed(const struct worker_thread *t, const char *what, enum dmarcd_err rc)
{
    log_warn("queue call failed", LOG_STR("call", what), LOG_UINT("inbox_id", t->inbox_id),
             LOG_STR("consumer", t->consumer), LOG_ERR(rc));
}

/* ---- the sink: the database sink behind a guard that honours worker_abandon ---- */

static enum dmarcd_err guard(const struct worker_thread *t)
{
    return atomic_load_explicit(&t->pool->abandon, memory_order_relaxed) ? DMARCD_E_TIMEOUT
                                                                         : DMARCD_OK;
}

static enum dmarcd_err guard_agg_begin(void *ctx, const struct report_source *src,
                                       const struct agg_report *r)
{
    struct worker_thread *t = ctx;
    enum dmarcd_err rc = guard(t);
    return rc ? rc : t->inner.ops->agg_begin(t->inner.ctx, src, r);
}

static enum dmarcd_err guard_agg_record(void *ctx, const struct agg_record *rec)
{
    struct worker_thread *t = ctx;
    enum dmarcd_err rc = guard(t);
    return rc ? rc : t->inner.ops->agg_record(t->inner.ctx, rec);
}

static enum dmarcd_err guard_agg_end(void *ctx, const struct agg_report *r,
                                     const struct agg_totals *totals,
                                     const struct report_warnings *w)
{
    struct worker_thread *t = ctx;
    enum dmarcd_err rc = guard(t);
    return rc ? rc : t->inner.ops->agg_end(t->inner.ctx, r, totals, w);
}

static enum dmarcd_err guard_failure(void *ctx, const struct report_source *src,
                                     const struct failure_report *f,
                                     const struct report_warnings *w)
{
    struct worker_thread *t = ctx;
    enum dmarcd_err rc = guard(t);
    return rc ? rc : t->inner.ops->failure(t->inner.ctx, src, f, w);
}

static enum dmarcd_err guard_tlsrpt(void *ctx, const struct report_source *src,
                                    const struct tls_report *r,
                                    const struct report_warnings *w)
{
    struct worker_thread *t = ctx;
    enum dmarcd_err rc = guard(t);
    return rc ? rc : t->inner.ops->tlsrpt(t->inner.ctx, src, r, w);
}

static void guard_abort(void *ctx, const struct report_source *src, enum dmarcd_err err,
                        const char *detail)
{
    struct worker_thread *t = ctx;
    t->inner.ops->abort(t->inner.ctx, src, err, detail);
}

static const struct report_sink_ops guard_ops = {
    .name = "worker",
    .agg_begin = guard_agg_begin,
    .agg_record = guard_agg_record,
    .agg_end = guard_agg_end,
    .failure = guard_failure,
    .tlsrpt = guard_tlsrpt,
    .abort = guard_abort,
};

/* The sink's report of a quarantined report or failed part. */
static void on_problem(void *ctx, const struct report_source *src, enum dmarcd_err err,
                       const char *reason)
{
    struct worker_thread *t = ctx;
    const char *part = src && src->part ? src->part : "";
    log_info("report quarantined", LOG_UINT("inbox_id", t->inbox_id), LOG_STR("part", part),
             LOG_ERR(err), LOG_STR("detail", reason));
    if (t->first_err)
        return;
    t->first_err = err;
    strbuf_reset(&t->first_problem);
    (void)strbuf_addf(&t->first_problem, "%s%s%.*s", part, part[0] ? ": " : "", PROBLEM_MAX,
                      reason ? reason : dmarcd_strerror(err));
}

static struct sink_db *new_sink(struct worker_thread *t, uint32_t tenant)
{
    struct sink_db_options so = { .tenant_id = tenant, .problem = on_problem, .cb_ctx = t,
                                  .keys = t->pool->o.keys,
                                  .pgp_fallback = t->pool->o.pgp_fallback };
    return sink_db_new(t->st, &so);
}

/* The sink for a message of tenant (0: not known, route by domain). */
static struct sink_db *sink_for(struct worker_thread *t, uint32_t tenant)
{
    if (!tenant)
        return t->routed;
    if (!t->fixed || t->fixed_tenant != tenant) {
        sink_db_free(t->fixed);
        t->fixed = new_sink(t, tenant);
        t->fixed_tenant = tenant;
    }
    return t->fixed;
}

/* ---- settling a message ---- */

static void ack(struct worker_thread *t, const struct queue_job *job)
{
    enum dmarcd_err rc = queue_ack(t->q, job);
    if (rc)
        queue_failed(t, "ack", rc);
}

/* The message is quarantined whole; its job is finished. */
static void quarantine_message(struct worker_thread *t, const struct queue_job *job,
                               enum dmarcd_err err, const char *reason)
{
    enum dmarcd_err rc = inbox_quarantine(t->st, job->inbox_id, err, reason);
    if (rc) {
        db_failed(t, "inbox quarantine", rc);
        return;
    }
    log_warn("message quarantined", LOG_UINT("inbox_id", job->inbox_id), LOG_ERR(err),
             LOG_STR("detail", reason), LOG_STR("consumer", t->consumer));
    COUNT(t->pool, quarantined, 1);
    ack(t, job);
}

/* Out of attempts: the message is quarantined, then its job dead-lettered. */
static void give_up(struct worker_thread *t, const struct queue_job *job, enum dmarcd_err err,
                    const char *reason)
{
    enum dmarcd_err rc = inbox_quarantine(t->st, job->inbox_id, err, reason);
    if (rc) {
        db_failed(t, "inbox quarantine", rc);
        return;
    }
    log_error("job dead", LOG_UINT("inbox_id", job->inbox_id), LOG_UINT("attempt", job->attempt),
              LOG_ERR(err), LOG_STR("detail", reason), LOG_STR("consumer", t->consumer));
    COUNT(t->pool, dead, 1);
    rc = queue_dead(t->q, job, reason);
    if (rc)
        queue_failed(t, "dead", rc);
}

/* A transient failure: back to pending and to the queue with a backoff. */
static void retry_later(struct worker_thread *t, const struct queue_job *job, unsigned claims,
                        enum dmarcd_err err)
{
    struct worker_pool *p = t->pool;
    if (queue_exhausted(t->q, job) || claims >= p->o.queue.max_attempts) {
        struct strbuf reason;
        strbuf_init(&reason, 0);
        (void)strbuf_addf(&reason, "gave up after %u attempts: %s", claims,
                          dmarcd_strerror(err));
        if (t->st)
            give_up(t, job, err, reason.buf);
        strbuf_release(&reason);
        return;
    }
    if (!t->st) {
        db_failed(t, "inbox release", DMARCD_E_DB_UNAVAILABLE);
        return;
    }
    enum dmarcd_err rc = inbox_release(t->st, job->inbox_id, dmarcd_strerror(err));
    if (rc) {
        db_failed(t, "inbox release", rc);
        return;
    }
    rc = queue_retry(t->q, job, 0);
    if (rc) {
        /* the row is pending again: the reconciler queues it once the queue is back */
        queue_failed(t, "retry", rc);
        return;
    }
    log_warn("job retried", LOG_UINT("inbox_id", job->inbox_id),
             LOG_UINT("attempt", job->attempt), LOG_ERR(err), LOG_STR("consumer", t->consumer));
    COUNT(p, retried, 1);
}

/* Shutdown: the row goes back to pending, the job stays unacknowledged. */
static void release(struct worker_thread *t, const struct queue_job *job)
{
    enum dmarcd_err rc = t->st ? inbox_release(t->st, job->inbox_id,
                                               "worker shut down before finishing")
                               : DMARCD_E_DB_UNAVAILABLE;
    if (rc) {
        db_failed(t, "inbox release", rc);
        return;
    }
    log_warn("job released at shutdown", LOG_UINT("inbox_id", job->inbox_id),
             LOG_STR("consumer", t->consumer));
    COUNT(t->pool, released, 1);
}

/* "no report found in the message", or why none could be stored. */
static void no_report_reason(const struct worker_thread *t, struct strbuf *out)
{
    (void)strbuf_addstr(out, t->first_err && t->first_err != DMARCD_E_NOT_REPORT
                                 ? "no report could be stored"
                                 : "no report found in the message");
    if (t->first_err && strcmp(t->first_problem.buf, "no report found in the message") != 0)
        (void)strbuf_addf(out, ": %s", t->first_problem.buf);
}

static void counters_delta(const struct sink_db_counters *a, const struct sink_db_counters *b,
                           struct sink_db_counters *d)
{
    d->files = b->files - a->files;
    d->stored = b->stored - a->stored;
    d->records = b->records - a->records;
    d->messages = b->messages - a->messages;
    d->duplicates = b->duplicates - a->duplicates;
    d->quarantined = b->quarantined - a->quarantined;
    d->failed = b->failed - a->failed;
}

/*
 * Done: the row is marked so, and the raw message of one that held a
 * failure report is deleted (personal data: the report's blob, if its
 * tenant's policy keeps one, is the only copy kept).
 */
static void message_done(struct worker_thread *t, const struct queue_job *job,
                         const struct sink_db *s, const struct sink_db_counters *d,
                         uint64_t started)
{
    enum dmarcd_err rc = inbox_done(t->st, job->inbox_id);
    if (rc) {
        db_failed(t, "inbox done", rc);
        return;
    }
    if (sink_db_input_had_failure(s) && (rc = forensic_inbox_forget(t->st, job->inbox_id)))
        log_error("raw message holding a failure report not deleted",
                  LOG_UINT("inbox_id", job->inbox_id), LOG_ERR(rc),
                  LOG_STR("message", store_last_error(t->st)));
    log_info("job done", LOG_UINT("inbox_id", job->inbox_id), LOG_UINT("reports", d->stored),
             LOG_UINT("records", d->records), LOG_UINT("duplicates", d->duplicates),
             LOG_UINT("quarantined", d->quarantined), LOG_UINT("failed", d->failed),
             LOG_UINT("ms", monotonic_ms() - started), LOG_STR("consumer", t->consumer));
    COUNT(t->pool, done, 1);
    ack(t, job);
}

/* ---- one message ---- */

/* "YYYY-MM-DD HH:MM:SS[.mmm]" (UTC) to seconds; now when unreadable. */
static int64_t utc_seconds(const char *text)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (text && sscanf(text, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                       &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        return (int64_t)timegm(&tm);
    }
    return (int64_t)time(NULL);
}

/*
 * Parses the message into the sink; a deadlock or a lost connection is
 * tried again here a few times (reconnecting), since storing is
 * idempotent. Returns the transient error that stopped the last reading.
 */
static enum dmarcd_err parse_message(struct worker_thread *t, struct sink_db *s,
                                     const uint8_t *raw, size_t len, const char *name)
{
    static const struct parse_options popts = { .strict = false };
    struct report_sink rs = { .ops = &guard_ops, .ctx = t };
    enum dmarcd_err transient = DMARCD_OK;
    t->inner = sink_db_as_report_sink(s);
    for (unsigned attempt = 1;; attempt++) {
        struct parse_stats stats = { 0 };
        if (attempt > 1)
            sink_db_input_retry(s);
        /* the sink has counted and reported each part; the result adds nothing */
        enum dmarcd_err parsed = report_parse_buffer(raw, len, name, &popts, &rs, &stats);
        (void)parsed;
        transient = sink_db_transient(s);
        if (!transient || attempt == LOCAL_ATTEMPTS || atomic_load(&t->pool->abandon))
            return transient;
        if (transient == DMARCD_E_DB_UNAVAILABLE) {
            drop_store(t);
            if (!reconnect(t))
                return transient;
        } else if (transient == DMARCD_E_TEMPORARY) {
            pool_sleep(t->pool, 50u * attempt + (unsigned)(monotonic_ms() % 50), true);
        } else {
            return transient;
        }
        log_info("message read again", LOG_UINT("inbox_id", t->inbox_id),
                 LOG_UINT("attempt", attempt + 1), LOG_ERR(transient));
    }
}

static void process(struct worker_thread *t, const struct queue_job *job, unsigned claims)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    struct inbox_meta meta;
    struct sink_db_counters before, delta;
    uint64_t started = monotonic_ms();
    memset(&meta, 0, sizeof(meta));
    enum dmarcd_err rc = inbox_load(t->st, job->inbox_id, &raw, &len, &meta);
    if (rc == DMARCD_E_DECOMPRESS || rc == DMARCD_E_TOO_BIG) {
        quarantine_message(t, job, rc, "the stored message is damaged and cannot be read");
        goto out;
    }
    if (rc == DMARCD_E_NOT_FOUND) {     /* deleted since the claim */
        COUNT(t->pool, skipped, 1);
        ack(t, job);
        goto out;
    }
    if (rc) {
        if (rc == DMARCD_E_DB_UNAVAILABLE)
            drop_store(t);
        retry_later(t, job, claims, rc);
        goto out;
    }
    struct sink_db *s = sink_for(t, meta.tenant_id);
    char fallback[40];
    snprintf(fallback, sizeof(fallback), "inbox %" PRIu64, job->inbox_id);
    sink_db_input_begin(s, utc_seconds(meta.received_at));
    sink_db_input_inbox(s, job->inbox_id);
    before = *sink_db_counters(s);
    t->first_err = DMARCD_OK;
    strbuf_reset(&t->first_problem);

    enum dmarcd_err transient =
        parse_message(t, s, raw, len, meta.origin && meta.origin[0] ? meta.origin : fallback);
    counters_delta(&before, sink_db_counters(s), &delta);
    if (transient) {
        if (atomic_load(&t->pool->abandon))
            release(t, job);
        else
            retry_later(t, job, claims, transient);
    } else if (delta.stored + delta.duplicates + delta.quarantined == 0) {
        struct strbuf reason;
        strbuf_init(&reason, 0);
        no_report_reason(t, &reason);
        quarantine_message(t, job, t->first_err ? t->first_err : DMARCD_E_NOT_REPORT,
                           reason.buf);
        strbuf_release(&reason);
        count_message(t->pool, &delta);
    } else {
        message_done(t, job, s, &delta, started);
        count_message(t->pool, &delta);
    }
out:
    free(raw);
    inbox_meta_release(&meta);
}

static void handle_job(struct worker_thread *t, const struct queue_job *job)
{
    struct worker_pool *p = t->pool;
    struct inbox_claim claim;
    t->inbox_id = job->inbox_id;
    COUNT(p, jobs, 1);
    enum dmarcd_err rc = inbox_claim(t->st, job->inbox_id, p->lease_ms, &claim);
    if (rc == DMARCD_E_NOT_FOUND) {
        log_warn("job names no inbox row: dropped", LOG_UINT("inbox_id", job->inbox_id));
        COUNT(p, skipped, 1);
        ack(t, job);
        return;
    }
    if (rc) {
        db_failed(t, "inbox claim", rc);
        return;
    }
    if (!claim.claimed) {
        /* done or quarantined: a duplicate job; processing: another worker's,
         * whose own job (or, failing that, the reconciler) covers it */
        log_info("job skipped", LOG_UINT("inbox_id", job->inbox_id),
                 LOG_STR("state", inbox_state_name(claim.state)), LOG_STR("consumer", t->consumer));
        COUNT(p, skipped, 1);
        ack(t, job);
        return;
    }
    log_info("job claimed", LOG_UINT("inbox_id", job->inbox_id), LOG_UINT("attempt", job->attempt),
             LOG_UINT("claims", claim.attempts), LOG_INT("reclaimed", job->reclaimed),
             LOG_STR("consumer", t->consumer));
    hold(t, job);
    if (claim.attempts > p->o.queue.max_attempts) {
        struct strbuf reason;
        strbuf_init(&reason, 0);
        (void)strbuf_addf(&reason, "taken up %u times without finishing: workers kept stopping "
                                   "while processing it", claim.attempts - 1);
        give_up(t, job, DMARCD_E_TOO_MANY, reason.buf);
        strbuf_release(&reason);
    } else {
        process(t, job, claim.attempts);
    }
    unhold(t);
}

static void thread_ended(struct worker_pool *p, bool worker)
{
    pthread_mutex_lock(&p->lock);
    p->running--;
    if (worker)
        p->workers_running--;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

static void *worker_main(void *arg)
{
    struct worker_thread *t = arg;
    struct worker_pool *p = t->pool;
    while (!atomic_load(&p->stop)) {
        struct queue_job job;
        bool got = false;
        if (!t->st && !reconnect(t)) {
            pool_sleep(p, OUTAGE_PAUSE_MS, true);
            continue;
        }
        enum dmarcd_err rc = queue_claim(t->q, t->consumer, p->o.claim_block_ms, &job, &got);
        if (rc) {
            log_warn("job claim failed", LOG_STR("consumer", t->consumer), LOG_ERR(rc));
            pool_sleep(p, OUTAGE_PAUSE_MS, true);
            continue;
        }
        set_idle(t, !got);
        if (got)
            handle_job(t, &job);
    }
    thread_ended(p, true);
    return NULL;
}

/* ---- the housekeeper ---- */

/* The housekeeper's connection broke: it reconnects at its next tick. */
static void keeper_db_failed(struct worker_pool *p, enum dmarcd_err rc)
{
    if (rc == DMARCD_E_DB_UNAVAILABLE && p->kst) {
        store_close(p->kst);
        p->kst = NULL;
    }
}

struct renewal {
    const char *consumer;
    struct queue_job job;
};

/* Renews the leases of the jobs held longer than a quarter lease. */
static void renew_leases(struct worker_pool *p)
{
    struct renewal due[WORKER_MAX_THREADS];
    size_t n = 0;
    uint64_t now = monotonic_ms(), every = p->lease_ms / 4;
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++) {
        struct held_job *h = &p->threads[i].held;
        if (h->busy && now - h->renewed_ms >= every) {
            h->renewed_ms = now;
            due[n].consumer = p->threads[i].consumer;
            due[n++].job = h->job;
        }
    }
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < n; i++) {
        /* a job finished meanwhile is harmless: both calls are guarded */
        enum dmarcd_err rc = p->kst ? inbox_touch(p->kst, due[i].job.inbox_id)
                                    : DMARCD_E_DB_UNAVAILABLE;
        keeper_db_failed(p, rc);
        if (rc && rc != DMARCD_E_NOT_FOUND)
            log_warn("inbox lease not renewed", LOG_UINT("inbox_id", due[i].job.inbox_id),
                     LOG_ERR(rc));
        rc = queue_extend(p->kq, due[i].consumer, &due[i].job);
        if (rc)
            log_warn("queue lease not renewed", LOG_UINT("inbox_id", due[i].job.inbox_id),
                     LOG_ERR(rc));
    }
}

struct keeper {
    struct reconcile rec;
    bool sweeping;              /* a sweep is under way: go on at the next tick */
    bool have_lock;
    uint64_t next_reconcile, next_prune, next_connect;
    unsigned idle_ticks;
};

/* Some batches of the reconciler's sweep, while this process holds the lock. */
static void reconcile_tick(struct worker_pool *p, struct keeper *k, uint64_t now)
{
    if (!k->sweeping && now < k->next_reconcile)
        return;
    bool held = false;
    enum dmarcd_err rc = queue_lock(p->kq, RECONCILE_LOCK, p->owner, 3 * p->o.reconcile_ms, &held);
    if (rc || !held) {
        k->have_lock = false;
        k->sweeping = false;
        k->next_reconcile = now + p->o.reconcile_ms;
        return;
    }
    if (!k->have_lock)
        log_info("reconciler lock taken", LOG_STR("owner", p->owner));
    k->have_lock = true;
    for (unsigned i = 0; i < RECONCILE_BATCHES_PER_TICK; i++) {
        struct reconcile_result res;
        rc = reconcile_once(&k->rec, p->kst, p->kq, &res);
        if (!rc)
            COUNT(p, requeued, res.requeued);
        if (rc || res.sweep_done) {
            keeper_db_failed(p, rc);
            k->sweeping = false;
            k->next_reconcile = now + p->o.reconcile_ms;
            return;
        }
        k->sweeping = true;
    }
}

/* until_idle: two ticks in a row with every thread idle and nothing left in the inbox. */
static void idle_tick(struct worker_pool *p, struct keeper *k)
{
    bool all_idle = true;
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        all_idle = all_idle && p->threads[i].idle && !p->threads[i].held.busy;
    pthread_mutex_unlock(&p->lock);
    if (!all_idle) {
        k->idle_ticks = 0;
        return;
    }
    struct inbox_cursor cur;
    uint64_t id;
    size_t n = 1;
    inbox_cursor_init(&cur);
    enum dmarcd_err rc = inbox_pending(p->kst, &cur, 0, 0, &id, 1, &n);
    if (rc) {
        keeper_db_failed(p, rc);
        k->idle_ticks = 0;
        return;
    }
    k->idle_ticks = n == 0 ? k->idle_ticks + 1 : 0;
    if (k->idle_ticks >= 2) {
        log_info("queue and inbox empty: stopping");
        worker_stop(p);
    }
}

static void *keeper_main(void *arg)
{
    struct worker_pool *p = arg;
    struct keeper k;
    struct reconcile_options ro;
    memset(&k, 0, sizeof(k));
    reconcile_options_default(&ro);
    ro.grace_ms = p->o.reconcile_ms;
    ro.lease_ms = p->lease_ms;
    reconcile_init(&k.rec, &ro);
    k.next_prune = monotonic_ms() + 60000;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        bool workers_left = p->workers_running > 0;
        pthread_mutex_unlock(&p->lock);
        if (!workers_left)
            break;
        uint64_t now = monotonic_ms();
        if (!p->kst && now >= k.next_connect) {
            k.next_connect = now + OUTAGE_PAUSE_MS;
            if (open_store(p, 1, &p->kst, NULL))
                p->kst = NULL;
        }
        renew_leases(p);
        bool stopping = atomic_load(&p->stop);
        if (!stopping && p->kst && p->o.reconcile_ms)
            reconcile_tick(p, &k, now);
        if (!stopping && now >= k.next_prune) {
            k.next_prune = now + 600000;
            if (queue_prune_consumers(p->kq, p->o.prune_idle_ms, NULL))
                log_warn("idle consumers not pruned");
        }
        if (!stopping && p->o.until_idle && p->kst)
            idle_tick(p, &k);
        pool_sleep(p, KEEPER_TICK_MS, false);
    }
    if (k.have_lock && queue_unlock(p->kq, RECONCILE_LOCK, p->owner))
        log_warn("reconciler lock not released: it expires by itself");
    thread_ended(p, false);
    return NULL;
}

/* ---- the pool ---- */

void worker_options_default(struct worker_options *o)
{
    memset(o, 0, sizeof(*o));
    queue_options_default(&o->queue);
    o->threads = 2;
    o->claim_block_ms = 1500;
    o->reconcile_ms = 60000;
    o->prune_idle_ms = 3600000;
}

/* A name part without spaces or colons, at most HOST_MAX characters. */
static void host_name(const char *given, char *out, size_t size)
{
    char buf[256] = "";
    if (!given) {
        if (gethostname(buf, sizeof(buf) - 1) != 0 || !buf[0])
            memcpy(buf, "localhost", 10);
        given = buf;
    }
    size_t n = 0;
    for (size_t i = 0; given[i] && n < HOST_MAX && n + 1 < size; i++) {
        char c = given[i];
        out[n++] = c > ' ' && c <= '~' && c != ':' ? c : '-';
    }
    out[n] = '\0';
}

static void set_why(struct strbuf *why, const char *text, const char *detail)
{
    if (!why)
        return;
    strbuf_reset(why);
    (void)strbuf_addstr(why, text);
    if (detail)
        (void)strbuf_addf(why, " \"%.80s\"", detail);
}

/*
 * The parser sets its libraries up (GMime, libxml2) on first use, without
 * a lock: one small mail holding a report, parsed here before any thread
 * starts, does it once and in one thread.
 */
static void warm_up_parser(void)
{
    static const char mail[] =
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: warm-up\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/xml\r\n\r\n"
        "<feedback><report_metadata><org_name>o</org_name><report_id>1</report_id>"
        "<date_range><begin>0</begin><end>1</end></date_range></report_metadata>"
        "<policy_published><domain>example.com</domain><p>none</p></policy_published>"
        "</feedback>\r\n";
    struct collect_sink collect;
    struct parse_stats stats = { 0 };
    collect_sink_init(&collect);
    struct report_sink sink = collect_sink_as_report_sink(&collect);
    enum dmarcd_err rc = report_parse_buffer(mail, sizeof(mail) - 1, "warm-up", NULL, &sink,
                                             &stats);
    (void)rc;
    collect_sink_release(&collect);
}

/* The connections and sinks of thread i. */
static enum dmarcd_err thread_setup(struct worker_pool *p, unsigned i, const char *host,
                                    struct strbuf *why)
{
    struct worker_thread *t = &p->threads[i];
    t->pool = p;
    t->index = i;
    t->idle = false;
    strbuf_init(&t->first_problem, 0);
    snprintf(t->consumer, sizeof(t->consumer), "%s:%ld:%u", host, (long)getpid(), i + 1);
    enum dmarcd_err rc = open_store(p, 5, &t->st, why);
    if (!rc)
        rc = open_queue(p, &t->q, why);
    if (rc)
        return rc;
    t->routed = new_sink(t, 0);
    rc = sink_db_prepare(t->routed);
    if (rc && why) {
        strbuf_reset(why);
        (void)strbuf_addf(why, "%s%s%s", dmarcd_strerror(rc),
                          store_last_error(t->st)[0] ? ": " : "", store_last_error(t->st));
    }
    return rc;
}

static enum dmarcd_err check_options(const struct worker_options *o, struct strbuf *why)
{
    if (!o->db || !o->redis) {
        set_why(why, "database and redis urls are required", NULL);
        return DMARCD_E_INVALID;
    }
    if (o->threads < 1 || o->threads > WORKER_MAX_THREADS) {
        set_why(why, "threads: 1 to 64", NULL);
        return DMARCD_E_INVALID;
    }
    if (o->queue.visibility_ms < 1000) {
        set_why(why, "the visibility timeout must be at least one second", NULL);
        return DMARCD_E_INVALID;
    }
    if (!queue_name_valid(o->queue.prefix)) {
        set_why(why, "queue prefix: 1 to 64 printable characters without spaces, not",
                o->queue.prefix ? o->queue.prefix : "");
        return DMARCD_E_CONFIG;
    }
    return DMARCD_OK;
}

static struct worker_pool *pool_new(const struct worker_options *o)
{
    struct worker_pool *p = xcalloc(1, sizeof(*p));
    pthread_condattr_t ca;
    p->o = *o;
    p->lease_ms = o->queue.visibility_ms / 5 * 4;
    atomic_init(&p->stop, false);
    atomic_init(&p->abandon, false);
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->changed, &ca);
    pthread_condattr_destroy(&ca);
    p->nthreads = o->threads;
    p->threads = xcalloc(o->threads, sizeof(*p->threads));
    return p;
}

static void start_threads(struct worker_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->running = p->nthreads + 1;
    p->workers_running = p->nthreads;
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++) {
        if (pthread_create(&p->threads[i].tid, NULL, worker_main, &p->threads[i]) != 0)
            dmarcd_die("pthread_create: cannot start a worker thread");
        p->threads[i].started = true;
    }
    if (pthread_create(&p->keeper, NULL, keeper_main, p) != 0)
        dmarcd_die("pthread_create: cannot start the housekeeping thread");
    p->keeper_started = true;
}

enum dmarcd_err worker_start(const struct worker_options *o, struct worker_pool **out,
                             struct strbuf *why)
{
    char host[HOST_MAX + 1];
    *out = NULL;
    enum dmarcd_err rc = check_options(o, why);
    if (rc)
        return rc;
    struct worker_pool *p = pool_new(o);
    host_name(o->host, host, sizeof(host));
    snprintf(p->owner, sizeof(p->owner), "%s:%ld", host, (long)getpid());
    warm_up_parser();
    for (unsigned i = 0; i < p->nthreads && !rc; i++)
        rc = thread_setup(p, i, host, why);
    if (!rc)
        rc = open_store(p, 5, &p->kst, why);
    if (!rc)
        rc = open_queue(p, &p->kq, why);
    if (rc) {
        worker_free(p);
        return rc;
    }
    start_threads(p);
    *out = p;
    return DMARCD_OK;
}

void worker_stop(struct worker_pool *p)
{
    atomic_store(&p->stop, true);
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

void worker_abandon(struct worker_pool *p)
{
    atomic_store(&p->abandon, true);
    worker_stop(p);
}

bool worker_wait(struct worker_pool *p, uint32_t timeout_ms)
{
    struct timespec until = deadline_in(timeout_ms);
    pthread_mutex_lock(&p->lock);
    while (p->running > 0 && timeout_ms > 0) {
        if (pthread_cond_timedwait(&p->changed, &p->lock, &until) == ETIMEDOUT)
            break;
    }
    bool ended = p->running == 0;
    pthread_mutex_unlock(&p->lock);
    return ended;
}

void worker_totals(struct worker_pool *p, struct worker_totals *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->totals;
    pthread_mutex_unlock(&p->lock);
}

void worker_free(struct worker_pool *p)
{
    if (!p)
        return;
    worker_abandon(p);
    for (unsigned i = 0; i < p->nthreads; i++) {
        if (p->threads[i].started)
            pthread_join(p->threads[i].tid, NULL);
    }
    if (p->keeper_started)
        pthread_join(p->keeper, NULL);
    for (unsigned i = 0; i < p->nthreads; i++) {
        struct worker_thread *t = &p->threads[i];
        sink_db_free(t->routed);
        sink_db_free(t->fixed);
        store_close(t->st);
        queue_close(t->q);
        strbuf_release(&t->first_problem);
    }
    store_close(p->kst);
    queue_close(p->kq);
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}
