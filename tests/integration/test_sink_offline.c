/*
 * test_sink_offline.c - the database sink's pure logic, no database:
 * enumeration mapping, fitting text to a column, JSON text, and summing
 * records into roll-up keys. Label `unit`.
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
#include "storage/fields.h"
#include "storage/rollup.h"
#include "lib/banned.h"

static void test_enum(void **state)
{
    (void)state;
    assert_string_equal(store_enum(STORE_ENUM_DISPOSITION, "quarantine"), "quarantine");
    assert_string_equal(store_enum(STORE_ENUM_DISPOSITION, "pass"), "pass");
    assert_null(store_enum(STORE_ENUM_DISPOSITION, "softfail"));
    assert_null(store_enum(STORE_ENUM_DISPOSITION, NULL));
    assert_null(store_enum(STORE_ENUM_DISPOSITION, ""));
    /* the parser lower-cases; anything else is not ours to guess */
    assert_null(store_enum(STORE_ENUM_VERDICT, "PASS"));
    assert_string_equal(store_enum(STORE_ENUM_VERDICT, "fail"), "fail");
    assert_null(store_enum(STORE_ENUM_VERDICT, "none"));
    assert_string_equal(store_enum(STORE_ENUM_ALIGNMENT, "s"), "s");
    assert_null(store_enum(STORE_ENUM_ALIGNMENT, "strict"));
    assert_null(store_enum(STORE_ENUM_POLICY, "pass"));
    assert_string_equal(store_enum(STORE_ENUM_TESTING, "y"), "y");
    assert_string_equal(store_enum(STORE_ENUM_DISCOVERY, "treewalk"), "treewalk");
    assert_string_equal(store_enum(STORE_ENUM_DELIVERY, "spam"), "spam");
    assert_string_equal(store_enum(STORE_ENUM_TLS_POLICY, "no-policy-found"),
                        "no-policy-found");
    /* a static string: the same pointer every time */
    assert_ptr_equal(store_enum(STORE_ENUM_VERDICT, "pass"),
                     store_enum(STORE_ENUM_VERDICT, "pass"));
}

static void test_fit(void **state)
{
    (void)state;
    struct strbuf sb;
    size_t len;
    unsigned flags = 0;
    strbuf_init(&sb, 0);
    const char *s = "example.com";
    assert_ptr_equal(store_fit(s, 253, &sb, &len, &flags), s); /* no copy */
    assert_int_equal(len, strlen(s));
    assert_int_equal(flags, 0);
    assert_ptr_equal(store_fit(s, 11, &sb, &len, &flags), s); /* exactly full */
    assert_ptr_equal(store_fit(s, 0, &sb, &len, &flags), s);  /* no limit */
    assert_null(store_fit(NULL, 10, &sb, &len, &flags));
    assert_int_equal(len, 0);

    /* cut by characters, never inside one */
    const char *e = "\xC3\xA9\xC3\xA9\xC3\xA9"; /* ééé */
    const char *got = store_fit(e, 2, &sb, &len, &flags);
    assert_int_equal(len, 4);
    assert_memory_equal(got, "\xC3\xA9\xC3\xA9", 4);
    assert_int_equal(flags, STORE_FIT_CUT);
    flags = 0;
    got = store_fit("ab\xF0\x9F\x98\x80xy", 3, &sb, &len, &flags); /* ab😀xy */
    assert_int_equal(len, 6);
    assert_memory_equal(got, "ab\xF0\x9F\x98\x80", 6);
    assert_int_equal(flags, STORE_FIT_CUT);

    /* bytes that are not UTF-8 become U+FFFD */
    flags = 0;
    got = store_fit("a\xFF" "b", 10, &sb, &len, &flags);
    assert_int_equal(len, 5);
    assert_memory_equal(got, "a\xEF\xBF\xBD" "b", 5);
    assert_int_equal(flags, STORE_FIT_REPAIRED);
    flags = 0;
    got = store_fit("\xC0\xAF", 10, &sb, &len, &flags); /* overlong '/' */
    assert_int_equal(len, 6);
    flags = 0;
    got = store_fit("\xED\xA0\x80", 10, &sb, &len, &flags); /* a surrogate */
    assert_int_equal(len, 9);
    assert_int_equal(flags, STORE_FIT_REPAIRED);
    flags = 0;
    got = store_fit("x\xE2\x82", 10, &sb, &len, &flags); /* cut short */
    assert_int_equal(len, 7);
    /* a replacement counts as one character toward the limit */
    flags = 0;
    got = store_fit("\xFF\xFF\xFF", 2, &sb, &len, &flags);
    assert_int_equal(len, 6);
    assert_int_equal(flags, STORE_FIT_CUT | STORE_FIT_REPAIRED);
    /* NUL bytes inside a counted value are characters like any other */
    got = store_fit_len("a\0b", 3, 10, &sb, &len, NULL);
    assert_int_equal(len, 3);
    strbuf_release(&sb);
}

