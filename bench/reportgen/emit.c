/*
 * emit.c - writing records the way each real reporter writes them.
 *
 * The reporter table and the per-flavour element lists follow the reports in
 * /work/shared/corpus and SPEC-NOTES section 5/6:
 *  - Google: zip, inclusive end, numeric ids, <np> next to <pct> (hybrid),
 *    dkim children in the order domain/result/selector, no spf scope.
 *  - Yahoo: gzip, inclusive end, "ts.frac" ids, no sp and no envelope_from,
 *    a TAB before every newline.
 *  - Microsoft (Outlook.com, Enterprise Outlook): gzip, exclusive end, GUID
 *    ids, xmlns:xsd/xmlns:xsi, <version>1.0</version>, envelope_to, CRLF.
 *  - Mail.Ru: gzip, exclusive end, date_range first, policy fields in
 *    alphabetical order, record children reversed with source_ip last.
 *  - GMX/WEB.DE: RFC 9990 namespace, generator, discovery_method psl,
 *    testing n, no pct/fo, a single mfrom SPF result.
 *  - generic: a fictional provider writing every optional field (big mode).
 * Each flavour is spelled out as its own element sequence instead of a
 * generic table so that a reader can compare it line by line with a sample.
 */
#include <inttypes.h>
#include <string.h>

#include "model.h"
#include "xmlw.h"
#include "lib/banned.h"

static const char *const outlook_to[] = {"outlook.com", "hotmail.com", "live.com", "outlook.de",
                                         "hotmail.fr"};
static const char *const enterprise_to[] = {"contoso.example", "fabrikam.example",
                                            "northwind-traders.example", "adatum.example",
                                            "tailspin-toys.example"};

#define DECL_DQ   "<?xml version=\"1.0\"?>"
#define DECL_UTF8 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

const struct reporter reporters[] = {
    {.file_domain = "google.com",
     .org_name = "google.com",
     .email = "noreply-dmarc-support@google.com",
     .extra_contact = "https://support.google.com/a/answer/2466580",
     .fl = FL_GOOGLE,
     .ct = CT_ZIP,
     .share = 0.42,
     .region = REGION_GLOBAL,
     .decl = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>",
     .indent = "  ",
     .eol = "\n"},
    {.file_domain = "yahoo.com",
     .org_name = "Yahoo",
     .email = "dmarchelp@yahooinc.com",
     .fl = FL_YAHOO,
     .ct = CT_GZIP,
     .share = 0.09,
     .region = REGION_GLOBAL,
     .decl = DECL_DQ,
     .indent = "  ",
     .eol = "\t\n"},
    {.file_domain = "protection.outlook.com",
     .org_name = "Outlook.com",
     .email = "dmarcreport@microsoft.com",
     .envelope_to = outlook_to,
     .n_envelope_to = RG_ARRAY_LEN(outlook_to),
     .fl = FL_MICROSOFT,
     .ct = CT_GZIP,
     .end_exclusive = 1,
     .share = 0.16,
     .region = REGION_GLOBAL,
     .decl = DECL_DQ,
     .indent = "  ",
     .eol = "\r\n"},
    {.file_domain = "enterprise.protection.outlook.com",
     .org_name = "Enterprise Outlook",
     .email = "dmarcreport@microsoft.com",
     .envelope_to = enterprise_to,
     .n_envelope_to = RG_ARRAY_LEN(enterprise_to),
     .fl = FL_MICROSOFT,
     .ct = CT_GZIP,
     .end_exclusive = 1,
     .share = 0.20,
     .region = REGION_GLOBAL,
     .decl = DECL_DQ,
     .indent = "  ",
     .eol = "\r\n"},
    {.file_domain = "mail.ru",
     .org_name = "Mail.Ru",
     .email = "dmarc_support@corp.mail.ru",
     .extra_contact = "http://help.mail.ru/mail-help",
     .fl = FL_MAILRU,
     .ct = CT_GZIP,
     .end_exclusive = 1,
     .share = 0.015,
     .region = REGION_RU,
     .decl = "<?xml version='1.0' standalone='yes'?>",
     .indent = "  ",
     .eol = "\t\n",
     .base_indent = 1},
    {.file_domain = "gmx.net",
     .org_name = "GMX",
     .email = "noreply-dmarc@sicher.gmx.net",
     .extra_contact = "https://postmaster.gmx.net/en/case?c=r2002",
     .generator = "GMX DMARC aggregate reporter 1.4",
     .fl = FL_DMARC2,
     .ct = CT_GZIP,
     .share = 0.03,
     .region = REGION_DE,
     .decl = DECL_UTF8,
     .indent = "   ",
     .eol = "\n"},
    {.file_domain = "web.de",
     .org_name = "WEB.DE",
     .email = "noreply-dmarc@sicher.web.de",
     .extra_contact = "https://postmaster.web.de/en/case?c=r2002",
     .generator = "WEB.DE DMARC aggregate reporter 1.4",
     .fl = FL_DMARC2,
     .ct = CT_GZIP,
     .share = 0.03,
     .region = REGION_DE,
     .decl = DECL_UTF8,
     .indent = "   ",
     .eol = "\r\n"},
};

