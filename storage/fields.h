/*
 * fields.h - report values turned into column values: enumerations, text
 * cut to a column's width, JSON text for the JSON columns.
 *
 * The parser hands over what the reporter sent, normalised but not
 * bounded to our schema; MariaDB runs in strict mode and refuses what does
 * not fit. These pure functions (no database) decide, in one place, how a
 * value is made to fit:
 *
 *   - an enumeration outside the column's ENUM set is NULL (the report's
 *     warnings already keep the raw word, see parser/aggregate.c);
 *   - text longer than a VARCHAR(n) column is cut after n characters, at a
 *     UTF-8 character boundary, and the caller adds a warning;
 *   - bytes that are not UTF-8 (possible in failure-report fields and file
 *     names, never in XML) become U+FFFD, since a utf8mb4 column refuses
 *     them;
 *   - JSON text is built here with every string escaped, so the JSON
 *     columns always hold valid JSON.
 */
#ifndef DMARCD_STORAGE_FIELDS_H
#define DMARCD_STORAGE_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/strbuf.h"

/* The ENUM columns of schema/002_reports.sql. */
enum store_enum_set {
    STORE_ENUM_DISPOSITION,     /* none quarantine reject pass */
    STORE_ENUM_VERDICT,         /* pass fail (policy_evaluated dkim/spf) */
    STORE_ENUM_ALIGNMENT,       /* r s (adkim, aspf) */
    STORE_ENUM_POLICY,          /* none quarantine reject (p, sp, np) */
    STORE_ENUM_TESTING,         /* n y */
    STORE_ENUM_DISCOVERY,       /* psl treewalk */
    STORE_ENUM_DELIVERY,        /* delivered spam policy reject other */
    STORE_ENUM_TLS_POLICY,      /* sts tlsa no-policy-found */
};

/* The set's own spelling of v (a static string), NULL when v is NULL or
 * not in the set. Exact match: the parser has already lower-cased. */
const char *store_enum(enum store_enum_set set, const char *v);

/* What store_fit() did to a value. */
enum { STORE_FIT_CUT = 1, STORE_FIT_REPAIRED = 2 };

/*
 * The bytes to store for the NUL-terminated s in a column of at most
 * max_chars characters (0: no limit). When s is valid UTF-8 within the
 * limit (the usual case) s itself is returned, nothing copied; otherwise
 * the repaired and/or cut text is built in scratch (reset first) and
 * scratch->buf returned. *len receives the length in bytes; *flags (may be
 * NULL) gets STORE_FIT_CUT / STORE_FIT_REPAIRED or'ed in. NULL s: NULL.
 */
const char *store_fit(const char *s, size_t max_chars, struct strbuf *scratch, size_t *len,
                      unsigned *flags);

/* Like store_fit(), for a value of len bytes that may hold NUL bytes. */
const char *store_fit_len(const char *s, size_t slen, size_t max_chars, struct strbuf *scratch,
                          size_t *len, unsigned *flags);

/*
 * Like store_fit() for file names and part paths, where the end says the
 * most: a longer value keeps its last characters after "...". Never NULL
 * for a non-NULL s.
 */
const char *store_fit_tail(const char *s, size_t max_chars, struct strbuf *scratch, size_t *len);

/* ASCII lower-casing into scratch (reset first); returns scratch->buf. */
const char *store_lower(const char *s, struct strbuf *scratch);

/* ---- JSON text ---- */

/* Appends s as a JSON string (quotes, escapes; invalid UTF-8 as U+FFFD). */
void store_json_str(struct strbuf *sb, const char *s);

/*
 * Appends `,"key":"value"` (without the comma for the first member of an
 * object: *first is cleared). NULL value: nothing, as `dmarcd parse`
 * omits absent members.
 */
void store_json_member(struct strbuf *sb, bool *first, const char *key, const char *value);

/* ["a","b",...] of items[0..n); appends "[]" for none. */
void store_json_str_array(struct strbuf *sb, const char *const *items, size_t n);

#endif
