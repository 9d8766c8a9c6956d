/*
 * test_queue_logic.c - the parts of ingest/queue and storage/inbox that
 * need no server: retry backoff, name validation, number and entry-id
 * parsing, the inbox state names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ingest/queue.h"
#include "storage/inbox.h"
#include "lib/banned.h"

static void test_backoff(void **state)
{
    (void)state;
    struct queue_options o;
    queue_options_default(&o);
    o.retry_base_ms = 1000;
    o.retry_max_ms = 60000;
    assert_int_equal(queue_backoff_ms(&o, 0), 1000);
    assert_int_equal(queue_backoff_ms(&o, 1), 1000);
    assert_int_equal(queue_backoff_ms(&o, 2), 2000);
    assert_int_equal(queue_backoff_ms(&o, 3), 4000);
    assert_int_equal(queue_backoff_ms(&o, 6), 32000);
    assert_int_equal(queue_backoff_ms(&o, 7), 60000);       /* capped */
    assert_int_equal(queue_backoff_ms(&o, 4000000000u), 60000);
    o.retry_base_ms = 0;
    assert_int_equal(queue_backoff_ms(&o, 5), 0);
    /* the defaults: first retry after 5 s, never more than 10 min apart */
    queue_options_default(&o);
    assert_int_equal(queue_backoff_ms(&o, 1), 5000);
    assert_int_equal(queue_backoff_ms(&o, o.max_attempts), 600000);
}

static void test_names(void **state)
{
    (void)state;
    char long_name[66];
    assert_true(queue_name_valid("dmarcd:"));
    assert_true(queue_name_valid("{dmarcd}:"));
    assert_true(queue_name_valid("host-1/1234/3"));
    assert_false(queue_name_valid(NULL));
    assert_false(queue_name_valid(""));
    assert_false(queue_name_valid("has space"));
    assert_false(queue_name_valid("tab\there"));
    assert_false(queue_name_valid("caf\xc3\xa9"));
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_false(queue_name_valid(long_name));
    long_name[64] = '\0';
    assert_true(queue_name_valid(long_name));
}

static void test_numbers(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_true(queue_parse_u64("0", 1, &v));
    assert_int_equal(v, 0);
    assert_true(queue_parse_u64("18446744073709551615", 20, &v));
    assert_true(v == UINT64_MAX);
    assert_false(queue_parse_u64("18446744073709551616", 20, &v));
    assert_false(queue_parse_u64("", 0, &v));
    assert_false(queue_parse_u64(NULL, 3, &v));
    assert_false(queue_parse_u64("-1", 2, &v));
    assert_false(queue_parse_u64("12x", 3, &v));
    assert_true(queue_parse_u64("12x", 2, &v));           /* only len bytes are read */
    assert_int_equal(v, 12);
    assert_true(queue_entry_ms("1700000000123-4", &v));
    assert_true(v == 1700000000123ull);
    assert_false(queue_entry_ms("1700000000123", &v));
    assert_false(queue_entry_ms("-4", &v));
    assert_false(queue_entry_ms(NULL, &v));
}

static void test_inbox_names(void **state)
{
    (void)state;
    enum inbox_state s = INBOX_DONE;
    assert_string_equal(inbox_state_name(INBOX_PENDING), "pending");
    assert_string_equal(inbox_state_name(INBOX_QUARANTINED), "quarantined");
    assert_string_equal(inbox_state_name(INBOX_STATE_COUNT), "?");
    assert_string_equal(inbox_source_name(INBOX_SOURCE_UPLOAD), "upload");
    assert_true(inbox_state_parse("processing", &s));
    assert_int_equal(s, INBOX_PROCESSING);
    assert_false(inbox_state_parse("Processing", &s));
    assert_false(inbox_state_parse(NULL, &s));
    struct inbox_cursor cur;
    inbox_cursor_init(&cur);
    assert_false(inbox_cursor_done(&cur));
    assert_int_equal(cur.state, INBOX_PENDING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_inbox_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