static void test_fit_tail(void **state)
{
    (void)state;
    struct strbuf sb;
    size_t len;
    strbuf_init(&sb, 0);
    const char *short_name = "/srv/reports/a.xml";
    assert_ptr_equal(store_fit_tail(short_name, 255, &sb, &len), short_name);
    char long_name[400];
    memset(long_name, 'd', sizeof(long_name));
    memcpy(long_name, "/x/", 3);
    memcpy(long_name + sizeof(long_name) - 10, "/report.gz", 10);
    long_name[sizeof(long_name) - 1] = '\0';
    const char *got = store_fit_tail(long_name, 255, &sb, &len);
    assert_int_equal(len, 255);
    assert_memory_equal(got, "...", 3);
    assert_string_equal(got + len - 9, "/report.g");
    /* never cuts inside a character */
    struct strbuf wide;
    strbuf_init(&wide, 0);
    for (int i = 0; i < 300; i++)
        (void)strbuf_addstr(&wide, "\xC3\xA9");
    got = store_fit_tail(wide.buf, 255, &sb, &len);
    assert_int_equal(len, 3 + 252 * 2);
    assert_memory_equal(got + 3, "\xC3\xA9", 2);
    strbuf_release(&wide);
    strbuf_release(&sb);
}

static void test_lower(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 0);
    assert_string_equal(store_lower("Mail.EXAMPLE.com", &sb), "mail.example.com");
    assert_string_equal(store_lower(NULL, &sb), "");
    strbuf_release(&sb);
}

static void test_json(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 0);
    store_json_str(&sb, "plain");
    assert_string_equal(sb.buf, "\"plain\"");
    strbuf_reset(&sb);
    store_json_str(&sb, "q\"b\\n\nt\tc\x01 \xC3\xA9 \xFF");
    assert_string_equal(sb.buf, "\"q\\\"b\\\\n\\nt\\tc\\u0001 \xC3\xA9 \xEF\xBF\xBD\"");
    strbuf_reset(&sb);
    bool first = true;
    (void)strbuf_addch(&sb, '{');
    store_json_member(&sb, &first, "domain", "example.com");
    store_json_member(&sb, &first, "selector", NULL); /* absent: omitted */
    store_json_member(&sb, &first, "result", "pass");
    (void)strbuf_addch(&sb, '}');
    assert_string_equal(sb.buf, "{\"domain\":\"example.com\",\"result\":\"pass\"}");
    strbuf_reset(&sb);
    const char *items[] = { "a", "b\"" };
    store_json_str_array(&sb, items, 2);
    assert_string_equal(sb.buf, "[\"a\",\"b\\\"\"]");
    strbuf_reset(&sb);
    store_json_str_array(&sb, NULL, 0);
    assert_string_equal(sb.buf, "[]");
    strbuf_release(&sb);
}

static const struct rollup_entry *find(struct rollup_entry *const *e, size_t n, const char *ip,
                                       const char *from)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i]->source_ip, ip) == 0 && strcmp(e[i]->header_from, from) == 0)
            return e[i];
    }
    return NULL;
}

