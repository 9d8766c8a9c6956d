/*
 * Unit tests for parser/unpack: content sniffing, the gzip/zlib inflater
 * and the zip walker, with hostile inputs (bombs, lying sizes, truncation,
 * corruption, too many members, encryption).
 *
 * Every fixture is made at run time: gzip/zlib/raw deflate with zlib, zips
 * with libarchive's writer or byte by byte (zip_craft) when the archive has
 * to lie. Bombs are built by repeating one Z_FULL_FLUSH-ed deflate block, so
 * a 1 GiB stream costs milliseconds to make, with its trailer fixed up by
 * crc32_combine so the stream is valid to its last byte.
 */
#define ZLIB_CONST /* const next_in, as in parser/unpack.c */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "lib/limits.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "parser/unpack.h"
#include "lib/banned.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

/* ------------------------------------------------------------ fixtures */

/* Deterministic pseudo-random numbers, so failures reproduce. */
static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

/* Report-like XML of about `size` bytes that compresses ~10-20x. */
static void make_xml(struct strbuf *sb, size_t size)
{
    strbuf_init(sb, 0);
    (void)strbuf_addstr(sb, "<?xml version=\"1.0\"?>\n<feedback>\n");
    while (sb->len < size)
        (void)strbuf_addf(sb,
                          "<record><row><source_ip>198.51.%u.%u</source_ip><count>%u</count>"
                          "</row><identifiers><header_from>ex%u.example</header_from>"
                          "</identifiers></record>\n",
                          rng() % 256, rng() % 256, rng() % 1000, rng() % 50);
    (void)strbuf_addstr(sb, "</feedback>\n");
}

/* One deflate call over the whole input, appending to out. */
static void deflate_into(z_stream *s, const void *in, size_t len, int flush, struct strbuf *out)
{
    unsigned char buf[64 * 1024];
    s->next_in = (const Bytef *)in;
    s->avail_in = (uInt)len;
    do {
        s->next_out = buf;
        s->avail_out = sizeof buf;
        int zr = deflate(s, flush);
        assert_true(zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR);
        (void)strbuf_add(out, buf, sizeof buf - s->avail_out);
    } while (s->avail_out == 0 || s->avail_in > 0);
}