const size_t n_reporters = RG_ARRAY_LEN(reporters);

static const char *const big_to[] = {"mbp.example", "inbox.mbp.example", "biz.mbp.example"};

/* Fictional; writes every optional field so the big report is heavy. */
const struct reporter big_reporter = {.file_domain = "mbp.example",
                                      .org_name = "Example Mailbox Provider",
                                      .email = "dmarc-reports@mbp.example",
                                      .extra_contact = "https://postmaster.mbp.example/dmarc",
                                      .envelope_to = big_to,
                                      .n_envelope_to = RG_ARRAY_LEN(big_to),
                                      .fl = FL_GENERIC,
                                      .ct = CT_XML,
                                      .end_exclusive = 1,
                                      .share = 1.0,
                                      .region = REGION_GLOBAL,
                                      .decl = DECL_UTF8,
                                      .indent = "",
                                      .eol = "\n"};

void emit_style(const struct reporter *rep, struct xw_style *style)
{
    style->indent = rep->indent;
    style->eol = rep->eol;
    style->base = rep->base_indent;
}

static void hex_id(struct rng *r, char *dst, size_t size)
{
    uint64_t a = rng_next(r), b = rng_next(r);

    rg_fmt(dst, size, "%016" PRIx64 "%016" PRIx64, a, b);
}

void report_make_meta(const struct reporter *rep, struct rng *r, int64_t day_begin,
                      struct report_meta *meta)
{
    /* Reports leave a few hours after the period closes. */
    int64_t sent = day_begin + 86400 + (int64_t)rng_range(r, 600, 4 * 3600);

    meta->begin = day_begin;
    meta->end = day_begin + (rep->end_exclusive ? 86400 : 86399);
    switch (rep->fl) {
    case FL_GOOGLE:
        rg_fmt(meta->report_id, sizeof(meta->report_id), "%" PRIu64,
               rng_range(r, UINT64_C(1000000000000000000), UINT64_C(9223372036854775807)));
        break;
    case FL_YAHOO:
        rg_fmt(meta->report_id, sizeof(meta->report_id), "%" PRId64 ".%06u", sent,
               (unsigned)rng_below(r, 1000000));
        break;
    case FL_MAILRU:
        rg_fmt(meta->report_id, sizeof(meta->report_id), "%" PRIu64 "%" PRId64,
               rng_range(r, UINT64_C(10000000000000), UINT64_C(99999999999999)), sent);
        break;
    case FL_GENERIC:
        rg_fmt(meta->report_id, sizeof(meta->report_id), "%" PRId64 ".%" PRIu64 "@%s", sent,
               rng_range(r, 1, 999999), rep->file_domain);
        break;
    default:
        hex_id(r, meta->report_id, sizeof(meta->report_id));
        break;
    }
}

