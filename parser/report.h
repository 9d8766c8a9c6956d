/*
 * report.h - the plain records the parser produces: aggregate reports and
 * their records, failure (ARF) reports, SMTP TLS reports.
 *
 * These structs are data, not handles: every pointer in them is borrowed
 * and lives only during the sink callback that receives it (the parser
 * keeps the strings in a per-report arena and resets it after each
 * record). A sink that wants to keep a value copies it.
 *
 * Conventions: a `const char *` that is NULL means "absent in the report"
 * (empty elements are absent too); enumerated values are lower-case
 * canonical tokens ("pass", "quarantine", "mfrom"...) after the
 * normalisations listed in the report's warnings; IP addresses are in
 * canonical text form (inet_ntop: "2001:db8::1", "192.0.2.1"; IPv4-mapped
 * IPv6 becomes plain IPv4). Counts are 64-bit.
 */
#ifndef DMARCD_PARSER_REPORT_H
#define DMARCD_PARSER_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPORT_IP_TEXT_MAX 46 /* INET6_ADDRSTRLEN */

enum report_kind { REPORT_KIND_AGGREGATE, REPORT_KIND_FAILURE, REPORT_KIND_TLSRPT };

/* "aggregate" | "failure" | "tlsrpt" */
const char *report_kind_name(enum report_kind kind);

/* Where a report came from: the input file and the path to the part inside
 * it, e.g. "part 2 (report.xml.gz) > gzip" or "zip member a.xml". */
struct report_source {
    const char *file;           /* the file name given on the command line, or "-" */
    const char *part;           /* NULL for the whole file */
};

/* Warnings about what was normalised or salvaged, kept per report. */
struct report_warnings {
    const char **items;         /* items[0..count) */
    size_t count;
    size_t dropped;             /* warnings past DMARCD_MAX_WARNINGS, counted only */
};

struct str_list {
    const char **items;
    size_t count;
};

/* ---- aggregate reports (RFC 7489 appendix C, RFC 9990, drafts) ---- */

enum agg_format { AGG_FORMAT_RFC7489, AGG_FORMAT_RFC9990, AGG_FORMAT_DRAFT };

/* "rfc7489" | "rfc9990" | "draft" */
const char *agg_format_name(enum agg_format format);

struct agg_policy {
    const char *domain;
    const char *adkim, *aspf;           /* "r" | "s" */
    const char *p, *sp, *np;            /* "none" | "quarantine" | "reject" */
    int64_t pct;                        /* -1 when absent */
    const char *fo;
    const char *testing;                /* "y" | "n" (RFC 9990) */
    const char *discovery_method;       /* "psl" | "treewalk" (RFC 9990) */
};

struct agg_report {
    enum agg_format format;
    const char *version;                /* raw <version>, informational */
    const char *org_name;
    const char *email;
    const char *extra_contact_info;
    const char *report_id;              /* as sent, trimmed */
    int64_t begin, end;                 /* seconds since the epoch, UTC */
    struct str_list errors;             /* <error> elements */
    const char *generator;              /* RFC 9990 */
    struct agg_policy policy;
};

struct agg_reason {
    const char *type;                   /* "forwarded", "local_policy", ... */
    const char *comment;
};

struct agg_dkim_result {
    const char *domain, *selector, *result, *human_result;
};

struct agg_spf_result {
    const char *domain, *scope, *result, *human_result;
};

struct agg_record {
    char source_ip[REPORT_IP_TEXT_MAX];
    uint64_t count;
    const char *disposition;            /* "none" | "quarantine" | "reject" | "pass" */
    const char *dkim, *spf;             /* DMARC-aligned verdicts: "pass" | "fail" */
    const struct agg_reason *reasons;
    size_t n_reasons;
    const char *header_from;            /* lower-cased */
    const char *envelope_from;
    const char *envelope_to;
    const struct agg_dkim_result *dkim_results;
    size_t n_dkim;
    const struct agg_spf_result *spf_results;
    size_t n_spf;
};

/* Totals of one aggregate report, known at its end. */
struct agg_totals {
    uint64_t records;
    uint64_t messages;                  /* sum of record counts */
    uint64_t skipped_records;           /* dropped (e.g. no usable source_ip), see warnings */
};

/* ---- failure reports (RFC 6591 ARF as used by RFC 7489 s7.3, RFC 9991) ---- */

enum failure_sample_kind { FAILURE_SAMPLE_NONE, FAILURE_SAMPLE_HEADERS, FAILURE_SAMPLE_MESSAGE };

struct failure_report {
    bool arf;                           /* false: a non-ARF text report was read */
    const char *feedback_type;          /* "auth-failure", ... */
    const char *user_agent;
    const char *version;
    const char *original_envelope_id;
    const char *original_mail_from;
    struct str_list original_rcpt_to;
    const char *arrival_date;           /* as sent */
    int64_t arrival_time;               /* parsed, seconds since epoch; -1 if unparsable */
    const char *reporting_mta;
    char source_ip[REPORT_IP_TEXT_MAX]; /* "" when absent */
    int64_t source_port;                /* -1 when absent */
    int64_t incidents;                  /* -1 when absent */
    struct str_list reported_domain;
    struct str_list reported_uri;
    struct str_list auth_failure;       /* "dmarc", "spf", "signature", ... */
    struct str_list identity_alignment; /* raw tokens: "none" | "dkim" | "spf" */
    struct str_list authentication_results;
    const char *delivery_result;        /* "delivered"|"spam"|"policy"|"reject"|"other" */
    const char *dkim_domain, *dkim_identity, *dkim_selector;
    const char *spf_dns;
    enum failure_sample_kind sample_kind;
    const char *sample_headers;         /* the failed message's header block */
    size_t sample_headers_len;
    const char *sample_body;            /* its body (NULL for headers-only samples) */
    size_t sample_body_len;
    const char *subject;                /* of the report mail itself, if any */
};

/* ---- SMTP TLS reports (RFC 8460) ---- */

struct tls_failure_detail {
    const char *result_type;
    const char *sending_mta_ip;
    const char *receiving_mx_hostname;
    const char *receiving_mx_helo;
    const char *receiving_ip;
    uint64_t failed_session_count;
    const char *additional_information;
    const char *failure_reason_code;
};

struct tls_policy {
    const char *policy_type;            /* "sts" | "tlsa" | "no-policy-found" */
    struct str_list policy_string;
    const char *policy_domain;
    struct str_list mx_host;
    uint64_t total_successful_session_count;
    uint64_t total_failure_session_count;
    const struct tls_failure_detail *failure_details;
    size_t n_failure_details;
};

struct tls_report {
    const char *organization_name;
    const char *start_datetime, *end_datetime;  /* as sent */
    int64_t begin, end;                 /* parsed, seconds since epoch */
    const char *contact_info;
    const char *report_id;
    const struct tls_policy *policies;
    size_t n_policies;
};

#endif