/* wbits: 15 + 16 gzip, 15 zlib, -15 raw deflate (zip members). */
static void compress_buf(const void *in, size_t len, int wbits, struct strbuf *out)
{
    z_stream s = { 0 };
    strbuf_init(out, 0);
    assert_int_equal(deflateInit2(&s, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    deflate_into(&s, in, len, Z_FINISH, out);
    deflateEnd(&s);
}

/*
 * A valid stream of `times` copies of chunk without deflating them all:
 * after Z_FULL_FLUSH the compressor starts afresh, so each further copy
 * compresses to the same bytes and can be appended as is. The trailer is
 * then rewritten for the whole content (crc32/adler32_combine).
 */
static void compress_repeat(const void *chunk, size_t clen, size_t times, int wbits,
                            struct strbuf *out, uint32_t *crc_out)
{
    z_stream s = { 0 };
    struct strbuf tail;
    assert_true(times >= 3);
    strbuf_init(out, 0);
    strbuf_init(&tail, 0);
    assert_int_equal(deflateInit2(&s, 9, Z_DEFLATED, wbits, 9, Z_DEFAULT_STRATEGY), Z_OK);
    deflate_into(&s, chunk, clen, Z_FULL_FLUSH, out);
    size_t first = out->len;
    deflate_into(&s, chunk, clen, Z_FULL_FLUSH, out);
    size_t piece = out->len - first;
    deflate_into(&s, chunk, clen, Z_FULL_FLUSH, out);
    assert_int_equal(out->len - first, 2 * piece);
    assert_memory_equal(out->buf + first, out->buf + first + piece, piece);
    char *copy = xmalloc(piece); /* out->buf moves as out grows */
    memcpy(copy, out->buf + first, piece);
    for (size_t i = 3; i < times; i++)
        (void)strbuf_add(out, copy, piece);
    free(copy);
    deflate_into(&s, NULL, 0, Z_FINISH, &tail);
    deflateEnd(&s);

    uint32_t crc1 = (uint32_t)crc32(0, chunk, (uInt)clen), crc = crc1;
    uint32_t ad1 = (uint32_t)adler32(1, chunk, (uInt)clen), ad = ad1;
    for (size_t i = 1; i < times; i++) {
        crc = (uint32_t)crc32_combine(crc, crc1, (z_off_t)clen);
        ad = (uint32_t)adler32_combine(ad, ad1, (z_off_t)clen);
    }
    uint64_t total = (uint64_t)clen * times;
    unsigned char *t = (unsigned char *)tail.buf;
    if (wbits > 15) { /* gzip: CRC32 and ISIZE, little-endian */
        assert_true(tail.len >= 8);
        for (int i = 0; i < 4; i++) {
            t[tail.len - 8 + i] = (unsigned char)(crc >> (8 * i));
            t[tail.len - 4 + i] = (unsigned char)(total >> (8 * i));
        }
    } else if (wbits > 0) { /* zlib: Adler-32, big-endian */
        assert_true(tail.len >= 4);
        for (int i = 0; i < 4; i++)
            t[tail.len - 4 + i] = (unsigned char)(ad >> (24 - 8 * i));
    }
    (void)strbuf_addslice(out, strbuf_slice(&tail));
    strbuf_release(&tail);
    if (crc_out)
        *crc_out = crc;
}

/* One entry of a hand-made zip: the archive may say anything. */
struct zentry {
    const char *name;
    uint16_t method;  /* 0 stored, 8 deflate */
    uint16_t flags;   /* bit 3: sizes and crc in a data descriptor */
    const void *data; /* as stored (already compressed) */
    size_t data_len;
    uint32_t crc;
    uint32_t csize, usize; /* declared */
    bool is_dir;
};

static void put16(struct strbuf *sb, uint32_t v)
{
    unsigned char b[2] = { (unsigned char)v, (unsigned char)(v >> 8) };
    (void)strbuf_add(sb, b, 2);
}

static void put32(struct strbuf *sb, uint32_t v)
{
    put16(sb, v & 0xffff);
    put16(sb, v >> 16);
}

static void zip_craft(struct strbuf *out, const struct zentry *e, size_t n)
{
    uint32_t *offsets = xcalloc(n + 1, sizeof *offsets);
    strbuf_init(out, 0);
    for (size_t i = 0; i < n; i++) {
        bool dd = e[i].flags & 8;
        offsets[i] = (uint32_t)out->len;
        put32(out, 0x04034b50);
        put16(out, 20);
        put16(out, e[i].flags);
        put16(out, e[i].method);
        put16(out, 0);
        put16(out, 0x21);
        put32(out, dd ? 0 : e[i].crc);
        put32(out, dd ? 0 : e[i].csize);
        put32(out, dd ? 0 : e[i].usize);
        put16(out, (uint32_t)strlen(e[i].name));
        put16(out, 0);
        (void)strbuf_addstr(out, e[i].name);
        (void)strbuf_add(out, e[i].data, e[i].data_len);
        if (dd) {
            put32(out, 0x08074b50);
            put32(out, e[i].crc);
            put32(out, e[i].csize);
            put32(out, e[i].usize);
        }
    }
    uint32_t cd = (uint32_t)out->len;
    for (size_t i = 0; i < n; i++) {
        put32(out, 0x02014b50);
        put16(out, 0x031e); /* made by unix: external attributes hold a mode */
        put16(out, 20);
        put16(out, e[i].flags);
        put16(out, e[i].method);
        put16(out, 0);
        put16(out, 0x21);
        put32(out, e[i].crc);
        put32(out, e[i].csize);
        put32(out, e[i].usize);
        put16(out, (uint32_t)strlen(e[i].name));
        put16(out, 0);
        put16(out, 0);
        put16(out, 0);
        put16(out, 0);
        put32(out, (e[i].is_dir ? 040755u : 0100644u) << 16);
        put32(out, offsets[i]);
        (void)strbuf_addstr(out, e[i].name);
    }
    uint32_t cd_len = (uint32_t)out->len - cd;
    put32(out, 0x06054b50);
    put16(out, 0);
    put16(out, 0);
    put16(out, (uint32_t)n);
    put16(out, (uint32_t)n);
    put32(out, cd_len);
    put32(out, cd);
    put16(out, 0);
    free(offsets);
}

/* A deflated, truthful zentry for `data` (the compressed bytes go to z). */
static struct zentry deflated_entry(const char *name, const void *data, size_t len,
                                    struct strbuf *z)
{
    compress_buf(data, len, -15, z);
    return (struct zentry){ .name = name, .method = 8, .data = z->buf, .data_len = z->len,
                            .crc = (uint32_t)crc32(0, data, (uInt)len),
                            .csize = (uint32_t)z->len, .usize = (uint32_t)len };
}

/* A zip written by libarchive itself; options like "zip:encryption=zipcrypt". */
struct wfile {
    const char *name;
    const char *data; /* NULL: a directory */
};

static int zip_write(const struct wfile *f, size_t n, const char *options, struct strbuf *out)
{
    size_t cap = 1 * MiB, used = 0;
    char *buf = xmalloc(cap);
    struct archive *a = archive_write_new();
    int ar = archive_write_set_format_zip(a);
    if (ar == ARCHIVE_OK && options)
        ar = archive_write_set_options(a, options);
    if (ar == ARCHIVE_OK && options)
        ar = archive_write_set_passphrase(a, "secret");
    if (ar == ARCHIVE_OK)
        ar = archive_write_open_memory(a, buf, cap, &used);
    for (size_t i = 0; ar == ARCHIVE_OK && i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, f[i].name);
        archive_entry_set_filetype(e, f[i].data ? AE_IFREG : AE_IFDIR);
        archive_entry_set_perm(e, f[i].data ? 0644 : 0755);
        archive_entry_set_size(e, f[i].data ? (la_int64_t)strlen(f[i].data) : 0);
        ar = archive_write_header(a, e);
        if (ar == ARCHIVE_OK && f[i].data)
            ar = archive_write_data(a, f[i].data, strlen(f[i].data)) < 0 ? ARCHIVE_FATAL
                                                                         : ARCHIVE_OK;
        archive_entry_free(e);
    }
    if (ar == ARCHIVE_OK)
        ar = archive_write_close(a);
    archive_write_free(a);
    strbuf_init(out, 0);
    (void)strbuf_add(out, buf, used);
    free(buf);
    return ar;
}

/* -------------------------------------------------------------- sinks */

/* Collects (or only counts) what an inflater or zip walk hands out. */
struct sink {
    bool keep;                 /* append data to out */
    bool crc_on;               /* keep a CRC-32 of everything seen */
    uint32_t crc;
    struct strbuf out;
    uint64_t bytes;
    size_t calls, max_chunk;
    enum dmarcd_err fail_with; /* returned by data once fail_at_call is reached */
    size_t fail_at_call;       /* 1-based; 0 never */
    int fail_member;           /* 1-based member whose data fails; 0 any */
    /* zip */
    int begins, ends, aborts, member;
    char names[8][128];
    int64_t declared[8];
    uint64_t member_bytes[8];
    enum dmarcd_err begin_ret[8];
    enum dmarcd_err abort_err;
    char abort_detail[512];
};

static void sink_init(struct sink *s, bool keep)
{
    memset(s, 0, sizeof *s);
    s->keep = keep;
    strbuf_init(&s->out, 0);
}

static enum dmarcd_err sink_data(void *ctx, const void *data, size_t len)
{
    struct sink *s = ctx;
    assert_true(len > 0);
    s->calls++;
    s->bytes += len;
    if (s->member > 0 && s->member <= 8)
        s->member_bytes[s->member - 1] += len;
    if (len > s->max_chunk)
        s->max_chunk = len;
    if (s->crc_on)
        s->crc = (uint32_t)crc32(s->crc, data, (uInt)len);
    if (s->fail_at_call && s->calls >= s->fail_at_call &&
        (s->fail_member == 0 || s->fail_member == s->member))
        return s->fail_with;
    if (s->keep)
        (void)strbuf_add(&s->out, data, len);
    return DMARCD_OK;
}

static enum dmarcd_err sink_begin(void *ctx, const char *name, int64_t declared)
{
    struct sink *s = ctx;
    s->member = ++s->begins;
    if (s->begins <= 8) {
        snprintf(s->names[s->begins - 1], sizeof s->names[0], "%s", name);
        s->declared[s->begins - 1] = declared;
        return s->begin_ret[s->begins - 1];
    }
    return DMARCD_OK;
}

static enum dmarcd_err sink_end(void *ctx)
{
    struct sink *s = ctx;
    s->ends++;
    return DMARCD_OK;
}

static void sink_abort(void *ctx, enum dmarcd_err err, const char *detail)
{
    struct sink *s = ctx;
    s->aborts++;
    s->abort_err = err;
    snprintf(s->abort_detail, sizeof s->abort_detail, "%s", detail ? detail : "");
}

static const struct zip_callbacks sink_zip = {
    .member_begin = sink_begin,
    .member_data = sink_data,
    .member_end = sink_end,
    .member_abort = sink_abort,
};

/* Inflates in pieces of `step` bytes (0: all at once); returns the result
 * of the first failing call, else of finish. */
static enum dmarcd_err inflate_all(const void *in, size_t len, size_t step, struct sink *s,
                                   uint64_t *trailing, char *detail, size_t detail_size)
{
    struct inflater *z = inflater_new();
    const unsigned char *p = in;
    enum dmarcd_err rc = DMARCD_OK;
    if (step == 0)
        step = len ? len : 1;
    for (size_t off = 0; off < len && !rc; off += step)
        rc = inflater_feed(z, p + off, len - off < step ? len - off : step, sink_data, s);
    if (!rc)
        rc = inflater_finish(z, sink_data, s);
    if (trailing)
        *trailing = inflater_trailing(z);
    if (detail)
        snprintf(detail, detail_size, "%s", inflater_detail(z));
    assert_int_equal(inflater_total_out(z), s->bytes); /* emitted == counted */
    inflater_free(z);
    return rc;
}

/* ------------------------------------------------------------- sniff */

struct sniff_case {
    const char *bytes;
    size_t len; /* 0: strlen */
    enum content_kind kind;
};

static void test_sniff_table(void **state)
{
    (void)state;
    static const struct sniff_case cases[] = {
        { "", 0, CONTENT_EMPTY },
        { " \r\n\t ", 0, CONTENT_EMPTY },
        { "\xef\xbb\xbf", 0, CONTENT_EMPTY },
        { "\xef\xbb\xbf \n", 0, CONTENT_EMPTY },
        { "\x1f\x8b", 2, CONTENT_GZIP },
        { "\x1f\x8b\x08\x00\x00\x00\x00\x00", 8, CONTENT_GZIP },
        { "\x1f", 1, CONTENT_UNKNOWN },
        { "\x78\x9c\x01\x02", 4, CONTENT_ZLIB },
        { "\x78\x01", 2, CONTENT_ZLIB },
        { "\x78\x5e", 2, CONTENT_ZLIB },
        { "\x78\xda", 2, CONTENT_ZLIB },
        { "\x78\x9d", 2, CONTENT_UNKNOWN }, /* header check fails */
        { "x", 1, CONTENT_UNKNOWN },
        { "PK\x03\x04", 4, CONTENT_ZIP },
        { "PK\x05\x06", 4, CONTENT_ZIP },
        { "PK\x03", 3, CONTENT_UNKNOWN },
        { "PK\x01\x02", 4, CONTENT_UNKNOWN },
        { "<?xml version=\"1.0\"?><feedback/>", 0, CONTENT_XML },
        { "\xef\xbb\xbf<feedback>", 0, CONTENT_XML },
        { "\xef\xbb\xbf \r\n\t<feedback>", 0, CONTENT_XML },
        { "\n\n  <feedback>", 0, CONTENT_XML },
        { "<", 0, CONTENT_XML },
        { "{\"organization-name\":\"x\"}", 0, CONTENT_JSON },
        { " \xef\xbb\xbf{}", 0, CONTENT_UNKNOWN }, /* a BOM only counts at byte 0 */
        { "\xef\xbb\xbf\n{}", 0, CONTENT_JSON },
        { "Feedback-Type: auth-failure\r\nUser-Agent: x/1\r\nVersion: 1\r\n", 0,
          CONTENT_ARF_FIELDS },
        { "feedback-type: abuse\n", 0, CONTENT_ARF_FIELDS },
        { "\r\nFEEDBACK-TYPE:auth-failure", 0, CONTENT_ARF_FIELDS },
        { "Feedback-Type auth-failure\n", 0, CONTENT_UNKNOWN },
        { "From MAILER-DAEMON Mon Jan  1 00:00:00 2024\nSubject: x\n", 0, CONTENT_MAIL },
        { "From ", 0, CONTENT_MAIL },
        { "Received: from a by b;\r\n\tMon, 1 Jan 2024\r\nFrom: a@b\r\n\r\nbody", 0,
          CONTENT_MAIL },
        { "Return-Path: <a@b>\nDelivered-To: c@d\n", 0, CONTENT_MAIL },
        { "X-Custom-Header: 1\nMIME-Version: 1.0\n", 0, CONTENT_MAIL },
        { "Subject : old style\nTo: x\n", 0, CONTENT_MAIL },
        { "Subject: only one\n\nbody: text\n", 0, CONTENT_UNKNOWN },
        { "Subject: only one", 0, CONTENT_UNKNOWN },
        { "Subject: a\n\tfolded\nTo: b\n", 0, CONTENT_MAIL },
        { "Subject: one\nnot a header line\nTo: x\n", 0, CONTENT_UNKNOWN },
        { "From: a@b", 0, CONTENT_UNKNOWN },
        { "unused", 0, CONTENT_UNKNOWN },
        { "Hello world\n", 0, CONTENT_UNKNOWN },
        { "\x00\x01\x02\x03\xff\xfe", 6, CONTENT_UNKNOWN },
        { "\xff\xd8\xff\xe0", 4, CONTENT_UNKNOWN },
        { "\x00", 1, CONTENT_UNKNOWN },
        { "\x00<feedback/>", 12, CONTENT_UNKNOWN },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].bytes);
        enum content_kind got = content_sniff(cases[i].bytes, len);
        if (got != cases[i].kind)
            fail_msg("case %zu: got %s, want %s", i, content_kind_name(got),
                     content_kind_name(cases[i].kind));
    }
}

