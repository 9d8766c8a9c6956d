/*
 * router.c - the route table and the dispatcher (see router.h).
 *
 * Authorisation lives here, in one place, driven by the table: a handler
 * never decides who may call it, it only reads what the dispatcher found
 * (user, tenant, role). So a new route cannot forget a check, and the
 * authorisation matrix of the tests follows from this table alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/cache.h"
#include "api/handlers.h"
#include "api/json.h"
#include "api/pool.h"
#include "api/router.h"
#include "lib/log.h"
#include "storage/sessions.h"
#include "storage/users.h"
#include "lib/banned.h"

#define R_ANALYST USER_ROLE_ANALYST
#define R_ADMIN USER_ROLE_ADMIN
#define R_VIEWER USER_ROLE_VIEWER
#define R_NONE USER_ROLE_NONE
#define SYS (API_PUBLIC | API_NO_DB)
#define LIST_PARAMS "limit,cursor,format"

const struct api_route api_routes[] = {
    { API_GET, "/healthz", api_h_healthz, R_NONE, SYS, "" },
    { API_GET, "/readyz", api_h_readyz, R_NONE, API_PUBLIC, "" },
    { API_GET, "/metrics", api_h_metrics, R_NONE, API_PUBLIC, "" },
    { API_GET, "/", api_h_static, R_NONE, SYS, "" },
    { API_GET, "/api/v1/openapi.yaml", api_h_openapi, R_NONE, SYS, "" },
    { API_POST, "/api/v1/session", api_h_login, R_NONE, API_PUBLIC, "" },
    { API_GET, "/api/v1/session", api_h_whoami, R_NONE, API_NO_TENANT, "" },
    { API_DELETE, "/api/v1/session", api_h_logout, R_NONE, API_NO_TENANT | API_SESSION_ONLY, "" },
    { API_GET, "/api/v1/domains", api_h_domains_list, R_VIEWER, 0, "" },
    { API_POST, "/api/v1/domains", api_h_domains_add, R_ADMIN, 0, "" },
    { API_DELETE, "/api/v1/domains/{domain}", api_h_domains_remove, R_ADMIN, 0, "" },
    { API_GET, "/api/v1/overview", api_h_overview, R_VIEWER, API_CACHED, "domain,from,to" },
    { API_GET, "/api/v1/sources", api_h_sources, R_VIEWER, API_CSV | API_CACHED,
      "domain,from,to,sort,ip," LIST_PARAMS },
    { API_GET, "/api/v1/timeseries", api_h_timeseries, R_VIEWER, API_CACHED,
      "domain,from,to,bucket" },
    { API_GET, "/api/v1/reports", api_h_reports, R_VIEWER, API_CSV,
      "domain,from,to,org," LIST_PARAMS },
    { API_GET, "/api/v1/reports/{id}", api_h_report, R_VIEWER, 0, "day,limit,cursor" },
    { API_GET, "/api/v1/reports/{id}/raw", api_h_report_raw, R_ANALYST, 0, "" },
    { API_GET, "/api/v1/failures", api_h_failures, R_ANALYST, 0,
      "domain,from,to,ip,limit,cursor" },
    { API_GET, "/api/v1/failures/{id}", api_h_failure, R_ANALYST, 0, "" },
    { API_GET, "/api/v1/failures/{id}/sample", api_h_failure_sample, R_ANALYST, 0, "" },
    { API_GET, "/api/v1/tls-reports", api_h_tls_reports, R_VIEWER, 0, "from,to,limit,cursor" },
    { API_POST, "/api/v1/uploads", api_h_upload, R_ADMIN, API_RAW_BODY, "" },
    { API_GET, "/api/v1/tokens", api_h_tokens_list, R_VIEWER, 0, "" },
    { API_POST, "/api/v1/tokens", api_h_tokens_create, R_VIEWER, API_SESSION_ONLY, "" },
    { API_DELETE, "/api/v1/tokens/{id}", api_h_tokens_revoke, R_VIEWER, 0, "" },
    { API_GET, "/api/v1/users", api_h_users_list, R_ADMIN, 0, "" },
    { API_POST, "/api/v1/users", api_h_users_add, R_ADMIN, 0, "" },
    { API_PUT, "/api/v1/users/{id}", api_h_users_update, R_ADMIN, 0, "" },
    { API_DELETE, "/api/v1/users/{id}", api_h_users_remove, R_ADMIN, 0, "" },
    { API_GET, "/api/v1/settings", api_h_settings_get, R_VIEWER, 0, "" },
    { API_PUT, "/api/v1/settings", api_h_settings_put, R_ADMIN, 0, "" },
    { API_GET, "/api/v1/audit", api_h_audit, R_ADMIN, 0, "from,to,action,limit,cursor" },
    { API_GET, "/api/v1/operator/tenants", api_h_operator_tenants, R_NONE,
      API_NO_TENANT | API_OPERATOR, "" },
};

const size_t api_route_count = sizeof(api_routes) / sizeof(api_routes[0]);

/* ---- matching ---- */

