/*
 * h_data.c - the report data of the caller's tenant: domains, overview,
 * sources, time series, aggregate reports, failure-report metadata and TLS
 * reports.
 *
 * Every read goes through storage/queries.h or storage/portal.h with the
 * tenant the dispatcher selected; this file only turns query parameters
 * into their arguments and results into JSON (or CSV). Argument errors
 * come back from storage as one sentence and are answered 400 with it.
 * Dates without from/to default to the 30 days up to today (UTC).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/json.h"
#include "lib/log.h"
#include "storage/audit.h"
#include "storage/forensic.h"
#include "storage/portal.h"
#include "storage/queries.h"
#include "storage/tenants.h"
#include "lib/banned.h"

#define DEFAULT_DAYS 30

static json_t *rate(uint64_t part, uint64_t whole)
{
    return whole ? json_real((double)part / (double)whole) : json_null();
}

static json_t *list_reply(json_t *items, const char *next)
{
    return json_pack("{s:o,s:o}", "items", items, "next_cursor", api_jstr(next));
}

/*
 * The domain filter: NULL when absent; false after a 400 when it is not a
 * domain name. Policy domains are kept as reporters wrote them, so this
 * only insists on the characters a domain name can have.
 */
static bool domain_param(struct api_call *c, const char **out)
{
    const char *d = api_query(c, "domain");
    size_t n = d ? strlen(d) : 0;
    *out = d;
    bool ok = n <= 253;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = d[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '.' || ch == '-' || ch == '_';
    }
    if (!ok)
        api_reply_error(c, 400, "invalid_request", "domain must be a domain name");
    return ok;
}

/* ---- domains ---- */

void api_h_domains_list(struct api_call *c)
{
    struct query_domains list;
    struct strbuf why;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = query_read_domains(c->st, c->tenant_id, NULL, &list, &why);
    if (rc) {
        api_reply_store_error(c, rc, &why);
        strbuf_release(&why);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < list.count; i++) {
        const struct query_domain *d = &list.items[i];
        json_array_append_new(
            items, json_pack("{s:o,s:b,s:b,s:o,s:o}", "domain", api_jstr(d->domain), "registered",
                             d->registered, "ownership_verified", 0, "last_report_day",
                             api_jstr_or_null(d->last_day), "messages_30d",
                             api_juint(d->messages_recent)));
    }
    query_domains_release(&list);
    strbuf_release(&why);
    api_reply_json(c, 200, list_reply(items, NULL));
}

void api_h_domains_add(struct api_call *c)
{
    struct strbuf norm, why, added;
    json_t *body = api_body_object(c);
    if (!body || !api_body_keys(c, body, "domain")) {
        json_decref(body);
        return;
    }
    strbuf_init(&norm, 0);
    strbuf_init(&why, 0);
    strbuf_init(&added, 0);
    const char *domain = api_body_str(body, "domain");
    if (!domain) {
        api_reply_error(c, 400, "invalid_request", "domain is required");
    } else if (tenant_domain_normalise(domain, &norm, &why)) {
        api_reply_error(c, 400, "invalid_request", why.buf);
    } else {
        enum dmarcd_err rc = tenant_domain_add(c->st, c->tenant, norm.buf, c->actor, &added, &why);
        if (rc == DMARCD_E_INVALID)
            /* the owner's name stays behind the wall: one message for both cases */
            api_reply_error(c, 409, "conflict", "this domain is already registered");
        else if (rc)
            api_reply_store_error(c, rc, NULL);
        else
            api_reply_json(c, 201, json_pack("{s:o,s:b,s:b}", "domain", api_jstr(added.buf),
                                             "registered", 1, "ownership_verified", 0));
    }
    strbuf_release(&norm);
    strbuf_release(&why);
    strbuf_release(&added);
    json_decref(body);
}