/* Header names: 1-76 characters; a 77-character name is not a header. */
static void test_sniff_field_name_lengths(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 0);
    for (int i = 0; i < 76; i++)
        (void)strbuf_addch(&sb, 'A');
    (void)strbuf_addstr(&sb, ": v\nTo: x\n");
    assert_int_equal(content_sniff(sb.buf, sb.len), CONTENT_MAIL);
    strbuf_reset(&sb);
    for (int i = 0; i < 77; i++)
        (void)strbuf_addch(&sb, 'A');
    (void)strbuf_addstr(&sb, ": v\nTo: x\n");
    assert_int_equal(content_sniff(sb.buf, sb.len), CONTENT_UNKNOWN);
    strbuf_release(&sb);
}

/* The second header must come within the first 2 KiB. */
static void test_sniff_mail_window(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 0);
    (void)strbuf_addstr(&sb, "Received: from x");
    while (sb.len < 1500)
        (void)strbuf_addstr(&sb, "\r\n\tby relay.example with esmtp");
    (void)strbuf_addstr(&sb, "\r\nSubject: report\r\n\r\n");
    assert_int_equal(content_sniff(sb.buf, sb.len), CONTENT_MAIL);
    strbuf_reset(&sb);
    (void)strbuf_addstr(&sb, "Received: from x");
    while (sb.len < 3000)
        (void)strbuf_addstr(&sb, "\r\n\tby relay.example with esmtp");
    (void)strbuf_addstr(&sb, "\r\nSubject: report\r\n\r\n");
    assert_int_equal(content_sniff(sb.buf, sb.len), CONTENT_UNKNOWN);
    strbuf_release(&sb);
}

/* Every input of 0-2 bytes and many of 3: no crash, and the magic rules
 * hold exactly. */
static void test_sniff_tiny_inputs(void **state)
{
    (void)state;
    unsigned char b[3];
    assert_int_equal(content_sniff(NULL, 0), CONTENT_EMPTY);
    for (unsigned x = 0; x < 256; x++) {
        b[0] = (unsigned char)x;
        enum content_kind k = content_sniff(b, 1);
        if (x == '<')
            assert_int_equal(k, CONTENT_XML);
        else if (x == '{')
            assert_int_equal(k, CONTENT_JSON);
        else if (x == ' ' || (x >= '\t' && x <= '\r'))
            assert_int_equal(k, CONTENT_EMPTY);
        else
            assert_int_equal(k, CONTENT_UNKNOWN);
        for (unsigned y = 0; y < 256; y++) {
            b[1] = (unsigned char)y;
            k = content_sniff(b, 2);
            assert_int_equal(k == CONTENT_GZIP, x == 0x1f && y == 0x8b);
            assert_int_equal(k == CONTENT_ZLIB,
                             x == 0x78 && (y == 0x01 || y == 0x5e || y == 0x9c || y == 0xda));
            assert_true(k != CONTENT_ZIP && k != CONTENT_MAIL && k != CONTENT_ARF_FIELDS);
            b[2] = (unsigned char)(x ^ y);
            k = content_sniff(b, 3);
            assert_true(k <= CONTENT_UNKNOWN && k != CONTENT_ZIP);
        }
    }
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(content_kind_name(CONTENT_GZIP), "gzip");
    assert_string_equal(content_kind_name(CONTENT_ZIP), "zip");
    assert_string_equal(content_kind_name(CONTENT_ZLIB), "zlib");
    assert_string_equal(content_kind_name(CONTENT_XML), "xml");
    assert_string_equal(content_kind_name(CONTENT_JSON), "json");
    assert_string_equal(content_kind_name(CONTENT_ARF_FIELDS), "arf");
    assert_string_equal(content_kind_name(CONTENT_MAIL), "mail");
    assert_string_equal(content_kind_name(CONTENT_EMPTY), "empty");
    assert_string_equal(content_kind_name(CONTENT_UNKNOWN), "unknown");
    assert_string_equal(content_kind_name((enum content_kind)99), "unknown");
}

/* ----------------------------------------------------------- inflater */