bool api_route_match(const char *pattern, const char *path, char *arg, size_t cap)
{
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t n = strcspn(s, "/");
            if (!close || n == 0 || n >= cap)
                return false;
            memcpy(arg, s, n);
            arg[n] = '\0';
            p = close + 1;
            s += n;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return *p == '\0' && *s == '\0';
}

bool api_param_listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && strncmp(p, name, n) == 0)
            return true;
        p += k + (p[k] == ',');
    }
    return false;
}

static bool state_changing(enum api_method m)
{
    return m == API_POST || m == API_PUT || m == API_DELETE || m == API_PATCH;
}

/* ---- authentication ---- */

/* The value of cookie `name` in a Cookie header, copied to out; false when absent. */
static bool cookie_value(const char *header, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        size_t len = strcspn(p, ";");
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            size_t v = len - n - 1;
            if (v >= cap)
                return false;
            memcpy(out, p + n + 1, v);
            out[v] = '\0';
            return true;
        }
        p += len;
    }
    return false;
}

static void unauthenticated(struct api_call *c, const char *message, bool bearer)
{
    api_response_header(c->resp, "WWW-Authenticate",
                        bearer ? "Bearer error=\"invalid_token\"" : "Bearer");
    api_reply_error(c, 401, "unauthenticated", message);
}

static bool auth_token(struct api_call *c, const char *authz)
{
    if (strncasecmp(authz, "Bearer ", 7) != 0) {
        unauthenticated(c, "use Authorization: Bearer <token>", false);
        return false;
    }
    const char *tok = authz + 7;
    while (*tok == ' ')
        tok++;
    enum dmarcd_err rc = token_lookup(c->st, tok, &c->who);
    if (rc == DMARCD_E_NOT_FOUND) {
        unauthenticated(c, "the token is not valid (unknown, expired or revoked)", true);
        return false;
    }
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return false;
    }
    c->auth = API_AUTH_TOKEN;
    snprintf(c->actor, sizeof(c->actor), "%s (token %llu)", c->who.email,
             (unsigned long long)c->who.token_id);
    return true;
}

static bool auth_session(struct api_call *c, char *cookie, size_t cap)
{
    const char *header = api_request_header(c->req, "Cookie");
    if (!header || !cookie_value(header, API_SESSION_COOKIE, cookie, cap)) {
        unauthenticated(c, "sign in (POST /api/v1/session) or send a Bearer token", false);
        return false;
    }
    enum dmarcd_err rc = session_lookup(c->st, cookie, c->env->session_idle_s, &c->who);
    if (rc == DMARCD_E_NOT_FOUND) {
        unauthenticated(c, "the session has ended: sign in again", false);
        return false;
    }
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return false;
    }
    c->auth = API_AUTH_SESSION;
    c->session_id = cookie;
    snprintf(c->actor, sizeof(c->actor), "%s", c->who.email);
    return true;
}

/* 401 or 403 replied when false. */
static bool authenticate(struct api_call *c, char *cookie, size_t cap)
{
    const char *authz = api_request_header(c->req, "Authorization");
    if (authz ? !auth_token(c, authz) : !auth_session(c, cookie, cap))
        return false;
    const struct api_route *r = c->route;
    if (state_changing(c->req->method)) {
        if (c->auth == API_AUTH_SESSION &&
            !session_csrf_ok(&c->who, api_request_header(c->req, "X-CSRF-Token"))) {
            api_reply_error(c, 403, "csrf",
                            "send the session's CSRF token in the X-CSRF-Token header");
            return false;
        }
        if (c->auth == API_AUTH_TOKEN && !c->who.write) {
            api_reply_error(c, 403, "insufficient_scope", "this token may only read");
            return false;
        }
    }
    if ((r->flags & API_SESSION_ONLY) && c->auth != API_AUTH_SESSION) {
        api_reply_error(c, 403, "session_required", "only a signed-in session may do this");
        return false;
    }
    if ((r->flags & API_OPERATOR) && !c->who.is_operator) {
        api_reply_error(c, 403, "forbidden", "platform operators only");
        return false;
    }
    return true;
}

/* ---- tenant and role ---- */

