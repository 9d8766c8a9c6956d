/*
 * Unit tests for parser/failure: ARF field parsing (folding, CRLF, case,
 * duplicates, defaults), MIME shapes (multipart/report, Netease-style
 * base64 attachment, sniffed octet-stream, mbox From line, forwarded
 * report), samples (message vs headers), the Exim text summary, limits,
 * strict mode. A collecting sink deep-copies each report into an arena
 * because the parser's pointers live only during the callback, and keeps
 * the parser's error detail with it. Fixtures in tests/data/failure/ are
 * synthetic (example domains, documentation IPs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/limits.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "parser/failure.h"
#include "tests/unit/collect.h"
#include "tests/unit/fixture.h"
#include "lib/banned.h"

/* ---- collecting sink ---- */

/* What one parse left: the report and warnings the sink was handed, and
 * the parser's answer (error detail, whether the mail is a report). */
struct collect {
    int calls;
    enum dmarcd_err answer;     /* what the callback returns */
    struct arena arena;
    struct failure_report rep;
    struct str_list warnings;
    struct strbuf detail;
    bool is_report;
};

static void copy_strings(struct arena *a, struct failure_report *d)
{
    const char **fields[] = { &d->feedback_type, &d->user_agent, &d->version,
                              &d->original_envelope_id, &d->original_mail_from,
                              &d->arrival_date, &d->reporting_mta, &d->delivery_result,
                              &d->dkim_domain, &d->dkim_identity, &d->dkim_selector,
                              &d->spf_dns, &d->subject };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        *fields[i] = collect_str(a, *fields[i]);
    d->original_rcpt_to = collect_list(a, d->original_rcpt_to);
    d->reported_domain = collect_list(a, d->reported_domain);
    d->reported_uri = collect_list(a, d->reported_uri);
    d->auth_failure = collect_list(a, d->auth_failure);
    d->identity_alignment = collect_list(a, d->identity_alignment);
    d->authentication_results = collect_list(a, d->authentication_results);
    if (d->sample_headers)
        d->sample_headers = arena_strndup(a, d->sample_headers, d->sample_headers_len);
    if (d->sample_body)
        d->sample_body = arena_strndup(a, d->sample_body, d->sample_body_len);
}

static enum dmarcd_err collect_failure(void *ctx, const struct report_source *src,
                                       const struct failure_report *report,
                                       const struct report_warnings *warnings)
{
    struct collect *c = ctx;

    assert_non_null(src);
    c->calls++;
    c->rep = *report;
    copy_strings(&c->arena, &c->rep);
    c->warnings = collect_warnings(&c->arena, warnings);
    return c->answer;
}

static const struct report_sink_ops collect_ops = { .name = "collect",
                                                    .failure = collect_failure };

static void collect_init(struct collect *c)
{
    memset(c, 0, sizeof(*c));
    arena_init(&c->arena, 64 * DMARCD_MiB);
    strbuf_init(&c->detail, 0);
}

static void collect_release(struct collect *c)
{
    strbuf_release(&c->detail);
    arena_release(&c->arena);
}

/* ---- inputs ---- */

static GMimeMessage *mail_from_bytes(const char *data, size_t len)
{
    GMimeStream *st = g_mime_stream_mem_new_with_buffer(data, len);
    GMimeParser *p = g_mime_parser_new_with_stream(st);
    GMimeMessage *m;

    g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
    m = g_mime_parser_construct_message(p, NULL);
    g_object_unref(p);
    g_object_unref(st);
    assert_non_null(m);
    return m;
}

static char *to_crlf(const char *data, size_t len, size_t *out_len)
{
    struct strbuf sb;

    strbuf_init(&sb, 0);
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n')
            (void)strbuf_addch(&sb, '\r');
        (void)strbuf_addch(&sb, data[i]);
    }
    return strbuf_detach(&sb, out_len);
}

/* Parses a mail given as bytes; returns the error, fills c. */
static enum dmarcd_err run_bytes(const char *data, size_t len, bool strict, struct collect *c)
{
    struct report_sink sink = { .ops = &collect_ops, .ctx = c };
    struct report_source src = { .file = "test.eml", .part = NULL };
    struct parse_options opts = { .strict = strict };
    GMimeMessage *m = mail_from_bytes(data, len);
    enum dmarcd_err rc;