static void check_roundtrip(int wbits, size_t step)
{
    struct strbuf xml, gz;
    struct sink s;
    uint64_t trailing = 99;
    make_xml(&xml, 300 * KiB);
    compress_buf(xml.buf, xml.len, wbits, &gz);
    assert_int_equal(content_sniff(gz.buf, gz.len), wbits > 15 ? CONTENT_GZIP : CONTENT_ZLIB);
    sink_init(&s, true);
    assert_int_equal(inflate_all(gz.buf, gz.len, step, &s, &trailing, NULL, 0), DMARCD_OK);
    assert_int_equal(s.out.len, xml.len);
    assert_memory_equal(s.out.buf, xml.buf, xml.len);
    assert_int_equal(trailing, 0);
    assert_true(s.max_chunk <= 64 * KiB);
    if (step == 0)
        assert_true(s.calls >= xml.len / (64 * KiB)); /* chunked, not one huge call */
    strbuf_release(&s.out);
    strbuf_release(&gz);
    strbuf_release(&xml);
}

static void test_gzip_roundtrip_whole(void **state)
{
    (void)state;
    check_roundtrip(15 + 16, 0);
}

static void test_gzip_roundtrip_byte_by_byte(void **state)
{
    (void)state;
    check_roundtrip(15 + 16, 1);
    check_roundtrip(15 + 16, 7);
    check_roundtrip(15 + 16, 4093);
}

static void test_zlib_stream(void **state)
{
    (void)state;
    check_roundtrip(15, 0);
    check_roundtrip(15, 1);
}

/* Mimecast appends CRLF after the gzip member; a second member and junk
 * fed in a later call are trailing too. */
static void test_gzip_trailing_junk(void **state)
{
    (void)state;
    struct strbuf gz, more;
    struct sink s;
    uint64_t trailing;
    compress_buf("<feedback/>", 11, 15 + 16, &gz);
    compress_buf("second member", 13, 15 + 16, &more);
    (void)strbuf_addstr(&gz, "\r\n");
    sink_init(&s, true);
    assert_int_equal(inflate_all(gz.buf, gz.len, 0, &s, &trailing, NULL, 0), DMARCD_OK);
    assert_int_equal(trailing, 2);
    assert_string_equal(s.out.buf, "<feedback/>");

    (void)strbuf_addslice(&gz, strbuf_slice(&more)); /* CRLF + a whole gzip member */
    for (size_t step = 1; step <= 5; step += 4) {
        strbuf_release(&s.out);
        sink_init(&s, true);
        assert_int_equal(inflate_all(gz.buf, gz.len, step, &s, &trailing, NULL, 0), DMARCD_OK);
        assert_int_equal(trailing, 2 + more.len);
        assert_string_equal(s.out.buf, "<feedback/>");
    }
    strbuf_release(&s.out);
    strbuf_release(&more);
    strbuf_release(&gz);
}

/* Every proper prefix of a gzip file is TRUNCATED, never DECOMPRESS or OK. */
static void test_gzip_truncated(void **state)
{
    (void)state;
    struct strbuf xml, gz;
    struct sink s;
    char detail[256];
    make_xml(&xml, 20 * KiB);
    compress_buf(xml.buf, xml.len, 15 + 16, &gz);
    for (size_t cut = 0; cut < gz.len; cut++) {
        sink_init(&s, false);
        enum dmarcd_err rc = inflate_all(gz.buf, cut, 0, &s, NULL, detail, sizeof detail);
        if (rc != DMARCD_E_TRUNCATED)
            fail_msg("prefix %zu of %zu: %s", cut, gz.len, dmarcd_err_code(rc));
        assert_non_null(strstr(detail, "cut short"));
        assert_true(s.bytes <= xml.len);
        strbuf_release(&s.out);
    }
    strbuf_release(&gz);
    strbuf_release(&xml);
}

static enum dmarcd_err expect_corrupt(const struct strbuf *gz)
{
    struct sink s;
    char detail[256];
    sink_init(&s, false);
    enum dmarcd_err rc = inflate_all(gz->buf, gz->len, 0, &s, NULL, detail, sizeof detail);
    if (rc == DMARCD_E_DECOMPRESS)
        assert_non_null(strstr(detail, "zlib: "));
    strbuf_release(&s.out);
    return rc;
}

