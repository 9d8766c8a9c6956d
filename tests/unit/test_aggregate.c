/*
 * Unit tests for parser/aggregate: the streaming aggregate report parser.
 * A collecting sink renders every callback into a text log, so a test can
 * compare whole parses (and chunked feeding must give the identical log).
 * Every test runs twice: fed (push), then pulled (agg_parser_pull, redone
 * by push when the parser says so, as parse.c does); the pull-only tests
 * check when that redo happens and what a failing reader leaves.
 * Fixtures are hand-written under tests/data/aggregate/ (see its README);
 * hostile documents (billion laughs, XXE, deep nesting, long text, too many
 * entries) are generated here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/limits.h"
#include "lib/strbuf.h"
#include "parser/aggregate.h"
#include "tests/unit/fixture.h"
#include "lib/banned.h"

#define S(x) ((x) ? (x) : "-")

/* ---- the collecting sink ---- */

struct collect {
    struct strbuf log;
    int begins, records, ends;
    enum agg_format format;
    struct agg_totals totals;
    char *warnings[DMARCD_MAX_WARNINGS];
    size_t n_warnings, dropped;
    size_t last_n_dkim, last_n_spf, last_n_reasons;
    char src_part[64];
    /* failure injection */
    int fail_begin;
    int fail_record_at;         /* 1-based record number, 0 = never */
    int fail_end;
    enum dmarcd_err fail_with;
};

static void collect_init(struct collect *c)
{
    memset(c, 0, sizeof(*c));
    strbuf_init(&c->log, 0);
}

static void collect_release(struct collect *c)
{
    strbuf_release(&c->log);
    for (size_t i = 0; i < c->n_warnings; i++)
        free(c->warnings[i]);
    memset(c, 0, sizeof(*c));
}

static enum dmarcd_err c_begin(void *ctx, const struct report_source *src,
                               const struct agg_report *r)
{
    struct collect *c = ctx;
    const struct agg_policy *p = &r->policy;
    c->begins++;
    c->format = r->format;
    (void)snprintf(c->src_part, sizeof(c->src_part), "%s|%s", S(src->file), S(src->part));
    strbuf_addf(&c->log, "begin format=%s version=%s org=%s email=%s contact=%s id=%s "
                "range=%" PRId64 "..%" PRId64 " generator=%s errors=",
                agg_format_name(r->format), S(r->version), S(r->org_name), S(r->email),
                S(r->extra_contact_info), S(r->report_id), r->begin, r->end, S(r->generator));
    for (size_t i = 0; i < r->errors.count; i++)
        strbuf_addf(&c->log, "[%s]", r->errors.items[i]);
    strbuf_addf(&c->log, " domain=%s adkim=%s aspf=%s p=%s sp=%s np=%s pct=%" PRId64
                " fo=%s testing=%s discovery=%s\n", S(p->domain), S(p->adkim), S(p->aspf),
                S(p->p), S(p->sp), S(p->np), p->pct, S(p->fo), S(p->testing),
                S(p->discovery_method));
    return c->fail_begin ? c->fail_with : DMARCD_OK;
}

static enum dmarcd_err c_record(void *ctx, const struct agg_record *r)
{
    struct collect *c = ctx;
    c->records++;
    c->last_n_dkim = r->n_dkim;
    c->last_n_spf = r->n_spf;
    c->last_n_reasons = r->n_reasons;
    if (c->fail_record_at == c->records)
        return c->fail_with;
    if (r->n_dkim > 8 || r->n_spf > 8 || r->n_reasons > 8) {
        strbuf_addf(&c->log, "record ip=%s (big)\n", r->source_ip);
        return DMARCD_OK;
    }
    strbuf_addf(&c->log, "record ip=%s count=%" PRIu64 " disposition=%s dkim=%s spf=%s "
                "header_from=%s envelope_from=%s envelope_to=%s", r->source_ip, r->count,
                S(r->disposition), S(r->dkim), S(r->spf), S(r->header_from),
                S(r->envelope_from), S(r->envelope_to));
    for (size_t i = 0; i < r->n_reasons; i++)
        strbuf_addf(&c->log, " reason=%s/%s", S(r->reasons[i].type), S(r->reasons[i].comment));
    for (size_t i = 0; i < r->n_dkim; i++) {
        const struct agg_dkim_result *d = &r->dkim_results[i];
        strbuf_addf(&c->log, " dkim_result=%s/%s/%s/%s", S(d->domain), S(d->selector),
                    S(d->result), S(d->human_result));
    }
    for (size_t i = 0; i < r->n_spf; i++) {
        const struct agg_spf_result *s = &r->spf_results[i];
        strbuf_addf(&c->log, " spf_result=%s/%s/%s/%s", S(s->domain), S(s->scope),
                    S(s->result), S(s->human_result));
    }
    strbuf_addch(&c->log, '\n');
    return DMARCD_OK;
}

static enum dmarcd_err c_end(void *ctx, const struct agg_report *r, const struct agg_totals *t,
                             const struct report_warnings *w)
{
    struct collect *c = ctx;
    c->ends++;
    c->totals = *t;
    strbuf_addf(&c->log, "end org=%s records=%" PRIu64 " messages=%" PRIu64
                " skipped=%" PRIu64 "\n", S(r->org_name), t->records, t->messages,
                t->skipped_records);
    for (size_t i = 0; i < w->count; i++) {
        strbuf_addf(&c->log, "warning: %s\n", w->items[i]);
        if (c->n_warnings < DMARCD_MAX_WARNINGS) {
            struct strbuf sb;
            strbuf_init(&sb, 0);
            strbuf_addstr(&sb, w->items[i]);
            c->warnings[c->n_warnings++] = strbuf_detach(&sb, NULL);
        }
    }
    c->dropped = w->dropped;
    return c->fail_end ? c->fail_with : DMARCD_OK;
}

static void c_abort(void *ctx, const struct report_source *src, enum dmarcd_err err,
                    const char *detail)
{
    (void)ctx, (void)src, (void)err, (void)detail;
    fail_msg("the aggregate parser must never call abort itself");
}

static const struct report_sink_ops collect_ops = {
    .name = "collect",
    .agg_begin = c_begin,
    .agg_record = c_record,
    .agg_end = c_end,
    .abort = c_abort,
};

/* ---- running the parser ---- */

struct result {
    enum dmarcd_err rc;
    char detail[600];
    bool completed;
};

/* Every test runs twice: feeding the parser (push), then letting it pull
 * (agg_parser_pull, redone by push when it says so, as parse.c does); both
 * must give the same logs, errors and details. */
static bool g_pull;
static int g_push_redos;    /* pulls redone by push, for test_pull_redo */

struct reader {
    const char *data;
    size_t len, off, chunk;
    int calls_after_end;
};

/* Hands out `chunk` bytes per call (never more than asked). */
static enum dmarcd_err read_mem(void *ctx, char *buf, size_t cap, size_t *got)
{
    struct reader *rd = ctx;
    size_t n = rd->len - rd->off;
    if (n > rd->chunk)
        n = rd->chunk;
    if (n > cap)
        n = cap;
    if (n == 0)
        rd->calls_after_end++;
    memcpy(buf, rd->data + rd->off, n);
    rd->off += n;
    *got = n;
    return DMARCD_OK;
}

static enum dmarcd_err run_feed(struct agg_parser *p, const char *xml, size_t len, size_t chunk)
{
    enum dmarcd_err rc = DMARCD_OK;
    for (size_t off = 0; off < len && !rc;) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = agg_parser_feed(p, xml + off, n);
        off += n;
    }
    return rc ? rc : agg_parser_finish(p);
}

/* A pull that must be redone by push: the sink log of the pull so far must
 * be where the push's log starts (parse.c passes on only the rest). */
static struct agg_parser *redo_by_push(struct agg_parser *p, struct collect *c,
                                       const struct report_source *src,
                                       const struct parse_options *opts, const char *xml,
                                       size_t len, size_t chunk, enum dmarcd_err *rc)
{
    char *pulled = strdup(c->log.buf ? c->log.buf : "");
    struct collect cfg = *c;
    assert_int_equal(c->ends, 0);
    agg_parser_free(p);
    collect_release(c);
    collect_init(c);
    c->fail_begin = cfg.fail_begin;
    c->fail_record_at = cfg.fail_record_at;
    c->fail_end = cfg.fail_end;
    c->fail_with = cfg.fail_with;
    struct report_sink sink = { .ops = &collect_ops, .ctx = c };
    p = agg_parser_new(src, opts, &sink);
    *rc = run_feed(p, xml, len, chunk);
    if (strncmp(c->log.buf ? c->log.buf : "", pulled, strlen(pulled)) != 0)
        fail_msg("pull delivered what push does not:\n%s\npush:\n%s", pulled, c->log.buf);
    free(pulled);
    g_push_redos++;
    return p;
}