void api_h_domains_remove(struct api_call *c)
{
    struct strbuf norm, why;
    strbuf_init(&norm, 0);
    strbuf_init(&why, 0);
    if (tenant_domain_normalise(c->path_arg, &norm, &why)) {
        api_reply_error(c, 404, "not_found", "no such domain");
    } else {
        enum dmarcd_err rc = portal_domain_remove(c->st, c->tenant_id, norm.buf, c->actor);
        if (rc)
            api_reply_store_error(c, rc, NULL);
        else
            api_reply_empty(c);
    }
    strbuf_release(&norm);
    strbuf_release(&why);
}

/* ---- overview ---- */

void api_h_overview(struct api_call *c)
{
    const char *from, *to, *domain;
    char fb[11], tb[11];
    struct query_overview o;
    struct strbuf why;
    if (!api_query_range(c, DEFAULT_DAYS, &from, &to, fb, tb) || !domain_param(c, &domain))
        return;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = query_read_overview(c->st, c->tenant_id, domain, from, to, &o, &why);
    if (rc) {
        api_reply_store_error(c, rc, &why);
    } else {
        json_t *disp = json_pack("{s:o,s:o,s:o,s:o,s:o}", "none", api_juint(o.disp_none),
                                 "quarantine", api_juint(o.disp_quarantine), "reject",
                                 api_juint(o.disp_reject), "pass", api_juint(o.disp_pass),
                                 "unknown", api_juint(o.disp_unknown));
        json_t *obj = json_pack("{s:o,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
                                "domain", api_jstr(domain), "from", from, "to", to, "messages",
                                api_juint(o.messages), "dmarc_pass", api_juint(o.dmarc_pass),
                                "dmarc_fail", api_juint(o.messages - o.dmarc_pass),
                                "dmarc_pass_rate", rate(o.dmarc_pass, o.messages),
                                "spf_aligned_pass", api_juint(o.spf_pass), "spf_aligned_rate",
                                rate(o.spf_pass, o.messages), "dkim_aligned_pass",
                                api_juint(o.dkim_pass), "dkim_aligned_rate",
                                rate(o.dkim_pass, o.messages), "dispositions", disp, "sources",
                                api_juint(o.sources), "reports", api_juint(o.reports),
                                "reporters", api_juint(o.reporters));
        api_reply_json(c, 200, obj);
    }
    strbuf_release(&why);
}

/* ---- sources ---- */

static json_t *source_json(const struct query_source *s)
{
    json_t *from = json_array();
    for (size_t i = 0; i < s->header_from_count; i++)
        json_array_append_new(from, api_jstr(s->header_from[i]));
    return json_pack("{s:s,s:n,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "ip", s->ip,
                     "reverse_dns", "messages", api_juint(s->messages), "dmarc_pass",
                     api_juint(s->dmarc_pass), "dmarc_fail", api_juint(s->dmarc_fail),
                     "dmarc_pass_rate", rate(s->dmarc_pass, s->messages), "spf_aligned_pass",
                     api_juint(s->spf_pass), "dkim_aligned_pass", api_juint(s->dkim_pass),
                     "header_from", from, "header_from_total", api_juint(s->header_from_total),
                     "first_day", api_jstr_or_null(s->first_day), "last_day",
                     api_jstr_or_null(s->last_day));
}

static void source_csv(struct strbuf *out, const struct query_source *s)
{
    struct strbuf from;
    strbuf_init(&from, 0);
    for (size_t i = 0; i < s->header_from_count; i++)
        (void)strbuf_addf(&from, "%s%s", i ? " " : "", s->header_from[i]);
    api_csv_field(out, s->ip, false);
    api_csv_uint(out, s->messages, false);
    api_csv_uint(out, s->dmarc_pass, false);
    api_csv_uint(out, s->dmarc_fail, false);
    api_csv_uint(out, s->spf_pass, false);
    api_csv_uint(out, s->dkim_pass, false);
    api_csv_field(out, from.buf, false);
    api_csv_uint(out, s->header_from_total, false);
    api_csv_field(out, s->first_day, false);
    api_csv_field(out, s->last_day, true);
    strbuf_release(&from);
}

