/*
 * collect.c - deep copies and list checks for the collecting sinks of the
 * parser tests (see collect.h). Copies go to the caller's arena, which the
 * test releases as a whole, so nothing here frees.
 */
#include "collect.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/banned.h"

const char *collect_str(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

struct str_list collect_list(struct arena *a, struct str_list l)
{
    const char **items = arena_alloc(a, (l.count + 1) * sizeof(*items));
    for (size_t i = 0; i < l.count; i++)
        items[i] = collect_str(a, l.items[i]);
    return (struct str_list){ .items = items, .count = l.count };
}

struct str_list collect_warnings(struct arena *a, const struct report_warnings *w)
{
    return collect_list(a, (struct str_list){ .items = w->items, .count = w->count });
}

bool collect_has(struct str_list l, const char *needle)
{
    for (size_t i = 0; i < l.count; i++) {
        if (strstr(l.items[i], needle))
            return true;
    }
    return false;
}

void assert_list(struct str_list l, size_t n, ...)
{
    va_list ap;

    assert_int_equal(l.count, n);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l.items[i], va_arg(ap, const char *));
    va_end(ap);
}
