/*
 * Unit tests for the pull path of the report engine: parse.c lets libxml2
 * pull a (gzip'd) XML input instead of pushing it, and must give exactly
 * what the push path gives. The push path is still what a pipe gets (a
 * pipe cannot be read twice, which a redo by push needs), so each input is
 * parsed from a file (pulled), from a buffer (pulled) and from a pipe
 * (pushed), and the three sink logs must be identical, call by call. Also
 * here: the inflater's pull interface against its push interface.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/strbuf.h"
#include "parser/parse.h"
#include "parser/unpack.h"
#include "tests/unit/fixture.h"
#include "lib/banned.h"

#define S(x) ((x) ? (x) : "-")

/* ---- a sink that logs every call ---- */

static enum dmarcd_err l_begin(void *ctx, const struct report_source *src,
                               const struct agg_report *r)
{
    strbuf_addf(ctx, "begin %s|%s %s org=%s id=%s domain=%s\n", S(src->file), S(src->part),
                agg_format_name(r->format), S(r->org_name), S(r->report_id),
                S(r->policy.domain));
    return DMARCD_OK;
}

static enum dmarcd_err l_record(void *ctx, const struct agg_record *r)
{
    strbuf_addf(ctx, "record %s %" PRIu64 " %s %s dkim=%zu spf=%zu\n", r->source_ip, r->count,
                S(r->disposition), S(r->header_from), r->n_dkim, r->n_spf);
    return DMARCD_OK;
}

static enum dmarcd_err l_end(void *ctx, const struct agg_report *r, const struct agg_totals *t,
                             const struct report_warnings *w)
{
    (void)r;
    strbuf_addf(ctx, "end records=%" PRIu64 " messages=%" PRIu64 "\n", t->records, t->messages);
    for (size_t i = 0; i < w->count; i++)
        strbuf_addf(ctx, "  warning: %s\n", w->items[i]);
    return DMARCD_OK;
}

static void l_abort(void *ctx, const struct report_source *src, enum dmarcd_err err,
                    const char *detail)
{
    strbuf_addf(ctx, "abort %s|%s %s: %s\n", S(src->file), S(src->part), dmarcd_err_code(err),
                S(detail));
}

static const struct report_sink_ops log_ops = {
    .name = "log",
    .agg_begin = l_begin,
    .agg_record = l_record,
    .agg_end = l_end,
    .abort = l_abort,
};

/* ---- parsing one input three ways ---- */

/* bytes_in only when all was read: after a failure it depends on the reads. */
static void log_result(struct strbuf *log, enum dmarcd_err rc, const struct parse_stats *st)
{
    strbuf_addf(log, "rc=%s reports=%" PRIu64 " failed=%" PRIu64 " bytes_in=%" PRIu64 "\n",
                dmarcd_err_code(rc), st->reports, st->failed, rc ? 0 : st->bytes_in);
}

static void parse_buffer(const char *data, size_t len, bool strict, struct strbuf *log)
{
    struct parse_options opts = { .strict = strict };
    struct parse_stats st = { 0 };
    struct report_sink sink = { .ops = &log_ops, .ctx = log };
    log_result(log, report_parse_buffer(data, len, "in", &opts, &sink, &st), &st);
}

static void parse_fd(int fd, bool strict, struct strbuf *log)
{
    struct parse_options opts = { .strict = strict };
    struct parse_stats st = { 0 };
    struct report_sink sink = { .ops = &log_ops, .ctx = log };
    log_result(log, report_parse_fd(fd, "in", &opts, &sink, &st), &st);
}

static void parse_file(const char *data, size_t len, bool strict, struct strbuf *log)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fflush(f), 0);
    rewind(f);
    parse_fd(fileno(f), strict, log);
    fclose(f);
}

/* A pipe, written by a child process in pieces of 1000 bytes. */
static void parse_pipe(const char *data, size_t len, bool strict, struct strbuf *log)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        for (size_t off = 0; off < len;) {
            ssize_t n = write(fds[1], data + off, len - off < 1000 ? len - off : 1000);
            if (n <= 0)
                _exit(1);
            off += (size_t)n;
        }
        _exit(0);
    }
    close(fds[1]);
    parse_fd(fds[0], strict, log);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