/* Pages through every source into CSV (up to API_CSV_MAX_ROWS rows). */
static void sources_csv(struct api_call *c, struct query_source_args *a)
{
    struct strbuf out, why, cursor;
    struct query_sources page;
    size_t rows = 0;
    enum dmarcd_err rc = DMARCD_OK;
    strbuf_init(&out, 0);
    strbuf_init(&why, 0);
    strbuf_init(&cursor, 0);
    (void)strbuf_addstr(&out, "ip,messages,dmarc_pass,dmarc_fail,spf_aligned_pass,"
                              "dkim_aligned_pass,header_from,header_from_total,first_day,"
                              "last_day\r\n");
    a->limit = QUERY_PAGE_MAX;
    for (;;) {
        rc = query_read_sources(c->st, c->tenant_id, a, &page, &why);
        if (rc)
            break;
        for (size_t i = 0; i < page.count; i++)
            source_csv(&out, &page.items[i]);
        rows += page.count;
        strbuf_reset(&cursor);
        if (page.next_cursor)
            (void)strbuf_addstr(&cursor, page.next_cursor);
        query_sources_release(&page);
        if (!cursor.len || rows >= API_CSV_MAX_ROWS)
            break;
        a->cursor = cursor.buf;
    }
    if (rc) {
        api_reply_store_error(c, rc, &why);
    } else {
        if (cursor.len)
            api_response_header(c->resp, "X-Next-Cursor", cursor.buf);
        api_reply_csv(c, &out, "sources.csv");
    }
    strbuf_release(&out);
    strbuf_release(&why);
    strbuf_release(&cursor);
}

void api_h_sources(struct api_call *c)
{
    struct query_source_args a = { 0 };
    struct query_sources page;
    struct strbuf why;
    char fb[11], tb[11];
    bool csv = false;
    const char *sort = api_query(c, "sort");
    if (!api_query_range(c, DEFAULT_DAYS, &a.from, &a.to, fb, tb) || !api_wants_csv(c, &csv) ||
        !api_query_uint(c, "limit", 1, QUERY_PAGE_MAX, 0, &a.limit) ||
        !domain_param(c, &a.domain))
        return;
    if (sort && !query_source_sort_parse(sort, &a.sort)) {
        api_reply_error(c, 400, "invalid_request", "sort is messages or fail");
        return;
    }
    a.ip = api_query(c, "ip");
    a.cursor = api_query(c, "cursor");
    if (csv) {
        sources_csv(c, &a);
        return;
    }
    strbuf_init(&why, 0);
    enum dmarcd_err rc = query_read_sources(c->st, c->tenant_id, &a, &page, &why);
    if (rc) {
        api_reply_store_error(c, rc, &why);
    } else {
        json_t *items = json_array();
        for (size_t i = 0; i < page.count; i++)
            json_array_append_new(items, source_json(&page.items[i]));
        api_reply_json(c, 200, list_reply(items, page.next_cursor));
        query_sources_release(&page);
    }
    strbuf_release(&why);
}

/* ---- time series ---- */

void api_h_timeseries(struct api_call *c)
{
    const char *from, *to, *domain, *bucket = api_query(c, "bucket");
    char fb[11], tb[11];
    enum query_bucket b = QUERY_BUCKET_DAY;
    struct query_timeseries ts;
    struct strbuf why;
    if (!api_query_range(c, DEFAULT_DAYS, &from, &to, fb, tb) || !domain_param(c, &domain))
        return;
    if (bucket && !query_bucket_parse(bucket, &b)) {
        api_reply_error(c, 400, "invalid_request", "bucket is day or hour");
        return;
    }
    strbuf_init(&why, 0);
    enum dmarcd_err rc = query_read_timeseries(c->st, c->tenant_id, domain, from, to, b, &ts,
                                               &why);
    if (rc) {
        api_reply_store_error(c, rc, &why);
    } else {
        json_t *items = json_array();
        for (size_t i = 0; i < ts.count; i++) {
            const struct query_point *p = &ts.items[i];
            json_array_append_new(
                items, json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "start", p->start, "messages",
                                 api_juint(p->messages), "dmarc_pass", api_juint(p->dmarc_pass),
                                 "spf_aligned_pass", api_juint(p->spf_pass),
                                 "dkim_aligned_pass", api_juint(p->dkim_pass), "quarantine",
                                 api_juint(p->quarantine), "reject", api_juint(p->reject)));
        }
        query_timeseries_release(&ts);
        api_reply_json(c, 200, json_pack("{s:o,s:s,s:s,s:s,s:o,s:n}", "domain", api_jstr(domain),
                                         "from", from, "to", to, "bucket",
                                         b == QUERY_BUCKET_DAY ? "day" : "hour", "items", items,
                                         "next_cursor"));
    }
    strbuf_release(&why);
}

