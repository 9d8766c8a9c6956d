/*
 * bulk.c - array-bound prepared statements (see bulk.h).
 *
 * Column-wise binding: each parameter gets an array of values (integers)
 * or of pointers and lengths (text), plus an indicator array for NULLs.
 * Text is copied into one growing buffer per batch and kept as offsets
 * while rows are added (the buffer moves as it grows); the pointer arrays
 * are filled in just before the execution. The server runs the statement
 * once per row but the batch travels as one COM_STMT_BULK_EXECUTE packet.
 */
#include <mysql.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "storage/bulk.h"
#include "storage/store_internal.h"
#include "lib/banned.h"

struct bulk_col {
    enum store_bulk_type type;
    uint64_t *nums;             /* INT/UINT values (int64 stored as its bits) */
    size_t *offs;               /* TEXT: offset in text */
    unsigned long *lens;        /* TEXT: lengths */
    char **ptrs;                /* TEXT: filled at flush */
    char *ind;                  /* STMT_INDICATOR_NONE / _NULL per row */
};

struct store_bulk {
    struct store *st;
    MYSQL_STMT *stmt;
    char *sql;                  /* for log lines: placeholders only */
    unsigned ncols, max_rows, rows;
    struct bulk_col *cols;
    MYSQL_BIND *binds;
    struct strbuf text;
};

static enum dmarcd_err fail_bulk(struct store_bulk *b)
{
    return store_fail(b->st, b->sql, mysql_stmt_errno(b->stmt), mysql_stmt_sqlstate(b->stmt),
                      mysql_stmt_error(b->stmt), false);
}

enum dmarcd_err store_bulk_prepare(struct store *st, const char *sql,
                                   const enum store_bulk_type *types, unsigned ncols,
                                   unsigned max_rows, struct store_bulk **out)
{
    *out = NULL;
    enum dmarcd_err rc = store_check_usable(st);
    if (rc)
        return rc;
    if (!ncols || !max_rows)
        dmarcd_die("store_bulk_prepare: no columns or no rows");
    struct store_bulk *b = xcalloc(1, sizeof(*b));
    b->st = st;
    b->sql = xstrdup(sql);
    b->ncols = ncols;
    b->max_rows = max_rows;
    strbuf_init(&b->text, 0);
    b->stmt = mysql_stmt_init(st->mysql);
    if (!b->stmt)
        dmarcd_die("mysql_stmt_init: out of memory");
    if (mysql_stmt_prepare(b->stmt, sql, (unsigned long)strlen(sql))) {
        rc = fail_bulk(b);
        store_bulk_free(b);
        return rc;
    }
    if (mysql_stmt_param_count(b->stmt) != ncols) {
        log_error("bulk statement has another number of parameters", LOG_STR("op", sql),
                  LOG_UINT("expected", ncols), LOG_UINT("found", mysql_stmt_param_count(b->stmt)));
        store_bulk_free(b);
        return DMARCD_E_INTERNAL;
    }
    b->cols = xcalloc(ncols, sizeof(*b->cols));
    b->binds = xcalloc(ncols, sizeof(*b->binds));
    for (unsigned i = 0; i < ncols; i++) {
        struct bulk_col *c = &b->cols[i];
        c->type = types[i];
        c->ind = xcalloc(max_rows, sizeof(*c->ind));
        if (c->type == STORE_BULK_TEXT) {
            c->offs = xcalloc(max_rows, sizeof(*c->offs));
            c->lens = xcalloc(max_rows, sizeof(*c->lens));
            c->ptrs = xcalloc(max_rows, sizeof(*c->ptrs));
        } else {
            c->nums = xcalloc(max_rows, sizeof(*c->nums));
        }
    }
    *out = b;
    return DMARCD_OK;
}

void store_bulk_free(struct store_bulk *b)
{
    if (!b)
        return;
    if (b->stmt)
        mysql_stmt_close(b->stmt);
    for (unsigned i = 0; b->cols && i < b->ncols; i++) {
        free(b->cols[i].nums);
        free(b->cols[i].offs);
        free(b->cols[i].lens);
        free(b->cols[i].ptrs);
        free(b->cols[i].ind);
    }
    free(b->cols);
    free(b->binds);
    strbuf_release(&b->text);
    free(b->sql);
    free(b);
}