/* File and buffer (pulled) must log exactly what the pipe (pushed) logs. */
static void check_same(const char *what, const char *data, size_t len)
{
    for (int strict = 0; strict < 2; strict++) {
        struct strbuf pushed, file, buffer;
        strbuf_init(&pushed, 0);
        strbuf_init(&file, 0);
        strbuf_init(&buffer, 0);
        parse_pipe(data, len, strict, &pushed);
        parse_file(data, len, strict, &file);
        parse_buffer(data, len, strict, &buffer);
        if (strcmp(pushed.buf, file.buf) != 0 || strcmp(pushed.buf, buffer.buf) != 0) {
            fprintf(stderr, "%s (strict=%d): pushed\n%s\nfile\n%s\nbuffer\n%s", what,
                    strict, pushed.buf, file.buf, buffer.buf);
            fail_msg("%s (strict=%d): the logs differ (above)", what, strict);
        }
        strbuf_release(&pushed);
        strbuf_release(&file);
        strbuf_release(&buffer);
    }
}

/* ---- inputs ---- */

/* A report with `records` records (about 330 bytes each); record number
 * `broken` (1-based, 0: none) has an unescaped '<' in its header_from. */
static char *big_report(int records, int broken)
{
    struct strbuf sb;
    strbuf_init(&sb, 0);
    strbuf_addstr(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n"
                       "<report_metadata><org_name>big.example</org_name>"
                       "<email>r@big.example</email><report_id>big-1</report_id>"
                       "<date_range><begin>1700000000</begin><end>1700086399</end>"
                       "</date_range></report_metadata>\n<policy_published>"
                       "<domain>example.com</domain><p>none</p></policy_published>\n");
    for (int i = 1; i <= records; i++)
        strbuf_addf(&sb, "<record>\n<row>\n<source_ip>192.0.2.%d</source_ip>\n"
                    "<count>%d</count>\n<policy_evaluated>\n<disposition>none</disposition>\n"
                    "<dkim>pass</dkim>\n<spf>fail</spf>\n</policy_evaluated>\n</row>\n"
                    "<identifiers>\n<header_from>%s%d.example.com</header_from>\n"
                    "</identifiers>\n<auth_results>\n<dkim>\n<domain>example.com</domain>\n"
                    "<result>pass</result>\n</dkim>\n</auth_results>\n</record>\n",
                    i % 250 + 1, i, i == broken ? "a<b" : "h", i);
    strbuf_addstr(&sb, "</feedback>\n");
    return strbuf_detach(&sb, NULL);
}

/* gzip (wbits 16 + 15) or zlib (15) of data. */
static char *deflated(const char *data, size_t len, int wbits, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)len);
    char *out = malloc(cap);
    assert_non_null(out);
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    return out;
}

static void check_compressed(const char *what, const char *xml, size_t len)
{
    char name[128];
    size_t gz_len, gz2_len, zz_len;
    char *gz = deflated(xml, len, 16 + MAX_WBITS, &gz_len);
    char *gz2 = deflated(gz, gz_len, 16 + MAX_WBITS, &gz2_len);
    char *zz = deflated(xml, len, MAX_WBITS, &zz_len);

    (void)snprintf(name, sizeof(name), "%s.gz", what);
    check_same(name, gz, gz_len);
    (void)snprintf(name, sizeof(name), "%s.gz.gz", what);
    check_same(name, gz2, gz2_len);
    (void)snprintf(name, sizeof(name), "%s.zz", what);
    check_same(name, zz, zz_len);
    (void)snprintf(name, sizeof(name), "%s.gz cut short", what);
    check_same(name, gz, gz_len * 2 / 3);
    check_same(name, gz, gz_len - 3);
    (void)snprintf(name, sizeof(name), "%s.gz.gz cut short", what);
    check_same(name, gz2, gz2_len * 2 / 3);
    (void)snprintf(name, sizeof(name), "%s.gz with trailing bytes", what);
    char *trail = malloc(gz_len + 20);
    assert_non_null(trail);
    memcpy(trail, gz, gz_len);
    memcpy(trail + gz_len, "Mimecast was here\n", 18);
    check_same(name, trail, gz_len + 18);
    free(trail);
    free(gz);
    free(gz2);
    free(zz);
}

