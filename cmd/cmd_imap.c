/*
 * cmd_imap.c - `dmarcd imap [--once]`: the IMAP poller (ingest/imap.h) as
 * a long-running service, or one pass for tests and cron.
 *
 * The service keeps three connections and outlives the loss of any: the
 * database (nothing is taken from the mailbox while it is away), Redis
 * (optional: without it the stored rows wait for the reconciler) and the
 * IMAP server. After a failed pass it tries again after 1, 2, 4...
 * seconds, never waiting longer than the poll interval; after a login
 * refused or a mailbox missing it waits 5 minutes at least, so that a wrong
 * password does not get the account locked. The
 * configuration is read again before each login so that a rotated
 * password or a refreshed OAuth token file takes effect without a restart.
 * SIGTERM and SIGINT end it after the batch in hand.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "ingest/imap.h"
#include "ingest/queue.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/url.h"
#include "storage/store.h"
#include "storage/tenants.h"
#include "lib/banned.h"

#define WHO "dmarcd imap"
#define LOGIN_BACKOFF_MIN_S 300

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;      /* no SA_RESTART: a sleep ends at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

/* Sleeps seconds, or less when a stop is requested. */
static void pause_for(unsigned seconds)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int64_t limit = (int64_t)seconds * 1000;
    while (!stop_requested) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t spent = (int64_t)(now.tv_sec - start.tv_sec) * 1000 +
                        (now.tv_nsec - start.tv_nsec) / 1000000;
        if (spent >= limit)
            return;
        int64_t step = limit - spent < 500 ? limit - spent : 500;
        (void)poll(NULL, 0, (int)step);
    }
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

struct imap_cmd {
    struct cmd_ctx *ctx;
    struct config cfg;
    struct imap_options opts;
    struct db_url db;
    struct redis_url redis;
    struct queue_options qopts;
    const char *tenant;
    unsigned poll_seconds;
    bool once;
    struct store *st;
    struct queue *q;
    bool queue_warned;
    struct imap_poller *poller;
};

/* Reads the settings; returns -1 when fine, else the exit status. */
static int read_settings(struct imap_cmd *c)
{
    struct strbuf why;
    struct config_problems probs;
    const struct config *cfg = &c->cfg;
    int status = -1;
    strbuf_init(&why, 0);
    config_problems_init(&probs);
    static const enum config_key required[] = { CONFIG_DATABASE_URL, CONFIG_IMAP_URL,
                                                CONFIG_IMAP_USERNAME };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (config_require(cfg, required[i], WHO, &probs))
            status = EXIT_USAGE;
    }
    const char *password = config_get_str(cfg, CONFIG_IMAP_PASSWORD);
    const char *token = config_get_str(cfg, CONFIG_IMAP_OAUTH2_TOKEN);
    if (!(password && password[0]) && !(token && token[0])) {
        fprintf(stderr, WHO ": set imap_password or imap_oauth2_token (or their _file forms)\n");
        status = EXIT_USAGE;
    }
    config_problems_print(&probs, stderr);
    if (status >= 0)
        goto out;
    c->opts = (struct imap_options){
        .url = config_get_str(cfg, CONFIG_IMAP_URL),
        .username = config_get_str(cfg, CONFIG_IMAP_USERNAME),
        .password = password,
        .oauth2_token = token,
        .ca_file = config_get_str(cfg, CONFIG_IMAP_CA_FILE),
        .starttls = strcmp(config_get_str(cfg, CONFIG_IMAP_STARTTLS), "off") != 0,
        .mode = strcmp(config_get_str(cfg, CONFIG_IMAP_MODE), "flag") == 0 ? IMAP_MODE_FLAG
                                                                           : IMAP_MODE_MOVE,
        .processed_folder = config_get_str(cfg, CONFIG_IMAP_PROCESSED_FOLDER),
        .batch = (unsigned)config_get_int(cfg, CONFIG_IMAP_BATCH),
        .timeout_s = (unsigned)config_get_int(cfg, CONFIG_IMAP_TIMEOUT),
    };
    c->poll_seconds = (unsigned)config_get_int(cfg, CONFIG_IMAP_POLL_SECONDS);
    c->tenant = config_get_str(cfg, CONFIG_IMAP_TENANT);
    if (c->tenant && c->tenant[0] && !tenant_name_valid(c->tenant)) {
        fprintf(stderr, WHO ": imap_tenant: invalid tenant name \"%.80s\"\n", c->tenant);
        status = EXIT_USAGE;
        goto out;
    }
    if (db_url_parse(config_get_str(cfg, CONFIG_DATABASE_URL), &c->db, &why) ||
        redis_url_parse(config_get_str(cfg, CONFIG_REDIS_URL), &c->redis, &why)) {
        fprintf(stderr, WHO ": %s\n", why.buf);     /* validated by config_load already */
        status = EXIT_USAGE;
        goto out;
    }
    queue_options_default(&c->qopts);
    c->qopts.prefix = config_get_str(cfg, CONFIG_QUEUE_PREFIX);
    c->qopts.client_name = "dmarcd-imap";
    c->qopts.connect_attempts = 2;
    if (!queue_name_valid(c->qopts.prefix)) {
        fprintf(stderr, WHO ": queue_prefix wants 1 to 64 printable characters without spaces\n");
        status = EXIT_USAGE;
        goto out;
    }
    /* checked now, made for real once the tenant is known (run()) */
    if (imap_poller_new(&c->opts, &c->poller, &why)) {
        struct strbuf shown;
        strbuf_init(&shown, 0);
        url_mask_password(c->opts.url, &shown);
        fprintf(stderr, WHO ": imap_url %s: %s\n", shown.buf, why.buf);
        strbuf_release(&shown);
        status = EXIT_USAGE;
    }
    imap_poller_free(c->poller);
    c->poller = NULL;
