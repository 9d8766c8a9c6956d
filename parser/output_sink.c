/*
 * output_sink.c - the json, ndjson, csv and count sinks of `dmarcd parse`.
 *
 * Output is written while parsing: the header of an aggregate report at
 * agg_begin, each record as it comes, warnings at agg_end. So memory does
 * not grow with the report, and a report aborted midway is closed with an
 * "error" member (json) or simply has no summary line (count). Field names
 * mirror the XML/RFC names as documented in docs/parse-output.md.
 */
#include "sinks.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "parser/jsonw.h"
#include "lib/banned.h"

struct output_sink {
    enum output_format format;
    FILE *out;
    FILE *errors;
    struct jsonw w;
    bool in_aggregate;          /* a report's object is open (json/ndjson) */
    /* current aggregate report, for csv rows and count lines */
    char *src_file, *src_part;
    char *org_name, *report_id, *domain;
    int64_t begin, end;
};

bool output_format_parse(const char *name, enum output_format *out)
{
    static const char *const names[] = { "json", "ndjson", "csv", "count" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum output_format)i;
            return true;
        }
    }
    return false;
}

static bool is_json(const struct output_sink *o)
{
    return o->format == OUTPUT_JSON || o->format == OUTPUT_NDJSON;
}

static void str_list(struct jsonw *w, const char *key, const struct str_list *l)
{
    if (!l->count)
        return;
    jsonw_array_begin(w, key);
    for (size_t i = 0; i < l->count; i++)
        jsonw_string(w, NULL, l->items[i]);
    jsonw_array_end(w);
}

static void json_source(struct jsonw *w, const struct report_source *src)
{
    jsonw_object_begin(w, "source");
    jsonw_string(w, "file", src->file);
    jsonw_string(w, "part", src->part);
    jsonw_object_end(w);
}

static void json_warnings(struct jsonw *w, const struct report_warnings *warn)
{
    jsonw_array_begin(w, "warnings");
    for (size_t i = 0; i < warn->count; i++)
        jsonw_string(w, NULL, warn->items[i]);
    if (warn->dropped) {
        char text[96];
        snprintf(text, sizeof(text), "%zu more warnings not kept", warn->dropped);
        jsonw_string(w, NULL, text);
    }
    jsonw_array_end(w);
}

/* Opens a top-level report object: its kind, its format (aggregate only:
 * NULL leaves it out), then where it came from. */
static void json_report_begin(struct output_sink *o, const char *kind, const char *format,
                              const struct report_source *src)
{
    jsonw_object_begin(&o->w, NULL);
    jsonw_string(&o->w, "kind", kind);
    jsonw_string(&o->w, "format", format);
    json_source(&o->w, src);
}

/* Closes a top-level report object: newline for ndjson. */
static void json_report_end(struct output_sink *o)
{
    jsonw_object_end(&o->w);
    if (o->format == OUTPUT_NDJSON)
        jsonw_newline(&o->w);
}

static void json_agg_header(struct jsonw *w, const struct agg_report *r)
{
    jsonw_object_begin(w, "report_metadata");
    jsonw_string(w, "org_name", r->org_name);
    jsonw_string(w, "email", r->email);
    jsonw_string(w, "extra_contact_info", r->extra_contact_info);
    jsonw_string(w, "report_id", r->report_id);
    jsonw_object_begin(w, "date_range");
    jsonw_int(w, "begin", r->begin);
    jsonw_int(w, "end", r->end);
    jsonw_object_end(w);
    str_list(w, "error", &r->errors);
    jsonw_string(w, "generator", r->generator);
    jsonw_object_end(w);

    const struct agg_policy *p = &r->policy;
    jsonw_object_begin(w, "policy_published");
    jsonw_string(w, "domain", p->domain);
    jsonw_string(w, "adkim", p->adkim);
    jsonw_string(w, "aspf", p->aspf);
    jsonw_string(w, "p", p->p);
    jsonw_string(w, "sp", p->sp);
    jsonw_string(w, "np", p->np);
    if (p->pct >= 0)
        jsonw_int(w, "pct", p->pct);
    jsonw_string(w, "fo", p->fo);
    jsonw_string(w, "testing", p->testing);
    jsonw_string(w, "discovery_method", p->discovery_method);
    jsonw_object_end(w);
}

/* One auth_results entry: a dkim result names its selector where an spf
 * result names its scope; the rest is the same. */
