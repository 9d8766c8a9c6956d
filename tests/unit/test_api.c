/*
 * test_api.c - the parts of the REST API that need no server or database:
 * the route table against api/openapi.yaml (both ways), path matching,
 * dispatch of the routes without a database (health, OpenAPI, static files
 * with their traversal guards, 404/405), security of CSV cells, UTF-8 and
 * id checks, date arithmetic, and the password and e-mail rules of
 * storage/users.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/http.h"
#include "api/json.h"
#include "api/openapi.h"
#include "api/router.h"
#include "lib/strbuf.h"
#include "storage/users.h"
#include "lib/banned.h"

/* ---- the OpenAPI document and the route table ---- */

struct doc_op {
    char path[256];
    char method[16];
};

/* Reads "  /path:" (2 spaces) and "    get:" (4 spaces) lines under "paths:". */
static size_t doc_ops(struct doc_op *ops, size_t max)
{
    const char *p = api_openapi_yaml;
    size_t n = 0;
    bool in_paths = false;
    char path[256] = "";
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[256];
        if (len >= sizeof(line))
            len = sizeof(line) - 1;
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (eol ? 1 : 0);
        if (strcmp(line, "paths:") == 0) {
            in_paths = true;
            continue;
        }
        if (!in_paths)
            continue;
        if (line[0] != ' ' && line[0] != '\0' && line[0] != '#')
            break;
        if (strncmp(line, "  /", 3) == 0 && line[len - 1] == ':') {
            snprintf(path, sizeof(path), "%.*s", (int)(len - 3), line + 2);
        } else if (strncmp(line, "    ", 4) == 0 && line[4] != ' ' && line[len - 1] == ':') {
            const char *m = line + 4;
            size_t mlen = len - 5;
            static const char *const methods[] = { "get", "post", "put", "delete", "patch" };
            for (size_t k = 0; k < 5; k++) {
                if (strlen(methods[k]) == mlen && strncmp(m, methods[k], mlen) == 0 && n < max) {
                    snprintf(ops[n].path, sizeof(ops[n].path), "%s", path);
                    snprintf(ops[n].method, sizeof(ops[n].method), "%s", methods[k]);
                    n++;
                }
            }
        }
    }
    return n;
}

static void lower(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++)
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a' : in[i]);
    out[i] = '\0';
}

static void test_openapi_matches_routes(void **state)
{
    (void)state;
    struct doc_op ops[128];
    size_t n = doc_ops(ops, 128);
    assert_true(n >= 30);
    for (size_t r = 0; r < api_route_count; r++) {
        char m[16];
        bool found = false;
        lower(api_method_name(api_routes[r].method), m, sizeof(m));
        for (size_t i = 0; i < n && !found; i++)
            found = strcmp(ops[i].path, api_routes[r].pattern) == 0 &&
                    strcmp(ops[i].method, m) == 0;
        if (!found)
            fail_msg("route %s %s is not in api/openapi.yaml", m, api_routes[r].pattern);
    }
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t r = 0; r < api_route_count && !found; r++) {
            char m[16];
            lower(api_method_name(api_routes[r].method), m, sizeof(m));
            found = strcmp(ops[i].path, api_routes[r].pattern) == 0 &&
                    strcmp(ops[i].method, m) == 0;
        }
        if (!found)
            fail_msg("api/openapi.yaml lists %s %s, which no route serves", ops[i].method,
                     ops[i].path);
    }
}

