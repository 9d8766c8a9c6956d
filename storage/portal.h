/*
 * portal.h - the customer portal's reads and writes beyond queries.h:
 * failure-report metadata, TLS reports, the audit log, tenant settings,
 * removing a domain, a report's raw message, and the health and metrics
 * reads of `dmarcd api`.
 *
 * Same rules as queries.h: every function takes the caller's tenant id and
 * every statement filters on it; another tenant's id is DMARCD_E_NOT_FOUND,
 * exactly like an id that does not exist. Arguments from people are checked
 * before any SQL runs (DMARCD_E_INVALID with one sentence in `why`, which
 * may be NULL). Lists are keyset-paginated, newest first, with opaque
 * cursors (next_cursor NULL on the last page). Times in results are RFC
 * 3339 ("YYYY-MM-DDTHH:MM:SSZ"), days "YYYY-MM-DD"; optional text is NULL
 * when absent.
 *
 * Failure reports: only the non-personal metadata of schema/002 is read
 * here. Message samples (headers, bodies) are a later migration's, and
 * reading them will be a separate function gated by role and tenant policy.
 */
#ifndef DMARCD_STORAGE_PORTAL_H
#define DMARCD_STORAGE_PORTAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "storage/inet.h"
#include "storage/queries.h"
#include "storage/store.h"

#define PORTAL_AUDIT_TIME_MAX 28        /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" */

/* ---- health and metrics ---- */

/* One round trip to the server (SELECT 1). */
enum dmarcd_err portal_ping(struct store *st) DMARCD_MUST_CHECK;

/*
 * Cheap fleet-wide counters for metrics: the highest id of each report
 * table and of the quarantine (ids only grow, so each is the number of
 * rows ever stored, give or take the gaps rollbacks leave). Each is one
 * index probe per partition, never a scan.
 */
struct portal_counters {
    uint64_t aggregate_reports;
    uint64_t failure_reports;
    uint64_t tls_reports;
    uint64_t quarantined;
};

enum dmarcd_err portal_read_counters(struct store *st,
                                     struct portal_counters *out) DMARCD_MUST_CHECK;

/* ---- failure reports (metadata) ---- */

struct portal_failure_args {
    const char *domain;                 /* optional: reported_domain */
    const char *from;                   /* optional: report_day >= from */
    const char *to;                     /* optional */
    const char *ip;                     /* optional: source address */
    unsigned limit;                     /* 0: QUERY_PAGE_DEFAULT, at most QUERY_PAGE_MAX */
    const char *cursor;
};

struct portal_failure {
    uint64_t id;
    char report_day[QUERY_DAY_TEXT_MAX];
    char *reported_domain;
    char source_ip[STORE_INET6_TEXT_MAX];   /* "" when absent */
    int32_t source_port;                /* -1 when absent */
    int64_t arrival_time;               /* epoch seconds */
    bool has_arrival_time;
    char *feedback_type;
    char *auth_failure;
    char *identity_alignment;
    char *delivery_result;
    char *dkim_domain;
    char *dkim_selector;
    char *spf_dns;
    char *reporting_mta;
    char *user_agent;
    int64_t incidents;                  /* -1 when absent */
    bool arf;
    char *sample_kind;                  /* "none" | "headers" | "message" */
    char *warnings;                     /* JSON array text or NULL */
    char created_at[QUERY_TIME_TEXT_MAX];
};

struct portal_failures {
    struct portal_failure *items;       /* report_day desc, id desc */
    size_t count;
    char *next_cursor;
};

void portal_failures_release(struct portal_failures *page);
enum dmarcd_err portal_read_failures(struct store *st, uint32_t tenant_id,
                                     const struct portal_failure_args *args,
                                     struct portal_failures *out,
                                     struct strbuf *why) DMARCD_MUST_CHECK;
/* One failure report's metadata: out->count is 1. */
enum dmarcd_err portal_read_failure(struct store *st, uint32_t tenant_id, uint64_t id,
                                    struct portal_failures *out) DMARCD_MUST_CHECK;

