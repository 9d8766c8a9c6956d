/*
 * partitions.c - adds monthly partitions ahead of time (see partitions.h).
 *
 * Months are counted as year * 12 + (month - 1) so that ranges are plain
 * integer loops. Table names come from information_schema of our own
 * database and are checked to be [a-z0-9_] before they are quoted into the
 * ALTER TABLE text; dates are formatted from integers: no input reaches
 * the SQL text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "storage/partitions.h"
#include "storage/stmt.h"
#include "lib/banned.h"

struct ptable {
    char *name;
    long top;               /* month index of the highest finite bound, -1 if none */
    bool last_is_max;       /* the last partition is p_max VALUES LESS THAN MAXVALUE */
};

struct ptables {
    struct ptable *items;
    size_t count;
};

static const char LIST_SQL[] =
    "SELECT TABLE_NAME, PARTITION_NAME, PARTITION_DESCRIPTION FROM information_schema.PARTITIONS"
    " WHERE TABLE_SCHEMA = DATABASE() AND PARTITION_METHOD = 'RANGE COLUMNS'"
    " ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION";

void store_partitions_now(int *year, int *month)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    *year = tm.tm_year + 1900;
    *month = tm.tm_mon + 1;
}

static bool name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    }
    return true;
}

/* "'2024-11-01'" -> month index of 2024-11; -1 when not a first-of-month date. */
static long bound_month(const char *desc)
{
    int y, m, d;
    char tail;
    if (sscanf(desc, "'%4d-%2d-%2d'%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d != 1)
        return -1;
    return (long)y * 12 + (m - 1);
}

static struct ptable *table_for(struct ptables *t, const char *name)
{
    if (t->count && strcmp(t->items[t->count - 1].name, name) == 0)
        return &t->items[t->count - 1];
    t->items = xreallocarray(t->items, t->count + 1, sizeof(*t->items));
    struct ptable *p = &t->items[t->count++];
    p->name = xstrdup(name);
    p->top = -1;
    p->last_is_max = false;
    return p;
}

static void ptables_release(struct ptables *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->items[i].name);
    free(t->items);
}

static enum dmarcd_err list_tables(struct store *st, struct ptables *out)
{
    struct store_stmt *s = NULL;
    bool row;
    enum dmarcd_err rc = store_stmt_prepare(st, LIST_SQL, &s);
    if (rc)
        goto out;
    rc = store_stmt_exec(s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        const char *pname = store_col_str(s, 1), *desc = store_col_str(s, 2);
        struct ptable *p = table_for(out, store_col_str(s, 0));
        p->last_is_max = pname && desc && strcmp(pname, "p_max") == 0 &&
                         strcmp(desc, "MAXVALUE") == 0;
        long b = desc ? bound_month(desc) : -1;
        if (b > p->top)
            p->top = b;
    }
out:
    store_stmt_free(s);
    return rc;
}

/* Builds the REORGANIZE text for months [from, to]; returns how many. */
static unsigned build_alter(struct strbuf *sql, const char *table, long from, long to)
{
    unsigned n = 0;
    strbuf_reset(sql);
    (void)strbuf_addf(sql, "ALTER TABLE `%s` REORGANIZE PARTITION p_max INTO (", table);
    for (long mi = from; mi <= to; mi++, n++) {
        long next = mi + 1;
        (void)strbuf_addf(sql, "PARTITION p%04ld%02ld VALUES LESS THAN ('%04ld-%02ld-01'), ",
                          mi / 12, mi % 12 + 1, next / 12, next % 12 + 1);
    }
    (void)strbuf_addstr(sql, "PARTITION p_max VALUES LESS THAN (MAXVALUE))");
    return n;
}

static enum dmarcd_err extend_table(struct store *st, const struct ptable *t, long now,
                                    unsigned back, unsigned ahead, unsigned *added)
{
    if (!name_ok(t->name) || !t->last_is_max) {
        log_warn("partitioned table skipped: last partition is not p_max (MAXVALUE)",
                 LOG_STR("table", t->name));
        return DMARCD_OK;
    }
    /* Partition m holds days before month m + 1: the first one to add is
     * the month whose end passes the current top bound. */
    long from = t->top >= 0 ? t->top : now - (long)back;
    long to = now + (long)ahead;
    if (from > to)
        return DMARCD_OK;
    struct strbuf sql;
    strbuf_init(&sql, 0);
    unsigned n = build_alter(&sql, t->name, from, to);
    enum dmarcd_err rc = store_exec_sql(st, sql.buf);
    strbuf_release(&sql);
    if (rc)
        return rc;
    log_info("partitions added", LOG_STR("table", t->name), LOG_UINT("count", n),
             LOG_INT("first_year", from / 12), LOG_INT("first_month", from % 12 + 1),
             LOG_INT("last_year", to / 12), LOG_INT("last_month", to % 12 + 1));
    *added += n;
    return DMARCD_OK;
}

enum dmarcd_err store_partitions_ensure(struct store *st, int year, int month,
                                        unsigned months_back, unsigned months_ahead,
                                        unsigned *added)
{
    struct ptables tables = { 0 };
    long now = (long)year * 12 + (month - 1);
    *added = 0;
    enum dmarcd_err rc = list_tables(st, &tables);
    for (size_t i = 0; !rc && i < tables.count; i++)
        rc = extend_table(st, &tables.items[i], now, months_back, months_ahead, added);
    ptables_release(&tables);
    return rc;
}