/* Feeds xml in pieces of `chunk` bytes (0: all at once), or, in pull mode,
 * lets the parser read it `chunk` bytes at a time. */
static struct result run_chunked(struct collect *c, const char *xml, size_t len, size_t chunk,
                                 bool strict)
{
    char part[32];
    (void)snprintf(part, sizeof(part), "zip member a.xml");
    struct report_source src = { .file = "test.xml", .part = part };
    struct parse_options opts = { .strict = strict };
    struct report_sink sink = { .ops = &collect_ops, .ctx = c };
    struct agg_parser *p = agg_parser_new(&src, &opts, &sink);
    struct result r = { .rc = DMARCD_OK };

    memset(part, 'X', sizeof(part) - 1);   /* the parser must have copied it */
    if (chunk == 0)
        chunk = len ? len : 1;
    if (g_pull) {
        struct reader rd = { .data = xml, .len = len, .chunk = chunk };
        r.rc = agg_parser_pull(p, read_mem, &rd);
        if (!r.rc) {
            assert_int_equal(rd.off, len);          /* read to the end */
            assert_int_equal(rd.calls_after_end, 1);
        }
        if (r.rc && agg_parser_push_instead(p)) {
            /* as the caller would, with the source it has (part was clobbered above) */
            struct report_source again = { .file = "test.xml", .part = "zip member a.xml" };
            p = redo_by_push(p, c, &again, &opts, xml, len, chunk, &r.rc);
        }
    } else {
        r.rc = run_feed(p, xml, len, chunk);
    }
    const char *d = agg_parser_detail(p);
    (void)snprintf(r.detail, sizeof(r.detail), "%s", d ? d : "");
    r.completed = agg_parser_completed(p);
    if (!r.rc)
        assert_null(d);
    agg_parser_free(p);
    return r;
}

static struct result run(struct collect *c, const char *xml, bool strict)
{
    return run_chunked(c, xml, strlen(xml), 0, strict);
}

static struct result run_fixture(struct collect *c, const char *name, size_t chunk, bool strict)
{
    size_t len;
    char *xml = fixture_read("aggregate", name, &len);
    struct result r = run_chunked(c, xml, len, chunk, strict);
    free(xml);
    return r;
}

#define assert_contains(hay, needle)                                                 \
    do {                                                                             \
        if (!strstr((hay), (needle)))                                                \
            fail_msg("missing \"%s\" in:\n%s", (needle), (hay));                     \
    } while (0)

#define assert_lacks(hay, needle)                                                    \
    do {                                                                             \
        if (strstr((hay), (needle)))                                                 \
            fail_msg("unexpected \"%s\" in:\n%s", (needle), (hay));                  \
    } while (0)

/* ---- building documents ---- */

#define META_OK                                                                      \
    "<report_metadata><org_name>o.example</org_name><email>r@o.example</email>"      \
    "<report_id>id1</report_id><date_range><begin>1700000000</begin>"               \
    "<end>1700086399</end></date_range></report_metadata>"
#define POLICY_OK "<policy_published><domain>example.com</domain><p>none</p></policy_published>"
#define ROW_OK                                                                       \
    "<row><source_ip>192.0.2.1</source_ip><count>1</count><policy_evaluated>"        \
    "<disposition>none</disposition><dkim>pass</dkim><spf>pass</spf>"                \
    "</policy_evaluated></row><identifiers><header_from>example.com</header_from>"  \
    "</identifiers>"
#define RECORD_OK "<record>" ROW_OK "<auth_results/></record>"

static char *doc3(const char *head, const char *meta, const char *policy, const char *records)
{
    struct strbuf sb;
    strbuf_init(&sb, 0);
    strbuf_addf(&sb, "%s<feedback>%s%s%s</feedback>\n", head, meta, policy, records);
    return strbuf_detach(&sb, NULL);
}

static char *doc(const char *meta, const char *policy, const char *records)
{
    return doc3("", meta, policy, records);
}

/* A record whose auth_results/policy_evaluated repeat `piece` n times. */
static char *record_with(const char *before, const char *piece, int n, const char *after)
{
    struct strbuf sb;
    strbuf_init(&sb, 0);
    strbuf_addstr(&sb, before);
    for (int i = 0; i < n; i++)
        strbuf_addstr(&sb, piece);
    strbuf_addstr(&sb, after);
    return strbuf_detach(&sb, NULL);
}

/* ---- fixtures: formats, order, values ---- */

static const char RFC7489_LOG[] =
    "begin format=rfc7489 version=- org=mail.example email=noreply-dmarc@mail.example "
    "contact=https://mail.example/dmarc id=1234567890123456789 range=1700006400..1700092799 "
    "generator=- errors= domain=example.org adkim=r aspf=s p=quarantine sp=none np=- pct=50 "
    "fo=1 testing=- discovery=-\n"
    "record ip=192.0.2.10 count=12 disposition=none dkim=pass spf=pass "
    "header_from=example.org envelope_from=example.org envelope_to=mail.example "
    "dkim_result=example.org/s2024/pass/signature ok dkim_result=esp.example/k1/fail/- "
    "spf_result=example.org/mfrom/pass/-\n"
    "record ip=2001:db8::25 count=3 disposition=quarantine dkim=fail spf=fail "
    "header_from=news.example.org envelope_from=- envelope_to=- reason=sampled_out/pct 50 "
    "reason=local_policy/- spf_result=bounce.example.net/mfrom/softfail/- "
    "spf_result=mx.example.net/helo/none/-\n"
    "end org=mail.example records=2 messages=15 skipped=0\n";

static void test_rfc7489_report(void **state)
{
    (void)state;
    struct collect c;
    collect_init(&c);
    struct result r = run_fixture(&c, "rfc7489.xml", 0, true);
    assert_int_equal(r.rc, DMARCD_OK);
    assert_true(r.completed);
    assert_string_equal(c.log.buf, RFC7489_LOG);
    assert_string_equal(c.src_part, "test.xml|zip member a.xml");
    assert_int_equal(c.begins, 1);
    assert_int_equal(c.ends, 1);
    collect_release(&c);
}

static void test_element_order_does_not_matter(void **state)
{
    (void)state;
    struct collect c;
    collect_init(&c);
    struct result r = run_fixture(&c, "shuffled.xml", 0, true);
    assert_int_equal(r.rc, DMARCD_OK);
    assert_string_equal(c.log.buf, RFC7489_LOG);
    collect_release(&c);
}

static void test_rfc9990_namespaced_report(void **state)
{
    (void)state;
    struct collect c;
    collect_init(&c);
    struct result r = run_fixture(&c, "rfc9990.xml", 0, true);
    assert_int_equal(r.rc, DMARCD_OK);
    assert_string_equal(c.log.buf,
        "begin format=rfc9990 version=1.0 org=Reporter GmbH email=noreply-dmarc@reporter.example "
        "contact=- id=6d2be94cbabf4e838a3cf58fb4a42ab5 range=1733184000..1733270399 "
        "generator=ExampleReporter 2.1 errors=[rua URI uses an unknown scheme] "
        "domain=example.com adkim=r aspf=r p=reject sp=reject np=quarantine pct=-1 fo=- "
        "testing=n discovery=psl\n"
        "record ip=198.51.100.7 count=1 disposition=pass dkim=pass spf=pass "
        "header_from=example.com envelope_from=- envelope_to=- "
        "dkim_result=example.com/abc123/pass/Signatur g\xc3\xbcltig "
        "spf_result=example.com/mfrom/policy/-\n"
        "end org=Reporter GmbH records=1 messages=1 skipped=0\n");
    collect_release(&c);
}

static void check_format(const char *xml, enum agg_format want)
{
    struct collect c;
    collect_init(&c);
    struct result r = run(&c, xml, false);
    if (r.rc != DMARCD_OK)
        fail_msg("%s: %s", dmarcd_err_code(r.rc), r.detail);
    if (c.format != want)
        fail_msg("format %s, want %s, for:\n%s", agg_format_name(c.format),
                 agg_format_name(want), xml);
    collect_release(&c);
}

