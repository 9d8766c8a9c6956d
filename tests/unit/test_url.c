/* Unit tests for lib/url: database and Redis URLs, host:port, masking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lib/url.h"
#include "lib/banned.h"

static void test_db_url_full(void **state)
{
    (void)state;
    struct db_url u;
    assert_int_equal(db_url_parse("mariadb://dmarcd:p%40ss%3Aw@127.0.0.1:3406/dmarc", &u, NULL),
                     DMARCD_OK);
    assert_string_equal(u.user, "dmarcd");
    assert_string_equal(u.password, "p@ss:w");
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 3406);
    assert_string_equal(u.database, "dmarc");
    assert_null(u.socket);
    assert_false(u.tls);
    db_url_release(&u);
}

static void test_db_url_socket_tls_defaults(void **state)
{
    (void)state;
    struct db_url u;
    assert_int_equal(db_url_parse("mysql://root@localhost/dmarc_test_1?socket=/run/m.sock", &u, NULL),
                     DMARCD_OK);
    assert_string_equal(u.user, "root");
    assert_string_equal(u.password, "");
    assert_int_equal(u.port, 3306);
    assert_string_equal(u.socket, "/run/m.sock");
    db_url_release(&u);
    assert_int_equal(db_url_parse("mariadb://a:b@[::1]:3307/d?tls=on&tls_ca=/etc/ca.pem", &u, NULL),
                     DMARCD_OK);
    assert_string_equal(u.host, "::1");
    assert_true(u.tls);
    assert_string_equal(u.tls_ca, "/etc/ca.pem");
    db_url_release(&u);
}

static void test_db_url_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "postgres://a:b@h/d", "mariadb://a:b@h:0/d", "mariadb://a:b@h:65536/d",
        "mariadb://a:b@h", "mariadb://a:b@h/", "mariadb://a:b@h/d?sock=/x",
        "mariadb://a:b@h/d?socket=relative", "mariadb://a:b@h/d;drop", "mariadb://a:%zz@h/d",
        "mariadb://a:b@h h/d", "mariadb://a:b@::1/d", "mariadb://a:b@h:33a/d", "",
    };
    struct strbuf why;
    strbuf_init(&why, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct db_url u;
        assert_int_equal(db_url_parse(bad[i], &u, &why), DMARCD_E_INVALID);
        assert_non_null(strstr(why.buf, "mariadb://"));
        assert_null(strstr(why.buf, "%zz")); /* never echoes input */
    }
    strbuf_release(&why);
}

static void test_redis_url(void **state)
{
    (void)state;
    struct redis_url r;
    assert_int_equal(redis_url_parse("redis://127.0.0.1:6479/3", &r, NULL), DMARCD_OK);
    assert_string_equal(r.host, "127.0.0.1");
    assert_int_equal(r.port, 6479);
    assert_int_equal(r.db, 3);
    assert_null(r.password);
    redis_url_release(&r);
    assert_int_equal(redis_url_parse("redis://:sekret@redis", &r, NULL), DMARCD_OK);
    assert_string_equal(r.password, "sekret");
    assert_null(r.user);
    assert_int_equal(r.port, 6379);
    assert_int_equal(r.db, 0);
    redis_url_release(&r);
    assert_int_equal(redis_url_parse("redis://h/256", &r, NULL), DMARCD_E_INVALID);
    assert_int_equal(redis_url_parse("rediss://h", &r, NULL), DMARCD_E_INVALID);
    assert_int_equal(redis_url_parse("redis://h:99999", &r, NULL), DMARCD_E_INVALID);
}

static void test_hostport(void **state)
{
    (void)state;
    char *host;
    unsigned port;
    assert_int_equal(hostport_parse("0.0.0.0:8080", &host, &port, NULL), DMARCD_OK);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 8080);
    free(host);
    assert_int_equal(hostport_parse("[::]:25", &host, &port, NULL), DMARCD_OK);
    assert_string_equal(host, "::");
    free(host);
    assert_int_equal(hostport_parse("localhost", &host, &port, NULL), DMARCD_E_INVALID);
    assert_int_equal(hostport_parse(":80", &host, &port, NULL), DMARCD_E_INVALID);
    assert_int_equal(hostport_parse("::1:80", &host, &port, NULL), DMARCD_E_INVALID);
}

static void test_mask(void **state)
{
    (void)state;
    struct strbuf out;
    strbuf_init(&out, 0);
    url_mask_password("mariadb://dmarcd:topsecret@127.0.0.1:3406/dmarc", &out);
    assert_string_equal(out.buf, "mariadb://dmarcd:***@127.0.0.1:3406/dmarc");
    url_mask_password("redis://:pw@h:1/0", &out);
    assert_string_equal(out.buf, "redis://:***@h:1/0");
    url_mask_password("redis://h:1/0", &out);
    assert_string_equal(out.buf, "redis://h:1/0");
    url_mask_password("mariadb://u:p@ss@h/d", &out);
    assert_string_equal(out.buf, "mariadb://u:***@h/d");
    strbuf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db_url_full),
        cmocka_unit_test(test_db_url_socket_tls_defaults),
        cmocka_unit_test(test_db_url_rejects),
        cmocka_unit_test(test_redis_url),
        cmocka_unit_test(test_hostport),
        cmocka_unit_test(test_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
