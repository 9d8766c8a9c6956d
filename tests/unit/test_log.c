/* Unit tests for lib/log: line shape, escaping, levels, value cut-off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/limits.h"
#include "lib/log.h"
#include "lib/banned.h"

static char *captured;
static size_t captured_len;
static FILE *capture;

static int setup(void **state)
{
    (void)state;
    capture = open_memstream(&captured, &captured_len);
    log_set_stream(capture);
    log_set_level(LOG_LEVEL_DEBUG);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    log_set_stream(NULL);
    fclose(capture);
    free(captured);
    captured = NULL;
    return 0;
}

static const char *output(void)
{
    fflush(capture);
    return captured;
}

static void test_line_shape(void **state)
{
    (void)state;
    log_info("report stored", LOG_STR("file", "a.xml"), LOG_INT("records", -12),
             LOG_UINT("bytes", 42), LOG_ERR(DMARCD_E_TOO_DEEP));
    const char *line = output();
    assert_true(strncmp(line, "ts=", 3) == 0);
    assert_non_null(strstr(line, "Z level=info msg=\"report stored\" file=a.xml records=-12 "
                                 "bytes=42 error=too_deep reason=\"nesting limit exceeded\"\n"));
}

static void test_no_fields(void **state)
{
    (void)state;
    log_warn("shutting-down");
    assert_non_null(strstr(output(), "level=warn msg=shutting-down\n"));
}

static void test_escaping_stops_forged_lines(void **state)
{
    (void)state;
    log_error("x", LOG_STR("org", "evil\nts=0 level=error msg=\"forged\""),
              LOG_SLICE("raw", slice_make("a\0b", 3)), LOG_STR("empty", ""));
    const char *line = output();
    assert_non_null(strstr(line, "org=\"evil\\x0ats=0 level=error msg=\\\"forged\\\"\""));
    assert_non_null(strstr(line, "raw=\"a\\x00b\""));
    assert_non_null(strstr(line, "empty=\"\""));
    assert_int_equal(strchr(line, '\n') - line + 1, (long)strlen(line)); /* one line */
}

static void test_levels_filter(void **state)
{
    (void)state;
    log_set_level(LOG_LEVEL_WARN);
    log_info("hidden");
    log_debug("hidden too");
    assert_true(captured_len == 0 || output()[0] == '\0');
    log_error("shown");
    assert_non_null(strstr(output(), "msg=shown"));
    assert_false(log_enabled(LOG_LEVEL_INFO));
    assert_true(log_enabled(LOG_LEVEL_ERROR));
}

static void test_long_value_cut(void **state)
{
    (void)state;
    char big[DMARCD_MAX_LOG_VALUE_BYTES * 3];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_info("long", LOG_STR("v", big));
    const char *line = output();
    assert_non_null(strstr(line, "a...\n"));
    assert_true(strlen(line) < DMARCD_MAX_LOG_VALUE_BYTES + 200);
}

static void test_level_names(void **state)
{
    (void)state;
    enum log_level l;
    assert_true(log_level_parse("WARN", &l));
    assert_int_equal(l, LOG_LEVEL_WARN);
    assert_false(log_level_parse("verbose", &l));
    assert_string_equal(log_level_name(LOG_LEVEL_DEBUG), "debug");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_line_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaping_stops_forged_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_levels_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_value_cut, setup, teardown),
        cmocka_unit_test(test_level_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