static void test_format_detection(void **state)
{
    (void)state;
    struct collect c;
    collect_init(&c);
    assert_int_equal(run_fixture(&c, "hybrid-np.xml", 0, true).rc, DMARCD_OK);
    assert_int_equal(c.format, AGG_FORMAT_RFC7489);    /* Google's <np> alone */
    assert_contains(c.log.buf, " np=reject ");
    collect_release(&c);
    collect_init(&c);
    assert_int_equal(run_fixture(&c, "draft-version.xml", 0, true).rc, DMARCD_OK);
    assert_int_equal(c.format, AGG_FORMAT_DRAFT);
    assert_int_equal(c.records, 1);
    assert_int_equal(c.n_warnings, 0);
    collect_release(&c);

    static const struct {
        const char *meta, *policy, *before_records;
        enum agg_format want;
    } cases[] = {
        { META_OK, POLICY_OK, "", AGG_FORMAT_RFC7489 },
        { META_OK, "<policy_published><domain>e.com</domain><testing>n</testing>"
                   "</policy_published>", "", AGG_FORMAT_DRAFT },
        { META_OK, "<policy_published><domain>e.com</domain><discovery_method>psl"
                   "</discovery_method></policy_published>", "", AGG_FORMAT_DRAFT },
        { "<report_metadata><org_name>o</org_name><report_id>i</report_id><generator>g"
          "</generator><date_range><begin>1</begin><end>2</end></date_range>"
          "</report_metadata>", POLICY_OK, "", AGG_FORMAT_DRAFT },
        { META_OK, POLICY_OK, "<extension><x>1</x></extension>", AGG_FORMAT_DRAFT },
        { "<version>2.0</version>" META_OK, POLICY_OK, "", AGG_FORMAT_DRAFT },
        { "<version>1.0</version>" META_OK, POLICY_OK, "", AGG_FORMAT_RFC7489 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *records = record_with(cases[i].before_records, RECORD_OK, 1, "");
        char *xml = doc(cases[i].meta, cases[i].policy, records);
        check_format(xml, cases[i].want);
        free(xml);
        free(records);
    }

}

static void test_format_by_namespace(void **state)
{
    (void)state;
    struct collect c;
    /* namespaces on the root decide first */
    static const struct {
        const char *open;
        enum agg_format want;
    } ns[] = {
        { "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">", AGG_FORMAT_RFC9990 },
        { "<feedback xmlns=\"http://dmarc.org/dmarc-xml/0.2\">", AGG_FORMAT_DRAFT },
        { "<feedback xmlns=\"http://dmarc.org/dmarc-xml/0.1\">", AGG_FORMAT_RFC7489 },
        { "<feedback xmlns:ns1=\"http://dmarc.org/dmarc-xml/0.1\" xmlns:xsi=\"http://www.w3."
          "org/2001/XMLSchema-instance\" xsi:schemaLocation=\"x y\">", AGG_FORMAT_RFC7489 },
    };
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        struct strbuf sb;
        strbuf_init(&sb, 0);
        strbuf_addf(&sb, "%s%s%s%s</feedback>", ns[i].open, META_OK, POLICY_OK, RECORD_OK);
        check_format(sb.buf, ns[i].want);
        strbuf_release(&sb);
    }

    /* RFC 9990 with a prefix on every element: local names still match */
    collect_init(&c);
    struct result r = run(&c,
        "<d:feedback xmlns:d=\"urn:ietf:params:xml:ns:dmarc-2.0\"><d:report_metadata>"
        "<d:org_name>p.example</d:org_name><d:report_id>x</d:report_id><d:date_range>"
        "<d:begin>1</d:begin><d:end>2</d:end></d:date_range></d:report_metadata>"
        "<d:policy_published><d:domain>e.com</d:domain></d:policy_published><d:record><d:row>"
        "<d:source_ip>192.0.2.9</d:source_ip><d:count>4</d:count></d:row></d:record>"
        "</d:feedback>", true);
    assert_int_equal(r.rc, DMARCD_OK);
    assert_int_equal(c.format, AGG_FORMAT_RFC9990);
    assert_contains(c.log.buf, "record ip=192.0.2.9 count=4 ");
    collect_release(&c);
}

static const char *const QUIRK_WARNINGS[] = {
    "report_id \"<id-42@quirks.example>\": angle brackets removed",
    "date_range begin \"1538204542.0\" truncated to whole seconds",
    "date_range end 1538290942000 read as milliseconds",
    "pct \"abc\" ignored: not a number from 0 to 100",
    "org_name missing, using the email domain \"quirks.example\"",
    "enumerated values in upper case lower-cased (6 times)",
    "disposition \"pass\" (an rfc9990 value) kept in an rfc7489 report",
    "<identities> read as <identifiers>",
    "spf result \"hardfail\" read as \"fail\" (2 times)",
    "spf result \"unknown\" read as \"temperror\"",
    "spf result \"error\" read as \"permerror\"",
    "dkim result \"invalid\" is not a known value, kept lower-cased",
    "record skipped: source_ip \"not-an-ip\" is not an IP address",
    "record skipped: no source_ip",
    "record skipped: count \"-2\" is negative",
    "record skipped: count \"many\" is not a number",
    "record skipped: no count",
    ("record skipped: source_ip \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "...\" is not an IP address"),
};

static void test_normalisations(void **state)
{
    (void)state;
    struct collect c;
    collect_init(&c);
    struct result r = run_fixture(&c, "quirks.xml", 0, false);
    assert_int_equal(r.rc, DMARCD_OK);
    assert_string_equal(c.log.buf,
        "begin format=rfc7489 version=- org=quirks.example email=dmarc@quirks.example "
        "contact=- id=id-42@quirks.example range=1538204542..1538290942 generator=- "
        "errors=[first problem][second problem] domain=Quirks.Example adkim=r aspf=s "
        "p=reject sp=- np=- pct=-1 fo=1 testing=- discovery=-\n"
        "record ip=2001:db8::1 count=3 disposition=pass dkim=pass spf=fail "
        "header_from=mail.quirks.example envelope_from=- envelope_to=- reason=forwarded/- "
        "dkim_result=quirks.example/s1/invalid/- spf_result=quirks.example/mfrom/fail/- "
        "spf_result=helo.quirks.example/helo/temperror/- "
        "spf_result=x.quirks.example/-/permerror/-\n"
        "record ip=192.0.2.7 count=1 disposition=none dkim=fail spf=pass "
        "header_from=quirks.example envelope_from=- envelope_to=- "
        "spf_result=quirks.example/-/fail/-\n"
        "end org=quirks.example records=2 messages=4 skipped=6\n"
        "warning: report_id \"<id-42@quirks.example>\": angle brackets removed\n"
        "warning: date_range begin \"1538204542.0\" truncated to whole seconds\n"
        "warning: date_range end 1538290942000 read as milliseconds\n"
        "warning: pct \"abc\" ignored: not a number from 0 to 100\n"
        "warning: org_name missing, using the email domain \"quirks.example\"\n"
        "warning: enumerated values in upper case lower-cased (6 times)\n"
        "warning: disposition \"pass\" (an rfc9990 value) kept in an rfc7489 report\n"
        "warning: <identities> read as <identifiers>\n"
        "warning: spf result \"hardfail\" read as \"fail\" (2 times)\n"
        "warning: spf result \"unknown\" read as \"temperror\"\n"
        "warning: spf result \"error\" read as \"permerror\"\n"
        "warning: dkim result \"invalid\" is not a known value, kept lower-cased\n"
        "warning: record skipped: source_ip \"not-an-ip\" is not an IP address\n"
        "warning: record skipped: no source_ip\n"
        "warning: record skipped: count \"-2\" is negative\n"
        "warning: record skipped: count \"many\" is not a number\n"
        "warning: record skipped: no count\n"
        "warning: record skipped: source_ip \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxx...\" is not an IP address\n");
    assert_int_equal(c.n_warnings, sizeof(QUIRK_WARNINGS) / sizeof(QUIRK_WARNINGS[0]));
    for (size_t i = 0; i < c.n_warnings; i++)
        assert_string_equal(c.warnings[i], QUIRK_WARNINGS[i]);
    collect_release(&c);
}

static void test_values_and_entities(void **state)
{
    (void)state;
    struct collect c;
    collect_init(&c);
    /* predefined entities and character references are fine; count 0 is a count */
    char *xml = doc("<report_metadata><org_name>A&amp;B &lt;x&gt; &#x41;&#66;&apos;&quot;"
                    "</org_name><email>r@o.example</email><report_id>r</report_id><date_range><begin>1524268700</begin>"
                    "<end>1524268799 </end></date_range></report_metadata>", POLICY_OK,
                    "<record><row><source_ip>[2001:DB8::1]</source_ip><count>0</count></row>"
                    "<identifiers><header_from>EXAMPLE.COM</header_from></identifiers></record>");
    struct result r = run(&c, xml, true);
    assert_int_equal(r.rc, DMARCD_OK);
    assert_contains(c.log.buf, " org=A&B <x> AB'\" ");
    assert_contains(c.log.buf, " range=1524268700..1524268799 ");
    assert_contains(c.log.buf, "record ip=2001:db8::1 count=0 ");
    assert_contains(c.log.buf, " header_from=example.com ");
    assert_int_equal(c.n_warnings, 0);
    free(xml);
    collect_release(&c);

    /* begin after end is kept, with a warning */
    collect_init(&c);
    xml = doc("<report_metadata><org_name>o</org_name><report_id>r</report_id><date_range>"
              "<begin>1700086399</begin><end>1700000000</end></date_range></report_metadata>",
              POLICY_OK, RECORD_OK);
    assert_int_equal(run(&c, xml, false).rc, DMARCD_OK);
    assert_contains(c.log.buf, " range=1700086399..1700000000 ");
    assert_string_equal(c.warnings[0], "date_range begin 1700086399 is after end 1700000000");
    free(xml);
    collect_release(&c);
}

/* A complete header that is implausible is kept, with a warning for each
 * oddity: an empty or over-long date range, a missing <email> or <p>. */
static void test_implausible_header(void **state)
{
    static const struct {
        const char *meta, *policy, *warning;
    } cases[] = {
        { "<report_metadata><org_name>o</org_name><email>r@o</email><report_id>r</report_id>"
          "<date_range><begin>1700000000</begin><end>1700000000</end></date_range>"
          "</report_metadata>",
          POLICY_OK, "date_range is empty (begin == end == 1700000000)" },
        { "<report_metadata><org_name>o</org_name><email>r@o</email><report_id>r</report_id>"
          "<date_range><begin>1700000000</begin><end>1700172801</end></date_range>"
          "</report_metadata>",
          POLICY_OK, "date_range spans 48 hours, more than 48" },
        { "<report_metadata><org_name>o</org_name><email>r@o</email><report_id>r</report_id>"
          "<date_range><begin>0</begin><end>99999999999</end></date_range></report_metadata>",
          POLICY_OK, "date_range spans 27777777 hours, more than 48" },
        { "<report_metadata><org_name>o</org_name><report_id>r</report_id><date_range>"
          "<begin>1700000000</begin><end>1700086399</end></date_range></report_metadata>",
          POLICY_OK, "report_metadata/email missing" },
        { META_OK, "<policy_published><domain>example.com</domain></policy_published>",
          "policy_published/p missing" },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct collect c;
        collect_init(&c);
        char *xml = doc(cases[i].meta, cases[i].policy, RECORD_OK);
        assert_int_equal(run(&c, xml, false).rc, DMARCD_OK);
        assert_int_equal(c.begins, 1);
        assert_int_equal(c.n_warnings, 1);
        assert_string_equal(c.warnings[0], cases[i].warning);
        free(xml);
        collect_release(&c);
    }
}

static void test_duplicates(void **state)
{
    (void)state;
    struct collect c;
    collect_init(&c);
    char *xml = doc(META_OK "<report_metadata><org_name>second</org_name></report_metadata>",
                    "<policy_published><domain>first.example</domain><domain>x</domain>"
                    "<p>none</p></policy_published><policy_published><domain>second.example</domain>"
                    "</policy_published>",
                    RECORD_OK "<policy_published><domain>late</domain></policy_published>");
    struct result r = run(&c, xml, false);
    assert_int_equal(r.rc, DMARCD_OK);
    assert_contains(c.log.buf, " org=o.example ");
    assert_contains(c.log.buf, " domain=first.example ");
    assert_int_equal(c.n_warnings, 4);
    assert_string_equal(c.warnings[0], "second <report_metadata> ignored");
    assert_string_equal(c.warnings[1], "duplicate <domain> ignored");
    assert_string_equal(c.warnings[2], "second <policy_published> ignored");
    assert_string_equal(c.warnings[3], "<policy_published> after the first <record> ignored");
    free(xml);
    collect_release(&c);
}

/* ---- required data ---- */

static void check_bad_report(const char *meta, const char *policy, const char *records,
                             const char *detail)
{
    struct collect c;
    collect_init(&c);
    char *xml = doc(meta, policy, records);
    struct result r = run(&c, xml, false);
    if (r.rc != DMARCD_E_BAD_REPORT || strcmp(r.detail, detail) != 0)
        fail_msg("got %s \"%s\", want bad_report \"%s\" for\n%s", dmarcd_err_code(r.rc),
                 r.detail, detail, xml);
    assert_int_equal(c.begins, 0);
    assert_false(r.completed);
    free(xml);
    collect_release(&c);
}

#define DR "<date_range><begin>1</begin><end>2</end></date_range>"

static void test_missing_required(void **state)
{
    (void)state;
    check_bad_report("", POLICY_OK, RECORD_OK, "report_metadata missing");
    check_bad_report("<report_metadata><report_id>i</report_id>" DR "</report_metadata>",
                     POLICY_OK, RECORD_OK,
                     "report_metadata/org_name missing (and no email to fall back on)");
    check_bad_report("<report_metadata><org_name> </org_name><email>nobody</email>"
                     "<report_id>i</report_id>" DR "</report_metadata>", POLICY_OK, RECORD_OK,
                     "report_metadata/org_name missing (and the email has no domain)");
    check_bad_report("<report_metadata><org_name>o</org_name><report_id/>" DR
                     "</report_metadata>", POLICY_OK, RECORD_OK,
                     "report_metadata/report_id missing");
    check_bad_report("<report_metadata><org_name>o</org_name><report_id>i</report_id>"
                     "</report_metadata>", POLICY_OK, RECORD_OK,
                     "report_metadata/date_range missing");
    check_bad_report("<report_metadata><org_name>o</org_name><report_id>i</report_id>"
                     "<date_range><end>2</end></date_range></report_metadata>", POLICY_OK,
                     RECORD_OK, "report_metadata/date_range/begin missing");
    check_bad_report("<report_metadata><org_name>o</org_name><report_id>i</report_id>"
                     "<date_range><begin>1</begin></date_range></report_metadata>", POLICY_OK,
                     RECORD_OK, "report_metadata/date_range/end missing");
    check_bad_report("<report_metadata><org_name>o</org_name><report_id>i</report_id>"
                     "<date_range><begin>yesterday</begin><end>2</end></date_range>"
                     "</report_metadata>", POLICY_OK, RECORD_OK,
                     "report_metadata/date_range/begin \"yesterday\" is not a time");
    check_bad_report("<report_metadata><org_name>o</org_name><report_id>i</report_id>"
                     "<date_range><begin>1</begin><end>-5</end></date_range>"
                     "</report_metadata>", POLICY_OK, RECORD_OK,
                     "report_metadata/date_range/end \"-5\" is not a time");
    check_bad_report("<report_metadata><org_name>o</org_name><report_id>i</report_id>"
                     "<date_range><begin>1700000000000000</begin><end>2</end></date_range>"
                     "</report_metadata>", POLICY_OK, RECORD_OK,
                     "report_metadata/date_range/begin \"1700000000000000\" is not a time");
    check_bad_report(META_OK, "", RECORD_OK, "policy_published missing");
    check_bad_report(META_OK, "<policy_published><p>none</p></policy_published>", RECORD_OK,
                     "policy_published/domain missing");
    /* the policy must come before the records: they are streamed on */
    check_bad_report(META_OK, "", RECORD_OK POLICY_OK, "policy_published missing");
    /* checked at </feedback> too when there are no records */
    check_bad_report(META_OK, "", "", "policy_published missing");
}

static void test_data_range_misspelling(void **state)
{
    (void)state;
    struct collect c;
    collect_init(&c);
    struct result r = run_fixture(&c, "data-range.xml", 0, false);
    assert_int_equal(r.rc, DMARCD_OK);
    assert_contains(c.log.buf, " range=1705904907..1705909138 ");
    assert_contains(c.log.buf, " reason=local_policy/- dkim_result=-/-/none/- ");
    assert_int_equal(c.n_warnings, 1);
    assert_string_equal(c.warnings[0], "<data_range> read as <date_range>");
    collect_release(&c);

    collect_init(&c);
    r = run_fixture(&c, "data-range.xml", 0, true);
    assert_int_equal(r.rc, DMARCD_E_BAD_REPORT);
    assert_string_equal(r.detail, "report_metadata/date_range missing (misspelt <data_range> "
                                  "refused in strict mode)");
    assert_int_equal(c.begins, 0);
    collect_release(&c);
}

static void test_zero_records(void **state)
{
    (void)state;
    struct collect c;
    collect_init(&c);
    struct result r = run_fixture(&c, "no-records.xml", 0, false);
    assert_int_equal(r.rc, DMARCD_OK);
    assert_true(r.completed);
    assert_int_equal(c.begins, 1);
    assert_int_equal(c.records, 0);
    assert_int_equal(c.ends, 1);
    assert_int_equal(c.n_warnings, 1);
    assert_string_equal(c.warnings[0], "report has no records");
    collect_release(&c);

    collect_init(&c);
    r = run_fixture(&c, "no-records.xml", 0, true);
    assert_int_equal(r.rc, DMARCD_E_BAD_REPORT);
    assert_string_equal(r.detail, "report has no <record>");
    assert_int_equal(c.begins, 0);
    collect_release(&c);
}

static void test_not_a_report(void **state)
{
    (void)state;
    static const struct {
        const char *input;
        enum dmarcd_err rc;
        const char *detail;
    } cases[] = {
        { "<html><body>hello</body></html>", DMARCD_E_NOT_REPORT,
          "root element is <html>, not <feedback>" },
        { "<?xml version=\"1.0\"?>\n<feedbacks/>", DMARCD_E_NOT_REPORT,
          "root element is <feedbacks>, not <feedback>" },
        { "", DMARCD_E_NOT_REPORT, "input is empty" },
        { " \r\n\t ", DMARCD_E_NOT_REPORT, "input is empty" },
        { "\xEF\xBB\xBF\n", DMARCD_E_NOT_REPORT, "input is empty" },
        { "unused", DMARCD_E_XML, "line 1: Document is empty" },
        { "{\"organization-name\": \"x\"}", DMARCD_E_XML, "line 1: Document is empty" },
    };
    for (int strict = 0; strict < 2; strict++) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct collect c;
            collect_init(&c);
            struct result r = run(&c, cases[i].input, strict);
            if (r.rc != cases[i].rc || strcmp(r.detail, cases[i].detail) != 0)
                fail_msg("\"%s\": got %s \"%s\"", cases[i].input, dmarcd_err_code(r.rc),
                         r.detail);
            assert_int_equal(c.begins, 0);
            collect_release(&c);
        }
    }
}

