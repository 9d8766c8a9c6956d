/*
 * queries.h - the read queries behind the REST API and the dashboard:
 * overview, sources, time series, report list, report detail and the
 * domain list. The API reads through these functions and writes no SQL.
 *
 * Tenant walls: every function takes the caller's tenant id and every
 * statement filters on it. A report id that belongs to another tenant is
 * DMARCD_E_NOT_FOUND, exactly like an id that does not exist.
 *
 * Calling sequence (all results are plain structs the caller owns):
 *
 *   struct query_sources page;
 *   struct query_source_args a = { .domain = "example.com",
 *                                  .from = "2026-03-01", .to = "2026-03-31" };
 *   rc = query_read_sources(st, tenant_id, &a, &page, &why);
 *   if (rc) ...                  page is empty; why says what was wrong
 *   for (i < page.count) use page.items[i]; page.next_cursor (NULL: last page)
 *   query_sources_release(&page);
 *
 * Arguments come from people and are checked before any SQL runs; a bad
 * one is DMARCD_E_INVALID with one sentence in `why` (which may be NULL):
 *   - dates are "YYYY-MM-DD" (UTC days); a range [from, to] includes both
 *     ends, from <= to, and spans at most QUERY_MAX_SPAN_DAYS days;
 *   - domain is a policy domain, matched exactly after lower-casing and
 *     dropping a trailing dot; NULL or "" means every domain of the tenant;
 *   - limit 0 means the default page size, above the maximum is refused;
 *   - cursors are the opaque next_cursor strings of an earlier page of the
 *     same kind of list; NULL or "" means the first page; anything else
 *     that is not exactly such a string is refused.
 * Lists are keyset-paginated: a page starts strictly after the cursor's
 * row (not at an offset), so rows added meanwhile do not shift the next
 * page. Sources are ordered by counts, and a source whose count grows
 * between two requests can move across the cursor (shown twice or not
 * at all); reports and records have fixed positions.
 *
 * Counting: a message passes DMARC when either aligned verdict of
 * policy_evaluated (dkim or spf) is "pass"; spf_pass and dkim_pass count
 * those aligned verdicts. Overview, sources and day buckets are read from
 * daily_rollups (by report_day); report counts from aggregate_reports.
 *
 * Times in results: days are "YYYY-MM-DD" (an RFC 3339 full-date); report
 * date ranges are the reporter's epoch seconds as sent (they may be odd:
 * query_time_rfc3339() formats them when they fit); created_at is RFC 3339.
 * Optional text (char *) is NULL when absent in the database, never "";
 * the fixed-size day fields are "" when there is no day.
 *
 * Statements that belong together (a page and its header_from lists, a
 * report and its records, the overview's two halves) read one snapshot:
 * they run in a transaction of their own unless the caller already has
 * one open.
 */
#ifndef DMARCD_STORAGE_QUERIES_H
#define DMARCD_STORAGE_QUERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "storage/inet.h"
#include "storage/store.h"

#define QUERY_DAY_TEXT_MAX 11           /* "YYYY-MM-DD" */
#define QUERY_TIME_TEXT_MAX 21          /* "YYYY-MM-DDTHH:MM:SSZ" */
/* Two years and a day: the longest retention horizon (enterprise) plus
 * one leap day, so "the same day two years ago" to today always fits. */
#define QUERY_MAX_SPAN_DAYS 731
/* Hour buckets read raw records (see query_read_timeseries): a month at
 * most, 744 buckets. */
#define QUERY_MAX_HOUR_SPAN_DAYS 31
#define QUERY_PAGE_DEFAULT 50
#define QUERY_PAGE_MAX 500              /* also bounds the header_from IN list */
#define QUERY_RECORDS_DEFAULT 100
#define QUERY_RECORDS_MAX 1000
#define QUERY_SOURCE_DOMAINS_MAX 10     /* header_from domains listed per source */
#define QUERY_CURSOR_TEXT_MAX 128       /* longer cursors are refused unread */
#define QUERY_RECENT_DAYS 30            /* domain list: "messages in the last 30 days" */

/* ---- overview ---- */

struct query_overview {
    uint64_t messages;
    uint64_t dmarc_pass;
    uint64_t spf_pass;                  /* aligned SPF pass */
    uint64_t dkim_pass;                 /* aligned DKIM pass */
    uint64_t disp_none;                 /* disposition applied by the receiver */
    uint64_t disp_quarantine;
    uint64_t disp_reject;
    uint64_t disp_pass;                 /* RFC 9990 */
    uint64_t disp_unknown;              /* absent or unrecognised */
    uint64_t sources;                   /* distinct source IPs */
    uint64_t reports;                   /* aggregate reports with report_day in range */
    uint64_t reporters;                 /* distinct reporting organisations among them */
};

