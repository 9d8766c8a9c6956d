/*
 * tlsrpt.c - SMTP TLS reports (RFC 8460) from JSON with jansson.
 *
 * jansson recurses while parsing and its own depth cap (2048) is far above
 * ours, so the bytes are pre-scanned first: brackets outside strings are
 * counted and a document nested deeper than DMARCD_MAX_JSON_DEPTH, or with
 * more containers than DMARCD_MAX_RECORDS_PER_REPORT (failure-details are
 * the TLS analogue of records; this bounds jansson's memory, which is
 * several times the text), is refused before jansson sees it.
 *
 * Duplicate keys: loaded with JSON_REJECT_DUPLICATES; if that is the only
 * fault, the document is loaded again keeping the last value, with a
 * warning (strict mode refuses it). Strings are borrowed from the jansson
 * tree, which lives until the sink returns; what we derive (lower-cased
 * enumerations, canonical IPs, list arrays, policy/detail arrays) goes to
 * an arena budgeted at DMARCD_MAX_JSON_BYTES.
 *
 * Leniency, each with a warning: datetimes without offset are UTC
 * (Microsoft 2023); mx-host as a single string or as objects (pre-erratum
 * 6241 forms); "mx-host-pattern"/"additional-info-uri" (the RFC's
 * placeholder names) as aliases; a policy-string that is one JSON-encoded
 * array (Microsoft TLSA) is unwrapped; counts that are missing, negative,
 * reals or strings become non-negative integers (0 when unusable);
 * unparsable IPs are dropped. Absent policies: DMARCD_E_NOT_REPORT;
 * missing organization-name, report-id or date-range:
 * DMARCD_E_BAD_REPORT. Strict mode refuses any report that needed a
 * warning (DMARCD_E_BAD_REPORT naming the first one).
 */
#include "tlsrpt.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/limits.h"
#include "lib/slice.h"
#include "parser/ipaddr.h"
#include "parser/warn.h"
#include "lib/banned.h"

struct tls_build {
    struct arena arena;
    struct warn_list warns;
    const struct parse_options *opts;
    struct strbuf *detail;
    json_t *root;
    enum dmarcd_err oom;        /* DMARCD_E_TOO_BIG once the arena is full */
};

/* Zeroed arena memory for n items; NULL (and b->oom) past the budget. */
static void *b_alloc(struct tls_build *b, size_t n, size_t size)
{
    void *p = NULL;

    if (size == 0 || n <= SIZE_MAX / size) {
        size_t bytes = n * size;
        p = arena_alloc(&b->arena, bytes > 0 ? bytes : 1);
        if (p)
            memset(p, 0, bytes);
    }
    if (!p) {
        if (!b->oom)
            strbuf_setf(b->detail, "tls report needs more than %zu bytes of memory",
                        (size_t)DMARCD_MAX_JSON_BYTES);
        b->oom = DMARCD_E_TOO_BIG;
    }
    return p;
}

/* ---- pre-scan: nesting depth and container count ---- */

static enum dmarcd_err prescan(const char *p, size_t len, struct strbuf *detail)
{
    size_t depth = 0, containers = 0, line = 1, col = 0;
    bool in_str = false, esc = false;

    for (size_t i = 0; i < len; i++, col++) {
        char c = p[i];
        if (c == '\n') {
            line++;
            col = 0;
        }
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > DMARCD_MAX_JSON_DEPTH) {
                strbuf_setf(detail, "json nesting deeper than %d at line %zu column %zu",
                            DMARCD_MAX_JSON_DEPTH, line, col + 1);
                return DMARCD_E_TOO_DEEP;
            }
            if (++containers > DMARCD_MAX_RECORDS_PER_REPORT) {
                strbuf_setf(detail, "json has more than %d objects and arrays",
                            DMARCD_MAX_RECORDS_PER_REPORT);
                return DMARCD_E_TOO_MANY;
            }
        } else if ((c == ']' || c == '}') && depth) {
            depth--;
        }
    }
    return DMARCD_OK;
}

static enum dmarcd_err load(struct tls_build *b, const char *data, size_t len)
{
    json_error_t err;
    enum dmarcd_err rc = prescan(data, len, b->detail);

    if (rc)
        return rc;
    b->root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
    if (!b->root && json_error_code(&err) == json_error_duplicate_key &&
        !(b->opts && b->opts->strict)) {
        warn_add(&b->warns, "json has a duplicate key (line %d): the last value used", err.line);
        b->root = json_loadb(data, len, 0, &err);
    }
    if (!b->root) {
        strbuf_setf(b->detail, "line %d column %d: %s", err.line, err.column, err.text);
        return DMARCD_E_JSON;
    }
    return DMARCD_OK;
}

