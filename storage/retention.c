/*
 * retention.c - `dmarcd retention` (see retention.h).
 *
 * Which tables hold what is read from information_schema at each run, not
 * listed here: a table with tenant_id and report_day columns is report
 * data under the tier horizons; any table with a tenant_id column is
 * purged with its tenant; foreign keys decide the order (rows that point
 * at others go first). So a table a later migration adds is covered the
 * day it exists. Table and column names come from the server and must be
 * [a-z0-9_] before they are quoted into SQL text; values are bound.
 *
 * Deleting is `DELETE ... LIMIT n` until fewer than n rows go: each
 * statement is its own transaction (autocommit) and stops after n rows,
 * so locks are held for one batch at a time. The tenant-first keys of
 * every per-tenant table make each batch a range read.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/partitions.h"
#include "storage/retention.h"
#include "storage/stmt.h"
#include "lib/banned.h"

#define LOG_TABLE "retention_log"
/* Seconds a partition drop waits for the table's metadata lock. */
#define DROP_LOCK_WAIT_S 5

static const char *const TIER_NAMES[RETENTION_TIERS] = { "basic", "basic-plus", "advanced",
                                                         "enterprise" };

void retention_options_default(struct retention_options *o)
{
    memset(o, 0, sizeof(*o));
    o->months[RETENTION_BASIC] = 3;
    o->months[RETENTION_BASIC_PLUS] = 3;
    o->months[RETENTION_ADVANCED] = 12;
    o->months[RETENTION_ENTERPRISE] = 24;
    o->inbox_days = 7;
    o->quarantine_days = 90;
    o->audit_days = 365;
    o->batch_rows = 5000;
    o->drop_partitions = true;
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(o->today, sizeof(o->today), "%Y-%m-%d", &tm);
}

bool retention_tier_parse(const char *name, enum retention_tier *out)
{
    for (unsigned i = 0; name && i < RETENTION_TIERS; i++) {
        if (strcmp(name, TIER_NAMES[i]) == 0) {
            *out = (enum retention_tier)i;
            return true;
        }
    }
    return false;
}

/* ---- dates ---- */

static int days_in_month(int y, int m)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

enum dmarcd_err retention_cutoff(const char *today, unsigned months, unsigned days,
                                 char out[11])
{
    int y, m, d;
    char tail;
    if (!today || sscanf(today, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1001 ||
        y > 9999 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m) || strlen(today) != 10)
        return DMARCD_E_INVALID;
    long mi = (long)y * 12 + (m - 1) - (long)months;
    y = (int)(mi / 12);
    m = (int)(mi % 12) + 1;
    if (d > days_in_month(y, m))
        d = days_in_month(y, m);
    struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12 };
    time_t t = timegm(&tm) - (time_t)days * 86400;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 1000 ||
        !strftime(out, 11, "%Y-%m-%d", &tm))
        return DMARCD_E_INVALID;
    return DMARCD_OK;
}

/* ---- the tables, from information_schema ---- */

struct table {
    char *name;
    bool report;                /* tenant_id and report_day */
    bool tenant;                /* tenant_id */
    bool has_id;                /* an id column: rows others point at */
};

struct fk {
    char *child, *column, *parent;
};

struct schema {
    struct table *tables;
    size_t ntables;
    struct fk *fks;
    size_t nfks;
    bool users;                 /* users and user_tenants exist */
    bool user_operator;         /* users.is_operator exists */
};

static bool name_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    }
    return true;
}

static void schema_release(struct schema *sc)
{
    for (size_t i = 0; i < sc->ntables; i++)
        free(sc->tables[i].name);
    for (size_t i = 0; i < sc->nfks; i++) {
        free(sc->fks[i].child);
        free(sc->fks[i].column);
        free(sc->fks[i].parent);
    }
    free(sc->tables);
    free(sc->fks);
    memset(sc, 0, sizeof(*sc));
}

