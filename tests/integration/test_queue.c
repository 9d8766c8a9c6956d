/*
 * test_queue.c - ingest/queue and ingest/reconcile against a real Redis
 * (and, for the reconciler, a real MariaDB): push/claim/ack, a consumer
 * that dies holding a job, retry backoff that comes back on time and not
 * before, the dead letter after N attempts, a killed connection, garbage
 * in the stream, and "Redis lost everything" in the middle of a run, after
 * which the reconciler brings every pending inbox row back and each is
 * processed once.
 *
 * Needs DMARCD_REDIS_URL (exit 77 without it); the reconciler tests also
 * need DMARCD_DATABASE_URL and are skipped without it. Every key lives
 * under a prefix unique to this run and is deleted after each test; the
 * "flush" deletes only those keys, because FLUSHALL would also wipe other
 * test runs sharing the server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ingest/queue.h"
#include "ingest/reconcile.h"
#include "lib/log.h"
#include "lib/url.h"
#include "storage/inbox.h"
#include "storage/stmt.h"
#include "testdb.h"
#include "lib/banned.h"

#define SKIP_STATUS 77
#define VISIBILITY_MS 400
#define MAX_ATTEMPTS 3

static struct redis_url url;
static redisContext *admin;         /* the test's own look into Redis */
static struct store *st;            /* NULL when there is no database */
static char prefix[64];
static char client_name[64];
static struct queue_options opts;
static struct queue *q;

/* ---- helpers ---- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static redisReply *admin_cmd(int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(admin, argc, argv, NULL);
    assert_non_null(r);
    return r;
}

static long long admin_int(int argc, const char **argv)
{
    redisReply *r = admin_cmd(argc, argv);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static void key_of(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s%s", prefix, name);
}

/* Deletes every key of this run: to the queue, Redis has lost everything. */
static void wipe_keys(void)
{
    static const char *const names[] = { "jobs", "delayed", "dead", "known" };
    char k[96];
    for (size_t i = 0; i < 4; i++) {
        key_of(k, sizeof(k), names[i]);
        const char *argv[] = { "DEL", k };
        freeReplyObject(admin_cmd(2, argv));
    }
}

/* Kills the queue's connections, as a Redis restart does. */
static int kill_queue_connections(void)
{
    const char *argv[] = { "CLIENT", "LIST" };
    redisReply *r = admin_cmd(2, argv);
    int killed = 0;
    char needle[80];
    snprintf(needle, sizeof(needle), " name=%s ", client_name);
    for (char *line = r->str; line && *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        if (strstr(line, needle) && strncmp(line, "id=", 3) == 0) {
            char id[24] = { 0 };
            size_t n = strcspn(line + 3, " ");
            memcpy(id, line + 3, n < sizeof(id) ? n : sizeof(id) - 1);
            const char *kill[] = { "CLIENT", "KILL", "ID", id };
            killed += (int)admin_int(4, kill);
        }
        line = end ? end + 1 : NULL;
    }
    freeReplyObject(r);
    return killed;
}

static struct queue_job claim(const char *consumer, uint32_t block_ms, bool want)
{
    struct queue_job job;
    bool got = !want;
    assert_int_equal(queue_claim(q, consumer, block_ms, &job, &got), DMARCD_OK);
    assert_int_equal(got, want);
    return job;
}

static struct queue_stats stats(void)
{
    struct queue_stats s;
    assert_int_equal(queue_stats(q, &s), DMARCD_OK);
    return s;
}

static int setup(void **state)
{
    (void)state;
    return queue_open(&url, &opts, &q, NULL) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    queue_close(q);
    q = NULL;
    wipe_keys();
    return 0;
}

/* ---- the queue alone ---- */