out:
    config_problems_release(&probs);
    strbuf_release(&why);
    return status;
}

/* Connects to the database when not connected; false while it is away. */
static bool have_store(struct imap_cmd *c)
{
    struct store_options o;
    struct strbuf why;
    if (c->st)
        return true;
    store_options_default(&o);
    o.connect_attempts = c->once ? 3 : 1;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = store_open_opts(&c->db, &o, &c->st, &why);
    if (rc)
        log_error("imap: database unavailable: nothing is taken from the mailbox until it is back",
                  LOG_STR("reason", why.buf), LOG_ERR(rc));
    strbuf_release(&why);
    return rc == DMARCD_OK;
}

/* Connects to Redis when not connected; the poller works without it. */
static void want_queue(struct imap_cmd *c)
{
    struct strbuf why;
    if (c->q)
        return;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = queue_open(&c->redis, &c->qopts, &c->q, &why);
    if (rc && !c->queue_warned)
        log_warn("imap: redis unavailable: stored messages wait for the reconciler to queue them",
                 LOG_STR("reason", why.buf), LOG_ERR(rc));
    c->queue_warned = rc != DMARCD_OK;
    strbuf_release(&why);
}

/* Reads the configuration again for the secrets, so rotated ones are used at the next login. */
static void refresh_secret(struct imap_cmd *c)
{
    struct config cfg;
    struct config_problems probs;
    config_init(&cfg);
    config_problems_init(&probs);
    if (config_load(&cfg, c->ctx->config_path, c->ctx->envp, &probs) == DMARCD_OK)
        imap_poller_set_secret(c->poller, config_get_str(&cfg, CONFIG_IMAP_PASSWORD),
                               config_get_str(&cfg, CONFIG_IMAP_OAUTH2_TOKEN));
    else
        log_warn("imap: configuration unreadable now: logging in with the secret read before");
    config_problems_release(&probs);
    config_release(&cfg);
}