static enum dmarcd_err read_tables(struct store *st, struct schema *sc)
{
    struct store_stmt *s = NULL;
    bool row;
    enum dmarcd_err rc = store_stmt_prepare(
        st,
        "SELECT TABLE_NAME, SUM(COLUMN_NAME = 'tenant_id'), SUM(COLUMN_NAME = 'report_day'),"
        " SUM(COLUMN_NAME = 'id'), SUM(TABLE_NAME = 'users' AND COLUMN_NAME = 'is_operator')"
        " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
        " GROUP BY TABLE_NAME ORDER BY TABLE_NAME",
        &s);
    if (!rc)
        rc = store_stmt_exec(s);
    bool users = false, user_tenants = false;
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        const char *name = store_col_str(s, 0);
        if (!name_ok(name))
            continue;
        users = users || strcmp(name, "users") == 0;
        user_tenants = user_tenants || strcmp(name, "user_tenants") == 0;
        if (store_col_u64(s, 4))
            sc->user_operator = true;
        if (!store_col_u64(s, 1) || strcmp(name, LOG_TABLE) == 0)
            continue;
        sc->tables = xreallocarray(sc->tables, sc->ntables + 1, sizeof(*sc->tables));
        struct table *t = &sc->tables[sc->ntables++];
        t->name = xstrdup(name);
        t->tenant = true;
        t->report = store_col_u64(s, 2) != 0;
        t->has_id = store_col_u64(s, 3) != 0;
    }
    sc->users = users && user_tenants;
    store_stmt_free(s);
    return rc;
}

static enum dmarcd_err read_fks(struct store *st, struct schema *sc)
{
    struct store_stmt *s = NULL;
    bool row;
    enum dmarcd_err rc = store_stmt_prepare(
        st,
        "SELECT TABLE_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME"
        " FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE()"
        " AND REFERENCED_TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL",
        &s);
    if (!rc)
        rc = store_stmt_exec(s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        const char *child = store_col_str(s, 0), *col = store_col_str(s, 1),
                   *parent = store_col_str(s, 2);
        if (!name_ok(child) || !name_ok(col) || !name_ok(parent))
            continue;
        sc->fks = xreallocarray(sc->fks, sc->nfks + 1, sizeof(*sc->fks));
        struct fk *f = &sc->fks[sc->nfks++];
        f->child = xstrdup(child);
        f->column = xstrdup(col);
        f->parent = xstrdup(parent);
    }
    store_stmt_free(s);
    return rc;
}

/* True when a table not yet done has a foreign key to table t. */
static bool referenced(const struct schema *sc, const char *t, const bool *done)
{
    for (size_t i = 0; i < sc->nfks; i++) {
        if (strcmp(sc->fks[i].parent, t) != 0 || strcmp(sc->fks[i].child, t) == 0)
            continue;
        for (size_t j = 0; j < sc->ntables; j++) {
            if (!done[j] && strcmp(sc->tables[j].name, sc->fks[i].child) == 0)
                return true;
        }
    }
    return false;
}

/*
 * Orders the tables so that a table comes after every table whose rows
 * point at it: foreign keys first, then tables without an id column (rows
 * that name a report by its id) before tables with one.
 */
static void order_tables(struct schema *sc)
{
    size_t n = sc->ntables, k = 0;
    bool *done = xcalloc(n ? n : 1, sizeof(bool));
    struct table *out = xcalloc(n ? n : 1, sizeof(*out));
    for (int pass = 0; k < n && pass < 2 * (int)n + 2; pass++) {
        bool ids = pass % 2 == 1;   /* alternate: children without ids, then with */
        for (size_t i = 0; i < n; i++) {
            if (done[i] || sc->tables[i].has_id != ids || referenced(sc, sc->tables[i].name, done))
                continue;
            done[i] = true;
            out[k++] = sc->tables[i];
        }
    }
    for (size_t i = 0; i < n; i++) { /* cycles, if any: last, in name order */
        if (!done[i])
            out[k++] = sc->tables[i];
    }
    free(sc->tables);
    sc->tables = out;
    free(done);
}

static enum dmarcd_err read_schema(struct store *st, struct schema *sc)
{
    memset(sc, 0, sizeof(*sc));
    enum dmarcd_err rc = read_tables(st, sc);
    if (!rc)
        rc = read_fks(st, sc);
    if (!rc)
        order_tables(sc);
    else
        schema_release(sc);
    return rc;
}

/* ---- a run ---- */

struct run {
    struct store *st;
    const struct retention_options *o;
    struct retention_result *res;
    struct schema sc;
    char started[32];           /* "YYYY-MM-DD HH:MM:SS.mmm", UTC */
    json_t *detail;             /* {"table": rows} of the step in progress */
    uint64_t step_rows;
    /* The tenants purged by this run: a dry run, where their rows are all
     * still there, leaves them out of the later steps so nothing counts twice. */
    uint32_t *purged;
    size_t npurged;
};

