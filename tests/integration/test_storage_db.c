/*
 * test_storage_db.c - storage/ against a real MariaDB: prepared-statement
 * helpers, INET6 round trips, transactions, tenants and domains with their
 * refusals, longest-suffix domain routing, audit rows, partition
 * maintenance and the report_key unique key.
 *
 * Needs DMARCD_DATABASE_URL (scripts/test.sh and scripts/services.sh set
 * it); without it the program exits 77, which ctest reports as skipped.
 * It creates its own database dmarc_test_c<pid>_<random> with the URL's
 * credentials, migrates it (without partitions: those are tested
 * directly) and drops it at the end.
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
#include "lib/xalloc.h"
#include "storage/inet.h"
#include "storage/migrate.h"
#include "storage/partitions.h"
#include "storage/stmt.h"
#include "storage/store.h"
#include "storage/tenants.h"
#include "lib/banned.h"

#define SKIP_STATUS 77

static struct db_url admin_url;
static struct store *admin;
static struct store *st;
static char dbname[64];

/* ---- small helpers ---- */

static uint64_t query_u64(const char *sql, const char *param)
{
    struct store_stmt *s = NULL;
    bool row = false;
    assert_int_equal(store_stmt_prepare(st, sql, &s), DMARCD_OK);
    if (param)
        store_bind_str(s, 0, param);
    assert_int_equal(store_stmt_exec(s), DMARCD_OK);
    assert_int_equal(store_stmt_fetch(s, &row), DMARCD_OK);
    assert_true(row);
    uint64_t v = store_col_u64(s, 0);
    store_stmt_free(s);
    return v;
}

static void must_exec(const char *sql)
{
    assert_int_equal(store_exec_sql(st, sql), DMARCD_OK);
}

static uint32_t route(const char *domain)
{
    uint32_t id = 12345;
    enum dmarcd_err rc = store_route_domain(st, domain, &id);
    if (rc) {
        assert_int_equal(rc, DMARCD_E_UNKNOWN_DOMAIN);
        assert_int_equal(id, 0);
        return 0;
    }
    return id;
}

static uint32_t add_tenant(const char *name)
{
    uint32_t id = 0;
    struct strbuf why;
    strbuf_init(&why, 0);
    assert_int_equal(tenant_add(st, name, NULL, "test", &id, &why), DMARCD_OK);
    strbuf_release(&why);
    assert_true(id > 0);
    return id;
}

