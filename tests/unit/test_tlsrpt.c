/*
 * Unit tests for parser/tlsrpt: a full RFC 8460 report, the pre-erratum
 * mx-host forms, datetimes without offset and with offsets, the quirks we
 * salvage (duplicate keys, double-encoded policy-string, counts as strings
 * or reals, bad IPs), and the refusals (bad JSON with its position, deep
 * nesting, no policies, missing metadata, strict mode, size). A collecting
 * sink deep-copies each report because the parser's pointers are borrowed,
 * and keeps the parser's error detail with it. Fixtures in tests/data/tlsrpt/
 * are synthetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/limits.h"
#include "lib/strbuf.h"
#include "parser/tlsrpt.h"
#include "tests/unit/collect.h"
#include "tests/unit/fixture.h"
#include "lib/banned.h"

/* ---- collecting sink ---- */

/* What one parse left: the report and warnings the sink was handed, and
 * the parser's error detail. */
struct collect {
    int calls;
    enum dmarcd_err answer;
    struct arena arena;
    struct tls_report rep;
    struct str_list warnings;
    struct strbuf detail;
};

static void copy_detail(struct arena *a, struct tls_failure_detail *d)
{
    d->result_type = collect_str(a, d->result_type);
    d->sending_mta_ip = collect_str(a, d->sending_mta_ip);
    d->receiving_mx_hostname = collect_str(a, d->receiving_mx_hostname);
    d->receiving_mx_helo = collect_str(a, d->receiving_mx_helo);
    d->receiving_ip = collect_str(a, d->receiving_ip);
    d->additional_information = collect_str(a, d->additional_information);
    d->failure_reason_code = collect_str(a, d->failure_reason_code);
}

static void copy_policy(struct arena *a, struct tls_policy *p)
{
    struct tls_failure_detail *d = arena_alloc(a, (p->n_failure_details + 1) * sizeof(*d));

    p->policy_type = collect_str(a, p->policy_type);
    p->policy_domain = collect_str(a, p->policy_domain);
    p->policy_string = collect_list(a, p->policy_string);
    p->mx_host = collect_list(a, p->mx_host);
    for (size_t i = 0; i < p->n_failure_details; i++) {
        d[i] = p->failure_details[i];
        copy_detail(a, &d[i]);
    }
    p->failure_details = d;
}

static enum dmarcd_err collect_tls(void *ctx, const struct report_source *src,
                                   const struct tls_report *report,
                                   const struct report_warnings *warnings)
{
    struct collect *c = ctx;
    struct tls_policy *pols;

    assert_non_null(src);
    c->calls++;
    c->rep = *report;
    c->rep.organization_name = collect_str(&c->arena, report->organization_name);
    c->rep.start_datetime = collect_str(&c->arena, report->start_datetime);
    c->rep.end_datetime = collect_str(&c->arena, report->end_datetime);
    c->rep.contact_info = collect_str(&c->arena, report->contact_info);
    c->rep.report_id = collect_str(&c->arena, report->report_id);
    pols = arena_alloc(&c->arena, (report->n_policies + 1) * sizeof(*pols));
    for (size_t i = 0; i < report->n_policies; i++) {
        pols[i] = report->policies[i];
        copy_policy(&c->arena, &pols[i]);
    }
    c->rep.policies = pols;
    c->warnings = collect_warnings(&c->arena, warnings);
    return c->answer;
}

static const struct report_sink_ops collect_ops = { .name = "collect", .tlsrpt = collect_tls };

static void collect_init(struct collect *c)
{
    memset(c, 0, sizeof(*c));
    arena_init(&c->arena, 16 * DMARCD_MiB);
    strbuf_init(&c->detail, 0);
}

static void collect_release(struct collect *c)
{
    strbuf_release(&c->detail);
    arena_release(&c->arena);
}

/* ---- running ---- */

static enum dmarcd_err run_bytes(const char *data, size_t len, bool strict, struct collect *c)
{
    struct report_sink sink = { .ops = &collect_ops, .ctx = c };
    struct report_source src = { .file = "test.json", .part = NULL };
    struct parse_options opts = { .strict = strict };

    return tlsrpt_parse(data, len, &src, &opts, &sink, &c->detail);
}

static enum dmarcd_err run_fixture(const char *name, bool strict, struct collect *c)
{
    size_t len;
    char *data = fixture_read("tlsrpt", name, &len);
    enum dmarcd_err rc = run_bytes(data, len, strict, c);
    free(data);
    return rc;
}

