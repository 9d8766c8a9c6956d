/*
 * stmt.h - prepared statements, the only way storage/ talks SQL.
 *
 * Internal to storage/ (and its tests): the rest of dmarcd calls the
 * typed functions of tenants.h, migrate.h, ... and never writes SQL. Values
 * always travel as bound parameters, so no input can change a statement.
 *
 *   struct store_stmt *s;
 *   rc = store_stmt_prepare(st, "SELECT id, name FROM tenants WHERE tier = ?", &s);
 *   if (rc) goto out;
 *   store_bind_str(s, 0, tier);
 *   rc = store_stmt_exec(s);                  runs it, buffers any result set
 *   while (!(rc = store_stmt_fetch(s, &row)) && row)
 *       use store_col_u64(s, 0), store_col_str(s, 1) ...
 *   store_stmt_free(s);                       NULL-safe
 *
 * Parameters are numbered from 0. Integers are copied at bind time; string
 * and byte parameters are borrowed until the statement is executed. A
 * statement may be re-bound and executed again. Result columns are fetched
 * as text (integers in decimal, INET6 as text, BINARY as raw bytes) into
 * buffers that grow to fit; a column value lives until the next fetch.
 * Result sets are buffered client-side, so another statement may run
 * while one is being read (good for admin and API pages; bulk writers use
 * array binding instead).
 *
 * Errors are logged and mapped by store.c (see store.h).
 */
#ifndef DMARCD_STORAGE_STMT_H
#define DMARCD_STORAGE_STMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "storage/store.h"

struct store_stmt;

enum dmarcd_err store_stmt_prepare(struct store *st, const char *sql,
                                   struct store_stmt **out) DMARCD_MUST_CHECK;
void store_stmt_free(struct store_stmt *s);

/* NULL v binds SQL NULL. */
void store_bind_str(struct store_stmt *s, unsigned i, const char *v);
void store_bind_bytes(struct store_stmt *s, unsigned i, const void *v, size_t len);
void store_bind_i64(struct store_stmt *s, unsigned i, int64_t v);
void store_bind_u64(struct store_stmt *s, unsigned i, uint64_t v);
void store_bind_null(struct store_stmt *s, unsigned i);

/* Executes with the bound parameters (all must be bound). */
enum dmarcd_err store_stmt_exec(struct store_stmt *s) DMARCD_MUST_CHECK;

/*
 * Like store_stmt_exec(), but a duplicate-key error is an expected
 * outcome: it sets *duplicate and returns DMARCD_OK without logging.
 */
enum dmarcd_err store_stmt_exec_dup(struct store_stmt *s, bool *duplicate) DMARCD_MUST_CHECK;

/* Next row of the result set: *row false at the end. */
enum dmarcd_err store_stmt_fetch(struct store_stmt *s, bool *row) DMARCD_MUST_CHECK;

/* Column i of the current row. NULL (and 0) for SQL NULL. */
const char *store_col_str(const struct store_stmt *s, unsigned i);
size_t store_col_len(const struct store_stmt *s, unsigned i);
bool store_col_is_null(const struct store_stmt *s, unsigned i);
int64_t store_col_i64(const struct store_stmt *s, unsigned i);
uint64_t store_col_u64(const struct store_stmt *s, unsigned i);
/* A heap copy of the column, "" for NULL. */
char *store_col_dup(const struct store_stmt *s, unsigned i);

uint64_t store_stmt_affected(const struct store_stmt *s);
uint64_t store_stmt_insert_id(const struct store_stmt *s);

/*
 * Runs sql with no parameters and no result (DDL, SET ...): prepare,
 * execute, free.
 */
enum dmarcd_err store_exec_sql(struct store *st, const char *sql) DMARCD_MUST_CHECK;

#endif
