/*
 * test_queries.c - storage/queries.c against a real MariaDB: overview,
 * sources, time series (day and hour buckets), report list, report detail
 * and the domain list, over a small fixture whose every number is worked
 * out by hand below.
 *
 * Needs DMARCD_DATABASE_URL; without it the program exits 77 (skipped).
 * It creates its own database dmarc_test_q<pid>_<random>, migrates it
 * with monthly partitions (so the queries run against the partitioned
 * tables they will meet in production) and drops it at the end.
 *
 * The fixture: two tenants A and B that both have reports for the policy
 * domain example.com from the same source IPs (tenant_domains lets only
 * one of them own the name; reports routed to a tenant can still carry
 * it), so any leak across the tenant wall changes a number. Reports and
 * records are inserted with SQL; daily_rollups is derived from them with
 * one INSERT ... SELECT, as the sink would add them up.
 *
 *   report  tenant day         policy domain     org        range (UTC)
 *   A1      A      2026-03-10  example.com       google.com 03-10 00:00 .. 03-11 00:00
 *   B1      B      2026-03-10  example.com       google.com 03-10 00:00 .. 03-11 00:00
 *   A2      A      2026-03-11  example.com       yahoo.com  03-10 12:00 .. 03-11 12:00
 *   A3      A      2026-03-13  example.com       google.com 03-13 00:00 .. 03-14 00:00
 *   A4      A      2026-03-10  example.org       google.com 03-10 00:00 .. 03-11 00:00
 *   B2      B      2026-03-12  example.com       google.com 03-12 00:00 .. 03-13 00:00
 *   A5      A      2026-02-01  example.org       Mimecast   02-01 00:00 .. 02-02 00:00
 *   A6      A      2026-03-20  shop.example.com  yahoo.com  03-20 00:00 .. 03-21 00:00
 *   B3      B      2026-01-15  example.net       outlook.com 01-15 10:30 (an instant)
 * (inserted in this order, so A's ids are not contiguous). Records:
 *   A1: 192.0.2.1 48 none pass pass example.com | 192.0.2.1 12 none fail pass
 *       mail.example.com | 2001:db8::5 6 reject fail fail example.com
 *   B1: 192.0.2.1 1000 reject fail fail example.com | 2001:db8::5 500 none pass pass
 *       evil.example
 *   A2: 192.0.2.1 24 none pass fail example.com | 198.51.100.7 48 quarantine fail fail
 *       example.com
 *   A3: 198.51.100.7 1 reject fail fail example.com | 203.0.113.9 6 none pass pass
 *       example.com
 *   A4: 192.0.2.1 20 none pass pass example.org | 2001:db8::5 1 (all absent)
 *   B2: 198.51.100.7 7 none fail fail example.com
 *   A5: 192.0.2.200, twelve records hf01..hf12.example.org with 12..1 messages,
 *       none pass pass
 *   A6: 192.0.2.1 5 none pass pass shop.example.com
 *   B3: 198.51.100.7 5 none pass fail example.net
 * (columns: source ip, messages, disposition, dkim, spf, header_from)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/url.h"
#include "storage/inet.h"
#include "storage/migrate.h"
#include "storage/queries.h"
#include "storage/stmt.h"
#include "storage/store.h"
#include "storage/tenants.h"
#include "lib/banned.h"

#define SKIP_STATUS 77
#define DAY 86400LL
#define HOUR 3600LL
#define D0201 1769904000LL
#define D0310 1773100800LL
#define D0312 (D0310 + 2 * DAY)
#define D0313 (D0310 + 3 * DAY)
#define D0320 1773964800LL
#define D0115 1768435200LL

static struct db_url admin_url;
static struct store *admin;
static struct store *st;
static char dbname[64];
static uint32_t ta, tb;                 /* tenant ids */

enum { A1, B1, A2, A3, A4, B2, A5, A6, B3, NREPORTS };
static uint64_t rid[NREPORTS];          /* aggregate_reports.id of each */

/* ---- fixture ---- */

struct fx_record {
    const char *ip;
    uint64_t n;
    const char *disp, *dkim, *spf, *hf;
};

struct fx_report {
    int tenant;                         /* 'A' or 'B' */
    const char *day, *domain, *org, *report_id;
    int64_t begin, end;
    const char *p;
    struct fx_record recs[3];
    unsigned nrecs;
};

static const struct fx_report FX[NREPORTS] = {
    [A1] = { 'A', "2026-03-10", "example.com", "google.com", "g-1", D0310, D0310 + DAY, "reject",
             { { "192.0.2.1", 48, "none", "pass", "pass", "example.com" },
               { "192.0.2.1", 12, "none", "fail", "pass", "mail.example.com" },
               { "2001:0DB8:0:0::5", 6, "reject", "fail", "fail", "example.com" } }, 3 },
    [B1] = { 'B', "2026-03-10", "example.com", "google.com", "g-1", D0310, D0310 + DAY, "reject",
             { { "192.0.2.1", 1000, "reject", "fail", "fail", "example.com" },
               { "2001:db8::5", 500, "none", "pass", "pass", "evil.example" } }, 2 },
    [A2] = { 'A', "2026-03-11", "example.com", "yahoo.com", "y-1", D0310 + 12 * HOUR,
             D0310 + DAY + 12 * HOUR, "none",
             { { "192.0.2.1", 24, "none", "pass", "fail", "example.com" },
               { "198.51.100.7", 48, "quarantine", "fail", "fail", "example.com" } }, 2 },
    [A3] = { 'A', "2026-03-13", "example.com", "google.com", "g-2", D0313, D0313 + DAY, "reject",
             { { "198.51.100.7", 1, "reject", "fail", "fail", "example.com" },
               { "203.0.113.9", 6, "none", "pass", "pass", "example.com" } }, 2 },
    [A4] = { 'A', "2026-03-10", "example.org", "google.com", "g-3", D0310, D0310 + DAY,
             "quarantine",
             { { "192.0.2.1", 20, "none", "pass", "pass", "example.org" },
               { "2001:db8::5", 1, NULL, NULL, NULL, NULL } }, 2 },
    [B2] = { 'B', "2026-03-12", "example.com", "google.com", "g-9", D0312, D0312 + DAY, NULL,
             { { "198.51.100.7", 7, "none", "fail", "fail", "example.com" } }, 1 },
    [A5] = { 'A', "2026-02-01", "example.org", "Mimecast", "m-1", D0201, D0201 + DAY, "none",
             { { NULL, 0, NULL, NULL, NULL, NULL } }, 0 },     /* records added in a loop */
    [A6] = { 'A', "2026-03-20", "shop.example.com", "yahoo.com", "y-2", D0320, D0320 + DAY, NULL,
             { { "192.0.2.1", 5, "none", "pass", "pass", "shop.example.com" } }, 1 },
    [B3] = { 'B', "2026-01-15", "example.net", "outlook.com", "o-1", D0115 + 10 * HOUR + 1800,
             D0115 + 10 * HOUR + 1800, "none",
             { { "198.51.100.7", 5, "none", "pass", "fail", "example.net" } }, 1 },
};

static void must_exec(const char *sql)
{
    assert_int_equal(store_exec_sql(st, sql), DMARCD_OK);
}

