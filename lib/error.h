/*
 * error.h - the one error type of dmarcd.
 *
 * Every function that can fail returns enum dmarcd_err (DMARCD_OK == 0), so
 * callers write `rc = f(); if (rc) goto out;`. Each error is decided here,
 * once, to be either transient (the world is briefly unwell: database down,
 * timeout; retry later and keep the message) or permanent (the input itself
 * is bad or over a limit; quarantine it with the reason). Out of memory is
 * not an error: it aborts (see xalloc.h).
 *
 * The table in error.c gives each error a stable code (used in logs, API
 * errors and quarantine rows) and a human sentence.
 */
#ifndef DMARCD_ERROR_H
#define DMARCD_ERROR_H

#include <stdbool.h>

#define DMARCD_MUST_CHECK __attribute__((warn_unused_result))

/* X(name, code, transient, message) */
#define DMARCD_ERRORS(X)                                                        \
    X(DMARCD_OK, "ok", false, "success")                                       \
    X(DMARCD_E_USAGE, "usage", false, "bad command-line usage")                \
    X(DMARCD_E_CONFIG, "config", false, "invalid configuration")               \
    X(DMARCD_E_INVALID, "invalid", false, "invalid argument")                  \
    X(DMARCD_E_INTERNAL, "internal", false, "internal error")                  \
    X(DMARCD_E_IO, "io", false, "input/output error")                          \
    X(DMARCD_E_NOT_FOUND, "not_found", false, "not found")                     \
    X(DMARCD_E_TOO_BIG, "too_big", false, "size limit exceeded")               \
    X(DMARCD_E_RATIO, "ratio", false, "decompression ratio limit exceeded")    \
    X(DMARCD_E_TOO_MANY, "too_many", false, "count limit exceeded")            \
    X(DMARCD_E_TOO_DEEP, "too_deep", false, "nesting limit exceeded")          \
    X(DMARCD_E_TOO_LONG, "too_long", false, "text length limit exceeded")      \
    X(DMARCD_E_TRUNCATED, "truncated", false, "input ends too early")          \
    X(DMARCD_E_DECOMPRESS, "decompress", false, "corrupt compressed data")     \
    X(DMARCD_E_ARCHIVE, "archive", false, "corrupt or unsupported archive")    \
    X(DMARCD_E_MIME, "mime", false, "unreadable mail message")                 \
    X(DMARCD_E_XML, "xml", false, "malformed xml")                             \
    X(DMARCD_E_XML_FORBIDDEN, "xml_forbidden", false,                          \
      "xml uses a forbidden feature (dtd, entity, external reference)")        \
    X(DMARCD_E_JSON, "json", false, "malformed json")                          \
    X(DMARCD_E_NOT_REPORT, "not_report", false, "no report found in input")    \
    X(DMARCD_E_BAD_REPORT, "bad_report", false,                                \
      "report lacks required data")                                            \
    X(DMARCD_E_EMPTY_REPORT, "empty_report", false,                            \
      "report holds no data (known reporter placeholder)")                     \
    X(DMARCD_E_UNKNOWN_DOMAIN, "unknown_domain", false,                        \
      "policy domain belongs to no tenant")                                    \
    X(DMARCD_E_CRYPTO, "crypto", false, "cryptographic operation failed")      \
    X(DMARCD_E_DB, "db", false, "database rejected the operation")             \
    X(DMARCD_E_DB_UNAVAILABLE, "db_unavailable", true,                         \
      "database unreachable")                                                  \
    X(DMARCD_E_QUEUE_UNAVAILABLE, "queue_unavailable", true,                   \
      "redis unreachable")                                                     \
    X(DMARCD_E_TIMEOUT, "timeout", true, "operation timed out")                \
    X(DMARCD_E_TEMPORARY, "temporary", true, "temporary failure, retry later")

enum dmarcd_err {
#define DMARCD_ERR_ENUM(name, code, transient, message) name,
    DMARCD_ERRORS(DMARCD_ERR_ENUM)
#undef DMARCD_ERR_ENUM
    DMARCD_ERR_COUNT
};

/* A sentence for people ("xml uses a forbidden feature ..."). */
const char *dmarcd_strerror(enum dmarcd_err err);

/* A stable lower-case identifier ("xml_forbidden") for logs and APIs. */
const char *dmarcd_err_code(enum dmarcd_err err);

/* True when retrying later may succeed; false for permanent errors. */
bool dmarcd_err_is_transient(enum dmarcd_err err);

/*
 * The process exit status for an error, per the command-line contract:
 * 0 ok, 2 usage or configuration, 3 a service unreachable, 1 otherwise.
 */
int dmarcd_err_exit_status(enum dmarcd_err err);

#endif
