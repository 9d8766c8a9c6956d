/*
 * json.c - replies, parameters, dates and CSV for the API (see json.h).
 *
 * Error replies carry a stable lower-case code for programs and a sentence
 * for people; the sentence may quote a bad parameter (cut short) but never
 * a secret, and never a server-side detail (SQL, paths) that would help an
 * attacker: those go to the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "api/json.h"
#include "api/router.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/queries.h"
#include "lib/banned.h"

/* ---- replies ---- */

static void set_body(struct api_response *resp, unsigned status, const char *type,
                     const char *text, size_t len)
{
    resp->status = status;
    snprintf(resp->content_type, sizeof(resp->content_type), "%s", type);
    strbuf_reset(&resp->body);
    (void)strbuf_add(&resp->body, text, len);
}

void api_reply_json(struct api_call *c, unsigned status, json_t *obj)
{
    if (!obj) {
        /* a json_pack() format that does not match its arguments: a bug */
        log_error("api: reply could not be built", LOG_STR("route", c->route ? c->route->pattern
                                                                               : "-"));
        api_reply_error(c, 500, "internal", "internal error");
        return;
    }
    char *text = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!text)
        dmarcd_die("json_dumps: out of memory");
    set_body(c->resp, status, "application/json", text, strlen(text));
    (void)strbuf_addch(&c->resp->body, '\n');
    free(text);
    json_decref(obj);
}

void api_response_error(struct api_response *resp, unsigned status, const char *code,
                        const char *message)
{
    json_t *obj = json_pack("{s:{s:s,s:o}}", "error", "code", code, "message",
                            api_jstr(message));
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (!text)
        dmarcd_die("json_dumps: out of memory");
    set_body(resp, status, "application/json", text, strlen(text));
    (void)strbuf_addch(&resp->body, '\n');
    free(text);
    json_decref(obj);
}

void api_reply_error(struct api_call *c, unsigned status, const char *code, const char *message)
{
    api_response_error(c->resp, status, code, message);
}

void api_reply_store_error(struct api_call *c, enum dmarcd_err rc, const struct strbuf *why)
{
    c->store_rc = rc;
    switch (rc) {
    case DMARCD_E_NOT_FOUND:
        api_reply_error(c, 404, "not_found", "no such resource");
        break;
    case DMARCD_E_INVALID:
    case DMARCD_E_TOO_LONG:
        api_reply_error(c, 400, "invalid_request",
                        why && why->len ? why->buf : "invalid request");
        break;
    case DMARCD_E_DB_UNAVAILABLE:
    case DMARCD_E_TEMPORARY:
    case DMARCD_E_TIMEOUT:
    case DMARCD_E_QUEUE_UNAVAILABLE:
        api_response_header(c->resp, "Retry-After", "5");
        api_reply_error(c, 503, "unavailable", "a service is briefly unavailable: retry");
        break;
    default:
        log_error("api request failed", LOG_STR("route", c->route ? c->route->pattern : "-"),
                  LOG_ERR(rc));
        api_reply_error(c, 500, "internal", "internal error");
        break;
    }
}

void api_reply_empty(struct api_call *c)
{
    set_body(c->resp, 204, "application/json", "", 0);
}

/* ---- values out ---- */

/* Length of the well-formed UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

bool api_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f)
            return false;
        size_t len = utf8_seq(u + i, n - i);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

json_t *api_jstr(const char *s)
{
    if (!s)
        return json_null();
    size_t n = strlen(s);
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    struct strbuf fixed;
    strbuf_init(&fixed, 0);
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq(u + i, n - i);
        if (len) {
            (void)strbuf_add(&fixed, s + i, len);
            i += len;
        } else {
            (void)strbuf_addstr(&fixed, "\xef\xbf\xbd");
            i++;
        }
    }
    j = json_stringn(fixed.buf, fixed.len);
    strbuf_release(&fixed);
    return j ? j : json_null();
}

json_t *api_jstr_or_null(const char *s)
{
    return s && *s ? api_jstr(s) : json_null();
}

json_t *api_juint(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

json_t *api_jtime(int64_t t)
{
    char text[QUERY_TIME_TEXT_MAX];
    return query_time_rfc3339(t, text) ? json_string(text) : json_null();
}

json_t *api_jraw(const char *text)
{
    if (!text || !*text)
        return json_null();
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    return j ? j : json_null();
}

/* ---- values in ---- */

const char *api_query(const struct api_call *c, const char *name)
{
    for (size_t i = 0; i < c->req->nquery; i++) {
        if (strcmp(c->req->query[i].name, name) == 0)
            return c->req->query[i].value[0] ? c->req->query[i].value : NULL;
    }
    return NULL;
}

bool api_query_uint(struct api_call *c, const char *name, unsigned min, unsigned max,
                    unsigned def, unsigned *out)
{
    const char *v = api_query(c, name);
    char msg[160];
    *out = def;
    if (!v)
        return true;
    uint64_t n = 0;
    size_t len = strlen(v);
    bool ok = len > 0 && len <= 9 && !(len > 1 && v[0] == '0');
    for (size_t i = 0; ok && i < len; i++) {
        ok = v[i] >= '0' && v[i] <= '9';
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    if (ok && n >= min && n <= max) {
        *out = (unsigned)n;
        return true;
    }
    snprintf(msg, sizeof(msg), "%s must be a whole number from %u to %u", name, min, max);
    api_reply_error(c, 400, "invalid_request", msg);
    return false;
}

bool api_query_range(struct api_call *c, unsigned default_days, const char **from,
                     const char **to, char from_buf[11], char to_buf[11])
{
    *from = api_query(c, "from");
    *to = api_query(c, "to");
    const char *bad = *from && !query_day_valid(*from) ? "from"
                      : *to && !query_day_valid(*to)   ? "to"
                                                       : NULL;
    if (bad) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s must be a date YYYY-MM-DD (UTC)", bad);
        api_reply_error(c, 400, "invalid_request", msg);
        return false;
    }
    if (!default_days)
        return true;
    if (!*to) {
        api_today(to_buf);
        *to = to_buf;
    }
    if (!*from) {
        api_day_add(*to, -(int)(default_days - 1), from_buf);
        *from = from_buf;
    }
    return true;
}