/* ---- TLS reports ---- */

struct portal_tls_args {
    const char *from;                   /* optional */
    const char *to;                     /* optional */
    unsigned limit;
    const char *cursor;
};

struct portal_tls_report {
    uint64_t id;
    char report_day[QUERY_DAY_TEXT_MAX];
    char *organization_name;
    char *report_id;
    char *contact_info;
    int64_t date_begin;
    int64_t date_end;
    uint64_t policy_count;
    uint64_t successful_sessions;
    uint64_t failed_sessions;
    char *policy_domains;               /* JSON array text of the policies' domains */
    char created_at[QUERY_TIME_TEXT_MAX];
};

struct portal_tls_reports {
    struct portal_tls_report *items;    /* report_day desc, id desc */
    size_t count;
    char *next_cursor;
};

void portal_tls_reports_release(struct portal_tls_reports *page);
enum dmarcd_err portal_read_tls_reports(struct store *st, uint32_t tenant_id,
                                        const struct portal_tls_args *args,
                                        struct portal_tls_reports *out,
                                        struct strbuf *why) DMARCD_MUST_CHECK;

/* ---- audit log ---- */

struct portal_audit_args {
    const char *from;                   /* optional: at >= from 00:00 */
    const char *to;                     /* optional: at < to + 1 day */
    const char *action;                 /* optional: exactly this action ("user.add") */
    unsigned limit;
    const char *cursor;
};

struct portal_audit_entry {
    uint64_t id;
    char at[PORTAL_AUDIT_TIME_MAX];
    char *actor;
    char *action;
    char *target;
    char *detail;                       /* JSON object text or NULL */
};

struct portal_audit {
    struct portal_audit_entry *items;   /* newest first */
    size_t count;
    char *next_cursor;
};

void portal_audit_release(struct portal_audit *page);
enum dmarcd_err portal_read_audit(struct store *st, uint32_t tenant_id,
                                  const struct portal_audit_args *args, struct portal_audit *out,
                                  struct strbuf *why) DMARCD_MUST_CHECK;

/* ---- tenant settings ---- */

/* What a tenant's members may see of its settings (changes: forensic.h). */
struct portal_settings {
    char *name;
    char *tier;
    char *status;
    char *forensic_policy;
    char *forensic_redaction;           /* "mask" | "hash" | "off" */
    char *pgp_fingerprint;              /* NULL when no OpenPGP key is on file */
    char *pgp_format;                   /* "armor" | "binary" */
    char pgp_expires_at[QUERY_TIME_TEXT_MAX];   /* "" when it never expires or no key */
    char created_at[QUERY_TIME_TEXT_MAX];
};

void portal_settings_release(struct portal_settings *s);
enum dmarcd_err portal_read_settings(struct store *st, uint32_t tenant_id,
                                     struct portal_settings *out) DMARCD_MUST_CHECK;

/* ---- domains ---- */

/*
 * Removes a registered domain (normalised by the caller) from the tenant:
 * its reports stay until retention, new ones are no longer routed to it.
 * DMARCD_E_NOT_FOUND when the tenant has no such domain. Audited.
 */
enum dmarcd_err portal_domain_remove(struct store *st, uint32_t tenant_id, const char *domain,
                                     const char *actor) DMARCD_MUST_CHECK;

/* ---- raw messages ---- */

/*
 * The raw message an aggregate report of the tenant came in: *raw (heap,
 * free it) and *len. DMARCD_E_NOT_FOUND when the tenant has no such report,
 * the report did not come through the inbox (a direct import), the message
 * was expired, or the message also carried another tenant's report (it is
 * then not this tenant's to read).
 */
enum dmarcd_err portal_report_raw(struct store *st, uint32_t tenant_id, uint64_t report_id,
                                  uint8_t **raw, size_t *len) DMARCD_MUST_CHECK;

#endif