void report_file_name(const struct reporter *rep, const char *domain,
                      const struct report_meta *meta, char *dst, size_t size)
{
    const char *ext = rep->ct == CT_ZIP ? "zip" : rep->ct == CT_GZIP ? "xml.gz" : "xml";

    rg_fmt(dst, size, "%s!%s!%" PRId64 "!%" PRId64 ".%s", rep->file_domain, domain, meta->begin,
           meta->end, ext);
}

static void emit_date_range(struct xw *w, const struct report_meta *meta)
{
    xw_open(w, "date_range", NULL);
    xw_u64(w, "begin", (uint64_t)meta->begin);
    xw_u64(w, "end", (uint64_t)meta->end);
    xw_close(w, "date_range");
}

static void emit_metadata(struct xw *w, const struct reporter *rep, const struct report_meta *meta)
{
    xw_open(w, "report_metadata", NULL);
    if (rep->fl == FL_MAILRU) {
        emit_date_range(w, meta);
        xw_text(w, "email", rep->email);
        xw_text(w, "extra_contact_info", rep->extra_contact);
        xw_text(w, "org_name", rep->org_name);
        xw_text(w, "report_id", meta->report_id);
    } else {
        xw_text(w, "org_name", rep->org_name);
        xw_text(w, "email", rep->email);
        xw_text(w, "extra_contact_info", rep->extra_contact);
        xw_text(w, "report_id", meta->report_id);
        emit_date_range(w, meta);
        xw_text(w, "generator", rep->generator);
    }
    xw_close(w, "report_metadata");
}

static void emit_policy(struct xw *w, const struct reporter *rep, const struct policy *pol)
{
    const char *adkim = pol->adkim ? pol->adkim : "r";
    const char *aspf = pol->aspf ? pol->aspf : "r";
    const char *sp = pol->sp ? pol->sp : pol->p;

    xw_open(w, "policy_published", NULL);
    switch (rep->fl) {
    case FL_MAILRU: /* alphabetical */
        xw_text(w, "adkim", adkim);
        xw_text(w, "aspf", aspf);
        xw_text(w, "domain", pol->domain);
        xw_text(w, "p", pol->p);
        xw_u64(w, "pct", pol->pct);
        xw_text(w, "sp", sp);
        break;
    case FL_DMARC2:
        xw_text(w, "domain", pol->domain);
        xw_text(w, "discovery_method", "psl");
        xw_text(w, "adkim", adkim);
        xw_text(w, "aspf", aspf);
        xw_text(w, "p", pol->p);
        xw_text(w, "sp", sp);
        xw_text(w, "np", pol->np);
        xw_text(w, "testing", "n");
        break;
    default:
        xw_text(w, "domain", pol->domain);
        xw_text(w, "adkim", adkim);
        xw_text(w, "aspf", aspf);
        xw_text(w, "p", pol->p);
        if (rep->fl != FL_YAHOO)
            xw_text(w, "sp", sp);
        xw_u64(w, "pct", pol->pct);
        if (rep->fl == FL_GOOGLE || rep->fl == FL_GENERIC)
            xw_text(w, "np", pol->np);
        if (rep->fl == FL_MICROSOFT || rep->fl == FL_GENERIC)
            xw_text(w, "fo", pol->fo ? pol->fo : "0");
        break;
    }
    xw_close(w, "policy_published");
}

void emit_header(struct xw *w, const struct reporter *rep, const struct report_meta *meta,
                 const struct policy *pol)
{
    const char *attrs = NULL;

    if (rep->fl == FL_MICROSOFT)
        attrs = "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
                "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";
    else if (rep->fl == FL_DMARC2)
        attrs = "xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\"";
    xw_line(w, rep->decl);
    xw_open(w, "feedback", attrs);
    if (rep->fl == FL_MICROSOFT || rep->fl == FL_DMARC2 || rep->fl == FL_GENERIC)
        xw_text(w, "version", "1.0");
    emit_metadata(w, rep, meta);
    emit_policy(w, rep, pol);
}