static void json_auth_result(struct jsonw *w, const char *domain, const char *which_key,
                             const char *which, const char *result, const char *human_result)
{
    jsonw_object_begin(w, NULL);
    jsonw_string(w, "domain", domain);
    jsonw_string(w, which_key, which);
    jsonw_string(w, "result", result);
    jsonw_string(w, "human_result", human_result);
    jsonw_object_end(w);
}

static void json_agg_record(struct jsonw *w, const struct agg_record *rec)
{
    jsonw_object_begin(w, NULL);
    jsonw_object_begin(w, "row");
    jsonw_string(w, "source_ip", rec->source_ip);
    jsonw_uint(w, "count", rec->count);
    jsonw_object_begin(w, "policy_evaluated");
    jsonw_string(w, "disposition", rec->disposition);
    jsonw_string(w, "dkim", rec->dkim);
    jsonw_string(w, "spf", rec->spf);
    if (rec->n_reasons) {
        jsonw_array_begin(w, "reason");
        for (size_t i = 0; i < rec->n_reasons; i++) {
            jsonw_object_begin(w, NULL);
            jsonw_string(w, "type", rec->reasons[i].type);
            jsonw_string(w, "comment", rec->reasons[i].comment);
            jsonw_object_end(w);
        }
        jsonw_array_end(w);
    }
    jsonw_object_end(w);
    jsonw_object_end(w);

    jsonw_object_begin(w, "identifiers");
    jsonw_string(w, "header_from", rec->header_from);
    jsonw_string(w, "envelope_from", rec->envelope_from);
    jsonw_string(w, "envelope_to", rec->envelope_to);
    jsonw_object_end(w);

    jsonw_object_begin(w, "auth_results");
    jsonw_array_begin(w, "dkim");
    for (size_t i = 0; i < rec->n_dkim; i++) {
        const struct agg_dkim_result *d = &rec->dkim_results[i];
        json_auth_result(w, d->domain, "selector", d->selector, d->result, d->human_result);
    }
    jsonw_array_end(w);
    jsonw_array_begin(w, "spf");
    for (size_t i = 0; i < rec->n_spf; i++) {
        const struct agg_spf_result *s = &rec->spf_results[i];
        json_auth_result(w, s->domain, "scope", s->scope, s->result, s->human_result);
    }
    jsonw_array_end(w);
    jsonw_object_end(w);
    jsonw_object_end(w);
}

/* ---- csv ---- */

static void csv_field(FILE *out, const char *s, bool last)
{
    if (s) {
        bool quote = strpbrk(s, ",\"\r\n") != NULL;
        /* A leading =+-@ would be a formula in a spreadsheet: quote and prefix. */
        bool formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
        if (quote || formula) {
            fputc('"', out);
            if (formula)
                fputc('\'', out);
            for (const char *p = s; *p; p++) {
                if (*p == '"')
                    fputc('"', out);
                fputc(*p, out);
            }
            fputc('"', out);
        } else {
            fputs(s, out);
        }
    }
    fputc(last ? '\n' : ',', out);
}

/* Appends one value of a ';'-joined list field. */
static void join_add(struct strbuf *sb, const char *value)
{
    if (sb->len)
        strbuf_addch(sb, ';');
    strbuf_addstr(sb, value ? value : "");
}

static const char csv_header[] =
    "file,part,org_name,report_id,begin,end,policy_domain,source_ip,count,disposition,dkim,"
    "spf,reasons,header_from,envelope_from,envelope_to,dkim_domains,dkim_results,spf_domains,"
    "spf_results\n";

/* Writes the domains and results fields of one auth method, and empties
 * the two lists for the next method. */
static void csv_auth_fields(FILE *out, struct strbuf *domains, struct strbuf *results, bool last)
{
    csv_field(out, domains->buf, false);
    csv_field(out, results->buf, last);
    strbuf_reset(domains);
    strbuf_reset(results);
}