static void add_domain(const char *tenant, const char *domain)
{
    struct strbuf why;
    strbuf_init(&why, 0);
    assert_int_equal(tenant_domain_add(st, tenant, domain, "test", NULL, &why), DMARCD_OK);
    strbuf_release(&why);
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
    o.partitions = false;
    enum dmarcd_err rc = migrate_run(st, &o, &r, &why);
    if (rc)
        fprintf(stderr, "migrate failed: %s\n", why.buf);
    strbuf_release(&why);
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

/* ---- tests ---- */

static void test_statement_helpers(void **state)
{
    (void)state;
    struct store_stmt *s = NULL;
    bool row;
    assert_int_equal(store_stmt_prepare(st, "SELECT ?, ?, ?, ?, REPEAT('x', ?), ?", &s), DMARCD_OK);
    store_bind_i64(s, 0, -42);
    store_bind_u64(s, 1, UINT64_MAX);
    store_bind_str(s, 2, "h\xc3\xa9llo 'quoted'; DROP TABLE tenants");
    store_bind_null(s, 3);
    store_bind_u64(s, 4, 100000);
    store_bind_bytes(s, 5, "a\0b", 3);
    assert_int_equal(store_stmt_exec(s), DMARCD_OK);
    assert_int_equal(store_stmt_fetch(s, &row), DMARCD_OK);
    assert_true(row);
    assert_int_equal(store_col_i64(s, 0), -42);
    assert_true(store_col_u64(s, 1) == UINT64_MAX);
    assert_string_equal(store_col_str(s, 2), "h\xc3\xa9llo 'quoted'; DROP TABLE tenants");
    assert_true(store_col_is_null(s, 3));
    assert_null(store_col_str(s, 3));
    assert_int_equal(store_col_len(s, 4), 100000);
    assert_int_equal(store_col_len(s, 5), 3);
    assert_memory_equal(store_col_str(s, 5), "a\0b", 3);
    assert_int_equal(store_stmt_fetch(s, &row), DMARCD_OK);
    assert_false(row);
    store_stmt_free(s);
    store_stmt_free(NULL);
    /* a broken statement is a permanent database error */
    assert_int_equal(store_stmt_prepare(st, "SELEKT 1", &s), DMARCD_E_DB);
    assert_null(s);
    /* the session is UTC */
    assert_int_equal(query_u64("SELECT TIMESTAMPDIFF(SECOND, NOW(), UTC_TIMESTAMP()) = 0", NULL), 1);
}

static void test_inet6_column(void **state)
{
    (void)state;
    struct store_stmt *s = NULL;
    char db[STORE_INET6_TEXT_MAX], back[STORE_INET6_TEXT_MAX];
    bool row;
    must_exec("CREATE TABLE t_ip (id INT NOT NULL PRIMARY KEY, ip INET6 NOT NULL)");
    assert_int_equal(store_stmt_prepare(st, "INSERT INTO t_ip VALUES (?, ?)", &s), DMARCD_OK);
    const char *ips[] = { "192.0.2.1", "2001:db8::1", "10.0.0.255" };
    for (unsigned i = 0; i < 3; i++) {
        assert_true(store_inet6_from_ip(ips[i], db));
        store_bind_u64(s, 0, i);
        store_bind_str(s, 1, db);
        assert_int_equal(store_stmt_exec(s), DMARCD_OK);
    }
    /* a bare IPv4 string is what INET6 refuses: the reason for inet.c */
    store_bind_u64(s, 0, 9);
    store_bind_str(s, 1, "192.0.2.9");
    assert_int_equal(store_stmt_exec(s), DMARCD_E_DB);
    assert_non_null(strstr(store_last_error(st), "withheld"));
    store_stmt_free(s);
    assert_int_equal(store_stmt_prepare(st, "SELECT ip FROM t_ip ORDER BY id", &s), DMARCD_OK);
    assert_int_equal(store_stmt_exec(s), DMARCD_OK);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(store_stmt_fetch(s, &row), DMARCD_OK);
        assert_true(row);
        assert_true(store_inet6_to_ip(store_col_str(s, 0), back));
        assert_string_equal(back, ips[i]);
    }
    store_stmt_free(s);
    /* IPv4 CIDR as one range of the INET6 order */
    assert_int_equal(query_u64("SELECT COUNT(*) FROM t_ip WHERE ip BETWEEN '::ffff:10.0.0.0'"
                               " AND '::ffff:10.0.0.255'", NULL), 1);
}

static void test_transactions(void **state)
{
    (void)state;
    assert_int_equal(store_begin(st), DMARCD_OK);
    assert_int_equal(store_begin(st), DMARCD_E_INTERNAL);
    must_exec("INSERT INTO tenants (name) VALUES ('rolled-back')");
    store_rollback(st);
    assert_int_equal(query_u64("SELECT COUNT(*) FROM tenants WHERE name = ?", "rolled-back"), 0);
    assert_int_equal(store_begin(st), DMARCD_OK);
    must_exec("INSERT INTO tenants (name) VALUES ('committed')");
    assert_int_equal(store_commit(st), DMARCD_OK);
    assert_int_equal(query_u64("SELECT COUNT(*) FROM tenants WHERE name = ?", "committed"), 1);
    assert_int_equal(store_commit(st), DMARCD_E_INTERNAL);
    store_rollback(st);     /* nothing open: no-op */
    store_rollback(NULL);
}

