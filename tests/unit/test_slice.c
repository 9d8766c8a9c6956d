/* Unit tests for lib/slice: trimming, comparing, splitting, integers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/slice.h"
#include "lib/banned.h"

static void test_trim(void **state)
{
    (void)state;
    assert_true(slice_eq_cstr(slice_trim(slice_from_cstr(" \t reject \r\n")), "reject"));
    assert_int_equal(slice_trim(slice_from_cstr(" \t\n")).len, 0);
    assert_int_equal(slice_trim(slice_from_cstr("")).len, 0);
    assert_true(slice_eq_cstr(slice_trim(slice_from_cstr("x")), "x"));
}

static void test_compare(void **state)
{
    (void)state;
    struct slice s = slice_make("PassXYZ", 4);
    assert_true(slice_eq_nocase(s, "pass"));
    assert_false(slice_eq_cstr(s, "pass"));
    assert_false(slice_eq_nocase(s, "passx"));
    assert_true(slice_starts_with(s, "Pa"));
    assert_false(slice_starts_with(s, "PassX")); /* bounded by len, not NUL */
    assert_true(slice_eq(SLICE_LIT("ab"), slice_make("abc", 2)));
}

static void test_split(void **state)
{
    (void)state;
    struct slice head, tail;
    assert_true(slice_split(slice_from_cstr("a=b=c"), '=', &head, &tail));
    assert_true(slice_eq_cstr(head, "a"));
    assert_true(slice_eq_cstr(tail, "b=c"));
    assert_false(slice_split(slice_from_cstr("abc"), '=', &head, &tail));
    assert_true(slice_eq_cstr(head, "abc"));
    assert_int_equal(tail.len, 0);
    assert_true(slice_split(slice_from_cstr("abc="), '=', &head, &tail));
    assert_int_equal(tail.len, 0);
    assert_false(slice_split(slice_make(NULL, 0), '=', &head, &tail));
}

static void test_to_i64(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_true(slice_to_i64(slice_from_cstr(" 1524268799 "), &v));
    assert_int_equal(v, 1524268799);
    assert_true(slice_to_i64(slice_from_cstr("-42"), &v));
    assert_int_equal(v, -42);
    assert_true(slice_to_i64(slice_from_cstr("9223372036854775807"), &v));
    assert_true(v == INT64_MAX);
    assert_true(slice_to_i64(slice_from_cstr("-9223372036854775808"), &v));
    assert_true(v == INT64_MIN);
    assert_false(slice_to_i64(slice_from_cstr("9223372036854775808"), &v));
    assert_false(slice_to_i64(slice_from_cstr("99999999999999999999"), &v));
    assert_false(slice_to_i64(slice_from_cstr("1538204542.0"), &v));
    assert_false(slice_to_i64(slice_from_cstr(""), &v));
    assert_false(slice_to_i64(slice_from_cstr("-"), &v));
    assert_false(slice_to_i64(slice_from_cstr("12a"), &v));
    assert_false(slice_to_i64(slice_from_cstr("1 2"), &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_to_i64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
