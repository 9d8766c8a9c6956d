/*
 * router.h - the route table of the REST API and the dispatcher that
 * enforces what each route needs before its handler runs.
 *
 * Every route is one line of the table in router.c: method, path pattern
 * (literal segments and one {name} segment at most), handler, the least
 * tenant role allowed, flags, and the query parameters it accepts. The
 * dispatcher, in this order:
 *   1. matches the path (404) and the method (405 with Allow);
 *   2. authenticates (Bearer token, else the session cookie; 401);
 *   3. for state-changing methods: a session needs X-CSRF-Token (403 csrf),
 *      a token needs the write scope (403 insufficient_scope);
 *   4. selects the tenant (token: its own; session: X-Tenant header or
 *      ?tenant=, or the only one) and checks the role (403); a tenant the
 *      caller does not belong to is 404;
 *   5. checks the query: known names only, each once, UTF-8 (400);
 *   6. runs the handler with a database connection from the pool (or, for
 *      API_CACHED routes, answers from the cache when it can).
 * The OpenAPI document lists exactly these routes (tests check both ways).
 */
#ifndef DMARCD_API_ROUTER_H
#define DMARCD_API_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "api/http.h"
#include "storage/users.h"

enum api_route_flags {
    API_PUBLIC = 1 << 0,                /* no authentication */
    API_NO_DB = 1 << 1,                 /* no database connection */
    API_NO_TENANT = 1 << 2,             /* authenticated, but no tenant selected */
    API_SESSION_ONLY = 1 << 3,          /* refused to API tokens */
    API_OPERATOR = 1 << 4,              /* platform operators only */
    API_RAW_BODY = 1 << 5,              /* body is bytes (upload limit), not JSON */
    API_CSV = 1 << 6,                   /* ?format=csv / Accept: text/csv */
    API_CACHED = 1 << 7,                /* answers kept briefly per tenant and query (cache.h) */
};

typedef void (*api_handler)(struct api_call *c);

struct api_route {
    enum api_method method;
    const char *pattern;                /* "/api/v1/reports/{id}" */
    api_handler handler;
    enum user_role min_role;            /* for tenant routes */
    unsigned flags;
    const char *params;                 /* accepted query names, comma-separated */
};

/* The table, and its size. */
extern const struct api_route api_routes[];
extern const size_t api_route_count;

/*
 * Answers one request into resp. *route_index receives the index of the
 * route that matched (api_route_count when none: static files or 404), for
 * metrics.
 */
void api_dispatch(struct api_env *env, const struct api_request *req, struct api_response *resp,
                  size_t *route_index);

/*
 * Matches path against pattern: true when every literal segment is equal
 * and a {name} segment is one non-empty segment, copied to arg (cap bytes).
 */
bool api_route_match(const char *pattern, const char *path, char *arg, size_t cap);

/* True when name is one of the comma-separated names in list. */
bool api_param_listed(const char *list, const char *name);

#endif