static void csv_record(struct output_sink *o, const struct agg_record *rec)
{
    FILE *out = o->out;
    char num[32];
    struct strbuf reasons, domains, results;

    strbuf_init(&reasons, 0);
    strbuf_init(&domains, 0);
    strbuf_init(&results, 0);
    csv_field(out, o->src_file, false);
    csv_field(out, o->src_part, false);
    csv_field(out, o->org_name, false);
    csv_field(out, o->report_id, false);
    snprintf(num, sizeof(num), "%" PRId64, o->begin);
    csv_field(out, num, false);
    snprintf(num, sizeof(num), "%" PRId64, o->end);
    csv_field(out, num, false);
    csv_field(out, o->domain, false);
    csv_field(out, rec->source_ip, false);
    snprintf(num, sizeof(num), "%" PRIu64, rec->count);
    csv_field(out, num, false);
    csv_field(out, rec->disposition, false);
    csv_field(out, rec->dkim, false);
    csv_field(out, rec->spf, false);
    for (size_t i = 0; i < rec->n_reasons; i++)
        join_add(&reasons, rec->reasons[i].type);
    csv_field(out, reasons.buf, false);
    csv_field(out, rec->header_from, false);
    csv_field(out, rec->envelope_from, false);
    csv_field(out, rec->envelope_to, false);
    for (size_t i = 0; i < rec->n_dkim; i++) {
        join_add(&domains, rec->dkim_results[i].domain);
        join_add(&results, rec->dkim_results[i].result);
    }
    csv_auth_fields(out, &domains, &results, false);
    for (size_t i = 0; i < rec->n_spf; i++) {
        join_add(&domains, rec->spf_results[i].domain);
        join_add(&results, rec->spf_results[i].result);
    }
    csv_auth_fields(out, &domains, &results, true);
    strbuf_release(&reasons);
    strbuf_release(&domains);
    strbuf_release(&results);
}

/* ---- callbacks ---- */

static void remember_source(struct output_sink *o, const struct report_source *src)
{
    free(o->src_file);
    free(o->src_part);
    o->src_file = xstrdup(src->file ? src->file : "-");
    o->src_part = src->part ? xstrdup(src->part) : NULL;
}

static void forget_report(struct output_sink *o)
{
    free(o->org_name);
    free(o->report_id);
    free(o->domain);
    o->org_name = o->report_id = o->domain = NULL;
}

/* What a callback answers: whether writing has failed so far. */
static enum dmarcd_err out_status(const struct output_sink *o)
{
    return ferror(o->out) ? DMARCD_E_IO : DMARCD_OK;
}

static enum dmarcd_err out_agg_begin(void *ctx, const struct report_source *src,
                                     const struct agg_report *r)
{
    struct output_sink *o = ctx;
    remember_source(o, src);
    forget_report(o);
    o->org_name = r->org_name ? xstrdup(r->org_name) : NULL;
    o->report_id = r->report_id ? xstrdup(r->report_id) : NULL;
    o->domain = r->policy.domain ? xstrdup(r->policy.domain) : NULL;
    o->begin = r->begin;
    o->end = r->end;
    if (is_json(o)) {
        json_report_begin(o, "aggregate", agg_format_name(r->format), src);
        json_agg_header(&o->w, r);
        jsonw_array_begin(&o->w, "records");
        o->in_aggregate = true;
    }
    return DMARCD_OK;
}

static enum dmarcd_err out_agg_record(void *ctx, const struct agg_record *rec)
{
    struct output_sink *o = ctx;
    switch (o->format) {
    case OUTPUT_JSON:
    case OUTPUT_NDJSON:
        json_agg_record(&o->w, rec);
        break;
    case OUTPUT_CSV:
        csv_record(o, rec);
        break;
    case OUTPUT_COUNT:
        break;
    }
    return out_status(o);
}

/* A count-line value: quoted, with JSON escapes. */
static void count_value(FILE *out, const char *key, const char *value)
{
    fprintf(out, " %s=\"", key);
    jsonw_escape(out, value, strlen(value));
    fputc('"', out);
}

static void count_line(struct output_sink *o, const char *kind, uint64_t records,
                       uint64_t messages, size_t warnings)
{
    fprintf(o->out, "%s records=%" PRIu64 " messages=%" PRIu64 " warnings=%zu", kind, records,
            messages, warnings);
    count_value(o->out, "file", o->src_file);
    if (o->src_part)
        count_value(o->out, "part", o->src_part);
    fputc('\n', o->out);
}