static void test_route_match(void **state)
{
    (void)state;
    char arg[32];
    assert_true(api_route_match("/api/v1/reports/{id}", "/api/v1/reports/42", arg, sizeof(arg)));
    assert_string_equal(arg, "42");
    assert_true(api_route_match("/api/v1/reports/{id}/raw", "/api/v1/reports/7/raw", arg,
                                sizeof(arg)));
    assert_string_equal(arg, "7");
    assert_false(api_route_match("/api/v1/reports/{id}", "/api/v1/reports/", arg, sizeof(arg)));
    assert_false(api_route_match("/api/v1/reports/{id}", "/api/v1/reports/1/x", arg,
                                 sizeof(arg)));
    assert_false(api_route_match("/api/v1/reports", "/api/v1/reports/", arg, sizeof(arg)));
    assert_false(api_route_match("/api/v1/domains/{domain}", "/api/v1/domains/a.b.c.d.e.f.g.h"
                                 ".i.j.k.l.m.n.o", arg, 16));
    assert_true(api_param_listed("domain,from,to", "from"));
    assert_false(api_param_listed("domain,from,to", "fro"));
    assert_false(api_param_listed("", "x"));
}

/* ---- dispatch without a database ---- */

struct rig {
    struct api_env env;
    char root[64];
    struct api_request req;
    struct api_response resp;
    struct api_pair headers[4];
    struct api_pair query[4];
};

static int rig_setup(void **state)
{
    struct rig *r = calloc(1, sizeof(*r));
    snprintf(r->root, sizeof(r->root), "/tmp/dmarcd_test_api_XXXXXX");
    assert_non_null(mkdtemp(r->root));
    char path[128];
    snprintf(path, sizeof(path), "%s/index.html", r->root);
    FILE *f = fopen(path, "w");
    fputs("<!doctype html><title>dmarcd</title>\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/app.js", r->root);
    f = fopen(path, "w");
    fputs("console.log('x');\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/.secret", r->root);
    f = fopen(path, "w");
    fputs("no\n", f);
    fclose(f);
    r->env.web_root = r->root;
    r->env.openapi = api_openapi_yaml;
    r->env.openapi_len = api_openapi_yaml_len;
    *state = r;
    return 0;
}

static int rig_teardown(void **state)
{
    struct rig *r = *state;
    char path[128];
    const char *names[] = { "index.html", "app.js", ".secret" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", r->root, names[i]);
        unlink(path);
    }
    rmdir(r->root);
    free(r);
    return 0;
}

static unsigned get(struct rig *r, enum api_method m, const char *path)
{
    size_t route = 0;
    memset(&r->req, 0, sizeof(r->req));
    r->req.method = m;
    r->req.path = path;
    r->req.headers = r->headers;
    r->req.client_addr = "127.0.0.1";
    api_response_release(&r->resp);
    api_response_init(&r->resp);
    api_dispatch(&r->env, &r->req, &r->resp, &route);
    return r->resp.status;
}

static const char *resp_header(const struct rig *r, const char *name)
{
    for (size_t i = 0; i < r->resp.nheaders; i++) {
        if (strcmp(r->resp.headers[i].name, name) == 0)
            return r->resp.headers[i].value;
    }
    return NULL;
}

static void test_dispatch_system(void **state)
{
    struct rig *r = *state;
    api_response_init(&r->resp);
    assert_int_equal(get(r, API_GET, "/healthz"), 200);
    assert_non_null(strstr(r->resp.body.buf, "\"ok\""));
    assert_int_equal(get(r, API_HEAD, "/healthz"), 200);
    assert_int_equal(get(r, API_GET, "/api/v1/openapi.yaml"), 200);
    assert_string_equal(r->resp.content_type, "application/yaml");
    assert_int_equal(r->resp.body.len, api_openapi_yaml_len);
    assert_int_equal(get(r, API_POST, "/healthz"), 405);
    assert_string_equal(resp_header(r, "Allow"), "GET");
    assert_int_equal(get(r, API_PUT, "/api/v1/session"), 405);
    assert_non_null(strstr(resp_header(r, "Allow"), "POST"));
    assert_int_equal(get(r, API_GET, "/api/v1/nothing"), 404);
    assert_non_null(strstr(r->resp.body.buf, "\"not_found\""));
    assert_int_equal(get(r, API_GET, "relative"), 400);
    api_response_release(&r->resp);
}