    c->is_report = failure_message_is_report(m);
    rc = failure_message_parse(m, &src, &opts, &sink, &c->detail);
    g_object_unref(m);
    return rc;
}

static enum dmarcd_err run_fixture(const char *name, bool strict, struct collect *c)
{
    size_t len;
    char *data = fixture_read("failure", name, &len);
    enum dmarcd_err rc = run_bytes(data, len, strict, c);
    free(data);
    return rc;
}

static enum dmarcd_err run_fields(const char *text, bool strict, struct collect *c)
{
    struct report_sink sink = { .ops = &collect_ops, .ctx = c };
    struct report_source src = { .file = "fields.txt", .part = NULL };
    struct parse_options opts = { .strict = strict };

    return failure_fields_parse(text, strlen(text), &src, &opts, &sink, &c->detail);
}

/* ---- tests: whole mails ---- */

static void check_full_fields(const struct failure_report *r)
{
    assert_true(r->arf);
    assert_string_equal(r->feedback_type, "auth-failure");
    assert_string_equal(r->user_agent, "TestReporter/2.1");
    assert_string_equal(r->version, "1");
    assert_string_equal(r->original_envelope_id, "ENV-0001");
    assert_string_equal(r->original_mail_from, "bounce@sender.example");
    assert_list(r->original_rcpt_to, 2, "alice@receiver.example", "bob@receiver.example");
    assert_string_equal(r->arrival_date, "Wed, 03 Jan 2024 09:58:20 +0100");
    assert_int_equal(r->arrival_time, 1704272300);
    assert_string_equal(r->reporting_mta, "dns; mx.receiver.example");
    assert_string_equal(r->source_ip, "192.0.2.10");
    assert_int_equal(r->source_port, 25025);
    assert_int_equal(r->incidents, 3);
    assert_list(r->reported_domain, 2, "sender.example", "news.sender.example");
    assert_list(r->reported_uri, 2, "http://sender.example/offer", "mailto:info@sender.example");
    assert_list(r->auth_failure, 2, "dmarc", "spf");
    assert_list(r->identity_alignment, 2, "dkim", "spf");
    assert_list(r->authentication_results, 2,
                "mx.receiver.example; dkim=fail header.d=sender.example; "
                "spf=fail smtp.mailfrom=sender.example",
                "mx.receiver.example; dmarc=fail header.from=sender.example");
    assert_string_equal(r->delivery_result, "reject");
    assert_string_equal(r->dkim_domain, "sender.example");
    assert_string_equal(r->dkim_identity, "@sender.example");
    assert_string_equal(r->dkim_selector, "s2024");
    assert_string_equal(r->spf_dns, "txt : sender.example : \"v=spf1 -all\"");
    assert_string_equal(r->subject, "DMARC failure report for sender.example");
}

static void check_message_sample(const struct failure_report *r)
{
    assert_int_equal(r->sample_kind, FAILURE_SAMPLE_MESSAGE);
    assert_non_null(r->sample_headers);
    assert_non_null(r->sample_body);
    assert_non_null(strstr(r->sample_headers, "Subject: Monthly offer"));
    assert_null(strstr(r->sample_headers, "Dear customer"));
    assert_non_null(strstr(r->sample_body, "Dear customer"));
    assert_null(strstr(r->sample_body, "Subject:"));
}

static void test_full_report(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("arf_full.eml", false, &c), DMARCD_OK);
    assert_true(c.is_report);
    assert_int_equal(c.calls, 1);
    check_full_fields(&c.rep);
    check_message_sample(&c.rep);
    assert_int_equal(c.warnings.count, 0);
    collect_release(&c);
}

