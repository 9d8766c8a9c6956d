/*
 * test_storage_offline.c - the parts of storage/ that need no database:
 * the migration statement splitter and the embedded files, tenant name and
 * domain validation, INET6 conversion, report keys and report days.
 * Label `unit`: runs in every plain `ctest`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "storage/inet.h"
#include "storage/migrate.h"
#include "storage/report_key.h"
#include "storage/tenants.h"
#include "lib/banned.h"

static size_t split_all(const char *sql, char out[][128], size_t max)
{
    struct slice rest = slice_from_cstr(sql), stmt;
    size_t n = 0;
    while (n < max && migrate_next_statement(&rest, &stmt)) {
        assert_true(stmt.len < 128);
        memcpy(out[n], stmt.ptr, stmt.len);
        out[n][stmt.len] = '\0';
        n++;
    }
    return n;
}

static void test_split_statements(void **state)
{
    (void)state;
    char got[8][128];
    const char *sql = "-- header; with a semicolon\n"
                      "CREATE TABLE a (x INT); ;\n"
                      "/* block; comment */ INSERT INTO a VALUES ('a;b', \"c;d\", `e;f`);\n"
                      "# hash comment;\n"
                      "SELECT 'it''s; fine', 'back\\'slash;' -- trailing; comment\n"
                      "  ;\n"
                      "-- only a comment at the end;\n";
    size_t n = split_all(sql, got, 8);
    assert_int_equal(n, 3);
    assert_string_equal(got[0], "CREATE TABLE a (x INT)");
    assert_string_equal(got[1],
                        "INSERT INTO a VALUES ('a;b', \"c;d\", `e;f`)");
    assert_string_equal(got[2], "SELECT 'it''s; fine', 'back\\'slash;' -- trailing; comment");
    assert_int_equal(split_all("", got, 8), 0);
    assert_int_equal(split_all("  \n-- x\n/* y */ ;; ", got, 8), 0);
    assert_int_equal(split_all("SELECT 1", got, 8), 1);
    assert_string_equal(got[0], "SELECT 1");
    /* "--x" is not a comment in MariaDB (needs a space): it stays in. */
    assert_int_equal(split_all("SELECT 1--1;", got, 8), 1);
    assert_string_equal(got[0], "SELECT 1--1");
}

static void test_embedded_migrations(void **state)
{
    (void)state;
    assert_true(migrate_files_count >= 1);
    assert_int_equal(migrate_latest(), migrate_files_count);
    for (size_t i = 0; i < migrate_files_count; i++) {
        const struct migration *m = &migrate_files[i];
        assert_int_equal(m->version, i + 1);
        assert_int_equal(strlen(m->sql), m->len);
        char prefix[16];
        snprintf(prefix, sizeof(prefix), "%03u_", m->version);
        assert_memory_equal(m->name, prefix, 4);
        /* statements are written to be repeated (DDL auto-commits) */
        struct slice rest = slice_make(m->sql, m->len), stmt;
        size_t n = 0;
        while (migrate_next_statement(&rest, &stmt)) {
            n++;
            if (slice_starts_with(stmt, "CREATE TABLE "))
                assert_true(slice_starts_with(stmt, "CREATE TABLE IF NOT EXISTS "));
            if (slice_starts_with(stmt, "CREATE INDEX "))
                assert_true(slice_starts_with(stmt, "CREATE INDEX IF NOT EXISTS "));
            if (slice_starts_with(stmt, "DROP TABLE "))
                assert_true(slice_starts_with(stmt, "DROP TABLE IF EXISTS "));
            assert_false(slice_starts_with(stmt, "DELIMITER"));
        }
        assert_true(n > 0);
    }
}

static void test_tenant_names(void **state)
{
    (void)state;
    assert_true(tenant_name_valid("acme"));
    assert_true(tenant_name_valid("a"));
    assert_true(tenant_name_valid("0-corp-9"));
    assert_true(tenant_name_valid("a23456789012345678901234567890123456789012345678901234567890123"));
    assert_false(tenant_name_valid("a234567890123456789012345678901234567890123456789012345678901234"));
    assert_false(tenant_name_valid(""));
    assert_false(tenant_name_valid(NULL));
    assert_false(tenant_name_valid("-acme"));
    assert_false(tenant_name_valid("Acme"));
    assert_false(tenant_name_valid("ac_me"));
    assert_false(tenant_name_valid("ac me"));
    assert_true(tenant_tier_valid("basic-plus"));
    assert_false(tenant_tier_valid("gold"));
    assert_false(tenant_tier_valid(NULL));
}

static void expect_domain(const char *in, const char *want)
{
    struct strbuf out, why;
    strbuf_init(&out, 0);
    strbuf_init(&why, 0);
    enum dmarcd_err rc = tenant_domain_normalise(in, &out, &why);
    if (want) {
        assert_int_equal(rc, DMARCD_OK);
        assert_string_equal(out.buf, want);
    } else {
        assert_int_equal(rc, DMARCD_E_INVALID);
        assert_non_null(strstr(why.buf, "invalid domain"));
    }
    strbuf_release(&out);
    strbuf_release(&why);
}

