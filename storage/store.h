/*
 * store.h - a connection to dmarcd's MariaDB database.
 *
 * struct store is an opaque handle owning one MariaDB Connector/C
 * connection. One connection per thread: a store is never shared between
 * threads (each worker thread opens its own; the connector's library
 * initialisation is done once, thread-safely, by store_open).
 *
 *   struct store *st;
 *   rc = store_open(&url, &st);          connects, retrying with backoff
 *   rc = store_begin(st); ... statements (stmt.h, tenants.h, ...) ...
 *   rc = store_commit(st);               or store_rollback(st)
 *   store_close(st);                     NULL-safe
 *
 * Errors are mapped in one place (store.c): a lost or refused connection
 * is DMARCD_E_DB_UNAVAILABLE (transient: keep the message, retry later);
 * a deadlock or lock wait timeout is DMARCD_E_TEMPORARY (transient: retry
 * the transaction); anything else is DMARCD_E_DB (permanent), logged with
 * the server's message unless that message may quote stored values. After
 * a connection-level error the store is broken: every later call returns
 * DMARCD_E_DB_UNAVAILABLE and the owner closes it and opens a new one. The
 * connector's own auto-reconnect stays off because it would silently drop
 * the session (transaction, time zone, prepared statements).
 *
 * Every session runs in UTC (time_zone '+00:00'), utf8mb4, strict SQL mode.
 */
#ifndef DMARCD_STORAGE_STORE_H
#define DMARCD_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/url.h"

struct store;

struct store_options {
    unsigned connect_timeout_s;     /* per attempt */
    unsigned read_timeout_s;        /* waiting for a result; 0: no limit */
    unsigned write_timeout_s;
    unsigned connect_attempts;      /* >= 1 */
    unsigned backoff_first_ms;      /* delay after the first failed attempt, doubled each time */
    unsigned backoff_max_ms;
};

/* connect 5 s, read/write 60 s, 5 attempts 100 ms .. 2 s apart. */
void store_options_default(struct store_options *opts);

/*
 * Connects to url (TCP, or the unix socket when url->socket is set; TLS
 * required when url->tls, verified against url->tls_ca when given), sets
 * up the session, and returns the handle in *out (NULL on failure).
 * Connection failures are retried with bounded exponential backoff; when
 * the last attempt fails the result is DMARCD_E_DB_UNAVAILABLE. why, when
 * not NULL, receives the server's reason (never the password).
 */
enum dmarcd_err store_open_opts(const struct db_url *url, const struct store_options *opts,
                                struct store **out, struct strbuf *why) DMARCD_MUST_CHECK;

/* store_open_opts() with the default options and no why. */
enum dmarcd_err store_open(const struct db_url *url, struct store **out) DMARCD_MUST_CHECK;

/* Closes the connection and frees the handle; NULL is a no-op. */
void store_close(struct store *st);

/* Transactions. begin while one is open is DMARCD_E_INTERNAL. */
enum dmarcd_err store_begin(struct store *st) DMARCD_MUST_CHECK;
enum dmarcd_err store_commit(struct store *st) DMARCD_MUST_CHECK;
/* Rolls back the open transaction, if any; NULL-safe; failures are logged
 * (the server rolls back on disconnect anyway). */
void store_rollback(struct store *st);

/* The database name the store is connected to. */
const char *store_database(const struct store *st);

/* The last server error text, "" if none (withheld when it may quote values). */
const char *store_last_error(const struct store *st);

/* The server version string, e.g. "10.11.6-MariaDB-0+deb12u1". */
const char *store_server_version(const struct store *st);

/* SHA-256 (libsodium), for migration checksums and report keys. */
void store_sha256(const void *data, size_t len, uint8_t out[32]);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void store_hex(const uint8_t *bytes, size_t n, char *out);

#endif
