/*
 * store.c - opening, configuring and closing the MariaDB connection, the
 * one table that turns connector and server error numbers into dmarcd
 * errors, and transactions.
 *
 * Connection failures are retried here with bounded exponential backoff
 * (a pod starting next to a database that is still starting, a Galera
 * node rejoining) so callers see one outcome: connected, or unavailable.
 * Errors met later are never retried here: whether a statement may be
 * repeated is the caller's decision (a transaction is retried whole).
 */
#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/stmt.h"
#include "storage/store.h"
#include "storage/store_internal.h"
#include "lib/banned.h"

/* Strict, so a value that does not fit is an error rather than silently
 * truncated; UTC, so DATETIME columns mean the same on every server. */
static const char SESSION_SETUP_SQL[] =
    "SET time_zone = '+00:00', "
    "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'";

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_status;

static void library_init(void)
{
    /* mysql_library_init is not thread-safe; sodium_init only needs to
     * run once before crypto_hash_sha256. */
    library_status = mysql_library_init(0, NULL, NULL) ? -1 : 0;
    if (sodium_init() < 0)
        library_status = -1;
}

void store_options_default(struct store_options *opts)
{
    opts->connect_timeout_s = 5;
    opts->read_timeout_s = 60;
    opts->write_timeout_s = 60;
    opts->connect_attempts = 5;
    opts->backoff_first_ms = 100;
    opts->backoff_max_ms = 2000;
}

/* ---- the error table ---- */

/* The connection is gone or the server will not serve us now: reconnect
 * (perhaps to another node) and retry later. */
static bool errno_unavailable(unsigned e)
{
    switch (e) {
    case CR_CONNECTION_ERROR: case CR_CONN_HOST_ERROR: case CR_IPSOCK_ERROR:
    case CR_UNKNOWN_HOST: case CR_SERVER_GONE_ERROR: case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED: case CR_SERVER_HANDSHAKE_ERR: case CR_ERR_NET_READ:
    case CR_ERR_NET_WRITE: case ER_CONNECTION_KILLED: case ER_SERVER_SHUTDOWN:
    case ER_NET_READ_INTERRUPTED: case ER_NET_ERROR_ON_WRITE: case ER_CON_COUNT_ERROR:
    case ER_TOO_MANY_USER_CONNECTIONS: case ER_HOST_IS_BLOCKED:
    case ER_UNKNOWN_COM_ERROR:        /* Galera: node not ready for queries */
    case ER_OPTION_PREVENTS_STATEMENT: /* --read-only replica after a failover */
    case ER_READ_ONLY_MODE:
        return true;
    default:
        return false;
    }
}

/* The statement lost a race with another transaction: retry it whole.
 * InnoDB reports a deadlock or lock wait timeout on the table's AUTO-INC
 * lock (which INSERT ... SELECT holds for the whole statement) as
 * ER_AUTOINC_READ_FAILED. */
static bool errno_temporary(unsigned e)
{
    return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT || e == ER_QUERY_INTERRUPTED ||
           e == ER_AUTOINC_READ_FAILED;
}

/* Messages of these errors quote the offending value, which may be data
 * from a report (even personal data): log the number only. */
static bool errno_quotes_values(unsigned e)
{
    switch (e) {
    case ER_DUP_ENTRY: case ER_DUP_ENTRY_WITH_KEY_NAME: case ER_DUP_UNIQUE:
    case ER_TRUNCATED_WRONG_VALUE: case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
    case ER_WRONG_VALUE_FOR_TYPE: case ER_INVALID_CHARACTER_STRING: case ER_WRONG_VALUE:
    case ER_DATA_OUT_OF_RANGE: case ER_CANNOT_CONVERT_CHARACTER: case ER_SIGNAL_EXCEPTION:
        return true;
    default:
        return false;
    }
}

