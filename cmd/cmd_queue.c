/*
 * cmd_queue.c - `dmarcd queue status`: how much work waits, and how long,
 * in the Redis job queue (ingest/queue.h) and the inbox (storage/inbox.h).
 *
 * Both sides are shown because either alone can mislead: an empty queue
 * with pending inbox rows means Redis lost jobs (the reconciler will
 * re-queue them), a long queue with few pending rows means duplicates.
 * Each side is connected with few retries so that an outage answers
 * quickly; what could be read is still printed, and the exit status is 3.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ingest/queue.h"
#include "lib/strbuf.h"
#include "lib/url.h"
#include "lib/xalloc.h"
#include "storage/inbox.h"
#include "storage/store.h"
#include "lib/banned.h"

#define WHO "dmarcd queue status"

struct status_args {
    bool json;
    const char *prefix;
};

struct status {
    bool have_queue, have_inbox;
    char stream[96], group[80];
    struct queue_stats q;
    struct inbox_counts inbox;
};

static int usage_error(const char *what)
{
    if (what)
        fprintf(stderr, "%s\n", what);
    cmd_print_usage(&cmd_queue_def, stderr);
    return EXIT_USAGE;
}

/* Returns -1 when the arguments are fine, else the exit status. */
static int parse_args(int argc, char **argv, struct status_args *a)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc) {
            a->prefix = argv[++i];
        } else if (strncmp(argv[i], "--prefix=", 9) == 0) {
            a->prefix = argv[i] + 9;
        } else {
            fprintf(stderr, WHO ": unexpected argument %s\n", argv[i]);
            return usage_error(NULL);
        }
    }
    if (a->prefix && !queue_name_valid(a->prefix)) {
        fprintf(stderr, WHO ": --prefix wants 1 to 64 printable characters without spaces\n");
        return EXIT_USAGE;
    }
    return -1;
}

/* Reads the queue side; returns an exit status. */
static int read_queue(struct cmd_ctx *ctx, const struct status_args *a, struct status *out)
{
    struct config cfg;
    struct redis_url url = { 0 };
    struct strbuf why, shown;
    struct queue_options o;
    struct queue *q = NULL;
    config_init(&cfg);
    strbuf_init(&why, 0);
    strbuf_init(&shown, 0);
    int status = cmd_load_config(ctx, &cfg);
    if (status)
        goto out;
    const char *text = config_get_str(&cfg, CONFIG_REDIS_URL);
    url_mask_password(text, &shown);
    if (redis_url_parse(text, &url, &why)) {
        fprintf(stderr, WHO ": redis_url %s: %s\n", shown.buf, why.buf);
        status = EXIT_USAGE;
        goto out;
    }
    queue_options_default(&o);
    o.prefix = a->prefix ? a->prefix : config_get_str(&cfg, CONFIG_QUEUE_PREFIX);
    o.client_name = "dmarcd-status";
    o.connect_attempts = 2;
    enum dmarcd_err rc = queue_open(&url, &o, &q, &why);
    if (!rc)
        rc = queue_stats(q, &out->q);
    if (rc) {
        fprintf(stderr, WHO ": %s at %s: %s\n",
                rc == DMARCD_E_QUEUE_UNAVAILABLE ? "redis unreachable" : "cannot use redis",
                shown.buf, why.len ? why.buf : dmarcd_strerror(rc));
        status = dmarcd_err_exit_status(rc);
        goto out;
    }
    snprintf(out->stream, sizeof(out->stream), "%s", queue_stream_key(q));
    snprintf(out->group, sizeof(out->group), "%s", queue_group(q));
    out->have_queue = true;
out:
    queue_close(q);
    redis_url_release(&url);
    strbuf_release(&shown);
    strbuf_release(&why);
    config_release(&cfg);
    return status;
}

/* Reads the inbox side; returns an exit status. */
static int read_inbox(struct cmd_ctx *ctx, struct status *out)
{
    struct store_options o;
    struct store *st = NULL;
    store_options_default(&o);
    o.connect_attempts = 2;
    o.connect_timeout_s = 3;
    int status = cmd_open_store(ctx, WHO, &o, &st);
    if (status)
        return status;
    enum dmarcd_err rc = inbox_count(st, &out->inbox);
    if (rc)
        status = cmd_store_failed(WHO, rc, st, NULL);
    else
        out->have_inbox = true;
    store_close(st);
    return status;
}

/* 850ms, 3.2s, 4m05s, 2h03m, 3d04h. */
static void format_duration(uint64_t ms, char *buf, size_t size)
{
    uint64_t s = ms / 1000;
    if (ms < 1000)
        snprintf(buf, size, "%" PRIu64 "ms", ms);
    else if (s < 60)
        snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "s", s, (ms % 1000) / 100);
    else if (s < 3600)
        snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, (s % 3600) / 60);
    else
        snprintf(buf, size, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, (s % 86400) / 3600);
}

/* One aligned line: name, value, and an optional explanation. */
static void row(const char *name, const char *value, const char *note)
{
    printf("  %-11s %8s%s%s\n", name, value, note ? "  " : "", note ? note : "");
}

static void row_count(const char *name, uint64_t n, const char *note)
{
    char v[24];
    snprintf(v, sizeof(v), "%" PRIu64, n);
    row(name, v, note);
}

