/*
 * cmd_worker.c - `dmarcd worker`: runs the queue workers (ingest/worker.h)
 * until SIGTERM or SIGINT, or, with --until-idle, until there is nothing
 * left to do.
 *
 * Signals are blocked in every thread and taken by this one with
 * sigtimedwait(), so no handler runs in the middle of a library call. The
 * first SIGTERM/SIGINT stops the claiming and gives the jobs in hand until
 * the shutdown deadline to finish; past it, or at a second signal, they are
 * released (back to pending, their jobs unacknowledged for another worker).
 * Either way the process ends with status 0, as a service that was asked to
 * stop and did. Connection problems at start are status 3, a database
 * without the schema 1, bad options or configuration 2.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "ingest/worker.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/slice.h"
#include "lib/strbuf.h"
#include "lib/url.h"
#include "storage/keys.h"
#include "lib/banned.h"

#define WHO "dmarcd worker"
/* After the deadline, how long released jobs get to wind down (a report
 * stopped half-way is rolled back first, which takes the server a while). */
#define RELEASE_WAIT_MS 20000
#define TICK_MS 250

struct worker_args {
    int64_t threads;            /* 0: worker_threads */
    const char *prefix;         /* NULL: queue_prefix */
    int64_t visibility_s, reconcile_s, shutdown_s, max_attempts;
    bool until_idle;
};

static int usage_error(const char *what)
{
    if (what)
        fprintf(stderr, WHO ": %s\n", what);
    cmd_print_usage(&cmd_worker_def, stderr);
    return EXIT_USAGE;
}

/* --name N or --name=N with N in [min, max]; *i moves past the value. */
static int int_option(int argc, char **argv, int *i, const char *name, int64_t min,
                      int64_t max, int64_t *out, bool *matched)
{
    size_t n = strlen(name);
    const char *value = NULL;
    *matched = false;
    if (strcmp(argv[*i], name) == 0 && *i + 1 < argc)
        value = argv[++*i];
    else if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
        value = argv[*i] + n + 1;
    else
        return -1;
    *matched = true;
    if (!slice_to_i64(slice_from_cstr(value), out) || *out < min || *out > max) {
        fprintf(stderr, WHO ": %s wants a whole number from %lld to %lld, not \"%.40s\"\n", name,
                (long long)min, (long long)max, value);
        return EXIT_USAGE;
    }
    return -1;
}

/* Returns -1 when the arguments are fine, else the exit status. */
static int parse_args(int argc, char **argv, struct worker_args *a)
{
    const struct {
        const char *name;
        int64_t min, max;
        int64_t *field;
    } ints[] = {
        { "--threads", 1, WORKER_MAX_THREADS, &a->threads },
        { "--visibility-seconds", 1, 86400, &a->visibility_s },
        { "--reconcile-seconds", 0, 86400, &a->reconcile_s },
        { "--shutdown-seconds", 0, 3600, &a->shutdown_s },
        { "--max-attempts", 1, 100, &a->max_attempts },
    };
    for (int i = 1; i < argc; i++) {
        bool matched = false;
        for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]) && !matched; k++) {
            int status = int_option(argc, argv, &i, ints[k].name, ints[k].min, ints[k].max,
                                    ints[k].field, &matched);
            if (status >= 0)
                return status;
        }
        if (matched)
            continue;
        if (strcmp(argv[i], "--until-idle") == 0) {
            a->until_idle = true;
        } else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc) {
            a->prefix = argv[++i];
        } else if (strncmp(argv[i], "--prefix=", 9) == 0) {
            a->prefix = argv[i] + 9;
        } else {
            fprintf(stderr, WHO ": unexpected argument %s\n", argv[i]);
            return usage_error(NULL);
        }
    }
    return -1;
}