static void test_push_claim_ack(void **state)
{
    (void)state;
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(queue_push(q, id), DMARCD_OK);
    struct queue_stats s = stats();
    assert_true(s.group_exists == false || s.pending == 0);
    assert_int_equal(s.length, 3);
    assert_int_equal(s.waiting, 3);
    struct queue_job jobs[3];
    for (int i = 0; i < 3; i++) {
        jobs[i] = claim("c1", 0, true);
        assert_int_equal(jobs[i].inbox_id, (uint64_t)i + 1);     /* first in, first out */
        assert_int_equal(jobs[i].attempt, 1);
        assert_false(jobs[i].reclaimed);
    }
    s = stats();
    assert_true(s.group_exists);
    assert_int_equal(s.pending, 3);
    assert_int_equal(s.waiting, 0);
    assert_int_equal(s.consumers, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(queue_ack(q, &jobs[i]), DMARCD_OK);
    s = stats();
    assert_int_equal(s.length, 0);       /* acknowledged entries are deleted, not kept */
    assert_int_equal(s.pending, 0);
    uint64_t t0 = now_ms();
    claim("c1", 150, false);
    assert_true(now_ms() - t0 >= 140);    /* it did wait for work */
    assert_int_equal(queue_ack(q, &jobs[0]), DMARCD_OK);        /* twice: harmless */
}

static void test_dead_consumer_is_reclaimed(void **state)
{
    (void)state;
    assert_int_equal(queue_push(q, 7), DMARCD_OK);
    struct queue_job held = claim("doomed", 0, true);
    assert_int_equal(held.inbox_id, 7);
    /* "doomed" dies: never acknowledges. Nothing for others until the timeout. */
    claim("rescuer", 50, false);
    sleep_ms(100);
    struct queue_stats s = stats();
    assert_int_equal(s.pending, 1);
    assert_true(s.oldest_pending_idle_ms >= 100);
    assert_true(s.oldest_entry_age_ms >= 100);
    sleep_ms(VISIBILITY_MS);
    struct queue_job job = claim("rescuer", 0, true);
    assert_int_equal(job.inbox_id, 7);
    assert_true(job.reclaimed);
    assert_string_equal(job.entry, held.entry);
    assert_int_equal(queue_ack(q, &job), DMARCD_OK);
    s = stats();
    assert_int_equal(s.pending, 0);
    assert_int_equal(s.length, 0);
}

static void test_extend_keeps_the_job(void **state)
{
    (void)state;
    assert_int_equal(queue_push(q, 8), DMARCD_OK);
    struct queue_job job = claim("slow", 0, true);
    for (int i = 0; i < 4; i++) {        /* works 1.5 visibility timeouts, extending */
        sleep_ms(VISIBILITY_MS * 3 / 8);
        assert_int_equal(queue_extend(q, "slow", &job), DMARCD_OK);
        claim("other", 0, false);
    }
    assert_int_equal(queue_ack(q, &job), DMARCD_OK);
}

static void test_retry_comes_back_after_delay(void **state)
{
    (void)state;
    assert_int_equal(queue_push(q, 9), DMARCD_OK);
    struct queue_job job = claim("w", 0, true);
    assert_int_equal(queue_retry(q, &job, 700), DMARCD_OK);
    struct queue_stats s = stats();
    assert_int_equal(s.delayed, 1);
    assert_int_equal(s.length, 0);
    assert_int_equal(s.pending, 0);
    uint64_t t0 = now_ms();
    claim("w", 300, false);              /* not before */
    /* a long block is cut short at the due time */
    job = claim("w", 5000, true);
    uint64_t waited = now_ms() - t0;
    assert_true(waited >= 680);
    assert_true(waited < 2000);
    assert_int_equal(job.inbox_id, 9);
    assert_int_equal(job.attempt, 2);
    assert_false(job.reclaimed);
    assert_int_equal(stats().delayed, 0);
    assert_int_equal(queue_ack(q, &job), DMARCD_OK);
}

static void test_backoff_delay(void **state)
{
    (void)state;
    char k[96];
    key_of(k, sizeof(k), "delayed");
    assert_int_equal(queue_push(q, 10), DMARCD_OK);
    struct queue_job job = claim("w", 0, true);
    job.attempt = 3;                     /* third failure: base * 4, less up to a quarter */
    const char *time_argv[] = { "TIME" };
    redisReply *t = admin_cmd(1, time_argv);
    uint64_t before = strtoull(t->element[0]->str, NULL, 10) * 1000 +
                      strtoull(t->element[1]->str, NULL, 10) / 1000;
    freeReplyObject(t);
    assert_int_equal(queue_retry(q, &job, 0), DMARCD_OK);
    const char *score[] = { "ZSCORE", k, "10:4" };
    redisReply *r = admin_cmd(3, score);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    uint64_t due = strtoull(r->str, NULL, 10);
    freeReplyObject(r);
    uint32_t full = queue_backoff_ms(&opts, 3);
    assert_int_equal(full, opts.retry_base_ms * 4);
    assert_true(due >= before + full - full / 4);
    assert_true(due <= before + full + 50);
}

static void test_dead_letter_after_attempts(void **state)
{
    (void)state;
    char k[96];
    key_of(k, sizeof(k), "dead");
    assert_int_equal(queue_push(q, 11), DMARCD_OK);
    unsigned deliveries = 0;
    for (;;) {
        struct queue_job job = claim("w", 1000, true);
        deliveries++;
        assert_int_equal(job.attempt, deliveries);
        if (queue_exhausted(q, &job)) {
            assert_int_equal(queue_dead(q, &job, "gave up: database unreachable"), DMARCD_OK);
            break;
        }
        assert_int_equal(queue_retry(q, &job, 20), DMARCD_OK);
    }
    assert_int_equal(deliveries, MAX_ATTEMPTS);
    struct queue_stats s = stats();
    assert_int_equal(s.dead, 1);
    assert_int_equal(s.length, 0);
    assert_int_equal(s.delayed, 0);
    assert_int_equal(s.pending, 0);
    const char *range[] = { "XRANGE", k, "-", "+" };
    redisReply *r = admin_cmd(4, range);
    assert_int_equal(r->elements, 1);
    redisReply *f = r->element[0]->element[1];
    assert_string_equal(f->element[0]->str, "id");
    assert_string_equal(f->element[1]->str, "11");
    assert_string_equal(f->element[3]->str, "3");
    assert_string_equal(f->element[5]->str, "gave up: database unreachable");
    freeReplyObject(r);
    claim("w", 100, false);
}

static void test_group_recreated_after_loss(void **state)
{
    (void)state;
    assert_int_equal(queue_push(q, 12), DMARCD_OK);
    struct queue_job job = claim("w", 0, true);
    wipe_keys();
    assert_true(kill_queue_connections() >= 1);
    struct queue_stats s = stats();      /* reconnects */
    assert_false(s.group_exists);
    assert_int_equal(s.length, 0);
    /* acknowledging a job Redis forgot is fine */
    assert_int_equal(queue_ack(q, &job), DMARCD_OK);
    assert_int_equal(queue_extend(q, "w", &job), DMARCD_OK);
    /* pushes before any claim: the group, created later, still sees them */
    assert_int_equal(queue_push(q, 13), DMARCD_OK);
    job = claim("w", 0, true);
    assert_int_equal(job.inbox_id, 13);
    assert_true(stats().group_exists);
    assert_int_equal(queue_ack(q, &job), DMARCD_OK);
}

static void test_killed_connection_is_transparent(void **state)
{
    (void)state;
    assert_int_equal(queue_push(q, 14), DMARCD_OK);
    assert_true(kill_queue_connections() >= 1);
    assert_int_equal(queue_push(q, 15), DMARCD_OK);
    assert_true(kill_queue_connections() >= 1);
    struct queue_job a = claim("w", 0, true);
    assert_true(kill_queue_connections() >= 1);
    assert_int_equal(queue_ack(q, &a), DMARCD_OK);
    struct queue_job b = claim("w", 0, true);
    assert_int_equal(a.inbox_id, 14);
    assert_int_equal(b.inbox_id, 15);
    assert_int_equal(queue_ack(q, &b), DMARCD_OK);
}

static void test_garbage_entries_are_dropped(void **state)
{
    (void)state;
    char k[96];
    key_of(k, sizeof(k), "jobs");
    const char *junk[] = { "XADD", k, "*", "hello", "world" };
    freeReplyObject(admin_cmd(5, junk));
    const char *bad_id[] = { "XADD", k, "*", "id", "12x", "attempt", "1" };
    freeReplyObject(admin_cmd(7, bad_id));
    assert_int_equal(queue_push(q, 16), DMARCD_OK);
    claim("w", 0, false);
    claim("w", 0, false);
    struct queue_job job = claim("w", 0, true);
    assert_int_equal(job.inbox_id, 16);
    assert_int_equal(queue_ack(q, &job), DMARCD_OK);
    assert_int_equal(stats().length, 0);
}

static void test_known_ids(void **state)
{
    (void)state;
    uint64_t ids[] = { 21, 22, 23 };
    bool unknown[3];
    assert_int_equal(queue_push(q, 21), DMARCD_OK);
    assert_int_equal(queue_push(q, 22), DMARCD_OK);
    assert_int_equal(queue_unknown(q, ids, 3, 60000, unknown), DMARCD_OK);
    assert_false(unknown[0]);
    assert_false(unknown[1]);
    assert_true(unknown[2]);
    struct queue_job job = claim("w", 0, true);
    assert_int_equal(queue_ack(q, &job), DMARCD_OK);           /* 21 finished: forgotten */
    assert_int_equal(queue_unknown(q, ids, 3, 60000, unknown), DMARCD_OK);
    assert_true(unknown[0]);
    assert_false(unknown[1]);
    sleep_ms(30);                        /* 22 queued longer ago than the horizon: lost? */
    assert_int_equal(queue_unknown(q, ids, 3, 10, unknown), DMARCD_OK);
    assert_true(unknown[1]);
    char k[96];
    key_of(k, sizeof(k), "known");
    const char *card[] = { "ZCARD", k };
    assert_int_equal(admin_int(2, card), 0);     /* and forgotten */
    /* a retry waiting out its delay counts as known */
    job = claim("w", 0, true);
    assert_int_equal(queue_retry(q, &job, 60000), DMARCD_OK);
    assert_int_equal(queue_unknown(q, ids, 3, 10, unknown), DMARCD_OK);
    assert_false(unknown[1]);
    assert_int_equal(queue_unknown(q, ids, 0, 10, unknown), DMARCD_OK);
}

static void test_prune_consumers(void **state)
{
    (void)state;
    unsigned removed = 99;
    assert_int_equal(queue_prune_consumers(q, 0, &removed), DMARCD_OK);     /* no group yet */
    assert_int_equal(removed, 0);
    assert_int_equal(queue_push(q, 30), DMARCD_OK);
    assert_int_equal(queue_push(q, 31), DMARCD_OK);
    struct queue_job gone = claim("gone", 0, true);
    assert_int_equal(queue_ack(q, &gone), DMARCD_OK);
    claim("holder", 0, true);            /* holds a job: must be kept */
    sleep_ms(20);
    assert_int_equal(queue_prune_consumers(q, 10, &removed), DMARCD_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(stats().consumers, 1);
}

static void test_unreachable(void **state)
{
    (void)state;
    struct redis_url nowhere = url;
    struct queue_options o = opts;
    struct queue *none = NULL;
    struct strbuf why;
    strbuf_init(&why, 0);
    nowhere.port = 1;
    o.connect_attempts = 2;
    o.backoff_first_ms = 10;
    uint64_t t0 = now_ms();
    assert_int_equal(queue_open(&nowhere, &o, &none, &why), DMARCD_E_QUEUE_UNAVAILABLE);
    assert_null(none);
    assert_true(now_ms() - t0 < 3000);
    assert_non_null(strstr(why.buf, "connect"));
    /* refusals are configuration errors, not outages */
    char wrong[] = "surely-not-the-password";
    struct redis_url refused = url;
    refused.password = wrong;
    assert_int_equal(queue_open(&refused, &o, &none, &why), DMARCD_E_CONFIG);
    assert_non_null(strstr(why.buf, "authentication refused"));
    assert_null(strstr(why.buf, refused.password));
    refused = url;
    refused.db = 255;                    /* past the server's `databases` */
    assert_int_equal(queue_open(&refused, &o, &none, &why), DMARCD_E_CONFIG);
    assert_non_null(strstr(why.buf, "SELECT refused"));
    o.prefix = "has space";
    assert_int_equal(queue_open(&url, &o, &none, &why), DMARCD_E_CONFIG);
    struct queue_job job;
    bool got = true;
    assert_int_equal(queue_claim(q, "bad consumer", 0, &job, &got), DMARCD_E_INVALID);
    assert_false(got);
    strbuf_release(&why);
}

/* ---- with the inbox: the reconciler ---- */

static uint64_t put_message(int i)
{
    char text[64];
    uint64_t id = 0;
    bool dup = true;
    snprintf(text, sizeof(text), "From: r@example.net\r\n\r\nmessage %d\r\n", i);
    assert_int_equal(inbox_put(st, text, strlen(text), INBOX_SOURCE_SMTP, "test", 0, &id, &dup),
                     DMARCD_OK);
    assert_false(dup);
    return id;
}

/*
 * A worker's step: claim the job, claim the row, "store" it, done, ack.
 * Counts real processing per row in processed[]; returns false when the
 * queue was empty.
 */
static bool work_one(const char *consumer, unsigned *processed, uint64_t base, size_t nrows)
{
    struct queue_job job;
    struct inbox_claim c;
    bool got = false;
    assert_int_equal(queue_claim(q, consumer, 0, &job, &got), DMARCD_OK);
    if (!got)
        return false;
    assert_int_equal(inbox_claim(st, job.inbox_id, VISIBILITY_MS, &c), DMARCD_OK);
    if (c.claimed) {
        assert_true(job.inbox_id >= base && job.inbox_id < base + nrows);
        processed[job.inbox_id - base]++;
        assert_int_equal(inbox_done(st, job.inbox_id), DMARCD_OK);
    }
    assert_int_equal(queue_ack(q, &job), DMARCD_OK);
    return true;
}

static void reconcile_all(struct reconcile *r, size_t *requeued)
{
    struct reconcile_result res;
    int calls = 0;
    *requeued = 0;
    do {
        assert_int_equal(reconcile_once(r, st, q, &res), DMARCD_OK);
        *requeued += res.requeued;
        assert_true(++calls < 100);
    } while (!res.sweep_done);
}

static void test_redis_loses_everything(void **state)
{
    (void)state;
    enum { N = 20 };
    uint64_t ids[N];
    unsigned processed[N] = { 0 };
    struct reconcile r;
    struct reconcile_options ro = { .grace_ms = 0, .lease_ms = VISIBILITY_MS,
                                    .horizon_ms = 3600000, .batch = 7 };
    size_t requeued = 0;
    if (!st)
        skip();
    assert_int_equal(store_exec_sql(st, "DELETE FROM inbox"), DMARCD_OK);
    for (int i = 0; i < N; i++) {
        ids[i] = put_message(i);
        assert_int_equal(ids[i], ids[0] + (uint64_t)i);
        assert_int_equal(queue_push(q, ids[i]), DMARCD_OK);
    }
    for (int i = 0; i < 5; i++)              /* five processed normally */
        assert_true(work_one("w1", processed, ids[0], N));
    struct queue_job held[2];                /* two in the hands of a worker that dies */
    struct inbox_claim c;
    for (int i = 0; i < 2; i++) {
        held[i] = claim("dies", 0, true);
        assert_int_equal(inbox_claim(st, held[i].inbox_id, VISIBILITY_MS, &c), DMARCD_OK);
        assert_true(c.claimed);
    }
    /* nothing lost yet: the reconciler finds everything known */
    reconcile_init(&r, &ro);
    reconcile_all(&r, &requeued);
    assert_int_equal(requeued, 0);
    /* Redis restarts empty */
    wipe_keys();
    assert_true(kill_queue_connections() >= 1);
    assert_false(stats().group_exists);
    sleep_ms(VISIBILITY_MS + 50);            /* the dead worker's lease runs out */
    reconcile_all(&r, &requeued);
    assert_int_equal(requeued, N - 5);       /* 13 pending + 2 processing past their lease */
    reconcile_all(&r, &requeued);            /* a second pass adds nothing */
    assert_int_equal(requeued, 0);
    while (work_one("w2", processed, ids[0], N))
        ;
    for (int i = 0; i < N; i++)
        assert_int_equal(processed[i], 1);   /* each message stored once */
    struct inbox_counts k;
    assert_int_equal(inbox_count(st, &k), DMARCD_OK);
    assert_int_equal(k.by_state[INBOX_DONE], N);
    assert_int_equal(k.by_state[INBOX_PENDING] + k.by_state[INBOX_PROCESSING], 0);
    reconcile_all(&r, &requeued);
    assert_int_equal(requeued, 0);
    struct queue_stats s = stats();
    assert_int_equal(s.length, 0);
    assert_int_equal(s.pending, 0);
}

static void test_duplicates_are_harmless(void **state)
{
    (void)state;
    unsigned processed[1] = { 0 };
    if (!st)
        skip();
    uint64_t id = put_message(100);
    for (int i = 0; i < 3; i++)
        assert_int_equal(queue_push(q, id), DMARCD_OK);
    while (work_one("w", processed, id, 1))
        ;
    assert_int_equal(processed[0], 1);
    assert_int_equal(stats().length, 0);
}

static void test_grace_period(void **state)
{
    (void)state;
    struct reconcile r;
    struct reconcile_options ro;
    size_t requeued = 0;
    if (!st)
        skip();
    assert_int_equal(store_exec_sql(st, "DELETE FROM inbox"), DMARCD_OK);
    reconcile_options_default(&ro);
    reconcile_init(&r, &ro);
    put_message(200);                    /* committed, its push not yet done */
    reconcile_all(&r, &requeued);
    assert_int_equal(requeued, 0);
    ro.grace_ms = 0;
    reconcile_init(&r, &ro);
    sleep_ms(5);
    reconcile_all(&r, &requeued);
    assert_int_equal(requeued, 1);
}

/* ---- main ---- */

static bool redis_ready(void)
{
    const char *text = getenv("DMARCD_REDIS_URL");
    if (!text || !*text) {
        printf("DMARCD_REDIS_URL unset: skipped (scripts/test.sh starts Redis)\n");
        return false;
    }
    if (redis_url_parse(text, &url, NULL)) {
        fprintf(stderr, "cannot read DMARCD_REDIS_URL\n");
        exit(1);
    }
    struct timeval tv = { .tv_sec = 5, .tv_usec = 0 };
    admin = redisConnectWithTimeout(url.host, (int)url.port, tv);
    if (!admin || admin->err) {
        fprintf(stderr, "cannot connect to redis at %s:%u\n", url.host, url.port);
        exit(1);
    }
    char db[12];
    snprintf(db, sizeof(db), "%u", url.db);
    if (url.password) {
        const char *with_user[] = { "AUTH", url.user, url.password };
        const char *plain[] = { "AUTH", url.password };
        freeReplyObject(url.user ? redisCommandArgv(admin, 3, with_user, NULL)
                                 : redisCommandArgv(admin, 2, plain, NULL));
    }
    const char *sel[] = { "SELECT", db };
    freeReplyObject(redisCommandArgv(admin, 2, sel, NULL));
    return true;
}

int main(void)
{
    unsigned rnd = 0;
    if (!redis_ready())
        return SKIP_STATUS;
    log_set_level(LOG_LEVEL_ERROR);
    if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
        rnd = (unsigned)getpid();
    snprintf(prefix, sizeof(prefix), "dmarcd-test-%ld-%08x:", (long)getpid(), rnd);
    snprintf(client_name, sizeof(client_name), "dmarcd-test-%ld-%08x", (long)getpid(), rnd);
    queue_options_default(&opts);
    opts.prefix = prefix;
    opts.client_name = client_name;
    opts.visibility_ms = VISIBILITY_MS;
    opts.max_attempts = MAX_ATTEMPTS;
    opts.retry_base_ms = 100;
    opts.retry_max_ms = 1000;
    opts.backoff_first_ms = 20;
    if (!testdb_env_missing() && testdb_create("queue", &st))
        return 1;
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_push_claim_ack), T(test_dead_consumer_is_reclaimed), T(test_extend_keeps_the_job),
        T(test_retry_comes_back_after_delay), T(test_backoff_delay),
        T(test_dead_letter_after_attempts), T(test_group_recreated_after_loss),
        T(test_killed_connection_is_transparent), T(test_garbage_entries_are_dropped),
        T(test_known_ids), T(test_prune_consumers), T(test_unreachable),
        T(test_redis_loses_everything), T(test_duplicates_are_harmless), T(test_grace_period),
    };
#undef T
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (st)
        testdb_drop();
    redisFree(admin);
    redis_url_release(&url);
    return failed ? 1 : 0;
}