/* ---- security ---- */

static char *billion_laughs(void)
{
    struct strbuf sb;
    strbuf_init(&sb, 0);
    strbuf_addstr(&sb, "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
    for (int i = 1; i <= 9; i++) {
        strbuf_addf(&sb, " <!ENTITY lol%d \"", i);
        for (int j = 0; j < 10; j++)
            strbuf_addf(&sb, i == 1 ? "&lol;" : "&lol%d;", i - 1);
        strbuf_addstr(&sb, "\">\n");
    }
    strbuf_addstr(&sb, "]>\n<feedback><report_metadata><org_name>&lol9;</org_name>"
                       "</report_metadata></feedback>\n");
    return strbuf_detach(&sb, NULL);
}

static void check_forbidden(const char *xml, const char *detail)
{
    for (int strict = 0; strict < 2; strict++) {
        for (size_t chunk = 0; chunk < 2; chunk++) {
            struct collect c;
            collect_init(&c);
            struct result r = run_chunked(&c, xml, strlen(xml), chunk, strict);
            if (r.rc != DMARCD_E_XML_FORBIDDEN || strcmp(r.detail, detail) != 0)
                fail_msg("got %s \"%s\", want xml_forbidden \"%s\"", dmarcd_err_code(r.rc),
                         r.detail, detail);
            assert_int_equal(c.begins, 0);
            assert_lacks(c.log.buf, "root:");
            collect_release(&c);
        }
    }
}

static void test_billion_laughs(void **state)
{
    (void)state;
    char *xml = billion_laughs();
    check_forbidden(xml, "document type declaration \"lolz\" refused at line 2");
    free(xml);
}

static void test_xxe(void **state)
{
    (void)state;
    check_forbidden("<?xml version=\"1.0\"?>\n<!DOCTYPE feedback [<!ENTITY xxe SYSTEM "
                    "\"file:///etc/passwd\">]>\n<feedback><report_metadata><org_name>&xxe;"
                    "</org_name></report_metadata></feedback>",
                    "document type declaration \"feedback\" refused at line 2");
    check_forbidden("<!DOCTYPE feedback SYSTEM \"http://127.0.0.1:9/evil.dtd\"><feedback/>",
                    "document type declaration \"feedback\" refused at line 1");
    check_forbidden("<!DOCTYPE feedback PUBLIC \"-//x//y\" \"file:///etc/passwd\">\n<feedback/>",
                    "document type declaration \"feedback\" refused at line 1");
}

static void test_undeclared_entities(void **state)
{
    (void)state;
    check_forbidden("<feedback>\n<report_metadata><org_name>&foo;</org_name>"
                    "</report_metadata></feedback>",
                    "entity reference \"foo\" refused at line 2");
    check_forbidden("<feedback a=\"&bar;\"/>", "entity reference \"bar\" refused at line 1");
    /* recovery mode must not get past the wall after an earlier xml error */
    struct collect c;
    collect_init(&c);
    struct result r = run(&c, "<feedback><report_metadata><org_name>bad\x91</org_name>"
                              "<email>&passwd;</email></report_metadata></feedback>", false);
    assert_int_equal(r.rc, DMARCD_E_XML_FORBIDDEN);
    assert_contains(r.detail, "entity reference \"passwd\" refused at line 1");
    collect_release(&c);
}

static void test_depth_limit(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 0);
    strbuf_addstr(&sb, "<feedback>");
    for (int i = 0; i < 10000; i++)
        strbuf_addstr(&sb, "<a>");
    for (int i = 0; i < 10000; i++)
        strbuf_addstr(&sb, "</a>");
    strbuf_addstr(&sb, "</feedback>");
    for (int strict = 0; strict < 2; strict++) {
        struct collect c;
        collect_init(&c);
        struct result r = run(&c, sb.buf, strict);
        assert_int_equal(r.rc, DMARCD_E_TOO_DEEP);
        assert_string_equal(r.detail, "xml depth 33 > 32 at line 1");
        collect_release(&c);
    }
    strbuf_release(&sb);

    /* feedback(1) > record(2) > 30 unknown levels = 32: allowed; 31 levels is not */
    for (int levels = 30; levels <= 31; levels++) {
        char *open = record_with("<record>" ROW_OK, "<x>", levels, "");
        char *rec = record_with(open, "</x>", levels, "</record>");
        char *xml = doc(META_OK, POLICY_OK, rec);
        struct collect c;
        collect_init(&c);
        struct result r = run(&c, xml, true);
        if (levels == 30) {
            assert_int_equal(r.rc, DMARCD_OK);
            assert_int_equal(c.records, 1);
        } else {
            assert_int_equal(r.rc, DMARCD_E_TOO_DEEP);
            assert_string_equal(r.detail, "xml depth 33 > 32 at line 1");
        }
        collect_release(&c);
        free(xml);
        free(rec);
        free(open);
    }
}