static void test_tenant_refusals(void **state)
{
    (void)state;
    struct strbuf why;
    uint32_t id;
    bool already;
    strbuf_init(&why, 0);
    add_tenant("alpha");
    add_tenant("beta");
    assert_int_equal(tenant_add(st, "alpha", "advanced", "test", &id, &why), DMARCD_E_INVALID);
    assert_string_equal(why.buf, "tenant alpha already exists");
    assert_int_equal(tenant_add(st, "Alpha", NULL, "test", &id, &why), DMARCD_E_INVALID);
    assert_non_null(strstr(why.buf, "invalid tenant name"));
    assert_int_equal(tenant_add(st, "gamma", "gold", "test", &id, &why), DMARCD_E_INVALID);
    assert_non_null(strstr(why.buf, "invalid tier"));
    add_domain("alpha", "Alpha.Example.");
    assert_int_equal(tenant_domain_add(st, "beta", "alpha.example", "test", NULL, &why),
                     DMARCD_E_INVALID);
    assert_non_null(strstr(why.buf, "belongs to another tenant (alpha)"));
    assert_int_equal(tenant_domain_add(st, "alpha", "alpha.example", "test", NULL, &why),
                     DMARCD_E_INVALID);
    assert_non_null(strstr(why.buf, "already belongs to tenant alpha"));
    assert_int_equal(tenant_domain_add(st, "nobody", "x.example", "test", NULL, &why),
                     DMARCD_E_NOT_FOUND);
    assert_int_equal(tenant_domain_add(st, "alpha", "not a domain", "test", NULL, &why),
                     DMARCD_E_INVALID);
    assert_int_equal(tenant_cancel(st, "beta", "test", &already, &why), DMARCD_OK);
    assert_false(already);
    assert_int_equal(tenant_cancel(st, "beta", "test", &already, &why), DMARCD_OK);
    assert_true(already);
    assert_int_equal(tenant_cancel(st, "nobody", "test", &already, &why), DMARCD_E_NOT_FOUND);
    assert_int_equal(tenant_domain_add(st, "beta", "beta.example", "test", NULL, &why),
                     DMARCD_E_INVALID);
    assert_non_null(strstr(why.buf, "cancelled"));
    /* one audit row per change that happened, none for refusals */
    assert_int_equal(query_u64("SELECT COUNT(*) FROM audit_log WHERE actor = ?", "test"), 4);
    assert_int_equal(query_u64("SELECT COUNT(*) FROM audit_log WHERE action = 'tenant.add'"
                               " AND JSON_VALUE(detail, '$.tier') = ?", "basic"), 2);
    struct tenant_infos tl;
    assert_int_equal(tenant_list(st, &tl), DMARCD_OK);
    assert_int_equal(tl.count, 3);          /* alpha, beta, committed */
    assert_string_equal(tl.items[0].name, "alpha");
    assert_int_equal(tl.items[0].domains, 1);
    assert_string_equal(tl.items[1].status, "cancelled");
    assert_true(strlen(tl.items[1].cancelled_at) == 19);
    tenant_infos_release(&tl);
    strbuf_release(&why);
}