static void report(const struct imap_cmd *c, enum dmarcd_err rc, const struct imap_stats *s,
                   double secs, const struct strbuf *why)
{
    double rate = secs > 0 ? (double)(s->stored + s->duplicates) / secs : 0;
    if (rc)
        log_warn("imap poll failed", LOG_STR("reason", why->buf), LOG_ERR(rc),
                 LOG_UINT("stored", s->stored), LOG_UINT("moved", s->moved));
    if (s->found || s->too_big || s->failed || c->once)
        log_info("imap poll done", LOG_UINT("found", s->found), LOG_UINT("stored", s->stored),
                 LOG_UINT("duplicates", s->duplicates), LOG_UINT("moved", s->moved),
                 LOG_UINT("failed", s->failed), LOG_UINT("too_big", s->too_big),
                 LOG_UINT("queued", s->queued), LOG_UINT("not_queued", s->not_queued),
                 LOG_UINT("bytes", s->bytes), LOG_DOUBLE("seconds", secs),
                 LOG_DOUBLE("per_second", rate));
    if (c->once)
        printf("imap: %" PRIu64 " found, %" PRIu64 " stored, %" PRIu64 " duplicates, %" PRIu64
               " moved, %" PRIu64 " failed, %" PRIu64 " too big, %" PRIu64 " queued "
               "(%.2f s, %.0f messages/s)\n",
               s->found, s->stored, s->duplicates, s->moved, s->failed, s->too_big, s->queued,
               secs, rate);
}

/* The exit status of a --once pass. */
static int once_status(enum dmarcd_err rc, const struct imap_stats *s)
{
    switch (rc) {
    case DMARCD_OK:
        return s->failed || s->too_big ? EXIT_PARTIAL : EXIT_OK;
    case DMARCD_E_DB_UNAVAILABLE:
    case DMARCD_E_TEMPORARY:
    case DMARCD_E_TIMEOUT:
        return EXIT_UNAVAILABLE;
    case DMARCD_E_CONFIG:
        return EXIT_USAGE;
    default:
        return EXIT_PARTIAL;
    }
}