static void test_domains(void **state)
{
    (void)state;
    expect_domain("Example.COM.", "example.com");
    expect_domain("xn--bcher-kva.example", "xn--bcher-kva.example");
    expect_domain("a-b.c-d.co.uk", "a-b.c-d.co.uk");
    expect_domain("com", NULL);
    expect_domain("", NULL);
    expect_domain(".", NULL);
    expect_domain("a..b", NULL);
    expect_domain("-a.com", NULL);
    expect_domain("a-.com", NULL);
    expect_domain("a_b.com", NULL);
    expect_domain("b\xc3\xbc" "cher.de", NULL);
    expect_domain("192.0.2.1", NULL);
    char label64[80], long_name[300];
    memset(label64, 'a', 64);
    memcpy(label64 + 64, ".com", 5);
    expect_domain(label64, NULL);
    memset(long_name, 0, sizeof(long_name));
    for (size_t i = 0; i < 127; i++)
        memcpy(long_name + 2 * i, "a.", 2);
    memcpy(long_name + 254, "co", 3);   /* 256 characters */
    expect_domain(long_name, NULL);
}

static void test_inet6(void **state)
{
    (void)state;
    char db[STORE_INET6_TEXT_MAX], back[STORE_INET6_TEXT_MAX];
    assert_true(store_inet6_from_ip("192.0.2.1", db));
    assert_string_equal(db, "::ffff:192.0.2.1");
    assert_true(store_inet6_to_ip(db, back));
    assert_string_equal(back, "192.0.2.1");
    assert_true(store_inet6_from_ip("2001:DB8:0:0::1", db));
    assert_string_equal(db, "2001:db8::1");
    assert_true(store_inet6_to_ip("2001:db8::1", back));
    assert_string_equal(back, "2001:db8::1");
    assert_true(store_inet6_from_ip("255.255.255.255", db));
    assert_string_equal(db, "::ffff:255.255.255.255");
    assert_false(store_inet6_from_ip("1.2.3", db));
    assert_string_equal(db, "");
    assert_false(store_inet6_from_ip(NULL, db));
    assert_false(store_inet6_to_ip("nonsense", back));
}

static void test_report_key(void **state)
{
    (void)state;
    uint8_t a[32], b[32], c[32];
    store_report_key("google.com", "123", "Example.com", 1700000000, 1700086399, a);
    store_report_key("google.com", "123", "example.com", 1700000000, 1700086399, b);
    assert_memory_equal(a, b, 32);          /* the domain is compared lower-cased */
    store_report_key("google.com", "123", "example.com", 1700000000, 1700086400, c);
    assert_memory_not_equal(a, c, 32);
    /* fields cannot run into each other */
    store_report_key("ab", "c", "example.com", 1, 2, a);
    store_report_key("a", "bc", "example.com", 1, 2, b);
    assert_memory_not_equal(a, b, 32);
    store_report_key(NULL, NULL, NULL, 0, 0, a);
    store_report_key("", "", "", 0, 0, b);
    assert_memory_equal(a, b, 32);
    struct agg_report r = { 0 };
    r.org_name = "google.com";
    r.report_id = "123";
    r.policy.domain = "example.com";
    r.begin = 1700000000;
    r.end = 1700086400;
    store_agg_report_key(&r, b);
    assert_memory_equal(b, c, 32);
}

static void expect_day(int64_t begin, int64_t end, const char *want)
{
    char day[STORE_DAY_TEXT_MAX];
    bool ok = store_report_day(begin, end, day);
    if (want) {
        assert_true(ok);
        assert_string_equal(day, want);
    } else {
        assert_false(ok);
    }
}

static void test_report_day(void **state)
{
    (void)state;
    expect_day(1700006400, 1700092799, "2023-11-15");   /* 00:00:00 .. 23:59:59 */
    expect_day(1700006400, 1700092800, "2023-11-15");   /* exclusive end */
    expect_day(1699977600, 1700064000, "2023-11-15");   /* 16:00 UTC = midnight UTC+8 */
    expect_day(1700006400, 1700006400, "2023-11-15");   /* zero length */
    expect_day(1700006400, 0, "2023-11-15");            /* end before begin */
    expect_day(0, 0, "1970-01-01");
    expect_day(951782400, 951868799, "2000-02-29");
    expect_day(-86400, -1, "1969-12-31");
    expect_day(1700006400000LL, 1700092799000LL, NULL); /* milliseconds: year 55831 */
    expect_day(INT64_MAX, INT64_MAX, NULL);
    expect_day(INT64_MIN, INT64_MIN, NULL);
    expect_day(253402214400LL, 253402300799LL, "9999-12-31");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_statements), cmocka_unit_test(test_embedded_migrations),
        cmocka_unit_test(test_tenant_names),     cmocka_unit_test(test_domains),
        cmocka_unit_test(test_inet6),            cmocka_unit_test(test_report_key),
        cmocka_unit_test(test_report_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
