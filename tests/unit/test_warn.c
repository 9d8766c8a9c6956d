/* Unit tests for parser/warn: folding of repeats, the cap, long texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/limits.h"
#include "parser/warn.h"
#include "lib/banned.h"

static void test_fold_and_order(void **state)
{
    (void)state;
    struct warn_list w;
    warn_list_init(&w);
    struct report_warnings v = warn_list_view(&w);
    assert_int_equal(v.count, 0);
    warn_add(&w, "spf result \"%s\" read as \"%s\"", "hardfail", "fail");
    warn_add(&w, "second");
    warn_add(&w, "spf result \"%s\" read as \"%s\"", "hardfail", "fail");
    warn_add(&w, "spf result \"hardfail\" read as \"fail\"");
    v = warn_list_view(&w);
    assert_int_equal(v.count, 2);
    assert_int_equal(v.dropped, 0);
    assert_string_equal(v.items[0], "spf result \"hardfail\" read as \"fail\" (3 times)");
    assert_string_equal(v.items[1], "second");
    /* a second view is the same, and adds after it still fold */
    v = warn_list_view(&w);
    assert_string_equal(v.items[0], "spf result \"hardfail\" read as \"fail\" (3 times)");
    warn_add(&w, "second");
    v = warn_list_view(&w);
    assert_string_equal(v.items[1], "second (2 times)");
    warn_list_release(&w);
}

static void test_cap(void **state)
{
    (void)state;
    struct warn_list w;
    warn_list_init(&w);
    for (int i = 0; i < DMARCD_MAX_WARNINGS + 6; i++)
        warn_add(&w, "warning %d", i);
    warn_add(&w, "warning %d", 0);              /* kept ones still fold when full */
    warn_add(&w, "warning %d", DMARCD_MAX_WARNINGS + 1);   /* dropped ones are counted */
    struct report_warnings v = warn_list_view(&w);
    assert_int_equal(v.count, DMARCD_MAX_WARNINGS);
    assert_int_equal(v.dropped, 7);
    assert_string_equal(v.items[0], "warning 0 (2 times)");
    assert_string_equal(v.items[DMARCD_MAX_WARNINGS - 1], "warning 63");
    warn_list_reset(&w);
    v = warn_list_view(&w);
    assert_int_equal(v.count, 0);
    assert_int_equal(v.dropped, 0);
    warn_add(&w, "again");
    v = warn_list_view(&w);
    assert_int_equal(v.count, 1);
    assert_string_equal(v.items[0], "again");
    warn_list_release(&w);
}

static void test_long_text_is_cut_not_replaced(void **state)
{
    (void)state;
    struct warn_list w;
    warn_list_init(&w);
    char big[2000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[DMARCD_MAX_LOG_VALUE_BYTES - 11] = '\xc3'; /* a 2-byte character across the cut */
    big[DMARCD_MAX_LOG_VALUE_BYTES - 10] = '\xa9';
    warn_add(&w, "value \"%s\"", big);
    warn_add(&w, "other \"%s\"", big);
    struct report_warnings v = warn_list_view(&w);
    assert_int_equal(v.count, 2);               /* two long warnings stay apart */
    size_t len = strlen(v.items[0]);
    assert_true(len <= DMARCD_MAX_LOG_VALUE_BYTES);
    assert_true(len > DMARCD_MAX_LOG_VALUE_BYTES - 8);
    assert_memory_equal(v.items[0], "value \"aaa", 10);
    assert_string_equal(v.items[0] + len - 3, "...");
    assert_int_equal((unsigned char)v.items[0][len - 4], 'a');  /* not half a character */
    warn_list_release(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_and_order),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_long_text_is_cut_not_replaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
