/*
 * migrate.c - applies schema/ migrations under a named lock (see migrate.h).
 *
 * Every statement goes through a prepared statement like everything else:
 * MariaDB prepares DDL, and the files hold no values. The checksum kept
 * per file is the SHA-256 of its exact bytes, as compiled in; comparing it
 * with what a database recorded is how an edited, already-applied file is
 * caught before it can leave two databases with different schemas under
 * the same version number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/migrate.h"
#include "storage/partitions.h"
#include "storage/stmt.h"
#include "lib/banned.h"

#define SHA_HEX 65

static const char LOCK_SQL[] =
    "SELECT GET_LOCK(CONCAT('dmarcd_migrate:', LEFT(DATABASE(), 49)), ?)";
static const char UNLOCK_SQL[] =
    "SELECT RELEASE_LOCK(CONCAT('dmarcd_migrate:', LEFT(DATABASE(), 49)))";
static const char TABLE_SQL[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INT UNSIGNED NOT NULL,"
    " name VARCHAR(255) NOT NULL,"
    " sha256 CHAR(64) CHARACTER SET ascii NOT NULL,"
    " applied_at DATETIME(6) NOT NULL,"
    " duration_ms INT UNSIGNED NOT NULL DEFAULT 0,"
    " PRIMARY KEY (version)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC";
static const char APPLIED_SQL[] =
    "SELECT version, name, sha256 FROM schema_migrations ORDER BY version";
static const char RECORD_SQL[] =
    "INSERT INTO schema_migrations (version, name, sha256, applied_at, duration_ms)"
    " VALUES (?, ?, ?, UTC_TIMESTAMP(6), ?)";

struct applied {
    unsigned version;
    char *name;
    char *sha256;
};

struct applied_list {
    struct applied *items;
    size_t count;
};

unsigned migrate_latest(void)
{
    return migrate_files_count ? migrate_files[migrate_files_count - 1].version : 0;
}

void migrate_options_default(struct migrate_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->lock_timeout_s = 600;
    opts->partitions = true;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void file_sha256(const struct migration *m, char hex[SHA_HEX])
{
    uint8_t digest[32];
    store_sha256(m->sql, m->len, digest);
    store_hex(digest, sizeof(digest), hex);
}

static void set_why(struct strbuf *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_why(struct strbuf *why, const char *fmt, ...)
{
    va_list ap;
    strbuf_reset(why);
    va_start(ap, fmt);
    (void)strbuf_vaddf(why, fmt, ap);
    va_end(ap);
}

/* ---- the statement splitter ---- */

/* If a comment starts at p[i], the index just past it; else i. */
static size_t skip_comment(const char *p, size_t i, size_t n)
{
    bool dash = i + 2 <= n && p[i] == '-' && p[i + 1] == '-' &&
                (i + 2 == n || p[i + 2] == ' ' || p[i + 2] == '\t' || p[i + 2] == '\n' ||
                 p[i + 2] == '\r');
    if (dash || p[i] == '#') {
        while (i < n && p[i] != '\n')
            i++;
        return i;
    }
    if (i + 1 < n && p[i] == '/' && p[i + 1] == '*') {
        for (i += 2; i < n && !(p[i] == '*' && i + 1 < n && p[i + 1] == '/'); i++)
            ;
        return i + 2 <= n ? i + 2 : n;
    }
    return i;
}

/* p[i] opens a quoted string or identifier: the index past its end. */
static size_t skip_quoted(const char *p, size_t i, size_t n)
{
    char q = p[i++];
    while (i < n && p[i] != q) {
        if (p[i] == '\\' && q != '`' && i + 1 < n)
            i++;
        i++;
    }
    return i < n ? i + 1 : n;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool migrate_next_statement(struct slice *rest, struct slice *stmt)
{
    const char *p = rest->ptr;
    size_t n = rest->len, i = 0;
    /* leading whitespace, comments and empty statements */
    for (;;) {
        size_t j = skip_comment(p, i, n);
        if (j != i) {
            i = j;
        } else if (i < n && (is_space(p[i]) || p[i] == ';')) {
            i++;
        } else {
            break;
        }
    }
    if (i >= n) {
        *rest = slice_make(p + n, 0);
        return false;
    }
    size_t start = i;
    while (i < n && p[i] != ';') {
        size_t j = skip_comment(p, i, n);
        if (j != i)
            i = j;
        else if (p[i] == '\'' || p[i] == '"' || p[i] == '`')
            i = skip_quoted(p, i, n);
        else
            i++;
    }
    size_t end = i;
    while (end > start && is_space(p[end - 1]))
        end--;
    *stmt = slice_make(p + start, end - start);
    *rest = slice_make(p + i, n - i);
    return true;
}

/* ---- the lock ---- */

static enum dmarcd_err lock_try(struct store *st, unsigned timeout_s, bool *got)
{
    struct store_stmt *s = NULL;
    bool row = false;
    *got = false;
    enum dmarcd_err rc = store_stmt_prepare(st, LOCK_SQL, &s);
    if (rc)
        goto out;
    store_bind_u64(s, 0, timeout_s);
    rc = store_stmt_exec(s);
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && row && !store_col_is_null(s, 0))
        *got = store_col_i64(s, 0) == 1;
    else if (!rc)
        rc = DMARCD_E_DB;
out:
    store_stmt_free(s);
    return rc;
}