/* ---- aggregate reports ---- */

static json_t *report_item_json(const struct query_report_item *r)
{
    return json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", (json_int_t)r->id,
                     "report_day", r->report_day, "org_name", api_jstr(r->org_name), "report_id",
                     api_jstr(r->report_id), "policy_domain", api_jstr(r->policy_domain),
                     "begin", api_jtime(r->date_begin), "end", api_jtime(r->date_end), "records",
                     api_juint(r->record_count), "messages", api_juint(r->message_count),
                     "format", api_jstr(r->format), "warnings", api_juint(r->warnings),
                     "policy_p", api_jstr(r->policy_p));
}

static void report_csv(struct strbuf *out, const struct query_report_item *r)
{
    char b[QUERY_TIME_TEXT_MAX], e[QUERY_TIME_TEXT_MAX];
    (void)query_time_rfc3339(r->date_begin, b);
    (void)query_time_rfc3339(r->date_end, e);
    api_csv_uint(out, r->id, false);
    api_csv_field(out, r->report_day, false);
    api_csv_field(out, r->org_name, false);
    api_csv_field(out, r->report_id, false);
    api_csv_field(out, r->policy_domain, false);
    api_csv_field(out, b, false);
    api_csv_field(out, e, false);
    api_csv_uint(out, r->record_count, false);
    api_csv_uint(out, r->message_count, false);
    api_csv_field(out, r->format, false);
    api_csv_uint(out, r->warnings, false);
    api_csv_field(out, r->policy_p, true);
}

static void reports_csv(struct api_call *c, struct query_report_args *a)
{
    struct strbuf out, why, cursor;
    struct query_reports page;
    size_t rows = 0;
    enum dmarcd_err rc = DMARCD_OK;
    strbuf_init(&out, 0);
    strbuf_init(&why, 0);
    strbuf_init(&cursor, 0);
    (void)strbuf_addstr(&out, "id,report_day,org_name,report_id,policy_domain,begin,end,records,"
                              "messages,format,warnings,policy_p\r\n");
    a->limit = QUERY_PAGE_MAX;
    for (;;) {
        rc = query_read_reports(c->st, c->tenant_id, a, &page, &why);
        if (rc)
            break;
        for (size_t i = 0; i < page.count; i++)
            report_csv(&out, &page.items[i]);
        rows += page.count;
        strbuf_reset(&cursor);
        if (page.next_cursor)
            (void)strbuf_addstr(&cursor, page.next_cursor);
        query_reports_release(&page);
        if (!cursor.len || rows >= API_CSV_MAX_ROWS)
            break;
        a->cursor = cursor.buf;
    }
    if (rc) {
        api_reply_store_error(c, rc, &why);
    } else {
        if (cursor.len)
            api_response_header(c->resp, "X-Next-Cursor", cursor.buf);
        api_reply_csv(c, &out, "reports.csv");
    }
    strbuf_release(&out);
    strbuf_release(&why);
    strbuf_release(&cursor);
}