static void test_route_longest_suffix(void **state)
{
    (void)state;
    uint32_t acme = add_tenant("acme"), sub = add_tenant("subsidiary"), gone = add_tenant("gone");
    add_domain("acme", "example.com");
    add_domain("acme", "example.org");
    add_domain("subsidiary", "eu.example.com");
    add_domain("gone", "gone.example");
    assert_int_equal(route("example.com"), acme);
    assert_int_equal(route("EXAMPLE.com."), acme);
    assert_int_equal(route("mail.example.com"), acme);
    assert_int_equal(route("a.b.c.d.example.com"), acme);
    assert_int_equal(route("eu.example.com"), sub);
    assert_int_equal(route("mail.eu.example.com"), sub);
    assert_int_equal(route("xeu.example.com"), acme);
    assert_int_equal(route("badexample.com"), 0);
    assert_int_equal(route("example.com.evil"), 0);
    assert_int_equal(route("com"), 0);
    assert_int_equal(route(""), 0);
    assert_int_equal(route("not a domain"), 0);
    assert_int_equal(route("gone.example"), gone);
    bool already;
    struct strbuf why;
    strbuf_init(&why, 0);
    assert_int_equal(tenant_cancel(st, "gone", "test", &already, &why), DMARCD_OK);
    strbuf_release(&why);
    assert_int_equal(route("gone.example"), 0);
    assert_int_equal(route("www.gone.example"), 0);

    struct tenant_domain_infos dl;
    strbuf_init(&why, 0);
    assert_int_equal(tenant_domain_list(st, "acme", &dl, &why), DMARCD_OK);
    assert_int_equal(dl.count, 2);
    assert_string_equal(dl.items[0].domain, "example.com");
    tenant_domain_infos_release(&dl);
    assert_int_equal(tenant_domain_list(st, "nobody", &dl, &why), DMARCD_E_NOT_FOUND);
    assert_int_equal(tenant_domain_list(st, NULL, &dl, &why), DMARCD_OK);
    assert_true(dl.count >= 4);
    tenant_domain_infos_release(&dl);
    strbuf_release(&why);
}

static uint64_t partitions_of(const char *table)
{
    return query_u64("SELECT COUNT(*) FROM information_schema.PARTITIONS"
                     " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", table);
}

static void test_partitions(void **state)
{
    (void)state;
    unsigned added = 0;
    assert_int_equal(partitions_of("aggregate_records"), 1);   /* p_max only */
    assert_int_equal(store_partitions_ensure(st, 2026, 11, 2, 1, &added), DMARCD_OK);
    assert_int_equal(added, 4 * 4);     /* 2026-09 .. 2026-12 on four tables */
    assert_int_equal(partitions_of("aggregate_records"), 5);
    assert_int_equal(store_partitions_ensure(st, 2026, 11, 2, 1, &added), DMARCD_OK);
    assert_int_equal(added, 0);
    /* two months later: only what is missing, contiguous from the top */
    assert_int_equal(store_partitions_ensure(st, 2027, 1, 2, 1, &added), DMARCD_OK);
    assert_int_equal(added, 4 * 2);     /* 2027-01, 2027-02 */
    assert_int_equal(query_u64("SELECT COUNT(*) FROM information_schema.PARTITIONS"
                               " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"
                               " AND PARTITION_NAME IN ('p202609', 'p202702', 'p_max')",
                               "daily_rollups"), 3);
    /* rows land by report_day; far past and far future have a home */
    must_exec("INSERT INTO daily_rollups (tenant_id, domain, report_day, source_ip, disposition,"
              " dkim, spf, messages, records) VALUES"
              " (1, 'example.com', '2001-01-01', '::ffff:192.0.2.1', 'none', 'pass', 'fail', 5, 1),"
              " (1, 'example.com', '2026-10-15', '::ffff:192.0.2.1', 'none', 'pass', 'fail', 5, 1),"
              " (1, 'example.com', '2099-01-01', '2001:db8::1', 'unknown', 'unknown', 'unknown', 1, 1)");
    assert_int_equal(query_u64("SELECT COUNT(*) FROM daily_rollups PARTITION (p202609)", NULL), 1);
    assert_int_equal(query_u64("SELECT COUNT(*) FROM daily_rollups PARTITION (p202610)", NULL), 1);
    assert_int_equal(query_u64("SELECT COUNT(*) FROM daily_rollups PARTITION (p_max)", NULL), 1);
    /* the roll-up key makes INSERT ... ON DUPLICATE KEY UPDATE accumulate */
    must_exec("INSERT INTO daily_rollups (tenant_id, domain, report_day, source_ip, disposition,"
              " dkim, spf, messages, records) VALUES"
              " (1, 'example.com', '2026-10-15', '::ffff:192.0.2.1', 'none', 'pass', 'fail', 7, 1)"
              " ON DUPLICATE KEY UPDATE messages = messages + VALUES(messages),"
              " records = records + VALUES(records)");
    assert_int_equal(query_u64("SELECT messages FROM daily_rollups WHERE report_day = ?",
                               "2026-10-15"), 12);
}