static void test_dispatch_static(void **state)
{
    struct rig *r = *state;
    api_response_init(&r->resp);
    assert_int_equal(get(r, API_GET, "/"), 200);
    assert_true(r->resp.fd >= 0);
    assert_string_equal(r->resp.content_type, "text/html; charset=utf-8");
    assert_string_equal(resp_header(r, "Cache-Control"), "no-cache");
    char etag[64];
    snprintf(etag, sizeof(etag), "%s", resp_header(r, "ETag"));
    assert_int_equal(get(r, API_GET, "/app.js"), 200);
    assert_string_equal(r->resp.content_type, "text/javascript; charset=utf-8");
    assert_string_equal(resp_header(r, "Cache-Control"), "public, max-age=3600");
    /* revalidation */
    r->headers[0].name = "If-None-Match";
    r->headers[0].value = etag;
    r->req.nheaders = 1;
    size_t route;
    memset(&r->req, 0, sizeof(r->req));
    r->req.method = API_GET;
    r->req.path = "/";
    r->req.headers = r->headers;
    r->req.nheaders = 1;
    r->req.client_addr = "127.0.0.1";
    api_response_release(&r->resp);
    api_response_init(&r->resp);
    api_dispatch(&r->env, &r->req, &r->resp, &route);
    assert_int_equal(r->resp.status, 304);
    assert_true(r->resp.fd < 0);
    /* what must never be served */
    const char *bad[] = { "/.secret", "/../etc/passwd", "/a/../index.html", "/index.html/",
                          "//etc/passwd", "/missing.html", "/app.js%00.png", "/x y" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned st = get(r, API_GET, bad[i]);
        if (st != 404 && st != 400)
            fail_msg("%s answered %u", bad[i], st);
    }
    r->env.web_root = NULL;
    assert_int_equal(get(r, API_GET, "/"), 404);
    r->env.web_root = r->root;
    api_response_release(&r->resp);
}

static void test_bad_query_names(void **state)
{
    struct rig *r = *state;
    size_t route;
    api_response_init(&r->resp);
    memset(&r->req, 0, sizeof(r->req));
    r->query[0].name = "\xff";
    r->query[0].value = "x";
    r->query[0].value_len = 1;
    r->req.method = API_GET;
    r->req.path = "/healthz";
    r->req.query = r->query;
    r->req.nquery = 1;
    r->req.client_addr = "127.0.0.1";
    api_dispatch(&r->env, &r->req, &r->resp, &route);
    assert_int_equal(r->resp.status, 400);
    api_response_release(&r->resp);
}

/* ---- helpers ---- */

static void test_csv(void **state)
{
    (void)state;
    struct strbuf out;
    strbuf_init(&out, 0);
    api_csv_field(&out, "plain", false);
    api_csv_field(&out, "a,b", false);
    api_csv_field(&out, "say \"hi\"", false);
    api_csv_field(&out, "=HYPERLINK(\"x\")", false);
    api_csv_field(&out, "-1+2", false);
    api_csv_field(&out, "@SUM(A1)", false);
    api_csv_uint(&out, 42, true);
    assert_string_equal(out.buf, "plain,\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\","
                                 "\"'-1+2\",\"'@SUM(A1)\",42\r\n");
    strbuf_release(&out);
}

static void test_utf8_and_ids(void **state)
{
    (void)state;
    assert_true(api_utf8_valid("caf\xc3\xa9", 5));
    assert_true(api_utf8_valid("\xf0\x9f\x98\x80", 4));
    assert_false(api_utf8_valid("\xc3", 1));
    assert_false(api_utf8_valid("\xc0\xaf", 2));            /* overlong '/' */
    assert_false(api_utf8_valid("\xed\xa0\x80", 3));        /* surrogate */
    assert_false(api_utf8_valid("a\x01", 2));
    assert_false(api_utf8_valid("a\0b", 3));
    uint64_t id = 0;
    assert_true(api_parse_id("12345", &id));
    assert_int_equal(id, 12345);
    assert_false(api_parse_id("0", &id));
    assert_false(api_parse_id("012", &id));
    assert_false(api_parse_id("1e3", &id));
    assert_false(api_parse_id("-1", &id));
    assert_false(api_parse_id("99999999999999999999", &id));
    assert_false(api_parse_id("", &id));
}