void api_h_reports(struct api_call *c)
{
    struct query_report_args a = { 0 };
    struct query_reports page;
    struct strbuf why;
    char fb[11], tb[11];
    bool csv = false;
    if (!api_query_range(c, 0, &a.from, &a.to, fb, tb) || !api_wants_csv(c, &csv) ||
        !api_query_uint(c, "limit", 1, QUERY_PAGE_MAX, 0, &a.limit) ||
        !domain_param(c, &a.domain))
        return;
    a.org = api_query(c, "org");
    a.cursor = api_query(c, "cursor");
    if (csv) {
        reports_csv(c, &a);
        return;
    }
    strbuf_init(&why, 0);
    enum dmarcd_err rc = query_read_reports(c->st, c->tenant_id, &a, &page, &why);
    if (rc) {
        api_reply_store_error(c, rc, &why);
    } else {
        json_t *items = json_array();
        for (size_t i = 0; i < page.count; i++)
            json_array_append_new(items, report_item_json(&page.items[i]));
        api_reply_json(c, 200, list_reply(items, page.next_cursor));
        query_reports_release(&page);
    }
    strbuf_release(&why);
}

static json_t *policy_json(const struct query_policy *p)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "domain", api_jstr(p->domain),
                     "adkim", api_jstr(p->adkim), "aspf", api_jstr(p->aspf), "p", api_jstr(p->p),
                     "sp", api_jstr(p->sp), "np", api_jstr(p->np), "pct",
                     p->pct < 0 ? json_null() : json_integer(p->pct), "fo", api_jstr(p->fo),
                     "testing", api_jstr(p->testing), "discovery_method",
                     api_jstr(p->discovery_method));
}

static json_t *record_json(const struct query_record *r)
{
    return json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "record_no",
                     (json_int_t)r->record_no, "source_ip", r->source_ip, "messages",
                     api_juint(r->messages), "disposition", api_jstr(r->disposition), "dkim",
                     api_jstr(r->dkim), "spf", api_jstr(r->spf), "reasons", api_jraw(r->reasons),
                     "header_from", api_jstr(r->header_from), "envelope_from",
                     api_jstr(r->envelope_from), "envelope_to", api_jstr(r->envelope_to),
                     "auth_results", api_jraw(r->auth_results));
}

static json_t *report_json(const struct query_report *r)
{
    json_t *records = json_array();
    for (size_t i = 0; i < r->nrecords; i++)
        json_array_append_new(records, record_json(&r->records[i]));
    json_t *obj = json_pack(
        "{s:I,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:s}", "id",
        (json_int_t)r->id, "report_day", r->report_day, "org_name", api_jstr(r->org_name),
        "email", api_jstr(r->email), "extra_contact_info", api_jstr(r->extra_contact_info),
        "report_id", api_jstr(r->report_id), "begin", api_jtime(r->date_begin), "end",
        api_jtime(r->date_end), "policy_published", policy_json(&r->policy), "format",
        api_jstr(r->format), "version", api_jstr(r->version), "generator",
        api_jstr(r->generator), "errors", api_jraw(r->errors), "warnings", api_jraw(r->warnings),
        "records_total", api_juint(r->record_count), "skipped_records",
        api_juint(r->skipped_records), "messages", api_juint(r->message_count), "source_file",
        api_jstr(r->source_file), "raw_available", r->inbox_id != 0, "created_at",
        r->created_at);
    json_object_set_new(obj, "records", records);
    json_object_set_new(obj, "records_next_cursor", api_jstr(r->next_cursor));
    return obj;
}

void api_h_report(struct api_call *c)
{
    uint64_t id = 0;
    unsigned limit = 0;
    struct query_report r;
    struct strbuf why;
    const char *day = api_query(c, "day");
    if (!api_parse_id(c->path_arg, &id)) {
        api_reply_error(c, 404, "not_found", "no such report");
        return;
    }
    if (day && !query_day_valid(day)) {
        api_reply_error(c, 400, "invalid_request", "day must be a date YYYY-MM-DD");
        return;
    }
    if (!api_query_uint(c, "limit", 1, QUERY_RECORDS_MAX, 0, &limit))
        return;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = query_read_report(c->st, c->tenant_id, id, day, limit,
                                           api_query(c, "cursor"), &r, &why);
    if (rc) {
        api_reply_store_error(c, rc, &why);
    } else {
        api_reply_json(c, 200, report_json(&r));
        query_report_release(&r);
    }
    strbuf_release(&why);
}