static enum dmarcd_err out_agg_end(void *ctx, const struct agg_report *r,
                                   const struct agg_totals *t,
                                   const struct report_warnings *warn)
{
    struct output_sink *o = ctx;
    (void)r;
    if (is_json(o)) {
        jsonw_array_end(&o->w);
        jsonw_object_begin(&o->w, "summary");
        jsonw_uint(&o->w, "records", t->records);
        jsonw_uint(&o->w, "messages", t->messages);
        jsonw_uint(&o->w, "skipped_records", t->skipped_records);
        jsonw_object_end(&o->w);
        json_warnings(&o->w, warn);
        json_report_end(o);
        o->in_aggregate = false;
    } else if (o->format == OUTPUT_COUNT) {
        count_line(o, "aggregate", t->records, t->messages, warn->count);
    }
    return out_status(o);
}

static void json_failure(struct jsonw *w, const struct failure_report *f)
{
    jsonw_bool(w, "arf", f->arf);
    jsonw_string(w, "feedback_type", f->feedback_type);
    jsonw_string(w, "user_agent", f->user_agent);
    jsonw_string(w, "version", f->version);
    jsonw_string(w, "original_envelope_id", f->original_envelope_id);
    jsonw_string(w, "original_mail_from", f->original_mail_from);
    str_list(w, "original_rcpt_to", &f->original_rcpt_to);
    jsonw_string(w, "arrival_date", f->arrival_date);
    if (f->arrival_time >= 0)
        jsonw_int(w, "arrival_time", f->arrival_time);
    jsonw_string(w, "reporting_mta", f->reporting_mta);
    if (f->source_ip[0])
        jsonw_string(w, "source_ip", f->source_ip);
    if (f->source_port >= 0)
        jsonw_int(w, "source_port", f->source_port);
    if (f->incidents >= 0)
        jsonw_int(w, "incidents", f->incidents);
    str_list(w, "reported_domain", &f->reported_domain);
    str_list(w, "reported_uri", &f->reported_uri);
    str_list(w, "auth_failure", &f->auth_failure);
    str_list(w, "identity_alignment", &f->identity_alignment);
    str_list(w, "authentication_results", &f->authentication_results);
    jsonw_string(w, "delivery_result", f->delivery_result);
    jsonw_string(w, "dkim_domain", f->dkim_domain);
    jsonw_string(w, "dkim_identity", f->dkim_identity);
    jsonw_string(w, "dkim_selector", f->dkim_selector);
    jsonw_string(w, "spf_dns", f->spf_dns);
    jsonw_string(w, "subject", f->subject);
    if (f->sample_kind != FAILURE_SAMPLE_NONE) {
        jsonw_object_begin(w, "sample");
        jsonw_string(w, "kind", f->sample_kind == FAILURE_SAMPLE_MESSAGE ? "message" : "headers");
        jsonw_string_len(w, "headers", f->sample_headers, f->sample_headers_len);
        jsonw_string_len(w, "body", f->sample_body, f->sample_body_len);
        jsonw_object_end(w);
    }
}

static enum dmarcd_err out_failure(void *ctx, const struct report_source *src,
                                   const struct failure_report *f,
                                   const struct report_warnings *warn)
{
    struct output_sink *o = ctx;
    remember_source(o, src);
    if (is_json(o)) {
        json_report_begin(o, "failure", NULL, src);
        json_failure(&o->w, f);
        json_warnings(&o->w, warn);
        json_report_end(o);
    } else if (o->format == OUTPUT_COUNT) {
        count_line(o, "failure", 1, f->incidents > 0 ? (uint64_t)f->incidents : 1, warn->count);
    }
    return out_status(o);
}

