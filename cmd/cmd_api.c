/*
 * cmd_api.c - `dmarcd api`: reads the configuration, checks what the API
 * needs (database_url, a TLS pair or a reason to serve plain HTTP) and
 * runs the server of api/api.h until SIGTERM.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "cmd.h"
#include "lib/url.h"
#include "lib/banned.h"

static const char WHO[] = "dmarcd api";

static int api_usage(void)
{
    cmd_print_usage(&cmd_api_def, stderr);
    return EXIT_USAGE;
}

static void options_from(const struct config *cfg, struct api_options *o)
{
    memset(o, 0, sizeof(*o));
    o->listen = config_get_str(cfg, CONFIG_API_LISTEN);
    o->tls_cert = config_get_str(cfg, CONFIG_API_TLS_CERT);
    o->tls_key = config_get_str(cfg, CONFIG_API_TLS_KEY);
    o->allow_plain_http = strcmp(config_get_str(cfg, CONFIG_API_ALLOW_PLAIN_HTTP), "true") == 0;
    o->threads = (unsigned)config_get_int(cfg, CONFIG_API_THREADS);
    o->upload_max = (size_t)config_get_int(cfg, CONFIG_API_MAX_UPLOAD_BYTES);
    o->connection_timeout_s = (unsigned)config_get_int(cfg, CONFIG_API_TIMEOUT);
    o->shutdown_timeout_s = (unsigned)config_get_int(cfg, CONFIG_API_SHUTDOWN_TIMEOUT);
    o->trusted_proxies = (unsigned)config_get_int(cfg, CONFIG_API_TRUSTED_PROXIES);
    o->session_hours = (unsigned)config_get_int(cfg, CONFIG_API_SESSION_HOURS);
    o->session_idle_minutes = (unsigned)config_get_int(cfg, CONFIG_API_SESSION_IDLE_MINUTES);
    o->web_root = config_get_str(cfg, CONFIG_API_WEB_ROOT);
    o->cache_seconds = (unsigned)config_get_int(cfg, CONFIG_API_CACHE_SECONDS);
}

int cmd_api(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct config cfg;
    struct config_problems probs;
    struct db_url db = { 0 };
    struct redis_url redis = { 0 };
    struct api_options o;
    struct keyring *keys = NULL;
    struct strbuf why;
    bool have_db = false, have_redis = false;
    (void)argv;
    if (argc != 1)
        return api_usage();
    config_init(&cfg);
    config_problems_init(&probs);
    strbuf_init(&why, 0);
    int status = cmd_load_config(ctx, &cfg);
    if (!status && config_require(&cfg, CONFIG_DATABASE_URL, WHO, &probs)) {
        config_problems_print(&probs, stderr);
        status = EXIT_USAGE;
    }
    if (status)
        goto out;
    have_db = !db_url_parse(config_get_str(&cfg, CONFIG_DATABASE_URL), &db, &why);
    have_redis = have_db && !redis_url_parse(config_get_str(&cfg, CONFIG_REDIS_URL), &redis, &why);
    if (!have_redis) {
        fprintf(stderr, "%s: %s\n", WHO, why.buf);
        status = EXIT_USAGE;
        goto out;
    }
    status = cmd_load_keys(ctx, WHO, false, &keys, NULL);
    if (status)
        goto out;
    options_from(&cfg, &o);
    o.db = &db;
    o.redis = &redis;
    o.keys = keys;
    enum dmarcd_err rc = api_run(&o, &why);
    if (rc) {
        fprintf(stderr, "%s: %s\n", WHO, why.len ? why.buf : dmarcd_strerror(rc));
        status = rc == DMARCD_E_CONFIG ? EXIT_USAGE : EXIT_UNAVAILABLE;
    }
out:
    keyring_free(keys);
    if (have_db)
        db_url_release(&db);
    if (have_redis)
        redis_url_release(&redis);
    strbuf_release(&why);
    config_problems_release(&probs);
    config_release(&cfg);
    return status;
}

const struct command cmd_api_def = {
    .name = "api",
    .summary = "run the REST API and serve the web dashboard",
    .usage = "usage: dmarcd [--config FILE] api\n"
             "\n"
             "Serves the REST API under /api/v1/ (described at /api/v1/openapi.yaml),\n"
             "the dashboard's files from api_web_root, /healthz, /readyz and /metrics\n"
             "on api_listen, until SIGTERM or SIGINT (requests in flight then get\n"
             "api_shutdown_timeout seconds to finish).\n"
             "\n"
             "HTTPS with api_tls_cert and api_tls_key; without them plain HTTP is\n"
             "served only on a loopback address, or with api_allow_plain_http=true\n"
             "behind a proxy that terminates TLS. Needs database_url and redis_url,\n"
             "and master_key_file to show failure-report samples to analysts;\n"
             "`dmarcd user add` and `dmarcd token create` make the first accounts.\n"
             "\n"
             "exit status: 0 after a clean shutdown, 2 usage or configuration (plain\n"
             "HTTP refused, half a TLS pair), 3 cannot listen.\n",
    .run = cmd_api,
};
