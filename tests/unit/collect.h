/*
 * collect.h - pieces shared by the collecting sinks of the parser tests.
 *
 * A parser's strings live only during the sink callback, so a test sink
 * that keeps a report for the test to inspect deep-copies it into an arena
 * it owns: collect_str() copies one string (NULL stays NULL), collect_list()
 * a list, collect_warnings() the warnings of the call. Then
 * collect_has() asks whether some item of a list contains a text, and
 * assert_list() (named like cmocka's assert_* checks) that a list holds
 * exactly the given strings, in order. The test sizes the arena for its
 * largest report and releases it as a whole.
 */
#ifndef DMARCD_TESTS_UNIT_COLLECT_H
#define DMARCD_TESTS_UNIT_COLLECT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/arena.h"
#include "parser/report.h"

const char *collect_str(struct arena *a, const char *s);
struct str_list collect_list(struct arena *a, struct str_list l);
struct str_list collect_warnings(struct arena *a, const struct report_warnings *w);

bool collect_has(struct str_list l, const char *needle);
void assert_list(struct str_list l, size_t n, ...);

#endif