/* ---- tests ---- */

static void test_fixtures_pull_as_push(void **state)
{
    (void)state;
    static const char *const fixtures[] = {
        "rfc7489.xml", "rfc9990.xml", "draft-version.xml", "quirks.xml", "shuffled.xml",
        "no-records.xml", "truncated.xml", "bad-utf8.xml", "cp1252.xml", "data-range.xml",
        "hybrid-np.xml", "wrapped-schema.xml",
    };
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        size_t len;
        char *xml = fixture_read("aggregate", fixtures[i], &len);
        check_same(fixtures[i], xml, len);
        check_compressed(fixtures[i], xml, len);
        for (size_t cut = 1; cut < len; cut += len / 7 + 1)
            check_same(fixtures[i], xml, cut);         /* truncated plain XML */
        free(xml);
    }
}

static void test_big_report_pull_as_push(void **state)
{
    (void)state;
    char *xml = big_report(2000, 0);
    check_same("big", xml, strlen(xml));
    check_compressed("big", xml, strlen(xml));
    free(xml);
}

/* An xml error after many records were delivered: the pull is redone by
 * push, and the sink must not get the first records twice. */
static void test_broken_report_is_redone_by_push(void **state)
{
    (void)state;
    static const int broken_at[] = { 1, 150, 1500 };
    for (size_t i = 0; i < sizeof(broken_at) / sizeof(broken_at[0]); i++) {
        char *xml = big_report(2000, broken_at[i]);
        check_same("broken big", xml, strlen(xml));
        check_compressed("broken big", xml, strlen(xml));
        free(xml);
    }
}

/* Namespaces (the pull path reads SAX1 and leaves to push what SAX2 would
 * read otherwise), other encodings, a NUL after the root. */
static void test_variants_pull_as_push(void **state)
{
    (void)state;
    static const char *const heads[] = {
        "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">",
        ("<feedback xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
         "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">"),
        "<d:feedback xmlns:d=\"http://dmarc.org/dmarc-xml/0.2\">",
        "<x:feedback>",
        "<feedback xmlns:a=\"urn:x\" xmlns:b=\"urn:x\" a:z=\"1\" b:z=\"2\">",
        "<feedback xmlns=\"http://www.w3.org/XML/1998/namespace\">",
        "<feedback xmlns:p=\"\">",
        "<feedback a:b:c=\"1\">",
        "<feedback xml:lang=\"en\">",
    };
    static const char *const tails[] = {
        "</feedback>\n", "</d:feedback>\n", "</x:feedback>\n",
    };
    for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
        char *xml = big_report(300, 0);
        struct strbuf sb;
        strbuf_init(&sb, 0);
        const char *body = strstr(xml, "<feedback>") + strlen("<feedback>");
        size_t body_len = (size_t)(strstr(xml, "</feedback>") - body);
        strbuf_addf(&sb, "%s%.*s", heads[h], (int)body_len, body);
        strbuf_addstr(&sb, strncmp(heads[h], "<d:", 3) == 0   ? tails[1]
                           : strncmp(heads[h], "<x:", 3) == 0 ? tails[2]
                                                              : tails[0]);
        check_same(heads[h], sb.buf, sb.len);
        strbuf_release(&sb);
        free(xml);
    }
    static const char *const encodings[] = { "ISO-8859-1", "ASCII", "UTF-16" };
    for (size_t e = 0; e < sizeof(encodings) / sizeof(encodings[0]); e++) {
        char *xml = big_report(300, 0);
        struct strbuf sb;
        strbuf_init(&sb, 0);
        strbuf_addf(&sb, "<?xml version=\"1.0\" encoding=\"%s\"?>%s", encodings[e],
                    strstr(xml, "?>") + 2);
        check_same(encodings[e], sb.buf, sb.len);
        strbuf_release(&sb);
        free(xml);
    }
    static const char nul_after_root[] = "<feedback>" "</feedback>\n\0\n";
    check_same("nul after the root", nul_after_root, sizeof(nul_after_root) - 1);
}

/* The inflater pulled gives the chunks, errors and details it gives pushed. */
struct chunks {
    struct strbuf log;
};