static void row_duration(const char *name, uint64_t ms, const char *note)
{
    char v[32];
    format_duration(ms, v, sizeof(v));
    row(name, v, note);
}

static void print_text(const struct status *s)
{
    if (s->have_queue) {
        const struct queue_stats *q = &s->q;
        printf("queue %s (group %s%s)\n", s->stream, s->group,
               q->group_exists ? "" : ": missing, created by the first worker");
        row_count("length", q->length, NULL);
        row_count("waiting", q->waiting, "not yet delivered");
        row_count("pending", q->pending, "delivered, not yet acknowledged");
        row_duration("lag", q->oldest_pending_idle_ms, "oldest pending job idle");
        row_duration("oldest", q->oldest_entry_age_ms, "oldest job in the stream");
        row_count("delayed", q->delayed, "retries waiting out their backoff");
        row_count("dead", q->dead, NULL);
        row_count("consumers", q->consumers, NULL);
    } else {
        printf("queue unreachable\n");
    }
    if (s->have_inbox) {
        printf("inbox\n");
        for (unsigned i = 0; i < INBOX_STATE_COUNT; i++)
            row_count(inbox_state_name((enum inbox_state)i), s->inbox.by_state[i], NULL);
        row_duration("oldest", s->inbox.oldest_pending_ms,
                     "since the oldest pending row last changed");
    } else {
        printf("inbox unreachable\n");
    }
}

static json_t *queue_json(const struct status *s)
{
    const struct queue_stats *q = &s->q;
    return json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "stream", s->stream, "group", s->group, "group_exists", q->group_exists,
                     "length", (json_int_t)q->length, "waiting", (json_int_t)q->waiting,
                     "pending", (json_int_t)q->pending,
                     "lag_ms", (json_int_t)q->oldest_pending_idle_ms,
                     "oldest_ms", (json_int_t)q->oldest_entry_age_ms,
                     "delayed", (json_int_t)q->delayed, "dead", (json_int_t)q->dead,
                     "consumers", (json_int_t)q->consumers);
}

static void print_json(const struct status *s)
{
    json_t *root = json_object(), *inbox = json_null();
    if (!root)
        dmarcd_die("json_object: out of memory");
    if (s->have_inbox) {
        inbox = json_object();
        for (unsigned i = 0; i < INBOX_STATE_COUNT; i++)
            json_object_set_new(inbox, inbox_state_name((enum inbox_state)i),
                                json_integer((json_int_t)s->inbox.by_state[i]));
        json_object_set_new(inbox, "oldest_pending_ms",
                            json_integer((json_int_t)s->inbox.oldest_pending_ms));
    }
    json_object_set_new(root, "queue", s->have_queue ? queue_json(s) : json_null());
    json_object_set_new(root, "inbox", inbox);
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        dmarcd_die("json_dumps: out of memory");
    printf("%s\n", text);
    free(text);
    json_decref(root);
}

static int queue_status(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct status_args a = { .json = false, .prefix = NULL };
    struct status s;
    memset(&s, 0, sizeof(s));
    int status = parse_args(argc, argv, &a);
    if (status >= 0)
        return status;
    int qs = read_queue(ctx, &a, &s);
    if (qs == EXIT_USAGE)
        return qs;
    int is = read_inbox(ctx, &s);
    if (is == EXIT_USAGE)
        return is;
    if (a.json)
        print_json(&s);
    else
        print_text(&s);
    return qs ? qs : is;
}

int cmd_queue(struct cmd_ctx *ctx, int argc, char **argv)
{
    if (argc < 2)
        return usage_error(NULL);
    if (strcmp(argv[1], "status") == 0)
        return queue_status(ctx, argc - 2, argv + 2);
    fprintf(stderr, "dmarcd queue: unknown subcommand %s\n", argv[1]);
    return usage_error(NULL);
}

const struct command cmd_queue_def = {
    .name = "queue",
    .summary = "show the job queue and the inbox: depth, lag, dead letters",
    .usage = "usage: dmarcd [--config FILE] queue status [--json] [--prefix PREFIX]\n"
             "\n"
             "Shows the Redis job queue (redis_url) and the inbox in the database:\n"
             "  length     jobs in the stream: waiting + pending\n"
             "  waiting    jobs not yet delivered to a worker\n"
             "  pending    jobs delivered to a worker and not yet acknowledged\n"
             "  lag        how long the oldest pending job has been idle; past the\n"
             "             visibility timeout (5 min) another worker takes it over\n"
             "  oldest     how long the oldest job in the stream has waited\n"
             "  delayed    retries waiting out their backoff\n"
             "  dead       dead letters: jobs given up after too many attempts (their\n"
             "             messages are quarantined with the reason)\n"
             "  consumers  worker threads known to the consumer group\n"
             "and the inbox rows per state (pending, processing, done, quarantined).\n"
             "Pending inbox rows with an empty queue mean Redis lost jobs: the\n"
             "workers' reconciler queues them again.\n"
             "\n"
             "--json           one JSON object {\"queue\": {...}, \"inbox\": {...}}; a side\n"
             "                 that could not be reached is null\n"
             "--prefix PREFIX  Redis key prefix of the queue (default: queue_prefix,\n"
             "                 dmarcd:)\n"
             "\n"
             "exit status: 0 ok, 2 usage or configuration, 3 Redis or the database\n"
             "unreachable (what could be read is still printed).\n",
    .run = cmd_queue,
};
