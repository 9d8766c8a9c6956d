/*
 * cmd_smtp.c - `dmarcd smtp`: the SMTP/LMTP listener that is the rua=/ruf=
 * target of the report domains. Reads the smtp_* settings, starts the
 * listener of ingest/smtp.h and runs it until SIGTERM or SIGINT, which
 * stop it gracefully (in-flight transactions get smtp_shutdown_timeout).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "ingest/smtp.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/url.h"
#include "lib/banned.h"

#define WHO "dmarcd smtp"

static struct smtp_server *running;

static void on_signal(int sig)
{
    (void)sig;
    if (running)
        smtp_server_stop(running);
}

static void handle_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

/* Fills o from the configuration; url structs are the caller's to release. */
static void options_from(const struct config *cfg, struct smtp_server_options *o)
{
    memset(o, 0, sizeof(*o));
    o->listen = config_get_str(cfg, CONFIG_SMTP_LISTEN);
    o->protocol = strcmp(config_get_str(cfg, CONFIG_SMTP_PROTOCOL), "lmtp") == 0
                      ? SMTP_PROTOCOL_LMTP
                      : SMTP_PROTOCOL_SMTP;
    o->hostname = config_get_str(cfg, CONFIG_SMTP_HOSTNAME);
    o->domains = config_get_str(cfg, CONFIG_SMTP_DOMAINS);
    o->tls_cert = config_get_str(cfg, CONFIG_SMTP_TLS_CERT);
    o->tls_key = config_get_str(cfg, CONFIG_SMTP_TLS_KEY);
    o->max_message_bytes = (size_t)config_get_int(cfg, CONFIG_SMTP_MAX_MESSAGE_BYTES);
    o->max_recipients = (unsigned)config_get_int(cfg, CONFIG_SMTP_MAX_RECIPIENTS);
    o->max_connections = (unsigned)config_get_int(cfg, CONFIG_SMTP_MAX_CONNECTIONS);
    o->timeout_s = (unsigned)config_get_int(cfg, CONFIG_SMTP_TIMEOUT);
    o->memory_limit = (size_t)config_get_int(cfg, CONFIG_SMTP_MEMORY_LIMIT);
    o->db_connections = (unsigned)config_get_int(cfg, CONFIG_SMTP_DB_CONNECTIONS);
    o->shutdown_timeout_s = (unsigned)config_get_int(cfg, CONFIG_SMTP_SHUTDOWN_TIMEOUT);
    o->queue_prefix = config_get_str(cfg, CONFIG_QUEUE_PREFIX);
}

/* Parses the two service URLs; an exit status. */
static int parse_urls(const struct config *cfg, struct db_url *db, struct redis_url *redis)
{
    struct strbuf why, shown;
    int status = EXIT_OK;
    strbuf_init(&why, 0);
    strbuf_init(&shown, 0);
    const char *text = config_get_str(cfg, CONFIG_DATABASE_URL);
    if (!text) {
        fprintf(stderr, WHO ": database_url is not set (DMARCD_DATABASE_URL)\n");
        status = EXIT_USAGE;
        goto out;
    }
    url_mask_password(text, &shown);
    if (db_url_parse(text, db, &why)) {
        fprintf(stderr, WHO ": database_url %s: %s\n", shown.buf, why.buf);
        status = EXIT_USAGE;
        goto out;
    }
    text = config_get_str(cfg, CONFIG_REDIS_URL);
    strbuf_reset(&shown);
    url_mask_password(text, &shown);
    if (redis_url_parse(text, redis, &why)) {
        fprintf(stderr, WHO ": redis_url %s: %s\n", shown.buf, why.buf);
        status = EXIT_USAGE;
    }
out:
    strbuf_release(&shown);
    strbuf_release(&why);
    return status;
}

int cmd_smtp(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct config cfg;
    struct db_url db = { 0 };
    struct redis_url redis = { 0 };
    struct smtp_server_options o;
    struct smtp_server *srv = NULL;
    struct strbuf why;

    if (argc > 1) {
        fprintf(stderr, WHO ": unexpected argument %s\n", argv[1]);
        cmd_print_usage(&cmd_smtp_def, stderr);
        return EXIT_USAGE;
    }
    config_init(&cfg);
    strbuf_init(&why, 0);
    int status = cmd_load_config(ctx, &cfg);
    if (!status)
        status = parse_urls(&cfg, &db, &redis);
    if (status)
        goto out;
    options_from(&cfg, &o);
    o.db = &db;
    o.redis = &redis;
    enum dmarcd_err rc = smtp_server_new(&o, &srv, &why);
    if (rc) {
        fprintf(stderr, WHO ": %s\n", why.len ? why.buf : dmarcd_strerror(rc));
        status = dmarcd_err_exit_status(rc);
        goto out;
    }
    running = srv;
    handle_signals();
    rc = smtp_server_run(srv);
    running = NULL;
    status = rc ? dmarcd_err_exit_status(rc) : EXIT_OK;
out:
    smtp_server_free(srv);
    redis_url_release(&redis);
    db_url_release(&db);
    strbuf_release(&why);
    config_release(&cfg);
    return status;
}

const struct command cmd_smtp_def = {
    .name = "smtp",
    .summary = "run the SMTP/LMTP listener that receives reports by mail",
    .usage =
        "usage: dmarcd [--config FILE] smtp\n"
        "\n"
        "Listens on smtp_listen (DMARCD_SMTP_LISTEN, default 127.0.0.1:2525) and\n"
        "receives DMARC aggregate and failure reports and SMTP TLS reports, speaking\n"
        "SMTP (RFC 5321) or, with smtp_protocol=lmtp, LMTP (RFC 2033) behind a mail\n"
        "server. Extensions: PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES and,\n"
        "with smtp_tls_cert and smtp_tls_key, STARTTLS.\n"
        "\n"
        "Each message is committed to the database inbox, then queued for the\n"
        "workers, and only then answered 250; while the database cannot be\n"
        "reached the answer is 451 4.3.0 and the sender retries. The same message\n"
        "twice is stored once.\n"
        "\n"
        "Addresses and tenants. Only recipients in smtp_domains are accepted;\n"
        "others get 550 5.7.1 (never a relay). The local part picks the tenant:\n"
        "  rua+acme@reports.example   tenant acme (a plus-tag)\n"
        "  acme@reports.example       tenant acme (the whole local part)\n"
        "  rua@reports.example        no tenant: the worker routes the report by\n"
        "                             its policy domain (also for unknown or\n"
        "                             cancelled tenants and for postmaster)\n"
        "A message to recipients of different tenants is stored without one.\n"
        "\n"
        "Limits: smtp_max_message_bytes (552 5.3.4), smtp_max_recipients (452),\n"
        "smtp_max_connections (421 and close), smtp_timeout seconds of silence\n"
        "(421 and close), smtp_memory_limit of message text held at once (452).\n"
        "Database and Redis connections: smtp_db_connections, shared by all clients.\n"
        "\n"
        "SIGTERM or SIGINT: stop accepting, close idle connections, give\n"
        "transactions in progress smtp_shutdown_timeout seconds, exit 0.\n"
        "\n"
        "exit status: 0 stopped by a signal, 1 cannot listen, 2 bad configuration\n"
        "(or an unusable certificate), 3 database unreachable at start.\n",
    .run = cmd_smtp,
};