static void report(struct run *r, const struct retention_event *e)
{
    if (e->estimate)
        r->res->partition_rows += e->rows;
    else
        r->res->rows += e->rows;
    r->step_rows += e->rows;
    if (e->rows && e->table) {
        json_t *v = json_object_get(r->detail, e->table);
        uint64_t before = v ? (uint64_t)json_integer_value(v) : 0;
        json_object_set_new(r->detail, e->table, json_integer((json_int_t)(before + e->rows)));
    }
    if ((e->rows || e->partition) && r->o->report)
        r->o->report(r->o->ctx, e);
}

static void step_begin(struct run *r)
{
    json_decref(r->detail);
    r->detail = json_object();
    r->step_rows = 0;
}

/* One retention_log row for the step just done (not in a dry run). */
static enum dmarcd_err step_log(struct run *r, const char *action, uint32_t tenant,
                                const char *tier, const char *cutoff, bool always)
{
    struct store_stmt *s = NULL;
    if (r->o->dry_run || (!r->step_rows && !always))
        return DMARCD_OK;
    char *detail = json_dumps(r->detail, JSON_COMPACT | JSON_SORT_KEYS);
    if (!detail)
        dmarcd_die("json_dumps: out of memory");
    enum dmarcd_err rc = store_stmt_prepare(
        r->st,
        "INSERT INTO " LOG_TABLE " (run_started_at, at, action, tenant_id, tier, cutoff,"
        " rows_removed, detail) VALUES (?, UTC_TIMESTAMP(3), ?, ?, ?, ?, ?, ?)",
        &s);
    if (!rc) {
        store_bind_str(s, 0, r->started);
        store_bind_str(s, 1, action);
        if (tenant)
            store_bind_u64(s, 2, tenant);
        else
            store_bind_null(s, 2);
        store_bind_str(s, 3, tier);
        store_bind_str(s, 4, cutoff);
        store_bind_u64(s, 5, r->step_rows);
        store_bind_str(s, 6, detail);
        rc = store_stmt_exec(s);
    }
    store_stmt_free(s);
    free(detail);
    return rc;
}

/* A WHERE clause and its values: the numbers, then the text, in order. */
struct cond {
    const char *where;
    uint64_t num[2];
    unsigned nnum;
    const char *text;
};

static void bind_cond(struct store_stmt *s, const struct cond *c)
{
    unsigned i = 0;
    for (; i < c->nnum; i++)
        store_bind_u64(s, i, c->num[i]);
    if (c->text)
        store_bind_str(s, i, c->text);
}

/* Deletes the rows of table matching c in batches (a dry run counts
 * them); *n receives how many. */
static enum dmarcd_err remove_rows(struct run *r, const char *table, const struct cond *c,
                                   uint64_t *n)
{
    struct store_stmt *s = NULL;
    struct strbuf sql;
    bool row = false;
    *n = 0;
    strbuf_init(&sql, 0);
    if (r->o->dry_run)
        (void)strbuf_addf(&sql, "SELECT COUNT(*) FROM `%s` WHERE %s", table, c->where);
    else
        (void)strbuf_addf(&sql, "DELETE FROM `%s` WHERE %s LIMIT %u", table, c->where,
                          r->o->batch_rows);
    enum dmarcd_err rc = store_stmt_prepare(r->st, sql.buf, &s);
    if (!rc && r->o->dry_run) {
        bind_cond(s, c);
        if (!(rc = store_stmt_exec(s)) && !(rc = store_stmt_fetch(s, &row)) && row)
            *n = store_col_u64(s, 0);
    }
    for (uint64_t got = r->o->batch_rows; !rc && !r->o->dry_run && got == r->o->batch_rows;) {
        bind_cond(s, c);
        rc = store_stmt_exec(s);
        got = rc ? 0 : store_stmt_affected(s);
        *n += got;
    }
    store_stmt_free(s);
    strbuf_release(&sql);
    return rc;
}

/* ---- purge ---- */

struct tenant_ref {
    uint32_t id;
    char *name;
    char *tier;
};

static void tenant_refs_release(struct tenant_ref *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].tier);
    }
    free(t);
}

