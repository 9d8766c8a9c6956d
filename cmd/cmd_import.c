/*
 * cmd_import.c - `dmarcd import [--tenant T] PATH...`: parse report files
 * and store them straight into MariaDB through the database sink
 * (storage/sink_db.h), without the inbox and the queue.
 *
 * Files are walked as `dmarcd parse` walks them (walk.c). Each file is one
 * unit of retry: when the database fails transiently while a file is
 * being stored (deadlock, lock wait timeout, connection lost), the report
 * in progress is rolled back and the whole file is read again, after a
 * short pause or a reconnect. That is simpler than retrying one report of
 * a streamed input and just as safe, because storing is idempotent: the
 * reports the file had already committed come back as duplicates, and
 * the sink counts them once. A database that stays unreachable ends the
 * import with exit status 3; what was committed stays committed, and
 * running the same import again completes it.
 *
 * Every quarantined report and failed part prints one line on stderr
 * (`dmarcd import: FILE: PART: CODE: REASON`); on a terminal a progress
 * line is redrawn at most four times a second; a summary line is always
 * printed at the end.
 *
 * With --queue nothing is parsed here: each file is stored whole in the
 * inbox (storage/inbox.h, source "import", origin the path) and its id
 * pushed to the job queue (ingest/queue.h), the way mail arrives, for the
 * running workers. The queue is connected first, so that an unreachable
 * Redis stops the import before anything is stored; a file already in the
 * inbox (same bytes) is a duplicate and is not queued again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "ingest/queue.h"
#include "lib/limits.h"
#include "lib/strbuf.h"
#include "lib/url.h"
#include "lib/xalloc.h"
#include "parser/parse.h"
#include "storage/inbox.h"
#include "storage/keys.h"
#include "storage/sink_db.h"
#include "storage/store.h"
#include "storage/tenants.h"
#include "lib/banned.h"

#define WHO "dmarcd import"
/* Readings of one file before giving up on transient errors. */
#define FILE_ATTEMPTS 5
/* Pause before re-reading a file after a deadlock or lock timeout: the
 * first, doubled each time, plus up to as much again at random so two
 * importers that collided do not collide again in step. */
#define RETRY_PAUSE_MS 50
#define PROGRESS_INTERVAL_S 0.25

