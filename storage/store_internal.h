/*
 * store_internal.h - what store.c shares with the other storage/ files:
 * the layout of struct store and the one error mapper. Not for use outside
 * storage/.
 */
#ifndef DMARCD_STORAGE_STORE_INTERNAL_H
#define DMARCD_STORAGE_STORE_INTERNAL_H

#include <mysql.h>
#include <stdbool.h>

#include "lib/error.h"
#include "storage/store.h"

#define STORE_ERROR_TEXT_MAX 512

struct store {
    MYSQL *mysql;
    char *database;
    bool in_txn;
    bool broken;                    /* connection lost: only close() is useful */
    unsigned last_errno;
    char last_error[STORE_ERROR_TEXT_MAX];
};

/*
 * The one place a server or client error number becomes a dmarcd error.
 * Records the error in st (last_errno/last_error), marks the store broken
 * on connection loss, and logs `what` (an SQL text with placeholders, or
 * an operation name) with the number and, unless it may quote values,
 * the message. quiet: record and map only, do not log.
 */
enum dmarcd_err store_fail(struct store *st, const char *what, unsigned errnum,
                           const char *sqlstate, const char *message, bool quiet);

/* True for a duplicate-key error number. */
bool store_errno_is_duplicate(unsigned errnum);

/* DMARCD_E_DB_UNAVAILABLE when the store is broken, else DMARCD_OK. */
enum dmarcd_err store_check_usable(struct store *st);

#endif