static void test_days(void **state)
{
    (void)state;
    char out[11];
    api_day_add("2024-03-01", -1, out);
    assert_string_equal(out, "2024-02-29");
    api_day_add("2023-12-31", 1, out);
    assert_string_equal(out, "2024-01-01");
    api_day_add("2026-11-23", -29, out);
    assert_string_equal(out, "2026-10-25");
    api_today(out);
    assert_int_equal(strlen(out), 10);
}

static void test_password_policy(void **state)
{
    (void)state;
    struct strbuf why;
    strbuf_init(&why, 0);
    assert_int_equal(user_password_acceptable("correct horse battery", "a@example.com", &why),
                     DMARCD_OK);
    assert_int_equal(user_password_acceptable("short", "a@example.com", &why), DMARCD_E_INVALID);
    assert_non_null(strstr(why.buf, "too short"));
    assert_int_equal(user_password_acceptable("Password1234", "a@example.com", &why),
                     DMARCD_E_INVALID);
    assert_non_null(strstr(why.buf, "common"));
    assert_int_equal(user_password_acceptable("abcdabcdabcd", "a@example.com", &why),
                     DMARCD_E_INVALID);
    assert_int_equal(user_password_acceptable("xxxxxxxxxxxxxxxx", "a@example.com", &why),
                     DMARCD_E_INVALID);
    assert_int_equal(user_password_acceptable("alice.smith@example.com", "alice.smith@example.com",
                                              &why), DMARCD_E_INVALID);
    assert_int_equal(user_password_acceptable("alice.smith1", "alice.smith@example.com", &why),
                     DMARCD_E_INVALID);
    assert_int_equal(user_password_acceptable("tab\there-is-refused", NULL, &why),
                     DMARCD_E_INVALID);
    assert_int_equal(user_password_acceptable("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                              "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x", NULL,
                                              &why), DMARCD_OK);
    assert_int_equal(user_password_acceptable("bad utf8 \xff\xfe here", NULL, &why),
                     DMARCD_E_INVALID);
    char hash[USER_HASH_MAX];
    assert_int_equal(user_password_hash("correct horse battery", hash), DMARCD_OK);
    assert_true(user_password_verify(hash, "correct horse battery"));
    assert_false(user_password_verify(hash, "correct horse batterY"));
    assert_false(user_password_needs_rehash(hash));
    strbuf_release(&why);
}

static void test_email(void **state)
{
    (void)state;
    struct strbuf out, why;
    strbuf_init(&out, 0);
    strbuf_init(&why, 0);
    assert_int_equal(user_email_normalise("  Alice@Example.COM ", &out, &why), DMARCD_OK);
    assert_string_equal(out.buf, "alice@example.com");
    const char *bad[] = { "", "alice", "@example.com", "alice@", "a@b@c.com", "a b@c.com",
                          "a@localhost", "a\"@b.com", "a\n@b.com", "x' OR 1=1--@b.com" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (user_email_normalise(bad[i], &out, &why) != DMARCD_E_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    enum user_role role;
    assert_true(user_role_parse("analyst", &role));
    assert_int_equal(role, USER_ROLE_ANALYST);
    assert_false(user_role_parse("root", &role));
    assert_true(USER_ROLE_VIEWER < USER_ROLE_ANALYST && USER_ROLE_ADMIN < USER_ROLE_OWNER);
    strbuf_release(&out);
    strbuf_release(&why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi_matches_routes),
        cmocka_unit_test(test_route_match),
        cmocka_unit_test_setup_teardown(test_dispatch_system, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_static, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_bad_query_names, rig_setup, rig_teardown),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_utf8_and_ids),
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_password_policy),
        cmocka_unit_test(test_email),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