static enum dmarcd_err log_chunk(void *ctx, const void *data, size_t len)
{
    struct chunks *c = ctx;
    strbuf_addf(&c->log, "%zu:%02x ", len, ((const unsigned char *)data)[0]);
    return DMARCD_OK;
}

/* Moves the chunk log and how the inflater ended into out. */
static void log_inflated(struct strbuf *out, struct chunks *c, enum dmarcd_err rc,
                         const struct inflater *z)
{
    strbuf_addf(out, "%s%s [%s] out=%" PRIu64 " trailing=%" PRIu64, c->log.buf ? c->log.buf : "",
                dmarcd_err_code(rc), inflater_detail(z), inflater_total_out(z),
                inflater_trailing(z));
    strbuf_reset(&c->log);
}

static void inflate_both(const char *in, size_t len, size_t slice, struct strbuf *pushed,
                         struct strbuf *pulled)
{
    struct inflater *a = inflater_new(), *b = inflater_new();
    struct chunks c;
    strbuf_init(&c.log, 0);
    enum dmarcd_err ra = DMARCD_OK, rb = DMARCD_OK;
    for (size_t off = 0; off < len && !ra; off += slice)
        ra = inflater_feed(a, in + off, len - off < slice ? len - off : slice, log_chunk, &c);
    if (!ra)
        ra = inflater_finish(a, NULL, NULL);
    log_inflated(pushed, &c, ra, a);
    for (size_t off = 0; off < len && !rb; off += slice) {
        inflater_input(b, in + off, len - off < slice ? len - off : slice);
        for (;;) {
            const void *out;
            size_t n;
            rb = inflater_next(b, &out, &n);
            if (rb || !n)
                break;
            (void)log_chunk(&c, out, n);
        }
    }
    if (!rb)
        rb = inflater_finish(b, NULL, NULL);
    log_inflated(pulled, &c, rb, b);
    strbuf_release(&c.log);
    inflater_free(a);
    inflater_free(b);
}

static void test_inflater_pull_as_push(void **state)
{
    (void)state;
    char *xml = big_report(3000, 0);
    size_t len = strlen(xml), gz_len;
    char *gz = deflated(xml, len, 16 + MAX_WBITS, &gz_len);
    char *zeros = calloc(1, 8 << 20);
    assert_non_null(zeros);
    size_t bomb_len;
    char *bomb = deflated(zeros, 8 << 20, 16 + MAX_WBITS, &bomb_len);
    char *junk = malloc(gz_len + 10);
    assert_non_null(junk);
    memcpy(junk, gz, gz_len);
    memcpy(junk + gz_len, "0123456789", 10);
    junk[gz_len / 2] ^= 0x55;                   /* corrupt in the middle */

    const struct {
        const char *data;
        size_t len;
    } inputs[] = {
        { gz, gz_len }, { gz, gz_len / 3 }, { junk, gz_len + 10 }, { bomb, bomb_len },
        { junk, gz_len / 2 + 100 }, { gz, 1 },
    };
    static const size_t slices[] = { 1, 7, 512, 4096, 65536, 1 << 20 };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        for (size_t s = 0; s < sizeof(slices) / sizeof(slices[0]); s++) {
            if (slices[s] < 512 && inputs[i].len > 100000)
                continue;                       /* slow and adds nothing */
            struct strbuf pushed, pulled;
            strbuf_init(&pushed, 0);
            strbuf_init(&pulled, 0);
            inflate_both(inputs[i].data, inputs[i].len, slices[s], &pushed, &pulled);
            if (strcmp(pushed.buf, pulled.buf) != 0)
                fail_msg("input %zu slice %zu:\npushed %s\npulled %s", i, slices[s],
                         pushed.buf, pulled.buf);
            strbuf_release(&pushed);
            strbuf_release(&pulled);
        }
    }
    free(junk);
    free(bomb);
    free(zeros);
    free(gz);
    free(xml);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);   /* a pipe's reader may stop before the writer */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_pull_as_push),
        cmocka_unit_test(test_big_report_pull_as_push),
        cmocka_unit_test(test_broken_report_is_redone_by_push),
        cmocka_unit_test(test_variants_pull_as_push),
        cmocka_unit_test(test_inflater_pull_as_push),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