/* ---- tests ---- */

static void check_full_details(const struct tls_policy *p)
{
    const struct tls_failure_detail *d = p->failure_details;

    assert_int_equal(p->n_failure_details, 2);
    assert_string_equal(d[0].result_type, "certificate-expired");
    assert_string_equal(d[0].sending_mta_ip, "2001:db8::25");
    assert_string_equal(d[0].receiving_mx_hostname, "mx1.mail.recipient.example");
    assert_string_equal(d[0].receiving_mx_helo, "mx1.mail.recipient.example");
    assert_string_equal(d[0].receiving_ip, "203.0.113.25");
    assert_int_equal(d[0].failed_session_count, 5);
    assert_string_equal(d[0].additional_information, "https://reporter.example/tls/expired");
    assert_string_equal(d[0].failure_reason_code, "X509_V_ERR_CERT_HAS_EXPIRED");
    assert_string_equal(d[1].result_type, "starttls-not-supported");
    assert_string_equal(d[1].sending_mta_ip, "192.0.2.25");
    assert_null(d[1].receiving_mx_helo);
    assert_null(d[1].additional_information);
    assert_null(d[1].failure_reason_code);
    assert_int_equal(d[1].failed_session_count, 2);
}

static void test_full_report(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("full.json", false, &c), DMARCD_OK);
    assert_int_equal(c.calls, 1);
    assert_string_equal(c.rep.organization_name, "Reporter Org");
    assert_string_equal(c.rep.contact_info, "tlsrpt@reporter.example");
    assert_string_equal(c.rep.report_id, "2024-03-01T00:00:00Z_recipient.example");
    assert_string_equal(c.rep.start_datetime, "2024-03-01T00:00:00Z");
    assert_string_equal(c.rep.end_datetime, "2024-03-01T23:59:59Z");
    assert_int_equal(c.rep.begin, 1709251200);
    assert_int_equal(c.rep.end, 1709337599);
    assert_int_equal(c.rep.n_policies, 2);
    const struct tls_policy *p = &c.rep.policies[0];
    assert_string_equal(p->policy_type, "sts");
    assert_string_equal(p->policy_domain, "recipient.example");
    assert_list(p->policy_string, 4, "version: STSv1", "mode: enforce",
                "mx: *.mail.recipient.example", "max_age: 604800");
    assert_list(p->mx_host, 2, "*.mail.recipient.example", "backup.recipient.example");
    assert_int_equal(p->total_successful_session_count, 1200);
    assert_int_equal(p->total_failure_session_count, 7);
    check_full_details(p);
    p = &c.rep.policies[1];
    assert_string_equal(p->policy_type, "tlsa");
    assert_int_equal(p->policy_string.count, 1);
    assert_int_equal(p->mx_host.count, 0);
    assert_int_equal(p->n_failure_details, 0);
    assert_int_equal(p->total_successful_session_count, 40);
    assert_int_equal(c.warnings.count, 0);
    collect_release(&c);
}

static void test_pre_erratum_mx_host(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("pre_erratum.json", false, &c), DMARCD_OK);
    assert_int_equal(c.rep.n_policies, 2);
    assert_list(c.rep.policies[0].mx_host, 1, "*.mail.recipient.example");
    assert_true(collect_has(c.warnings, "mx-host is a single string (pre-erratum form)"));
    assert_list(c.rep.policies[1].mx_host, 2, "mx.other.example", "mx2.other.example");
    assert_true(collect_has(c.warnings, "mx-host entries are objects"));
    assert_string_equal(c.rep.policies[1].failure_details[0].additional_information,
                        "https://old.example/info");
    assert_true(collect_has(c.warnings, "additional-info-uri read as additional-information"));
    collect_release(&c);
}

static void test_datetime_without_offset(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("no_offset.json", false, &c), DMARCD_OK);
    assert_int_equal(c.rep.begin, 1709424000);
    assert_int_equal(c.rep.end, 1709510399);
    assert_string_equal(c.rep.start_datetime, "2024-03-03T00:00:00");
    assert_true(
        collect_has(c.warnings, "date-range start-datetime has no utc offset: utc assumed"));
    assert_true(collect_has(c.warnings, "date-range end-datetime has no utc offset: utc assumed"));
    assert_int_equal(run_fixture("no_offset.json", true, &c), DMARCD_E_BAD_REPORT);
    assert_string_equal(c.detail.buf,
                        "strict: date-range start-datetime has no utc offset: utc assumed");
    assert_int_equal(c.calls, 1);
    collect_release(&c);
}