static void test_rollup_sums(void **state)
{
    (void)state;
    struct rollup_map m;
    size_t n;
    rollup_map_init(&m);
    rollup_map_add(&m, "::ffff:192.0.2.1", "example.com", "none", "pass", "pass", 5);
    rollup_map_add(&m, "::ffff:192.0.2.1", "example.com", "none", "pass", "pass", 7);
    rollup_map_add(&m, "::ffff:192.0.2.1", "example.com", "none", "pass", "fail", 1);
    /* absent and unknown verdicts share the 'unknown' key; absent header_from is '' */
    rollup_map_add(&m, "2001:db8::1", NULL, NULL, NULL, NULL, 2);
    rollup_map_add(&m, "2001:db8::1", NULL, "softfail", "neutral", NULL, 3);
    assert_int_equal(rollup_map_count(&m), 3);
    struct rollup_entry *const *e = rollup_map_sorted(&m, &n);
    assert_int_equal(n, 3);
    /* IPv4-mapped (::ffff:...) sorts before 2001:db8::, as in INET6 order */
    assert_string_equal(e[0]->source_ip, "::ffff:192.0.2.1");
    assert_string_equal(e[2]->source_ip, "2001:db8::1");
    assert_string_equal(e[0]->spf, "fail"); /* "fail" < "pass" */
    assert_int_equal(e[0]->messages, 1);
    assert_int_equal(e[1]->messages, 12);
    assert_int_equal(e[1]->records, 2);
    assert_string_equal(e[2]->header_from, "");
    assert_string_equal(e[2]->disposition, "unknown");
    assert_string_equal(e[2]->dkim, "unknown");
    assert_string_equal(e[2]->spf, "unknown");
    assert_int_equal(e[2]->messages, 5);
    assert_int_equal(e[2]->records, 2);
    /* sums saturate instead of wrapping */
    rollup_map_add(&m, "2001:db8::1", "", NULL, NULL, NULL, UINT64_MAX);
    e = rollup_map_sorted(&m, &n);
    assert_int_equal(find(e, n, "2001:db8::1", "")->messages, UINT64_MAX);
    rollup_map_clear(&m);
    assert_int_equal(rollup_map_count(&m), 0);
    rollup_map_add(&m, "::ffff:192.0.2.9", "x.example", "reject", "fail", "fail", 1);
    e = rollup_map_sorted(&m, &n);
    assert_int_equal(n, 1);
    assert_int_equal(e[0]->records, 1);
    rollup_map_release(&m);
}

/* Many distinct keys (the table grows) and many repeats: every sum right. */
static void test_rollup_many(void **state)
{
    (void)state;
    struct rollup_map m;
    char ip[64];
    size_t n;
    rollup_map_init(&m);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 20000; i++) {
            snprintf(ip, sizeof(ip), "2001:db8::%x:%x", i / 65536, i % 65536);
            rollup_map_add(&m, ip, i % 2 ? "a.example" : "b.example", "none",
                           i % 3 ? "pass" : "fail", "pass", (uint64_t)i);
        }
    }
    assert_int_equal(rollup_map_count(&m), 20000);
    struct rollup_entry *const *e = rollup_map_sorted(&m, &n);
    uint64_t records = 0, messages = 0;
    for (size_t i = 0; i < n; i++) {
        records += e[i]->records;
        messages += e[i]->messages;
        assert_int_equal(e[i]->records, 3);
        if (i)
            assert_true(memcmp(e[i - 1]->addr, e[i]->addr, 16) < 0);
    }
    assert_int_equal(records, 60000);
    assert_int_equal(messages, 3ULL * (19999ULL * 20000ULL / 2));
    rollup_map_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enum),        cmocka_unit_test(test_fit),
        cmocka_unit_test(test_fit_tail),    cmocka_unit_test(test_lower),
        cmocka_unit_test(test_json),        cmocka_unit_test(test_rollup_sums),
        cmocka_unit_test(test_rollup_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