static enum dmarcd_err list_tenants(struct store *st, bool cancelled, struct tenant_ref **out,
                                    size_t *n)
{
    struct store_stmt *s = NULL;
    bool row;
    *out = NULL;
    *n = 0;
    enum dmarcd_err rc = store_stmt_prepare(
        st,
        cancelled ? "SELECT id, name, tier FROM tenants WHERE status = 'cancelled' AND"
                    " (cancelled_at IS NULL OR cancelled_at <= UTC_TIMESTAMP() - INTERVAL ? SECOND)"
                    " ORDER BY id"
                  : "SELECT id, name, tier FROM tenants ORDER BY id",
        &s);
    if (!rc && cancelled)
        store_bind_u64(s, 0, RETENTION_PURGE_GRACE_S);
    if (!rc)
        rc = store_stmt_exec(s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        *out = xreallocarray(*out, *n + 1, sizeof(**out));
        struct tenant_ref *t = &(*out)[(*n)++];
        t->id = (uint32_t)store_col_u64(s, 0);
        t->name = store_col_dup(s, 1);
        t->tier = store_col_dup(s, 2);
    }
    store_stmt_free(s);
    if (rc) {
        tenant_refs_release(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* Accounts that belong to tenant and to no other tenant (never operators). */
static enum dmarcd_err lone_users(struct run *r, uint32_t tenant, uint64_t **ids, size_t *n)
{
    struct store_stmt *s = NULL;
    bool row;
    *ids = NULL;
    *n = 0;
    if (!r->sc.users)
        return DMARCD_OK;
    enum dmarcd_err rc = store_stmt_prepare(
        r->st,
        r->sc.user_operator
            ? "SELECT ut.user_id FROM user_tenants ut JOIN users u ON u.id = ut.user_id"
              " WHERE ut.tenant_id = ? AND NOT u.is_operator AND NOT EXISTS (SELECT 1 FROM"
              " user_tenants o WHERE o.user_id = ut.user_id AND o.tenant_id <> ut.tenant_id)"
            : "SELECT ut.user_id FROM user_tenants ut WHERE ut.tenant_id = ? AND NOT EXISTS"
              " (SELECT 1 FROM user_tenants o WHERE o.user_id = ut.user_id"
              " AND o.tenant_id <> ut.tenant_id)",
        &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant);
        rc = store_stmt_exec(s);
    }
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        *ids = xreallocarray(*ids, *n + 1, sizeof(**ids));
        (*ids)[(*n)++] = store_col_u64(s, 0);
    }
    store_stmt_free(s);
    return rc;
}

static bool is_tenant_table(const struct schema *sc, const char *name)
{
    for (size_t i = 0; i < sc->ntables; i++) {
        if (strcmp(sc->tables[i].name, name) == 0)
            return true;
    }
    return false;
}

/*
 * The accounts' rows in tables that point at users, then the accounts.
 * Rows of the purged tenant itself went with its tables already (a dry
 * run must not count them twice).
 */
static enum dmarcd_err purge_users(struct run *r, const struct retention_event *base,
                                   uint32_t tenant, const uint64_t *ids, size_t n)
{
    enum dmarcd_err rc = DMARCD_OK;
    struct strbuf where;
    strbuf_init(&where, 0);
    for (size_t f = 0; !rc && f <= r->sc.nfks; f++) {
        const char *table = f < r->sc.nfks ? r->sc.fks[f].child : "users";
        const char *col = f < r->sc.nfks ? r->sc.fks[f].column : "id";
        if (f < r->sc.nfks && strcmp(r->sc.fks[f].parent, "users") != 0)
            continue;
        bool where_tenant = is_tenant_table(&r->sc, table);
        strbuf_reset(&where);
        (void)strbuf_addf(&where, "`%s` = ?%s", col, where_tenant ? " AND tenant_id <> ?" : "");
        struct retention_event e = *base;
        e.table = table;
        for (size_t i = 0; !rc && i < n; i++) {
            struct cond c = { .where = where.buf, .num = { ids[i], tenant },
                              .nnum = where_tenant ? 2 : 1 };
            uint64_t got = 0;
            rc = remove_rows(r, table, &c, &got);
            e.rows += got;
        }
        if (!rc)
            report(r, &e);
    }
    strbuf_release(&where);
    return rc;
}

static enum dmarcd_err purge_tenant(struct run *r, const struct tenant_ref *t)
{
    struct retention_event e = { .action = "purge", .tenant_id = t->id, .tenant = t->name,
                                 .tier = t->tier };
    uint64_t *users = NULL;
    size_t nusers = 0;
    step_begin(r);
    enum dmarcd_err rc = lone_users(r, t->id, &users, &nusers);
    for (size_t i = 0; !rc && i < r->sc.ntables; i++) {
        struct cond c = { .where = "tenant_id = ?", .num = { t->id }, .nnum = 1 };
        e.table = r->sc.tables[i].name;
        rc = remove_rows(r, e.table, &c, &e.rows);
        if (!rc)
            report(r, &e);
    }
    e.rows = 0;
    if (!rc && nusers)
        rc = purge_users(r, &e, t->id, users, nusers);
    if (!rc) {
        struct cond c = { .where = "id = ? AND status = 'cancelled'", .num = { t->id },
                          .nnum = 1 };
        e.table = "tenants";
        rc = remove_rows(r, "tenants", &c, &e.rows);
        if (!rc)
            report(r, &e);
    }
    free(users);
    if (!rc)
        rc = step_log(r, "purge", t->id, t->tier, NULL, true);
    if (!rc)
        r->res->tenants_purged++;
    return rc;
}

/* ---- partitions ---- */

struct part {
    char *table, *name;
    uint64_t rows;
};

/* Partitions of report tables whose bound is on or before cutoff. */
static enum dmarcd_err expired_partitions(struct run *r, const char *cutoff, struct part **out,
                                          size_t *n)
{
    struct store_stmt *s = NULL;
    bool row;
    *out = NULL;
    *n = 0;
    enum dmarcd_err rc = store_stmt_prepare(
        r->st,
        "SELECT TABLE_NAME, PARTITION_NAME, PARTITION_DESCRIPTION, TABLE_ROWS"
        " FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE()"
        " AND PARTITION_METHOD = 'RANGE COLUMNS' AND PARTITION_EXPRESSION = '`report_day`'"
        " ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION",
        &s);
    if (!rc)
        rc = store_stmt_exec(s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        const char *table = store_col_str(s, 0), *name = store_col_str(s, 1),
                   *desc = store_col_str(s, 2);
        char bound[11];
        bool report = false;
        for (size_t i = 0; i < r->sc.ntables; i++)
            report = report || (r->sc.tables[i].report && strcmp(r->sc.tables[i].name,
                                                                  table ? table : "") == 0);
        /* pYYYYMM VALUES LESS THAN ('YYYY-MM-DD'): every row is before the bound */
        if (!report || !name_ok(name) || strlen(name) != 7 || name[0] != 'p' || !desc ||
            strlen(desc) != 12 || desc[0] != '\'')
            continue;
        memcpy(bound, desc + 1, 10);
        bound[10] = '\0';
        if (strcmp(bound, cutoff) > 0)
            continue;
        *out = xreallocarray(*out, *n + 1, sizeof(**out));
        struct part *p = &(*out)[(*n)++];
        p->table = xstrdup(table);
        p->name = xstrdup(name);
        p->rows = store_col_u64(s, 3);
    }
    store_stmt_free(s);
    return rc;
}

static enum dmarcd_err drop_partition(struct run *r, const struct part *p, bool *dropped)
{
    struct strbuf sql;
    *dropped = false;
    strbuf_init(&sql, 0);
    (void)strbuf_addf(&sql, "ALTER TABLE `%s` DROP PARTITION `%s`", p->table, p->name);
    enum dmarcd_err rc = store_exec_sql(r->st, sql.buf);
    strbuf_release(&sql);
    if (rc == DMARCD_E_TEMPORARY || rc == DMARCD_E_TIMEOUT) {
        log_warn("partition not dropped: the table is busy; its rows go by batches instead",
                 LOG_STR("table", p->table), LOG_STR("partition", p->name));
        return DMARCD_OK;
    }
    *dropped = rc == DMARCD_OK;
    return rc;
}

/* {"table.pYYYYMM": estimated rows} in the log row, rather than per table. */
static void part_detail(struct run *r, const struct part *p)
{
    struct strbuf key;
    strbuf_init(&key, 0);
    (void)strbuf_addf(&key, "%s.%s", p->table, p->name);
    json_object_del(r->detail, p->table);
    json_object_set_new(r->detail, key.buf, json_integer((json_int_t)p->rows));
    strbuf_release(&key);
}

static enum dmarcd_err drop_partitions(struct run *r)
{
    unsigned longest = 0;
    char cutoff[11], sql[64];
    struct part *parts = NULL;
    size_t n = 0;
    for (unsigned i = 0; i < RETENTION_TIERS; i++)
        longest = r->o->months[i] > longest ? r->o->months[i] : longest;
    enum dmarcd_err rc = retention_cutoff(r->o->today, longest, 0, cutoff);
    if (!rc)
        rc = expired_partitions(r, cutoff, &parts, &n);
    if (rc || !n)
        goto out;
    step_begin(r);
    snprintf(sql, sizeof(sql), "SET SESSION lock_wait_timeout = %d", DROP_LOCK_WAIT_S);
    if (!r->o->dry_run)
        rc = store_exec_sql(r->st, sql);
    for (size_t i = 0; !rc && i < n; i++) {
        bool dropped = r->o->dry_run;
        if (!r->o->dry_run)
            rc = drop_partition(r, &parts[i], &dropped);
        if (rc || !dropped)
            continue;
        struct retention_event e = { .action = "partition", .cutoff = cutoff,
                                     .table = parts[i].table, .partition = parts[i].name,
                                     .rows = parts[i].rows, .estimate = true };
        r->res->partitions_dropped++;
        report(r, &e);
        part_detail(r, &parts[i]);
    }
    if (!r->o->dry_run) {
        enum dmarcd_err rc2 = store_exec_sql(r->st, "SET SESSION lock_wait_timeout = DEFAULT");
        if (!rc)
            rc = rc2;
    }
    if (!rc && r->res->partitions_dropped)
        rc = step_log(r, "partition", 0, NULL, cutoff, true);
out:
    for (size_t i = 0; i < n; i++) {
        free(parts[i].table);
        free(parts[i].name);
    }
    free(parts);
    return rc;
}

/* ---- horizons ---- */

static enum dmarcd_err tenant_horizon(struct run *r, const struct tenant_ref *t)
{
    enum retention_tier tier;
    char cutoff[11];
    if (!retention_tier_parse(t->tier, &tier)) {
        log_warn("tenant with an unknown tier skipped", LOG_UINT("tenant", t->id),
                 LOG_STR("tier", t->tier));
        return DMARCD_OK;
    }
    enum dmarcd_err rc = retention_cutoff(r->o->today, r->o->months[tier], 0, cutoff);
    struct retention_event e = { .action = "horizon", .tenant_id = t->id, .tenant = t->name,
                                 .tier = t->tier, .cutoff = cutoff };
    step_begin(r);
    for (size_t i = 0; !rc && i < r->sc.ntables; i++) {
        if (!r->sc.tables[i].report)
            continue;
        struct cond c = { .where = "tenant_id = ? AND report_day < ?", .num = { t->id },
                          .nnum = 1, .text = cutoff };
        e.table = r->sc.tables[i].name;
        rc = remove_rows(r, e.table, &c, &e.rows);
        if (!rc)
            report(r, &e);
    }
    if (!rc)
        rc = step_log(r, "horizon", t->id, t->tier, cutoff, false);
    return rc;
}

static bool was_purged(const struct run *r, uint32_t id)
{
    for (size_t i = 0; i < r->npurged; i++) {
        if (r->purged[i] == id)
            return true;
    }
    return false;
}

/*
 * One dated table: rows before today minus days (and where). per_tenant:
 * the table has a tenant_id whose purged tenants a dry run leaves out.
 */
static enum dmarcd_err dated(struct run *r, const char *action, const char *table,
                             const char *where, unsigned days, bool per_tenant, bool log_it)
{
    char cutoff[11], stamp[20];
    struct strbuf full;
    enum dmarcd_err rc = retention_cutoff(r->o->today, 0, days, cutoff);
    if (rc)
        return rc;
    snprintf(stamp, sizeof(stamp), "%s 00:00:00", cutoff);
    strbuf_init(&full, 0);
    (void)strbuf_addstr(&full, where);
    if (r->o->dry_run && per_tenant && r->npurged) {
        (void)strbuf_addstr(&full, " AND (tenant_id IS NULL OR tenant_id NOT IN (");
        for (size_t i = 0; i < r->npurged; i++)
            (void)strbuf_addf(&full, "%s%u", i ? ", " : "", (unsigned)r->purged[i]);
        (void)strbuf_addstr(&full, "))");
    }
    struct cond c = { .where = full.buf, .text = stamp };
    struct retention_event e = { .action = action, .cutoff = cutoff, .table = table };
    if (log_it)
        step_begin(r);
    rc = remove_rows(r, table, &c, &e.rows);
    strbuf_release(&full);
    if (!rc)
        report(r, &e);
    if (!rc && log_it)
        rc = step_log(r, action, 0, NULL, cutoff, false);
    return rc;
}

/* ---- the run ---- */

static enum dmarcd_err lock(struct store *st, bool take, bool *got)
{
    struct store_stmt *s = NULL;
    bool row = false;
    enum dmarcd_err rc = store_stmt_prepare(
        st,
        take ? "SELECT GET_LOCK(CONCAT('dmarcd_retention:', LEFT(DATABASE(), 47)), 0)"
             : "SELECT RELEASE_LOCK(CONCAT('dmarcd_retention:', LEFT(DATABASE(), 47)))",
        &s);
    if (!rc)
        rc = store_stmt_exec(s);
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (got)
        *got = !rc && row && store_col_u64(s, 0) == 1;
    store_stmt_free(s);
    return rc;
}

static enum dmarcd_err run_steps(struct run *r)
{
    struct tenant_ref *tenants = NULL;
    size_t n = 0;
    enum dmarcd_err rc = list_tenants(r->st, true, &tenants, &n);
    if (!rc && n)
        r->purged = xcalloc(n, sizeof(*r->purged));
    for (size_t i = 0; !rc && i < n; i++) {
        rc = purge_tenant(r, &tenants[i]);
        r->purged[r->npurged++] = tenants[i].id;
    }
    tenant_refs_release(tenants, n);
    if (!rc && r->o->drop_partitions)
        rc = drop_partitions(r);
    if (!rc)
        rc = list_tenants(r->st, false, &tenants, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        if (!was_purged(r, tenants[i].id))
            rc = tenant_horizon(r, &tenants[i]);
    }
    tenant_refs_release(tenants, n);
    if (!rc)
        rc = dated(r, "inbox", "inbox", "received_at < ? AND state IN ('done', 'quarantined')",
                   r->o->inbox_days, true, true);
    if (!rc)
        rc = dated(r, "quarantine", "quarantine", "created_at < ?", r->o->quarantine_days, true,
                   true);
    if (!rc) {
        step_begin(r);
        rc = dated(r, "audit", "audit_log", "at < ?", r->o->audit_days, true, false);
        if (!rc)
            rc = dated(r, "audit", LOG_TABLE, "at < ?", r->o->audit_days, false, false);
        char cutoff[11];
        if (!rc && !(rc = retention_cutoff(r->o->today, 0, r->o->audit_days, cutoff)))
            rc = step_log(r, "audit", 0, NULL, cutoff, false);
    }
    return rc;
}

enum dmarcd_err retention_run(struct store *st, const struct retention_options *o,
                              struct retention_result *result, struct strbuf *why)
{
    struct run r = { .st = st, .o = o, .res = result };
    char check[11];
    bool locked = false;
    memset(result, 0, sizeof(*result));
    if (retention_cutoff(o->today, 0, 0, check) || !o->batch_rows) {
        (void)strbuf_setf(why, "invalid day \"%.20s\": expected YYYY-MM-DD", o->today);
        return DMARCD_E_INVALID;
    }
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(r.started, 20, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(r.started + 19, sizeof(r.started) - 19, ".%03u",
             (unsigned)(ts.tv_nsec / 1000000) % 1000u);
    enum dmarcd_err rc = o->dry_run ? DMARCD_OK : lock(st, true, &locked);
    if (!rc && !o->dry_run && !locked) {
        result->busy = true;
        return DMARCD_OK;
    }
    if (!rc && !o->dry_run && o->drop_partitions) {
        int y, m;
        unsigned added = 0;
        store_partitions_now(&y, &m);
        rc = store_partitions_ensure(st, y, m, STORE_PARTITION_MONTHS_BACK,
                                     STORE_PARTITION_MONTHS_AHEAD, &added);
    }
    if (!rc)
        rc = read_schema(st, &r.sc);
    if (!rc)
        rc = run_steps(&r);
    if (rc && why && !why->len)
        (void)strbuf_setf(why, "%s%s%s", dmarcd_strerror(rc), store_last_error(st)[0] ? ": " : "",
                          store_last_error(st));
    if (locked)
        (void)lock(st, false, NULL);
    json_decref(r.detail);
    schema_release(&r.sc);
    free(r.purged);
    return rc;
}