static void test_datetime_offsets(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("offsets.json", false, &c), DMARCD_OK);
    /* 2024-02-29T02:00:00.123+02:00 is 2024-02-29T00:00:00Z; lower-case t/z accepted. */
    assert_int_equal(c.rep.begin, 1709164800);
    assert_int_equal(c.rep.end, 1709251200);
    assert_null(c.rep.contact_info);
    assert_string_equal(c.rep.policies[0].policy_type, "no-policy-found");
    assert_int_equal(c.warnings.count, 0);
    assert_int_equal(run_fixture("bad_date.json", false, &c), DMARCD_E_BAD_REPORT);
    assert_non_null(strstr(c.detail.buf, "is not an rfc 3339 date-time"));
    collect_release(&c);
}

static void check_quirk_policies(const struct collect *c)
{
    const struct tls_policy *p = c->rep.policies;

    assert_int_equal(c->rep.n_policies, 3); /* the bare 7 is skipped */
    assert_string_equal(p[0].policy_type, "tlsa");
    assert_list(p[0].policy_string, 2, "3 1 1 AAAA", "3 1 1 BBBB");
    assert_int_equal(p[0].total_successful_session_count, 12);
    assert_int_equal(p[0].total_failure_session_count, 4);
    assert_string_equal(p[1].policy_type, "invalid-policy-type");
    assert_null(p[1].policy_domain);
    assert_int_equal(p[1].total_successful_session_count, 0);
    assert_int_equal(p[2].n_failure_details, 2);
    assert_null(p[2].failure_details[0].sending_mta_ip);
    assert_string_equal(p[2].failure_details[0].failure_reason_code,
                        "bad https response code: 404");
    assert_null(p[2].failure_details[1].sending_mta_ip);
    assert_null(p[2].failure_details[1].receiving_ip);
    assert_int_equal(p[2].failure_details[1].failed_session_count, 0);
}

static void test_quirks_salvaged(void **state)
{
    (void)state;
    struct collect c;
    static const char *const expected[] = {
        "json has a duplicate key",
        "policy-string holds a json-encoded array: unwrapped",
        "total-successful-session-count is a string: read as a number",
        "total-failure-session-count is a real number: read as an integer",
        "unknown policy-type \"invalid-policy-type\" kept",
        "policies[1].policy: no policy-domain",
        "policies[1].summary: total-successful-session-count is not a non-negative integer",
        "policies[1].summary: no total-failure-session-count: 0 used",
        "policies[2]: not an object: skipped",
        "sending-mta-ip \"not-an-ip\" is not an ip address: dropped",
        "receiving-ip \"203.0.113.999\" is not an ip address: dropped",
        "policies[3].failure-details[2]: not an object: skipped",
    };

    collect_init(&c);
    assert_int_equal(run_fixture("quirks.json", false, &c), DMARCD_OK);
    assert_string_equal(c.rep.organization_name, "Quirky Reporter (second)");
    assert_null(c.rep.contact_info);
    check_quirk_policies(&c);
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        assert_true(collect_has(c.warnings, expected[i]));
    /* strict refuses the duplicate key before anything else */
    assert_int_equal(run_fixture("quirks.json", true, &c), DMARCD_E_JSON);
    assert_non_null(strstr(c.detail.buf, "duplicate"));
    collect_release(&c);
}

static void test_bad_json(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("bad.json", false, &c), DMARCD_E_JSON);
    assert_true(strncmp(c.detail.buf, "line 4 column ", 14) == 0);
    assert_int_equal(run_bytes("", 0, false, &c), DMARCD_E_JSON);
    assert_true(strncmp(c.detail.buf, "line ", 5) == 0);
    assert_int_equal(run_bytes("{\"a\":1} trailing", 16, false, &c), DMARCD_E_JSON);
    assert_int_equal(run_bytes("{\"a\":\"\\u0000\"}", 14, false, &c), DMARCD_E_JSON);
    assert_int_equal(c.calls, 0);
    collect_release(&c);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    struct collect c;
    struct strbuf doc;

    collect_init(&c);
    strbuf_init(&doc, 0);
    (void)strbuf_addstr(&doc, "{\"policies\":");
    for (int i = 0; i < 10000; i++)
        (void)strbuf_addch(&doc, i % 2 ? '{' : '[');
    assert_int_equal(run_bytes(doc.buf, doc.len, false, &c), DMARCD_E_TOO_DEEP);
    assert_non_null(strstr(c.detail.buf, "json nesting deeper than 32 at line 1 column"));
    /* Brackets inside strings do not count. */
    strbuf_reset(&doc);
    (void)strbuf_addstr(&doc, "{\"organization-name\":\"");
    for (int i = 0; i < 100; i++)
        (void)strbuf_addstr(&doc, "[{\\\"");
    (void)strbuf_addstr(&doc, "\",\"report-id\":\"r\",\"date-range\":{\"start-datetime\":"
                              "\"2024-01-01T00:00:00Z\",\"end-datetime\":"
                              "\"2024-01-01T23:59:59Z\"},\"policies\":[]}");
    assert_int_equal(run_bytes(doc.buf, doc.len, false, &c), DMARCD_OK);
    assert_true(collect_has(c.warnings, "policies is empty"));
    strbuf_release(&doc);
    collect_release(&c);
}