static void insert_record(uint32_t tenant, const char *day, uint64_t report, unsigned no,
                          const struct fx_record *r)
{
    struct store_stmt *s = NULL;
    char ip[STORE_INET6_TEXT_MAX];
    assert_true(store_inet6_from_ip(r->ip, ip));
    assert_int_equal(store_stmt_prepare(st,
                                        "INSERT INTO aggregate_records (tenant_id, report_day,"
                                        " report_id, record_no, source_ip, message_count,"
                                        " disposition, dkim, spf, header_from)"
                                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &s),
                     DMARCD_OK);
    store_bind_u64(s, 0, tenant);
    store_bind_str(s, 1, day);
    store_bind_u64(s, 2, report);
    store_bind_u64(s, 3, no);
    store_bind_str(s, 4, ip);
    store_bind_u64(s, 5, r->n);
    store_bind_str(s, 6, r->disp);
    store_bind_str(s, 7, r->dkim);
    store_bind_str(s, 8, r->spf);
    store_bind_str(s, 9, r->hf);
    assert_int_equal(store_stmt_exec(s), DMARCD_OK);
    store_stmt_free(s);
}

static uint64_t insert_report(unsigned i)
{
    const struct fx_report *f = &FX[i];
    struct store_stmt *s = NULL;
    uint8_t key[32];
    uint32_t tenant = f->tenant == 'A' ? ta : tb;
    uint64_t messages = 0;
    unsigned nrecs = i == A5 ? 12 : f->nrecs;
    for (unsigned r = 0; r < f->nrecs; r++)
        messages += f->recs[r].n;
    if (i == A5)
        messages = 78;                  /* 12 + 11 + ... + 1 */
    store_sha256(&i, sizeof(i), key);
    assert_int_equal(store_stmt_prepare(st,
                                        "INSERT INTO aggregate_reports (tenant_id, report_day,"
                                        " report_key, policy_domain, org_name, report_id,"
                                        " date_begin, date_end, p, format, record_count,"
                                        " message_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
                                        " 'rfc7489', ?, ?)", &s),
                     DMARCD_OK);
    store_bind_u64(s, 0, tenant);
    store_bind_str(s, 1, f->day);
    store_bind_bytes(s, 2, key, sizeof(key));
    store_bind_str(s, 3, f->domain);
    store_bind_str(s, 4, f->org);
    store_bind_str(s, 5, f->report_id);
    store_bind_i64(s, 6, f->begin);
    store_bind_i64(s, 7, f->end);
    store_bind_str(s, 8, f->p);
    store_bind_u64(s, 9, nrecs);
    store_bind_u64(s, 10, messages);
    assert_int_equal(store_stmt_exec(s), DMARCD_OK);
    uint64_t id = store_stmt_insert_id(s);
    store_stmt_free(s);
    for (unsigned r = 0; r < f->nrecs; r++)
        insert_record(tenant, f->day, id, r + 1, &f->recs[r]);
    for (unsigned r = 0; i == A5 && r < 12; r++) {
        char hf[32];
        snprintf(hf, sizeof(hf), "hf%02u.example.org", r + 1);
        struct fx_record rec = { "192.0.2.200", 12 - r, "none", "pass", "pass", hf };
        insert_record(tenant, f->day, id, r + 1, &rec);
    }
    return id;
}

/* A1 carries every optional column, for the detail test. */
static void decorate_a1(void)
{
    struct store_stmt *s = NULL;
    assert_int_equal(store_stmt_prepare(st,
        "UPDATE aggregate_reports SET email = 'noreply-dmarc-support@google.com',"
        " extra_contact_info = 'https://support.google.com/a/answer/2466580', adkim = 'r',"
        " aspf = 's', sp = 'quarantine', pct = 100, fo = '1', testing = 'n',"
        " generator = 'gen 1.0', errors = '[\"e1\"]', warnings = '[\"w1\", \"w2\"]',"
        " warnings_dropped = 1, skipped_records = 2, inbox_id = 77, source_file = 'a1.xml',"
        " source_part = 'part 2', created_at = '2026-03-11 01:02:03'"
        " WHERE tenant_id = ? AND id = ?", &s), DMARCD_OK);
    store_bind_u64(s, 0, ta);
    store_bind_u64(s, 1, rid[A1]);
    assert_int_equal(store_stmt_exec(s), DMARCD_OK);
    store_stmt_free(s);
    assert_int_equal(store_stmt_prepare(st,
        "UPDATE aggregate_records SET reasons = '[{\"type\": \"forwarded\", \"comment\": \"list\"}]',"
        " auth_results = '{\"dkim\": [{\"domain\": \"example.com\", \"selector\": \"s1\","
        " \"result\": \"pass\"}], \"spf\": []}', envelope_from = 'example.com'"
        " WHERE tenant_id = ? AND report_day = '2026-03-10' AND report_id = ? AND record_no = 1",
        &s), DMARCD_OK);
    store_bind_u64(s, 0, ta);
    store_bind_u64(s, 1, rid[A1]);
    assert_int_equal(store_stmt_exec(s), DMARCD_OK);
    store_stmt_free(s);
}

static void add_domain(const char *tenant, const char *domain)
{
    struct strbuf why;
    strbuf_init(&why, 0);
    assert_int_equal(tenant_domain_add(st, tenant, domain, "test", NULL, &why), DMARCD_OK);
    strbuf_release(&why);
}

static void load_fixture(void)
{
    struct strbuf why;
    strbuf_init(&why, 0);
    assert_int_equal(tenant_add(st, "tenant-a", NULL, "test", &ta, &why), DMARCD_OK);
    assert_int_equal(tenant_add(st, "tenant-b", NULL, "test", &tb, &why), DMARCD_OK);
    strbuf_release(&why);
    add_domain("tenant-a", "example.com");
    add_domain("tenant-a", "example.org");
    add_domain("tenant-a", "quiet.example");
    add_domain("tenant-b", "example.net");
    for (unsigned i = 0; i < NREPORTS; i++)
        rid[i] = insert_report(i);
    decorate_a1();
    must_exec("INSERT INTO daily_rollups (tenant_id, domain, report_day, source_ip, header_from,"
              " disposition, dkim, spf, messages, records)"
              " SELECT r.tenant_id, r.policy_domain, r.report_day, c.source_ip,"
              " COALESCE(c.header_from, ''), COALESCE(c.disposition, 'unknown'),"
              " COALESCE(c.dkim, 'unknown'), COALESCE(c.spf, 'unknown'),"
              " SUM(c.message_count), COUNT(*)"
              " FROM aggregate_reports r JOIN aggregate_records c ON c.tenant_id = r.tenant_id"
              " AND c.report_day = r.report_day AND c.report_id = r.id"
              " GROUP BY 1, 2, 3, 4, 5, 6, 7, 8");
}

/* ---- set-up: a fresh database ---- */

static int setup(void **state)
{
    (void)state;
    struct db_url url = admin_url;
    url.database = dbname;
    struct strbuf sql;
    strbuf_init(&sql, 0);
    (void)strbuf_addf(&sql, "CREATE DATABASE `%s` CHARACTER SET utf8mb4", dbname);
    if (store_exec_sql(admin, sql.buf) || store_open(&url, &st)) {
        strbuf_release(&sql);
        return -1;
    }
    strbuf_release(&sql);
    struct migrate_options o;
    struct migrate_result r;
    struct strbuf why;
    strbuf_init(&why, 0);
    migrate_options_default(&o);
    enum dmarcd_err rc = migrate_run(st, &o, &r, &why);
    if (rc)
        fprintf(stderr, "migrate failed: %s\n", why.buf);
    strbuf_release(&why);
    if (!rc)
        load_fixture();
    return rc ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    struct strbuf sql;
    store_close(st);
    st = NULL;
    strbuf_init(&sql, 0);
    (void)strbuf_addf(&sql, "DROP DATABASE IF EXISTS `%s`", dbname);
    enum dmarcd_err rc = store_exec_sql(admin, sql.buf);
    strbuf_release(&sql);
    return rc ? -1 : 0;
}

/* ---- helpers ---- */

static struct strbuf why;