struct import_cmd {
    struct cmd_ctx *ctx;
    struct store *st;
    struct sink_db *sink;
    struct report_sink rsink;
    struct parse_options popts;
    struct parse_stats pstats;
    uint64_t gave_up;           /* files left unread after transient errors */
    bool unavailable;           /* the database went away for good */
    bool tty;                   /* stderr is a terminal: draw progress */
    bool progress_shown;        /* a progress line is on screen */
    double start, last_progress;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static double rate(const struct import_cmd *ic, uint64_t records)
{
    double elapsed = now_s() - ic->start;
    return elapsed > 0 ? (double)records / elapsed : 0;
}

/* Wipes the progress line so that a message can take its place. */
static void clear_progress(struct import_cmd *ic)
{
    if (ic->progress_shown) {
        fputs("\r\033[K", stderr);
        ic->progress_shown = false;
    }
}

static void draw_progress(struct import_cmd *ic, const struct sink_db_counters *c,
                          uint64_t pending, bool force)
{
    if (!ic->tty)
        return;
    double t = now_s();
    if (!force && t - ic->last_progress < PROGRESS_INTERVAL_S)
        return;
    ic->last_progress = t;
    fprintf(stderr, "\r" WHO ": %llu files, %llu reports, %llu records, %llu duplicates, "
                    "%llu failures, %.0f records/s\033[K",
            (unsigned long long)c->files, (unsigned long long)c->stored,
            (unsigned long long)(c->records + pending), (unsigned long long)c->duplicates,
            (unsigned long long)(c->quarantined + c->failed + ic->gave_up),
            rate(ic, c->records + pending));
    fflush(stderr);
    ic->progress_shown = true;
}

static void on_progress(void *ctx, const struct sink_db_counters *c, uint64_t pending)
{
    draw_progress(ctx, c, pending, false);
}

static void on_problem(void *ctx, const struct report_source *src, enum dmarcd_err err,
                       const char *reason)
{
    struct import_cmd *ic = ctx;
    clear_progress(ic);
    fprintf(stderr, WHO ": %s: %s%s%s: %s\n", src->file ? src->file : "-",
            src->part ? src->part : "", src->part ? ": " : "", dmarcd_err_code(err), reason);
}

/* A new connection after the old one broke; false (and exit 3) if none. */
static bool reconnect(struct import_cmd *ic)
{
    sink_db_set_store(ic->sink, NULL);
    store_close(ic->st);
    ic->st = NULL;
    clear_progress(ic);
    fprintf(stderr, WHO ": database connection lost: reconnecting\n");
    if (cmd_open_store(ic->ctx, WHO, NULL, &ic->st) != EXIT_OK) {
        ic->unavailable = true;
        return false;
    }
    sink_db_set_store(ic->sink, ic->st);
    return true;
}

static void import_file(struct cmd_walk *w, const char *path, const struct stat *st)
{
    struct import_cmd *ic = w->ctx;
    enum dmarcd_err transient = DMARCD_OK;
    unsigned pause = RETRY_PAUSE_MS;
    for (unsigned attempt = 1; attempt <= FILE_ATTEMPTS; attempt++) {
        if (attempt == 1)
            sink_db_input_begin(ic->sink, (int64_t)st->st_mtime);
        else
            sink_db_input_retry(ic->sink);
        /* The result adds nothing: the sink has counted and reported each part. */
        enum dmarcd_err parsed = report_parse_file(path, &ic->popts, &ic->rsink, &ic->pstats);
        (void)parsed;
        transient = sink_db_transient(ic->sink);
        if (!transient || attempt == FILE_ATTEMPTS)
            break;
        if (transient == DMARCD_E_DB_UNAVAILABLE) {
            if (!reconnect(ic)) {
                w->stop = true;
                return;
            }
        } else {
            sleep_ms(pause + (unsigned)rand() % pause);
            pause *= 2;
        }
    }
    if (transient) {
        ic->gave_up++;
        clear_progress(ic);
        fprintf(stderr, WHO ": %s: %s: gave up after %d attempts; run the import again\n",
                path, dmarcd_err_code(transient), FILE_ATTEMPTS);
        if (transient == DMARCD_E_DB_UNAVAILABLE) {
            ic->unavailable = true;
            w->stop = true;
        }
    }
    draw_progress(ic, sink_db_counters(ic->sink), 0, false);
}

/* The id of the tenant named `name`; an exit status on failure. */
static int find_tenant(struct store *st, const char *name, uint32_t *id)
{
    struct tenant_infos list;
    enum dmarcd_err rc = tenant_list(st, &list);
    if (rc)
        return cmd_store_failed(WHO, rc, st, NULL);
    int status = EXIT_USAGE;
    size_t i = 0;
    while (i < list.count && strcmp(list.items[i].name, name) != 0)
        i++;
    if (i == list.count) {
        fprintf(stderr, WHO ": no tenant named %s (see `dmarcd tenant list`)\n", name);
    } else if (strcmp(list.items[i].status, "active") != 0) {
        fprintf(stderr, WHO ": tenant %s is %s: its reports are no longer accepted\n", name,
                list.items[i].status);
    } else {
        *id = list.items[i].id;
        status = EXIT_OK;
    }
    tenant_infos_release(&list);
    return status;
}

static int import_usage(const char *what)
{
    if (what)
        fprintf(stderr, WHO ": %s\n", what);
    cmd_print_usage(&cmd_import_def, stderr);
    return EXIT_USAGE;
}

/* Takes the options off argv; returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, const char **tenant, bool *queued, int *first)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "--queue") == 0) {
            *queued = true;
        } else if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc) {
            *tenant = argv[++i];
        } else if (strncmp(argv[i], "--tenant=", 9) == 0) {
            *tenant = argv[i] + 9;
        } else {
            fprintf(stderr, WHO ": unknown option %s\n", argv[i]);
            return import_usage(NULL);
        }
    }
    if (i >= argc)
        return import_usage("expected at least one PATH");
    for (int j = i; j < argc; j++) {
        if (strcmp(argv[j], "-") == 0)
            return import_usage("standard input cannot be imported (a file can be read "
                                "again after a database error): save it to a file");
    }
    if (*tenant && !tenant_name_valid(*tenant)) {
        fprintf(stderr, WHO ": invalid tenant name \"%.80s\"\n", *tenant);
        return EXIT_USAGE;
    }
    *first = i;
    return -1;
}

static int summary(struct import_cmd *ic, bool walk_failed)
{
    const struct sink_db_counters *c = sink_db_counters(ic->sink);
    clear_progress(ic);
    printf("import: %llu files, %llu reports stored, %llu records, %llu messages, "
           "%llu duplicates, %llu quarantined, %llu failed, %.0f records/s\n",
           (unsigned long long)c->files, (unsigned long long)c->stored,
           (unsigned long long)c->records, (unsigned long long)c->messages,
           (unsigned long long)c->duplicates, (unsigned long long)c->quarantined,
           (unsigned long long)(c->failed + ic->gave_up), rate(ic, c->records));
    fflush(stdout);
    if (ic->unavailable)
        return EXIT_UNAVAILABLE;
    if (walk_failed || ic->gave_up || c->failed || c->quarantined)
        return EXIT_PARTIAL;
    return EXIT_OK;
}

/* ---- --queue: through the inbox and the job queue ---- */

/* Attempts at storing one file when the database fails transiently. */
#define PUT_ATTEMPTS 3

struct queued_import {
    struct cmd_ctx *ctx;
    struct store *st;
    struct queue *q;
    uint32_t tenant_id;
    uint64_t files, queued, duplicates, failed;
    bool unavailable;           /* the database or Redis went away: stop */
};

/* Connects the job queue (redis_url, queue_prefix); an exit status on failure. */
static int open_queue(struct cmd_ctx *ctx, struct queue **q)
{
    struct config cfg;
    struct redis_url url = { 0 };
    struct strbuf why, shown;
    struct queue_options o;
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
    o.prefix = config_get_str(&cfg, CONFIG_QUEUE_PREFIX);
    o.client_name = "dmarcd-import";
    enum dmarcd_err rc = queue_open(&url, &o, q, &why);
    if (rc) {
        fprintf(stderr, WHO ": %s at %s: %s\n",
                rc == DMARCD_E_QUEUE_UNAVAILABLE ? "redis unreachable" : "cannot use redis",
                shown.buf, why.len ? why.buf : dmarcd_strerror(rc));
        status = dmarcd_err_exit_status(rc);
    }
out:
    redis_url_release(&url);
    strbuf_release(&shown);
    strbuf_release(&why);
    config_release(&cfg);
    return status;
}

/* The whole file, at most DMARCD_MAX_MESSAGE_BYTES; errno-style error or -1 when too big. */
static int read_whole(const char *path, const struct stat *sb, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (sb->st_size > (off_t)DMARCD_MAX_MESSAGE_BYTES)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    size_t alloc = (size_t)sb->st_size + 1, n = 0;
    uint8_t *buf = xmalloc(alloc);
    int err = 0;
    for (;;) {
        if (n == alloc) {   /* the file grew since it was listed */
            if (alloc > DMARCD_MAX_MESSAGE_BYTES) {
                err = -1;
                break;
            }
            alloc *= 2;
            buf = xrealloc(buf, alloc);
        }
        ssize_t got = read(fd, buf + n, alloc - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            err = errno;
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    if (!err && n > DMARCD_MAX_MESSAGE_BYTES)
        err = -1;
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* inbox_put, again after a deadlock or a reconnect. */
static enum dmarcd_err put_file(struct queued_import *qi, const uint8_t *raw, size_t len,
                                const char *path, uint64_t *id, bool *duplicate)
{
    enum dmarcd_err rc = DMARCD_OK;
    for (unsigned attempt = 1; attempt <= PUT_ATTEMPTS; attempt++) {
        rc = inbox_put(qi->st, raw, len, INBOX_SOURCE_IMPORT, path, qi->tenant_id, id, duplicate);
        if (rc != DMARCD_E_TEMPORARY && rc != DMARCD_E_DB_UNAVAILABLE)
            break;
        if (rc == DMARCD_E_DB_UNAVAILABLE) {
            store_close(qi->st);
            qi->st = NULL;
            fprintf(stderr, WHO ": database connection lost: reconnecting\n");
            if (cmd_open_store(qi->ctx, WHO, NULL, &qi->st) != EXIT_OK)
                break;
        }
    }
    return rc;
}

static void queue_file(struct cmd_walk *w, const char *path, const struct stat *sb)
{
    struct queued_import *qi = w->ctx;
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t id = 0;
    bool duplicate = false;
    qi->files++;
    int err = read_whole(path, sb, &raw, &len);
    if (err) {
        if (err < 0)
            fprintf(stderr, WHO ": %s: %s: larger than %zu MiB, the most a message may hold\n",
                    path, dmarcd_err_code(DMARCD_E_TOO_BIG),
                    (size_t)(DMARCD_MAX_MESSAGE_BYTES / DMARCD_MiB));
        else
            fprintf(stderr, WHO ": %s: %s\n", path, strerror(err));
        qi->failed++;
        return;
    }
    enum dmarcd_err rc = put_file(qi, raw, len, path, &id, &duplicate);
    free(raw);
    if (rc) {
        fprintf(stderr, WHO ": %s: %s: %s%s%s\n", path, dmarcd_err_code(rc), dmarcd_strerror(rc),
                qi->st && store_last_error(qi->st)[0] ? ": " : "",
                qi->st ? store_last_error(qi->st) : "");
        qi->failed++;
        if (rc != DMARCD_E_TOO_BIG) {   /* the database, not this file: stop */
            qi->unavailable = dmarcd_err_is_transient(rc);
            w->stop = true;
        }
        return;
    }
    if (duplicate) {
        qi->duplicates++;
        return;
    }
    rc = queue_push(qi->q, id);
    if (rc) {
        fprintf(stderr, WHO ": %s: stored in the inbox (id %llu) but not queued: %s; the "
                        "workers' reconciler will queue it\n",
                path, (unsigned long long)id, dmarcd_strerror(rc));
        qi->unavailable = true;
        w->stop = true;
        return;
    }
    qi->queued++;
}

static int import_queued(struct cmd_ctx *ctx, const char *tenant, int argc, char **argv,
                         int first)
{
    struct queued_import qi = { .ctx = ctx };
    int status = cmd_open_store(ctx, WHO, NULL, &qi.st);
    if (status)
        return status;
    if (tenant && (status = find_tenant(qi.st, tenant, &qi.tenant_id)) != EXIT_OK)
        goto out;
    if ((status = open_queue(ctx, &qi.q)) != EXIT_OK)
        goto out;
    struct cmd_walk walk = { .who = WHO, .file = queue_file, .ctx = &qi };
    for (int i = first; i < argc && !walk.stop; i++)
        cmd_walk(&walk, argv[i]);
    printf("import: %llu files, %llu queued, %llu duplicates, %llu failed\n",
           (unsigned long long)qi.files, (unsigned long long)qi.queued,
           (unsigned long long)qi.duplicates, (unsigned long long)qi.failed);
    fflush(stdout);
    if (qi.unavailable)
        status = EXIT_UNAVAILABLE;
    else if (qi.failed || walk.failed)
        status = EXIT_PARTIAL;
out:
    queue_close(qi.q);
    store_close(qi.st);
    return status;
}

int cmd_import(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *tenant = NULL;
    bool queued = false;
    int first = 0;
    struct import_cmd ic = { .ctx = ctx };
    int status = parse_args(argc, argv, &tenant, &queued, &first);
    if (status >= 0)
        return status;
    if (queued)
        return import_queued(ctx, tenant, argc, argv, first);
    /* failure-report samples of `encrypted` tenants need the master key */
    struct keyring *keys = NULL;
    enum forensic_fallback fallback = FORENSIC_FALLBACK_DROP;
    if ((status = cmd_load_keys(ctx, WHO, false, &keys, &fallback)))
        return status;
    status = cmd_open_store(ctx, WHO, NULL, &ic.st);
    if (status) {
        keyring_free(keys);
        return status;
    }
    struct sink_db_options opts = { .problem = on_problem, .progress = on_progress,
                                    .cb_ctx = &ic, .keys = keys, .pgp_fallback = fallback };
    if (tenant && (status = find_tenant(ic.st, tenant, &opts.tenant_id)) != EXIT_OK)
        goto out;
    ic.sink = sink_db_new(ic.st, &opts);
    enum dmarcd_err rc = sink_db_prepare(ic.sink);
    if (rc) {
        status = cmd_store_failed(WHO, rc, ic.st, NULL);
        if (rc == DMARCD_E_DB)
            fprintf(stderr, WHO ": is the schema up to date? (`dmarcd migrate`)\n");
        goto out;
    }
    ic.rsink = sink_db_as_report_sink(ic.sink);
    ic.tty = isatty(STDERR_FILENO);
    ic.start = now_s();
    srand((unsigned)getpid());
    struct cmd_walk walk = { .who = WHO, .file = import_file, .ctx = &ic };
    for (int i = first; i < argc && !walk.stop; i++)
        cmd_walk(&walk, argv[i]);
    status = summary(&ic, walk.failed);
out:
    sink_db_free(ic.sink);
    store_close(ic.st);
    keyring_free(keys);
    return status;
}

const struct command cmd_import_def = {
    .name = "import",
    .summary = "store report files in the database (files, directories)",
    .usage =
        "usage: dmarcd [--config FILE] import [--tenant NAME] PATH...\n"
        "       dmarcd [--config FILE] import --queue [--tenant NAME] PATH...\n"
        "\n"
        "Parses the DMARC aggregate reports, failure reports (ARF) and SMTP TLS\n"
        "reports found in each PATH (a file, or a directory walked recursively in\n"
        "name order; gzip, zip and whole mail messages are opened) and stores them\n"
        "in the database, each report in one transaction.\n"
        "\n"
        "  --tenant NAME  store every report for tenant NAME, whatever its domain;\n"
        "                 without it each report goes to the tenant owning its\n"
        "                 policy domain (`dmarcd domain add`), and a report for a\n"
        "                 domain nobody owns is quarantined\n"
        "\n"
        "A report already stored (same reporter, report id, domain and dates) is\n"
        "counted as a duplicate and left alone, so importing the same files again,\n"
        "or after an interrupted run, is safe. A report that cannot be stored is\n"
        "rolled back and recorded in the quarantine table with the reason, which\n"
        "is also printed: `dmarcd import: FILE: PART: CODE: REASON`. A file is read\n"
        "again when the database fails transiently (deadlock, lost connection).\n"
        "\n"
        "On a terminal a progress line is shown; at the end one line sums up:\n"
        "  import: F files, R reports stored, N records, M messages, D duplicates,\n"
        "  Q quarantined, E failed, S records/s\n"
        "\n"
        "--queue hands the files to the running workers (`dmarcd worker`) instead:\n"
        "each file is stored whole in the database inbox, as a received message\n"
        "is, and queued in Redis (redis_url, keys under queue_prefix); the workers\n"
        "parse and store it. A file already in the inbox (the same bytes) counts\n"
        "as a duplicate and is not queued again. At the end:\n"
        "  import: F files, Q queued, D duplicates, E failed\n"
        "\n"
        "exit status: 0 every report stored or already there (with --queue: every\n"
        "file queued or already in the inbox), 1 some reports (files) were\n"
        "quarantined or failed, 2 usage or configuration (or an unknown tenant),\n"
        "3 database (or Redis) unreachable.\n",
    .run = cmd_import,
};
