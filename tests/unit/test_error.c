/* Unit tests for lib/error: every error has a code, a sentence and a class. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/error.h"
#include "lib/banned.h"

static void test_every_error_is_described(void **state)
{
    (void)state;
    for (int e = 0; e < DMARCD_ERR_COUNT; e++) {
        const char *code = dmarcd_err_code((enum dmarcd_err)e);
        const char *msg = dmarcd_strerror((enum dmarcd_err)e);
        assert_non_null(code);
        assert_non_null(msg);
        assert_true(strlen(code) > 1);
        assert_true(strlen(msg) > 3);
        assert_string_not_equal(code, "unknown");
        /* codes are unique */
        for (int f = 0; f < e; f++)
            assert_string_not_equal(code, dmarcd_err_code((enum dmarcd_err)f));
    }
}

static void test_transient_split(void **state)
{
    (void)state;
    assert_true(dmarcd_err_is_transient(DMARCD_E_DB_UNAVAILABLE));
    assert_true(dmarcd_err_is_transient(DMARCD_E_QUEUE_UNAVAILABLE));
    assert_true(dmarcd_err_is_transient(DMARCD_E_TIMEOUT));
    assert_false(dmarcd_err_is_transient(DMARCD_E_XML));
    assert_false(dmarcd_err_is_transient(DMARCD_E_TOO_BIG));
    assert_false(dmarcd_err_is_transient(DMARCD_OK));
}

static void test_out_of_range(void **state)
{
    (void)state;
    assert_string_equal(dmarcd_strerror((enum dmarcd_err)9999), "unknown error");
    assert_string_equal(dmarcd_err_code((enum dmarcd_err)-1), "unknown");
    assert_false(dmarcd_err_is_transient((enum dmarcd_err)9999));
}

static void test_exit_status(void **state)
{
    (void)state;
    assert_int_equal(dmarcd_err_exit_status(DMARCD_OK), 0);
    assert_int_equal(dmarcd_err_exit_status(DMARCD_E_XML), 1);
    assert_int_equal(dmarcd_err_exit_status(DMARCD_E_USAGE), 2);
    assert_int_equal(dmarcd_err_exit_status(DMARCD_E_CONFIG), 2);
    assert_int_equal(dmarcd_err_exit_status(DMARCD_E_DB_UNAVAILABLE), 3);
    assert_int_equal(dmarcd_err_exit_status(DMARCD_E_QUEUE_UNAVAILABLE), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_error_is_described),
        cmocka_unit_test(test_transient_split),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_exit_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