/* ---- values ---- */

/* A string member: NULL when absent, null or empty; warns on other types. */
static const char *get_str(struct tls_build *b, json_t *obj, const char *key, const char *where)
{
    json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        warn_add(&b->warns, "%s%s is not a string: ignored", where, key);
        return NULL;
    }
    return json_string_length(v) ? json_string_value(v) : NULL;
}

static char *b_strndup(struct tls_build *b, const char *s, size_t n)
{
    char *out = b_alloc(b, n + 1, 1);

    if (out)
        memcpy(out, s, n);
    return out;
}

static const char *lower_dup(struct tls_build *b, const char *s)
{
    size_t n;
    char *out;

    if (!s)
        return NULL;
    n = strlen(s);
    out = b_alloc(b, n + 1, 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    return out;
}

static const char *get_ip(struct tls_build *b, json_t *obj, const char *key, const char *where)
{
    const char *s = get_str(b, obj, key, where);
    char ip[REPORT_IP_TEXT_MAX];

    if (!s)
        return NULL;
    if (!ipaddr_canonical(slice_from_cstr(s), ip)) {
        warn_add(&b->warns, "%s%s \"%.64s\" is not an ip address: dropped", where, key, s);
        return NULL;
    }
    return b_strndup(b, ip, strlen(ip));
}

static uint64_t count_from_real(struct tls_build *b, double d, const char *where,
                                const char *key)
{
    if (d >= 0 && d < 9.2e18 && d == (double)(uint64_t)d) {
        warn_add(&b->warns, "%s%s is a real number: read as an integer", where, key);
        return (uint64_t)d;
    }
    warn_add(&b->warns, "%s%s is not a non-negative integer: 0 used", where, key);
    return 0;
}

/* A session count: a non-negative integer; anything else warns. */
static uint64_t get_count(struct tls_build *b, json_t *obj, const char *key, const char *where)
{
    json_t *v = json_object_get(obj, key);
    int64_t n;

    if (!v) {
        warn_add(&b->warns, "%sno %s: 0 used", where, key);
        return 0;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        return (uint64_t)json_integer_value(v);
    if (json_is_real(v))
        return count_from_real(b, json_real_value(v), where, key);
    if (json_is_string(v) && slice_to_i64(slice_from_cstr(json_string_value(v)), &n) &&
        n >= 0) {
        warn_add(&b->warns, "%s%s is a string: read as a number", where, key);
        return (uint64_t)n;
    }
    warn_add(&b->warns, "%s%s is not a non-negative integer: 0 used", where, key);
    return 0;
}

/* ---- RFC 3339 date-time ---- */

static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* "Z", "+hh:mm", "-hhmm" or nothing (*no_offset). Seconds east of UTC. */
static bool parse_offset(const char *p, int *off, bool *no_offset)
{
    int hh, mm, sign;

    *off = 0;
    *no_offset = false;
    if (*p == '\0') {
        *no_offset = true;
        return true;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return true;
    if (*p != '+' && *p != '-')
        return false;
    sign = *p++ == '-' ? -1 : 1;
    if (!digits(&p, 2, &hh))
        return false;
    if (*p == ':')
        p++;
    if (!digits(&p, 2, &mm) || *p != '\0' || hh > 23 || mm > 59)
        return false;
    *off = sign * (hh * 3600 + mm * 60);
    return true;
}

static bool parse_datetime(const char *s, int64_t *out, bool *no_offset)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, se = 0, off;

    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return false;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
            !digits(&p, 2, &se) || h > 23 || mi > 59 || se > 60)
            return false;
        if (*p == '.') {
            p++;
            if (*p < '0' || *p > '9')
                return false;
            while (*p >= '0' && *p <= '9')
                p++;
        }
    }
    if (!parse_offset(p, &off, no_offset))
        return false;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    return true;
}

/* ---- report parts ---- */

static enum dmarcd_err get_date(struct tls_build *b, json_t *range, const char *key,
                                const char **raw, int64_t *out)
{
    bool no_offset;

    *raw = get_str(b, range, key, "date-range ");
    if (!*raw) {
        strbuf_setf(b->detail, "no date-range %s", key);
        return DMARCD_E_BAD_REPORT;
    }
    if (!parse_datetime(*raw, out, &no_offset)) {
        strbuf_setf(b->detail, "date-range %s \"%.64s\" is not an rfc 3339 date-time", key,
                    *raw);
        return DMARCD_E_BAD_REPORT;
    }
    if (no_offset)
        warn_add(&b->warns, "date-range %s has no utc offset: utc assumed", key);
    return DMARCD_OK;
}