static void test_crlf_report(void **state)
{
    (void)state;
    struct collect c;
    size_t len, crlf_len;
    char *data = fixture_read("failure", "arf_full.eml", &len);
    char *crlf = to_crlf(data, len, &crlf_len);

    collect_init(&c);
    assert_int_equal(run_bytes(crlf, crlf_len, false, &c), DMARCD_OK);
    assert_true(c.is_report);
    check_full_fields(&c.rep);
    check_message_sample(&c.rep);
    assert_int_equal(c.warnings.count, 0);
    free(crlf);
    free(data);
    collect_release(&c);
}

static void check_wrapped(const struct collect *c)
{
    const struct failure_report *r = &c->rep;

    assert_string_equal(r->feedback_type, "auth-failure");
    assert_string_equal(r->user_agent, "WrappedReporter/1.0");
    assert_string_equal(r->original_mail_from, "bounces@mailer.sender.example");
    assert_int_equal(r->arrival_time, 1704358122);
    assert_string_equal(r->source_ip, "198.51.100.77");
    assert_list(r->reported_domain, 1, "sender.example");
    assert_string_equal(r->original_envelope_id, "WRAP-1");
    assert_list(r->authentication_results, 1,
                "receiver.example; dkim=pass header.d=mailer.sender.example; "
                "spf=pass smtp.mailfrom=mailer.sender.example");
    assert_list(r->identity_alignment, 2, "spf", "dkim");
    assert_string_equal(r->delivery_result, "delivered");
    assert_int_equal(r->sample_kind, FAILURE_SAMPLE_MESSAGE);
    assert_non_null(strstr(r->sample_body, "Your invoice."));
    assert_string_equal(r->subject, "[Receiver DMARC Failure Report] Invoice");
}

/* Netease re-wrapped by Exchange: multipart/mixed, base64 attachment ATT00001. */
static void test_base64_attachment(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("arf_base64_attachment.eml", false, &c), DMARCD_OK);
    assert_true(c.is_report);
    check_wrapped(&c);
    assert_int_equal(c.warnings.count, 0);
    collect_release(&c);
}

/* The same, declared application/octet-stream: found by its content. */
static void test_octet_stream_sniffed(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("arf_octet_stream.eml", false, &c), DMARCD_OK);
    assert_true(c.is_report);
    check_wrapped(&c);
    assert_true(collect_has(c.warnings, "not typed message/feedback-report"));
    collect_release(&c);
}

/* LinkedIn shape: mbox "From " line, no MIME-Version, Version 1.0, empty MAIL FROM. */
static void test_mbox_from_line(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("arf_mbox_from.eml", false, &c), DMARCD_OK);
    assert_true(c.is_report);
    assert_string_equal(c.rep.version, "1.0");
    assert_non_null(c.rep.original_mail_from);
    assert_string_equal(c.rep.original_mail_from, "");
    assert_string_equal(c.rep.source_ip, "2001:db8::1");
    assert_list(c.rep.original_rcpt_to, 1, "carol@receiver.example");
    assert_int_equal(c.rep.arrival_time, 1704275940);
    assert_string_equal(c.rep.delivery_result, "delivered");
    assert_int_equal(c.rep.sample_kind, FAILURE_SAMPLE_MESSAGE);
    assert_non_null(strstr(c.rep.sample_body, "Hello Carol."));
    assert_int_equal(c.warnings.count, 0); /* the stray Message-ID field is ignored */
    collect_release(&c);
}

/* Quoted-printable feedback part with missing fields: every default. */
static void test_missing_fields_defaults(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("arf_minimal_qp.eml", false, &c), DMARCD_OK);
    assert_true(c.is_report);
    assert_string_equal(c.rep.feedback_type, "auth-failure");
    assert_true(collect_has(c.warnings, "no feedback-type field: auth-failure assumed"));
    assert_string_equal(c.rep.arrival_date, "Fri, 05 Jan 2024 12:00:00 +0000");
    assert_int_equal(c.rep.arrival_time, 1704456000);
    assert_true(collect_has(c.warnings, "no arrival-date field: the report mail's date used"));
    assert_string_equal(c.rep.source_ip, "192.0.2.7");
    assert_string_equal(c.rep.delivery_result, "other");
    assert_true(
        collect_has(c.warnings, "delivery-result \"smg-policy-action\" read as \"other\""));
    assert_int_equal(c.rep.source_port, -1);
    assert_int_equal(c.rep.incidents, -1);
    assert_true(collect_has(c.warnings, "source-port is not a number"));
    assert_true(collect_has(c.warnings, "incidents is not a number"));
    assert_list(c.rep.authentication_results, 1,
                "receiver.example; dmarc=fail header.from=sender.example");
    assert_null(c.rep.original_mail_from);
    assert_int_equal(c.rep.original_rcpt_to.count, 0);
    assert_int_equal(c.rep.sample_kind, FAILURE_SAMPLE_NONE);
    assert_null(c.rep.sample_headers);
    assert_null(c.rep.sample_body);
    collect_release(&c);
}