static void json_tls_policy(struct jsonw *w, const struct tls_policy *p)
{
    jsonw_object_begin(w, NULL);
    jsonw_object_begin(w, "policy");
    jsonw_string(w, "policy_type", p->policy_type);
    str_list(w, "policy_string", &p->policy_string);
    jsonw_string(w, "policy_domain", p->policy_domain);
    str_list(w, "mx_host", &p->mx_host);
    jsonw_object_end(w);
    jsonw_object_begin(w, "summary");
    jsonw_uint(w, "total_successful_session_count", p->total_successful_session_count);
    jsonw_uint(w, "total_failure_session_count", p->total_failure_session_count);
    jsonw_object_end(w);
    jsonw_array_begin(w, "failure_details");
    for (size_t i = 0; i < p->n_failure_details; i++) {
        const struct tls_failure_detail *d = &p->failure_details[i];
        jsonw_object_begin(w, NULL);
        jsonw_string(w, "result_type", d->result_type);
        jsonw_string(w, "sending_mta_ip", d->sending_mta_ip);
        jsonw_string(w, "receiving_mx_hostname", d->receiving_mx_hostname);
        jsonw_string(w, "receiving_mx_helo", d->receiving_mx_helo);
        jsonw_string(w, "receiving_ip", d->receiving_ip);
        jsonw_uint(w, "failed_session_count", d->failed_session_count);
        jsonw_string(w, "additional_information", d->additional_information);
        jsonw_string(w, "failure_reason_code", d->failure_reason_code);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
    jsonw_object_end(w);
}

static enum dmarcd_err out_tlsrpt(void *ctx, const struct report_source *src,
                                  const struct tls_report *t, const struct report_warnings *warn)
{
    struct output_sink *o = ctx;
    uint64_t sessions = 0;
    for (size_t i = 0; i < t->n_policies; i++)
        sessions += t->policies[i].total_successful_session_count +
                    t->policies[i].total_failure_session_count;
    remember_source(o, src);
    if (is_json(o)) {
        struct jsonw *w = &o->w;
        json_report_begin(o, "tlsrpt", NULL, src);
        jsonw_string(w, "organization_name", t->organization_name);
        jsonw_object_begin(w, "date_range");
        jsonw_string(w, "start_datetime", t->start_datetime);
        jsonw_string(w, "end_datetime", t->end_datetime);
        jsonw_int(w, "begin", t->begin);
        jsonw_int(w, "end", t->end);
        jsonw_object_end(w);
        jsonw_string(w, "contact_info", t->contact_info);
        jsonw_string(w, "report_id", t->report_id);
        jsonw_array_begin(w, "policies");
        for (size_t i = 0; i < t->n_policies; i++)
            json_tls_policy(w, &t->policies[i]);
        jsonw_array_end(w);
        json_warnings(w, warn);
        json_report_end(o);
    } else if (o->format == OUTPUT_COUNT) {
        count_line(o, "tlsrpt", t->n_policies, sessions, warn->count);
    }
    return out_status(o);
}

static void out_abort(void *ctx, const struct report_source *src, enum dmarcd_err err,
                      const char *detail)
{
    struct output_sink *o = ctx;
    if (o->in_aggregate) {
        jsonw_array_end(&o->w);
        jsonw_object_begin(&o->w, "error");
        jsonw_string(&o->w, "code", dmarcd_err_code(err));
        jsonw_string(&o->w, "message", detail ? detail : dmarcd_strerror(err));
        jsonw_object_end(&o->w);
        json_report_end(o);
        o->in_aggregate = false;
    }
    jsonw_flush(&o->w); /* errors may be the same stream */
    fprintf(o->errors, "dmarcd parse: %s%s%s: %s: %s\n", src->file ? src->file : "-",
            src->part ? ": " : "", src->part ? src->part : "", dmarcd_err_code(err),
            detail ? detail : dmarcd_strerror(err));
}

static const struct report_sink_ops output_sink_ops = {
    .name = "output",
    .agg_begin = out_agg_begin,
    .agg_record = out_agg_record,
    .agg_end = out_agg_end,
    .failure = out_failure,
    .tlsrpt = out_tlsrpt,
    .abort = out_abort,
};

struct output_sink *output_sink_new(enum output_format format, FILE *out, FILE *errors)
{
    struct output_sink *o = xcalloc(1, sizeof(*o));
    o->format = format;
    o->out = out;
    o->errors = errors;
    jsonw_init(&o->w, out);
    if (format == OUTPUT_JSON)
        jsonw_array_begin(&o->w, NULL);
    else if (format == OUTPUT_CSV)
        fputs(csv_header, out);
    return o;
}

struct report_sink output_sink_as_report_sink(struct output_sink *o)
{
    return (struct report_sink){ .ops = &output_sink_ops, .ctx = o };
}

enum dmarcd_err output_sink_finish(struct output_sink *o)
{
    if (o->format == OUTPUT_JSON) {
        jsonw_array_end(&o->w);
        fputc('\n', o->out);
    }
    jsonw_flush(&o->w);
    if (fflush(o->out) != 0 || ferror(o->out))
        return DMARCD_E_IO;
    return DMARCD_OK;
}

void output_sink_free(struct output_sink *o)
{
    if (!o)
        return;
    forget_report(o);
    free(o->src_file);
    free(o->src_part);
    free(o);
}