bool store_errno_is_duplicate(unsigned errnum)
{
    return errnum == ER_DUP_ENTRY || errnum == ER_DUP_ENTRY_WITH_KEY_NAME ||
           errnum == ER_DUP_UNIQUE;
}

enum dmarcd_err store_fail(struct store *st, const char *what, unsigned errnum,
                           const char *sqlstate, const char *message, bool quiet)
{
    enum dmarcd_err rc = DMARCD_E_DB;
    if (errno_unavailable(errnum))
        rc = DMARCD_E_DB_UNAVAILABLE;
    else if (errno_temporary(errnum))
        rc = DMARCD_E_TEMPORARY;
    else if (errnum == ER_STATEMENT_TIMEOUT)
        rc = DMARCD_E_TIMEOUT;
    const char *shown = errno_quotes_values(errnum)
                            ? "(message withheld: it may quote stored values)"
                            : (message ? message : "");
    st->last_errno = errnum;
    snprintf(st->last_error, sizeof(st->last_error), "%s", shown);
    if (rc == DMARCD_E_DB_UNAVAILABLE)
        st->broken = true;
    if (!quiet)
        log_error("database error", LOG_STR("op", what), LOG_UINT("errno", errnum),
                  LOG_STR("sqlstate", sqlstate ? sqlstate : ""), LOG_STR("message", shown),
                  LOG_ERR(rc));
    return rc;
}

enum dmarcd_err store_check_usable(struct store *st)
{
    if (!st->broken)
        return DMARCD_OK;
    snprintf(st->last_error, sizeof(st->last_error), "%s",
             "connection lost earlier; reopen the store");
    return DMARCD_E_DB_UNAVAILABLE;
}

static enum dmarcd_err fail_mysql(struct store *st, const char *what)
{
    return store_fail(st, what, mysql_errno(st->mysql), mysql_sqlstate(st->mysql),
                      mysql_error(st->mysql), false);
}

/* ---- connecting ---- */

static void set_options(MYSQL *m, const struct db_url *url, const struct store_options *o)
{
    unsigned int ct = o->connect_timeout_s, rt = o->read_timeout_s, wt = o->write_timeout_s;
    my_bool off = 0, on = 1;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &wt);
    mysql_options(m, MYSQL_OPT_RECONNECT, &off);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (url->socket) {
        unsigned int proto = MYSQL_PROTOCOL_SOCKET;
        mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
    }
    if (url->tls) {
        mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &on);
        mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
        if (url->tls_ca)
            mysql_options(m, MYSQL_OPT_SSL_CA, url->tls_ca);
    }
}