void store_bulk_row(struct store_bulk *b)
{
    if (b->rows >= b->max_rows)
        dmarcd_die("store_bulk_row: batch full, flush first");
    unsigned r = b->rows++;
    for (unsigned i = 0; i < b->ncols; i++) {
        struct bulk_col *c = &b->cols[i];
        c->ind[r] = STMT_INDICATOR_NULL;
        if (c->nums) {
            c->nums[r] = 0;
        } else {
            c->lens[r] = 0;
            c->offs[r] = 0;
        }
    }
}

static struct bulk_col *slot(struct store_bulk *b, unsigned col, enum store_bulk_type type)
{
    if (!b->rows || col >= b->ncols || b->cols[col].type != type)
        dmarcd_die("store_bulk: no row, or column index or type wrong");
    return &b->cols[col];
}

void store_bulk_int(struct store_bulk *b, unsigned col, int64_t v)
{
    struct bulk_col *c = slot(b, col, STORE_BULK_INT);
    memcpy(&c->nums[b->rows - 1], &v, sizeof(v));
    c->ind[b->rows - 1] = STMT_INDICATOR_NONE;
}

void store_bulk_uint(struct store_bulk *b, unsigned col, uint64_t v)
{
    struct bulk_col *c = slot(b, col, STORE_BULK_UINT);
    c->nums[b->rows - 1] = v;
    c->ind[b->rows - 1] = STMT_INDICATOR_NONE;
}

void store_bulk_text(struct store_bulk *b, unsigned col, const char *v, size_t len)
{
    struct bulk_col *c = slot(b, col, STORE_BULK_TEXT);
    unsigned r = b->rows - 1;
    if (!v) {
        c->ind[r] = STMT_INDICATOR_NULL;
        return;
    }
    c->offs[r] = b->text.len;
    c->lens[r] = (unsigned long)len;
    (void)strbuf_add(&b->text, v, len);
    c->ind[r] = STMT_INDICATOR_NONE;
}

void store_bulk_str(struct store_bulk *b, unsigned col, const char *v)
{
    store_bulk_text(b, col, v, v ? strlen(v) : 0);
}

unsigned store_bulk_rows(const struct store_bulk *b)
{
    return b->rows;
}

bool store_bulk_full(const struct store_bulk *b)
{
    return b->rows >= b->max_rows || b->text.len >= STORE_BULK_MAX_BYTES;
}

void store_bulk_discard(struct store_bulk *b)
{
    if (!b)
        return;
    b->rows = 0;
    strbuf_reset(&b->text);
}

static void bind_columns(struct store_bulk *b)
{
    memset(b->binds, 0, b->ncols * sizeof(*b->binds));
    for (unsigned i = 0; i < b->ncols; i++) {
        struct bulk_col *c = &b->cols[i];
        MYSQL_BIND *m = &b->binds[i];
        m->u.indicator = c->ind;
        if (c->type == STORE_BULK_TEXT) {
            for (unsigned r = 0; r < b->rows; r++)
                c->ptrs[r] = b->text.buf + c->offs[r];
            m->buffer_type = MYSQL_TYPE_STRING;
            m->buffer = c->ptrs;
            m->length = c->lens;
        } else {
            m->buffer_type = MYSQL_TYPE_LONGLONG;
            m->buffer = c->nums;
            m->is_unsigned = c->type == STORE_BULK_UINT;
        }
    }
}

enum dmarcd_err store_bulk_flush(struct store_bulk *b)
{
    if (!b->rows)
        return DMARCD_OK;
    enum dmarcd_err rc = store_check_usable(b->st);
    if (rc)
        goto out;
    unsigned int size = b->rows;
    bind_columns(b);
    if (mysql_stmt_attr_set(b->stmt, STMT_ATTR_ARRAY_SIZE, &size) ||
        mysql_stmt_bind_param(b->stmt, b->binds) || mysql_stmt_execute(b->stmt))
        rc = fail_bulk(b);
out:
    store_bulk_discard(b);
    return rc;
}
