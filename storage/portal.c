/*
 * portal.c - the portal's reads and writes beyond queries.h (see portal.h).
 *
 * List statements are assembled from fixed fragments with optional
 * filters; values only ever travel as bound parameters. Pages are keyset
 * reads in primary-key order (tenant_id, report_day, id) so a page costs
 * its size, not its offset; cursors are the last row's key in unpadded
 * base64url, accepted only in the one encoding this file produces.
 */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "storage/audit.h"
#include "storage/inbox.h"
#include "storage/portal.h"
#include "storage/stmt.h"
#include "storage/tenants.h"
#include "lib/banned.h"

#define CURSOR_PAYLOAD_MAX 96
#define MAX_PARAMS 12
#define RFC3339(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

static void set_why(struct strbuf *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_why(struct strbuf *why, const char *fmt, ...)
{
    va_list ap;
    if (!why)
        return;
    strbuf_reset(why);
    va_start(ap, fmt);
    (void)strbuf_vaddf(why, fmt, ap);
    va_end(ap);
}

static char *dup_or_null(const struct store_stmt *s, unsigned i)
{
    return store_col_is_null(s, i) ? NULL : store_col_dup(s, i);
}

static void copy_text(const char *v, char *out, size_t cap)
{
    size_t n = v ? strlen(v) : 0;
    if (n >= cap)
        n = 0;
    if (n)
        memcpy(out, v, n);
    out[n] = '\0';
}

/* ---- statement assembly ---- */

struct build {
    struct strbuf sql;
    struct { bool is_str; const char *s; uint64_t u; } p[MAX_PARAMS];
    unsigned n;
};

static void b_init(struct build *b, const char *head)
{
    strbuf_init(&b->sql, 0);
    (void)strbuf_addstr(&b->sql, head);
    b->n = 0;
}

static void b_str(struct build *b, const char *frag, const char *v)
{
    (void)strbuf_addstr(&b->sql, frag);
    b->p[b->n].is_str = true;
    b->p[b->n++].s = v;
}

static void b_u64(struct build *b, const char *frag, uint64_t v)
{
    (void)strbuf_addstr(&b->sql, frag);
    b->p[b->n].is_str = false;
    b->p[b->n++].u = v;
}

static enum dmarcd_err b_run(struct store *st, struct build *b, struct store_stmt **out)
{
    enum dmarcd_err rc = store_stmt_prepare(st, b->sql.buf, out);
    for (unsigned i = 0; !rc && i < b->n; i++) {
        if (b->p[i].is_str)
            store_bind_str(*out, i, b->p[i].s);
        else
            store_bind_u64(*out, i, b->p[i].u);
    }
    if (!rc)
        rc = store_stmt_exec(*out);
    strbuf_release(&b->sql);
    return rc;
}

/* ---- argument checks ---- */

static enum dmarcd_err check_days(const char *from, const char *to, struct strbuf *why)
{
    if (from && *from && !query_day_valid(from)) {
        set_why(why, "invalid from date \"%.32s\": expected YYYY-MM-DD", from);
        return DMARCD_E_INVALID;
    }
    if (to && *to && !query_day_valid(to)) {
        set_why(why, "invalid to date \"%.32s\": expected YYYY-MM-DD", to);
        return DMARCD_E_INVALID;
    }
    if (from && *from && to && *to && strcmp(from, to) > 0) {
        set_why(why, "from (%s) is after to (%s)", from, to);
        return DMARCD_E_INVALID;
    }
    return DMARCD_OK;
}

static enum dmarcd_err check_limit(unsigned limit, unsigned *out, struct strbuf *why)
{
    if (limit > QUERY_PAGE_MAX) {
        set_why(why, "limit %u is too large: at most %d", limit, QUERY_PAGE_MAX);
        return DMARCD_E_INVALID;
    }
    *out = limit ? limit : QUERY_PAGE_DEFAULT;
    return DMARCD_OK;
}

/* ---- cursors: "k|<payload>" in unpadded base64url ---- */

static char *cursor_encode(char kind, const char *payload)
{
    char text[CURSOR_PAYLOAD_MAX + 3];
    int n = snprintf(text, sizeof(text), "%c|%s", kind, payload);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1;
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = xmalloc(cap);
    sodium_bin2base64(out, cap, (const unsigned char *)text, len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static enum dmarcd_err cursor_decode(const char *cursor, char kind,
                                     char payload[CURSOR_PAYLOAD_MAX + 1], struct strbuf *why)
{
    size_t n = strlen(cursor), len = 0;
    unsigned char bin[CURSOR_PAYLOAD_MAX + 3];
    const char *end = NULL;
    bool ok = n <= QUERY_CURSOR_TEXT_MAX &&
              sodium_base642bin(bin, sizeof(bin) - 1, cursor, n, NULL, &len, &end,
                                sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
              end == cursor + n && len >= 2 && len - 2 <= CURSOR_PAYLOAD_MAX &&
              bin[0] == (unsigned char)kind && bin[1] == '|' && !memchr(bin, '\0', len);
    if (ok) {
        bin[len] = '\0';
        char *again = cursor_encode(kind, (const char *)bin + 2);
        ok = strcmp(again, cursor) == 0;
        free(again);
    }
    if (!ok) {
        set_why(why, "invalid cursor: pass next_cursor from the previous page unchanged");
        return DMARCD_E_INVALID;
    }
    memcpy(payload, bin + 2, len - 2);
    payload[len - 2] = '\0';
    return DMARCD_OK;
}

/* "YYYY-MM-DD|<id>" of a page's last row. */
static char *day_id_cursor(char kind, const char *day, uint64_t id)
{
    char payload[CURSOR_PAYLOAD_MAX];
    snprintf(payload, sizeof(payload), "%s|%llu", day, (unsigned long long)id);
    return cursor_encode(kind, payload);
}

static bool parse_id(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

static enum dmarcd_err day_id_parse(const char *cursor, char kind, char day[QUERY_DAY_TEXT_MAX],
                                    uint64_t *id, struct strbuf *why)
{
    char payload[CURSOR_PAYLOAD_MAX + 1];
    enum dmarcd_err rc = cursor_decode(cursor, kind, payload, why);
    if (rc)
        return rc;
    char *bar = strchr(payload, '|');
    if (!bar || bar - payload != QUERY_DAY_TEXT_MAX - 1 || !parse_id(bar + 1, id)) {
        set_why(why, "invalid cursor: pass next_cursor from the previous page unchanged");
        return DMARCD_E_INVALID;
    }
    *bar = '\0';
    if (!query_day_valid(payload)) {
        set_why(why, "invalid cursor: pass next_cursor from the previous page unchanged");
        return DMARCD_E_INVALID;
    }
    memcpy(day, payload, QUERY_DAY_TEXT_MAX);
    return DMARCD_OK;
}

/* ---- health and metrics ---- */

enum dmarcd_err portal_ping(struct store *st)
{
    struct store_stmt *s = NULL;
    bool row = false;
    enum dmarcd_err rc = store_stmt_prepare(st, "SELECT 1", &s);
    if (!rc)
        rc = store_stmt_exec(s);
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    store_stmt_free(s);
    return rc;
}

enum dmarcd_err portal_read_counters(struct store *st, struct portal_counters *out)
{
    struct store_stmt *s = NULL;
    bool row = false;
    memset(out, 0, sizeof(*out));
    enum dmarcd_err rc = store_stmt_prepare(
        st, "SELECT (SELECT COALESCE(MAX(id), 0) FROM aggregate_reports),"
            " (SELECT COALESCE(MAX(id), 0) FROM failure_reports),"
            " (SELECT COALESCE(MAX(id), 0) FROM tls_reports),"
            " (SELECT COALESCE(MAX(id), 0) FROM quarantine)", &s);
    if (!rc)
        rc = store_stmt_exec(s);
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && row) {
        out->aggregate_reports = store_col_u64(s, 0);
        out->failure_reports = store_col_u64(s, 1);
        out->tls_reports = store_col_u64(s, 2);
        out->quarantined = store_col_u64(s, 3);
    }
    store_stmt_free(s);
    return rc;
}

/* ---- failure reports ---- */

#define FAILURE_COLUMNS                                                                          \
    "SELECT id, report_day, reported_domain, source_ip, source_port, arrival_time,"              \
    " feedback_type, auth_failure, identity_alignment, delivery_result, dkim_domain,"            \
    " dkim_selector, spf_dns, reporting_mta, user_agent, incidents, arf, sample_kind, warnings, " \
    RFC3339("created_at") " FROM failure_reports WHERE tenant_id = ?"

static void failure_read(const struct store_stmt *s, struct portal_failure *f)
{
    memset(f, 0, sizeof(*f));
    f->id = store_col_u64(s, 0);
    copy_text(store_col_str(s, 1), f->report_day, sizeof(f->report_day));
    f->reported_domain = dup_or_null(s, 2);
    if (!store_col_is_null(s, 3))
        (void)store_inet6_to_ip(store_col_str(s, 3), f->source_ip);
    f->source_port = store_col_is_null(s, 4) ? -1 : (int32_t)store_col_i64(s, 4);
    f->has_arrival_time = !store_col_is_null(s, 5);
    f->arrival_time = store_col_i64(s, 5);
    f->feedback_type = dup_or_null(s, 6);
    f->auth_failure = dup_or_null(s, 7);
    f->identity_alignment = dup_or_null(s, 8);
    f->delivery_result = dup_or_null(s, 9);
    f->dkim_domain = dup_or_null(s, 10);
    f->dkim_selector = dup_or_null(s, 11);
    f->spf_dns = dup_or_null(s, 12);
    f->reporting_mta = dup_or_null(s, 13);
    f->user_agent = dup_or_null(s, 14);
    f->incidents = store_col_is_null(s, 15) ? -1 : store_col_i64(s, 15);
    f->arf = store_col_u64(s, 16) != 0;
    f->sample_kind = dup_or_null(s, 17);
    f->warnings = dup_or_null(s, 18);
    copy_text(store_col_str(s, 19), f->created_at, sizeof(f->created_at));
}

static void failure_release(struct portal_failure *f)
{
    free(f->reported_domain);
    free(f->feedback_type);
    free(f->auth_failure);
    free(f->identity_alignment);
    free(f->delivery_result);
    free(f->dkim_domain);
    free(f->dkim_selector);
    free(f->spf_dns);
    free(f->reporting_mta);
    free(f->user_agent);
    free(f->sample_kind);
    free(f->warnings);
}

void portal_failures_release(struct portal_failures *page)
{
    for (size_t i = 0; i < page->count; i++)
        failure_release(&page->items[i]);
    free(page->items);
    free(page->next_cursor);
    memset(page, 0, sizeof(*page));
}

/* Reads up to limit rows of s into the page; one more row means a next page. */
static enum dmarcd_err failures_fetch(struct store_stmt *s, unsigned limit,
                                      struct portal_failures *out)
{
    bool row;
    enum dmarcd_err rc;
    while (!(rc = store_stmt_fetch(s, &row)) && row) {
        if (out->count == limit) {
            const struct portal_failure *last = &out->items[out->count - 1];
            out->next_cursor = day_id_cursor('f', last->report_day, last->id);
            break;
        }
        out->items = xreallocarray(out->items, out->count + 1, sizeof(*out->items));
        failure_read(s, &out->items[out->count++]);
    }
    return rc;
}

struct failure_filters {
    struct strbuf domain;
    char ip[STORE_INET6_TEXT_MAX];
    char after_day[QUERY_DAY_TEXT_MAX];
    uint64_t after_id;
    unsigned limit;
};

static enum dmarcd_err failure_args(const struct portal_failure_args *a, struct failure_filters *f,
                                    struct strbuf *why)
{
    enum dmarcd_err rc = check_days(a->from, a->to, why);
    if (!rc)
        rc = check_limit(a->limit, &f->limit, why);
    if (!rc && a->domain && *a->domain)
        rc = tenant_domain_normalise(a->domain, &f->domain, why);
    if (!rc && a->ip && *a->ip && !store_inet6_from_ip(a->ip, f->ip)) {
        set_why(why, "invalid ip \"%.64s\": expected an IPv4 or IPv6 address", a->ip);
        rc = DMARCD_E_INVALID;
    }
    if (!rc && a->cursor && *a->cursor)
        rc = day_id_parse(a->cursor, 'f', f->after_day, &f->after_id, why);
    return rc;
}

enum dmarcd_err portal_read_failures(struct store *st, uint32_t tenant_id,
                                     const struct portal_failure_args *a,
                                     struct portal_failures *out, struct strbuf *why)
{
    struct failure_filters f = { .after_day = "" };
    struct store_stmt *s = NULL;
    struct build b;
    memset(out, 0, sizeof(*out));
    strbuf_init(&f.domain, 0);
    enum dmarcd_err rc = failure_args(a, &f, why);
    if (rc)
        goto out;
    b_init(&b, "");
    b_u64(&b, FAILURE_COLUMNS, tenant_id);
    if (f.domain.len)
        b_str(&b, " AND reported_domain = ?", f.domain.buf);
    if (f.ip[0])
        b_str(&b, " AND source_ip = ?", f.ip);
    if (a->from && *a->from)
        b_str(&b, " AND report_day >= ?", a->from);
    if (a->to && *a->to)
        b_str(&b, " AND report_day <= ?", a->to);
    if (f.after_day[0]) {
        b_str(&b, " AND (report_day < ?", f.after_day);
        b_str(&b, " OR (report_day = ?", f.after_day);
        b_u64(&b, " AND id < ?))", f.after_id);
    }
    b_u64(&b, " ORDER BY report_day DESC, id DESC LIMIT ?", f.limit + 1);
    rc = b_run(st, &b, &s);
    if (!rc)
        rc = failures_fetch(s, f.limit, out);
    if (rc)
        portal_failures_release(out);
out:
    store_stmt_free(s);
    strbuf_release(&f.domain);
    return rc;
}

enum dmarcd_err portal_read_failure(struct store *st, uint32_t tenant_id, uint64_t id,
                                    struct portal_failures *out)
{
    struct store_stmt *s = NULL;
    memset(out, 0, sizeof(*out));
    enum dmarcd_err rc = store_stmt_prepare(st, FAILURE_COLUMNS " AND id = ?", &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant_id);
        store_bind_u64(s, 1, id);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = failures_fetch(s, 1, out);
    free(out->next_cursor);
    out->next_cursor = NULL;
    if (!rc && out->count == 0)
        rc = DMARCD_E_NOT_FOUND;
    if (rc)
        portal_failures_release(out);
    store_stmt_free(s);
    return rc;
}

/* ---- TLS reports ---- */

void portal_tls_reports_release(struct portal_tls_reports *page)
{
    for (size_t i = 0; i < page->count; i++) {
        struct portal_tls_report *r = &page->items[i];
        free(r->organization_name);
        free(r->report_id);
        free(r->contact_info);
        free(r->policy_domains);
    }
    free(page->items);
    free(page->next_cursor);
    memset(page, 0, sizeof(*page));
}

static void tls_read(const struct store_stmt *s, struct portal_tls_report *r)
{
    memset(r, 0, sizeof(*r));
    r->id = store_col_u64(s, 0);
    copy_text(store_col_str(s, 1), r->report_day, sizeof(r->report_day));
    r->organization_name = dup_or_null(s, 2);
    r->report_id = dup_or_null(s, 3);
    r->contact_info = dup_or_null(s, 4);
    r->date_begin = store_col_i64(s, 5);
    r->date_end = store_col_i64(s, 6);
    r->policy_count = store_col_u64(s, 7);
    r->successful_sessions = store_col_u64(s, 8);
    r->failed_sessions = store_col_u64(s, 9);
    r->policy_domains = dup_or_null(s, 10);
    copy_text(store_col_str(s, 11), r->created_at, sizeof(r->created_at));
}

enum dmarcd_err portal_read_tls_reports(struct store *st, uint32_t tenant_id,
                                        const struct portal_tls_args *a,
                                        struct portal_tls_reports *out, struct strbuf *why)
{
    char after_day[QUERY_DAY_TEXT_MAX] = "";
    uint64_t after_id = 0;
    unsigned limit = 0;
    struct store_stmt *s = NULL;
    struct build b;
    bool row;
    memset(out, 0, sizeof(*out));
    enum dmarcd_err rc = check_days(a->from, a->to, why);
    if (!rc)
        rc = check_limit(a->limit, &limit, why);
    if (!rc && a->cursor && *a->cursor)
        rc = day_id_parse(a->cursor, 't', after_day, &after_id, why);
    if (rc)
        return rc;
    b_init(&b, "SELECT r.id, r.report_day, r.organization_name, r.report_id, r.contact_info,"
               " r.date_begin, r.date_end, r.policy_count, r.successful_sessions,"
               " r.failed_sessions, (SELECT JSON_ARRAYAGG(DISTINCT p.policy_domain)"
               " FROM tls_policies p WHERE p.tenant_id = r.tenant_id"
               " AND p.report_day = r.report_day AND p.tls_report_id = r.id"
               " AND p.policy_domain IS NOT NULL), " RFC3339("r.created_at"));
    b_u64(&b, " FROM tls_reports r WHERE r.tenant_id = ?", tenant_id);
    if (a->from && *a->from)
        b_str(&b, " AND r.report_day >= ?", a->from);
    if (a->to && *a->to)
        b_str(&b, " AND r.report_day <= ?", a->to);
    if (after_day[0]) {
        b_str(&b, " AND (r.report_day < ?", after_day);
        b_str(&b, " OR (r.report_day = ?", after_day);
        b_u64(&b, " AND r.id < ?))", after_id);
    }
    b_u64(&b, " ORDER BY r.report_day DESC, r.id DESC LIMIT ?", limit + 1);
    rc = b_run(st, &b, &s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        if (out->count == limit) {
            const struct portal_tls_report *last = &out->items[out->count - 1];
            out->next_cursor = day_id_cursor('t', last->report_day, last->id);
            break;
        }
        out->items = xreallocarray(out->items, out->count + 1, sizeof(*out->items));
        tls_read(s, &out->items[out->count++]);
    }
    store_stmt_free(s);
    if (rc)
        portal_tls_reports_release(out);
    return rc;
}

/* ---- audit log ---- */

void portal_audit_release(struct portal_audit *page)
{
    for (size_t i = 0; i < page->count; i++) {
        free(page->items[i].actor);
        free(page->items[i].action);
        free(page->items[i].target);
        free(page->items[i].detail);
    }
    free(page->items);
    free(page->next_cursor);
    memset(page, 0, sizeof(*page));
}

/* "YYYY-MM-DD HH:MM:SS.ffffff", the cursor's form of an audit time. */
static bool audit_time_valid(const char *t)
{
    static const char shape[] = "dddd-dd-dd dd:dd:dd.dddddd";
    if (strlen(t) != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != shape[i])
            return false;
    }
    char day[QUERY_DAY_TEXT_MAX];
    memcpy(day, t, QUERY_DAY_TEXT_MAX - 1);
    day[QUERY_DAY_TEXT_MAX - 1] = '\0';
    return query_day_valid(day);
}

static enum dmarcd_err audit_cursor_parse(const char *cursor, char at[PORTAL_AUDIT_TIME_MAX],
                                          uint64_t *id, struct strbuf *why)
{
    char payload[CURSOR_PAYLOAD_MAX + 1];
    enum dmarcd_err rc = cursor_decode(cursor, 'a', payload, why);
    if (rc)
        return rc;
    char *bar = strchr(payload, '|');
    if (bar)
        *bar = '\0';
    if (!bar || !audit_time_valid(payload) || !parse_id(bar + 1, id)) {
        set_why(why, "invalid cursor: pass next_cursor from the previous page unchanged");
        return DMARCD_E_INVALID;
    }
    memcpy(at, payload, strlen(payload) + 1);
    return DMARCD_OK;
}

static enum dmarcd_err audit_args(const struct portal_audit_args *a, unsigned *limit,
                                  char at[PORTAL_AUDIT_TIME_MAX], uint64_t *id,
                                  struct strbuf *why)
{
    enum dmarcd_err rc = check_days(a->from, a->to, why);
    if (!rc)
        rc = check_limit(a->limit, limit, why);
    if (!rc && a->action && strlen(a->action) > 64) {
        set_why(why, "an action has at most 64 characters");
        rc = DMARCD_E_INVALID;
    }
    if (!rc && a->cursor && *a->cursor)
        rc = audit_cursor_parse(a->cursor, at, id, why);
    return rc;
}

enum dmarcd_err portal_read_audit(struct store *st, uint32_t tenant_id,
                                  const struct portal_audit_args *a, struct portal_audit *out,
                                  struct strbuf *why)
{
    char after_at[PORTAL_AUDIT_TIME_MAX] = "", cur_at[PORTAL_AUDIT_TIME_MAX] = "";
    uint64_t after_id = 0;
    unsigned limit = 0;
    struct store_stmt *s = NULL;
    struct build b;
    bool row;
    memset(out, 0, sizeof(*out));
    enum dmarcd_err rc = audit_args(a, &limit, after_at, &after_id, why);
    if (rc)
        return rc;
    b_init(&b, "SELECT id, DATE_FORMAT(at, '%Y-%m-%dT%H:%i:%s.%fZ'), actor, action, target,"
               " detail, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f') FROM audit_log");
    b_u64(&b, " WHERE tenant_id = ?", tenant_id);
    if (a->from && *a->from)
        b_str(&b, " AND at >= ?", a->from);
    if (a->to && *a->to)
        b_str(&b, " AND at < ? + INTERVAL 1 DAY", a->to);
    if (a->action && *a->action)
        b_str(&b, " AND action = ?", a->action);
    if (after_at[0]) {
        b_str(&b, " AND (at < ?", after_at);
        b_str(&b, " OR (at = ?", after_at);
        b_u64(&b, " AND id < ?))", after_id);
    }
    b_u64(&b, " ORDER BY at DESC, id DESC LIMIT ?", limit + 1);
    rc = b_run(st, &b, &s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        if (out->count == limit) {
            char payload[CURSOR_PAYLOAD_MAX];
            snprintf(payload, sizeof(payload), "%s|%llu", cur_at,
                     (unsigned long long)out->items[out->count - 1].id);
            out->next_cursor = cursor_encode('a', payload);
            break;
        }
        out->items = xreallocarray(out->items, out->count + 1, sizeof(*out->items));
        struct portal_audit_entry *e = &out->items[out->count++];
        e->id = store_col_u64(s, 0);
        copy_text(store_col_str(s, 1), e->at, sizeof(e->at));
        e->actor = dup_or_null(s, 2);
        e->action = dup_or_null(s, 3);
        e->target = dup_or_null(s, 4);
        e->detail = dup_or_null(s, 5);
        copy_text(store_col_str(s, 6), cur_at, sizeof(cur_at));
    }
    store_stmt_free(s);
    if (rc)
        portal_audit_release(out);
    return rc;
}

/* ---- settings ---- */

void portal_settings_release(struct portal_settings *s)
{
    free(s->name);
    free(s->tier);
    free(s->status);
    free(s->forensic_policy);
    free(s->forensic_redaction);
    free(s->pgp_fingerprint);
    free(s->pgp_format);
    memset(s, 0, sizeof(*s));
}

enum dmarcd_err portal_read_settings(struct store *st, uint32_t tenant_id,
                                     struct portal_settings *out)
{
    struct store_stmt *s = NULL;
    bool row = false;
    memset(out, 0, sizeof(*out));
    enum dmarcd_err rc = store_stmt_prepare(
        st, "SELECT name, tier, status, forensic_policy, forensic_redaction, pgp_fingerprint,"
            " pgp_format, " RFC3339("pgp_expires_at") ", " RFC3339("created_at")
            " FROM tenants WHERE id = ?", &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant_id);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && !row)
        rc = DMARCD_E_NOT_FOUND;
    if (!rc) {
        out->name = store_col_dup(s, 0);
        out->tier = store_col_dup(s, 1);
        out->status = store_col_dup(s, 2);
        out->forensic_policy = store_col_dup(s, 3);
        out->forensic_redaction = store_col_dup(s, 4);
        out->pgp_fingerprint = dup_or_null(s, 5);
        out->pgp_format = store_col_dup(s, 6);
        copy_text(store_col_str(s, 7), out->pgp_expires_at, sizeof(out->pgp_expires_at));
        copy_text(store_col_str(s, 8), out->created_at, sizeof(out->created_at));
    }
    store_stmt_free(s);
    return rc;
}

/* ---- domains ---- */

enum dmarcd_err portal_domain_remove(struct store *st, uint32_t tenant_id, const char *domain,
                                     const char *actor)
{
    struct store_stmt *s = NULL;
    enum dmarcd_err rc = store_begin(st);
    if (!rc)
        rc = store_stmt_prepare(st, "DELETE FROM tenant_domains WHERE tenant_id = ? AND domain = ?",
                                &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant_id);
        store_bind_str(s, 1, domain);
        rc = store_stmt_exec(s);
    }
    if (!rc && store_stmt_affected(s) == 0)
        rc = DMARCD_E_NOT_FOUND;
    store_stmt_free(s);
    if (!rc)
        rc = store_audit_add(st, tenant_id, actor, "domain.remove", domain, NULL);
    if (!rc)
        rc = store_commit(st);
    if (rc)
        store_rollback(st);
    return rc;
}

/* ---- raw messages ---- */

/* The report's inbox id (0: none), and whether another tenant's report
 * came in the same message. */
static enum dmarcd_err report_inbox(struct store *st, uint32_t tenant_id, uint64_t report_id,
                                    uint64_t *inbox_id, bool *shared)
{
    struct store_stmt *s = NULL;
    bool row = false;
    enum dmarcd_err rc = store_stmt_prepare(
        st, "SELECT r.inbox_id, EXISTS (SELECT 1 FROM aggregate_reports o"
            " WHERE o.inbox_id = r.inbox_id AND o.tenant_id <> r.tenant_id)"
            " FROM aggregate_reports r WHERE r.tenant_id = ? AND r.id = ?", &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant_id);
        store_bind_u64(s, 1, report_id);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && !row)
        rc = DMARCD_E_NOT_FOUND;
    if (!rc) {
        *inbox_id = store_col_is_null(s, 0) ? 0 : store_col_u64(s, 0);
        *shared = store_col_u64(s, 1) != 0;
    }
    store_stmt_free(s);
    return rc;
}

enum dmarcd_err portal_report_raw(struct store *st, uint32_t tenant_id, uint64_t report_id,
                                  uint8_t **raw, size_t *len)
{
    struct inbox_meta meta;
    uint64_t inbox_id = 0;
    bool shared = false;
    *raw = NULL;
    *len = 0;
    enum dmarcd_err rc = report_inbox(st, tenant_id, report_id, &inbox_id, &shared);
    if (!rc && (inbox_id == 0 || shared))
        rc = DMARCD_E_NOT_FOUND;
    if (rc)
        return rc;
    memset(&meta, 0, sizeof(meta));
    rc = inbox_load(st, inbox_id, raw, len, &meta);
    if (!rc && meta.tenant_id != 0 && meta.tenant_id != tenant_id)
        rc = DMARCD_E_NOT_FOUND;
    inbox_meta_release(&meta);
    if (rc) {
        free(*raw);
        *raw = NULL;
        *len = 0;
    }
    return rc;
}