static void test_text_limit(void **state)
{
    (void)state;
    for (size_t extra = 0; extra < 2; extra++) {
        size_t n = DMARCD_MAX_TEXT_BYTES + extra;
        char *big = malloc(n + 1);
        memset(big, 'a', n);
        big[n] = '\0';
        struct strbuf meta;
        strbuf_init(&meta, 0);
        strbuf_addf(&meta, "<report_metadata>\n<org_name>%s</org_name><report_id>i</report_id>"
                    DR "</report_metadata>", big);
        char *xml = doc(meta.buf, POLICY_OK, RECORD_OK);
        struct collect c;
        collect_init(&c);
        struct result r = run(&c, xml, false);
        if (extra == 0) {
            assert_int_equal(r.rc, DMARCD_OK);
        } else {
            assert_int_equal(r.rc, DMARCD_E_TOO_LONG);
            assert_string_equal(r.detail, "text of <org_name> longer than 65536 bytes at line 2");
        }
        collect_release(&c);
        free(xml);
        strbuf_release(&meta);
        free(big);
    }

    /* text we do not keep (an unknown element) is not limited by us */
    size_t n = 1024 * 1024;
    char *big = malloc(n + 1);
    memset(big, 'b', n);
    big[n] = '\0';
    struct strbuf rec;
    strbuf_init(&rec, 0);
    strbuf_addf(&rec, "<record>" ROW_OK "<note>%s</note></record>", big);
    char *xml = doc(META_OK, POLICY_OK, rec.buf);
    struct collect c;
    collect_init(&c);
    assert_int_equal(run(&c, xml, true).rc, DMARCD_OK);
    assert_int_equal(c.records, 1);
    collect_release(&c);
    free(xml);
    strbuf_release(&rec);
    free(big);
}