/* domain may be NULL; from and to are required. No release needed. */
enum dmarcd_err query_read_overview(struct store *st, uint32_t tenant_id, const char *domain,
                                    const char *from, const char *to,
                                    struct query_overview *out,
                                    struct strbuf *why) DMARCD_MUST_CHECK;

/* ---- sources: one row per source IP ---- */

enum query_source_sort {
    QUERY_SOURCES_BY_MESSAGES,          /* messages desc, then IP */
    QUERY_SOURCES_BY_FAIL,              /* DMARC-failing messages desc, then IP */
};

/* "messages" | "fail" */
bool query_source_sort_parse(const char *text, enum query_source_sort *out);

struct query_source_args {
    const char *domain;                 /* optional */
    const char *from;                   /* required */
    const char *to;                     /* required */
    const char *ip;                     /* optional: only this address (IPv4 or IPv6) */
    enum query_source_sort sort;
    unsigned limit;                     /* 0: QUERY_PAGE_DEFAULT */
    const char *cursor;                 /* optional */
};

struct query_source {
    char ip[STORE_INET6_TEXT_MAX];      /* canonical: 192.0.2.1, 2001:db8::1 */
    uint64_t messages;
    uint64_t dmarc_pass;
    uint64_t dmarc_fail;
    uint64_t spf_pass;
    uint64_t dkim_pass;
    /* Up to QUERY_SOURCE_DOMAINS_MAX header_from domains, most messages
     * first (ties by name), and how many distinct ones there are in all.
     * Records without a header_from are counted in messages only. */
    char **header_from;
    size_t header_from_count;
    uint64_t header_from_total;
    char first_day[QUERY_DAY_TEXT_MAX];
    char last_day[QUERY_DAY_TEXT_MAX];
};

struct query_sources {
    struct query_source *items;
    size_t count;
    char *next_cursor;                  /* NULL on the last page */
};

void query_sources_release(struct query_sources *page);

enum dmarcd_err query_read_sources(struct store *st, uint32_t tenant_id,
                                   const struct query_source_args *args,
                                   struct query_sources *out,
                                   struct strbuf *why) DMARCD_MUST_CHECK;

/* ---- time series ---- */

enum query_bucket { QUERY_BUCKET_DAY, QUERY_BUCKET_HOUR };

/* "day" | "hour" */
bool query_bucket_parse(const char *text, enum query_bucket *out);

struct query_point {
    /* Day buckets "YYYY-MM-DD", hour buckets "YYYY-MM-DDTHH:00:00Z". */
    char start[QUERY_TIME_TEXT_MAX];
    int64_t start_epoch;                /* seconds since 1970, UTC */
    uint64_t messages;
    uint64_t dmarc_pass;
    uint64_t spf_pass;
    uint64_t dkim_pass;
    uint64_t quarantine;
    uint64_t reject;
};

struct query_timeseries {
    enum query_bucket bucket;
    struct query_point *items;          /* every bucket of [from, to], in order */
    size_t count;
};

void query_timeseries_release(struct query_timeseries *ts);

/*
 * Every bucket of the range is present, zero when nothing was reported,
 * so a chart has no holes.
 *
 * Day buckets come from daily_rollups and count each report on its
 * report_day (the day of the middle of its range).
 *
 * Hour buckets: reports cover ranges (usually a day), not hours, so the
 * hourly numbers are an estimate. Each report overlapping [from 00:00,
 * to + 1 day 00:00) is read with its records (aggregate_reports joined
 * with aggregate_records, grouped by disposition and verdicts), and the
 * messages of each group are spread evenly over the report's
 * [date_begin, date_end) in proportion to time: the messages before an
 * instant t are floor(n * (t - begin) / (end - begin)), and an hour gets
 * the difference between its end and its start. So every message lands
 * in exactly one hour, each group's total is kept, and a bucket never
 * shows more passes than messages. A report with end <= begin counts in
 * the hour of its begin. Hours outside the range are dropped (clipped).
 * Only reports whose report_day is within a day of the range are
 * considered, which misses parts of reports longer than two days that
 * straddle the range's edges. Because this reads raw records, hour
 * buckets are refused for spans over QUERY_MAX_HOUR_SPAN_DAYS days.
 * Day and hour numbers can therefore differ near the range's ends.
 */
enum dmarcd_err query_read_timeseries(struct store *st, uint32_t tenant_id, const char *domain,
                                      const char *from, const char *to,
                                      enum query_bucket bucket, struct query_timeseries *out,
                                      struct strbuf *why) DMARCD_MUST_CHECK;

/* ---- report list ---- */

struct query_report_args {
    const char *domain;                 /* optional */
    const char *from;                   /* optional: report_day >= from */
    const char *to;                     /* optional: report_day <= to */
    const char *org;                    /* optional: org_name exactly as reported */
    unsigned limit;                     /* 0: QUERY_PAGE_DEFAULT */
    const char *cursor;                 /* optional */
};