/* OpenDMARC shape: text/rfc822-headers sample, legacy Received-Date. */
static void test_headers_only_sample(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("arf_headers_only.eml", false, &c), DMARCD_OK);
    assert_true(c.is_report);
    assert_int_equal(c.rep.sample_kind, FAILURE_SAMPLE_HEADERS);
    assert_non_null(strstr(c.rep.sample_headers, "Subject: Original subject"));
    assert_null(c.rep.sample_body);
    assert_int_equal(c.rep.sample_body_len, 0);
    assert_string_equal(c.rep.arrival_date, "Tue, 09 Jan 2024 07:59:00 +1300");
    assert_int_equal(c.rep.arrival_time, 1704740340);
    assert_true(collect_has(c.warnings, "legacy received-date field read as arrival-date"));
    assert_string_equal(c.rep.source_ip, "203.0.113.5");
    assert_list(c.rep.auth_failure, 1, "dmarc");
    collect_release(&c);
}

static void test_exim_summary(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("exim_summary.eml", false, &c), DMARCD_OK);
    assert_true(c.is_report);
    assert_false(c.rep.arf);
    assert_string_equal(c.rep.feedback_type, "auth-failure");
    assert_list(c.rep.reported_domain, 1, "sender.example");
    assert_string_equal(c.rep.source_ip, "203.0.113.9");
    assert_int_equal(c.rep.arrival_time, 1707728398);
    assert_list(c.rep.authentication_results, 3, "SPF Alignment: no", "DKIM Alignment: yes",
                "DMARC Results: Reject, Reject");
    assert_list(c.rep.auth_failure, 1, "dmarc");
    assert_int_equal(c.rep.identity_alignment.count, 0);
    assert_int_equal(c.rep.sample_kind, FAILURE_SAMPLE_HEADERS);
    assert_true(strncmp(c.rep.sample_headers, "Received: from [203.0.113.9]", 28) == 0);
    assert_true(collect_has(c.warnings, "not an ARF report: read from the text summary"));
    assert_int_equal(c.warnings.count, 1);
    collect_release(&c);
}

static void test_not_a_report(void **state)
{
    (void)state;
    const char *names[] = { "aggregate_zip.eml", "plain_mail.eml" };

    for (size_t i = 0; i < 2; i++) {
        struct collect c;

        collect_init(&c);
        c.is_report = true; /* the run must say it is not */
        assert_int_equal(run_fixture(names[i], false, &c), DMARCD_E_NOT_REPORT);
        assert_false(c.is_report);
        assert_int_equal(c.calls, 0);
        assert_string_equal(c.detail.buf, "no feedback-report fields found");
        collect_release(&c);
    }
}

/* A report forwarded as message/rfc822: its own Date and Subject count. */
static void test_forwarded_report(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("arf_forwarded.eml", false, &c), DMARCD_OK);
    assert_true(c.is_report);
    assert_string_equal(c.rep.user_agent, "Inner/1.0");
    assert_string_equal(c.rep.subject, "inner report");
    assert_int_equal(c.rep.arrival_time, 1704700800);
    assert_int_equal(c.rep.sample_kind, FAILURE_SAMPLE_MESSAGE);
    assert_non_null(strstr(c.rep.sample_body, "Body of the failed one."));
    collect_release(&c);
}