static void test_report_key_unique(void **state)
{
    (void)state;
    struct store_stmt *s = NULL;
    bool dup = true;
    uint8_t key[32];
    memset(key, 0xab, sizeof(key));
    assert_int_equal(store_stmt_prepare(st,
                                        "INSERT INTO aggregate_reports (tenant_id, report_day,"
                                        " report_key, policy_domain, date_begin, date_end,"
                                        " format) VALUES (?, ?, ?, ?, ?, ?, 'rfc7489')", &s),
                     DMARCD_OK);
    store_bind_u64(s, 0, 1);
    store_bind_str(s, 1, "2026-11-15");
    store_bind_bytes(s, 2, key, sizeof(key));
    store_bind_str(s, 3, "example.com");
    store_bind_i64(s, 4, 1763164800);
    store_bind_i64(s, 5, 1763251199);
    assert_int_equal(store_stmt_exec_dup(s, &dup), DMARCD_OK);
    assert_false(dup);
    assert_true(store_stmt_insert_id(s) > 0);
    assert_int_equal(store_stmt_exec_dup(s, &dup), DMARCD_OK);
    assert_true(dup);       /* the same report again: stored once */
    store_bind_u64(s, 0, 2);
    assert_int_equal(store_stmt_exec_dup(s, &dup), DMARCD_OK);
    assert_false(dup);      /* another tenant may receive the same report */
    store_stmt_free(s);
}

static void test_broken_connection(void **state)
{
    (void)state;
    struct db_url url = admin_url;
    struct store *victim = NULL;
    url.database = dbname;
    assert_int_equal(store_open(&url, &victim), DMARCD_OK);
    struct store_stmt *s = NULL;
    bool row;
    assert_int_equal(store_stmt_prepare(victim, "SELECT CONNECTION_ID()", &s), DMARCD_OK);
    assert_int_equal(store_stmt_exec(s), DMARCD_OK);
    assert_int_equal(store_stmt_fetch(s, &row), DMARCD_OK);
    uint64_t conn = store_col_u64(s, 0);
    store_stmt_free(s);
    struct store_stmt *k = NULL;
    assert_int_equal(store_stmt_prepare(st, "KILL CONNECTION ?", &k), DMARCD_OK);
    store_bind_u64(k, 0, conn);
    assert_int_equal(store_stmt_exec(k), DMARCD_OK);
    store_stmt_free(k);
    enum dmarcd_err rc = store_exec_sql(victim, "SELECT 1");
    assert_int_equal(rc, DMARCD_E_DB_UNAVAILABLE);
    assert_true(dmarcd_err_is_transient(rc));
    /* and it stays so until reopened */
    assert_int_equal(store_begin(victim), DMARCD_E_DB_UNAVAILABLE);
    store_close(victim);
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
    snprintf(dbname, sizeof(dbname), "dmarc_test_c%ld_%08x", (long)getpid(), rnd);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statement_helpers), cmocka_unit_test(test_inet6_column),
        cmocka_unit_test(test_transactions),      cmocka_unit_test(test_tenant_refusals),
        cmocka_unit_test(test_route_longest_suffix), cmocka_unit_test(test_partitions),
        cmocka_unit_test(test_report_key_unique), cmocka_unit_test(test_broken_connection),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    store_close(admin);
    db_url_release(&admin_url);
    return failed ? 1 : 0;
}