static void check_entries(const char *before, const char *piece, const char *after, int n,
                          enum dmarcd_err want, const char *detail)
{
    char *rec = record_with(before, piece, n, after);
    char *xml = doc(META_OK, POLICY_OK, rec);
    struct collect c;
    collect_init(&c);
    struct result r = run(&c, xml, false);
    if (r.rc != want || strcmp(r.detail, detail) != 0)
        fail_msg("%d x %s: got %s \"%s\"", n, piece, dmarcd_err_code(r.rc), r.detail);
    collect_release(&c);
    free(xml);
    free(rec);
}

static void test_auth_result_limits(void **state)
{
    (void)state;
    const char *auth_open = "<record>" ROW_OK "<auth_results>";
    const char *auth_close = "</auth_results></record>";
    const char *eval_open = "<record><row><source_ip>192.0.2.1</source_ip><count>1</count>"
                            "<policy_evaluated>";
    const char *eval_close = "</policy_evaluated></row></record>";
    const char *dkim = "<dkim><domain>d.example</domain><result>pass</result></dkim>";
    const char *spf = "<spf><domain>d.example</domain><result>pass</result></spf>";
    const char *reason = "<reason><type>other</type></reason>";

    check_entries(auth_open, dkim, auth_close, DMARCD_MAX_AUTH_RESULTS, DMARCD_OK, "");
    check_entries(auth_open, dkim, auth_close, DMARCD_MAX_AUTH_RESULTS + 1, DMARCD_E_TOO_MANY,
                  "more than 256 dkim entries in record 1 at line 1");
    check_entries(auth_open, spf, auth_close, DMARCD_MAX_AUTH_RESULTS + 1, DMARCD_E_TOO_MANY,
                  "more than 256 spf entries in record 1 at line 1");
    check_entries(eval_open, reason, eval_close, DMARCD_MAX_AUTH_RESULTS + 1, DMARCD_E_TOO_MANY,
                  "more than 256 reason entries in record 1 at line 1");

    /* exactly the limit arrives whole */
    char *rec = record_with(auth_open, spf, DMARCD_MAX_AUTH_RESULTS, auth_close);
    char *xml = doc(META_OK, POLICY_OK, rec);
    struct collect c;
    collect_init(&c);
    assert_int_equal(run(&c, xml, true).rc, DMARCD_OK);
    assert_int_equal(c.last_n_spf, DMARCD_MAX_AUTH_RESULTS);
    collect_release(&c);
    free(xml);
    free(rec);
}

static void test_record_limit(void **state)
{
    (void)state;
    char chunk[9 * 7000];
    for (size_t i = 0; i < sizeof(chunk); i += 9)
        memcpy(chunk + i, "<record/>", 9);
    struct report_source src = { .file = "many.xml" };
    struct parse_options opts = { .strict = false };
    struct collect c;
    collect_init(&c);
    struct report_sink sink = { .ops = &collect_ops, .ctx = &c };
    struct agg_parser *p = agg_parser_new(&src, &opts, &sink);
    const char *head = "<feedback>" META_OK POLICY_OK;
    enum dmarcd_err rc = agg_parser_feed(p, head, strlen(head));
    uint64_t fed = 0;
    while (!rc && fed <= DMARCD_MAX_RECORDS_PER_REPORT) {
        rc = agg_parser_feed(p, chunk, sizeof(chunk));
        fed += sizeof(chunk) / 9;
    }
    if (!rc)
        rc = agg_parser_finish(p);
    assert_int_equal(rc, DMARCD_E_TOO_MANY);
    assert_string_equal(agg_parser_detail(p), "more than 5000000 records at line 1");
    assert_int_equal(c.begins, 1);
    assert_int_equal(c.ends, 0);
    assert_false(agg_parser_completed(p));
    agg_parser_free(p);
    collect_release(&c);
}

/* ---- malformed xml and recovery ---- */

static void test_truncated(void **state)
{
    (void)state;
    for (int strict = 0; strict < 2; strict++) {
        struct collect c;
        collect_init(&c);
        struct result r = run_fixture(&c, "truncated.xml", 0, strict);
        assert_int_equal(r.rc, DMARCD_E_XML);
        assert_string_equal(r.detail, "line 25: document ends before its elements are closed");
        assert_false(r.completed);
        assert_int_equal(c.ends, 0);
        collect_release(&c);
    }
}

static void test_malformed_strict(void **state)
{
    (void)state;
    struct collect c;
    collect_init(&c);
    char *xml = doc(META_OK, POLICY_OK, "<record>\n<row></identifiers></record>");
    struct result r = run(&c, xml, true);
    assert_int_equal(r.rc, DMARCD_E_XML);
    assert_string_equal(r.detail, "line 2: Opening and ending tag mismatch: row line 2 and "
                                  "identifiers");
    assert_int_equal(c.ends, 0);
    free(xml);
    collect_release(&c);

    /* recovered, but libxml2's repair left no record: refused */
    collect_init(&c);
    xml = doc(META_OK, POLICY_OK, "<bogus></other>");
    r = run(&c, xml, false);
    assert_int_equal(r.rc, DMARCD_E_XML);
    assert_string_equal(r.detail, "line 1: Opening and ending tag mismatch: bogus line 1 and "
                                  "other (and no <record> could be read)");
    assert_int_equal(c.begins, 0);
    free(xml);
    collect_release(&c);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    struct collect c;
    collect_init(&c);
    struct result r = run_fixture(&c, "bad-utf8.xml", 0, false);
    assert_int_equal(r.rc, DMARCD_OK);
    /* libxml2 hands the raw 0x91 on; it is read as windows-1252 (U+2018) */
    assert_contains(c.log.buf, " header_from=bad_byte\xe2\x80\x98 ");
    assert_int_equal(c.n_warnings, 2);
    assert_string_equal(c.warnings[1], "invalid UTF-8 in <header_from> read as windows-1252");
    assert_string_equal(c.warnings[0], "xml errors recovered: 1 (first: line 5: Input is not "
                                       "proper UTF-8, indicate encoding ! Bytes: 0x91 0x3C 0x2F "
                                       "0x68)");
    collect_release(&c);

    collect_init(&c);
    r = run_fixture(&c, "bad-utf8.xml", 0, true);
    assert_int_equal(r.rc, DMARCD_E_XML);
    assert_string_equal(r.detail, "line 5: Input is not proper UTF-8, indicate encoding ! "
                                  "Bytes: 0x91 0x3C 0x2F 0x68");
    assert_int_equal(c.ends, 0);
    collect_release(&c);
}

static void test_windows_1252(void **state)
{
    (void)state;
    struct collect c;
    collect_init(&c);
    struct result r = run_fixture(&c, "cp1252.xml", 0, true);
    assert_int_equal(r.rc, DMARCD_OK);
    assert_contains(c.log.buf, " org=Soci\xc3\xa9t\xc3\xa9 \xe2\x82\xac ");
    assert_int_equal(c.n_warnings, 0);
    collect_release(&c);
}

static void test_schema_wrapper(void **state)
{
    (void)state;
    struct collect c;
    collect_init(&c);
    struct result r = run_fixture(&c, "wrapped-schema.xml", 0, false);
    assert_int_equal(r.rc, DMARCD_OK);
    assert_int_equal(c.records, 1);
    assert_int_equal(c.n_warnings, 2);
    assert_string_equal(c.warnings[0], "report wrapped in an <xs:schema> element");
    assert_string_equal(c.warnings[1], "xml errors recovered: 1 (first: line 37: document "
                                       "ends before its elements are closed)");
    collect_release(&c);

    collect_init(&c);
    r = run_fixture(&c, "wrapped-schema.xml", 0, true);
    assert_int_equal(r.rc, DMARCD_E_NOT_REPORT);
    assert_string_equal(r.detail, "root element is <schema>, not <feedback>");
    collect_release(&c);
}

static void test_content_after_feedback(void **state)
{
    (void)state;
    struct collect c;
    collect_init(&c);
    char *xml = doc(META_OK, POLICY_OK, RECORD_OK);
    struct strbuf two;
    strbuf_init(&two, 0);
    strbuf_addf(&two, "%s%s", xml, xml);
    struct result r = run(&c, two.buf, false);
    assert_int_equal(r.rc, DMARCD_OK);
    assert_int_equal(c.records, 1);
    assert_int_equal(c.n_warnings, 1);
    assert_string_equal(c.warnings[0], "xml errors recovered: 1 (first: line 2: Extra content "
                                       "at the end of the document)");
    collect_release(&c);
    collect_init(&c);
    r = run(&c, two.buf, true);
    assert_int_equal(r.rc, DMARCD_E_XML);
    assert_string_equal(r.detail, "line 2: Extra content at the end of the document");
    collect_release(&c);
    strbuf_release(&two);
    free(xml);
}