static struct query_overview overview(uint32_t t, const char *domain, const char *from,
                                      const char *to)
{
    struct query_overview o;
    assert_int_equal(query_read_overview(st, t, domain, from, to, &o, &why), DMARCD_OK);
    return o;
}

static void assert_overview(const struct query_overview *o, const uint64_t want[12])
{
    const uint64_t got[12] = { o->messages, o->dmarc_pass, o->spf_pass, o->dkim_pass,
                               o->disp_none, o->disp_quarantine, o->disp_reject, o->disp_pass,
                               o->disp_unknown, o->sources, o->reports, o->reporters };
    for (unsigned i = 0; i < 12; i++) {
        if (got[i] != want[i])
            fail_msg("overview field %u: got %llu, want %llu", i, (unsigned long long)got[i],
                     (unsigned long long)want[i]);
    }
}

struct want_source {
    const char *ip;
    uint64_t messages, pass, fail, spf, dkim;
    const char *hf[3];
    uint64_t hf_total;
    const char *first, *last;
};

static void assert_source(const struct query_source *got, const struct want_source *w)
{
    assert_string_equal(got->ip, w->ip);
    assert_int_equal(got->messages, w->messages);
    assert_int_equal(got->dmarc_pass, w->pass);
    assert_int_equal(got->dmarc_fail, w->fail);
    assert_int_equal(got->spf_pass, w->spf);
    assert_int_equal(got->dkim_pass, w->dkim);
    assert_int_equal(got->header_from_total, w->hf_total);
    size_t n = 0;
    while (n < 3 && w->hf[n])
        n++;
    assert_int_equal(got->header_from_count, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got->header_from[i], w->hf[i]);
    assert_string_equal(got->first_day, w->first);
    assert_string_equal(got->last_day, w->last);
}

static enum dmarcd_err sources(uint32_t t, struct query_source_args *a, struct query_sources *p)
{
    return query_read_sources(st, t, a, p, &why);
}

/* Walks every page with the given limit; the ips in order, joined by ' '. */
static void walk_sources(uint32_t t, struct query_source_args a, unsigned limit,
                         struct strbuf *ips)
{
    char *cursor = NULL;
    unsigned pages = 0;
    a.limit = limit;
    strbuf_reset(ips);
    do {
        struct query_sources p;
        a.cursor = cursor;
        assert_int_equal(sources(t, &a, &p), DMARCD_OK);
        assert_true(p.count <= limit);
        assert_true(p.count == limit || !p.next_cursor);
        for (size_t i = 0; i < p.count; i++)
            (void)strbuf_addf(ips, "%s%s", ips->len ? " " : "", p.items[i].ip);
        free(cursor);
        cursor = p.next_cursor;
        p.next_cursor = NULL;
        query_sources_release(&p);
        assert_true(++pages < 20);
    } while (cursor);
}

static void walk_reports(uint32_t t, struct query_report_args a, unsigned limit,
                         uint64_t *ids, size_t *n)
{
    char *cursor = NULL;
    a.limit = limit;
    *n = 0;
    do {
        struct query_reports p;
        a.cursor = cursor;
        assert_int_equal(query_read_reports(st, t, &a, &p, &why), DMARCD_OK);
        assert_true(p.count <= limit);
        assert_true(p.count == limit || !p.next_cursor);
        for (size_t i = 0; i < p.count; i++) {
            assert_true(*n < 20);
            ids[(*n)++] = p.items[i].id;
        }
        free(cursor);
        cursor = p.next_cursor;
        p.next_cursor = NULL;
        query_reports_release(&p);
    } while (cursor);
}

static void assert_ids(const uint64_t *got, size_t n, const int *want, size_t wn)
{
    assert_int_equal(n, wn);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], rid[want[i]]);
}

/* ---- tests ---- */

static void test_bad_arguments(void **state)
{
    (void)state;
    struct query_overview o;
    struct query_timeseries ts;
    struct query_sources p;
    struct query_reports rl;
    static const char *const bad_days[] = {
        "2026-02-30", "2026-2-01", "20260201", "2026-02-01x", "", "2026-13-01", "2026-00-10",
        "0999-01-01", "2026-02-29", "2026-1a-01", " 2026-02-01", "2026-02-1",
    };
    for (size_t i = 0; i < sizeof(bad_days) / sizeof(bad_days[0]); i++) {
        assert_int_equal(query_read_overview(st, ta, NULL, bad_days[i], "2026-03-01", &o, &why),
                         DMARCD_E_INVALID);
        assert_non_null(strstr(why.buf, "invalid from date"));
        assert_int_equal(query_read_overview(st, ta, NULL, "2026-01-01", bad_days[i], &o, &why),
                         DMARCD_E_INVALID);
        assert_non_null(strstr(why.buf, "invalid to date"));
        assert_false(query_day_valid(bad_days[i]));
    }
    assert_true(query_day_valid("2028-02-29"));
    assert_true(query_day_valid("2000-02-29"));
    assert_false(query_day_valid("1900-02-29"));
    assert_int_equal(query_read_overview(st, ta, NULL, NULL, "2026-03-01", &o, &why),
                     DMARCD_E_INVALID);
    /* reversed, too long, and exactly the longest span */
    assert_int_equal(query_read_overview(st, ta, NULL, "2026-03-02", "2026-03-01", &o, &why),
                     DMARCD_E_INVALID);
    assert_string_equal(why.buf, "from 2026-03-02 is after to 2026-03-01");
    assert_int_equal(query_read_overview(st, ta, NULL, "2024-01-01", "2026-01-02", &o, &why),
                     DMARCD_E_INVALID);
    assert_non_null(strstr(why.buf, "spans 733 days; at most 731"));
    assert_int_equal(query_read_overview(st, ta, NULL, "2024-03-01", "2026-03-01", &o, &why),
                     DMARCD_OK);
    assert_int_equal(o.messages, 78);       /* A5 */
    /* domains */
    assert_int_equal(query_read_overview(st, ta, "bad domain", "2026-03-01", "2026-03-02", &o,
                                         &why), DMARCD_E_INVALID);
    assert_int_equal(query_read_overview(st, ta, ".", "2026-03-01", "2026-03-02", &o, &why),
                     DMARCD_E_INVALID);
    /* hour buckets: a month at most */
    assert_int_equal(query_read_timeseries(st, ta, NULL, "2026-03-01", "2026-04-01",
                                           QUERY_BUCKET_HOUR, &ts, &why), DMARCD_E_INVALID);
    assert_non_null(strstr(why.buf, "hour buckets cover at most 31 days"));
    assert_null(ts.items);
    assert_int_equal(query_read_timeseries(st, ta, NULL, "2026-03-01", "2026-03-01",
                                           (enum query_bucket)7, &ts, &why), DMARCD_E_INVALID);
    /* limits, ips, sort */
    struct query_source_args sa = { .from = "2026-03-01", .to = "2026-03-31",
                                    .limit = QUERY_PAGE_MAX + 1 };
    assert_int_equal(sources(ta, &sa, &p), DMARCD_E_INVALID);
    assert_non_null(strstr(why.buf, "limit 501 is over the maximum of 500"));
    sa.limit = 0;
    sa.ip = "192.0.2.256";
    assert_int_equal(sources(ta, &sa, &p), DMARCD_E_INVALID);
    assert_non_null(strstr(why.buf, "invalid ip"));
    sa.ip = NULL;
    sa.sort = (enum query_source_sort)9;
    assert_int_equal(sources(ta, &sa, &p), DMARCD_E_INVALID);
    struct query_report_args ra = { .from = "2026-03-02", .to = "2026-03-01" };
    assert_int_equal(query_read_reports(st, ta, &ra, &rl, &why), DMARCD_E_INVALID);
    ra.from = "2026-03-32";
    assert_int_equal(query_read_reports(st, ta, &ra, &rl, &why), DMARCD_E_INVALID);
    ra = (struct query_report_args){ .limit = 501 };
    assert_int_equal(query_read_reports(st, ta, &ra, &rl, &why), DMARCD_E_INVALID);
    assert_null(rl.items);
    enum query_bucket b;
    enum query_source_sort so;
    assert_true(query_bucket_parse("hour", &b) && b == QUERY_BUCKET_HOUR);
    assert_true(query_bucket_parse("day", &b) && b == QUERY_BUCKET_DAY);
    assert_false(query_bucket_parse("week", &b));
    assert_true(query_source_sort_parse("fail", &so) && so == QUERY_SOURCES_BY_FAIL);
    assert_true(query_source_sort_parse("messages", &so) && so == QUERY_SOURCES_BY_MESSAGES);
    assert_false(query_source_sort_parse(NULL, &so));
}