/* The urls, keys and options from the configuration; an exit status on failure. */
static int configure(struct cmd_ctx *ctx, const struct worker_args *a, struct config *cfg,
                     struct db_url *db, struct redis_url *redis, struct keyring **keys,
                     struct worker_options *o)
{
    struct config_problems probs;
    struct strbuf why, shown;
    enum forensic_fallback fallback = FORENSIC_FALLBACK_DROP;
    int status = cmd_load_config(ctx, cfg);
    if (status)
        return status;
    config_problems_init(&probs);
    if (config_require(cfg, CONFIG_DATABASE_URL, WHO, &probs)) {
        config_problems_print(&probs, stderr);
        config_problems_release(&probs);
        return EXIT_USAGE;
    }
    config_problems_release(&probs);
    strbuf_init(&why, 0);
    strbuf_init(&shown, 0);
    const char *text = config_get_str(cfg, CONFIG_DATABASE_URL);
    if (db_url_parse(text, db, &why)) {
        url_mask_password(text, &shown);
        fprintf(stderr, WHO ": database_url %s: %s\n", shown.buf, why.buf);
        status = EXIT_USAGE;
    }
    text = config_get_str(cfg, CONFIG_REDIS_URL);
    if (!status && redis_url_parse(text, redis, &why)) {
        url_mask_password(text, &shown);
        fprintf(stderr, WHO ": redis_url %s: %s\n", shown.buf, why.buf);
        status = EXIT_USAGE;
    }
    strbuf_release(&why);
    strbuf_release(&shown);
    /* failure-report samples of `encrypted` tenants are sealed with it */
    if (!status)
        status = cmd_load_keys(ctx, WHO, true, keys, &fallback);
    if (status)
        return status;
    worker_options_default(o);
    o->db = db;
    o->redis = redis;
    o->keys = *keys;
    o->pgp_fallback = fallback;
    o->threads = (unsigned)(a->threads ? a->threads : config_get_int(cfg, CONFIG_WORKER_THREADS));
    o->queue.prefix = a->prefix ? a->prefix : config_get_str(cfg, CONFIG_QUEUE_PREFIX);
    o->queue.visibility_ms = (uint32_t)(a->visibility_s * 1000);
    o->reconcile_ms = (uint32_t)(a->reconcile_s * 1000);
    if (a->max_attempts)
        o->queue.max_attempts = (unsigned)a->max_attempts;
    o->until_idle = a->until_idle;
    return EXIT_OK;
}

static int start_failed(struct config *cfg, enum dmarcd_err rc, const struct strbuf *why)
{
    struct strbuf shown;
    strbuf_init(&shown, 0);
    if (rc == DMARCD_E_DB_UNAVAILABLE) {
        url_mask_password(config_get_str(cfg, CONFIG_DATABASE_URL), &shown);
        fprintf(stderr, WHO ": database unreachable at %s: %s\n", shown.buf, why->buf);
    } else if (rc == DMARCD_E_QUEUE_UNAVAILABLE) {
        url_mask_password(config_get_str(cfg, CONFIG_REDIS_URL), &shown);
        fprintf(stderr, WHO ": redis unreachable at %s: %s\n", shown.buf, why->buf);
    } else {
        fprintf(stderr, WHO ": %s\n", why->len ? why->buf : dmarcd_strerror(rc));
        if (rc == DMARCD_E_DB)
            fprintf(stderr, WHO ": is the schema up to date? (`dmarcd migrate`)\n");
    }
    strbuf_release(&shown);
    return dmarcd_err_exit_status(rc);
}

/* A signal from set within ms, or 0. */
static int next_signal(const sigset_t *set, unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    int sig = sigtimedwait(set, NULL, &ts);
    return sig > 0 ? sig : 0;
}

/*
 * Lets the jobs in hand finish until the deadline (or a second signal),
 * then releases them; false when a thread is still busy after that.
 */
static bool shut_down(struct worker_pool *pool, const sigset_t *set, int sig, int64_t deadline_s)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    log_info("shutdown requested: finishing the jobs in hand", LOG_STR("signal", strsignal(sig)),
             LOG_INT("deadline_s", deadline_s));
    worker_stop(pool);
    for (;;) {
        if (worker_wait(pool, TICK_MS))
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed = (double)(now.tv_sec - start.tv_sec) +
                         (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        int again = next_signal(set, 0);
        if (again || elapsed >= (double)deadline_s) {
            log_warn(again ? "second signal: releasing the jobs in hand"
                           : "shutdown deadline passed: releasing the jobs in hand");
            break;
        }
    }
    worker_abandon(pool);
    if (worker_wait(pool, RELEASE_WAIT_MS))
        return true;
    log_error("worker threads still busy after releasing their jobs: exiting without them; "
              "their messages return to the queue when their leases run out");
    return false;
}

static void summary(struct worker_pool *pool)
{
    struct worker_totals t;
    worker_totals(pool, &t);
    log_info("worker stopped", LOG_UINT("jobs", t.jobs), LOG_UINT("done", t.done),
             LOG_UINT("quarantined", t.quarantined), LOG_UINT("retried", t.retried),
             LOG_UINT("dead", t.dead), LOG_UINT("released", t.released),
             LOG_UINT("reports", t.reports), LOG_UINT("records", t.records));
    printf("worker: %llu jobs, %llu done, %llu quarantined, %llu retried, %llu dead, "
           "%llu skipped, %llu released, %llu reports stored, %llu records, %llu duplicates, "
           "%llu problems, %llu requeued\n",
           (unsigned long long)t.jobs, (unsigned long long)t.done,
           (unsigned long long)t.quarantined, (unsigned long long)t.retried,
           (unsigned long long)t.dead, (unsigned long long)t.skipped,
           (unsigned long long)t.released, (unsigned long long)t.reports,
           (unsigned long long)t.records, (unsigned long long)t.duplicates,
           (unsigned long long)t.problems, (unsigned long long)t.requeued);
    fflush(stdout);
}