/* One pass; returns its error (DMARCD_E_DB_UNAVAILABLE when the database is away). */
static enum dmarcd_err one_pass(struct imap_cmd *c, struct imap_stats *stats, int *status)
{
    struct strbuf why;
    struct timespec t0;
    enum dmarcd_err rc;
    memset(stats, 0, sizeof(*stats));
    if (!have_store(c)) {
        *status = EXIT_UNAVAILABLE;
        return DMARCD_E_DB_UNAVAILABLE;
    }
    want_queue(c);
    if (!imap_poller_connected(c->poller))
        refresh_secret(c);
    strbuf_init(&why, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = imap_poll(c->poller, c->st, c->q, &stop_requested, stats, &why);
    report(c, rc, stats, seconds_since(&t0), &why);
    if (c->once && rc)
        fprintf(stderr, WHO ": %s\n", why.len ? why.buf : dmarcd_strerror(rc));
    if (rc == DMARCD_E_DB_UNAVAILABLE) {
        store_close(c->st);
        c->st = NULL;
    }
    *status = once_status(rc, stats);
    strbuf_release(&why);
    return rc;
}

/* Seconds to wait after a pass that ended with rc, the k-th failure in a row. */
static unsigned next_wait(const struct imap_cmd *c, enum dmarcd_err rc, unsigned failures)
{
    if (!rc)
        return c->poll_seconds;
    unsigned cap = c->poll_seconds;
    if (rc == DMARCD_E_CONFIG)      /* login refused, mailbox gone: a person must act */
        return cap > LOGIN_BACKOFF_MIN_S ? cap : LOGIN_BACKOFF_MIN_S;
    unsigned wait = failures > 20 ? cap : 1u << (failures - 1);
    return wait < cap ? wait : cap;
}

static int run(struct imap_cmd *c)
{
    struct imap_stats stats;
    unsigned failures = 0;
    int status = EXIT_OK;
    if (c->tenant && c->tenant[0]) {
        /* the tenant is looked up once; the service waits for the database to do it */
        for (unsigned tries = 1; !have_store(c); tries++) {
            if (c->once || stop_requested)
                return c->once ? EXIT_UNAVAILABLE : EXIT_OK;
            pause_for(next_wait(c, DMARCD_E_DB_UNAVAILABLE, tries));
        }
        /* imap_tenant naming no active tenant is a configuration error */
        status = cmd_find_tenant(c->st, WHO, c->tenant, &c->opts.tenant_id);
        if (status)
            return status == EXIT_PARTIAL ? EXIT_USAGE : status;
    }
    if (imap_poller_new(&c->opts, &c->poller, NULL))
        return EXIT_USAGE;      /* checked by read_settings() */
    log_info("imap poller starting", LOG_STR("url", c->opts.url),
             LOG_STR("mode", c->opts.mode == IMAP_MODE_MOVE ? "move" : "flag"),
             LOG_UINT("batch", c->opts.batch), LOG_UINT("poll_seconds", c->poll_seconds),
             LOG_UINT("tenant_id", c->opts.tenant_id));
    while (!stop_requested) {
        enum dmarcd_err rc = one_pass(c, &stats, &status);
        if (c->once)
            return status;
        failures = rc ? failures + 1 : 0;
        pause_for(next_wait(c, rc, failures));
    }
    log_info("imap poller stopping", LOG_STR("url", c->opts.url));
    return EXIT_OK;
}

static int usage_error(const char *arg)
{
    if (arg)
        fprintf(stderr, WHO ": unexpected argument %s\n", arg);
    cmd_print_usage(&cmd_imap_def, stderr);
    return EXIT_USAGE;
}

int cmd_imap(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct imap_cmd c;
    memset(&c, 0, sizeof(c));
    c.ctx = ctx;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0)
            c.once = true;
        else
            return usage_error(argv[i]);
    }
    config_init(&c.cfg);
    int status = cmd_load_config(ctx, &c.cfg);
    if (!status) {
        status = read_settings(&c);
        if (status < 0) {
            if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                fprintf(stderr, WHO ": cannot initialise libcurl\n");
                status = EXIT_PARTIAL;
            } else {
                install_signals();
                status = run(&c);
                imap_poller_free(c.poller);     /* logs out while libcurl is still set up */
                c.poller = NULL;
                curl_global_cleanup();
            }
        }
    }
    imap_poller_free(c.poller);
    queue_close(c.q);
    store_close(c.st);
    db_url_release(&c.db);
    redis_url_release(&c.redis);
    config_release(&c.cfg);
    return status;
}

const struct command cmd_imap_def = {
    .name = "imap",
    .summary = "poll a mailbox over IMAP and take its reports in",
    .usage =
        "usage: dmarcd [--config FILE] imap [--once]\n"
        "\n"
        "Takes every message of the mailbox imap_url into the inbox (the database),\n"
        "then moves it to imap_processed_folder (imap_mode = move) or flags it \\Seen\n"
        "and DmarcdStored (imap_mode = flag), and queues it for the workers. A message\n"
        "is moved or flagged only once its bytes are committed; one that cannot be\n"
        "stored stays where it is and is tried again at the next pass. Runs a pass\n"
        "every imap_poll_seconds until SIGTERM, which ends it after the batch in hand.\n"
        "\n"
        "  --once   one pass over the mailbox, then exit (tests, cron)\n"
        "\n"
        "Settings (see `dmarcd config sample`): imap_url, imap_username,\n"
        "imap_password or imap_oauth2_token (or their _file forms, read again before\n"
        "each login), imap_processed_folder, imap_mode, imap_batch, imap_poll_seconds,\n"
        "imap_timeout, imap_tenant, imap_ca_file, imap_starttls; database_url;\n"
        "redis_url and queue_prefix (without Redis, stored messages wait for the\n"
        "workers' reconciler).\n"
        "\n"
        "With --once, a summary line on standard output:\n"
        "  imap: F found, S stored, D duplicates, M moved, X failed, B too big, Q queued\n"
        "exit status: 0 every message taken, 1 some could not be stored (left in the\n"
        "mailbox), 2 usage or configuration (also: login refused, certificate not\n"
        "trusted, mailbox missing), 3 the database or the IMAP server unreachable.\n",
    .run = cmd_imap,
};