struct query_report_item {
    uint64_t id;
    char report_day[QUERY_DAY_TEXT_MAX];
    char *org_name;
    char *report_id;
    char *policy_domain;
    int64_t date_begin;
    int64_t date_end;
    uint64_t record_count;
    uint64_t message_count;
    char *format;                       /* "rfc7489" | "rfc9990" | "draft" */
    uint64_t warnings;                  /* stored warnings plus those dropped over the cap */
    char *policy_p;                     /* published p=, NULL when absent */
};

struct query_reports {
    struct query_report_item *items;    /* newest first: report_day desc, id desc */
    size_t count;
    char *next_cursor;
};

void query_reports_release(struct query_reports *page);

enum dmarcd_err query_read_reports(struct store *st, uint32_t tenant_id,
                                   const struct query_report_args *args,
                                   struct query_reports *out,
                                   struct strbuf *why) DMARCD_MUST_CHECK;

/* ---- one report with its records ---- */

struct query_policy {                   /* policy_published; NULL when absent */
    char *domain;
    char *adkim;
    char *aspf;
    char *p;
    char *sp;
    char *np;
    int pct;                            /* -1 when absent */
    char *fo;
    char *testing;
    char *discovery_method;
};

struct query_record {
    uint32_t record_no;
    char source_ip[STORE_INET6_TEXT_MAX];
    uint64_t messages;
    char *disposition;                  /* NULL: absent or unrecognised */
    char *dkim;                         /* aligned verdict */
    char *spf;
    char *reasons;                      /* JSON text [{type, comment}] or NULL */
    char *header_from;
    char *envelope_from;
    char *envelope_to;
    char *auth_results;                 /* JSON text {dkim: [...], spf: [...]} or NULL */
};

struct query_report {
    uint64_t id;
    char report_day[QUERY_DAY_TEXT_MAX];
    char *org_name;
    char *email;
    char *extra_contact_info;
    char *report_id;
    int64_t date_begin;
    int64_t date_end;
    struct query_policy policy;
    char *format;
    char *version;
    char *generator;
    char *errors;                       /* JSON array text or NULL */
    char *warnings;                     /* JSON array text or NULL */
    uint64_t warnings_dropped;
    uint64_t record_count;
    uint64_t skipped_records;
    uint64_t message_count;
    uint64_t inbox_id;                  /* 0: not from the inbox */
    char *source_file;
    char *source_part;
    char created_at[QUERY_TIME_TEXT_MAX];
    struct query_record *records;       /* one page of records, by record_no */
    size_t nrecords;
    char *next_cursor;                  /* the next page of records; NULL: no more */
};

void query_report_release(struct query_report *r);

/*
 * The report with this id and one page of its records (limit 0:
 * QUERY_RECORDS_DEFAULT, at most QUERY_RECORDS_MAX; cursor from an earlier
 * page's next_cursor). report_day, when given (the report_day of a list
 * item), lets the lookup read one partition instead of probing each; a
 * wrong day is not found. DMARCD_E_NOT_FOUND when the tenant has no such
 * report, whoever else may have it.
 */
enum dmarcd_err query_read_report(struct store *st, uint32_t tenant_id, uint64_t id,
                                  const char *report_day, unsigned limit, const char *cursor,
                                  struct query_report *out,
                                  struct strbuf *why) DMARCD_MUST_CHECK;

/* ---- domains ---- */

struct query_domain {
    char *domain;
    bool registered;                    /* in tenant_domains; false: a policy domain seen in
                                           recent reports routed to the tenant */
    char last_day[QUERY_DAY_TEXT_MAX];  /* newest report_day, "" when none */
    uint64_t messages_recent;           /* in the QUERY_RECENT_DAYS days up to today */
};

struct query_domains {
    struct query_domain *items;         /* by domain name */
    size_t count;
};

void query_domains_release(struct query_domains *list);

/*
 * Every domain the tenant owns (also those without any report yet, for
 * empty states) and every other policy domain with messages in the
 * recent days (reports for a subdomain with its own DMARC record are
 * routed to the owner of the parent domain). last_day looks back
 * QUERY_MAX_SPAN_DAYS days. today is "YYYY-MM-DD", or NULL for the
 * current UTC date; the recent days are the QUERY_RECENT_DAYS up to and
 * including today.
 */
enum dmarcd_err query_read_domains(struct store *st, uint32_t tenant_id, const char *today,
                                   struct query_domains *out,
                                   struct strbuf *why) DMARCD_MUST_CHECK;

/* ---- helpers for callers ---- */

/* "YYYY-MM-DDTHH:MM:SSZ" for epoch seconds t; false (out "") when the year
 * is outside 0000-9999, e.g. a report range sent in milliseconds. */
bool query_time_rfc3339(int64_t t, char out[QUERY_TIME_TEXT_MAX]);

/* A strict "YYYY-MM-DD" check (years 1000-9999, real calendar days). */
bool query_day_valid(const char *text);

#endif