static void test_leading_whitespace_and_bom(void **state)
{
    (void)state;
    static const struct {
        const char *head;
        size_t warnings;
    } cases[] = {
        { "\n\n  <?xml version=\"1.0\"?>", 1 },
        { "\xEF\xBB\xBF\r\n <?xml version=\"1.0\" encoding=\"UTF-8\"?>", 1 },
        { "\xEF\xBB\xBF<?xml version=\"1.0\"?>", 0 },
        { "\n\n", 0 },          /* no declaration: leading blanks are legal */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *xml = doc3(cases[i].head, META_OK, POLICY_OK, RECORD_OK);
        for (size_t chunk = 0; chunk < 2; chunk++) {
            struct collect c;
            collect_init(&c);
            struct result r = run_chunked(&c, xml, strlen(xml), chunk, true);
            if (r.rc)
                fail_msg("case %zu: %s %s", i, dmarcd_err_code(r.rc), r.detail);
            assert_int_equal(c.records, 1);
            assert_int_equal(c.n_warnings, cases[i].warnings);
            if (cases[i].warnings)
                assert_string_equal(c.warnings[0],
                                    "whitespace before the xml declaration skipped");
            collect_release(&c);
        }
        free(xml);
    }
    /* our line numbers count the skipped lines too (libxml2's own text does not) */
    struct collect c;
    collect_init(&c);
    struct result r = run(&c, "\n\n<?xml version=\"1.0\"?>\n<feedback><a></b></feedback>", true);
    assert_int_equal(r.rc, DMARCD_E_XML);
    assert_string_equal(r.detail, "line 4: Opening and ending tag mismatch: a line 2 and b");
    collect_release(&c);
}

/* ---- chunking ---- */

static void test_chunked_feeding_is_identical(void **state)
{
    (void)state;
    static const char *const fixtures[] = {
        "rfc7489.xml", "shuffled.xml", "rfc9990.xml", "hybrid-np.xml", "draft-version.xml",
        "quirks.xml", "wrapped-schema.xml", "cp1252.xml", "bad-utf8.xml", "data-range.xml",
        "no-records.xml", "truncated.xml",
    };
    static const size_t chunks[] = { 1, 2, 3, 7, 64, 4096 };
    for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
        for (int strict = 0; strict < 2; strict++) {
            struct collect whole;
            collect_init(&whole);
            struct result rw = run_fixture(&whole, fixtures[f], 0, strict);
            for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
                struct collect c;
                collect_init(&c);
                struct result r = run_fixture(&c, fixtures[f], chunks[k], strict);
                if (r.rc != rw.rc || strcmp(r.detail, rw.detail) != 0 ||
                    strcmp(c.log.buf, whole.log.buf) != 0)
                    fail_msg("%s strict=%d chunk %zu differs:\n%s %s\n%s\nvs whole:\n%s %s\n%s",
                             fixtures[f], strict, chunks[k], dmarcd_err_code(r.rc), r.detail,
                             c.log.buf, dmarcd_err_code(rw.rc), rw.detail, whole.log.buf);
                collect_release(&c);
            }
            collect_release(&whole);
        }
    }
    /* and the hostile ones, byte by byte */
    char *laughs = billion_laughs();
    check_forbidden(laughs, "document type declaration \"lolz\" refused at line 2");
    free(laughs);
}

/* A report over several 64 KiB blocks with a stray 0x91 byte right at the
 * end of the first block and a broken tag further on: libxml2's recovery
 * depends on where its input is cut, so the parser cuts it the same way
 * whatever the caller's chunks are. */
static void test_chunking_of_big_broken_report(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 0);
    strbuf_addstr(&sb, "<?xml version=\"1.0\"?>\n<feedback>" META_OK POLICY_OK "\n");
    while (sb.len < 65536 - 300)
        strbuf_addstr(&sb, RECORD_OK "\n");
    const char *open = "<record><row><source_ip>192.0.2.2</source_ip><count>1</count></row>"
                       "<identifiers><header_from>x";
    while (sb.len + strlen(open) < 65536 - 2)
        strbuf_addch(&sb, ' ');
    strbuf_addstr(&sb, open);
    assert_int_equal(sb.len, 65536 - 2);
    strbuf_addstr(&sb, "\x91</header_from></identifiers></record>\n");
    for (int i = 0; i < 500; i++)
        strbuf_addstr(&sb, i == 250 ? "<record><row></identifiers></record>\n" : RECORD_OK "\n");
    strbuf_addstr(&sb, "</feedback>\n");

    static const size_t chunks[] = { 0, 1, 7, 4096, 65535, 65536, 65537, 100000 };
    for (int strict = 0; strict < 2; strict++) {
        struct collect whole;
        collect_init(&whole);
        struct result rw = run_chunked(&whole, sb.buf, sb.len, 0, strict);
        if (!strict) {
            assert_int_equal(rw.rc, DMARCD_OK);
            assert_contains(whole.log.buf, " header_from=x\xe2\x80\x98 ");
            assert_contains(whole.log.buf, "warning: xml errors recovered: ");
        } else {
            assert_int_equal(rw.rc, DMARCD_E_XML);
        }
        for (size_t k = 1; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
            struct collect c;
            collect_init(&c);
            struct result r = run_chunked(&c, sb.buf, sb.len, chunks[k], strict);
            if (r.rc != rw.rc || strcmp(r.detail, rw.detail) != 0 ||
                strcmp(c.log.buf, whole.log.buf) != 0)
                fail_msg("strict=%d chunk %zu: %s \"%s\" vs %s \"%s\"", strict, chunks[k],
                         dmarcd_err_code(r.rc), r.detail, dmarcd_err_code(rw.rc), rw.detail);
            collect_release(&c);
        }
        collect_release(&whole);
    }
    strbuf_release(&sb);
}

/* ---- pull mode only: when it is redone by push, and its reader ---- */

/* Runs xml in the current mode; returns how many pulls were redone by push. */
static int redos_of(const char *xml, bool strict)
{
    struct collect c;
    int before = g_push_redos;
    collect_init(&c);
    (void)run(&c, xml, strict);
    collect_release(&c);
    return g_push_redos - before;
}

