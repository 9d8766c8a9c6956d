/*
 * stmt.c - prepared-statement helpers over mysql_stmt_*.
 *
 * The connector's bind structures are verbose and easy to get subtly
 * wrong (lengths, null flags, truncation); every statement in storage/
 * goes through these few functions instead. Results are fetched as text
 * into per-column buffers sized from the buffered result's max_length and
 * grown on MYSQL_DATA_TRUNCATED, so no column is ever cut.
 */
#include <mysql.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/stmt.h"
#include "storage/store_internal.h"
#include "lib/banned.h"

#define COL_MIN_BUFFER 64

struct param {
    union {
        int64_t i;
        uint64_t u;
    } num;
    bool set;
    my_bool is_null;
    unsigned long len;
};

struct column {
    char *buf;
    unsigned long cap;
    unsigned long len;
    my_bool is_null;
    my_bool error;
};

struct store_stmt {
    struct store *st;
    MYSQL_STMT *stmt;
    char *sql;                  /* for log lines: placeholders only, never values */
    unsigned nparams;
    MYSQL_BIND *pbind;
    struct param *params;
    unsigned ncols;
    MYSQL_BIND *rbind;
    struct column *cols;
    bool has_result;
};

static enum dmarcd_err fail_stmt(struct store_stmt *s, bool quiet)
{
    return store_fail(s->st, s->sql, mysql_stmt_errno(s->stmt), mysql_stmt_sqlstate(s->stmt),
                      mysql_stmt_error(s->stmt), quiet);
}

