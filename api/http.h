/*
 * http.h - the request and response of dmarcd's REST API as plain structs,
 * independent of libmicrohttpd, and the call context handlers work in.
 *
 * server.c turns each MHD request into a struct api_request (borrowed
 * strings, valid for the call), runs api_dispatch() (router.c), and turns
 * the struct api_response into an MHD response. Tests build requests by
 * hand and dispatch them without a socket.
 *
 *   struct api_response resp; api_response_init(&resp);
 *   api_dispatch(env, &req, &resp, &route_index);
 *   ... resp.status, resp.body / resp.blob / resp.fd, resp.headers ...
 *   api_response_release(&resp);
 *
 * A handler receives a struct api_call with the caller already
 * authenticated and authorised for its route (the route table says what a
 * route needs), a database connection when the route uses one, and writes
 * its answer with the api_reply_* helpers of json.h.
 */
#ifndef DMARCD_API_HTTP_H
#define DMARCD_API_HTTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/strbuf.h"
#include "storage/keys.h"
#include "storage/sessions.h"
#include "storage/store.h"
#include "storage/users.h"

/* ---- limits of the HTTP layer ---- */

#define API_JSON_BODY_MAX (64 * 1024)   /* request bodies other than uploads */
#define API_MAX_QUERY_PARAMS 32
#define API_MAX_HEADERS 100
#define API_MAX_RESPONSE_HEADERS 12
#define API_PARAM_MAX 1024              /* one query value, bytes */
#define API_PATH_MAX 2048
#define API_CSV_MAX_ROWS 100000         /* rows of one CSV export; past it: X-Next-Cursor */
#define API_SESSION_COOKIE "__Host-dmarcd_session"
#define API_CACHE_BYTES (64 * 1024 * 1024) /* memory for cached answers */

enum api_method { API_GET, API_HEAD, API_POST, API_PUT, API_DELETE, API_PATCH, API_OPTIONS,
                  API_OTHER_METHOD };

enum api_method api_method_parse(const char *text);
const char *api_method_name(enum api_method m);

/* A name and a value, borrowed. */
struct api_pair {
    const char *name;
    const char *value;
    size_t value_len;                   /* a value with an embedded NUL is refused */
};

struct api_request {
    enum api_method method;
    const char *path;                   /* percent-decoded, without the query */
    const struct api_pair *query;
    size_t nquery;
    const struct api_pair *headers;     /* names compared ignoring case */
    size_t nheaders;
    const uint8_t *body;
    size_t body_len;
    const char *client_addr;            /* the client (after trusted proxies), numeric */
    bool tls;                           /* served over HTTPS */
};

/* The first header called name (ignoring case), or NULL. */
const char *api_request_header(const struct api_request *req, const char *name);

struct api_response {
    unsigned status;
    char content_type[80];
    struct strbuf body;
    uint8_t *blob;                      /* heap, owned: sent instead of body when set */
    size_t blob_len;
    int fd;                             /* an open file sent instead (static files); -1 */
    uint64_t fd_len;
    struct { char *name; char *value; } headers[API_MAX_RESPONSE_HEADERS];
    size_t nheaders;
};

void api_response_init(struct api_response *resp);
void api_response_release(struct api_response *resp);
/* Adds a header (copied); past API_MAX_RESPONSE_HEADERS it is dropped. */
void api_response_header(struct api_response *resp, const char *name, const char *value);

/* ---- the server-wide context handlers share ---- */

struct api_cache;
struct api_pool;
struct api_slot;
struct api_metrics;
struct api_route;

struct api_env {
    struct api_pool *pool;              /* database and Redis connections */
    struct api_metrics *metrics;
    struct api_cache *cache;            /* answers of API_CACHED routes; may be NULL */
    const char *web_root;               /* static files; NULL: none */
    const struct keyring *keys;         /* reads failure-report samples; NULL: cannot */
    const char *openapi;                /* the OpenAPI document (api/openapi.yaml) */
    size_t openapi_len;
    bool tls;                           /* HTTPS: HSTS header */
    size_t upload_max;                  /* bytes of one POST /api/v1/uploads */
    unsigned session_ttl_s;             /* absolute session lifetime */
    unsigned session_idle_s;            /* idle limit */
    struct login_limits login;
    atomic_bool draining;               /* SIGTERM received: /readyz says 503 */
    /* Argon2id is 64 MiB and tens of ms per hash: at most this many at once. */
    pthread_mutex_t hash_lock;
    pthread_cond_t hash_cond;
    unsigned hash_running;
    unsigned hash_max;
    char dummy_hash[USER_HASH_MAX];     /* verified for unknown accounts (same timing) */
};

enum api_auth_kind { API_AUTH_NONE, API_AUTH_SESSION, API_AUTH_TOKEN };

/* One request in flight, as a handler sees it. */
struct api_call {
    struct api_env *env;
    const struct api_request *req;
    struct api_response *resp;
    const struct api_route *route;
    const char *path_arg;               /* the {id} or {domain} segment, or NULL */
    struct api_slot *slot;              /* the pool slot st belongs to */
    struct store *st;                   /* NULL for routes without the database */
    enum dmarcd_err store_rc;           /* the last storage error, for the pool */
    enum api_auth_kind auth;
    struct auth_who who;                /* the authenticated user */
    const char *session_id;             /* the cookie value (sessions) */
    uint32_t tenant_id;                 /* the tenant selected, 0 for NO_TENANT routes */
    char tenant[64];
    enum user_role role;
    char actor[USER_EMAIL_MAX + 40];    /* "alice@example.com" or "... (token 12)" */
};

#endif
