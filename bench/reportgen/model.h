/*
 * model.h - the data that flows from scenarios to the XML emitter.
 *
 * A scenario fills plain records (what a receiver saw from one source IP
 * with one set of identifiers and results); the emitter writes them the way
 * a given reporter would. Strings that vary per record live in the record's
 * fixed arrays; everything else points at static tables, so records can be
 * copied and reused without any ownership bookkeeping.
 */
#ifndef REPORTGEN_MODEL_H
#define REPORTGEN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "prng.h"

#define REC_MAX_DKIM 4
#define REC_MAX_SPF  2
#define REC_NAME_MAX 96

/* Where traffic comes from; drives results and policy overrides. */
enum src_kind {
    SRC_OWN,     /* the domain's own mail servers */
    SRC_ESP,     /* an ESP signing with the domain (aligned) */
    SRC_FWD,     /* mailing list or forwarding service */
    SRC_MISCONF, /* an ESP signing with its own domain (unaligned) */
    SRC_SPOOF,   /* nobody the domain knows */
    SRC_NKINDS
};

struct dkim_res {
    char domain[REC_NAME_MAX];
    char selector[48];
    const char *result;
    const char *human; /* NULL: element omitted */
};

struct spf_res {
    char domain[REC_NAME_MAX];
    const char *scope; /* "mfrom", "helo" */
    const char *result;
};

struct rec {
    enum src_kind kind;
    char ip[48];
    uint64_t count;
    /* policy_evaluated, filled by scenario_evaluate() */
    const char *disposition, *pe_dkim, *pe_spf;
    const char *reason, *reason_comment; /* NULL: no <reason> */
    char header_from[REC_NAME_MAX];
    char envelope_from[REC_NAME_MAX];
    const char *envelope_to;
    int nxdomain; /* header_from names a subdomain that does not exist */
    struct dkim_res dkim[REC_MAX_DKIM];
    unsigned ndkim;
    struct spf_res spf[REC_MAX_SPF];
    unsigned nspf;
};

/* What <policy_published> says; NULL fields are not published. */
struct policy {
    const char *domain;
    const char *adkim, *aspf, *p, *sp, *np, *fo;
    unsigned pct;
};

/* How a reporter writes reports; see emit.c for the per-flavour details. */
enum flavour { FL_GOOGLE, FL_YAHOO, FL_MICROSOFT, FL_MAILRU, FL_DMARC2, FL_GENERIC };
enum container { CT_ZIP, CT_GZIP, CT_XML };
/* Regional providers see a domain's mail only if it has an audience there. */
enum region { REGION_GLOBAL, REGION_DE, REGION_RU };

struct reporter {
    const char *file_domain; /* receiver part of the attachment name */
    const char *org_name;
    const char *email;
    const char *extra_contact;      /* NULL: omitted */
    const char *generator;          /* RFC 9990 <generator>, NULL: omitted */
    const char *const *envelope_to; /* recipient domains; NULL: not reported */
    size_t n_envelope_to;
    enum flavour fl;
    enum container ct;
    int end_exclusive; /* end = begin + 86400 instead of + 86399 */
    double share;      /* fraction of a domain's mail this receiver gets */
    enum region region;
    const char *decl; /* XML declaration, verbatim */
    const char *indent, *eol;
    unsigned base_indent;
};

struct report_meta {
    char report_id[64];
    int64_t begin, end; /* never before 1980: zip times start there */
};

/* emit.c */
extern const struct reporter reporters[];
extern const size_t n_reporters;
extern const struct reporter big_reporter;

void report_make_meta(const struct reporter *rep, struct rng *r, int64_t day_begin,
                      struct report_meta *meta);
struct xw;
void emit_header(struct xw *w, const struct reporter *rep, const struct report_meta *meta,
                 const struct policy *pol);
void emit_record(struct xw *w, const struct reporter *rep, const struct rec *rec);
void emit_footer(struct xw *w, const struct reporter *rep);
/* The xmlw style (indentation, line ends) the reporter uses. */
struct xw_style;
void emit_style(const struct reporter *rep, struct xw_style *style);
/* Attachment name, e.g. "google.com!example.com!1700000000!1700086399.zip". */
void report_file_name(const struct reporter *rep, const char *domain,
                      const struct report_meta *meta, char *dst, size_t size);

/* scenario.c */
extern const size_t n_domains;
/* Policy published by domain idx on day `day` of `ndays`. */
void scenario_policy(size_t idx, unsigned day, unsigned ndays, struct policy *pol);

struct day_ctx {
    uint64_t seed;
    size_t dom; /* index into the domain table */
    size_t rep; /* index into reporters[] */
    unsigned day, ndays;
    int64_t day_begin; /* epoch seconds, 00:00 UTC */
};

/*
 * Fills up to `max` records for one (domain, reporter, day). Returns how
 * many; 0 means this reporter saw nothing and sends no report.
 */
size_t scenario_day(const struct day_ctx *ctx, const struct policy *pol, struct rec *recs,
                    size_t max);
/* One varied, richly annotated record for the big benchmark report. */
void scenario_big_record(struct rng *r, const struct policy *pol, struct rec *rec);

#endif
