/*
 * fixture.c - reads a test input file from tests/data/ (DMARCD_TEST_DATA,
 * set by tests/unit/CMakeLists.txt) into memory. Fixtures are small, so a
 * plain read loop into an uncapped strbuf is all it takes.
 */
#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "lib/strbuf.h"
#include "lib/banned.h"

#ifndef DMARCD_TEST_DATA
#error "DMARCD_TEST_DATA must name tests/data"
#endif

char *fixture_read(const char *subdir, const char *name, size_t *len)
{
    char path[512];
    char buf[4096];
    struct strbuf sb;
    size_t n;
    FILE *f;

    (void)snprintf(path, sizeof(path), "%s/%s/%s", DMARCD_TEST_DATA, subdir, name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s", path);
    strbuf_init(&sb, 0);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        (void)strbuf_add(&sb, buf, n);
    fclose(f);
    return strbuf_detach(&sb, len);
}