static void test_strict_refuses_salvage(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("arf_minimal_qp.eml", true, &c), DMARCD_E_BAD_REPORT);
    assert_int_equal(c.calls, 0);
    assert_true(strncmp(c.detail.buf, "strict: ", 8) == 0);
    assert_int_equal(run_fixture("arf_full.eml", true, &c), DMARCD_OK);
    assert_int_equal(c.calls, 1);
    collect_release(&c);
}

static void test_sink_error_returned(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    c.answer = DMARCD_E_DB_UNAVAILABLE;
    assert_int_equal(run_fixture("arf_full.eml", false, &c), DMARCD_E_DB_UNAVAILABLE);
    assert_int_equal(c.calls, 1);
    collect_release(&c);
}

/* ---- tests: bare field blocks ---- */

static void test_fields_block(void **state)
{
    (void)state;
    struct collect c;
    size_t len;
    char *text = fixture_read("failure", "fields_only.txt", &len);
    struct report_sink sink = { .ops = &collect_ops, .ctx = &c };
    struct report_source src = { .file = "fields_only.txt" };
    struct parse_options opts = { .strict = false };

    collect_init(&c);
    assert_int_equal(failure_fields_parse(text, len, &src, &opts, &sink, &c.detail), DMARCD_OK);
    assert_string_equal(c.rep.feedback_type, "auth-failure"); /* the first of two */
    assert_true(collect_has(c.warnings, "duplicate feedback-type field: first kept"));
    assert_string_equal(c.rep.original_mail_from, "");
    assert_string_equal(c.rep.arrival_date, "not a date at all");
    assert_int_equal(c.rep.arrival_time, -1);
    assert_true(collect_has(c.warnings, "arrival-date is not a date"));
    assert_string_equal(c.rep.source_ip, "");
    assert_true(collect_has(c.warnings, "source-ip is not an ip address: dropped"));
    assert_list(c.rep.identity_alignment, 1, "none");
    assert_true(collect_has(c.warnings, "a line of the feedback report is not a field: skipped"));
    assert_list(c.rep.authentication_results, 1,
                "receiver.example; dmarc=fail header.from=sender.example");
    /* The block ends at the first empty line. */
    assert_list(c.rep.reported_domain, 1, "sender.example");
    assert_null(c.rep.subject);
    assert_int_equal(c.rep.sample_kind, FAILURE_SAMPLE_NONE);
    free(text);
    collect_release(&c);
}

static void test_delivery_result_mapping(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
        bool warns;
    } cases[] = {
        { "delivered", "delivered", false }, { "SPAM", "spam", false },
        { "policy", "policy", false },       { "Reject", "reject", false },
        { "other", "other", false },         { "smg-policy-action", "other", true },
        { "quarantined", "other", true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct collect c;
        struct strbuf text;

        collect_init(&c);
        strbuf_init(&text, 0);
        (void)strbuf_addf(&text, "Feedback-Type: auth-failure\nDelivery-Result: %s\n",
                          cases[i].in);
        assert_int_equal(run_fields(text.buf, false, &c), DMARCD_OK);
        assert_string_equal(c.rep.delivery_result, cases[i].out);
        assert_int_equal(collect_has(c.warnings, "read as \"other\""), cases[i].warns);
        strbuf_release(&text);
        collect_release(&c);
    }
}

static void test_source_ip_forms(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "54.240.8.61 (a8-61.smtp-out.amazonses.com)", "54.240.8.61" },
        { "148.163.85.135(host.example)", "148.163.85.135" },
        { "[192.0.2.1]", "192.0.2.1" },
        { "IPv6:2001:DB8::2", "2001:db8::2" },
        { "::ffff:192.0.2.3", "192.0.2.3" },
        { "  2001:db8:0:0:0:0:0:4  ", "2001:db8::4" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct collect c;
        struct strbuf text;

        collect_init(&c);
        strbuf_init(&text, 0);
        (void)strbuf_addf(&text, "Feedback-Type: auth-failure\r\nSource-IP: %s\r\n"
                                 "Original-Rcpt-To: <a@example.org>, <b@example.org>\r\n"
                                 "Original-Rcpt-To: < c@example.org >\r\n",
                          cases[i].in);
        assert_int_equal(run_fields(text.buf, false, &c), DMARCD_OK);
        assert_string_equal(c.rep.source_ip, cases[i].out);
        assert_list(c.rep.original_rcpt_to, 2, "<a@example.org>, <b@example.org>",
                    "c@example.org");
        strbuf_release(&text);
        collect_release(&c);
    }
}