static void test_gzip_corrupt(void **state)
{
    (void)state;
    struct strbuf xml, gz;
    make_xml(&xml, 20 * KiB);
    compress_buf(xml.buf, xml.len, 15 + 16, &gz);
    unsigned char *p = (unsigned char *)gz.buf;

    p[10] |= 0x06; /* first block type 11: reserved, invalid */
    assert_int_equal(expect_corrupt(&gz), DMARCD_E_DECOMPRESS);
    strbuf_release(&gz);

    compress_buf(xml.buf, xml.len, 15 + 16, &gz);
    p = (unsigned char *)gz.buf;
    p[gz.len - 8] ^= 0x55; /* CRC-32 of the trailer */
    assert_int_equal(expect_corrupt(&gz), DMARCD_E_DECOMPRESS);
    p[gz.len - 8] ^= 0x55;
    p[gz.len - 1] ^= 0x01; /* ISIZE */
    assert_int_equal(expect_corrupt(&gz), DMARCD_E_DECOMPRESS);
    p[gz.len - 1] ^= 0x01;
    p[2] = 7; /* compression method other than deflate */
    assert_int_equal(expect_corrupt(&gz), DMARCD_E_DECOMPRESS);
    strbuf_release(&gz);

    compress_buf(xml.buf, xml.len, 15, &gz); /* zlib with a wrong Adler-32 */
    gz.buf[gz.len - 1] ^= 0x10;
    assert_int_equal(expect_corrupt(&gz), DMARCD_E_DECOMPRESS);
    strbuf_release(&gz);

    strbuf_init(&gz, 0); /* random bytes behind a gzip magic */
    (void)strbuf_add(&gz, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
    for (int i = 0; i < 4096; i++)
        (void)strbuf_addch(&gz, (char)rng());
    enum dmarcd_err rc = expect_corrupt(&gz);
    assert_true(rc == DMARCD_E_DECOMPRESS || rc == DMARCD_E_TRUNCATED);
    strbuf_release(&gz);
    strbuf_release(&xml);
}

/* After an error, every later call repeats it and emits nothing more. */
static void test_inflater_error_is_sticky(void **state)
{
    (void)state;
    struct sink s;
    struct inflater *z = inflater_new();
    sink_init(&s, false);
    assert_int_equal(inflater_feed(z, "\x1f\x8b\x07junkjunkjunk", 14, sink_data, &s),
                     DMARCD_E_DECOMPRESS);
    assert_true(strlen(inflater_detail(z)) > 0);
    assert_int_equal(inflater_feed(z, "more", 4, sink_data, &s), DMARCD_E_DECOMPRESS);
    assert_int_equal(inflater_finish(z, sink_data, &s), DMARCD_E_DECOMPRESS);
    assert_int_equal(s.calls, 0);
    inflater_free(z);
    inflater_free(NULL);
}

static void test_inflater_empty_input(void **state)
{
    (void)state;
    struct sink s;
    struct inflater *z = inflater_new();
    sink_init(&s, false);
    assert_int_equal(inflater_feed(z, "", 0, sink_data, &s), DMARCD_OK);
    assert_int_equal(inflater_finish(z, sink_data, &s), DMARCD_E_TRUNCATED);
    assert_int_equal(inflater_total_out(z), 0);
    inflater_free(z);
}

/* 1 GiB of zeros in ~1 MB: refused after about the grace amount of output,
 * whether fed whole or in small pieces. */
static void test_gzip_bomb_ratio(void **state)
{
    (void)state;
    struct strbuf bomb;
    char *zeros = xcalloc(1, MiB);
    compress_repeat(zeros, MiB, 1024, 15 + 16, &bomb, NULL);
    assert_true(bomb.len < 2 * MiB);
    size_t steps[] = { 0, 4096, 1 };
    for (size_t i = 0; i < 3; i++) {
        struct sink s;
        char detail[256];
        sink_init(&s, false);
        size_t len = steps[i] == 1 ? 64 * KiB : bomb.len; /* byte by byte: a prefix will do */
        enum dmarcd_err rc = inflate_all(bomb.buf, len, steps[i], &s, NULL, detail,
                                         sizeof detail);
        assert_int_equal(rc, DMARCD_E_RATIO);
        assert_true(s.bytes <= DMARCD_RATIO_GRACE_BYTES + 64 * KiB);
        assert_non_null(strstr(detail, "ratio"));
    }
    free(zeros);
    strbuf_release(&bomb);
}

/* A stream just under the ratio but over DMARCD_MAX_DECOMPRESSED_BYTES. */
static void text_chunk(struct strbuf *chunk)
{
    strbuf_init(chunk, 0);
    while (chunk->len < MiB) { /* ~1 random byte per 120: compresses ~100x */
        (void)strbuf_addf(chunk, "<record><row><source_ip>192.0.2.%u</source_ip>", rng() % 10);
        (void)strbuf_addstr(chunk, "<count>1</count><policy_evaluated><disposition>none"
                                   "</disposition></policy_evaluated></row></record>\n");
    }
    strbuf_setlen(chunk, MiB);
}

static void test_inflate_too_big(void **state)
{
    (void)state;
    struct strbuf chunk, big;
    struct sink s;
    char detail[256];
    text_chunk(&chunk);
    size_t times = DMARCD_MAX_DECOMPRESSED_BYTES / MiB + 16;
    compress_repeat(chunk.buf, chunk.len, times, 15 + 16, &big, NULL);
    assert_true((double)chunk.len * (double)times / (double)big.len < DMARCD_MAX_EXPANSION_RATIO);
    sink_init(&s, false);
    assert_int_equal(inflate_all(big.buf, big.len, 0, &s, NULL, detail, sizeof detail),
                     DMARCD_E_TOO_BIG);
    assert_true(s.bytes <= DMARCD_MAX_DECOMPRESSED_BYTES);
    assert_true(s.bytes > DMARCD_MAX_DECOMPRESSED_BYTES - 64 * KiB);
    assert_non_null(strstr(detail, "limit"));
    strbuf_release(&big);
    strbuf_release(&chunk);
}

/* A large, legitimate stream (64 MiB at ~100x) passes whole and intact. */
static void test_inflate_large_ok(void **state)
{
    (void)state;
    struct strbuf chunk, big;
    struct sink s;
    uint32_t crc;
    text_chunk(&chunk);
    compress_repeat(chunk.buf, chunk.len, 64, 15, &big, &crc);
    sink_init(&s, false);
    s.crc_on = true;
    assert_int_equal(inflate_all(big.buf, big.len, 65536, &s, NULL, NULL, 0), DMARCD_OK);
    assert_int_equal(s.bytes, 64 * MiB);
    assert_int_equal(s.crc, crc);
    strbuf_release(&big);
    strbuf_release(&chunk);
}

/* A callback error stops the feed at once and sticks, transient or not. */
static void test_inflate_emit_error_stops(void **state)
{
    (void)state;
    struct strbuf xml, gz;
    make_xml(&xml, 1 * MiB);
    compress_buf(xml.buf, xml.len, 15 + 16, &gz);
    enum dmarcd_err errs[] = { DMARCD_E_DB_UNAVAILABLE, DMARCD_E_XML };
    for (size_t i = 0; i < 2; i++) {
        struct sink s;
        sink_init(&s, false);
        s.fail_with = errs[i];
        s.fail_at_call = 2;
        struct inflater *z = inflater_new();
        assert_int_equal(inflater_feed(z, gz.buf, gz.len, sink_data, &s), errs[i]);
        assert_int_equal(s.calls, 2);
        assert_string_equal(inflater_detail(z), "");
        assert_int_equal(inflater_feed(z, gz.buf, 1, sink_data, &s), errs[i]);
        assert_int_equal(inflater_finish(z, sink_data, &s), errs[i]);
        assert_int_equal(s.calls, 2);
        inflater_free(z);
    }
    strbuf_release(&gz);
    strbuf_release(&xml);
}

/* ---------------------------------------------------------------- zip */

static enum dmarcd_err unzip(const struct strbuf *zip, struct sink *s, struct strbuf *detail)
{
    return zip_unpack(zip->buf, zip->len, &sink_zip, s, detail);
}

static void test_zip_members_and_directory(void **state)
{
    (void)state;
    const struct wfile files[] = {
        { "reports/", NULL },
        { "reports/a.xml", "<feedback>a</feedback>" },
        { "b.xml", "<feedback>bb</feedback>" },
    };
    struct strbuf zip, detail;
    struct sink s;
    assert_int_equal(zip_write(files, 3, NULL, &zip), ARCHIVE_OK);
    assert_int_equal(content_sniff(zip.buf, zip.len), CONTENT_ZIP);
    sink_init(&s, true);
    strbuf_init(&detail, 0);
    assert_int_equal(unzip(&zip, &s, &detail), DMARCD_OK);
    assert_string_equal(detail.buf, "");
    assert_int_equal(s.begins, 2);
    assert_int_equal(s.ends, 2);
    assert_int_equal(s.aborts, 0);
    assert_string_equal(s.names[0], "reports/a.xml");
    assert_string_equal(s.names[1], "b.xml");
    assert_int_equal(s.member_bytes[0], 22);
    assert_int_equal(s.member_bytes[1], 23);
    assert_string_equal(s.out.buf, "<feedback>a</feedback><feedback>bb</feedback>");
    strbuf_release(&s.out);
    strbuf_release(&detail);
    strbuf_release(&zip);
}

/* mail-dmarc's fixture shape: one deflated member named "", sizes in a
 * data descriptor (streamed zip). */
static void test_zip_empty_member_name(void **state)
{
    (void)state;
    struct strbuf z, zip;
    struct sink s;
    const char *xml = "<?xml version=\"1.0\"?><feedback></feedback>";
    struct zentry e = deflated_entry("", xml, strlen(xml), &z);
    e.flags = 8;
    zip_craft(&zip, &e, 1);
    sink_init(&s, true);
    assert_int_equal(unzip(&zip, &s, NULL), DMARCD_OK);
    assert_int_equal(s.begins, 1);
    assert_int_equal(s.ends, 1);
    assert_string_equal(s.names[0], "");
    assert_int_equal(s.declared[0], (int64_t)strlen(xml));
    assert_string_equal(s.out.buf, xml);
    strbuf_release(&s.out);
    strbuf_release(&zip);
    strbuf_release(&z);
}

static void craft_many(size_t n, struct strbuf *zip)
{
    struct zentry *e = xcalloc(n, sizeof *e);
    char(*names)[32] = xcalloc(n, sizeof *names);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "m%zu.xml", i);
        e[i] = (struct zentry){ .name = names[i], .data = "<x/>", .data_len = 4,
                                .crc = (uint32_t)crc32(0, (const Bytef *)"<x/>", 4),
                                .csize = 4, .usize = 4 };
    }
    zip_craft(zip, e, n);
    free(names);
    free(e);
}

/* 100 members: refused whole, before any callback. */
static void test_zip_too_many(void **state)
{
    (void)state;
    struct strbuf zip, detail;
    struct sink s;
    craft_many(100, &zip);
    sink_init(&s, false);
    strbuf_init(&detail, 0);
    assert_int_equal(unzip(&zip, &s, &detail), DMARCD_E_TOO_MANY);
    assert_int_equal(s.begins, 0);
    assert_non_null(strstr(detail.buf, "100 entries"));
    strbuf_release(&zip);

    craft_many(DMARCD_MAX_ZIP_MEMBERS, &zip); /* exactly the limit is fine */
    sink_init(&s, false);
    assert_int_equal(unzip(&zip, &s, &detail), DMARCD_OK);
    assert_int_equal(s.ends, DMARCD_MAX_ZIP_MEMBERS);
    strbuf_release(&zip);
    strbuf_release(&detail);
}