static void test_bad_cursors(void **state)
{
    (void)state;
    struct query_sources p;
    struct query_reports rl;
    struct query_report r;
    struct query_source_args sa = { .domain = "example.com", .from = "2026-03-10",
                                    .to = "2026-03-13" };
    static const char *const bad[] = {
        "!!!", "bXw4NHwxOTIuMC4yLjF" /* trailing bits set */, "bXw4NHwxOTIuMC4yLjE=",
        "bXwwODR8MTkyLjAuMi4x" /* m|084|... */, "bXw4NHw6OmZmZmY6MTkyLjAuMi4x" /* mapped ip */,
        "bXw4NHwyMDAxOkRCODo6NQ" /* upper-case IPv6 */, "bXw4NHwxOTIuMC4yLjF8eA" /* extra */,
        "bXwxODQ0Njc0NDA3MzcwOTU1MTYxNnwxOTIuMC4yLjE" /* 2^64 */,
        "Znw2fDIwMDE6ZGI4Ojo1" /* an order-by-fail cursor */, "cnwyMDI2LTAzLTEwfDU" /* report */,
        "Y3w1" /* record */, " bXw4NHwxOTIuMC4yLjE",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sa.cursor = bad[i];
        if (sources(ta, &sa, &p) != DMARCD_E_INVALID)
            fail_msg("cursor %s accepted", bad[i]);
        assert_non_null(strstr(why.buf, "invalid cursor"));
    }
    char longer[QUERY_CURSOR_TEXT_MAX + 2];
    memset(longer, 'A', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    sa.cursor = longer;
    assert_int_equal(sources(ta, &sa, &p), DMARCD_E_INVALID);
    /* a well-formed one by hand: after (84, 192.0.2.1) */
    sa.cursor = "bXw4NHwxOTIuMC4yLjE";
    assert_int_equal(sources(ta, &sa, &p), DMARCD_OK);
    assert_int_equal(p.count, 3);
    assert_string_equal(p.items[0].ip, "198.51.100.7");
    query_sources_release(&p);
    sa.sort = QUERY_SOURCES_BY_FAIL;
    sa.cursor = "Znw2fDIwMDE6ZGI4Ojo1";             /* after (6, 2001:db8::5) */
    assert_int_equal(sources(ta, &sa, &p), DMARCD_OK);
    assert_int_equal(p.count, 2);
    assert_string_equal(p.items[0].ip, "192.0.2.1");
    query_sources_release(&p);

    static const char *const bad_reports[] = {
        "cnwyMDI2LTAyLTMwfDU" /* 2026-02-30 */, "cnwyMDI2LTAzLTEwfDA1" /* id 05 */,
        "bXw4NHwxOTIuMC4yLjE" /* a sources cursor */, "x",
    };
    struct query_report_args ra = { 0 };
    for (size_t i = 0; i < sizeof(bad_reports) / sizeof(bad_reports[0]); i++) {
        ra.cursor = bad_reports[i];
        assert_int_equal(query_read_reports(st, ta, &ra, &rl, &why), DMARCD_E_INVALID);
    }
    static const char *const bad_records[] = {
        "Y3w0Mjk0OTY3Mjk2" /* 2^32 */, "Y3wtMQ" /* -1 */, "Y3w1AA" /* NUL */,
        "cnwyMDI2LTAzLTEwfDU",
    };
    for (size_t i = 0; i < sizeof(bad_records) / sizeof(bad_records[0]); i++) {
        assert_int_equal(query_read_report(st, ta, rid[A1], NULL, 0, bad_records[i], &r, &why),
                         DMARCD_E_INVALID);
        assert_null(r.records);
    }
    /* c|5: records after 5, none here */
    assert_int_equal(query_read_report(st, ta, rid[A1], NULL, 0, "Y3w1", &r, &why), DMARCD_OK);
    assert_int_equal(r.nrecords, 0);
    assert_null(r.next_cursor);
    query_report_release(&r);
}

static void test_overview(void **state)
{
    (void)state;
    struct query_overview o;
    /*                       msgs pass spf dkim none quar rej pass unk src rep org */
    const uint64_t a_com[] = { 145, 90, 66, 78, 90, 48, 7, 0, 0, 4, 3, 2 };
    const uint64_t a_all[] = { 166, 110, 86, 98, 110, 48, 7, 0, 1, 4, 4, 2 };
    const uint64_t a_wide[] = { 249, 193, 169, 181, 193, 48, 7, 0, 1, 5, 6, 3 };
    const uint64_t b_com[] = { 1507, 500, 500, 500, 507, 0, 1000, 0, 0, 3, 2, 1 };
    const uint64_t zero[12] = { 0 };
    const uint64_t a_0311[] = { 72, 24, 0, 24, 24, 48, 0, 0, 0, 2, 1, 1 };
    o = overview(ta, "example.com", "2026-03-10", "2026-03-13");
    assert_overview(&o, a_com);
    o = overview(ta, "EXAMPLE.com.", "2026-03-10", "2026-03-13");
    assert_overview(&o, a_com);
    o = overview(ta, NULL, "2026-03-10", "2026-03-13");
    assert_overview(&o, a_all);
    o = overview(ta, "", "2026-03-10", "2026-03-13");
    assert_overview(&o, a_all);
    o = overview(ta, NULL, "2026-02-01", "2026-03-31");
    assert_overview(&o, a_wide);
    o = overview(tb, "example.com", "2026-03-10", "2026-03-13");
    assert_overview(&o, b_com);
    /* B2's day: nothing of A's */
    o = overview(ta, "example.com", "2026-03-12", "2026-03-12");
    assert_overview(&o, zero);
    o = overview(ta, "example.com", "2026-03-11", "2026-03-11");
    assert_overview(&o, a_0311);
    o = overview(ta, "nothing.example", "2026-03-10", "2026-03-13");
    assert_overview(&o, zero);
    o = overview(9999, NULL, "2026-01-01", "2026-12-31");
    assert_overview(&o, zero);
    /* inside the caller's own transaction: theirs is used and stays open */
    assert_int_equal(store_begin(st), DMARCD_OK);
    o = overview(ta, "example.com", "2026-03-10", "2026-03-13");
    assert_overview(&o, a_com);
    assert_int_equal(store_commit(st), DMARCD_OK);
}

static void test_sources(void **state)
{
    (void)state;
    struct query_sources p;
    struct query_source_args a = { .domain = "example.com", .from = "2026-03-10",
                                   .to = "2026-03-13" };
    const struct want_source s1 = { "192.0.2.1", 84, 84, 0, 60, 72,
                                    { "example.com", "mail.example.com" }, 2,
                                    "2026-03-10", "2026-03-11" };
    const struct want_source s2 = { "198.51.100.7", 49, 0, 49, 0, 0, { "example.com" }, 1,
                                    "2026-03-11", "2026-03-13" };
    const struct want_source s3 = { "203.0.113.9", 6, 6, 0, 6, 6, { "example.com" }, 1,
                                    "2026-03-13", "2026-03-13" };
    const struct want_source s4 = { "2001:db8::5", 6, 0, 6, 0, 0, { "example.com" }, 1,
                                    "2026-03-10", "2026-03-10" };
    assert_int_equal(sources(ta, &a, &p), DMARCD_OK);
    assert_int_equal(p.count, 4);
    assert_null(p.next_cursor);
    assert_source(&p.items[0], &s1);
    assert_source(&p.items[1], &s2);
    assert_source(&p.items[2], &s3);    /* tie at 6: ::ffff:203.0.113.9 < 2001:db8::5 */
    assert_source(&p.items[3], &s4);
    query_sources_release(&p);

    a.sort = QUERY_SOURCES_BY_FAIL;
    assert_int_equal(sources(ta, &a, &p), DMARCD_OK);
    assert_int_equal(p.count, 4);
    assert_source(&p.items[0], &s2);
    assert_source(&p.items[1], &s4);
    assert_source(&p.items[2], &s1);
    assert_source(&p.items[3], &s3);
    query_sources_release(&p);

    /* every domain of the tenant: example.org adds to 192.0.2.1 and 2001:db8::5 */
    const struct want_source all1 = { "192.0.2.1", 104, 104, 0, 80, 92,
                                      { "example.com", "example.org", "mail.example.com" }, 3,
                                      "2026-03-10", "2026-03-11" };
    const struct want_source all3 = { "2001:db8::5", 7, 0, 7, 0, 0, { "example.com" }, 1,
                                      "2026-03-10", "2026-03-10" };
    a = (struct query_source_args){ .from = "2026-03-10", .to = "2026-03-13" };
    assert_int_equal(sources(ta, &a, &p), DMARCD_OK);
    assert_int_equal(p.count, 4);
    assert_source(&p.items[0], &all1);
    assert_source(&p.items[1], &s2);
    assert_source(&p.items[2], &all3);
    assert_source(&p.items[3], &s3);
    query_sources_release(&p);

    /* tenant B sees only its own numbers for the same domain and ips */
    a.domain = "example.com";
    assert_int_equal(sources(tb, &a, &p), DMARCD_OK);
    assert_int_equal(p.count, 3);
    const struct want_source b1 = { "192.0.2.1", 1000, 0, 1000, 0, 0, { "example.com" }, 1,
                                    "2026-03-10", "2026-03-10" };
    const struct want_source b2 = { "2001:db8::5", 500, 500, 0, 500, 500, { "evil.example" }, 1,
                                    "2026-03-10", "2026-03-10" };
    const struct want_source b3 = { "198.51.100.7", 7, 0, 7, 0, 0, { "example.com" }, 1,
                                    "2026-03-12", "2026-03-12" };
    assert_source(&p.items[0], &b1);
    assert_source(&p.items[1], &b2);
    assert_source(&p.items[2], &b3);
    query_sources_release(&p);
}

static void test_sources_drill_down(void **state)
{
    (void)state;
    struct query_sources p;
    struct query_source_args a = { .domain = "example.com", .from = "2026-03-10",
                                   .to = "2026-03-13", .ip = "2001:0DB8::0:5" };
    assert_int_equal(sources(ta, &a, &p), DMARCD_OK);
    assert_int_equal(p.count, 1);
    assert_string_equal(p.items[0].ip, "2001:db8::5");
    assert_int_equal(p.items[0].messages, 6);
    query_sources_release(&p);
    a.ip = "::ffff:192.0.2.1";
    assert_int_equal(sources(ta, &a, &p), DMARCD_OK);
    assert_int_equal(p.count, 1);
    assert_string_equal(p.items[0].ip, "192.0.2.1");
    assert_int_equal(p.items[0].messages, 84);
    query_sources_release(&p);
    /* 198.51.100.7 on 03-12 is tenant B's (B2) */
    a = (struct query_source_args){ .from = "2026-03-12", .to = "2026-03-12",
                                    .ip = "198.51.100.7" };
    assert_int_equal(sources(ta, &a, &p), DMARCD_OK);
    assert_int_equal(p.count, 0);
    assert_null(p.items);
    assert_null(p.next_cursor);
    query_sources_release(&p);
    /* header_from: the ten with most messages, and the total */
    a = (struct query_source_args){ .from = "2026-02-01", .to = "2026-02-01" };
    assert_int_equal(sources(ta, &a, &p), DMARCD_OK);
    assert_int_equal(p.count, 1);
    assert_string_equal(p.items[0].ip, "192.0.2.200");
    assert_int_equal(p.items[0].messages, 78);
    assert_int_equal(p.items[0].header_from_total, 12);
    assert_int_equal(p.items[0].header_from_count, QUERY_SOURCE_DOMAINS_MAX);
    for (unsigned i = 0; i < QUERY_SOURCE_DOMAINS_MAX; i++) {
        char hf[32];
        snprintf(hf, sizeof(hf), "hf%02u.example.org", i + 1);
        assert_string_equal(p.items[0].header_from[i], hf);
    }
    query_sources_release(&p);
}

static void test_sources_pagination(void **state)
{
    (void)state;
    struct strbuf ips;
    struct query_source_args a = { .domain = "example.com", .from = "2026-03-10",
                                   .to = "2026-03-13" };
    const char *by_messages = "192.0.2.1 198.51.100.7 203.0.113.9 2001:db8::5";
    const char *by_fail = "198.51.100.7 2001:db8::5 192.0.2.1 203.0.113.9";
    strbuf_init(&ips, 0);
    for (unsigned limit = 1; limit <= 5; limit++) {
        a.sort = QUERY_SOURCES_BY_MESSAGES;
        walk_sources(ta, a, limit, &ips);
        assert_string_equal(ips.buf, by_messages);
        a.sort = QUERY_SOURCES_BY_FAIL;
        walk_sources(ta, a, limit, &ips);
        assert_string_equal(ips.buf, by_fail);
    }
    /* limit 4 exactly: one page, no cursor */
    struct query_sources p;
    a.sort = QUERY_SOURCES_BY_MESSAGES;
    a.limit = 4;
    assert_int_equal(sources(ta, &a, &p), DMARCD_OK);
    assert_int_equal(p.count, 4);
    assert_null(p.next_cursor);
    query_sources_release(&p);
    /* a cursor from tenant A's page used by B is only a position */
    a.limit = 1;
    assert_int_equal(sources(ta, &a, &p), DMARCD_OK);
    char *cursor = p.next_cursor;
    p.next_cursor = NULL;
    query_sources_release(&p);
    a.cursor = cursor;
    a.limit = 0;
    assert_int_equal(sources(tb, &a, &p), DMARCD_OK);
    assert_int_equal(p.count, 1);           /* after (84, 192.0.2.1): only B's 7 */
    assert_string_equal(p.items[0].ip, "198.51.100.7");
    assert_int_equal(p.items[0].messages, 7);
    query_sources_release(&p);
    free(cursor);
    strbuf_release(&ips);
}

static void assert_point(const struct query_point *p, const char *start, int64_t epoch,
                         const uint64_t want[6])
{
    assert_string_equal(p->start, start);
    assert_int_equal(p->start_epoch, epoch);
    const uint64_t got[6] = { p->messages, p->dmarc_pass, p->spf_pass, p->dkim_pass,
                              p->quarantine, p->reject };
    for (unsigned i = 0; i < 6; i++) {
        if (got[i] != want[i])
            fail_msg("bucket %s field %u: got %llu, want %llu", start, i,
                     (unsigned long long)got[i], (unsigned long long)want[i]);
    }
}

static void test_timeseries_days(void **state)
{
    (void)state;
    struct query_timeseries ts;
    /*                     msgs pass spf dkim quar rej */
    const uint64_t zero[6] = { 0 };
    const uint64_t d10[6] = { 66, 60, 60, 48, 0, 6 };
    const uint64_t d11[6] = { 72, 24, 0, 24, 48, 0 };
    const uint64_t d13[6] = { 7, 6, 6, 6, 0, 1 };
    assert_int_equal(query_read_timeseries(st, ta, "example.com", "2026-03-09", "2026-03-14",
                                           QUERY_BUCKET_DAY, &ts, &why), DMARCD_OK);
    assert_int_equal(ts.bucket, QUERY_BUCKET_DAY);
    assert_int_equal(ts.count, 6);
    assert_point(&ts.items[0], "2026-03-09", D0310 - DAY, zero);
    assert_point(&ts.items[1], "2026-03-10", D0310, d10);
    assert_point(&ts.items[2], "2026-03-11", D0310 + DAY, d11);
    assert_point(&ts.items[3], "2026-03-12", D0312, zero);    /* B2's day stays empty */
    assert_point(&ts.items[4], "2026-03-13", D0313, d13);
    assert_point(&ts.items[5], "2026-03-14", D0313 + DAY, zero);
    query_timeseries_release(&ts);
    /* across a month end and a whole year, zero-filled */
    assert_int_equal(query_read_timeseries(st, tb, NULL, "2025-12-31", "2026-12-31",
                                           QUERY_BUCKET_DAY, &ts, &why), DMARCD_OK);
    assert_int_equal(ts.count, 366);
    assert_string_equal(ts.items[0].start, "2025-12-31");
    assert_string_equal(ts.items[1].start, "2026-01-01");
    assert_string_equal(ts.items[60].start, "2026-03-01");
    assert_string_equal(ts.items[365].start, "2026-12-31");
    uint64_t total = 0;
    for (size_t i = 0; i < ts.count; i++)
        total += ts.items[i].messages;
    assert_int_equal(total, 1507 + 5);
    assert_int_equal(ts.items[15].messages, 5);            /* 2026-01-15 */
    assert_int_equal(ts.items[69].messages, 1500);         /* 2026-03-10 */
    assert_int_equal(ts.items[71].messages, 7);            /* 2026-03-12 */
    query_timeseries_release(&ts);
}

static void test_timeseries_hours(void **state)
{
    (void)state;
    struct query_timeseries ts;
    char start[QUERY_TIME_TEXT_MAX];
    /* A1 over 03-10: 48 -> 2 an hour; 12 -> 1 in odd hours; 6 -> 1 in hours 3, 7, .., 23.
     * A2 over 03-10 12:00 .. 03-11 12:00: 24 -> 1 an hour, 48 -> 2 an hour. */
    assert_int_equal(query_read_timeseries(st, ta, "example.com", "2026-03-10", "2026-03-11",
                                           QUERY_BUCKET_HOUR, &ts, &why), DMARCD_OK);
    assert_int_equal(ts.bucket, QUERY_BUCKET_HOUR);
    assert_int_equal(ts.count, 48);
    for (unsigned k = 0; k < 48; k++) {
        uint64_t odd = k < 24 && k % 2, q3 = k < 24 && k % 4 == 3;
        uint64_t a1 = k < 24, a2 = k >= 12 && k < 36;
        uint64_t want[6] = { 2 * a1 + odd + q3 + 3 * a2, 2 * a1 + odd + a2, 2 * a1 + odd,
                             2 * a1 + a2, 2 * a2, q3 };
        assert_true(query_time_rfc3339(D0310 + (int64_t)k * HOUR, start));
        assert_point(&ts.items[k], start, D0310 + (int64_t)k * HOUR, want);
    }
    assert_string_equal(ts.items[0].start, "2026-03-10T00:00:00Z");
    assert_string_equal(ts.items[47].start, "2026-03-11T23:00:00Z");
    query_timeseries_release(&ts);

    /* clipped: only the part of A2 inside 03-11; A1 ends at 03-11 00:00 */
    assert_int_equal(query_read_timeseries(st, ta, "example.com", "2026-03-11", "2026-03-11",
                                           QUERY_BUCKET_HOUR, &ts, &why), DMARCD_OK);
    assert_int_equal(ts.count, 24);
    for (unsigned k = 0; k < 24; k++) {
        const uint64_t a2[6] = { 3, 1, 0, 1, 2, 0 }, zero[6] = { 0 };
        assert_point(&ts.items[k], ts.items[k].start, D0310 + DAY + (int64_t)k * HOUR,
                     k < 12 ? a2 : zero);
    }
    query_timeseries_release(&ts);
    /* A2 (report_day 03-11) still reaches back into 03-10 */
    assert_int_equal(query_read_timeseries(st, ta, "example.com", "2026-03-10", "2026-03-10",
                                           QUERY_BUCKET_HOUR, &ts, &why), DMARCD_OK);
    uint64_t total = 0;
    for (size_t k = 0; k < ts.count; k++)
        total += ts.items[k].messages;
    assert_int_equal(total, 66 + 36);
    query_timeseries_release(&ts);

    /* uneven: A3's 6 land one in every fourth hour, its single one in the last */
    assert_int_equal(query_read_timeseries(st, ta, "example.com", "2026-03-13", "2026-03-13",
                                           QUERY_BUCKET_HOUR, &ts, &why), DMARCD_OK);
    for (unsigned k = 0; k < 24; k++) {
        uint64_t q = k % 4 == 3, last = k == 23;
        const uint64_t want[6] = { q + last, q, q, q, 0, last };
        assert_point(&ts.items[k], ts.items[k].start, D0313 + (int64_t)k * HOUR, want);
    }
    query_timeseries_release(&ts);

    /* a whole month: every message once; tenant B's never */
    assert_int_equal(query_read_timeseries(st, ta, NULL, "2026-03-01", "2026-03-31",
                                           QUERY_BUCKET_HOUR, &ts, &why), DMARCD_OK);
    assert_int_equal(ts.count, 31 * 24);
    total = 0;
    for (size_t k = 0; k < ts.count; k++)
        total += ts.items[k].messages;
    assert_int_equal(total, 66 + 72 + 7 + 21 + 5);
    query_timeseries_release(&ts);
    assert_int_equal(query_read_timeseries(st, tb, "example.com", "2026-03-12", "2026-03-12",
                                           QUERY_BUCKET_HOUR, &ts, &why), DMARCD_OK);
    total = 0;
    for (size_t k = 0; k < ts.count; k++)
        total += ts.items[k].messages;
    assert_int_equal(total, 7);
    query_timeseries_release(&ts);

    /* a report that is an instant (end == begin) counts in its hour */
    assert_int_equal(query_read_timeseries(st, tb, "example.net", "2026-01-15", "2026-01-15",
                                           QUERY_BUCKET_HOUR, &ts, &why), DMARCD_OK);
    for (unsigned k = 0; k < 24; k++) {
        const uint64_t at10[6] = { 5, 5, 0, 5, 0, 0 }, zero[6] = { 0 };
        assert_point(&ts.items[k], ts.items[k].start, D0115 + (int64_t)k * HOUR,
                     k == 10 ? at10 : zero);
    }
    query_timeseries_release(&ts);
}

static void test_report_list(void **state)
{
    (void)state;
    uint64_t ids[20];
    size_t n;
    struct query_reports p;
    struct query_report_args a = { 0 };
    const int all[] = { A6, A3, A2, A4, A1, A5 };
    for (unsigned limit = 1; limit <= 7; limit++) {
        walk_reports(ta, a, limit, ids, &n);
        assert_ids(ids, n, all, 6);
    }
    const int b_all[] = { B2, B1, B3 };
    walk_reports(tb, a, 1, ids, &n);
    assert_ids(ids, n, b_all, 3);

    struct {
        struct query_report_args a;
        int want[6];
        size_t n;
    } cases[] = {
        { { .domain = "example.org" }, { A4, A5 }, 2 },
        { { .domain = "Example.ORG" }, { A4, A5 }, 2 },
        { { .org = "google.com" }, { A3, A4, A1 }, 3 },
        { { .org = "Mimecast" }, { A5 }, 1 },
        { { .org = "mimecast" }, { 0 }, 0 },
        { { .from = "2026-03-11" }, { A6, A3, A2 }, 3 },
        { { .to = "2026-03-10" }, { A4, A1, A5 }, 3 },
        { { .from = "2026-03-10", .to = "2026-03-10" }, { A4, A1 }, 2 },
        { { .domain = "example.com", .org = "google.com" }, { A3, A1 }, 2 },
        { { .domain = "example.net" }, { 0 }, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        walk_reports(ta, cases[i].a, 1, ids, &n);
        assert_ids(ids, n, cases[i].want, cases[i].n);
        walk_reports(ta, cases[i].a, 2, ids, &n);
        assert_ids(ids, n, cases[i].want, cases[i].n);
    }

    /* every field of two items */
    a.limit = 6;
    assert_int_equal(query_read_reports(st, ta, &a, &p, &why), DMARCD_OK);
    assert_int_equal(p.count, 6);
    assert_null(p.next_cursor);
    const struct query_report_item *it = &p.items[4];
    assert_int_equal(it->id, rid[A1]);
    assert_string_equal(it->report_day, "2026-03-10");
    assert_string_equal(it->org_name, "google.com");
    assert_string_equal(it->report_id, "g-1");
    assert_string_equal(it->policy_domain, "example.com");
    assert_int_equal(it->date_begin, D0310);
    assert_int_equal(it->date_end, D0310 + DAY);
    assert_int_equal(it->record_count, 3);
    assert_int_equal(it->message_count, 66);
    assert_string_equal(it->format, "rfc7489");
    assert_int_equal(it->warnings, 3);                 /* two stored, one dropped */
    assert_string_equal(it->policy_p, "reject");
    it = &p.items[0];
    assert_int_equal(it->id, rid[A6]);
    assert_string_equal(it->report_day, "2026-03-20");
    assert_string_equal(it->org_name, "yahoo.com");
    assert_string_equal(it->report_id, "y-2");
    assert_string_equal(it->policy_domain, "shop.example.com");
    assert_int_equal(it->date_begin, D0320);
    assert_int_equal(it->date_end, D0320 + DAY);
    assert_int_equal(it->record_count, 1);
    assert_int_equal(it->message_count, 5);
    assert_int_equal(it->warnings, 0);
    assert_null(it->policy_p);
    query_reports_release(&p);
}

static void test_report_detail(void **state)
{
    (void)state;
    struct query_report r;
    assert_int_equal(query_read_report(st, ta, rid[A1], NULL, 2, NULL, &r, &why), DMARCD_OK);
    assert_int_equal(r.id, rid[A1]);
    assert_string_equal(r.report_day, "2026-03-10");
    assert_string_equal(r.org_name, "google.com");
    assert_string_equal(r.email, "noreply-dmarc-support@google.com");
    assert_string_equal(r.extra_contact_info, "https://support.google.com/a/answer/2466580");
    assert_string_equal(r.report_id, "g-1");
    assert_int_equal(r.date_begin, D0310);
    assert_int_equal(r.date_end, D0310 + DAY);
    assert_string_equal(r.policy.domain, "example.com");
    assert_string_equal(r.policy.adkim, "r");
    assert_string_equal(r.policy.aspf, "s");
    assert_string_equal(r.policy.p, "reject");
    assert_string_equal(r.policy.sp, "quarantine");
    assert_null(r.policy.np);
    assert_int_equal(r.policy.pct, 100);
    assert_string_equal(r.policy.fo, "1");
    assert_string_equal(r.policy.testing, "n");
    assert_null(r.policy.discovery_method);
    assert_string_equal(r.format, "rfc7489");
    assert_null(r.version);
    assert_string_equal(r.generator, "gen 1.0");
    assert_string_equal(r.errors, "[\"e1\"]");
    assert_string_equal(r.warnings, "[\"w1\", \"w2\"]");
    assert_int_equal(r.warnings_dropped, 1);
    assert_int_equal(r.record_count, 3);
    assert_int_equal(r.skipped_records, 2);
    assert_int_equal(r.message_count, 66);
    assert_int_equal(r.inbox_id, 77);
    assert_string_equal(r.source_file, "a1.xml");
    assert_string_equal(r.source_part, "part 2");
    assert_string_equal(r.created_at, "2026-03-11T01:02:03Z");
    /* first page of records */
    assert_int_equal(r.nrecords, 2);
    assert_non_null(r.next_cursor);
    const struct query_record *rec = &r.records[0];
    assert_int_equal(rec->record_no, 1);
    assert_string_equal(rec->source_ip, "192.0.2.1");
    assert_int_equal(rec->messages, 48);
    assert_string_equal(rec->disposition, "none");
    assert_string_equal(rec->dkim, "pass");
    assert_string_equal(rec->spf, "pass");
    assert_string_equal(rec->reasons, "[{\"type\": \"forwarded\", \"comment\": \"list\"}]");
    assert_string_equal(rec->header_from, "example.com");
    assert_string_equal(rec->envelope_from, "example.com");
    assert_null(rec->envelope_to);
    assert_string_equal(rec->auth_results, "{\"dkim\": [{\"domain\": \"example.com\","
                                           " \"selector\": \"s1\", \"result\": \"pass\"}],"
                                           " \"spf\": []}");
    rec = &r.records[1];
    assert_int_equal(rec->record_no, 2);
    assert_int_equal(rec->messages, 12);
    assert_string_equal(rec->dkim, "fail");
    assert_string_equal(rec->header_from, "mail.example.com");
    assert_null(rec->reasons);
    assert_null(rec->auth_results);
    char *cursor = r.next_cursor;
    r.next_cursor = NULL;
    query_report_release(&r);
    /* second page, with the day hint */
    assert_int_equal(query_read_report(st, ta, rid[A1], "2026-03-10", 2, cursor, &r, &why),
                     DMARCD_OK);
    free(cursor);
    assert_int_equal(r.nrecords, 1);
    assert_null(r.next_cursor);
    assert_int_equal(r.records[0].record_no, 3);
    assert_string_equal(r.records[0].source_ip, "2001:db8::5");
    assert_int_equal(r.records[0].messages, 6);
    assert_string_equal(r.records[0].disposition, "reject");
    query_report_release(&r);

    /* absent values are NULL; created_at defaulted by the server */
    assert_int_equal(query_read_report(st, ta, rid[A4], NULL, 0, NULL, &r, &why), DMARCD_OK);
    assert_int_equal(r.nrecords, 2);
    assert_null(r.next_cursor);
    assert_null(r.email);
    assert_int_equal(r.policy.pct, -1);
    assert_string_equal(r.policy.p, "quarantine");
    assert_null(r.errors);
    assert_null(r.warnings);
    assert_int_equal(r.inbox_id, 0);
    assert_int_equal(strlen(r.created_at), 20);
    assert_int_equal(r.created_at[10], 'T');
    assert_int_equal(r.created_at[19], 'Z');
    rec = &r.records[1];
    assert_string_equal(rec->source_ip, "2001:db8::5");
    assert_null(rec->disposition);
    assert_null(rec->dkim);
    assert_null(rec->spf);
    assert_null(rec->header_from);
    query_report_release(&r);

    /* tenant walls: B's report from A is exactly a missing report */
    assert_int_equal(query_read_report(st, ta, rid[B1], NULL, 0, NULL, &r, &why),
                     DMARCD_E_NOT_FOUND);
    char expect[64];
    snprintf(expect, sizeof(expect), "report %llu not found", (unsigned long long)rid[B1]);
    assert_string_equal(why.buf, expect);
    assert_null(r.records);
    assert_int_equal(query_read_report(st, ta, rid[B1], "2026-03-10", 0, NULL, &r, &why),
                     DMARCD_E_NOT_FOUND);
    assert_int_equal(query_read_report(st, ta, rid[A6] + 1000, NULL, 0, NULL, &r, &why),
                     DMARCD_E_NOT_FOUND);
    snprintf(expect, sizeof(expect), "report %llu not found",
             (unsigned long long)(rid[A6] + 1000));
    assert_string_equal(why.buf, expect);
    assert_int_equal(query_read_report(st, tb, rid[A1], NULL, 0, NULL, &r, &why),
                     DMARCD_E_NOT_FOUND);
    /* a wrong day hint is not found either; a bad one is refused */
    assert_int_equal(query_read_report(st, ta, rid[A1], "2026-03-11", 0, NULL, &r, &why),
                     DMARCD_E_NOT_FOUND);
    assert_int_equal(query_read_report(st, ta, rid[A1], "2026-03-1", 0, NULL, &r, &why),
                     DMARCD_E_INVALID);
    assert_int_equal(query_read_report(st, ta, rid[A1], NULL, QUERY_RECORDS_MAX + 1, NULL, &r,
                                       &why), DMARCD_E_INVALID);
    /* B reads its own */
    assert_int_equal(query_read_report(st, tb, rid[B1], NULL, 0, NULL, &r, &why), DMARCD_OK);
    assert_int_equal(r.message_count, 1500);
    assert_int_equal(r.nrecords, 2);
    assert_int_equal(r.records[0].messages, 1000);
    query_report_release(&r);
    query_report_release(&r);                  /* released twice: harmless */
}

static void test_domains(void **state)
{
    (void)state;
    struct query_domains d;
    assert_int_equal(query_read_domains(st, ta, "2026-03-31", &d, &why), DMARCD_OK);
    assert_int_equal(d.count, 4);
    assert_string_equal(d.items[0].domain, "example.com");
    assert_true(d.items[0].registered);
    assert_string_equal(d.items[0].last_day, "2026-03-13");
    assert_int_equal(d.items[0].messages_recent, 145);
    assert_string_equal(d.items[1].domain, "example.org");
    assert_true(d.items[1].registered);
    assert_string_equal(d.items[1].last_day, "2026-03-10");
    assert_int_equal(d.items[1].messages_recent, 21);       /* A5 is older than 30 days */
    assert_string_equal(d.items[2].domain, "quiet.example");
    assert_true(d.items[2].registered);
    assert_string_equal(d.items[2].last_day, "");
    assert_int_equal(d.items[2].messages_recent, 0);
    assert_string_equal(d.items[3].domain, "shop.example.com");
    assert_false(d.items[3].registered);
    assert_string_equal(d.items[3].last_day, "2026-03-20");
    assert_int_equal(d.items[3].messages_recent, 5);
    query_domains_release(&d);

    assert_int_equal(query_read_domains(st, tb, "2026-03-31", &d, &why), DMARCD_OK);
    assert_int_equal(d.count, 2);
    assert_string_equal(d.items[0].domain, "example.com");
    assert_false(d.items[0].registered);
    assert_string_equal(d.items[0].last_day, "2026-03-12");
    assert_int_equal(d.items[0].messages_recent, 1507);
    assert_string_equal(d.items[1].domain, "example.net");
    assert_true(d.items[1].registered);
    assert_string_equal(d.items[1].last_day, "2026-01-15");
    assert_int_equal(d.items[1].messages_recent, 0);        /* January is not recent */
    query_domains_release(&d);

    /* two years on, only the registered domains remain, empty */
    assert_int_equal(query_read_domains(st, ta, "2028-06-01", &d, &why), DMARCD_OK);
    assert_int_equal(d.count, 3);
    for (size_t i = 0; i < d.count; i++) {
        assert_true(d.items[i].registered);
        assert_string_equal(d.items[i].last_day, "");
        assert_int_equal(d.items[i].messages_recent, 0);
    }
    query_domains_release(&d);
    /* the clock: the fixture is in the past, so nothing is recent */
    assert_int_equal(query_read_domains(st, ta, NULL, &d, &why), DMARCD_OK);
    assert_true(d.count >= 3);
    for (size_t i = 0; i < d.count; i++)
        assert_int_equal(d.items[i].messages_recent, 0);
    query_domains_release(&d);
    assert_int_equal(query_read_domains(st, ta, "tomorrow", &d, &why), DMARCD_E_INVALID);
    assert_int_equal(query_read_domains(st, 9999, "2026-03-31", &d, &why), DMARCD_OK);
    assert_int_equal(d.count, 0);
    query_domains_release(&d);
}

static void test_time_format(void **state)
{
    (void)state;
    char out[QUERY_TIME_TEXT_MAX];
    assert_true(query_time_rfc3339(0, out));
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    assert_true(query_time_rfc3339(D0310 + 13 * HOUR + 4 * 60 + 5, out));
    assert_string_equal(out, "2026-03-10T13:04:05Z");
    assert_true(query_time_rfc3339(-1, out));
    assert_string_equal(out, "1969-12-31T23:59:59Z");
    assert_true(query_time_rfc3339(951782400, out));       /* leap day */
    assert_string_equal(out, "2000-02-29T00:00:00Z");
    assert_true(query_time_rfc3339(253402300799LL, out));
    assert_string_equal(out, "9999-12-31T23:59:59Z");
    assert_false(query_time_rfc3339(253402300800LL, out));
    assert_string_equal(out, "");
    assert_true(query_time_rfc3339(-62167219200LL, out));
    assert_string_equal(out, "0000-01-01T00:00:00Z");
    assert_false(query_time_rfc3339(-62167219201LL, out));
    assert_false(query_time_rfc3339(INT64_MIN, out));
    assert_false(query_time_rfc3339(INT64_MAX, out));
    assert_false(query_time_rfc3339(D0310 * 1000, out));   /* milliseconds */
}

int main(void)
{
    const char *text = getenv("DMARCD_DATABASE_URL");
    if (!text || !*text) {
        printf("DMARCD_DATABASE_URL unset: skipped (scripts/test.sh starts a database)\n");
        return SKIP_STATUS;
    }
    log_set_level(LOG_LEVEL_WARN);
    if (db_url_parse(text, &admin_url, NULL) || store_open(&admin_url, &admin)) {
        fprintf(stderr, "cannot connect with DMARCD_DATABASE_URL\n");
        return 1;
    }
    unsigned rnd = 0;
    if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
        rnd = (unsigned)getpid() * 2654435761u;
    snprintf(dbname, sizeof(dbname), "dmarc_test_q%ld_%08x", (long)getpid(), rnd);
    strbuf_init(&why, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments),      cmocka_unit_test(test_bad_cursors),
        cmocka_unit_test(test_overview),           cmocka_unit_test(test_sources),
        cmocka_unit_test(test_sources_drill_down), cmocka_unit_test(test_sources_pagination),
        cmocka_unit_test(test_timeseries_days),    cmocka_unit_test(test_timeseries_hours),
        cmocka_unit_test(test_report_list),        cmocka_unit_test(test_report_detail),
        cmocka_unit_test(test_domains),            cmocka_unit_test(test_time_format),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    strbuf_release(&why);
    store_close(admin);
    db_url_release(&admin_url);
    return failed ? 1 : 0;
}
