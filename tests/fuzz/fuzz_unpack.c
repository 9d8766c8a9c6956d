/*
 * libFuzzer target for parser/unpack: sniff the input, then inflate it
 * (gzip/zlib, one nested level like a .gz.gz) or walk it as a zip, with
 * callbacks that only count. Looks for crashes, leaks, undefined behaviour
 * and broken contracts (output past the caps, member_end and member_abort
 * both or neither called, chunks over 64 KiB).
 *
 * The feed is cut at input-derived points so chunk boundaries are fuzzed
 * too, and the last input byte sometimes makes a callback fail (transient
 * or permanent) so the error paths run.
 *
 * Build (from the repository root; add every lib/ source file):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *     tests/fuzz/fuzz_unpack.c parser/unpack.c lib/strbuf.c lib/xalloc.c ... \
 *     -lz -larchive
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/limits.h"
#include "parser/unpack.h"
#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct counter {
    uint64_t bytes;
    unsigned calls;
    unsigned fail_at;          /* data call that fails (1-based), 0 never */
    enum dmarcd_err fail_with;
    int open;                  /* members begun and not yet ended/aborted */
    unsigned members;
    /* nested inflate of the output, when it is compressed again */
    struct inflater *inner;
    uint64_t inner_bytes;
};

static void check(int ok)
{
    if (!ok)
        abort();
}

static enum dmarcd_err count_inner(void *ctx, const void *p, size_t n)
{
    struct counter *c = ctx;
    (void)p;
    check(n > 0 && n <= 64 * DMARCD_KiB);
    c->inner_bytes += n;
    return DMARCD_OK;
}

static enum dmarcd_err count_data(void *ctx, const void *p, size_t n)
{
    struct counter *c = ctx;
    check(n > 0);
    c->bytes += n;
    check(c->bytes <= DMARCD_MAX_DECOMPRESSED_BYTES);
    if (c->calls == 0 && !c->inner) {
        enum content_kind k = content_sniff(p, n);
        if (k == CONTENT_GZIP || k == CONTENT_ZLIB)
            c->inner = inflater_new();
    }
    c->calls++;
    if (c->inner) {
        enum dmarcd_err rc = inflater_feed(c->inner, p, n, count_inner, c);
        (void)rc; /* the inner stream may fail on its own; carry on */
    }
    if (c->fail_at && c->calls == c->fail_at)
        return c->fail_with;
    return DMARCD_OK;
}

static enum dmarcd_err member_begin(void *ctx, const char *name, int64_t declared)
{
    struct counter *c = ctx;
    (void)declared;
    check(name != NULL);
    check(c->open == 0);
    c->members++;
    check(c->members <= DMARCD_MAX_ZIP_MEMBERS);
    if (c->fail_with == DMARCD_E_NOT_FOUND && (c->members & 1))
        return DMARCD_E_NOT_FOUND;
    c->open = 1;
    return DMARCD_OK;
}

static enum dmarcd_err member_end(void *ctx)
{
    struct counter *c = ctx;
    check(c->open == 1);
    c->open = 0;
    return DMARCD_OK;
}

static void member_abort(void *ctx, enum dmarcd_err err, const char *detail)
{
    struct counter *c = ctx;
    (void)detail;
    check(err != DMARCD_OK);
    check(c->open == 1);
    c->open = 0;
}

static void run_inflate(const uint8_t *data, size_t size, struct counter *c)
{
    struct inflater *z = inflater_new();
    size_t step = 1 + (size ? data[size / 2] : 0) * 37u;
    enum dmarcd_err rc = DMARCD_OK;
    for (size_t off = 0; off < size && !rc; off += step)
        rc = inflater_feed(z, data + off, size - off < step ? size - off : step, count_data, c);
    if (!rc)
        rc = inflater_finish(z, count_data, c);
    check(inflater_total_out(z) == c->bytes);
    check(inflater_trailing(z) <= size);
    check(!rc || c->fail_at || inflater_detail(z)[0] != '\0');
    inflater_free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum dmarcd_err fails[] = { DMARCD_E_XML, DMARCD_E_DB_UNAVAILABLE,
                                             DMARCD_E_NOT_FOUND };
    struct counter c = { 0 };
    uint8_t last = size ? data[size - 1] : 0;
    if ((last & 0xc0) == 0xc0) {
        c.fail_at = 1 + (last & 7);
        c.fail_with = fails[(last >> 3) % 3];
    }
    enum content_kind k = content_sniff(data, size);
    check(content_kind_name(k) != NULL);
    if (k == CONTENT_GZIP || k == CONTENT_ZLIB) {
        run_inflate(data, size, &c);
    } else if (k == CONTENT_ZIP) {
        struct zip_callbacks cb = { member_begin, count_data, member_end, member_abort };
        struct strbuf *no_detail = NULL;
        enum dmarcd_err rc = zip_unpack(data, size, &cb, &c, no_detail);
        (void)rc;
        check(c.open == 0); /* every begun member was ended or aborted */
    }
    /* No output past the caps: the ratio holds once past the grace. */
    check(c.bytes <= DMARCD_RATIO_GRACE_BYTES ||
          c.bytes <= (uint64_t)size * DMARCD_MAX_EXPANSION_RATIO);
    if (c.inner) {
        enum dmarcd_err rc = inflater_finish(c.inner, count_inner, &c);
        (void)rc;
        inflater_free(c.inner);
    }
    return 0;
}
