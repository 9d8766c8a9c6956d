/*
 * util.c - abort-on-failure allocation and bounded formatting.
 *
 * The generator only formats strings it composes itself (domain names, ids,
 * addresses), all with known maximum lengths; a truncation would mean a
 * buffer was sized wrong, so it is reported loudly rather than silently
 * producing a shortened value in a report.
 */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "lib/banned.h"

void rg_die(const char *fmt, ...)
{
    va_list ap;

    fputs("dmarcd-reportgen: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void *rg_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        rg_die("out of memory allocating %zu bytes", n);
    return p;
}

void *rg_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        rg_die("out of memory growing to %zu bytes", n);
    return q;
}

void rg_fmt(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(dst, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size)
        rg_die("internal formatting overflow (%d >= %zu) for \"%s\"", n, size, fmt);
}
