/*
 * server.c - libmicrohttpd glue for `dmarcd api` (see api.h for the
 * threading, transport and shutdown design).
 *
 * One access-handler call sequence per request: the first call sets up a
 * small state (the body buffer, capped by the route's limit, and refuses a
 * declared Content-Length over it at once, before any body is read), the
 * middle calls add body bytes (an overflow answers 413 and discards the
 * rest), the last call turns the request into a struct api_request and
 * dispatches it. Percent-decoding is ours (unescape()) so an encoded NUL
 * stays visible instead of cutting a path short.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "api/api.h"
#include "api/cache.h"
#include "api/http.h"
#include "api/json.h"
#include "api/metrics.h"
#include "api/openapi.h"
#include "api/pool.h"
#include "api/router.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

#define TLS_FILE_MAX (1024 * 1024)
#define CONNECTION_LIMIT 1000
#define CONNECTION_MEMORY (64 * 1024)   /* MHD's per-connection buffer: bounds headers */
#define HASHES_AT_ONCE 2
#define DISCARD_MAX (8 * 1024 * 1024)   /* body bytes dropped before closing instead */

static char TLS_PRIORITIES[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE";

static const char CSP[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
                          "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
                          "form-action 'self'";

struct server {
    struct api_env env;
    unsigned trusted_proxies;
    atomic_uint active;                 /* requests between first call and completion */
};

struct req_state {
    uint64_t start_us;
    struct strbuf body;
    size_t limit;
    bool responded;
    bool counted;
    bool too_big;                       /* the body passed limit: the rest is dropped */
    size_t discarded;
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- percent-decoding ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes %XX in place; %00 and malformed escapes are kept as they are. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    char *w = s;
    for (const char *r = s; *r;) {
        int hi, lo;
        if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 &&
            (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* ---- collecting the request ---- */

struct pairs {
    struct api_pair items[API_MAX_HEADERS];
    size_t count;
    bool overflow;
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    (void)key_size;
    struct pairs *p = cls;
    if (p->count == API_MAX_HEADERS) {
        p->overflow = true;
        return MHD_NO;
    }
    p->items[p->count].name = key;
    p->items[p->count].value = value ? value : "";
    p->items[p->count].value_len = value ? value_size : 0;
    p->count++;
    return MHD_YES;
}

/* The client's numeric address, honouring trusted_proxies X-Forwarded-For hops. */
static void client_address(struct server *srv, struct MHD_Connection *conn, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, cap, "unknown");
    if (ci && ci->client_addr) {
        socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                               : sizeof(struct sockaddr_in);
        if (getnameinfo(ci->client_addr, len, out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST))
            snprintf(out, cap, "unknown");
    }
    const char *xff = srv->trusted_proxies
                          ? MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For")
                          : NULL;
    if (!xff)
        return;
    /* The hop-th entry from the right was appended by the outermost trusted proxy. */
    const char *end = xff + strlen(xff);
    for (unsigned hop = 1; hop <= srv->trusted_proxies; hop++) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        if (hop == srv->trusted_proxies || start == xff) {
            while (start < end && *start == ' ')
                start++;
            size_t n = (size_t)(end - start);
            if (n && n < cap && n < 64) {
                memcpy(out, start, n);
                out[n] = '\0';
            }
            return;
        }
        end = start - 1;
    }
}

/* ---- answering ---- */

static void security_headers(struct server *srv, struct MHD_Response *r, bool has_cache_control)
{
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
    if (srv->env.tls)
        MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
    if (!has_cache_control)
        MHD_add_response_header(r, "Cache-Control", "no-store");
}

static struct MHD_Response *build_response(struct server *srv, struct api_response *resp)
{
    struct MHD_Response *r;
    if (resp->fd >= 0) {
        r = MHD_create_response_from_fd64(resp->fd_len, resp->fd);
        if (r)
            resp->fd = -1;     /* MHD closes it */
    } else if (resp->blob) {
        r = MHD_create_response_from_buffer_with_free_callback(resp->blob_len, resp->blob, free);
        if (r)
            resp->blob = NULL;
    } else {
        size_t len = 0;
        char *text = strbuf_detach(&resp->body, &len);
        r = MHD_create_response_from_buffer_with_free_callback(len, text, free);
        if (!r)
            free(text);
    }
    if (!r)
        return NULL;
    bool cache = false;
    if (resp->content_type[0] && resp->status != 204 && resp->status != 304)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    for (size_t i = 0; i < resp->nheaders; i++) {
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
        cache = cache || strcasecmp(resp->headers[i].name, "Cache-Control") == 0;
    }
    security_headers(srv, r, cache);
    return r;
}

static enum MHD_Result send_response(struct server *srv, struct MHD_Connection *conn,
                                     struct req_state *rs, struct api_response *resp,
                                     size_t route, const char *method, const char *path)
{
    uint64_t us = now_us() - rs->start_us;
    api_metrics_observe(srv->env.metrics, route, resp->status, us);
    rs->responded = true;
    bool probe = route < api_route_count && (api_routes[route].flags & API_PUBLIC) &&
                 api_routes[route].method == API_GET;
    if (!probe || resp->status >= 500 || log_enabled(LOG_LEVEL_DEBUG)) {
        enum log_level lvl = resp->status >= 500 ? LOG_LEVEL_WARN
                             : probe             ? LOG_LEVEL_DEBUG
                                                 : LOG_LEVEL_INFO;
        LOG_AT_(lvl, "request", LOG_STR("method", method),
                LOG_STR("route", route < api_route_count ? api_routes[route].pattern : path),
                LOG_UINT("status", resp->status), LOG_DOUBLE("ms", (double)us / 1000.0));
    }
    struct MHD_Response *r = build_response(srv, resp);
    if (!r)
        return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(conn, resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result refuse(struct server *srv, struct MHD_Connection *conn,
                              struct req_state *rs, unsigned status, const char *code,
                              const char *message, const char *method, const char *url)
{
    struct api_response resp;
    api_response_init(&resp);
    api_response_error(&resp, status, code, message);
    enum MHD_Result ret = send_response(srv, conn, rs, &resp, api_route_count, method, url);
    api_response_release(&resp);
    return ret;
}

static enum MHD_Result dispatch(struct server *srv, struct MHD_Connection *conn,
                                struct req_state *rs, const char *url, const char *method)
{
    struct pairs headers = { .count = 0 }, query = { .count = 0 };
    struct api_request req;
    struct api_response resp;
    char addr[INET6_ADDRSTRLEN + 8];
    size_t route = api_route_count;
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, collect, &headers);
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, collect, &query);
    if (headers.overflow || query.overflow || query.count > API_MAX_QUERY_PARAMS)
        return refuse(srv, conn, rs, 400, "invalid_request", "too many headers or parameters",
                      method, url);
    client_address(srv, conn, addr, sizeof(addr));
    memset(&req, 0, sizeof(req));
    req.method = api_method_parse(method);
    req.path = url;
    req.query = query.items;
    req.nquery = query.count;
    req.headers = headers.items;
    req.nheaders = headers.count;
    req.body = (const uint8_t *)rs->body.buf;
    req.body_len = rs->body.len;
    req.client_addr = addr;
    req.tls = srv->env.tls;
    api_response_init(&resp);
    api_dispatch(&srv->env, &req, &resp, &route);
    enum MHD_Result ret = send_response(srv, conn, rs, &resp, route, method, url);
    api_response_release(&resp);
    return ret;
}

static bool is_upload(const char *url, const char *method)
{
    return strcmp(method, "POST") == 0 && strcmp(url, "/api/v1/uploads") == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct server *srv = cls;
    struct req_state *rs = *con_cls;
    if (!rs) {
        rs = xcalloc(1, sizeof(*rs));
        rs->start_us = now_us();
        rs->limit = is_upload(url, method) ? srv->env.upload_max : API_JSON_BODY_MAX;
        strbuf_init(&rs->body, rs->limit);
        *con_cls = rs;
        atomic_fetch_add(&srv->active, 1);
        rs->counted = true;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        int64_t declared = 0;
        if (cl && slice_to_i64(slice_from_cstr(cl), &declared) && declared > (int64_t)rs->limit)
            return refuse(srv, conn, rs, 413, "too_big", "the request body is too large",
                          method, url);
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* MHD cannot answer in the middle of a body: drop the rest (up to a
         * bound, then the connection) and answer 413 at its end */
        if (rs->too_big || strbuf_add(&rs->body, upload_data, *upload_data_size)) {
            rs->too_big = true;
            rs->discarded += *upload_data_size;
        }
        *upload_data_size = 0;
        return rs->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    if (rs->responded)
        return MHD_YES;
    if (rs->too_big)
        return refuse(srv, conn, rs, 413, "too_big", "the request body is too large", method,
                      url);
    return dispatch(srv, conn, rs, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    struct server *srv = cls;
    struct req_state *rs = *con_cls;
    if (!rs)
        return;
    if (rs->counted)
        atomic_fetch_sub(&srv->active, 1);
    strbuf_release(&rs->body);
    free(rs);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char text[512];
    vsnprintf(text, sizeof(text), fmt, ap);
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    log_warn("api: libmicrohttpd", LOG_STR("detail", text));
}

/* ---- setup ---- */

bool api_host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

static void set_why(struct strbuf *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_why(struct strbuf *why, const char *fmt, ...)
{
    va_list ap;
    strbuf_reset(why);
    va_start(ap, fmt);
    (void)strbuf_vaddf(why, fmt, ap);
    va_end(ap);
}

/* Reads a PEM file (at most TLS_FILE_MAX) into out. */
static enum dmarcd_err read_pem(const char *path, struct strbuf *out, struct strbuf *why)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    strbuf_init(out, TLS_FILE_MAX);
    if (!f) {
        set_why(why, "cannot read %s: %s", path, strerror(errno));
        return DMARCD_E_CONFIG;
    }
    size_t n;
    enum dmarcd_err rc = DMARCD_OK;
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (strbuf_add(out, chunk, n)) {
            set_why(why, "%s is larger than 1 MiB: not a PEM file", path);
            rc = DMARCD_E_CONFIG;
        }
    }
    fclose(f);
    sodium_memzero(chunk, sizeof(chunk));
    return rc;
}

struct listen_addr {
    struct sockaddr_storage sa;
    bool v6;
    char host[256];
    unsigned port;
};

static enum dmarcd_err resolve_listen(const char *listen, struct listen_addr *la,
                                      struct strbuf *why)
{
    char *host = NULL, port_text[16];
    struct addrinfo hints, *res = NULL;
    if (hostport_parse(listen, &host, &la->port, why))
        return DMARCD_E_CONFIG;
    snprintf(la->host, sizeof(la->host), "%s", host);
    snprintf(port_text, sizeof(port_text), "%u", la->port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, port_text, &hints, &res);
    free(host);
    if (gai || !res) {
        set_why(why, "api_listen %s: cannot resolve: %s", listen, gai_strerror(gai));
        return DMARCD_E_CONFIG;
    }
    memcpy(&la->sa, res->ai_addr, res->ai_addrlen);
    la->v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return DMARCD_OK;
}

static void env_init(struct server *srv, const struct api_options *o)
{
    struct api_env *env = &srv->env;
    char random_pw[33];
    struct stat sb;
    env->pool = api_pool_new(o->db, o->redis, o->threads);
    env->metrics = api_metrics_new(api_route_count);
    env->cache = o->cache_seconds ? api_cache_new(o->cache_seconds, API_CACHE_BYTES) : NULL;
    env->web_root = o->web_root && stat(o->web_root, &sb) == 0 && S_ISDIR(sb.st_mode)
                        ? o->web_root
                        : NULL;
    env->keys = o->keys;
    if (!env->keys)
        log_warn("api: no master_key_file: failure-report samples cannot be read");
    env->openapi = api_openapi_yaml;
    env->openapi_len = api_openapi_yaml_len;
    env->tls = o->tls_cert != NULL;
    env->upload_max = o->upload_max;
    env->session_ttl_s = o->session_hours * 3600u;
    env->session_idle_s = o->session_idle_minutes * 60u;
    env->login.window_s = 900;
    env->login.account_max = 10;
    env->login.address_max = 100;
    atomic_init(&env->draining, false);
    pthread_mutex_init(&env->hash_lock, NULL);
    pthread_cond_init(&env->hash_cond, NULL);
    env->hash_max = HASHES_AT_ONCE;
    randombytes_buf(random_pw, sizeof(random_pw) - 1);
    for (size_t i = 0; i + 1 < sizeof(random_pw); i++)
        random_pw[i] = (char)('a' + (unsigned char)random_pw[i] % 26);
    random_pw[sizeof(random_pw) - 1] = '\0';
    if (user_password_hash(random_pw, env->dummy_hash))
        dmarcd_die("api: cannot compute the dummy password hash");
    sodium_memzero(random_pw, sizeof(random_pw));
    atomic_init(&srv->active, 0);
    srv->trusted_proxies = o->trusted_proxies;
    if (!env->web_root && o->web_root)
        log_info("api: no web root: static files are not served", LOG_STR("path", o->web_root));
}

static void env_release(struct server *srv)
{
    api_pool_free(srv->env.pool);
    api_metrics_free(srv->env.metrics);
    api_cache_free(srv->env.cache);
    pthread_mutex_destroy(&srv->env.hash_lock);
    pthread_cond_destroy(&srv->env.hash_cond);
}

static struct MHD_Daemon *start(struct server *srv, const struct api_options *o,
                                const struct listen_addr *la, const struct strbuf *cert,
                                const struct strbuf *key)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    if (la->v6)
        flags |= MHD_USE_IPv6;
    if (cert)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_opts[] = {
        { cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert ? cert->buf : NULL },
        { MHD_OPTION_HTTPS_MEM_KEY, 0, key ? key->buf : NULL },
        { MHD_OPTION_HTTPS_PRIORITIES, 0, TLS_PRIORITIES },
        { MHD_OPTION_END, 0, NULL },
    };
    return MHD_start_daemon(
        flags, (uint16_t)la->port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&la->sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)o->connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)CONNECTION_LIMIT, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)1, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
}

/* Waits for SIGTERM or SIGINT (blocked in every thread), then drains. */
static void serve_until_signal(struct server *srv, struct MHD_Daemon *d, const sigset_t *set,
                               unsigned grace_s)
{
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    log_info("api: shutting down", LOG_STR("signal", sig == SIGTERM ? "TERM" : "INT"),
             LOG_UINT("in_flight", atomic_load(&srv->active)));
    atomic_store(&srv->env.draining, true);
    MHD_socket lsock = MHD_quiesce_daemon(d);
    if (lsock != MHD_INVALID_SOCKET)
        close(lsock);
    uint64_t until = now_us() + (uint64_t)grace_s * 1000000u;
    while (atomic_load(&srv->active) > 0 && now_us() < until) {
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    unsigned left = atomic_load(&srv->active);
    MHD_stop_daemon(d);
    log_info("api: stopped", LOG_UINT("cut_short", left));
}

static enum dmarcd_err check_transport(const struct api_options *o, const struct listen_addr *la,
                                       struct strbuf *why)
{
    if (!o->tls_cert != !o->tls_key) {
        set_why(why, "set both api_tls_cert and api_tls_key, or neither");
        return DMARCD_E_CONFIG;
    }
    if (o->tls_cert && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        set_why(why, "this libmicrohttpd was built without TLS support");
        return DMARCD_E_CONFIG;
    }
    if (!o->tls_cert && !o->allow_plain_http && !api_host_is_loopback(la->host)) {
        set_why(why, "refusing plain HTTP on %s: configure api_tls_cert and api_tls_key, or set "
                     "api_allow_plain_http=true when a proxy in front terminates TLS", la->host);
        return DMARCD_E_CONFIG;
    }
    return DMARCD_OK;
}

enum dmarcd_err api_run(const struct api_options *o, struct strbuf *why)
{
    struct listen_addr la;
    struct strbuf cert, key;
    struct server *srv = NULL;
    sigset_t set;
    strbuf_init(&cert, 0);
    strbuf_init(&key, 0);
    memset(&la, 0, sizeof(la));
    enum dmarcd_err rc = resolve_listen(o->listen, &la, why);
    if (!rc)
        rc = check_transport(o, &la, why);
    if (!rc && o->tls_cert)
        rc = read_pem(o->tls_cert, &cert, why);
    if (!rc && o->tls_key)
        rc = read_pem(o->tls_key, &key, why);
    if (rc)
        goto out;
    if (sodium_init() < 0)
        dmarcd_die("sodium_init failed");
    json_object_seed(0);        /* jansson's hash seed, set once before the threads start */
    srv = xcalloc(1, sizeof(*srv));
    env_init(srv, o);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct MHD_Daemon *d = start(srv, o, &la, o->tls_cert ? &cert : NULL,
                                 o->tls_key ? &key : NULL);
    sodium_memzero(key.buf, key.len);
    if (!d) {
        set_why(why, "cannot listen on %s (address in use, or the certificate and key do not "
                     "load)", o->listen);
        rc = DMARCD_E_IO;
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    log_info("api listening", LOG_STR("host", la.host),
             LOG_UINT("port", info ? info->port : la.port),
             LOG_STR("scheme", o->tls_cert ? "https" : "http"), LOG_UINT("threads", o->threads),
             LOG_STR("web_root", srv->env.web_root ? srv->env.web_root : "-"));
    serve_until_signal(srv, d, &set, o->shutdown_timeout_s);
out:
    if (srv) {
        env_release(srv);
        free(srv);
    }
    sodium_memzero(key.buf, key.len);
    strbuf_release(&cert);
    strbuf_release(&key);
    return rc;
}