static enum dmarcd_err parse_metadata(struct tls_build *b, struct tls_report *r)
{
    json_t *range = json_object_get(b->root, "date-range");
    enum dmarcd_err rc;

    r->organization_name = get_str(b, b->root, "organization-name", "");
    if (!r->organization_name) {
        strbuf_setf(b->detail, "no organization-name");
        return DMARCD_E_BAD_REPORT;
    }
    r->report_id = get_str(b, b->root, "report-id", "");
    if (!r->report_id) {
        strbuf_setf(b->detail, "no report-id");
        return DMARCD_E_BAD_REPORT;
    }
    if (!json_is_object(range)) {
        strbuf_setf(b->detail, "no date-range object");
        return DMARCD_E_BAD_REPORT;
    }
    rc = get_date(b, range, "start-datetime", &r->start_datetime, &r->begin);
    if (!rc)
        rc = get_date(b, range, "end-datetime", &r->end_datetime, &r->end);
    if (rc)
        return rc;
    if (r->end < r->begin)
        warn_add(&b->warns, "date-range ends before it starts");
    r->contact_info = get_str(b, b->root, "contact-info", "");
    return DMARCD_OK;
}

/* Strings of a JSON array into a str_list; non-strings are skipped. */
static void string_array(struct tls_build *b, json_t *arr, struct str_list *out,
                         const char *where, const char *key)
{
    size_t n = json_array_size(arr), k = 0;
    const char **items = b_alloc(b, n, sizeof(*items));

    if (!items)
        return;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (json_is_string(v))
            items[k++] = json_string_value(v);
        else
            warn_add(&b->warns, "%s%s holds a value that is not a string: skipped", where, key);
    }
    *out = (struct str_list){ .items = items, .count = k };
}

/* Microsoft TLSA: ["[\"3 1 1 ...\",\"3 1 1 ...\"]"] -> the inner strings. */
static void unwrap_encoded(struct tls_build *b, struct str_list *list, const char *where)
{
    struct slice s;
    json_t *inner;
    size_t n;
    const char **items;

    if (list->count != 1)
        return;
    s = slice_trim(slice_from_cstr(list->items[0]));
    if (!s.len || s.ptr[0] != '[' || s.ptr[s.len - 1] != ']' || prescan(s.ptr, s.len, NULL))
        return;
    inner = json_loadb(s.ptr, s.len, 0, NULL);
    n = json_array_size(inner);
    for (size_t i = 0; i < n; i++) {
        if (!json_is_string(json_array_get(inner, i)))
            n = 0;
    }
    items = n ? b_alloc(b, n, sizeof(*items)) : NULL;
    for (size_t i = 0; items && i < n; i++) {
        json_t *v = json_array_get(inner, i);
        items[i] = b_strndup(b, json_string_value(v), json_string_length(v));
        if (!items[i])
            items = NULL;
    }
    if (items) {
        warn_add(&b->warns, "%spolicy-string holds a json-encoded array: unwrapped", where);
        *list = (struct str_list){ .items = items, .count = n };
    }
    json_decref(inner);
}

static void policy_strings(struct tls_build *b, json_t *pol, struct tls_policy *out,
                           const char *where)
{
    json_t *v = json_object_get(pol, "policy-string");

    if (!v || json_is_null(v))
        return;
    if (json_is_string(v)) {
        warn_add(&b->warns, "%spolicy-string is a single string: read as a list", where);
        const char **one = b_alloc(b, 1, sizeof(*one));
        if (one) {
            one[0] = json_string_value(v);
            out->policy_string = (struct str_list){ .items = one, .count = 1 };
        }
    } else if (json_is_array(v)) {
        string_array(b, v, &out->policy_string, where, "policy-string");
    } else {
        warn_add(&b->warns, "%spolicy-string is not a list: ignored", where);
        return;
    }
    unwrap_encoded(b, &out->policy_string, where);
}

/* The first string member of an object (pre-erratum mx-host objects). */
static const char *first_string_member(json_t *obj)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v) {
        if (json_is_string(v))
            return json_string_value(v);
    }
    return NULL;
}