json_t *api_body_object(struct api_call *c)
{
    const char *type = api_request_header(c->req, "Content-Type");
    json_error_t err;
    size_t n = type ? strcspn(type, ";") : 0;
    while (n && type[n - 1] == ' ')
        n--;
    if (!type || n != strlen("application/json") || strncasecmp(type, "application/json", n)) {
        api_reply_error(c, 415, "unsupported_media_type",
                        "send the body as Content-Type: application/json");
        return NULL;
    }
    json_t *obj = json_loadb((const char *)c->req->body, c->req->body_len,
                             JSON_REJECT_DUPLICATES, &err);
    if (!obj || !json_is_object(obj)) {
        json_decref(obj);
        api_reply_error(c, 400, "invalid_json",
                        "the body must be one JSON object in UTF-8 without duplicate keys");
        return NULL;
    }
    return obj;
}

bool api_body_keys(struct api_call *c, json_t *obj, const char *allowed)
{
    const char *key;
    json_t *v;
    char msg[160];
    json_object_foreach(obj, key, v) {
        const char *p = allowed;
        bool found = false;
        while (*p && !found) {
            size_t n = strcspn(p, ",");
            char type = (*p == '#' || *p == '?') ? *p : 's';
            const char *name = type == 's' ? p : p + 1;
            size_t nlen = type == 's' ? n : n - 1;
            if (strlen(key) == nlen && strncmp(key, name, nlen) == 0) {
                found = true;
                bool ok = type == 's'   ? json_is_string(v)
                          : type == '#' ? json_is_integer(v)
                                        : json_is_boolean(v);
                if (!ok) {
                    snprintf(msg, sizeof(msg), "%.40s must be a %s", key,
                             type == 's' ? "string" : type == '#' ? "whole number" : "boolean");
                    api_reply_error(c, 400, "invalid_request", msg);
                    return false;
                }
            }
            p += n + (p[n] == ',');
        }
        if (!found) {
            snprintf(msg, sizeof(msg), "unknown field \"%.40s\"", key);
            api_reply_error(c, 400, "invalid_request", msg);
            return false;
        }
    }
    return true;
}

void api_body_wipe(json_t *obj, const char *key)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!json_is_string(v))
        return;
    /* jansson owns the bytes and frees them with the object; clear them first */
    sodium_memzero((void *)(uintptr_t)json_string_value(v), json_string_length(v));
}

const char *api_body_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

bool api_parse_id(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 19 || s[0] == '0')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* ---- dates ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, char out[11])
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    char text[48];
    snprintf(text, sizeof(text), "%04lld-%02u-%02u", (long long)y, m, d);
    memcpy(out, text, 10);
    out[10] = '\0';
}

void api_today(char out[11])
{
    time_t now = time(NULL);
    civil_from_days((int64_t)now / 86400, out);
}

void api_day_add(const char *day, int n, char out[11])
{
    unsigned y = 0, m = 0, d = 0;
    for (int i = 0; i < 4; i++)
        y = y * 10 + (unsigned)(day[i] - '0');
    m = (unsigned)(day[5] - '0') * 10 + (unsigned)(day[6] - '0');
    d = (unsigned)(day[8] - '0') * 10 + (unsigned)(day[9] - '0');
    civil_from_days(days_from_civil(y, m, d) + n, out);
}

/* ---- CSV ---- */

bool api_wants_csv(struct api_call *c, bool *csv)
{
    const char *format = api_query(c, "format");
    const char *accept = api_request_header(c->req, "Accept");
    *csv = false;
    if (format && strcmp(format, "csv") == 0) {
        *csv = true;
    } else if (format && strcmp(format, "json") != 0) {
        api_reply_error(c, 400, "invalid_request", "format is json or csv");
        return false;
    } else if (!format && accept && strstr(accept, "text/csv")) {
        *csv = true;
    }
    return true;
}

void api_csv_field(struct strbuf *out, const char *v, bool last)
{
    if (!v)
        v = "";
    bool formula = v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' ||
                   v[0] == '\r';
    bool quote = formula || strpbrk(v, ",\"\r\n") != NULL;
    if (quote)
        (void)strbuf_addch(out, '"');
    if (formula)
        (void)strbuf_addch(out, '\'');
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            (void)strbuf_addch(out, '"');
        (void)strbuf_addch(out, *p);
    }
    if (quote)
        (void)strbuf_addch(out, '"');
    (void)strbuf_addstr(out, last ? "\r\n" : ",");
}

void api_csv_uint(struct strbuf *out, uint64_t v, bool last)
{
    (void)strbuf_addf(out, "%llu%s", (unsigned long long)v, last ? "\r\n" : ",");
}

void api_reply_csv(struct api_call *c, struct strbuf *out, const char *filename)
{
    char disp[128];
    c->resp->status = 200;
    snprintf(c->resp->content_type, sizeof(c->resp->content_type), "text/csv; charset=utf-8");
    strbuf_release(&c->resp->body);
    c->resp->body = *out;
    strbuf_init(out, 0);
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", filename);
    api_response_header(c->resp, "Content-Disposition", disp);
}