static enum dmarcd_err lock_acquire(struct store *st, unsigned timeout_s, bool *waited,
                                    struct strbuf *why)
{
    bool got;
    enum dmarcd_err rc = lock_try(st, 0, &got);
    if (rc || got)
        return rc;
    *waited = true;
    log_info("waiting for another dmarcd migrate to finish", LOG_STR("database", store_database(st)),
             LOG_UINT("timeout_s", timeout_s));
    rc = lock_try(st, timeout_s, &got);
    if (rc)
        return rc;
    if (!got) {
        set_why(why, "another dmarcd migrate held the lock dmarcd_migrate:%s for more than %us",
                store_database(st), timeout_s);
        return DMARCD_E_TIMEOUT;
    }
    return DMARCD_OK;
}

static void lock_release(struct store *st)
{
    struct store_stmt *s = NULL;
    bool row;
    /* Best effort: the server also releases the lock when we disconnect. */
    if (store_stmt_prepare(st, UNLOCK_SQL, &s) == DMARCD_OK && store_stmt_exec(s) == DMARCD_OK &&
        store_stmt_fetch(s, &row) != DMARCD_OK)
        log_warn("releasing the migration lock failed", LOG_STR("reason", store_last_error(st)));
    store_stmt_free(s);
}

/* ---- what was applied ---- */

static void applied_release(struct applied_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].name);
        free(l->items[i].sha256);
    }
    free(l->items);
    memset(l, 0, sizeof(*l));
}

static enum dmarcd_err load_applied(struct store *st, struct applied_list *out)
{
    struct store_stmt *s = NULL;
    bool row;
    enum dmarcd_err rc = store_exec_sql(st, TABLE_SQL);
    if (!rc)
        rc = store_stmt_prepare(st, APPLIED_SQL, &s);
    if (!rc)
        rc = store_stmt_exec(s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        out->items = xreallocarray(out->items, out->count + 1, sizeof(*out->items));
        struct applied *a = &out->items[out->count++];
        a->version = (unsigned)store_col_u64(s, 0);
        a->name = store_col_dup(s, 1);
        a->sha256 = store_col_dup(s, 2);
    }
    store_stmt_free(s);
    return rc;
}

/* Every applied row must be exactly the file this binary has. */
static enum dmarcd_err verify_applied(const struct applied_list *l, struct strbuf *why)
{
    for (size_t i = 0; i < l->count; i++) {
        const struct applied *a = &l->items[i];
        if (a->version != i + 1) {
            set_why(why, "schema_migrations is not a sequence 1..N: found version %u (%s) "
                         "where %zu was expected", a->version, a->name, i + 1);
            return DMARCD_E_INVALID;
        }
        if (i >= migrate_files_count) {
            set_why(why, "database is at schema version %u (%s) but this dmarcd knows only "
                         "up to %u: run a newer dmarcd", l->items[l->count - 1].version,
                    l->items[l->count - 1].name, migrate_latest());
            return DMARCD_E_INVALID;
        }
        const struct migration *m = &migrate_files[i];
        char hex[SHA_HEX];
        file_sha256(m, hex);
        if (strcmp(a->name, m->name) != 0 || strcmp(a->sha256, hex) != 0) {
            set_why(why, "migration %s was changed after it was applied (recorded %s sha256 "
                         "%.12s..., this binary has %s sha256 %.12s...); never edit an applied "
                         "migration: restore it and add a new numbered file",
                    m->name, a->name, a->sha256, m->name, hex);
            return DMARCD_E_INVALID;
        }
    }
    return DMARCD_OK;
}

