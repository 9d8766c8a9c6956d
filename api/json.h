/*
 * json.h - how the REST API speaks: JSON bodies in and out (jansson), the
 * one error shape {"error": {"code", "message"}}, query parameters, dates,
 * and CSV for tables.
 *
 * Every reply goes through api_reply_*(), which sets status, content type
 * and body; a handler replies exactly once. Strings from the database are
 * passed through api_jstr(), which never fails on bad UTF-8 (it is replaced)
 * so a stray byte cannot turn a page into a 500.
 */
#ifndef DMARCD_API_JSON_H
#define DMARCD_API_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/http.h"
#include "lib/error.h"

/* ---- replies ---- */

/* Serialises obj (reference stolen) with status. */
void api_reply_json(struct api_call *c, unsigned status, json_t *obj);
/* {"error": {"code": code, "message": message}} with status. */
void api_reply_error(struct api_call *c, unsigned status, const char *code, const char *message);
/* The reply for a storage error: 404, 400 (with why), 503 or 500. */
void api_reply_store_error(struct api_call *c, enum dmarcd_err rc, const struct strbuf *why);
/* Same on a bare response (dispatcher level, before a call exists). */
void api_response_error(struct api_response *resp, unsigned status, const char *code,
                        const char *message);
/* 204 No Content. */
void api_reply_empty(struct api_call *c);

/* ---- values out ---- */

/* A JSON string of s (NULL: JSON null); invalid UTF-8 replaced by U+FFFD. */
json_t *api_jstr(const char *s);
/* s if not "" else null. */
json_t *api_jstr_or_null(const char *s);
json_t *api_juint(uint64_t v);
/* Epoch seconds as RFC 3339, or null when out of range. */
json_t *api_jtime(int64_t t);
/* Parses JSON text from the database (an array or object); null when absent or bad. */
json_t *api_jraw(const char *text);

/* ---- values in ---- */

/* The query value `name` ("" counts as absent: NULL). */
const char *api_query(const struct api_call *c, const char *name);

/*
 * An unsigned query number in [min, max]: *out = def when absent. false
 * (after replying 400 naming the parameter) when it is not one.
 */
bool api_query_uint(struct api_call *c, const char *name, unsigned min, unsigned max,
                    unsigned def, unsigned *out);

/*
 * from/to of a query, as "YYYY-MM-DD" (UTC). Absent to: today; absent from:
 * to minus (default_days - 1). When default_days is 0 absent stays absent
 * (NULL). false after replying 400 when one is not a date.
 */
bool api_query_range(struct api_call *c, unsigned default_days, const char **from,
                     const char **to, char from_buf[11], char to_buf[11]);

/*
 * Parses the request body as a JSON object (Content-Type application/json,
 * UTF-8, no duplicate keys). NULL after replying 415 or 400.
 */
json_t *api_body_object(struct api_call *c);

/*
 * Checks that obj has only the keys in `allowed` (comma-separated) and that
 * each present key is a string (or the type asked by a leading '#': number,
 * '?': boolean). false after replying 400.
 */
bool api_body_keys(struct api_call *c, json_t *obj, const char *allowed);

/* Overwrites the string member key of obj (a password) before it is freed. */
void api_body_wipe(json_t *obj, const char *key);

/* A string member of obj, or NULL. */
const char *api_body_str(json_t *obj, const char *key);

/* True when s[0..n) is well-formed UTF-8 without NUL or other C0 controls
 * (tab allowed) and DEL. */
bool api_utf8_valid(const char *s, size_t n);

/* An id: 1 to 19 digits without leading zero, not 0. */
bool api_parse_id(const char *s, uint64_t *out);

/* Today (UTC) as "YYYY-MM-DD"; day_add moves a valid day by n days. */
void api_today(char out[11]);
void api_day_add(const char *day, int n, char out[11]);

/* ---- CSV ---- */

/* True when the client asked for CSV (?format=csv, or Accept: text/csv
 * without format=json). false and a 400 reply when format is neither. */
bool api_wants_csv(struct api_call *c, bool *csv);

/* Appends one CSV field (RFC 4180 quoting; a leading = + - @ tab or CR is
 * prefixed with ' so spreadsheets do not run it as a formula). */
void api_csv_field(struct strbuf *out, const char *v, bool last);
void api_csv_uint(struct strbuf *out, uint64_t v, bool last);

/* Sends out as text/csv with a download file name. */
void api_reply_csv(struct api_call *c, struct strbuf *out, const char *filename);

#endif