static bool pick_membership(struct api_call *c, const char *want)
{
    struct user_memberships list;
    enum dmarcd_err rc = user_memberships(c->st, c->who.user_id, &list);
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return false;
    }
    const struct user_membership *m = NULL;
    for (size_t i = 0; want && i < list.count; i++) {
        if (strcmp(list.items[i].tenant, want) == 0)
            m = &list.items[i];
    }
    if (!want && list.count == 1)
        m = &list.items[0];
    if (!m) {
        if (want)
            api_reply_error(c, 404, "not_found", "no such tenant");
        else if (list.count == 0)
            api_reply_error(c, 403, "forbidden", "you are not a member of any tenant");
        else
            api_reply_error(c, 400, "tenant_required",
                            "you belong to several tenants: name one in X-Tenant or ?tenant=");
    } else {
        c->tenant_id = m->tenant_id;
        c->role = m->role;
        snprintf(c->tenant, sizeof(c->tenant), "%s", m->tenant);
    }
    user_memberships_release(&list);
    return m != NULL;
}

static bool select_tenant(struct api_call *c)
{
    const char *header = api_request_header(c->req, "X-Tenant");
    const char *query = api_query(c, "tenant");
    if (header && !*header)
        header = NULL;
    if (header && query && strcmp(header, query) != 0) {
        api_reply_error(c, 400, "invalid_request", "X-Tenant and ?tenant= name different "
                                                   "tenants");
        return false;
    }
    const char *want = header ? header : query;
    if (c->auth == API_AUTH_TOKEN) {
        if (want && strcmp(want, c->who.tenant) != 0) {
            api_reply_error(c, 404, "not_found", "no such tenant");
            return false;
        }
        c->tenant_id = c->who.tenant_id;
        c->role = c->who.role;
        snprintf(c->tenant, sizeof(c->tenant), "%s", c->who.tenant);
    } else if (!pick_membership(c, want)) {
        return false;
    }
    if (c->role < c->route->min_role) {
        char msg[96];
        snprintf(msg, sizeof(msg), "this needs the %s role or higher",
                 user_role_name(c->route->min_role));
        api_reply_error(c, 403, "forbidden", msg);
        return false;
    }
    return true;
}

/* ---- query ---- */

static bool check_query(struct api_call *c)
{
    const struct api_route *r = c->route;
    char msg[160];
    for (size_t i = 0; i < c->req->nquery; i++) {
        const struct api_pair *q = &c->req->query[i];
        bool tenant_param = strcmp(q->name, "tenant") == 0 && !(r->flags & API_NO_TENANT) &&
                            !(r->flags & API_PUBLIC);
        if (!tenant_param && !api_param_listed(r->params, q->name)) {
            snprintf(msg, sizeof(msg), "unknown query parameter \"%.40s\"", q->name);
            api_reply_error(c, 400, "invalid_request", msg);
            return false;
        }
        if (q->value_len != strlen(q->value) || q->value_len > API_PARAM_MAX ||
            !api_utf8_valid(q->value, q->value_len)) {
            snprintf(msg, sizeof(msg), "query parameter %.40s is not valid text", q->name);
            api_reply_error(c, 400, "invalid_request", msg);
            return false;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->req->query[j].name, q->name) == 0) {
                snprintf(msg, sizeof(msg), "query parameter %.40s given twice", q->name);
                api_reply_error(c, 400, "invalid_request", msg);
                return false;
            }
        }
    }
    return true;
}

/* Query names must be sane before anything compares them. */
static bool names_sane(const struct api_request *req)
{
    if (req->nquery > API_MAX_QUERY_PARAMS)
        return false;
    for (size_t i = 0; i < req->nquery; i++) {
        const char *n = req->query[i].name;
        size_t len = strlen(n);
        if (len == 0 || len > 64 || !api_utf8_valid(n, len))
            return false;
    }
    return true;
}

/* ---- dispatch ---- */

/* ---- cached answers ---- */

static int pair_cmp(const void *a, const void *b)
{
    const struct api_pair *x = a, *y = b;
    int d = strcmp(x->name, y->name);
    return d ? d : strcmp(x->value, y->value);
}

/* tenant, route, today (default ranges), Accept (CSV) and the sorted query. */
static void cache_key(const struct api_call *c, struct strbuf *key)
{
    struct api_pair sorted[API_MAX_QUERY_PARAMS];
    char today[11];
    size_t n = c->req->nquery < API_MAX_QUERY_PARAMS ? c->req->nquery : API_MAX_QUERY_PARAMS;
    const char *accept = api_request_header(c->req, "Accept");
    api_today(today);
    memcpy(sorted, c->req->query, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), pair_cmp);
    (void)strbuf_addf(key, "%u\n%s\n%s\n%s\n", (unsigned)c->tenant_id, c->route->pattern, today,
                      (c->route->flags & API_CSV) && accept ? accept : "");
    for (size_t i = 0; i < n; i++) {
        if (strcmp(sorted[i].name, "tenant") != 0)
            (void)strbuf_addf(key, "%s=%s\n", sorted[i].name, sorted[i].value);
    }
}