/* The end record lies (1, 0 or 0xffff entries) but the directory holds
 * 100: the walk's own count stops it after the 64th. */
static void test_zip_too_many_lying_end_record(void **state)
{
    (void)state;
    static const unsigned lies[] = { 1, 0, 0xffff };
    struct strbuf zip, detail;
    struct sink s;
    craft_many(100, &zip);
    strbuf_init(&detail, 0);
    unsigned char *eocd = (unsigned char *)zip.buf + zip.len - 22;
    assert_memory_equal(eocd, "PK\x05\x06", 4);
    for (size_t i = 0; i < 3; i++) {
        eocd[8] = eocd[10] = (unsigned char)lies[i];
        eocd[9] = eocd[11] = (unsigned char)(lies[i] >> 8);
        sink_init(&s, false);
        assert_int_equal(unzip(&zip, &s, &detail), DMARCD_E_TOO_MANY);
        assert_int_equal(s.begins, DMARCD_MAX_ZIP_MEMBERS);
        assert_int_equal(s.ends, DMARCD_MAX_ZIP_MEMBERS);
        assert_non_null(strstr(detail.buf, "more than"));
    }
    strbuf_release(&detail);
    strbuf_release(&zip);
}

/* A member declaring 1000 bytes that holds 1 GiB of zeros. */
static void test_zip_bomb(void **state)
{
    (void)state;
    struct strbuf z, zip, detail;
    struct sink s;
    uint32_t crc;
    char *zeros = xcalloc(1, MiB);
    compress_repeat(zeros, MiB, 1024, -15, &z, &crc);
    struct zentry e = { .name = "bomb.xml", .method = 8, .data = z.buf, .data_len = z.len,
                        .crc = crc, .csize = (uint32_t)z.len, .usize = 1000 };
    zip_craft(&zip, &e, 1);
    sink_init(&s, false);
    strbuf_init(&detail, 0);
    assert_int_equal(unzip(&zip, &s, &detail), DMARCD_E_RATIO);
    assert_int_equal(s.declared[0], 1000);
    assert_true(s.bytes <= DMARCD_RATIO_GRACE_BYTES + 1 * MiB);
    assert_int_equal(s.aborts, 1);
    assert_int_equal(s.ends, 0);
    assert_int_equal(s.abort_err, DMARCD_E_RATIO);
    assert_non_null(strstr(detail.buf, "bomb.xml"));
    assert_non_null(strstr(s.abort_detail, "ratio"));
    free(zeros);
    strbuf_release(&detail);
    strbuf_release(&zip);
    strbuf_release(&z);
}

/* Two members of 600 MiB at ~100x: the cap is on the archive's total. */
static void test_zip_too_big_across_members(void **state)
{
    (void)state;
    struct strbuf chunk, z, zip;
    struct sink s;
    uint32_t crc;
    text_chunk(&chunk);
    compress_repeat(chunk.buf, chunk.len, 600, -15, &z, &crc);
    struct zentry e[2];
    for (int i = 0; i < 2; i++)
        e[i] = (struct zentry){ .name = i ? "b.xml" : "a.xml", .method = 8, .data = z.buf,
                                .data_len = z.len, .crc = crc, .csize = (uint32_t)z.len,
                                .usize = (uint32_t)(600 * MiB) };
    zip_craft(&zip, e, 2);
    sink_init(&s, false);
    assert_int_equal(unzip(&zip, &s, NULL), DMARCD_E_TOO_BIG);
    assert_int_equal(s.begins, 2);
    assert_int_equal(s.ends, 1);
    assert_int_equal(s.aborts, 1);
    assert_int_equal(s.member_bytes[0], 600 * MiB);
    assert_true(s.bytes <= DMARCD_MAX_DECOMPRESSED_BYTES);
    strbuf_release(&zip);
    strbuf_release(&z);
    strbuf_release(&chunk);
}

/* Headers claiming 2 GB: nothing is sized or skipped by the claim; the
 * real data is streamed (34 bytes), and the mismatch that libarchive then
 * sees makes it a bad member, not a 2 GB read. */
static void test_zip_declared_size_lies(void **state)
{
    (void)state;
    struct strbuf z, zip, detail;
    struct sink s;
    const char *xml = "<feedback>declared 2 GB</feedback>";
    struct zentry e = deflated_entry("big.xml", xml, strlen(xml), &z);
    e.usize = 2000000000u;
    zip_craft(&zip, &e, 1);
    sink_init(&s, true);
    strbuf_init(&detail, 0);
    enum dmarcd_err rc = unzip(&zip, &s, &detail);
    assert_int_equal(s.begins, 1);
    assert_int_equal(s.declared[0], 2000000000);
    assert_int_equal(rc, DMARCD_E_ARCHIVE);
    assert_int_equal(s.aborts, 1);
    assert_int_equal(s.ends, 0);
    assert_non_null(strstr(detail.buf, "big.xml"));
    assert_non_null(strstr(detail.buf, "read 34"));
    strbuf_release(&zip);
    strbuf_release(&s.out);

    /* stored, claiming 2 GB of compressed data that is not there */
    e = (struct zentry){ .name = "stored.xml", .data = xml, .data_len = strlen(xml),
                         .crc = (uint32_t)crc32(0, (const Bytef *)xml, (uInt)strlen(xml)),
                         .csize = 2000000000u, .usize = 2000000000u };
    zip_craft(&zip, &e, 1);
    sink_init(&s, false);
    rc = unzip(&zip, &s, &detail);
    assert_int_equal(rc, DMARCD_E_ARCHIVE);
    assert_int_equal(s.ends, 0);
    assert_true(s.bytes < 4096);
    strbuf_release(&detail);
    strbuf_release(&zip);
    strbuf_release(&z);
}

/* A capped detail buffer gets the sentence cut to its cap. */
static void test_zip_detail_capped(void **state)
{
    (void)state;
    struct strbuf zip, detail;
    struct sink s;
    craft_many(100, &zip);
    strbuf_init(&detail, 10);
    sink_init(&s, false);
    assert_int_equal(unzip(&zip, &s, &detail), DMARCD_E_TOO_MANY);
    assert_int_equal(detail.len, 10);
    assert_string_equal(detail.buf, "zip direct");
    strbuf_release(&detail);
    strbuf_release(&zip);
}

static void test_zip_corrupt(void **state)
{
    (void)state;
    const struct wfile files[] = { { "a.xml", "<feedback>aaaaaaaaaaaaaaaaaaaaaaa</feedback>" } };
    struct strbuf zip, junk, detail;
    struct sink s;
    strbuf_init(&detail, 0);

    strbuf_init(&junk, 0); /* a zip magic, then noise */
    (void)strbuf_add(&junk, "PK\x03\x04", 4);
    for (int i = 0; i < 2000; i++)
        (void)strbuf_addch(&junk, (char)rng());
    sink_init(&s, false);
    assert_int_equal(unzip(&junk, &s, &detail), DMARCD_E_ARCHIVE);
    assert_true(detail.len > 0);
    assert_int_equal(s.ends, 0);
    strbuf_release(&junk);

    /* every proper prefix of a real zip: an error, never a crash or OK */
    assert_int_equal(zip_write(files, 1, NULL, &zip), ARCHIVE_OK);
    for (size_t cut = 0; cut < zip.len; cut++) {
        struct strbuf prefix;
        strbuf_init(&prefix, 0);
        (void)strbuf_add(&prefix, zip.buf, cut);
        sink_init(&s, false);
        enum dmarcd_err rc = unzip(&prefix, &s, NULL);
        if (rc != DMARCD_E_ARCHIVE)
            fail_msg("prefix %zu of %zu: %s", cut, zip.len, dmarcd_err_code(rc));
        assert_int_equal(s.begins, 0); /* refused whole: no end record */
        assert_int_equal(s.begins, s.ends + s.aborts);
        strbuf_release(&prefix);
    }
    strbuf_release(&zip);

    /* a member whose deflate data is damaged: aborted with ARCHIVE */
    struct strbuf z;
    struct strbuf xml;
    make_xml(&xml, 64 * KiB);
    struct zentry e = deflated_entry("bad.xml", xml.buf, xml.len, &z);
    ((unsigned char *)z.buf)[0] |= 0x06; /* reserved block type */
    zip_craft(&zip, &e, 1);
    sink_init(&s, false);
    assert_int_equal(unzip(&zip, &s, &detail), DMARCD_E_ARCHIVE);
    assert_int_equal(s.aborts, 1);
    assert_int_equal(s.ends, 0);
    strbuf_release(&zip);
    strbuf_release(&z);
    strbuf_release(&xml);
    strbuf_release(&detail);
}