int cmd_worker(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct worker_args a = { .visibility_s = 300, .reconcile_s = 60, .shutdown_s = 30 };
    struct config cfg;
    struct db_url db = { 0 };
    struct redis_url redis = { 0 };
    struct keyring *keys = NULL;
    struct worker_options o;
    struct worker_pool *pool = NULL;
    struct strbuf why;
    sigset_t set;
    int status = parse_args(argc, argv, &a);
    if (status >= 0)
        return status;
    config_init(&cfg);
    strbuf_init(&why, 0);
    status = configure(ctx, &a, &cfg, &db, &redis, &keys, &o);
    if (status)
        goto out;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);    /* inherited by every thread */
    signal(SIGPIPE, SIG_IGN);
    enum dmarcd_err rc = worker_start(&o, &pool, &why);
    if (rc) {
        status = start_failed(&cfg, rc, &why);
        goto out;
    }
    log_info("worker started", LOG_UINT("threads", o.threads), LOG_STR("prefix", o.queue.prefix),
             LOG_UINT("visibility_ms", o.queue.visibility_ms),
             LOG_UINT("reconcile_ms", o.reconcile_ms), LOG_INT("until_idle", o.until_idle));
    for (;;) {
        int sig = next_signal(&set, TICK_MS);
        if (sig) {
            if (!shut_down(pool, &set, sig, a.shutdown_s)) {
                /* a thread stuck in a database call: the server rolls its
                 * transaction back when the connection goes */
                summary(pool);
                fflush(NULL);
                _exit(EXIT_OK);
            }
            break;
        }
        if (worker_wait(pool, 0))
            break;
    }
    summary(pool);
out:
    worker_free(pool);
    keyring_free(keys);
    db_url_release(&db);
    redis_url_release(&redis);
    strbuf_release(&why);
    config_release(&cfg);
    return status;
}

const struct command cmd_worker_def = {
    .name = "worker",
    .summary = "run queue workers: parse queued messages and store their reports",
    .usage =
        "usage: dmarcd [--config FILE] worker [--threads N] [--prefix PREFIX]\n"
        "                                     [--visibility-seconds N] [--reconcile-seconds N]\n"
        "                                     [--shutdown-seconds N] [--max-attempts N]\n"
        "                                     [--until-idle]\n"
        "\n"
        "Takes jobs off the Redis job queue (redis_url, keys under queue_prefix),\n"
        "reads each job's message from the database inbox, parses it and stores\n"
        "its reports, then marks the message done. Each thread has its own\n"
        "database and Redis connections. A message with no report, or whose every\n"
        "part failed, is quarantined with the reason; a database outage puts the\n"
        "job back with a growing delay and, after the last attempt, quarantines\n"
        "the message. Workers in many processes share one queue; one of them at a\n"
        "time (chosen through Redis) re-queues inbox messages the queue lost.\n"
        "\n"
        "  --threads N              worker threads (default: worker_threads)\n"
        "  --prefix PREFIX          Redis key prefix of the queue (default: queue_prefix)\n"
        "  --visibility-seconds N   a job unacknowledged this long belongs to a worker\n"
        "                           that died and is given to another (default 300);\n"
        "                           a message's lease is four fifths of it. Short values\n"
        "                           are for tests: a long report must not outlast it\n"
        "                           between two renewals\n"
        "  --reconcile-seconds N    how often the queue is checked against the inbox,\n"
        "                           and how old a pending message must be before it is\n"
        "                           queued again (default 60; 0: never)\n"
        "  --shutdown-seconds N     on SIGTERM/SIGINT, how long the jobs in hand may\n"
        "                           take to finish before they are released for another\n"
        "                           worker (default 30)\n"
        "  --max-attempts N         deliveries of a job before its message is\n"
        "                           quarantined (default 8)\n"
        "  --until-idle             exit once the queue is empty and the inbox holds no\n"
        "                           pending or processing message (back-fills, tests)\n"
        "\n"
        "Needs master_key_file (DMARCD_MASTER_KEY_FILE): the samples of failure\n"
        "reports are kept sealed with the tenants' data keys, and the raw message\n"
        "that held one is deleted once it is processed.\n"
        "\n"
        "Logs one key=value line per job on standard error (job claimed, job done\n"
        "with its counts, job retried, job dead, message quarantined); at exit one\n"
        "line on standard output sums up:\n"
        "  worker: J jobs, D done, Q quarantined, R retried, X dead, S skipped,\n"
        "  L released, N reports stored, M records, U duplicates, P problems,\n"
        "  E requeued\n"
        "\n"
        "exit status: 0 stopped by a signal or idle, 1 the database lacks the schema,\n"
        "2 usage or configuration, 3 the database or Redis unreachable at start.\n",
    .run = cmd_worker,
};