static void emit_row(struct xw *w, const struct reporter *rep, const struct rec *rec)
{
    int mailru = rep->fl == FL_MAILRU;

    xw_open(w, "row", NULL);
    if (!mailru)
        xw_text(w, "source_ip", rec->ip);
    xw_u64(w, "count", rec->count);
    xw_open(w, "policy_evaluated", NULL);
    xw_text(w, "disposition", rec->disposition);
    xw_text(w, "dkim", rec->pe_dkim);
    xw_text(w, "spf", rec->pe_spf);
    if (rec->reason) {
        xw_open(w, "reason", NULL);
        xw_text(w, "type", rec->reason);
        /* Google writes an empty <comment></comment> when it has nothing to say. */
        if (rec->reason_comment || rep->fl == FL_GOOGLE)
            xw_text(w, "comment", rec->reason_comment ? rec->reason_comment : "");
        xw_close(w, "reason");
    }
    xw_close(w, "policy_evaluated");
    if (mailru)
        xw_text(w, "source_ip", rec->ip);
    xw_close(w, "row");
}

static void emit_identifiers(struct xw *w, const struct reporter *rep, const struct rec *rec)
{
    xw_open(w, "identifiers", NULL);
    if (rep->fl == FL_MICROSOFT || rep->fl == FL_GENERIC)
        xw_text(w, "envelope_to", rec->envelope_to);
    if (rep->fl == FL_MICROSOFT || rep->fl == FL_GENERIC || rep->fl == FL_DMARC2)
        xw_text(w, "envelope_from", rec->envelope_from);
    xw_text(w, "header_from", rec->header_from);
    xw_close(w, "identifiers");
}

static void emit_dkim(struct xw *w, const struct reporter *rep, const struct dkim_res *k)
{
    xw_open(w, "dkim", NULL);
    xw_text(w, "domain", k->domain);
    if (rep->fl == FL_GOOGLE) {
        xw_text(w, "result", k->result);
        xw_text(w, "selector", k->selector);
    } else if (rep->fl == FL_MAILRU) {
        xw_text(w, "result", k->result);
    } else {
        xw_text(w, "selector", k->selector);
        xw_text(w, "result", k->result);
        if (rep->fl == FL_GENERIC)
            xw_text(w, "human_result", k->human);
    }
    xw_close(w, "dkim");
}

static void emit_auth(struct xw *w, const struct reporter *rep, const struct rec *rec)
{
    int scoped = rep->fl != FL_GOOGLE && rep->fl != FL_YAHOO;
    unsigned nspf = 0;

    xw_open(w, "auth_results", NULL);
    for (unsigned i = 0; i < rec->ndkim; i++)
        emit_dkim(w, rep, &rec->dkim[i]);
    for (unsigned i = 0; i < rec->nspf; i++) {
        const struct spf_res *s = &rec->spf[i];

        /* RFC 9990: at most one SPF result, and only the mfrom scope; but
         * RFC 7489 needs at least one, so the first always goes out. */
        if (rep->fl == FL_DMARC2 && (nspf > 0 || strcmp(s->scope, "mfrom") != 0))
            continue;
        if (nspf > 0 && rep->fl != FL_GENERIC && rep->fl != FL_MICROSOFT)
            continue;
        xw_open(w, "spf", NULL);
        xw_text(w, "domain", s->domain);
        if (scoped)
            xw_text(w, "scope", s->scope);
        xw_text(w, "result", s->result);
        xw_close(w, "spf");
        nspf++;
    }
    xw_close(w, "auth_results");
}

void emit_record(struct xw *w, const struct reporter *rep, const struct rec *rec)
{
    xw_open(w, "record", NULL);
    if (rep->fl == FL_MAILRU) {
        emit_auth(w, rep, rec);
        emit_identifiers(w, rep, rec);
        emit_row(w, rep, rec);
    } else {
        emit_row(w, rep, rec);
        emit_identifiers(w, rep, rec);
        emit_auth(w, rep, rec);
    }
    xw_close(w, "record");
}

void emit_footer(struct xw *w, const struct reporter *rep)
{
    (void)rep;
    xw_close(w, "feedback");
}