/* A bad CRC spoils that member only; the next one is still read. */
static void test_zip_bad_crc_member_then_good(void **state)
{
    (void)state;
    struct strbuf z1, z2, zip, detail;
    struct sink s;
    struct zentry e[2] = {
        deflated_entry("bad.xml", "<feedback>1</feedback>", 22, &z1),
        deflated_entry("good.xml", "<feedback>2</feedback>", 22, &z2),
    };
    e[0].crc ^= 1;
    zip_craft(&zip, e, 2);
    sink_init(&s, false);
    strbuf_init(&detail, 0);
    assert_int_equal(unzip(&zip, &s, &detail), DMARCD_E_ARCHIVE);
    assert_int_equal(s.begins, 2);
    assert_int_equal(s.aborts, 1);
    assert_int_equal(s.ends, 1);
    assert_non_null(strstr(detail.buf, "bad.xml"));
    strbuf_release(&detail);
    strbuf_release(&zip);
    strbuf_release(&z2);
    strbuf_release(&z1);
}

static void three_member_zip(struct strbuf *zip);

/* Two stored entries of 22 bytes. */
static void two_stored(struct strbuf *zip, uint16_t method1)
{
    static const char a[] = "<feedback>a</feedback>", b[] = "<feedback>b</feedback>";
    struct zentry e[2] = {
        { .name = "a.xml", .method = method1, .data = a, .data_len = 22,
          .crc = (uint32_t)crc32(0, (const Bytef *)a, 22), .csize = 22, .usize = 22 },
        { .name = "b.xml", .data = b, .data_len = 22,
          .crc = (uint32_t)crc32(0, (const Bytef *)b, 22), .csize = 22, .usize = 22 },
    };
    zip_craft(zip, e, 2);
}

/* An unreadable compression method spoils that member only. */
static void test_zip_unsupported_method(void **state)
{
    (void)state;
    struct strbuf zip, detail;
    struct sink s;
    two_stored(&zip, 99);
    sink_init(&s, true);
    strbuf_init(&detail, 0);
    assert_int_equal(unzip(&zip, &s, &detail), DMARCD_E_ARCHIVE);
    assert_int_equal(s.begins, 2);
    assert_int_equal(s.aborts, 1);
    assert_int_equal(s.ends, 1);
    assert_string_equal(s.out.buf, "<feedback>b</feedback>");
    assert_non_null(strstr(detail.buf, "a.xml"));
    strbuf_release(&s.out);
    strbuf_release(&detail);
    strbuf_release(&zip);
}

/* A damaged second local header: the first member was delivered, then
 * the walk stops with ARCHIVE. */
static void test_zip_damaged_second_header(void **state)
{
    (void)state;
    struct strbuf zip, detail;
    struct sink s;
    two_stored(&zip, 0);
    char *second = memmem(zip.buf + 4, zip.len - 4, "PK\x03\x04", 4);
    assert_non_null(second);
    second[2] = 'X';
    sink_init(&s, false);
    strbuf_init(&detail, 0);
    assert_int_equal(unzip(&zip, &s, &detail), DMARCD_E_ARCHIVE);
    assert_int_equal(s.begins, 1);
    assert_int_equal(s.ends, 1);
    assert_non_null(strstr(detail.buf, "entry 2"));
    strbuf_release(&detail);
    strbuf_release(&zip);
}

/* Each member stays under the grace, together they are a bomb: the
 * archive-wide ratio stops them. */
static void test_zip_many_small_bombs(void **state)
{
    (void)state;
    struct strbuf z, zip, detail;
    struct sink s;
    struct zentry e[8];
    char *zeros = xcalloc(1, MiB);
    e[0] = deflated_entry("0.xml", zeros, MiB, &z);
    for (int i = 1; i < 8; i++)
        e[i] = e[0];
    zip_craft(&zip, e, 8);
    assert_true(zip.len * DMARCD_MAX_EXPANSION_RATIO < 8 * MiB);
    sink_init(&s, false);
    strbuf_init(&detail, 0);
    assert_int_equal(unzip(&zip, &s, &detail), DMARCD_E_RATIO);
    assert_true(s.ends >= 1);
    assert_int_equal(s.aborts, 1);
    assert_true(s.bytes <= zip.len * DMARCD_MAX_EXPANSION_RATIO); /* exact, no slack */
    assert_non_null(strstr(detail.buf, "archive"));
    free(zeros);
    strbuf_release(&detail);
    strbuf_release(&zip);
    strbuf_release(&z);
}

static enum dmarcd_err end_fails(void *ctx)
{
    struct sink *s = ctx;
    s->ends++;
    return s->ends == 1 ? DMARCD_E_BAD_REPORT : DMARCD_OK;
}

/* A permanent error from member_end is remembered; the walk goes on. */
static void test_zip_member_end_error(void **state)
{
    (void)state;
    struct strbuf zip;
    struct sink s;
    struct zip_callbacks cb = sink_zip;
    cb.member_end = end_fails;
    three_member_zip(&zip);
    sink_init(&s, false);
    assert_int_equal(zip_unpack(zip.buf, zip.len, &cb, &s, NULL), DMARCD_E_BAD_REPORT);
    assert_int_equal(s.ends, 3);
    assert_int_equal(s.aborts, 0);
    strbuf_release(&zip);
}

static void test_zip_encrypted(void **state)
{
    (void)state;
    const struct wfile files[] = { { "secret.xml", "<feedback>hidden</feedback>" } };
    struct strbuf zip, detail;
    struct sink s;
    if (zip_write(files, 1, "zip:encryption=zipcrypt", &zip) != ARCHIVE_OK) {
        strbuf_release(&zip);
        skip(); /* this libarchive cannot write encrypted zips */
    }
    sink_init(&s, false);
    strbuf_init(&detail, 0);
    assert_int_equal(unzip(&zip, &s, &detail), DMARCD_E_ARCHIVE);
    assert_non_null(strstr(detail.buf, "encrypted"));
    assert_int_equal(s.calls, 0);
    assert_int_equal(s.ends, 0);
    assert_int_equal(s.aborts, s.begins);
    strbuf_release(&detail);
    strbuf_release(&zip);
}

