/*
 * bulk.h - many rows per statement execution, with Connector/C array
 * binding (STMT_ATTR_ARRAY_SIZE): one round trip and one server-side
 * execution for a whole batch of records or roll-up upserts.
 *
 * Internal to storage/, like stmt.h. The caller fills rows column by
 * column and flushes when the batch is full:
 *
 *   static const enum store_bulk_type types[] = { STORE_BULK_UINT, STORE_BULK_TEXT };
 *   rc = store_bulk_prepare(st, "INSERT INTO t (a, b) VALUES (?, ?)", types, 2, 1000, &b);
 *   for each row:
 *       store_bulk_row(b);                    a new row, every column NULL
 *       store_bulk_uint(b, 0, n);
 *       store_bulk_str(b, 1, text);           copied: the caller's buffer may go
 *       if (store_bulk_full(b) && (rc = store_bulk_flush(b))) goto out;
 *   rc = store_bulk_flush(b);                 the rest
 *   store_bulk_free(b);                       NULL-safe; waits for a batch in flight
 *
 * A flush executes the pending rows as one statement (in the caller's
 * transaction, if any) and empties the batch whether it succeeded or not.
 *
 * store_bulk_send() is a flush that does not wait: a helper thread
 * executes the rows while the caller adds the next ones (the parser keeps
 * parsing while the server stores). Until store_bulk_wait() returns, the
 * batch in flight owns the connection: the caller must not use the store
 * in any other way (no statement, commit or rollback). Its error comes
 * back from the next send, flush or wait:
 *
 *   for each row: ...; if (store_bulk_full(b) && (rc = store_bulk_send(b))) goto out;
 *   rc = store_bulk_flush(b);                 waits for the batch in flight, then the rest
 *   on error: (void)store_bulk_wait(b); store_rollback(st);
 *
 * A batch is full at its row count or at STORE_BULK_MAX_BYTES of text,
 * which keeps every request far below the server's max_allowed_packet
 * (16 MiB by default) whatever the rows hold. Errors are mapped by store.c.
 */
#ifndef DMARCD_STORAGE_BULK_H
#define DMARCD_STORAGE_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "storage/store.h"

/* Text bytes per batch; one row may pass it alone (a record's strings are
 * capped at DMARCD_MAX_RECORD_BYTES, 4 MiB, by the parser). */
#define STORE_BULK_MAX_BYTES (4u * 1024 * 1024)

enum store_bulk_type {
    STORE_BULK_INT,     /* int64_t */
    STORE_BULK_UINT,    /* uint64_t */
    STORE_BULK_TEXT,    /* bytes, sent as a string (also for INET6, DATE, ENUM, JSON) */
};

struct store_bulk;

enum dmarcd_err store_bulk_prepare(struct store *st, const char *sql,
                                   const enum store_bulk_type *types, unsigned ncols,
                                   unsigned max_rows, struct store_bulk **out) DMARCD_MUST_CHECK;
void store_bulk_free(struct store_bulk *b);

/* Starts a row, every column NULL. The batch must not be full. */
void store_bulk_row(struct store_bulk *b);

/* Set column col of the current row. NULL text is SQL NULL. */
void store_bulk_int(struct store_bulk *b, unsigned col, int64_t v);
void store_bulk_uint(struct store_bulk *b, unsigned col, uint64_t v);
void store_bulk_text(struct store_bulk *b, unsigned col, const char *v, size_t len);
void store_bulk_str(struct store_bulk *b, unsigned col, const char *v);

unsigned store_bulk_rows(const struct store_bulk *b);
bool store_bulk_full(const struct store_bulk *b);

/* Executes the pending rows, if any, and empties the batch (after waiting
 * for a batch in flight, whose error it returns first). */
enum dmarcd_err store_bulk_flush(struct store_bulk *b) DMARCD_MUST_CHECK;

/* Hands the pending rows, if any, to the helper thread and returns (after
 * waiting for the previous batch in flight, whose error it returns, the
 * pending rows dropped). Without a helper thread, a flush. */
enum dmarcd_err store_bulk_send(struct store_bulk *b) DMARCD_MUST_CHECK;

/* Waits until no batch is in flight: its result (mapped by store.c, so a
 * lost connection marks the store broken). NULL is a no-op. */
enum dmarcd_err store_bulk_wait(struct store_bulk *b);

/* Drops the pending rows (the transaction is being rolled back), after
 * waiting for a batch in flight. */
void store_bulk_discard(struct store_bulk *b);

#endif