/* Folding over LF, CRLF and lone CR; tabs; WSP before the colon; names in any case. */
static void test_folding_and_line_ends(void **state)
{
    (void)state;
    struct collect c;
    const char *text = "feedback-type : auth-failure\r"
                       "AUTHENTICATION-RESULTS: a.example;\r\n"
                       "\tdkim=fail\n"
                       "     header.d=b.example\r"
                       " ;\r\n"
                       "Auth-Failure: (why) DMARC , bodyhash,,\n"
                       "Identity-Alignment:dkim,(c)spf(d)\n";

    collect_init(&c);
    assert_int_equal(run_fields(text, false, &c), DMARCD_OK);
    assert_string_equal(c.rep.feedback_type, "auth-failure");
    assert_list(c.rep.authentication_results, 1, "a.example; dkim=fail header.d=b.example ;");
    assert_list(c.rep.auth_failure, 2, "dmarc", "bodyhash");
    assert_list(c.rep.identity_alignment, 2, "dkim", "spf");
    collect_release(&c);
}

static void test_no_fields_is_not_report(void **state)
{
    (void)state;
    struct collect c;
    const char *mail = "From: a@example.org\n"
                       "Subject: x\n"
                       "MIME-Version: 1.0\n"
                       "Content-Type: multipart/report; report-type=feedback-report; "
                       "boundary=\"q\"\n\n"
                       "--q\nContent-Type: text/plain\n\nhello\n"
                       "--q\nContent-Type: message/feedback-report\n\n"
                       "X-Unknown: 1\nNot-Arf: 2\n"
                       "--q--\n";

    collect_init(&c);
    assert_int_equal(run_bytes(mail, strlen(mail), false, &c), DMARCD_E_NOT_REPORT);
    assert_true(c.is_report);
    assert_int_equal(c.calls, 0);
    assert_int_equal(run_fields("Hello: world\n", false, &c), DMARCD_E_NOT_REPORT);
    assert_int_equal(run_fields("", false, &c), DMARCD_E_NOT_REPORT);
    /* A field block starts with a field: junk first means no block at all. */
    assert_int_equal(
        run_fields("<?xml version=\"1.0\"?>\nFeedback-Type: auth-failure\n", false, &c),
        DMARCD_E_NOT_REPORT);
    assert_int_equal(c.calls, 0);
    collect_release(&c);
}

/* ---- limits ---- */

static void test_too_many_fields(void **state)
{
    (void)state;
    struct collect c;
    struct strbuf text;

    collect_init(&c);
    strbuf_init(&text, 0);
    (void)strbuf_addstr(&text, "Feedback-Type: auth-failure\n");
    for (int i = 0; i < DMARCD_MAX_ARF_FIELDS; i++)
        (void)strbuf_addf(&text, "Reported-Domain: d%d.example\n", i);
    assert_int_equal(run_fields(text.buf, false, &c), DMARCD_E_TOO_MANY);
    assert_non_null(strstr(c.detail.buf, "more than 512 fields"));
    /* Junk lines after the first field count against the cap too. */
    strbuf_reset(&text);
    (void)strbuf_addstr(&text, "Feedback-Type: auth-failure\n");
    for (int i = 0; i < DMARCD_MAX_ARF_FIELDS; i++)
        (void)strbuf_addstr(&text, "junk\n");
    assert_int_equal(run_fields(text.buf, false, &c), DMARCD_E_TOO_MANY);
    assert_int_equal(c.calls, 0);
    strbuf_release(&text);
    collect_release(&c);
}