/* Runs the handler, or answers from the cache for API_CACHED routes. */
static void run_handler(struct api_call *c)
{
    struct api_cache_hit hit;
    struct strbuf key;
    char age[16];
    if (!(c->route->flags & API_CACHED) || !c->env->cache) {
        c->route->handler(c);
        return;
    }
    strbuf_init(&key, 0);
    cache_key(c, &key);
    switch (api_cache_begin(c->env->cache, key.buf, &hit)) {
    case API_CACHE_HIT:
        c->resp->status = 200;
        snprintf(c->resp->content_type, sizeof(c->resp->content_type), "%s", hit.content_type);
        strbuf_reset(&c->resp->body);
        (void)strbuf_add(&c->resp->body, hit.body, hit.len);
        snprintf(age, sizeof(age), "%u", hit.age_s);
        api_response_header(c->resp, "Age", age);
        api_cache_hit_release(&hit);
        break;
    case API_CACHE_OWNER:
        c->route->handler(c);
        api_cache_end(c->env->cache, key.buf, c->resp);
        break;
    case API_CACHE_BYPASS:
        c->route->handler(c);
        break;
    }
    strbuf_release(&key);
}

static void run_route(struct api_call *c)
{
    const struct api_route *r = c->route;
    char cookie[SESSION_SECRET_TEXT_MAX + 8];
    if (!(r->flags & API_NO_DB)) {
        enum dmarcd_err rc = api_pool_acquire(c->env->pool, &c->slot, &c->st);
        if (rc) {
            api_reply_store_error(c, rc == DMARCD_E_TIMEOUT ? DMARCD_E_TEMPORARY : rc, NULL);
            c->store_rc = DMARCD_OK;
            return;
        }
    }
    if (!(r->flags & API_PUBLIC)) {
        if (!authenticate(c, cookie, sizeof(cookie)))
            goto out;
        if (!(r->flags & API_NO_TENANT) && !select_tenant(c))
            goto out;
    }
    if (check_query(c))
        run_handler(c);
out:
    if (c->slot)
        api_pool_release(c->env->pool, c->slot, c->store_rc);
    c->slot = NULL;
    c->st = NULL;
}

void api_dispatch(struct api_env *env, const struct api_request *req, struct api_response *resp,
                  size_t *route_index)
{
    struct api_call c;
    char arg[256];
    const char *allow[8];
    size_t nallow = 0;
    const struct api_route *found = NULL;
    memset(&c, 0, sizeof(c));
    c.env = env;
    c.req = req;
    c.resp = resp;
    *route_index = api_route_count;
    size_t plen = req->path ? strlen(req->path) : 0;
    if (!plen || req->path[0] != '/' || plen > API_PATH_MAX ||
        !api_utf8_valid(req->path, plen) || !names_sane(req)) {
        api_response_error(resp, 400, "invalid_request", "malformed request target");
        return;
    }
    enum api_method m = req->method == API_HEAD ? API_GET : req->method;
    for (size_t i = 0; i < api_route_count && !found; i++) {
        if (!api_route_match(api_routes[i].pattern, req->path, arg, sizeof(arg)))
            continue;
        if (api_routes[i].method == m) {
            found = &api_routes[i];
            *route_index = i;
        } else if (nallow < sizeof(allow) / sizeof(allow[0])) {
            allow[nallow++] = api_method_name(api_routes[i].method);
        }
    }
    if (!found && nallow) {
        struct strbuf list;
        strbuf_init(&list, 0);
        for (size_t i = 0; i < nallow; i++)
            (void)strbuf_addf(&list, "%s%s", i ? ", " : "", allow[i]);
        api_response_header(resp, "Allow", list.buf);
        strbuf_release(&list);
        api_response_error(resp, 405, "method_not_allowed", "method not allowed here");
        return;
    }
    if (!found && strncmp(req->path, "/api/", 5) != 0 && m == API_GET) {
        api_h_static(&c);
        return;
    }
    if (!found) {
        api_response_error(resp, 404, "not_found", "no such resource");
        return;
    }
    c.route = found;
    c.path_arg = strchr(found->pattern, '{') ? arg : NULL;
    run_route(&c);
}