static void mx_array(struct tls_build *b, json_t *arr, struct tls_policy *out, const char *where)
{
    size_t n = json_array_size(arr), k = 0;
    const char **items = b_alloc(b, n, sizeof(*items));
    bool objects = false;

    if (!items)
        return;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        if (json_is_object(v)) {
            s = first_string_member(v);
            objects = true;
        }
        if (s)
            items[k++] = s;
        else
            warn_add(&b->warns, "%smx-host holds a value that is not a string: skipped", where);
    }
    if (objects)
        warn_add(&b->warns, "%smx-host entries are objects: their string member read", where);
    out->mx_host = (struct str_list){ .items = items, .count = k };
}

static void mx_hosts(struct tls_build *b, json_t *pol, struct tls_policy *out, const char *where)
{
    json_t *v = json_object_get(pol, "mx-host");

    if (!v && (v = json_object_get(pol, "mx-host-pattern")))
        warn_add(&b->warns, "%smx-host-pattern read as mx-host", where);
    if (!v || json_is_null(v))
        return;
    if (json_is_string(v)) {
        warn_add(&b->warns, "%smx-host is a single string (pre-erratum form)", where);
        const char **one = b_alloc(b, 1, sizeof(*one));
        if (one) {
            one[0] = json_string_value(v);
            out->mx_host = (struct str_list){ .items = one, .count = 1 };
        }
    } else if (json_is_object(v)) {
        json_t *arr = json_array();
        json_array_append(arr, v);
        mx_array(b, arr, out, where);
        json_decref(arr);
    } else if (json_is_array(v)) {
        mx_array(b, v, out, where);
    } else {
        warn_add(&b->warns, "%smx-host is not a list: ignored", where);
    }
}

static bool known_policy_type(const char *t)
{
    return strcmp(t, "sts") == 0 || strcmp(t, "tlsa") == 0 || strcmp(t, "no-policy-found") == 0;
}

static void parse_detail(struct tls_build *b, json_t *d, struct tls_failure_detail *out,
                         const char *where)
{
    out->result_type = lower_dup(b, get_str(b, d, "result-type", where));
    if (!out->result_type)
        warn_add(&b->warns, "%sno result-type", where);
    out->sending_mta_ip = get_ip(b, d, "sending-mta-ip", where);
    out->receiving_mx_hostname = get_str(b, d, "receiving-mx-hostname", where);
    out->receiving_mx_helo = get_str(b, d, "receiving-mx-helo", where);
    out->receiving_ip = get_ip(b, d, "receiving-ip", where);
    out->failed_session_count = get_count(b, d, "failed-session-count", where);
    out->additional_information = get_str(b, d, "additional-information", where);
    if (!out->additional_information &&
        (out->additional_information = get_str(b, d, "additional-info-uri", where)))
        warn_add(&b->warns, "%sadditional-info-uri read as additional-information", where);
    out->failure_reason_code = get_str(b, d, "failure-reason-code", where);
}

static void parse_details(struct tls_build *b, json_t *entry, struct tls_policy *out,
                          size_t pi)
{
    json_t *arr = json_object_get(entry, "failure-details");
    size_t n = json_array_size(arr), k = 0;
    struct tls_failure_detail *details;
    char where[96];

    if (arr && !json_is_null(arr) && !json_is_array(arr))
        warn_add(&b->warns, "policies[%zu]: failure-details is not a list: ignored", pi);
    if (!n)
        return;
    details = b_alloc(b, n, sizeof(*details));
    for (size_t i = 0; details && i < n; i++) {
        json_t *d = json_array_get(arr, i);
        (void)snprintf(where, sizeof(where), "policies[%zu].failure-details[%zu]: ", pi, i);
        if (!json_is_object(d)) {
            warn_add(&b->warns, "%snot an object: skipped", where);
            continue;
        }
        parse_detail(b, d, &details[k++], where);
    }
    out->failure_details = details;
    out->n_failure_details = details ? k : 0;
}