static void test_long_value_dropped(void **state)
{
    (void)state;
    struct collect c;
    struct strbuf text;

    collect_init(&c);
    strbuf_init(&text, 0);
    (void)strbuf_addstr(&text, "Feedback-Type: auth-failure\nUser-Agent: ");
    for (size_t i = 0; i <= DMARCD_MAX_TEXT_BYTES; i++)
        (void)strbuf_addch(&text, 'x');
    (void)strbuf_addstr(&text, "\nVersion: 1\n");
    assert_int_equal(run_fields(text.buf, false, &c), DMARCD_OK);
    assert_null(c.rep.user_agent);
    assert_string_equal(c.rep.version, "1");
    assert_true(collect_has(c.warnings, "user-agent field is too long"));
    strbuf_release(&text);
    collect_release(&c);
}

static void test_mime_too_deep(void **state)
{
    (void)state;
    struct collect c;
    struct strbuf mail;
    int levels = DMARCD_MAX_MIME_DEPTH + 4;

    collect_init(&c);
    strbuf_init(&mail, 0);
    (void)strbuf_addstr(&mail, "From: a@example.org\nMIME-Version: 1.0\n");
    for (int i = 0; i < levels; i++)
        (void)strbuf_addf(&mail, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n",
                          i, i);
    (void)strbuf_addstr(&mail, "Content-Type: message/feedback-report\n\n"
                               "Feedback-Type: auth-failure\n\n");
    for (int i = levels - 1; i >= 0; i--)
        (void)strbuf_addf(&mail, "--b%d--\n", i);
    assert_int_equal(run_bytes(mail.buf, mail.len, false, &c), DMARCD_E_TOO_DEEP);
    assert_non_null(strstr(c.detail.buf, "mime nesting deeper than 16"));
    assert_int_equal(c.calls, 0);
    strbuf_release(&mail);
    collect_release(&c);
}

static void test_mime_too_many_parts(void **state)
{
    (void)state;
    struct collect c;
    struct strbuf mail;

    collect_init(&c);
    strbuf_init(&mail, 0);
    (void)strbuf_addstr(&mail, "From: a@example.org\nMIME-Version: 1.0\n"
                               "Content-Type: multipart/mixed; boundary=\"z\"\n\n");
    for (int i = 0; i < DMARCD_MAX_MIME_PARTS + 10; i++)
        (void)strbuf_addf(&mail, "--z\nContent-Type: text/html\n\n<p>%d</p>\n", i);
    (void)strbuf_addstr(&mail, "--z\nContent-Type: message/feedback-report\n\n"
                               "Feedback-Type: auth-failure\n\n--z--\n");
    assert_int_equal(run_bytes(mail.buf, mail.len, false, &c), DMARCD_E_TOO_MANY);
    assert_non_null(strstr(c.detail.buf, "more than 256 mime parts"));
    strbuf_release(&mail);
    collect_release(&c);
}

static int setup_gmime(void **state)
{
    (void)state;
    g_mime_init();
    return 0;
}

static int teardown_gmime(void **state)
{
    (void)state;
    g_mime_shutdown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_report),
        cmocka_unit_test(test_crlf_report),
        cmocka_unit_test(test_base64_attachment),
        cmocka_unit_test(test_octet_stream_sniffed),
        cmocka_unit_test(test_mbox_from_line),
        cmocka_unit_test(test_missing_fields_defaults),
        cmocka_unit_test(test_headers_only_sample),
        cmocka_unit_test(test_exim_summary),
        cmocka_unit_test(test_not_a_report),
        cmocka_unit_test(test_forwarded_report),
        cmocka_unit_test(test_strict_refuses_salvage),
        cmocka_unit_test(test_sink_error_returned),
        cmocka_unit_test(test_fields_block),
        cmocka_unit_test(test_delivery_result_mapping),
        cmocka_unit_test(test_source_ip_forms),
        cmocka_unit_test(test_folding_and_line_ends),
        cmocka_unit_test(test_no_fields_is_not_report),
        cmocka_unit_test(test_too_many_fields),
        cmocka_unit_test(test_long_value_dropped),
        cmocka_unit_test(test_mime_too_deep),
        cmocka_unit_test(test_mime_too_many_parts),
    };
    return cmocka_run_group_tests(tests, setup_gmime, teardown_gmime);
}
