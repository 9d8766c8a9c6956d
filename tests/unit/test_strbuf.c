/* Unit tests for lib/strbuf: growth, the cap, formatting, replacing, trimming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/banned.h"

static void test_empty_is_valid_string(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 0);
    assert_string_equal(sb.buf, "");
    assert_int_equal(sb.len, 0);
    strbuf_trim(&sb);
    strbuf_reset(&sb);
    strbuf_release(&sb);
    assert_string_equal(sb.buf, "");
}

static void test_grow_and_format(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(strbuf_addf(&sb, "%d,", i), DMARCD_OK);
    assert_int_equal(strlen(sb.buf), sb.len);
    assert_true(strncmp(sb.buf, "0,1,2,", 6) == 0);
    assert_true(sb.len > 3000);
    assert_int_equal(strbuf_addch(&sb, 'x'), DMARCD_OK);
    assert_int_equal(sb.buf[sb.len - 1], 'x');
    strbuf_release(&sb);
}

static void test_cap_refuses_and_keeps_content(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 8);
    assert_int_equal(strbuf_addstr(&sb, "12345678"), DMARCD_OK);
    assert_int_equal(strbuf_addch(&sb, '9'), DMARCD_E_TOO_LONG);
    assert_int_equal(strbuf_addf(&sb, "%s", "more"), DMARCD_E_TOO_LONG);
    assert_string_equal(sb.buf, "12345678");
    strbuf_reset(&sb);
    assert_int_equal(strbuf_addstr(&sb, "123456789"), DMARCD_E_TOO_LONG);
    assert_string_equal(sb.buf, "");
    assert_int_equal(strbuf_add(&sb, "x", (size_t)-1), DMARCD_E_TOO_LONG);
    strbuf_release(&sb);
}

static void test_setf_replaces(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 8);
    assert_int_equal(strbuf_setf(&sb, "%s-%d", "ab", 1), DMARCD_OK);
    assert_string_equal(sb.buf, "ab-1");
    assert_int_equal(strbuf_setf(&sb, "%d", 42), DMARCD_OK);
    assert_string_equal(sb.buf, "42");
    assert_int_equal(sb.len, 2);
    /* past the cap: refused, and the old text is gone too */
    assert_int_equal(strbuf_setf(&sb, "%s", "123456789"), DMARCD_E_TOO_LONG);
    assert_string_equal(sb.buf, "");
    assert_int_equal(sb.len, 0);
    /* an absent detail buffer is allowed and left alone */
    assert_int_equal(strbuf_setf(NULL, "%s", "nowhere"), DMARCD_OK);
    strbuf_release(&sb);
}

static void test_detach_and_trim(void **state)
{
    (void)state;
    struct strbuf sb;
    size_t len;
    strbuf_init(&sb, 0);
    assert_int_equal(strbuf_addstr(&sb, "  spaced\t\n"), DMARCD_OK);
    strbuf_trim(&sb);
    assert_string_equal(sb.buf, "spaced");
    strbuf_setlen(&sb, 3);
    assert_string_equal(sb.buf, "spa");
    char *owned = strbuf_detach(&sb, &len);
    assert_string_equal(owned, "spa");
    assert_int_equal(len, 3);
    assert_string_equal(sb.buf, "");
    free(owned);
    owned = strbuf_detach(&sb, &len); /* detaching an empty buffer still gives heap */
    assert_string_equal(owned, "");
    free(owned);
}

static void test_binary_safe(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 0);
    assert_int_equal(strbuf_add(&sb, "a\0b", 3), DMARCD_OK);
    assert_int_equal(sb.len, 3);
    assert_memory_equal(sb.buf, "a\0b", 3);
    assert_true(slice_eq(strbuf_slice(&sb), slice_make("a\0b", 3)));
    strbuf_release(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_is_valid_string),
        cmocka_unit_test(test_grow_and_format),
        cmocka_unit_test(test_cap_refuses_and_keeps_content),
        cmocka_unit_test(test_setf_replaces),
        cmocka_unit_test(test_detach_and_trim),
        cmocka_unit_test(test_binary_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
