/*
 * test_retention_queries.c - prints what the API's read queries
 * (storage/queries.h) answer for one tenant and day range: the overview,
 * the day series, every page of sources and every page of the report
 * list. test_retention.sh runs it over the range a tenant keeps, before
 * and after `dmarcd retention`, and compares the two outputs.
 *
 *   test_retention_queries TENANT_ID FROM TO      (DMARCD_DATABASE_URL)
 *
 * Exit status 0, or 1 with the failing query's reason on stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/url.h"
#include "storage/queries.h"
#include "storage/store.h"
#include "lib/banned.h"

static int failed(const char *what, enum dmarcd_err rc, const struct strbuf *why)
{
    fprintf(stderr, "%s: %s: %s\n", what, dmarcd_err_code(rc), why->buf);
    return 1;
}

static int overview_and_days(struct store *st, uint32_t t, const char *from, const char *to,
                             struct strbuf *why)
{
    struct query_overview o;
    struct query_timeseries ts;
    enum dmarcd_err rc = query_read_overview(st, t, NULL, from, to, &o, why);
    if (rc)
        return failed("overview", rc, why);
    printf("overview messages=%" PRIu64 " pass=%" PRIu64 " spf=%" PRIu64 " dkim=%" PRIu64
           " none=%" PRIu64 " quarantine=%" PRIu64 " reject=%" PRIu64 " sources=%" PRIu64
           " reports=%" PRIu64 " reporters=%" PRIu64 "\n",
           o.messages, o.dmarc_pass, o.spf_pass, o.dkim_pass, o.disp_none, o.disp_quarantine,
           o.disp_reject, o.sources, o.reports, o.reporters);
    rc = query_read_timeseries(st, t, NULL, from, to, QUERY_BUCKET_DAY, &ts, why);
    if (rc)
        return failed("timeseries", rc, why);
    for (size_t i = 0; i < ts.count; i++)
        printf("day %s messages=%" PRIu64 " pass=%" PRIu64 " reject=%" PRIu64 "\n",
               ts.items[i].start, ts.items[i].messages, ts.items[i].dmarc_pass,
               ts.items[i].reject);
    query_timeseries_release(&ts);
    return 0;
}

static int sources(struct store *st, uint32_t t, const char *from, const char *to,
                   struct strbuf *why)
{
    char *cursor = NULL;
    do {
        struct query_sources page;
        struct query_source_args a = { .from = from, .to = to, .limit = QUERY_PAGE_MAX,
                                       .cursor = cursor };
        enum dmarcd_err rc = query_read_sources(st, t, &a, &page, why);
        free(cursor);
        cursor = NULL;
        if (rc)
            return failed("sources", rc, why);
        for (size_t i = 0; i < page.count; i++) {
            const struct query_source *s = &page.items[i];
            printf("source %s messages=%" PRIu64 " pass=%" PRIu64 " fail=%" PRIu64 " %s..%s\n",
                   s->ip, s->messages, s->dmarc_pass, s->dmarc_fail, s->first_day, s->last_day);
        }
        if (page.next_cursor)
            cursor = strdup(page.next_cursor);
        query_sources_release(&page);
    } while (cursor);
    return 0;
}

static int reports(struct store *st, uint32_t t, const char *from, const char *to,
                   struct strbuf *why)
{
    char *cursor = NULL;
    do {
        struct query_reports page;
        struct query_report_args a = { .from = from, .to = to, .limit = QUERY_PAGE_MAX,
                                       .cursor = cursor };
        enum dmarcd_err rc = query_read_reports(st, t, &a, &page, why);
        free(cursor);
        cursor = NULL;
        if (rc)
            return failed("reports", rc, why);
        for (size_t i = 0; i < page.count; i++) {
            const struct query_report_item *r = &page.items[i];
            printf("report %" PRIu64 " %s %s %s records=%" PRIu64 " messages=%" PRIu64 "\n",
                   r->id, r->report_day, r->org_name ? r->org_name : "-",
                   r->report_id ? r->report_id : "-", r->record_count, r->message_count);
        }
        if (page.next_cursor)
            cursor = strdup(page.next_cursor);
        query_reports_release(&page);
    } while (cursor);
    return 0;
}

int main(int argc, char **argv)
{
    struct db_url url = { 0 };
    struct store *st = NULL;
    struct strbuf why;
    const char *text = getenv("DMARCD_DATABASE_URL");
    if (argc != 4 || !text) {
        fprintf(stderr, "usage: test_retention_queries TENANT_ID FROM TO (DMARCD_DATABASE_URL)\n");
        return 2;
    }
    if (db_url_parse(text, &url, NULL) || store_open(&url, &st)) {
        fprintf(stderr, "cannot connect to DMARCD_DATABASE_URL\n");
        db_url_release(&url);
        return 3;
    }
    uint32_t t = (uint32_t)strtoul(argv[1], NULL, 10);
    strbuf_init(&why, 0);
    int status = overview_and_days(st, t, argv[2], argv[3], &why);
    if (!status)
        status = sources(st, t, argv[2], argv[3], &why);
    if (!status)
        status = reports(st, t, argv[2], argv[3], &why);
    strbuf_release(&why);
    store_close(st);
    db_url_release(&url);
    return status;
}
