/*
 * bulk.c - array-bound prepared statements (see bulk.h).
 *
 * Column-wise binding: each parameter gets an array of values (integers)
 * or of pointers and lengths (text), plus an indicator array for NULLs.
 * Text is copied into one growing buffer per batch and kept as offsets
 * while rows are added (the buffer moves as it grows); the pointer arrays
 * are filled in just before the execution. The server runs the statement
 * once per row but the batch travels as one COM_STMT_BULK_EXECUTE packet.
 *
 * A bulk has two batches: rows are added to one while the other may be
 * executing on a helper thread (store_bulk_send), so that the caller
 * parses the next rows while the server stores the last ones. The thread
 * is made on the first send and only ever runs the statement's execution;
 * the connection passes between the threads under the mutex, never used by
 * both at once. Errors are mapped (store_fail: logging, the store's broken
 * flag) in the caller's thread, when it collects the result.
 */
#include <mysql.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
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
    char **ptrs;                /* TEXT: filled at execution */
    char *ind;                  /* STMT_INDICATOR_NONE / _NULL per row */
};

struct bulk_batch {
    struct bulk_col *cols;
    unsigned rows;
    struct strbuf text;
};

/* What the helper thread reports of one execution. */
struct bulk_outcome {
    bool failed;
    unsigned errnum;
    char sqlstate[SQLSTATE_LENGTH + 1];
    char message[STORE_ERROR_TEXT_MAX];
};

struct bulk_thread {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct bulk_batch *job;     /* handed over, not yet executed */
    bool busy;                  /* a batch was sent and its result not collected */
    bool quit;
    struct bulk_outcome out;
};

struct store_bulk {
    struct store *st;
    MYSQL_STMT *stmt;
    char *sql;                  /* for log lines: placeholders only */
    unsigned ncols, max_rows;
    enum store_bulk_type *types;
    struct bulk_batch batches[2];
    struct bulk_batch *fill;    /* where rows are added */
    MYSQL_BIND *binds;          /* used by whichever thread executes */
    struct bulk_thread *helper; /* made on the first store_bulk_send */
    bool no_helper;             /* the thread could not be made: send executes */
};

static void batch_init(struct store_bulk *b, struct bulk_batch *t)
{
    t->cols = xcalloc(b->ncols, sizeof(*t->cols));
    t->rows = 0;
    strbuf_init(&t->text, 0);
    for (unsigned i = 0; i < b->ncols; i++) {
        struct bulk_col *c = &t->cols[i];
        c->type = b->types[i];
        c->ind = xcalloc(b->max_rows, sizeof(*c->ind));
        if (c->type == STORE_BULK_TEXT) {
            c->offs = xcalloc(b->max_rows, sizeof(*c->offs));
            c->lens = xcalloc(b->max_rows, sizeof(*c->lens));
            c->ptrs = xcalloc(b->max_rows, sizeof(*c->ptrs));
        } else {
            c->nums = xcalloc(b->max_rows, sizeof(*c->nums));
        }
    }
}

static void batch_release(struct store_bulk *b, struct bulk_batch *t)
{
    for (unsigned i = 0; t->cols && i < b->ncols; i++) {
        free(t->cols[i].nums);
        free(t->cols[i].offs);
        free(t->cols[i].lens);
        free(t->cols[i].ptrs);
        free(t->cols[i].ind);
    }
    free(t->cols);
    strbuf_release(&t->text);
}

static void batch_reset(struct bulk_batch *t)
{
    t->rows = 0;
    strbuf_reset(&t->text);
}

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
    b->types = xcalloc(ncols, sizeof(*b->types));
    memcpy(b->types, types, ncols * sizeof(*types));
    b->binds = xcalloc(ncols, sizeof(*b->binds));
    batch_init(b, &b->batches[0]);
    batch_init(b, &b->batches[1]);
    b->fill = &b->batches[0];
    *out = b;
    return DMARCD_OK;
}

static void stop_helper(struct store_bulk *b)
{
    struct bulk_thread *h = b->helper;
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->quit = true;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
    free(h);
    b->helper = NULL;
}

void store_bulk_free(struct store_bulk *b)
{
    if (!b)
        return;
    (void)store_bulk_wait(b);
    stop_helper(b);
    if (b->stmt)
        mysql_stmt_close(b->stmt);
    if (b->batches[0].cols) {
        batch_release(b, &b->batches[0]);
        batch_release(b, &b->batches[1]);
    }
    free(b->types);
    free(b->binds);
    free(b->sql);
    free(b);
}

