/*
 * api.h - `dmarcd api`: the REST API server (libmicrohttpd) serving the
 * customer portal, scripts and the web dashboard.
 *
 *   struct api_options o = { ... from the configuration ... };
 *   rc = api_run(&o);        serves until SIGTERM or SIGINT, then drains
 *
 * Threads: libmicrohttpd's thread pool, each thread running its own epoll
 * loop over the connections it accepted and calling the handler inline.
 * Handlers mostly wait on MariaDB, and a thread waiting holds one database
 * connection, so threads == database connections == the most queries the
 * process runs at once; a keep-alive connection between requests costs a
 * file descriptor, not a thread. A slow request delays the other requests
 * of its own thread only, and every database call has a read timeout.
 *
 * Transport: HTTPS with the configured certificate and key, or plain HTTP
 * when listening on loopback or when allow_plain_http says a proxy in
 * front terminates TLS. Request bodies are capped (uploads: upload_max,
 * everything else API_JSON_BODY_MAX) before they are read; idle
 * connections are closed after connection_timeout_s.
 *
 * Shutdown: on SIGTERM/SIGINT /readyz turns 503, the listening socket
 * closes, requests in flight get up to shutdown_timeout_s to finish, then
 * the remaining connections are closed.
 */
#ifndef DMARCD_API_API_H
#define DMARCD_API_API_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/url.h"
#include "storage/keys.h"

struct api_options {
    const char *listen;                 /* "host:port" or "[v6]:port" */
    const char *tls_cert;               /* PEM files, both or neither */
    const char *tls_key;
    bool allow_plain_http;              /* plain HTTP on a non-loopback address */
    unsigned threads;
    size_t upload_max;
    unsigned connection_timeout_s;
    unsigned shutdown_timeout_s;
    unsigned trusted_proxies;           /* X-Forwarded-For hops to trust */
    unsigned session_hours;
    unsigned session_idle_minutes;
    unsigned cache_seconds;             /* answer cache of the heavy reads; 0: off */
    const char *web_root;               /* may be NULL or missing: no static files */
    const struct db_url *db;
    const struct redis_url *redis;
    const struct keyring *keys;         /* master keys (storage/keys.h); NULL: samples unreadable */
};

/*
 * Runs the server until a termination signal. DMARCD_E_CONFIG (with why)
 * for a configuration it refuses (plain HTTP on a public address, half a
 * TLS pair, unreadable key), DMARCD_E_IO when it cannot listen.
 */
enum dmarcd_err api_run(const struct api_options *o, struct strbuf *why) DMARCD_MUST_CHECK;

/* True when host (as configured: name or address) is a loopback address. */
bool api_host_is_loopback(const char *host);

#endif