static void test_not_a_tls_report(void **state)
{
    (void)state;
    struct collect c;

    collect_init(&c);
    assert_int_equal(run_fixture("no_policies.json", false, &c), DMARCD_E_NOT_REPORT);
    assert_non_null(strstr(c.detail.buf, "no policies"));
    assert_int_equal(run_bytes("[1,2]", 5, false, &c), DMARCD_E_NOT_REPORT);
    assert_int_equal(run_bytes("{\"policies\":{}}", 15, false, &c), DMARCD_E_BAD_REPORT);
    assert_int_equal(c.calls, 0);
    collect_release(&c);
}

static void test_missing_metadata(void **state)
{
    (void)state;
    static const struct {
        const char *doc, *detail;
    } cases[] = {
        { "{\"report-id\":\"r\",\"date-range\":{\"start-datetime\":\"2024-01-01T00:00:00Z\","
          "\"end-datetime\":\"2024-01-02T00:00:00Z\"},\"policies\":[]}",
          "no organization-name" },
        { "{\"organization-name\":\"o\",\"report-id\":\"\",\"policies\":[]}", "no report-id" },
        { "{\"organization-name\":\"o\",\"report-id\":\"r\",\"policies\":[]}",
          "no date-range object" },
        { "{\"organization-name\":\"o\",\"report-id\":\"r\",\"date-range\":"
          "{\"start-datetime\":\"2024-01-01T00:00:00Z\"},\"policies\":[]}",
          "no date-range end-datetime" },
        { "{\"organization-name\":5,\"report-id\":\"r\",\"policies\":[]}",
          "no organization-name" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct collect c;

        collect_init(&c);
        assert_int_equal(run_bytes(cases[i].doc, strlen(cases[i].doc), false, &c),
                         DMARCD_E_BAD_REPORT);
        assert_string_equal(c.detail.buf, cases[i].detail);
        assert_int_equal(c.calls, 0);
        collect_release(&c);
    }
    struct collect c;
    collect_init(&c);
    assert_int_equal(run_fixture("no_report_id.json", false, &c), DMARCD_E_BAD_REPORT);
    assert_string_equal(c.detail.buf, "no report-id");
    collect_release(&c);
}

static void test_bom_size_and_sink_error(void **state)
{
    (void)state;
    struct collect c;
    struct strbuf doc;
    size_t len;
    char *data = fixture_read("tlsrpt", "full.json", &len);

    collect_init(&c);
    strbuf_init(&doc, 0);
    (void)strbuf_addstr(&doc, "\xEF\xBB\xBF");
    (void)strbuf_add(&doc, data, len);
    assert_int_equal(run_bytes(doc.buf, doc.len, false, &c), DMARCD_OK);
    assert_true(collect_has(c.warnings, "byte order mark"));
    /* The size check comes before any byte is read. */
    assert_int_equal(run_bytes(data, DMARCD_MAX_JSON_BYTES + 1, false, &c), DMARCD_E_TOO_BIG);
    c.answer = DMARCD_E_DB;
    assert_int_equal(run_bytes(data, len, false, &c), DMARCD_E_DB);
    assert_int_equal(c.calls, 2);
    free(data);
    strbuf_release(&doc);
    collect_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_report),
        cmocka_unit_test(test_pre_erratum_mx_host),
        cmocka_unit_test(test_datetime_without_offset),
        cmocka_unit_test(test_datetime_offsets),
        cmocka_unit_test(test_quirks_salvaged),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_not_a_tls_report),
        cmocka_unit_test(test_missing_metadata),
        cmocka_unit_test(test_bom_size_and_sink_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