void store_bulk_row(struct store_bulk *b)
{
    struct bulk_batch *t = b->fill;
    if (t->rows >= b->max_rows)
        dmarcd_die("store_bulk_row: batch full, flush first");
    unsigned r = t->rows++;
    for (unsigned i = 0; i < b->ncols; i++) {
        struct bulk_col *c = &t->cols[i];
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
    if (!b->fill->rows || col >= b->ncols || b->fill->cols[col].type != type)
        dmarcd_die("store_bulk: no row, or column index or type wrong");
    return &b->fill->cols[col];
}

void store_bulk_int(struct store_bulk *b, unsigned col, int64_t v)
{
    struct bulk_col *c = slot(b, col, STORE_BULK_INT);
    memcpy(&c->nums[b->fill->rows - 1], &v, sizeof(v));
    c->ind[b->fill->rows - 1] = STMT_INDICATOR_NONE;
}

void store_bulk_uint(struct store_bulk *b, unsigned col, uint64_t v)
{
    struct bulk_col *c = slot(b, col, STORE_BULK_UINT);
    c->nums[b->fill->rows - 1] = v;
    c->ind[b->fill->rows - 1] = STMT_INDICATOR_NONE;
}

void store_bulk_text(struct store_bulk *b, unsigned col, const char *v, size_t len)
{
    struct bulk_col *c = slot(b, col, STORE_BULK_TEXT);
    unsigned r = b->fill->rows - 1;
    if (!v) {
        c->ind[r] = STMT_INDICATOR_NULL;
        return;
    }
    c->offs[r] = b->fill->text.len;
    c->lens[r] = (unsigned long)len;
    (void)strbuf_add(&b->fill->text, v, len);
    c->ind[r] = STMT_INDICATOR_NONE;
}

void store_bulk_str(struct store_bulk *b, unsigned col, const char *v)
{
    store_bulk_text(b, col, v, v ? strlen(v) : 0);
}

unsigned store_bulk_rows(const struct store_bulk *b)
{
    return b->fill->rows;
}

bool store_bulk_full(const struct store_bulk *b)
{
    return b->fill->rows >= b->max_rows || b->fill->text.len >= STORE_BULK_MAX_BYTES;
}

void store_bulk_discard(struct store_bulk *b)
{
    if (!b)
        return;
    (void)store_bulk_wait(b);
    batch_reset(b->fill);
}

static void bind_columns(struct store_bulk *b, struct bulk_batch *t)
{
    memset(b->binds, 0, b->ncols * sizeof(*b->binds));
    for (unsigned i = 0; i < b->ncols; i++) {
        struct bulk_col *c = &t->cols[i];
        MYSQL_BIND *m = &b->binds[i];
        m->u.indicator = c->ind;
        if (c->type == STORE_BULK_TEXT) {
            for (unsigned r = 0; r < t->rows; r++)
                c->ptrs[r] = t->text.buf + c->offs[r];
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

/* Executes batch t; true on failure (the statement holds the error). */
static bool execute(struct store_bulk *b, struct bulk_batch *t)
{
    unsigned int size = t->rows;
    bind_columns(b, t);
    return mysql_stmt_attr_set(b->stmt, STMT_ATTR_ARRAY_SIZE, &size) ||
           mysql_stmt_bind_param(b->stmt, b->binds) || mysql_stmt_execute(b->stmt);
}

/* The helper thread: executes each batch handed over, until told to quit. */
static void *helper_main(void *arg)
{
    struct store_bulk *b = arg;
    struct bulk_thread *h = b->helper;
    (void)mysql_thread_init();
    pthread_mutex_lock(&h->lock);
    for (;;) {
        while (!h->quit && !h->job)
            pthread_cond_wait(&h->cond, &h->lock);
        if (h->quit)
            break;
        struct bulk_batch *t = h->job;
        pthread_mutex_unlock(&h->lock);
        struct bulk_outcome out = { .failed = execute(b, t) };
        if (out.failed) {
            out.errnum = mysql_stmt_errno(b->stmt);
            snprintf(out.sqlstate, sizeof(out.sqlstate), "%s", mysql_stmt_sqlstate(b->stmt));
            snprintf(out.message, sizeof(out.message), "%s", mysql_stmt_error(b->stmt));
        }
        pthread_mutex_lock(&h->lock);
        h->out = out;
        h->job = NULL;
        pthread_cond_broadcast(&h->cond);
    }
    pthread_mutex_unlock(&h->lock);
    mysql_thread_end();
    return NULL;
}

/* Makes the helper thread, with every signal blocked (signals are the
 * main thread's business); false if it cannot be made. */
static bool start_helper(struct store_bulk *b)
{
    struct bulk_thread *h = xcalloc(1, sizeof(*h));
    sigset_t all, old;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    b->helper = h;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&h->thread, NULL, helper_main, b);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        log_warn("bulk helper thread not started: statements run in the caller's thread",
                 LOG_INT("errno", err));
        pthread_cond_destroy(&h->cond);
        pthread_mutex_destroy(&h->lock);
        free(h);
        b->helper = NULL;
        return false;
    }
    return true;
}

enum dmarcd_err store_bulk_wait(struct store_bulk *b)
{
    if (!b || !b->helper || !b->helper->busy)
        return DMARCD_OK;
    struct bulk_thread *h = b->helper;
    pthread_mutex_lock(&h->lock);
    while (h->job)
        pthread_cond_wait(&h->cond, &h->lock);
    struct bulk_outcome out = h->out;
    h->busy = false;
    pthread_mutex_unlock(&h->lock);
    batch_reset(b->fill == &b->batches[0] ? &b->batches[1] : &b->batches[0]);
    if (!out.failed)
        return DMARCD_OK;
    return store_fail(b->st, b->sql, out.errnum, out.sqlstate, out.message, false);
}

enum dmarcd_err store_bulk_flush(struct store_bulk *b)
{
    enum dmarcd_err rc = store_bulk_wait(b);
    if (rc || !b->fill->rows)
        goto out;
    if ((rc = store_check_usable(b->st)))
        goto out;
    if (execute(b, b->fill))
        rc = fail_bulk(b);
out:
    batch_reset(b->fill);
    return rc;
}

enum dmarcd_err store_bulk_send(struct store_bulk *b)
{
    enum dmarcd_err rc = store_bulk_wait(b);
    if (rc) {
        batch_reset(b->fill);
        return rc;
    }
    if (!b->fill->rows)
        return DMARCD_OK;
    if (!b->helper && !b->no_helper)
        b->no_helper = !start_helper(b);
    if (!b->helper)
        return store_bulk_flush(b);
    if ((rc = store_check_usable(b->st))) {
        batch_reset(b->fill);
        return rc;
    }
    struct bulk_thread *h = b->helper;
    pthread_mutex_lock(&h->lock);
    h->job = b->fill;
    h->busy = true;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    b->fill = b->fill == &b->batches[0] ? &b->batches[1] : &b->batches[0];
    return DMARCD_OK;
}