void api_h_report_raw(struct api_call *c)
{
    uint64_t id = 0;
    uint8_t *raw = NULL;
    size_t len = 0;
    char disp[96];
    if (!api_parse_id(c->path_arg, &id)) {
        api_reply_error(c, 404, "not_found", "no such report");
        return;
    }
    enum dmarcd_err rc = portal_report_raw(c->st, c->tenant_id, id, &raw, &len);
    if (rc == DMARCD_E_DECOMPRESS) {
        log_error("api: stored raw message is damaged", LOG_UINT("report", id));
        rc = DMARCD_E_INTERNAL;
    }
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return;
    }
    c->resp->status = 200;
    snprintf(c->resp->content_type, sizeof(c->resp->content_type), "application/octet-stream");
    c->resp->blob = raw;
    c->resp->blob_len = len;
    snprintf(disp, sizeof(disp), "attachment; filename=\"report-%llu.raw\"",
             (unsigned long long)id);
    api_response_header(c->resp, "Content-Disposition", disp);
}

/* ---- failure reports ---- */

static json_t *failure_json(const struct portal_failure *f)
{
    json_t *obj = json_pack(
        "{s:I,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:s}", "id",
        (json_int_t)f->id, "report_day", f->report_day, "reported_domain",
        api_jstr(f->reported_domain), "source_ip", api_jstr_or_null(f->source_ip), "source_port",
        f->source_port < 0 ? json_null() : json_integer(f->source_port), "arrival_date",
        f->has_arrival_time ? api_jtime(f->arrival_time) : json_null(), "feedback_type",
        api_jstr(f->feedback_type), "auth_failure", api_jstr(f->auth_failure),
        "identity_alignment", api_jstr(f->identity_alignment), "delivery_result",
        api_jstr(f->delivery_result), "dkim_domain", api_jstr(f->dkim_domain), "dkim_selector",
        api_jstr(f->dkim_selector), "spf_dns", api_jstr(f->spf_dns), "reporting_mta",
        api_jstr(f->reporting_mta), "user_agent", api_jstr(f->user_agent), "incidents",
        f->incidents < 0 ? json_null() : json_integer(f->incidents), "arf", f->arf,
        "sample_kind", api_jstr(f->sample_kind), "warnings", api_jraw(f->warnings),
        "created_at", f->created_at);
    return obj;
}

void api_h_failures(struct api_call *c)
{
    struct portal_failure_args a = { 0 };
    struct portal_failures page;
    struct strbuf why;
    char fb[11], tb[11];
    if (!api_query_range(c, 0, &a.from, &a.to, fb, tb) ||
        !api_query_uint(c, "limit", 1, QUERY_PAGE_MAX, 0, &a.limit))
        return;
    a.domain = api_query(c, "domain");
    a.ip = api_query(c, "ip");
    a.cursor = api_query(c, "cursor");
    strbuf_init(&why, 0);
    enum dmarcd_err rc = portal_read_failures(c->st, c->tenant_id, &a, &page, &why);
    if (rc) {
        api_reply_store_error(c, rc, &why);
    } else {
        json_t *items = json_array();
        for (size_t i = 0; i < page.count; i++)
            json_array_append_new(items, failure_json(&page.items[i]));
        api_reply_json(c, 200, list_reply(items, page.next_cursor));
        portal_failures_release(&page);
    }
    strbuf_release(&why);
}