static void parse_policy(struct tls_build *b, json_t *entry, struct tls_policy *out, size_t pi)
{
    json_t *pol = json_object_get(entry, "policy");
    json_t *sum = json_object_get(entry, "summary");
    char where[64];

    (void)snprintf(where, sizeof(where), "policies[%zu].policy: ", pi);
    if (!json_is_object(pol)) {
        warn_add(&b->warns, "policies[%zu]: no policy object", pi);
        pol = NULL;
    }
    out->policy_type = lower_dup(b, get_str(b, pol, "policy-type", where));
    if (!out->policy_type)
        warn_add(&b->warns, "%sno policy-type", where);
    else if (!known_policy_type(out->policy_type))
        warn_add(&b->warns, "%sunknown policy-type \"%.64s\" kept", where, out->policy_type);
    policy_strings(b, pol, out, where);
    out->policy_domain = lower_dup(b, get_str(b, pol, "policy-domain", where));
    if (!out->policy_domain)
        warn_add(&b->warns, "%sno policy-domain", where);
    mx_hosts(b, pol, out, where);
    (void)snprintf(where, sizeof(where), "policies[%zu].summary: ", pi);
    if (!json_is_object(sum))
        warn_add(&b->warns, "policies[%zu]: no summary object", pi);
    out->total_successful_session_count = get_count(b, sum, "total-successful-session-count",
                                                    where);
    out->total_failure_session_count = get_count(b, sum, "total-failure-session-count", where);
    parse_details(b, entry, out, pi);
}

static enum dmarcd_err parse_policies(struct tls_build *b, json_t *arr, struct tls_report *r)
{
    size_t n = json_array_size(arr), k = 0;
    struct tls_policy *pols;

    if (!n) {
        warn_add(&b->warns, "policies is empty");
        return DMARCD_OK;
    }
    pols = b_alloc(b, n, sizeof(*pols));
    for (size_t i = 0; pols && i < n && !b->oom; i++) {
        json_t *entry = json_array_get(arr, i);
        if (!json_is_object(entry)) {
            warn_add(&b->warns, "policies[%zu]: not an object: skipped", i);
            continue;
        }
        parse_policy(b, entry, &pols[k++], i);
    }
    if (b->oom)
        return b->oom;
    r->policies = pols;
    r->n_policies = k;
    return DMARCD_OK;
}

static enum dmarcd_err deliver(struct tls_build *b, const struct report_source *src,
                               struct report_sink *sink, const struct tls_report *r)
{
    struct report_warnings view;

    if (b->opts && b->opts->strict && b->warns.count) {
        strbuf_setf(b->detail, "strict: %s", b->warns.items[0]);
        return DMARCD_E_BAD_REPORT;
    }
    if (!sink || !sink->ops || !sink->ops->tlsrpt) {
        strbuf_setf(b->detail, "sink takes no tls reports");
        return DMARCD_E_INTERNAL;
    }
    view = warn_list_view(&b->warns);
    return sink->ops->tlsrpt(sink->ctx, src, r, &view);
}

static enum dmarcd_err find_policies(struct tls_build *b, json_t **policies)
{
    if (!json_is_object(b->root)) {
        strbuf_setf(b->detail, "json document is not an object");
        return DMARCD_E_NOT_REPORT;
    }
    *policies = json_object_get(b->root, "policies");
    if (!*policies) {
        strbuf_setf(b->detail, "json document has no policies: not a tls report");
        return DMARCD_E_NOT_REPORT;
    }
    if (!json_is_array(*policies)) {
        strbuf_setf(b->detail, "policies is not a list");
        return DMARCD_E_BAD_REPORT;
    }
    return DMARCD_OK;
}

enum dmarcd_err tlsrpt_parse(const char *data, size_t len, const struct report_source *src,
                             const struct parse_options *opts, struct report_sink *sink,
                             struct strbuf *detail)
{
    struct tls_build b = { .opts = opts, .detail = detail };
    struct tls_report r = { 0 };
    json_t *policies = NULL;
    enum dmarcd_err rc;

    arena_init(&b.arena, DMARCD_MAX_JSON_BYTES);
    warn_list_init(&b.warns);
    if (len > DMARCD_MAX_JSON_BYTES) {
        strbuf_setf(detail, "json document larger than %zu bytes", (size_t)DMARCD_MAX_JSON_BYTES);
        rc = DMARCD_E_TOO_BIG;
        goto out;
    }
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        warn_add(&b.warns, "json starts with a byte order mark: skipped");
        data += 3;
        len -= 3;
    }
    rc = load(&b, data, len);
    if (!rc)
        rc = find_policies(&b, &policies);
    if (!rc)
        rc = parse_metadata(&b, &r);
    if (!rc)
        rc = parse_policies(&b, policies, &r);
    if (!rc)
        rc = b.oom;
    if (!rc)
        rc = deliver(&b, src, sink, &r);
out:
    json_decref(b.root);
    warn_list_release(&b.warns);
    arena_release(&b.arena);
    return rc;
}