/* ---- applying ---- */

static enum dmarcd_err apply_statements(struct store *st, const struct migration *m,
                                        struct strbuf *why)
{
    struct slice rest = slice_make(m->sql, m->len), stmt;
    const char *counted = m->sql;
    unsigned line = 1, n = 0;
    struct strbuf text;
    enum dmarcd_err rc = DMARCD_OK;
    strbuf_init(&text, 0);
    while (!rc && migrate_next_statement(&rest, &stmt)) {
        n++;
        for (; counted < stmt.ptr; counted++)
            line += *counted == '\n';
        strbuf_reset(&text);
        (void)strbuf_addslice(&text, stmt);
        rc = store_exec_sql(st, text.buf);
        if (rc)
            set_why(why, "migration %s failed at statement %u (line %u): %s", m->name, n, line,
                    store_last_error(st));
    }
    strbuf_release(&text);
    return rc;
}

static enum dmarcd_err record_applied(struct store *st, const struct migration *m, double secs)
{
    struct store_stmt *s = NULL;
    char hex[SHA_HEX];
    file_sha256(m, hex);
    enum dmarcd_err rc = store_stmt_prepare(st, RECORD_SQL, &s);
    if (rc)
        goto out;
    store_bind_u64(s, 0, m->version);
    store_bind_str(s, 1, m->name);
    store_bind_str(s, 2, hex);
    store_bind_u64(s, 3, (uint64_t)(secs * 1000.0));
    rc = store_stmt_exec(s);
out:
    store_stmt_free(s);
    return rc;
}

static enum dmarcd_err apply_pending(struct store *st, const struct migrate_options *o,
                                     unsigned target, struct migrate_result *res,
                                     struct strbuf *why)
{
    enum dmarcd_err rc = DMARCD_OK;
    for (unsigned v = res->before + 1; !rc && v <= target; v++) {
        const struct migration *m = &migrate_files[v - 1];
        double t0 = now_s();
        if (o->progress)
            o->progress(o->progress_ctx, m, false, 0);
        rc = apply_statements(st, m, why);
        double secs = now_s() - t0;
        if (!rc)
            rc = record_applied(st, m, secs);
        if (rc)
            break;
        log_info("migration applied", LOG_STR("file", m->name), LOG_DOUBLE("seconds", secs));
        res->after = v;
        res->applied++;
        if (o->progress)
            o->progress(o->progress_ctx, m, true, secs);
    }
    return rc;
}

static enum dmarcd_err run_locked(struct store *st, const struct migrate_options *o,
                                  unsigned target, struct migrate_result *res, struct strbuf *why)
{
    struct applied_list applied = { 0 };
    enum dmarcd_err rc = load_applied(st, &applied);
    if (!rc)
        rc = verify_applied(&applied, why);
    if (rc)
        goto out;
    res->before = res->after = (unsigned)applied.count;
    if (res->before > target) {
        set_why(why, "database is at schema version %u, beyond the target %u: migrations only "
                     "go forward", res->before, target);
        rc = DMARCD_E_USAGE;
        goto out;
    }
    rc = apply_pending(st, o, target, res, why);
    if (!rc && o->partitions) {
        int y, m;
        store_partitions_now(&y, &m);
        rc = store_partitions_ensure(st, y, m, STORE_PARTITION_MONTHS_BACK,
                                     STORE_PARTITION_MONTHS_AHEAD, &res->partitions_added);
        if (rc)
            set_why(why, "adding monthly partitions failed: %s", store_last_error(st));
    }
out:
    applied_release(&applied);
    return rc;
}

enum dmarcd_err migrate_run(struct store *st, const struct migrate_options *o,
                            struct migrate_result *res, struct strbuf *why)
{
    unsigned target = o->target ? o->target : migrate_latest();
    memset(res, 0, sizeof(*res));
    strbuf_reset(why);
    if (target > migrate_latest()) {
        set_why(why, "no migration %u: this dmarcd has versions 1 to %u", target,
                migrate_latest());
        return DMARCD_E_USAGE;
    }
    enum dmarcd_err rc = lock_acquire(st, o->lock_timeout_s, &res->waited, why);
    if (rc) {
        if (!why->len)
            set_why(why, "cannot take the migration lock: %s", store_last_error(st));
        return rc;
    }
    rc = run_locked(st, o, target, res, why);
    if (rc && !why->len)
        set_why(why, "%s", store_last_error(st));
    lock_release(st);
    return rc;
}