void api_h_failure(struct api_call *c)
{
    uint64_t id = 0;
    struct portal_failures one;
    if (!api_parse_id(c->path_arg, &id)) {
        api_reply_error(c, 404, "not_found", "no such failure report");
        return;
    }
    enum dmarcd_err rc = portal_read_failure(c->st, c->tenant_id, id, &one);
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return;
    }
    api_reply_json(c, 200, failure_json(&one.items[0]));
    portal_failures_release(&one);
}

/*
 * The rest of a failure report (the message sample, addresses, ...), kept
 * per the tenant's policy: decrypted JSON under `encrypted`, the stored
 * OpenPGP ciphertext under `pgp` (only the tenant's key opens it). Personal
 * data: every read is audited first, and no audit row means no answer.
 */
void api_h_failure_sample(struct api_call *c)
{
    uint64_t id = 0;
    struct forensic_sample s;
    char target[48];
    if (!api_parse_id(c->path_arg, &id)) {
        api_reply_error(c, 404, "not_found", "no such failure report");
        return;
    }
    forensic_sample_init(&s);
    enum dmarcd_err rc = forensic_sample_read(c->st, c->env->keys, c->tenant_id, id, &s);
    if (rc == DMARCD_E_CONFIG) {
        api_reply_error(c, 503, "unavailable",
                        "this server has no master key: failure-report samples cannot be read");
        goto out;
    }
    if (rc == DMARCD_E_CRYPTO) {
        log_error("api: failure-report sample does not authenticate", LOG_UINT("failure", id),
                  LOG_UINT("tenant", c->tenant_id));
        rc = DMARCD_E_INTERNAL;
    }
    snprintf(target, sizeof(target), "failure %llu", (unsigned long long)id);
    if (!rc)
        rc = store_audit_add(c->st, c->tenant_id, c->actor, "failure.sample.read", target, NULL);
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        goto out;
    }
    c->resp->status = 200;
    snprintf(c->resp->content_type, sizeof(c->resp->content_type), "%s",
             s.format == FORENSIC_FORMAT_AEAD        ? "application/json"
             : s.format == FORENSIC_FORMAT_PGP_ARMOR ? "application/pgp-encrypted"
                                                     : "application/octet-stream");
    if (s.format != FORENSIC_FORMAT_AEAD)
        api_response_header(c->resp, "X-PGP-Fingerprint", s.fingerprint);
    strbuf_reset(&c->resp->body);
    (void)strbuf_add(&c->resp->body, s.data.buf, s.data.len);
out:
    forensic_sample_release(&s);
}

/* ---- TLS reports ---- */

void api_h_tls_reports(struct api_call *c)
{
    struct portal_tls_args a = { 0 };
    struct portal_tls_reports page;
    struct strbuf why;
    char fb[11], tb[11];
    if (!api_query_range(c, 0, &a.from, &a.to, fb, tb) ||
        !api_query_uint(c, "limit", 1, QUERY_PAGE_MAX, 0, &a.limit))
        return;
    a.cursor = api_query(c, "cursor");
    strbuf_init(&why, 0);
    enum dmarcd_err rc = portal_read_tls_reports(c->st, c->tenant_id, &a, &page, &why);
    if (rc) {
        api_reply_store_error(c, rc, &why);
        strbuf_release(&why);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < page.count; i++) {
        const struct portal_tls_report *r = &page.items[i];
        json_array_append_new(
            items, json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "id",
                             (json_int_t)r->id, "report_day", r->report_day, "organization_name",
                             api_jstr(r->organization_name), "report_id", api_jstr(r->report_id),
                             "contact_info", api_jstr(r->contact_info), "begin",
                             api_jtime(r->date_begin), "end", api_jtime(r->date_end),
                             "policies", api_juint(r->policy_count), "successful_sessions",
                             api_juint(r->successful_sessions), "failed_sessions",
                             api_juint(r->failed_sessions), "policy_domains",
                             r->policy_domains ? api_jraw(r->policy_domains) : json_array(),
                             "created_at", r->created_at));
    }
    api_reply_json(c, 200, list_reply(items, page.next_cursor));
    portal_tls_reports_release(&page);
    strbuf_release(&why);
}