static void test_zip_empty_archive(void **state)
{
    (void)state;
    struct strbuf zip;
    struct sink s;
    strbuf_init(&zip, 0);
    (void)strbuf_add(&zip, "PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);
    assert_int_equal(content_sniff(zip.buf, zip.len), CONTENT_ZIP);
    sink_init(&s, false);
    assert_int_equal(unzip(&zip, &s, NULL), DMARCD_OK);
    assert_int_equal(s.begins, 0);
    strbuf_release(&zip);
}

/* Bytes after the end record (a CRLF, as Mimecast adds to gzip) are
 * tolerated, like a zip comment. */
static void test_zip_trailing_bytes(void **state)
{
    (void)state;
    const struct wfile files[] = { { "a.xml", "<feedback/>" } };
    struct strbuf zip;
    struct sink s;
    assert_int_equal(zip_write(files, 1, NULL, &zip), ARCHIVE_OK);
    (void)strbuf_addstr(&zip, "\r\n");
    sink_init(&s, true);
    assert_int_equal(unzip(&zip, &s, NULL), DMARCD_OK);
    assert_string_equal(s.out.buf, "<feedback/>");
    strbuf_release(&s.out);
    strbuf_release(&zip);
}

static void three_member_zip(struct strbuf *zip)
{
    const struct wfile files[] = {
        { "1.xml", "<feedback>1</feedback>" },
        { "2.xml", "<feedback>2</feedback>" },
        { "3.xml", "<feedback>3</feedback>" },
    };
    assert_int_equal(zip_write(files, 3, NULL, zip), ARCHIVE_OK);
}

/* A permanent error from member 1's data: member 1 aborted, 2 and 3 read,
 * the first error returned at the end. */
static void test_zip_permanent_error_goes_on(void **state)
{
    (void)state;
    struct strbuf zip, detail;
    struct sink s;
    three_member_zip(&zip);
    sink_init(&s, false);
    s.fail_with = DMARCD_E_XML;
    s.fail_at_call = 1;
    s.fail_member = 1;
    strbuf_init(&detail, 0);
    assert_int_equal(unzip(&zip, &s, &detail), DMARCD_E_XML);
    assert_int_equal(s.begins, 3);
    assert_int_equal(s.ends, 2);
    assert_int_equal(s.aborts, 1);
    assert_non_null(strstr(detail.buf, "1.xml"));

    sink_init(&s, false); /* member_begin refusing permanently: no abort */
    s.begin_ret[1] = DMARCD_E_BAD_REPORT;
    assert_int_equal(unzip(&zip, &s, &detail), DMARCD_E_BAD_REPORT);
    assert_int_equal(s.begins, 3);
    assert_int_equal(s.ends, 2);
    assert_int_equal(s.aborts, 0);
    strbuf_release(&detail);
    strbuf_release(&zip);
}

/* A transient error (database down) stops the walk at once. */
static void test_zip_transient_error_stops(void **state)
{
    (void)state;
    struct strbuf zip;
    struct sink s;
    three_member_zip(&zip);
    sink_init(&s, false);
    s.fail_with = DMARCD_E_DB_UNAVAILABLE;
    s.fail_at_call = 1;
    s.fail_member = 1;
    assert_int_equal(unzip(&zip, &s, NULL), DMARCD_E_DB_UNAVAILABLE);
    assert_int_equal(s.begins, 1);
    assert_int_equal(s.aborts, 1);
    assert_int_equal(s.abort_err, DMARCD_E_DB_UNAVAILABLE);

    sink_init(&s, false); /* from member_begin too */
    s.begin_ret[1] = DMARCD_E_TIMEOUT;
    assert_int_equal(unzip(&zip, &s, NULL), DMARCD_E_TIMEOUT);
    assert_int_equal(s.begins, 2);
    assert_int_equal(s.ends, 1);
    strbuf_release(&zip);
}

/* DMARCD_E_NOT_FOUND from member_begin skips a member quietly. */
static void test_zip_skip_member(void **state)
{
    (void)state;
    struct strbuf zip;
    struct sink s;
    three_member_zip(&zip);
    sink_init(&s, true);
    s.begin_ret[0] = DMARCD_E_NOT_FOUND;
    assert_int_equal(unzip(&zip, &s, NULL), DMARCD_OK);
    assert_int_equal(s.begins, 3);
    assert_int_equal(s.ends, 2);
    assert_int_equal(s.aborts, 0);
    assert_string_equal(s.out.buf, "<feedback>2</feedback><feedback>3</feedback>");
    strbuf_release(&s.out);
    strbuf_release(&zip);
}

/* DMARCD_E_NOT_FOUND from member_data stops that member quietly: aborted
 * (so per-member state can go), not an error of the walk. */
static void test_zip_data_not_found_skips(void **state)
{
    (void)state;
    struct strbuf zip;
    struct sink s;
    three_member_zip(&zip);
    sink_init(&s, false);
    s.fail_with = DMARCD_E_NOT_FOUND;
    s.fail_at_call = 1;
    s.fail_member = 2;
    assert_int_equal(unzip(&zip, &s, NULL), DMARCD_OK);
    assert_int_equal(s.begins, 3);
    assert_int_equal(s.ends, 2);
    assert_int_equal(s.aborts, 1);
    assert_int_equal(s.abort_err, DMARCD_E_NOT_FOUND);
    strbuf_release(&zip);
}

/* member_abort may be left NULL. */
static void test_zip_without_abort_callback(void **state)
{
    (void)state;
    struct strbuf zip;
    struct sink s;
    struct zip_callbacks cb = sink_zip;
    cb.member_abort = NULL;
    three_member_zip(&zip);
    sink_init(&s, false);
    s.fail_with = DMARCD_E_XML;
    s.fail_at_call = 1;
    assert_int_equal(zip_unpack(zip.buf, zip.len, &cb, &s, NULL), DMARCD_E_XML);
    assert_int_equal(s.begins, 3);
    assert_int_equal(s.aborts, 0);
    strbuf_release(&zip);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff_table),
        cmocka_unit_test(test_sniff_field_name_lengths),
        cmocka_unit_test(test_sniff_mail_window),
        cmocka_unit_test(test_sniff_tiny_inputs),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_gzip_roundtrip_whole),
        cmocka_unit_test(test_gzip_roundtrip_byte_by_byte),
        cmocka_unit_test(test_zlib_stream),
        cmocka_unit_test(test_gzip_trailing_junk),
        cmocka_unit_test(test_gzip_truncated),
        cmocka_unit_test(test_gzip_corrupt),
        cmocka_unit_test(test_inflater_error_is_sticky),
        cmocka_unit_test(test_inflater_empty_input),
        cmocka_unit_test(test_gzip_bomb_ratio),
        cmocka_unit_test(test_inflate_too_big),
        cmocka_unit_test(test_inflate_large_ok),
        cmocka_unit_test(test_inflate_emit_error_stops),
        cmocka_unit_test(test_zip_members_and_directory),
        cmocka_unit_test(test_zip_empty_member_name),
        cmocka_unit_test(test_zip_too_many),
        cmocka_unit_test(test_zip_too_many_lying_end_record),
        cmocka_unit_test(test_zip_bomb),
        cmocka_unit_test(test_zip_too_big_across_members),
        cmocka_unit_test(test_zip_declared_size_lies),
        cmocka_unit_test(test_zip_detail_capped),
        cmocka_unit_test(test_zip_corrupt),
        cmocka_unit_test(test_zip_bad_crc_member_then_good),
        cmocka_unit_test(test_zip_unsupported_method),
        cmocka_unit_test(test_zip_damaged_second_header),
        cmocka_unit_test(test_zip_many_small_bombs),
        cmocka_unit_test(test_zip_member_end_error),
        cmocka_unit_test(test_zip_encrypted),
        cmocka_unit_test(test_zip_empty_archive),
        cmocka_unit_test(test_zip_trailing_bytes),
        cmocka_unit_test(test_zip_permanent_error_goes_on),
        cmocka_unit_test(test_zip_transient_error_stops),
        cmocka_unit_test(test_zip_skip_member),
        cmocka_unit_test(test_zip_data_not_found_skips),
        cmocka_unit_test(test_zip_without_abort_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