static void test_pull_redone_only_when_needed(void **state)
{
    (void)state;
    static const struct {
        const char *head, *tail;
        int redos;
    } cases[] = {
        { "<feedback>", "</feedback>", 0 },
        { "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feedback>", "</feedback>", 0 },
        { "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">", "</feedback>", 0 },
        { "<feedback xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
          "xsi:noNamespaceSchemaLocation=\"rua.xsd\">", "</feedback>", 0 },
        { "<d:feedback xmlns:d=\"http://dmarc.org/dmarc-xml/0.2\">", "</d:feedback>", 0 },
        { "<d:feedback>", "</d:feedback>", 1 },                     /* undeclared prefix */
        { "<feedback xmlns:p=\"\">", "</feedback>", 1 },            /* SAX2 refuses */
        { "<feedback><x xmlns=\"urn:x\"/>", "</feedback>", 1 },     /* below the root */
        { "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><feedback>", "</feedback>", 1 },
        { "<feedback><record>", "</feedback>", 1 },                 /* an xml error */
        { "<feedback>", "</feedback>x", 1 },                        /* pull: extra content */
        { "<feedback>", "</feedback>\n<!-- done -->\n", 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct strbuf sb;
        strbuf_init(&sb, 0);
        strbuf_addf(&sb, "%s" META_OK POLICY_OK RECORD_OK "%s", cases[i].head, cases[i].tail);
        if (redos_of(sb.buf, false) != cases[i].redos)
            fail_msg("case %zu: expected %d redo(s): %s", i, cases[i].redos, sb.buf);
        strbuf_release(&sb);
    }
    /* the sink's refusal stands, it is not asked again */
    struct collect c;
    collect_init(&c);
    c.fail_record_at = 1;
    c.fail_with = DMARCD_E_DB_UNAVAILABLE;
    int before = g_push_redos;
    char *xml = doc(META_OK, POLICY_OK, RECORD_OK RECORD_OK);
    assert_int_equal(run(&c, xml, false).rc, DMARCD_E_DB_UNAVAILABLE);
    assert_int_equal(g_push_redos, before);
    assert_int_equal(c.records, 1);
    collect_release(&c);
    free(xml);
}

struct failing_reader {
    struct reader rd;
    size_t fail_at;             /* bytes handed out before the failure */
};

static enum dmarcd_err read_then_fail(void *ctx, char *buf, size_t cap, size_t *got)
{
    struct failing_reader *f = ctx;
    if (f->rd.off >= f->fail_at)
        return DMARCD_E_TRUNCATED;
    if (cap > f->fail_at - f->rd.off)
        cap = f->fail_at - f->rd.off;
    return read_mem(&f->rd, buf, cap, got);
}

/* The reader fails: the pull stops at once, to be redone by push, having
 * given the sink no more than push gives it from the same bytes. */
static void test_pull_reader_failure(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 0);
    strbuf_addstr(&sb, "<feedback>" META_OK POLICY_OK);
    for (int i = 0; i < 3000; i++)
        strbuf_addstr(&sb, RECORD_OK "\n");
    strbuf_addstr(&sb, "</feedback>\n");
    static const size_t fail_at[] = { 10, 65535, 65536 + 3000, 200000 };
    for (size_t i = 0; i < sizeof(fail_at) / sizeof(fail_at[0]); i++) {
        struct report_source src = { .file = "cut.xml" };
        struct parse_options opts = { .strict = false };
        struct collect pulled, pushed;
        collect_init(&pulled);
        collect_init(&pushed);
        struct report_sink sink = { .ops = &collect_ops, .ctx = &pulled };
        struct agg_parser *p = agg_parser_new(&src, &opts, &sink);
        struct failing_reader f = { .rd = { .data = sb.buf, .len = sb.len, .chunk = 1000 },
                                    .fail_at = fail_at[i] };
        assert_int_equal(agg_parser_pull(p, read_then_fail, &f), DMARCD_E_TRUNCATED);
        assert_true(agg_parser_push_instead(p));
        assert_null(agg_parser_detail(p));
        agg_parser_free(p);
        /* push, fed the same bytes (no finish: the input goes on, unread) */
        sink.ctx = &pushed;
        p = agg_parser_new(&src, &opts, &sink);
        assert_int_equal(agg_parser_feed(p, sb.buf, fail_at[i]), DMARCD_OK);
        agg_parser_free(p);
        if (strncmp(pushed.log.buf ? pushed.log.buf : "", pulled.log.buf ? pulled.log.buf : "",
                    pulled.log.len) != 0)
            fail_msg("fail at %zu: pull gave %d records, push %d", fail_at[i], pulled.records,
                     pushed.records);
        collect_release(&pulled);
        collect_release(&pushed);
    }
    strbuf_release(&sb);
}

static void test_pull_needs_a_fresh_parser(void **state)
{
    (void)state;
    struct report_source src = { .file = "x.xml" };
    struct collect c;
    collect_init(&c);
    struct report_sink sink = { .ops = &collect_ops, .ctx = &c };
    struct agg_parser *p = agg_parser_new(&src, NULL, &sink);
    assert_int_equal(agg_parser_feed(p, "<feedback>", 10), DMARCD_OK);
    struct reader rd = { .data = "", .len = 0, .chunk = 1 };
    assert_int_equal(agg_parser_pull(p, read_mem, &rd), DMARCD_E_INTERNAL);
    agg_parser_free(p);
    collect_release(&c);
}

/* ---- sink interplay and warning volume ---- */

static void test_sink_errors_stop_the_parse(void **state)
{
    (void)state;
    char *xml = doc(META_OK, POLICY_OK, RECORD_OK RECORD_OK RECORD_OK);
    struct collect c;

    collect_init(&c);
    c.fail_record_at = 2;
    c.fail_with = DMARCD_E_DB_UNAVAILABLE;
    struct result r = run(&c, xml, false);
    assert_int_equal(r.rc, DMARCD_E_DB_UNAVAILABLE);
    assert_string_equal(r.detail, "sink refused record 2: database unreachable");
    assert_int_equal(c.records, 2);
    assert_int_equal(c.ends, 0);
    assert_false(r.completed);
    collect_release(&c);

    collect_init(&c);
    c.fail_begin = 1;
    c.fail_with = DMARCD_E_UNKNOWN_DOMAIN;
    r = run(&c, xml, false);
    assert_int_equal(r.rc, DMARCD_E_UNKNOWN_DOMAIN);
    assert_string_equal(r.detail, "sink refused the report: policy domain belongs to no tenant");
    assert_int_equal(c.records, 0);
    collect_release(&c);

    collect_init(&c);
    c.fail_end = 1;
    c.fail_with = DMARCD_E_DB;
    r = run(&c, xml, false);
    assert_int_equal(r.rc, DMARCD_E_DB);
    assert_false(r.completed);
    assert_int_equal(c.records, 3);
    collect_release(&c);
    free(xml);
}

static void test_repeated_quirk_is_one_warning(void **state)
{
    (void)state;
    const char *rec = "<record><row><source_ip>192.0.2.1</source_ip><count>2</count></row>"
                      "<auth_results><spf><domain>e.com</domain><result>HardFail</result>"
                      "</spf></auth_results></record>\n";
    char *records = record_with("", rec, 1000, "");
    char *xml = doc(META_OK, POLICY_OK, records);
    struct collect c;
    collect_init(&c);
    assert_int_equal(run(&c, xml, false).rc, DMARCD_OK);
    assert_int_equal(c.totals.records, 1000);
    assert_int_equal(c.totals.messages, 2000);
    assert_int_equal(c.n_warnings, 1);
    assert_string_equal(c.warnings[0], "spf result \"hardfail\" read as \"fail\" (1000 times)");
    collect_release(&c);
    free(xml);
    free(records);
}

static void test_many_distinct_warnings_stay_bounded(void **state)
{
    (void)state;
    struct strbuf recs;
    strbuf_init(&recs, 0);
    for (int i = 0; i < 100; i++)
        strbuf_addf(&recs, "<record><row><source_ip>bad-%d</source_ip><count>1</count></row>"
                    "</record>", i);
    char *xml = doc(META_OK, POLICY_OK, recs.buf);
    struct collect c;
    collect_init(&c);
    assert_int_equal(run(&c, xml, false).rc, DMARCD_OK);
    assert_int_equal(c.totals.skipped_records, 100);
    /* 24 spilled at once, 32 tallied, the rest counted in one line */
    assert_int_equal(c.n_warnings, 57);
    assert_int_equal(c.dropped, 0);
    assert_string_equal(c.warnings[0], "record skipped: source_ip \"bad-32\" is not an IP address");
    assert_string_equal(c.warnings[24], "record skipped: source_ip \"bad-0\" is not an IP address");
    assert_string_equal(c.warnings[56], "44 more record warnings not kept");
    collect_release(&c);
    free(xml);
    strbuf_release(&recs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7489_report),
        cmocka_unit_test(test_element_order_does_not_matter),
        cmocka_unit_test(test_rfc9990_namespaced_report),
        cmocka_unit_test(test_format_detection),
        cmocka_unit_test(test_format_by_namespace),
        cmocka_unit_test(test_normalisations),
        cmocka_unit_test(test_values_and_entities),
        cmocka_unit_test(test_implausible_header),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_data_range_misspelling),
        cmocka_unit_test(test_zero_records),
        cmocka_unit_test(test_not_a_report),
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_xxe),
        cmocka_unit_test(test_undeclared_entities),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_text_limit),
        cmocka_unit_test(test_auth_result_limits),
        cmocka_unit_test(test_record_limit),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_malformed_strict),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_windows_1252),
        cmocka_unit_test(test_schema_wrapper),
        cmocka_unit_test(test_content_after_feedback),
        cmocka_unit_test(test_leading_whitespace_and_bom),
        cmocka_unit_test(test_chunked_feeding_is_identical),
        cmocka_unit_test(test_chunking_of_big_broken_report),
        cmocka_unit_test(test_sink_errors_stop_the_parse),
        cmocka_unit_test(test_repeated_quirk_is_one_warning),
        cmocka_unit_test(test_many_distinct_warnings_stay_bounded),
    };
    const struct CMUnitTest pull_tests[] = {
        cmocka_unit_test(test_pull_redone_only_when_needed),
        cmocka_unit_test(test_pull_reader_failure),
        cmocka_unit_test(test_pull_needs_a_fresh_parser),
    };
    int failed = cmocka_run_group_tests_name("push", tests, NULL, NULL);
    g_pull = true;
    failed += cmocka_run_group_tests_name("pull", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("pull only", pull_tests, NULL, NULL);
    return failed;
}