enum dmarcd_err store_stmt_prepare(struct store *st, const char *sql, struct store_stmt **out)
{
    *out = NULL;
    enum dmarcd_err rc = store_check_usable(st);
    if (rc)
        return rc;
    struct store_stmt *s = xcalloc(1, sizeof(*s));
    s->st = st;
    s->sql = xstrdup(sql);
    s->stmt = mysql_stmt_init(st->mysql);
    if (!s->stmt)
        dmarcd_die("mysql_stmt_init: out of memory");
    if (mysql_stmt_prepare(s->stmt, sql, (unsigned long)strlen(sql))) {
        rc = fail_stmt(s, false);
        store_stmt_free(s);
        return rc;
    }
    my_bool on = 1;
    mysql_stmt_attr_set(s->stmt, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
    s->nparams = (unsigned)mysql_stmt_param_count(s->stmt);
    if (s->nparams) {
        s->pbind = xcalloc(s->nparams, sizeof(*s->pbind));
        s->params = xcalloc(s->nparams, sizeof(*s->params));
    }
    *out = s;
    return DMARCD_OK;
}

static void free_columns(struct store_stmt *s)
{
    for (unsigned i = 0; i < s->ncols; i++)
        free(s->cols[i].buf);
    free(s->cols);
    free(s->rbind);
    s->cols = NULL;
    s->rbind = NULL;
    s->ncols = 0;
}

void store_stmt_free(struct store_stmt *s)
{
    if (!s)
        return;
    if (s->has_result)
        mysql_stmt_free_result(s->stmt);
    if (s->stmt)
        mysql_stmt_close(s->stmt);
    free_columns(s);
    free(s->pbind);
    free(s->params);
    free(s->sql);
    free(s);
}

/* ---- parameters ---- */

static MYSQL_BIND *param_slot(struct store_stmt *s, unsigned i)
{
    if (i >= s->nparams)
        dmarcd_die("store_bind: parameter index out of range");
    MYSQL_BIND *b = &s->pbind[i];
    memset(b, 0, sizeof(*b));
    s->params[i].set = true;
    s->params[i].is_null = 0;
    b->is_null = &s->params[i].is_null;
    b->length = &s->params[i].len;
    return b;
}

void store_bind_bytes(struct store_stmt *s, unsigned i, const void *v, size_t len)
{
    MYSQL_BIND *b = param_slot(s, i);
    if (!v) {
        b->buffer_type = MYSQL_TYPE_NULL;
        s->params[i].is_null = 1;
        return;
    }
    b->buffer_type = MYSQL_TYPE_STRING;
    b->buffer = (void *)(uintptr_t)v;   /* the connector only reads it */
    b->buffer_length = (unsigned long)len;
    s->params[i].len = (unsigned long)len;
}

void store_bind_str(struct store_stmt *s, unsigned i, const char *v)
{
    store_bind_bytes(s, i, v, v ? strlen(v) : 0);
}

void store_bind_i64(struct store_stmt *s, unsigned i, int64_t v)
{
    MYSQL_BIND *b = param_slot(s, i);
    s->params[i].num.i = v;
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = &s->params[i].num.i;
    b->is_unsigned = 0;
}

void store_bind_u64(struct store_stmt *s, unsigned i, uint64_t v)
{
    MYSQL_BIND *b = param_slot(s, i);
    s->params[i].num.u = v;
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = &s->params[i].num.u;
    b->is_unsigned = 1;
}

void store_bind_null(struct store_stmt *s, unsigned i)
{
    store_bind_bytes(s, i, NULL, 0);
}

/* ---- execution ---- */

static void bind_column(struct store_stmt *s, unsigned i)
{
    MYSQL_BIND *b = &s->rbind[i];
    struct column *c = &s->cols[i];
    memset(b, 0, sizeof(*b));
    b->buffer_type = MYSQL_TYPE_STRING;
    b->buffer = c->buf;
    b->buffer_length = c->cap;
    b->length = &c->len;
    b->is_null = &c->is_null;
    b->error = &c->error;
}

/* Buffers the result set and binds every column as text. */
static enum dmarcd_err setup_result(struct store_stmt *s)
{
    if (mysql_stmt_store_result(s->stmt))
        return fail_stmt(s, false);
    s->has_result = true;
    MYSQL_RES *meta = mysql_stmt_result_metadata(s->stmt);
    if (!meta)
        return fail_stmt(s, false);
    unsigned n = mysql_num_fields(meta);
    MYSQL_FIELD *fields = mysql_fetch_fields(meta);
    free_columns(s);
    s->ncols = n;
    s->cols = xcalloc(n ? n : 1, sizeof(*s->cols));
    s->rbind = xcalloc(n ? n : 1, sizeof(*s->rbind));
    for (unsigned i = 0; i < n; i++) {
        unsigned long want = fields[i].max_length;
        s->cols[i].cap = (want < COL_MIN_BUFFER ? COL_MIN_BUFFER : want) + 1;
        s->cols[i].buf = xmalloc(s->cols[i].cap);
        bind_column(s, i);
    }
    mysql_free_result(meta);
    if (mysql_stmt_bind_result(s->stmt, s->rbind))
        return fail_stmt(s, false);
    return DMARCD_OK;
}

static enum dmarcd_err exec_common(struct store_stmt *s, bool *duplicate)
{
    enum dmarcd_err rc = store_check_usable(s->st);
    if (rc)
        return rc;
    for (unsigned i = 0; i < s->nparams; i++) {
        if (!s->params[i].set) {
            log_error("statement parameter not bound", LOG_STR("op", s->sql),
                      LOG_UINT("index", i));
            return DMARCD_E_INTERNAL;
        }
    }
    if (s->has_result) {
        mysql_stmt_free_result(s->stmt);
        s->has_result = false;
    }
    if (s->nparams && mysql_stmt_bind_param(s->stmt, s->pbind))
        return fail_stmt(s, false);
    if (mysql_stmt_execute(s->stmt)) {
        if (duplicate && store_errno_is_duplicate(mysql_stmt_errno(s->stmt))) {
            (void)fail_stmt(s, true);
            *duplicate = true;
            return DMARCD_OK;
        }
        return fail_stmt(s, false);
    }
    if (mysql_stmt_field_count(s->stmt) > 0)
        return setup_result(s);
    return DMARCD_OK;
}

enum dmarcd_err store_stmt_exec(struct store_stmt *s)
{
    return exec_common(s, NULL);
}

enum dmarcd_err store_stmt_exec_dup(struct store_stmt *s, bool *duplicate)
{
    *duplicate = false;
    return exec_common(s, duplicate);
}

/* Re-fetches the columns the connector cut short into bigger buffers. */
static enum dmarcd_err refetch_truncated(struct store_stmt *s)
{
    for (unsigned i = 0; i < s->ncols; i++) {
        struct column *c = &s->cols[i];
        if (!c->error)
            continue;
        c->cap = c->len + 1;
        c->buf = xrealloc(c->buf, c->cap);
        bind_column(s, i);
        if (mysql_stmt_fetch_column(s->stmt, &s->rbind[i], i, 0))
            return fail_stmt(s, false);
        c->error = 0;
    }
    if (mysql_stmt_bind_result(s->stmt, s->rbind))
        return fail_stmt(s, false);
    return DMARCD_OK;
}

enum dmarcd_err store_stmt_fetch(struct store_stmt *s, bool *row)
{
    *row = false;
    if (!s->has_result)
        return DMARCD_OK;
    int r = mysql_stmt_fetch(s->stmt);
    if (r == MYSQL_NO_DATA)
        return DMARCD_OK;
    if (r == 1)
        return fail_stmt(s, false);
    if (r == MYSQL_DATA_TRUNCATED) {
        enum dmarcd_err rc = refetch_truncated(s);
        if (rc)
            return rc;
    }
    for (unsigned i = 0; i < s->ncols; i++) {
        struct column *c = &s->cols[i];
        c->buf[c->len < c->cap ? c->len : c->cap - 1] = '\0';
    }
    *row = true;
    return DMARCD_OK;
}

/* ---- columns ---- */

static const struct column *col(const struct store_stmt *s, unsigned i)
{
    if (i >= s->ncols)
        dmarcd_die("store_col: column index out of range");
    return &s->cols[i];
}

bool store_col_is_null(const struct store_stmt *s, unsigned i)
{
    return col(s, i)->is_null != 0;
}

const char *store_col_str(const struct store_stmt *s, unsigned i)
{
    const struct column *c = col(s, i);
    return c->is_null ? NULL : c->buf;
}

size_t store_col_len(const struct store_stmt *s, unsigned i)
{
    const struct column *c = col(s, i);
    return c->is_null ? 0 : c->len;
}

int64_t store_col_i64(const struct store_stmt *s, unsigned i)
{
    const struct column *c = col(s, i);
    return c->is_null ? 0 : strtoll(c->buf, NULL, 10);
}

uint64_t store_col_u64(const struct store_stmt *s, unsigned i)
{
    const struct column *c = col(s, i);
    return c->is_null ? 0 : strtoull(c->buf, NULL, 10);
}

char *store_col_dup(const struct store_stmt *s, unsigned i)
{
    const struct column *c = col(s, i);
    return c->is_null ? xstrdup("") : xstrndup(c->buf, c->len);
}

uint64_t store_stmt_affected(const struct store_stmt *s)
{
    return (uint64_t)mysql_stmt_affected_rows(s->stmt);
}

uint64_t store_stmt_insert_id(const struct store_stmt *s)
{
    return (uint64_t)mysql_stmt_insert_id(s->stmt);
}

enum dmarcd_err store_exec_sql(struct store *st, const char *sql)
{
    struct store_stmt *s = NULL;
    enum dmarcd_err rc = store_stmt_prepare(st, sql, &s);
    if (rc)
        goto out;
    rc = store_stmt_exec(s);
out:
    store_stmt_free(s);
    return rc;
}