static enum dmarcd_err connect_once(struct store *st, const struct db_url *url,
                                    const struct store_options *o)
{
    if (st->mysql)
        mysql_close(st->mysql);
    st->mysql = mysql_init(NULL);
    if (!st->mysql)
        dmarcd_die("mysql_init: out of memory");
    st->broken = false;
    set_options(st->mysql, url, o);
    const char *host = url->socket ? "localhost" : url->host;
    if (mysql_real_connect(st->mysql, host, url->user, url->password, url->database,
                           url->port, url->socket, 0))
        return DMARCD_OK;
    return store_fail(st, "connect", mysql_errno(st->mysql), mysql_sqlstate(st->mysql),
                      mysql_error(st->mysql), true);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static enum dmarcd_err connect_with_backoff(struct store *st, const struct db_url *url,
                                            const struct store_options *o)
{
    unsigned delay = o->backoff_first_ms;
    unsigned attempts = o->connect_attempts ? o->connect_attempts : 1;
    enum dmarcd_err rc = DMARCD_E_DB_UNAVAILABLE;
    const char *where = url->socket ? url->socket : url->host;
    for (unsigned i = 1; i <= attempts; i++) {
        rc = connect_once(st, url, o);
        if (rc != DMARCD_E_DB_UNAVAILABLE)
            break;
        if (i == attempts)
            break;
        log_warn("database connect failed, retrying", LOG_STR("host", where),
                 LOG_UINT("port", url->port), LOG_UINT("attempt", i),
                 LOG_UINT("retry_in_ms", delay), LOG_STR("message", st->last_error));
        sleep_ms(delay);
        delay = delay * 2 > o->backoff_max_ms ? o->backoff_max_ms : delay * 2;
    }
    if (rc)
        log_error("database connect failed", LOG_STR("host", where),
                  LOG_UINT("port", url->port), LOG_STR("database", url->database),
                  LOG_UINT("errno", st->last_errno), LOG_STR("message", st->last_error),
                  LOG_ERR(rc));
    return rc;
}

enum dmarcd_err store_open_opts(const struct db_url *url, const struct store_options *opts,
                                struct store **out, struct strbuf *why)
{
    enum dmarcd_err rc;
    struct store *st = xcalloc(1, sizeof(*st));
    *out = NULL;
    pthread_once(&library_once, library_init);
    if (library_status) {
        snprintf(st->last_error, sizeof(st->last_error), "%s",
                 "cannot initialise the MariaDB client library");
        rc = DMARCD_E_INTERNAL;
        goto out;
    }
    st->database = xstrdup(url->database);
    rc = connect_with_backoff(st, url, opts);
    if (rc)
        goto out;
    rc = store_exec_sql(st, SESSION_SETUP_SQL);
    if (rc)
        goto out;
    log_debug("database connected", LOG_STR("database", url->database),
              LOG_STR("server", mysql_get_server_info(st->mysql)));
    *out = st;
    st = NULL;
out:
    if (st && why) {
        strbuf_reset(why);
        strbuf_addstr(why, st->last_error);
    }
    store_close(st);
    return rc;
}

enum dmarcd_err store_open(const struct db_url *url, struct store **out)
{
    struct store_options opts;
    store_options_default(&opts);
    return store_open_opts(url, &opts, out, NULL);
}

void store_close(struct store *st)
{
    if (!st)
        return;
    if (st->mysql)
        mysql_close(st->mysql);
    free(st->database);
    free(st);
}

/* ---- transactions ---- */

enum dmarcd_err store_begin(struct store *st)
{
    enum dmarcd_err rc = store_check_usable(st);
    if (rc)
        return rc;
    if (st->in_txn) {
        log_error("transaction already open", LOG_STR("op", "begin"));
        return DMARCD_E_INTERNAL;
    }
    if (mysql_autocommit(st->mysql, 0))
        return fail_mysql(st, "begin");
    st->in_txn = true;
    return DMARCD_OK;
}

enum dmarcd_err store_commit(struct store *st)
{
    enum dmarcd_err rc = store_check_usable(st);
    if (rc)
        return rc;
    if (!st->in_txn) {
        log_error("no transaction open", LOG_STR("op", "commit"));
        return DMARCD_E_INTERNAL;
    }
    if (mysql_commit(st->mysql)) {
        rc = fail_mysql(st, "commit");
        store_rollback(st);
        return rc;
    }
    st->in_txn = false;
    if (mysql_autocommit(st->mysql, 1))
        return fail_mysql(st, "autocommit on");
    return DMARCD_OK;
}

void store_rollback(struct store *st)
{
    if (!st || !st->in_txn)
        return;
    st->in_txn = false;
    if (st->broken)
        return;
    if (mysql_rollback(st->mysql) || mysql_autocommit(st->mysql, 1))
        (void)fail_mysql(st, "rollback");
}

/* ---- small accessors ---- */

const char *store_database(const struct store *st)
{
    return st->database;
}

const char *store_last_error(const struct store *st)
{
    return st->last_error;
}

const char *store_server_version(const struct store *st)
{
    return mysql_get_server_info(st->mysql);
}

void store_sha256(const void *data, size_t len, uint8_t out[32])
{
    pthread_once(&library_once, library_init);
    crypto_hash_sha256(out, data, len);
}

void store_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}
