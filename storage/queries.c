/*
 * queries.c - read queries for the API and dashboard (see queries.h).
 *
 * Shape of every statement: `WHERE tenant_id = ?` first, then the key
 * prefix the schema's indexes were built for (domain, then report_day, or
 * report_day alone), so reads are index ranges and the report_day
 * predicate prunes the monthly partitions. Optional filters change the SQL
 * text, not a `? IS NULL OR ...` test, so the optimizer always sees the
 * plain predicate it can use an index for; the text is assembled only from
 * fixed fragments here and every value is a bound parameter.
 *
 * Ordering by an aggregate (sources) cannot come from an index: the groups
 * of the range are computed and the page is cut from them with a keyset
 * HAVING, which is still exact and stable. Raw records are read only for
 * one report and for hour buckets, whose span is capped.
 *
 * Cursors are base64url (libsodium) of a short text "kind|key|key"; they
 * are opaque to clients but validated strictly here: the exact encoding,
 * the kind, and canonical numbers, days and addresses.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/xalloc.h"
#include "storage/inet.h"
#include "storage/queries.h"
#include "storage/stmt.h"
#include "storage/store_internal.h"
#include "lib/banned.h"

#define DOMAIN_TEXT_MAX 254
#define CURSOR_PAYLOAD_MAX 96       /* QUERY_CURSOR_TEXT_MAX base64 characters */
#define SECONDS_PER_DAY 86400
#define SECONDS_PER_HOUR 3600

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

/* ---- calendar: days since 1970-01-01, proleptic Gregorian ---- */

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return len[m - 1] + (m == 2 && is_leap(y));
}

/* Days from 0000-01-01 to y-01-01 for y >= 0 (year 0 is a leap year). */
static int64_t days_to_year(int64_t y)
{
    return 365 * y + (y + 3) / 4 - (y + 99) / 100 + (y + 399) / 400;
}

#define DAYS_0000_TO_1970 719528

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t n = days_to_year(y) - DAYS_0000_TO_1970;
    for (unsigned i = 1; i < m; i++)
        n += month_days(y, i);
    return n + d - 1;
}

/* The inverse for days within years 0000-9999 (the caller checks). */
static void civil_from_days(int64_t n, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = n + DAYS_0000_TO_1970;
    int64_t year = z * 400 / 146097;        /* average year length: at most one off */
    while (year > 0 && days_to_year(year) > z)
        year--;
    while (days_to_year(year + 1) <= z)
        year++;
    int64_t doy = z - days_to_year(year);
    unsigned month = 1;
    while (doy >= month_days(year, month))
        doy -= month_days(year, month++);
    *y = year;
    *m = month;
    *d = (unsigned)doy + 1;
}

#define MIN_DAY (-DAYS_0000_TO_1970)             /* 0000-01-01 */
#define MAX_DAY (2932896)                        /* 9999-12-31 */

/* "YYYY-MM-DD" of day n, clamped to MariaDB's DATE years 1000-9999 (the
 * days computed from a valid one, a day or two years away, may cross). */
static void day_text(int64_t n, char out[QUERY_DAY_TEXT_MAX])
{
    int64_t y;
    unsigned m, d;
    char text[48];              /* wide enough for any value: no truncation warning */
    int64_t lo = days_from_civil(1000, 1, 1), hi = days_from_civil(9999, 12, 31);
    civil_from_days(n < lo ? lo : n > hi ? hi : n, &y, &m, &d);
    snprintf(text, sizeof(text), "%04lld-%02u-%02u", (long long)y, m, d);
    memcpy(out, text, QUERY_DAY_TEXT_MAX - 1);
    out[QUERY_DAY_TEXT_MAX - 1] = '\0';
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

static unsigned num(const char *s, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

/* Exactly "YYYY-MM-DD", years 1000-9999 (MariaDB's DATE), a real day. */
static bool parse_day(const char *s, int64_t *out)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4) ||
        !digits(s + 5, 2) || !digits(s + 8, 2))
        return false;
    unsigned y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
    if (y < 1000 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
        return false;
    *out = days_from_civil(y, m, d);
    return true;
}

bool query_day_valid(const char *text)
{
    int64_t n;
    return parse_day(text, &n);
}

bool query_time_rfc3339(int64_t t, char out[QUERY_TIME_TEXT_MAX])
{
    out[0] = '\0';
    int64_t days = t / SECONDS_PER_DAY - (t % SECONDS_PER_DAY < 0);
    if (days < MIN_DAY || days > MAX_DAY)
        return false;
    int64_t sec = t - days * SECONDS_PER_DAY, y;
    unsigned m, d;
    char text[96];
    civil_from_days(days, &y, &m, &d);
    snprintf(text, sizeof(text), "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d,
             (unsigned)(sec / 3600), (unsigned)(sec / 60 % 60), (unsigned)(sec % 60));
    memcpy(out, text, QUERY_TIME_TEXT_MAX - 1);
    out[QUERY_TIME_TEXT_MAX - 1] = '\0';
    return true;
}

/* "YYYY-MM-DD HH:MM:SS" (a DATETIME column in UTC) to RFC 3339. */
static void datetime_rfc3339(const char *db, char out[QUERY_TIME_TEXT_MAX])
{
    out[0] = '\0';
    if (!db || strlen(db) < 19)
        return;
    memcpy(out, db, 19);
    out[10] = 'T';
    out[19] = 'Z';
    out[20] = '\0';
}

static void copy_day(const char *db, char out[QUERY_DAY_TEXT_MAX])
{
    size_t n = db ? strlen(db) : 0;
    n = n < QUERY_DAY_TEXT_MAX - 1 ? n : QUERY_DAY_TEXT_MAX - 1;
    if (n)
        memcpy(out, db, n);
    out[n] = '\0';
}

/* ---- argument checks ---- */

struct range {
    int64_t from, to;           /* day numbers */
    const char *from_text, *to_text;
};

static enum dmarcd_err check_range(const char *from, const char *to, int64_t max_span,
                                   struct range *r, struct strbuf *why)
{
    if (!parse_day(from, &r->from)) {
        set_why(why, "invalid from date \"%.32s\": expected YYYY-MM-DD", from ? from : "");
        return DMARCD_E_INVALID;
    }
    if (!parse_day(to, &r->to)) {
        set_why(why, "invalid to date \"%.32s\": expected YYYY-MM-DD", to ? to : "");
        return DMARCD_E_INVALID;
    }
    if (r->from > r->to) {
        set_why(why, "from %s is after to %s", from, to);
        return DMARCD_E_INVALID;
    }
    if (r->to - r->from + 1 > max_span) {
        set_why(why, "%s to %s spans %lld days; at most %lld", from, to,
                (long long)(r->to - r->from + 1), (long long)max_span);
        return DMARCD_E_INVALID;
    }
    r->from_text = from;
    r->to_text = to;
    return DMARCD_OK;
}

/*
 * Policy domains are stored lower-cased; match them the same way. Only
 * what cannot be a stored domain is refused (the stored value came from a
 * report, so it is not held to tenant_domain_normalise's stricter rules).
 * *res is NULL for "every domain".
 */
static enum dmarcd_err check_domain(const char *in, char out[DOMAIN_TEXT_MAX], const char **res,
                                    struct strbuf *why)
{
    size_t n = in ? strlen(in) : 0;
    *res = NULL;
    if (n == 0)
        return DMARCD_OK;
    if (in[n - 1] == '.')
        n--;
    if (n == 0 || n > DOMAIN_TEXT_MAX - 1) {
        set_why(why, "invalid domain: 1 to 253 characters");
        return DMARCD_E_INVALID;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= ' ' || c == 0x7f) {
            set_why(why, "invalid domain: no spaces or control characters");
            return DMARCD_E_INVALID;
        }
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : (char)c;
    }
    out[n] = '\0';
    *res = out;
    return DMARCD_OK;
}

static enum dmarcd_err check_limit(unsigned limit, unsigned def, unsigned max, unsigned *out,
                                   struct strbuf *why)
{
    *out = limit ? limit : def;
    if (*out <= max)
        return DMARCD_OK;
    set_why(why, "limit %u is over the maximum of %u", limit, max);
    return DMARCD_E_INVALID;
}

bool query_source_sort_parse(const char *text, enum query_source_sort *out)
{
    if (text && strcmp(text, "messages") == 0)
        *out = QUERY_SOURCES_BY_MESSAGES;
    else if (text && strcmp(text, "fail") == 0)
        *out = QUERY_SOURCES_BY_FAIL;
    else
        return false;
    return true;
}

bool query_bucket_parse(const char *text, enum query_bucket *out)
{
    if (text && strcmp(text, "day") == 0)
        *out = QUERY_BUCKET_DAY;
    else if (text && strcmp(text, "hour") == 0)
        *out = QUERY_BUCKET_HOUR;
    else
        return false;
    return true;
}

/* ---- cursors ---- */

/* Sets the one reason every malformed cursor gets; returns false. */
static bool bad_cursor(struct strbuf *why)
{
    set_why(why, "invalid cursor: pass next_cursor from the previous page unchanged");
    return false;
}

static char *cursor_encode(const char *payload)
{
    size_t n = strlen(payload);
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = xmalloc(cap);
    sodium_bin2base64(out, cap, (const unsigned char *)payload, n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

/* Decodes a cursor of the given kind into payload (the text after "k|"). */
static enum dmarcd_err cursor_decode(const char *cursor, char kind,
                                     char payload[CURSOR_PAYLOAD_MAX + 1], struct strbuf *why)
{
    size_t n = strlen(cursor), len = 0;
    unsigned char bin[CURSOR_PAYLOAD_MAX + 1];
    const char *end = NULL;
    bool ok = n <= QUERY_CURSOR_TEXT_MAX &&
              sodium_base642bin(bin, CURSOR_PAYLOAD_MAX, cursor, n, NULL, &len, &end,
                                sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
              end == cursor + n && len >= 2 && bin[0] == (unsigned char)kind && bin[1] == '|' &&
              memchr(bin, '\0', len) == NULL;
    if (ok) {
        /* only the one encoding of these bytes is accepted */
        bin[len] = '\0';
        char *again = cursor_encode((const char *)bin);
        ok = strcmp(again, cursor) == 0;
        free(again);
    }
    if (!ok) {
        (void)bad_cursor(why);
        return DMARCD_E_INVALID;
    }
    memcpy(payload, bin + 2, len - 2);
    payload[len - 2] = '\0';
    return DMARCD_OK;
}

/* A canonical decimal (no sign, no leading zero) of at most max. */
static bool parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20 || !digits(s, n) || (n > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned dgt = (unsigned)(s[i] - '0');
        if (v > (max - dgt) / 10)
            return false;
        v = v * 10 + dgt;
    }
    *out = v;
    return true;
}

/* ---- statement assembly ---- */

struct qparam {
    enum { QP_STR, QP_U64, QP_I64 } type;
    const char *s;              /* borrowed until the statement ran */
    uint64_t u;
    int64_t i;
};

struct qbuild {
    struct strbuf sql;
    struct qparam *p;
    unsigned n;
};

static void qb_init(struct qbuild *q)
{
    strbuf_init(&q->sql, 0);
    q->p = NULL;
    q->n = 0;
}

static void qb_release(struct qbuild *q)
{
    strbuf_release(&q->sql);
    free(q->p);
}

static void qb_sql(struct qbuild *q, const char *frag)
{
    (void)strbuf_addstr(&q->sql, frag);
}

static struct qparam *qb_param(struct qbuild *q, const char *frag)
{
    qb_sql(q, frag);
    q->p = xreallocarray(q->p, q->n + 1, sizeof(*q->p));
    memset(&q->p[q->n], 0, sizeof(q->p[0]));
    return &q->p[q->n++];
}

/* frag holds one `?` for v. */
static void qb_str(struct qbuild *q, const char *frag, const char *v)
{
    struct qparam *p = qb_param(q, frag);
    p->type = QP_STR;
    p->s = v;
}

static void qb_u64(struct qbuild *q, const char *frag, uint64_t v)
{
    struct qparam *p = qb_param(q, frag);
    p->type = QP_U64;
    p->u = v;
}

static void qb_i64(struct qbuild *q, const char *frag, int64_t v)
{
    struct qparam *p = qb_param(q, frag);
    p->type = QP_I64;
    p->i = v;
}

static enum dmarcd_err qb_run(struct store *st, const struct qbuild *q, struct store_stmt **out)
{
    enum dmarcd_err rc = store_stmt_prepare(st, q->sql.buf, out);
    for (unsigned i = 0; !rc && i < q->n; i++) {
        if (q->p[i].type == QP_STR)
            store_bind_str(*out, i, q->p[i].s);
        else if (q->p[i].type == QP_U64)
            store_bind_u64(*out, i, q->p[i].u);
        else
            store_bind_i64(*out, i, q->p[i].i);
    }
    if (!rc)
        rc = store_stmt_exec(*out);
    return rc;
}

/* `WHERE tenant_id = ? [AND domain = ?] AND report_day BETWEEN ? AND ?`:
 * the daily_rollups primary key prefix, and the partition pruning range. */
static void where_rollups(struct qbuild *q, uint32_t tenant_id, const char *domain,
                          const struct range *r)
{
    qb_u64(q, " WHERE tenant_id = ?", tenant_id);
    if (domain)
        qb_str(q, " AND domain = ?", domain);
    qb_str(q, " AND report_day BETWEEN ?", r->from_text);
    qb_str(q, " AND ?", r->to_text);
}

/* ---- snapshots ---- */

/* Statements that belong together read one snapshot: their own
 * transaction, unless the caller has one open (then theirs is used). */
static enum dmarcd_err snap_begin(struct store *st, bool *own)
{
    *own = !st->in_txn;
    return *own ? store_begin(st) : DMARCD_OK;
}

static enum dmarcd_err snap_end(struct store *st, bool own, enum dmarcd_err rc)
{
    if (!own)
        return rc;
    if (rc) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st);
}

static char *dup_or_null(const struct store_stmt *s, unsigned i)
{
    return store_col_is_null(s, i) ? NULL : xstrndup(store_col_str(s, i), store_col_len(s, i));
}

/* ---- overview ---- */

#define SUM_DMARC_PASS "SUM(IF(dkim = 'pass' OR spf = 'pass', messages, 0))"
#define SUM_SPF_PASS "SUM(IF(spf = 'pass', messages, 0))"
#define SUM_DKIM_PASS "SUM(IF(dkim = 'pass', messages, 0))"
#define SUM_DISP(d) "SUM(IF(disposition = '" d "', messages, 0))"

static enum dmarcd_err overview_rollups(struct store *st, uint32_t tenant_id, const char *domain,
                                        const struct range *r, struct query_overview *out)
{
    struct qbuild q;
    struct store_stmt *s = NULL;
    bool row = false;
    qb_init(&q);
    qb_sql(&q, "SELECT COALESCE(SUM(messages), 0), COALESCE(" SUM_DMARC_PASS ", 0),"
               " COALESCE(" SUM_SPF_PASS ", 0), COALESCE(" SUM_DKIM_PASS ", 0),"
               " COALESCE(" SUM_DISP("none") ", 0), COALESCE(" SUM_DISP("quarantine") ", 0),"
               " COALESCE(" SUM_DISP("reject") ", 0), COALESCE(" SUM_DISP("pass") ", 0),"
               " COALESCE(" SUM_DISP("unknown") ", 0), COUNT(DISTINCT source_ip)"
               " FROM daily_rollups");
    where_rollups(&q, tenant_id, domain, r);
    enum dmarcd_err rc = qb_run(st, &q, &s);
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && row) {
        uint64_t *dst[] = { &out->messages,  &out->dmarc_pass,      &out->spf_pass,
                            &out->dkim_pass, &out->disp_none,       &out->disp_quarantine,
                            &out->disp_reject, &out->disp_pass,     &out->disp_unknown,
                            &out->sources };
        for (unsigned i = 0; i < sizeof(dst) / sizeof(dst[0]); i++)
            *dst[i] = store_col_u64(s, i);
    }
    store_stmt_free(s);
    qb_release(&q);
    return rc;
}

static enum dmarcd_err overview_reports(struct store *st, uint32_t tenant_id, const char *domain,
                                        const struct range *r, struct query_overview *out)
{
    struct qbuild q;
    struct store_stmt *s = NULL;
    bool row = false;
    qb_init(&q);
    qb_u64(&q, "SELECT COUNT(*), COUNT(DISTINCT org_name) FROM aggregate_reports"
               " WHERE tenant_id = ?", tenant_id);
    if (domain)
        qb_str(&q, " AND policy_domain = ?", domain);
    qb_str(&q, " AND report_day BETWEEN ?", r->from_text);
    qb_str(&q, " AND ?", r->to_text);
    enum dmarcd_err rc = qb_run(st, &q, &s);
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && row) {
        out->reports = store_col_u64(s, 0);
        out->reporters = store_col_u64(s, 1);
    }
    store_stmt_free(s);
    qb_release(&q);
    return rc;
}

enum dmarcd_err query_read_overview(struct store *st, uint32_t tenant_id, const char *domain,
                                    const char *from, const char *to,
                                    struct query_overview *out, struct strbuf *why)
{
    char dbuf[DOMAIN_TEXT_MAX];
    struct range r;
    bool own = false;
    memset(out, 0, sizeof(*out));
    enum dmarcd_err rc = check_domain(domain, dbuf, &domain, why);
    if (!rc)
        rc = check_range(from, to, QUERY_MAX_SPAN_DAYS, &r, why);
    if (rc)
        return rc;
    rc = snap_begin(st, &own);
    if (!rc)
        rc = overview_rollups(st, tenant_id, domain, &r, out);
    if (!rc)
        rc = overview_reports(st, tenant_id, domain, &r, out);
    rc = snap_end(st, own, rc);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ---- sources ---- */

/* The sort key of each order; both descending, ties by source_ip. */
static const char *const SOURCE_SORT_SQL[] = {
    [QUERY_SOURCES_BY_MESSAGES] = "SUM(messages)",
    [QUERY_SOURCES_BY_FAIL] = "SUM(messages) - " SUM_DMARC_PASS,
};
/* The cursor kind of each order, so a cursor cannot cross orders. */
static const char SOURCE_SORT_TAG[] = { [QUERY_SOURCES_BY_MESSAGES] = 'm',
                                        [QUERY_SOURCES_BY_FAIL] = 'f' };

struct source_pos {
    bool set;
    uint64_t key;
    char db_ip[STORE_INET6_TEXT_MAX];   /* INET6 column text */
};

/* Cursor payload: "<sort tag>|<sort key>|<canonical ip>". */
static bool source_cursor_parse(const char *cursor, enum query_source_sort sort,
                                struct source_pos *pos, struct strbuf *why)
{
    char payload[CURSOR_PAYLOAD_MAX + 1], back[STORE_INET6_TEXT_MAX];
    memset(pos, 0, sizeof(*pos));
    if (!cursor || !*cursor)
        return true;
    if (cursor_decode(cursor, SOURCE_SORT_TAG[sort], payload, why))
        return false;
    char *bar = strchr(payload, '|');
    if (!bar || !parse_u64(payload, (size_t)(bar - payload), UINT64_MAX, &pos->key) ||
        !store_inet6_from_ip(bar + 1, pos->db_ip) || !store_inet6_to_ip(pos->db_ip, back) ||
        strcmp(back, bar + 1) != 0)
        return bad_cursor(why);
    pos->set = true;
    return true;
}

static char *source_cursor(enum query_source_sort sort, uint64_t key, const char *ip)
{
    char payload[CURSOR_PAYLOAD_MAX + 1];
    snprintf(payload, sizeof(payload), "%c|%llu|%s", SOURCE_SORT_TAG[sort],
             (unsigned long long)key, ip);
    return cursor_encode(payload);
}

struct sources_ctx {
    uint32_t tenant_id;
    const char *domain;
    struct range r;
    const char *db_ip;                  /* the ip filter as INET6 text, or NULL */
    enum query_source_sort sort;
    unsigned limit;
    struct source_pos pos;
    char (*db_ips)[STORE_INET6_TEXT_MAX];   /* per item, for the header_from query */
};

static void sources_sql(struct qbuild *q, const struct sources_ctx *c)
{
    qb_sql(q, "SELECT source_ip, SUM(messages), " SUM_DMARC_PASS ", " SUM_SPF_PASS ", "
              SUM_DKIM_PASS ", MIN(report_day), MAX(report_day), ");
    qb_sql(q, SOURCE_SORT_SQL[c->sort]);
    qb_sql(q, " AS sort_key FROM daily_rollups");
    where_rollups(q, c->tenant_id, c->domain, &c->r);
    if (c->db_ip)
        qb_str(q, " AND source_ip = ?", c->db_ip);
    qb_sql(q, " GROUP BY source_ip");
    if (c->pos.set) {
        qb_u64(q, " HAVING sort_key < ?", c->pos.key);
        qb_u64(q, " OR (sort_key = ?", c->pos.key);
        qb_str(q, " AND source_ip > ?)", c->pos.db_ip);
    }
    qb_u64(q, " ORDER BY sort_key DESC, source_ip LIMIT ?", (uint64_t)c->limit + 1);
}

static enum dmarcd_err sources_page(struct store *st, struct sources_ctx *c,
                                    struct query_sources *out)
{
    struct qbuild q;
    struct store_stmt *s = NULL;
    bool row;
    uint64_t last_key = 0;
    qb_init(&q);
    sources_sql(&q, c);
    enum dmarcd_err rc = qb_run(st, &q, &s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        if (out->count == c->limit) {
            out->next_cursor = source_cursor(c->sort, last_key, out->items[out->count - 1].ip);
            break;
        }
        size_t i = out->count++;
        out->items = xreallocarray(out->items, out->count, sizeof(*out->items));
        c->db_ips = xreallocarray(c->db_ips, out->count, sizeof(*c->db_ips));
        struct query_source *it = &out->items[i];
        memset(it, 0, sizeof(*it));
        snprintf(c->db_ips[i], sizeof(c->db_ips[i]), "%s", store_col_str(s, 0));
        (void)store_inet6_to_ip(c->db_ips[i], it->ip);
        it->messages = store_col_u64(s, 1);
        it->dmarc_pass = store_col_u64(s, 2);
        it->dmarc_fail = it->messages - it->dmarc_pass;
        it->spf_pass = store_col_u64(s, 3);
        it->dkim_pass = store_col_u64(s, 4);
        copy_day(store_col_str(s, 5), it->first_day);
        copy_day(store_col_str(s, 6), it->last_day);
        last_key = store_col_u64(s, 7);
    }
    store_stmt_free(s);
    qb_release(&q);
    return rc;
}

static struct query_source *source_by_db_ip(struct query_sources *out, const struct sources_ctx *c,
                                            const char *db_ip)
{
    for (size_t i = 0; db_ip && i < out->count; i++) {
        if (strcmp(c->db_ips[i], db_ip) == 0)
            return &out->items[i];
    }
    return NULL;
}

/* The header_from domains of the page's sources, most messages first. */
static enum dmarcd_err sources_header_from(struct store *st, const struct sources_ctx *c,
                                           struct query_sources *out)
{
    struct qbuild q;
    struct store_stmt *s = NULL;
    struct query_source *it = NULL;
    bool row;
    if (!out->count)
        return DMARCD_OK;
    qb_init(&q);
    qb_sql(&q, "SELECT source_ip, header_from, SUM(messages) AS m FROM daily_rollups");
    where_rollups(&q, c->tenant_id, c->domain, &c->r);
    for (size_t i = 0; i < out->count; i++)
        qb_str(&q, i ? ", ?" : " AND source_ip IN (?", c->db_ips[i]);
    qb_sql(&q, ") AND header_from <> '' GROUP BY source_ip, header_from"
               " ORDER BY source_ip, m DESC, header_from");
    enum dmarcd_err rc = qb_run(st, &q, &s);
    const char *prev = "";
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        const char *ip = store_col_str(s, 0);
        if (!it || strcmp(prev, ip) != 0) {
            it = source_by_db_ip(out, c, ip);
            prev = it ? c->db_ips[it - out->items] : "";
        }
        if (!it)
            continue;
        it->header_from_total++;
        if (it->header_from_count < QUERY_SOURCE_DOMAINS_MAX) {
            it->header_from = xreallocarray(it->header_from, it->header_from_count + 1,
                                            sizeof(*it->header_from));
            it->header_from[it->header_from_count++] = store_col_dup(s, 1);
        }
    }
    store_stmt_free(s);
    qb_release(&q);
    return rc;
}

void query_sources_release(struct query_sources *page)
{
    for (size_t i = 0; i < page->count; i++) {
        for (size_t j = 0; j < page->items[i].header_from_count; j++)
            free(page->items[i].header_from[j]);
        free(page->items[i].header_from);
    }
    free(page->items);
    free(page->next_cursor);
    memset(page, 0, sizeof(*page));
}

static enum dmarcd_err sources_args(const struct query_source_args *a, struct sources_ctx *c,
                                    char dbuf[DOMAIN_TEXT_MAX],
                                    char ipbuf[STORE_INET6_TEXT_MAX], struct strbuf *why)
{
    enum dmarcd_err rc = check_domain(a->domain, dbuf, &c->domain, why);
    if (!rc)
        rc = check_range(a->from, a->to, QUERY_MAX_SPAN_DAYS, &c->r, why);
    if (!rc)
        rc = check_limit(a->limit, QUERY_PAGE_DEFAULT, QUERY_PAGE_MAX, &c->limit, why);
    if (rc)
        return rc;
    if ((unsigned)a->sort > QUERY_SOURCES_BY_FAIL) {
        set_why(why, "unknown sort order");
        return DMARCD_E_INVALID;
    }
    c->sort = a->sort;
    if (a->ip && *a->ip) {
        if (!store_inet6_from_ip(a->ip, ipbuf)) {
            set_why(why, "invalid ip \"%.64s\": expected an IPv4 or IPv6 address", a->ip);
            return DMARCD_E_INVALID;
        }
        c->db_ip = ipbuf;
    }
    return source_cursor_parse(a->cursor, c->sort, &c->pos, why) ? DMARCD_OK
                                                                  : DMARCD_E_INVALID;
}

enum dmarcd_err query_read_sources(struct store *st, uint32_t tenant_id,
                                   const struct query_source_args *args,
                                   struct query_sources *out, struct strbuf *why)
{
    char dbuf[DOMAIN_TEXT_MAX], ipbuf[STORE_INET6_TEXT_MAX];
    struct sources_ctx c;
    bool own = false;
    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    c.tenant_id = tenant_id;
    enum dmarcd_err rc = sources_args(args, &c, dbuf, ipbuf, why);
    if (rc)
        return rc;
    rc = snap_begin(st, &own);
    if (!rc)
        rc = sources_page(st, &c, out);
    if (!rc)
        rc = sources_header_from(st, &c, out);
    rc = snap_end(st, own, rc);
    free(c.db_ips);
    if (rc)
        query_sources_release(out);
    return rc;
}

/* ---- time series ---- */

static void timeseries_buckets(struct query_timeseries *ts, const struct range *r,
                               enum query_bucket bucket)
{
    size_t days = (size_t)(r->to - r->from + 1), per = bucket == QUERY_BUCKET_HOUR ? 24 : 1;
    ts->bucket = bucket;
    ts->count = days * per;
    ts->items = xcalloc(ts->count, sizeof(*ts->items));
    for (size_t i = 0; i < ts->count; i++) {
        struct query_point *p = &ts->items[i];
        int64_t day = r->from + (int64_t)(i / per);
        p->start_epoch = day * SECONDS_PER_DAY + (int64_t)(i % per) * SECONDS_PER_HOUR;
        if (bucket == QUERY_BUCKET_DAY)
            day_text(day, p->start);
        else
            (void)query_time_rfc3339(p->start_epoch, p->start);
    }
}

static enum dmarcd_err timeseries_days(struct store *st, uint32_t tenant_id, const char *domain,
                                       const struct range *r, struct query_timeseries *ts)
{
    struct qbuild q;
    struct store_stmt *s = NULL;
    bool row;
    int64_t day;
    qb_init(&q);
    qb_sql(&q, "SELECT report_day, SUM(messages), " SUM_DMARC_PASS ", " SUM_SPF_PASS ", "
               SUM_DKIM_PASS ", " SUM_DISP("quarantine") ", " SUM_DISP("reject")
               " FROM daily_rollups");
    where_rollups(&q, tenant_id, domain, r);
    qb_sql(&q, " GROUP BY report_day ORDER BY report_day");
    enum dmarcd_err rc = qb_run(st, &q, &s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        if (!parse_day(store_col_str(s, 0), &day) || day < r->from || day > r->to)
            continue;
        struct query_point *p = &ts->items[day - r->from];
        p->messages = store_col_u64(s, 1);
        p->dmarc_pass = store_col_u64(s, 2);
        p->spf_pass = store_col_u64(s, 3);
        p->dkim_pass = store_col_u64(s, 4);
        p->quarantine = store_col_u64(s, 5);
        p->reject = store_col_u64(s, 6);
    }
    store_stmt_free(s);
    qb_release(&q);
    return rc;
}

/* One group of a report's messages: same disposition and verdicts. */
struct spread_group {
    int64_t begin, end;
    uint64_t messages;
    bool dmarc_pass, spf_pass, dkim_pass, quarantine, reject;
};

/* Ranges up to this long (136 years) are split in exact integers. */
#define SPREAD_EXACT_SPAN ((int64_t)1 << 32)

/*
 * Messages of g before instant t: floor(n * (t - begin) / (end - begin)),
 * 0 at begin and n at end. Computed exactly as q * d + r * d / span (q, r
 * = n divided by span; r * d < 2^64 while span < 2^32), so whole shares
 * stay whole; absurd ranges fall back to doubles, which cannot overflow and
 * are still monotonic in t for a given report.
 */
static uint64_t spread_before(const struct spread_group *g, int64_t t)
{
    if (t <= g->begin)
        return 0;
    if (t >= g->end)
        return g->messages;
    if (g->begin > INT64_MIN / 2 && g->end < INT64_MAX / 2 &&
        g->end - g->begin < SPREAD_EXACT_SPAN) {
        uint64_t span = (uint64_t)(g->end - g->begin), d = (uint64_t)(t - g->begin);
        return g->messages / span * d + g->messages % span * d / span;
    }
    double span = (double)g->end - (double)g->begin;
    if (!(span > 0))
        return 0;
    double v = (double)g->messages * (((double)t - (double)g->begin) / span);
    if (!(v >= 0))
        return 0;
    if (v >= (double)g->messages)
        return g->messages;
    return (uint64_t)v;
}

static void spread_add(struct query_point *p, const struct spread_group *g, uint64_t n)
{
    p->messages += n;
    p->dmarc_pass += g->dmarc_pass ? n : 0;
    p->spf_pass += g->spf_pass ? n : 0;
    p->dkim_pass += g->dkim_pass ? n : 0;
    p->quarantine += g->quarantine ? n : 0;
    p->reject += g->reject ? n : 0;
}

static void spread(struct query_timeseries *ts, const struct range *r, struct spread_group *g)
{
    int64_t start = r->from * SECONDS_PER_DAY;
    int64_t stop = (r->to + 1) * SECONDS_PER_DAY;
    if (g->end <= g->begin) {           /* an instant: its hour takes all */
        if (g->begin >= start && g->begin < stop)
            spread_add(&ts->items[(g->begin - start) / SECONDS_PER_HOUR], g, g->messages);
        return;
    }
    int64_t lo = g->begin > start ? g->begin : start;
    int64_t hi = g->end < stop ? g->end : stop;
    if (lo >= hi)
        return;
    for (int64_t k = (lo - start) / SECONDS_PER_HOUR; start + k * SECONDS_PER_HOUR < hi; k++) {
        int64_t h0 = start + k * SECONDS_PER_HOUR;
        uint64_t a = spread_before(g, h0), b = spread_before(g, h0 + SECONDS_PER_HOUR);
        if (b > a)
            spread_add(&ts->items[k], g, b - a);
    }
}

static bool col_is(const struct store_stmt *s, unsigned i, const char *v)
{
    const char *c = store_col_str(s, i);
    return c && strcmp(c, v) == 0;
}

static void hours_sql(struct qbuild *q, uint32_t tenant_id, const char *domain,
                      const struct range *r, char wide_from[QUERY_DAY_TEXT_MAX],
                      char wide_to[QUERY_DAY_TEXT_MAX])
{
    /* reports whose middle day is within a day of the range; the exact
     * overlap test on [begin, max(end, begin + 1)) follows */
    day_text(r->from - 1, wide_from);
    day_text(r->to + 1, wide_to);
    qb_sql(q, "SELECT r.date_begin, r.date_end, c.disposition, c.dkim, c.spf,"
              " SUM(c.message_count) FROM aggregate_reports r JOIN aggregate_records c"
              " ON c.tenant_id = r.tenant_id AND c.report_day = r.report_day"
              " AND c.report_id = r.id");
    qb_u64(q, " WHERE r.tenant_id = ?", tenant_id);
    if (domain)
        qb_str(q, " AND r.policy_domain = ?", domain);
    qb_str(q, " AND r.report_day BETWEEN ?", wide_from);
    qb_str(q, " AND ?", wide_to);
    qb_u64(q, " AND c.tenant_id = ?", tenant_id);
    qb_str(q, " AND c.report_day BETWEEN ?", wide_from);
    qb_str(q, " AND ?", wide_to);
    qb_i64(q, " AND r.date_begin < ?", (r->to + 1) * SECONDS_PER_DAY);
    qb_i64(q, " AND (r.date_end > ?", r->from * SECONDS_PER_DAY);
    qb_i64(q, " OR r.date_begin >= ?)", r->from * SECONDS_PER_DAY);
    qb_sql(q, " GROUP BY r.report_day, r.id, r.date_begin, r.date_end,"
              " c.disposition, c.dkim, c.spf");
}

static enum dmarcd_err timeseries_hours(struct store *st, uint32_t tenant_id, const char *domain,
                                        const struct range *r, struct query_timeseries *ts)
{
    struct qbuild q;
    struct store_stmt *s = NULL;
    char wide_from[QUERY_DAY_TEXT_MAX], wide_to[QUERY_DAY_TEXT_MAX];
    bool row;
    qb_init(&q);
    hours_sql(&q, tenant_id, domain, r, wide_from, wide_to);
    enum dmarcd_err rc = qb_run(st, &q, &s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        struct spread_group g = {
            .begin = store_col_i64(s, 0),
            .end = store_col_i64(s, 1),
            .messages = store_col_u64(s, 5),
            .quarantine = col_is(s, 2, "quarantine"),
            .reject = col_is(s, 2, "reject"),
            .dkim_pass = col_is(s, 3, "pass"),
            .spf_pass = col_is(s, 4, "pass"),
        };
        g.dmarc_pass = g.dkim_pass || g.spf_pass;
        spread(ts, r, &g);
    }
    store_stmt_free(s);
    qb_release(&q);
    return rc;
}

void query_timeseries_release(struct query_timeseries *ts)
{
    free(ts->items);
    memset(ts, 0, sizeof(*ts));
}

enum dmarcd_err query_read_timeseries(struct store *st, uint32_t tenant_id, const char *domain,
                                      const char *from, const char *to,
                                      enum query_bucket bucket, struct query_timeseries *out,
                                      struct strbuf *why)
{
    char dbuf[DOMAIN_TEXT_MAX];
    struct range r;
    memset(out, 0, sizeof(*out));
    if (bucket != QUERY_BUCKET_DAY && bucket != QUERY_BUCKET_HOUR) {
        set_why(why, "unknown bucket: day or hour");
        return DMARCD_E_INVALID;
    }
    enum dmarcd_err rc = check_domain(domain, dbuf, &domain, why);
    if (!rc)
        rc = check_range(from, to, QUERY_MAX_SPAN_DAYS, &r, why);
    if (!rc && bucket == QUERY_BUCKET_HOUR && r.to - r.from + 1 > QUERY_MAX_HOUR_SPAN_DAYS) {
        set_why(why, "hour buckets cover at most %d days (%s to %s is %lld); use day buckets",
                QUERY_MAX_HOUR_SPAN_DAYS, from, to, (long long)(r.to - r.from + 1));
        rc = DMARCD_E_INVALID;
    }
    if (rc)
        return rc;
    timeseries_buckets(out, &r, bucket);
    if (bucket == QUERY_BUCKET_DAY)
        rc = timeseries_days(st, tenant_id, domain, &r, out);
    else
        rc = timeseries_hours(st, tenant_id, domain, &r, out);
    if (rc)
        query_timeseries_release(out);
    return rc;
}

/* ---- report list ---- */

struct report_pos {
    bool set;
    char day[QUERY_DAY_TEXT_MAX];
    uint64_t id;
};

/* Cursor payload: "<report_day>|<id>". */
static bool report_cursor_parse(const char *cursor, struct report_pos *pos, struct strbuf *why)
{
    char payload[CURSOR_PAYLOAD_MAX + 1];
    int64_t day;
    memset(pos, 0, sizeof(*pos));
    if (!cursor || !*cursor)
        return true;
    if (cursor_decode(cursor, 'r', payload, why))
        return false;
    char *bar = strchr(payload, '|');
    if (!bar || bar != payload + 10)
        return bad_cursor(why);
    *bar = '\0';
    if (!parse_day(payload, &day) || !parse_u64(bar + 1, strlen(bar + 1), UINT64_MAX, &pos->id))
        return bad_cursor(why);
    memcpy(pos->day, payload, QUERY_DAY_TEXT_MAX);
    pos->set = true;
    return true;
}

static char *report_cursor(const struct query_report_item *it)
{
    char payload[CURSOR_PAYLOAD_MAX + 1];
    snprintf(payload, sizeof(payload), "r|%s|%llu", it->report_day, (unsigned long long)it->id);
    return cursor_encode(payload);
}

struct reports_ctx {
    const char *domain, *org;
    const char *from, *to;
    unsigned limit;
    struct report_pos pos;
};

#define REPORT_ITEM_COLUMNS                                                                 \
    "r.id, r.report_day, r.org_name, r.report_id, r.policy_domain, r.date_begin,"         \
    " r.date_end, r.record_count, r.message_count, r.format,"                             \
    " COALESCE(JSON_LENGTH(r.warnings), 0) + r.warnings_dropped, r.p"

/* The WHERE, keyset, ORDER BY and LIMIT of a page, over table alias r. */
static void reports_where(struct qbuild *q, uint32_t tenant_id, const struct reports_ctx *c)
{
    qb_u64(q, " WHERE r.tenant_id = ?", tenant_id);
    if (c->domain)
        qb_str(q, " AND r.policy_domain = ?", c->domain);
    if (c->from)
        qb_str(q, " AND r.report_day >= ?", c->from);
    if (c->to)
        qb_str(q, " AND r.report_day <= ?", c->to);
    if (c->org)
        qb_str(q, " AND r.org_name = ?", c->org);
    if (c->pos.set) {
        /* spelled out rather than a row comparison, which the range
         * optimizer would not turn into index ranges */
        qb_str(q, " AND (r.report_day < ?", c->pos.day);
        qb_str(q, " OR (r.report_day = ?", c->pos.day);
        qb_u64(q, " AND r.id < ?))", c->pos.id);
    }
    qb_u64(q, " ORDER BY r.report_day DESC, r.id DESC LIMIT ?", (uint64_t)c->limit + 1);
}

/*
 * Without a domain the primary key (tenant_id, report_day, id) is the
 * page order itself: a backward range read that stops at the limit.
 *
 * With a domain, the domain key (tenant_id, policy_domain, report_day)
 * holds the rows, but on a partitioned table MariaDB will not use its
 * implicit id suffix for ordering; left alone it walks the primary key
 * and filters, reading the whole tenant's history for a quiet domain.
 * So the page's (report_day, id) pairs are picked from the domain key
 * alone (covering, sorted in memory, bounded by that domain's reports in
 * range) and only those rows are read, by primary key.
 */
static void reports_sql(struct qbuild *q, uint32_t tenant_id, const struct reports_ctx *c)
{
    if (!c->domain) {
        qb_sql(q, "SELECT " REPORT_ITEM_COLUMNS " FROM aggregate_reports r");
        reports_where(q, tenant_id, c);
        return;
    }
    qb_sql(q, "SELECT " REPORT_ITEM_COLUMNS " FROM (SELECT r.id, r.report_day"
              " FROM aggregate_reports r FORCE INDEX (aggregate_reports_domain)");
    reports_where(q, tenant_id, c);
    qb_sql(q, ") AS k JOIN aggregate_reports r ON r.report_day = k.report_day AND r.id = k.id");
    qb_u64(q, " WHERE r.tenant_id = ? ORDER BY r.report_day DESC, r.id DESC", tenant_id);
}

static void report_item_release(struct query_report_item *it)
{
    free(it->org_name);
    free(it->report_id);
    free(it->policy_domain);
    free(it->format);
    free(it->policy_p);
}

void query_reports_release(struct query_reports *page)
{
    for (size_t i = 0; i < page->count; i++)
        report_item_release(&page->items[i]);
    free(page->items);
    free(page->next_cursor);
    memset(page, 0, sizeof(*page));
}

static void report_item_read(const struct store_stmt *s, struct query_report_item *it)
{
    memset(it, 0, sizeof(*it));
    it->id = store_col_u64(s, 0);
    copy_day(store_col_str(s, 1), it->report_day);
    it->org_name = dup_or_null(s, 2);
    it->report_id = dup_or_null(s, 3);
    it->policy_domain = dup_or_null(s, 4);
    it->date_begin = store_col_i64(s, 5);
    it->date_end = store_col_i64(s, 6);
    it->record_count = store_col_u64(s, 7);
    it->message_count = store_col_u64(s, 8);
    it->format = dup_or_null(s, 9);
    it->warnings = store_col_u64(s, 10);
    it->policy_p = dup_or_null(s, 11);
}

static enum dmarcd_err reports_args(const struct query_report_args *a, struct reports_ctx *c,
                                    char dbuf[DOMAIN_TEXT_MAX], struct strbuf *why)
{
    int64_t from = 0, to = 0;
    enum dmarcd_err rc = check_domain(a->domain, dbuf, &c->domain, why);
    if (!rc)
        rc = check_limit(a->limit, QUERY_PAGE_DEFAULT, QUERY_PAGE_MAX, &c->limit, why);
    if (rc)
        return rc;
    c->from = a->from && *a->from ? a->from : NULL;
    c->to = a->to && *a->to ? a->to : NULL;
    c->org = a->org && *a->org ? a->org : NULL;
    if (c->from && !parse_day(c->from, &from)) {
        set_why(why, "invalid from date \"%.32s\": expected YYYY-MM-DD", c->from);
        return DMARCD_E_INVALID;
    }
    if (c->to && !parse_day(c->to, &to)) {
        set_why(why, "invalid to date \"%.32s\": expected YYYY-MM-DD", c->to);
        return DMARCD_E_INVALID;
    }
    if (c->from && c->to && from > to) {
        set_why(why, "from %s is after to %s", c->from, c->to);
        return DMARCD_E_INVALID;
    }
    return report_cursor_parse(a->cursor, &c->pos, why) ? DMARCD_OK : DMARCD_E_INVALID;
}

enum dmarcd_err query_read_reports(struct store *st, uint32_t tenant_id,
                                   const struct query_report_args *args,
                                   struct query_reports *out, struct strbuf *why)
{
    char dbuf[DOMAIN_TEXT_MAX];
    struct reports_ctx c;
    struct qbuild q;
    struct store_stmt *s = NULL;
    bool row;
    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    enum dmarcd_err rc = reports_args(args, &c, dbuf, why);
    if (rc)
        return rc;
    qb_init(&q);
    reports_sql(&q, tenant_id, &c);
    rc = qb_run(st, &q, &s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        if (out->count == c.limit) {
            out->next_cursor = report_cursor(&out->items[out->count - 1]);
            break;
        }
        out->items = xreallocarray(out->items, out->count + 1, sizeof(*out->items));
        report_item_read(s, &out->items[out->count++]);
    }
    store_stmt_free(s);
    qb_release(&q);
    if (rc)
        query_reports_release(out);
    return rc;
}

/* ---- one report ---- */

static const char REPORT_COLUMNS[] =
    "SELECT id, report_day, org_name, email, extra_contact_info, report_id, policy_domain,"
    " date_begin, date_end, adkim, aspf, p, sp, np, pct, fo, testing, discovery_method,"
    " format, version, generator, errors, warnings, warnings_dropped, record_count,"
    " skipped_records, message_count, inbox_id, source_file, source_part, created_at"
    " FROM aggregate_reports";

static void report_read(const struct store_stmt *s, struct query_report *r)
{
    r->id = store_col_u64(s, 0);
    copy_day(store_col_str(s, 1), r->report_day);
    r->org_name = dup_or_null(s, 2);
    r->email = dup_or_null(s, 3);
    r->extra_contact_info = dup_or_null(s, 4);
    r->report_id = dup_or_null(s, 5);
    r->policy.domain = dup_or_null(s, 6);
    r->date_begin = store_col_i64(s, 7);
    r->date_end = store_col_i64(s, 8);
    r->policy.adkim = dup_or_null(s, 9);
    r->policy.aspf = dup_or_null(s, 10);
    r->policy.p = dup_or_null(s, 11);
    r->policy.sp = dup_or_null(s, 12);
    r->policy.np = dup_or_null(s, 13);
    r->policy.pct = store_col_is_null(s, 14) ? -1 : (int)store_col_i64(s, 14);
    r->policy.fo = dup_or_null(s, 15);
    r->policy.testing = dup_or_null(s, 16);
    r->policy.discovery_method = dup_or_null(s, 17);
    r->format = dup_or_null(s, 18);
    r->version = dup_or_null(s, 19);
    r->generator = dup_or_null(s, 20);
    r->errors = dup_or_null(s, 21);
    r->warnings = dup_or_null(s, 22);
    r->warnings_dropped = store_col_u64(s, 23);
    r->record_count = store_col_u64(s, 24);
    r->skipped_records = store_col_u64(s, 25);
    r->message_count = store_col_u64(s, 26);
    r->inbox_id = store_col_u64(s, 27);
    r->source_file = dup_or_null(s, 28);
    r->source_part = dup_or_null(s, 29);
    datetime_rfc3339(store_col_str(s, 30), r->created_at);
}

static enum dmarcd_err report_row(struct store *st, uint32_t tenant_id, uint64_t id,
                                  const char *day, struct query_report *out, struct strbuf *why)
{
    struct qbuild q;
    struct store_stmt *s = NULL;
    bool row = false;
    qb_init(&q);
    qb_sql(&q, REPORT_COLUMNS);
    qb_u64(&q, " WHERE tenant_id = ?", tenant_id);
    if (day)
        qb_str(&q, " AND report_day = ?", day);
    qb_u64(&q, " AND id = ?", id);
    enum dmarcd_err rc = qb_run(st, &q, &s);
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && !row) {
        set_why(why, "report %llu not found", (unsigned long long)id);
        rc = DMARCD_E_NOT_FOUND;
    }
    if (!rc)
        report_read(s, out);
    store_stmt_free(s);
    qb_release(&q);
    return rc;
}

static void record_read(const struct store_stmt *s, struct query_record *rec)
{
    memset(rec, 0, sizeof(*rec));
    rec->record_no = (uint32_t)store_col_u64(s, 0);
    (void)store_inet6_to_ip(store_col_str(s, 1), rec->source_ip);
    rec->messages = store_col_u64(s, 2);
    rec->disposition = dup_or_null(s, 3);
    rec->dkim = dup_or_null(s, 4);
    rec->spf = dup_or_null(s, 5);
    rec->reasons = dup_or_null(s, 6);
    rec->header_from = dup_or_null(s, 7);
    rec->envelope_from = dup_or_null(s, 8);
    rec->envelope_to = dup_or_null(s, 9);
    rec->auth_results = dup_or_null(s, 10);
}

static char *record_cursor(uint32_t record_no)
{
    char payload[32];
    snprintf(payload, sizeof(payload), "c|%lu", (unsigned long)record_no);
    return cursor_encode(payload);
}

/* The first record_no of the page the cursor asks for. */
static bool record_cursor_parse(const char *cursor, uint64_t *first, struct strbuf *why)
{
    char payload[CURSOR_PAYLOAD_MAX + 1];
    uint64_t last;
    *first = 0;
    if (!cursor || !*cursor)
        return true;
    if (cursor_decode(cursor, 'c', payload, why))
        return false;
    if (!parse_u64(payload, strlen(payload), UINT32_MAX, &last))
        return bad_cursor(why);
    *first = last + 1;
    return true;
}

static enum dmarcd_err report_records(struct store *st, uint32_t tenant_id, uint64_t first,
                                      unsigned limit, struct query_report *out)
{
    struct qbuild q;
    struct store_stmt *s = NULL;
    bool row;
    qb_init(&q);
    qb_u64(&q, "SELECT record_no, source_ip, message_count, disposition, dkim, spf, reasons,"
               " header_from, envelope_from, envelope_to, auth_results FROM aggregate_records"
               " WHERE tenant_id = ?", tenant_id);
    qb_str(&q, " AND report_day = ?", out->report_day);
    qb_u64(&q, " AND report_id = ?", out->id);
    qb_u64(&q, " AND record_no >= ?", first);
    qb_u64(&q, " ORDER BY record_no LIMIT ?", (uint64_t)limit + 1);
    enum dmarcd_err rc = qb_run(st, &q, &s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        if (out->nrecords == limit) {
            out->next_cursor = record_cursor(out->records[out->nrecords - 1].record_no);
            break;
        }
        out->records = xreallocarray(out->records, out->nrecords + 1, sizeof(*out->records));
        record_read(s, &out->records[out->nrecords++]);
    }
    store_stmt_free(s);
    qb_release(&q);
    return rc;
}

static void record_release(struct query_record *rec)
{
    free(rec->disposition);
    free(rec->dkim);
    free(rec->spf);
    free(rec->reasons);
    free(rec->header_from);
    free(rec->envelope_from);
    free(rec->envelope_to);
    free(rec->auth_results);
}

void query_report_release(struct query_report *r)
{
    char **text[] = { &r->org_name, &r->email, &r->extra_contact_info, &r->report_id,
                      &r->policy.domain, &r->policy.adkim, &r->policy.aspf, &r->policy.p,
                      &r->policy.sp, &r->policy.np, &r->policy.fo, &r->policy.testing,
                      &r->policy.discovery_method, &r->format, &r->version, &r->generator,
                      &r->errors, &r->warnings, &r->source_file, &r->source_part,
                      &r->next_cursor };
    for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
        free(*text[i]);
    for (size_t i = 0; i < r->nrecords; i++)
        record_release(&r->records[i]);
    free(r->records);
    memset(r, 0, sizeof(*r));
    r->policy.pct = -1;
}

enum dmarcd_err query_read_report(struct store *st, uint32_t tenant_id, uint64_t id,
                                  const char *report_day, unsigned limit, const char *cursor,
                                  struct query_report *out, struct strbuf *why)
{
    uint64_t first = 0;
    int64_t day;
    bool own = false;
    memset(out, 0, sizeof(*out));
    out->policy.pct = -1;
    enum dmarcd_err rc = check_limit(limit, QUERY_RECORDS_DEFAULT, QUERY_RECORDS_MAX, &limit, why);
    if (rc)
        return rc;
    if (report_day && *report_day && !parse_day(report_day, &day)) {
        set_why(why, "invalid report day \"%.32s\": expected YYYY-MM-DD", report_day);
        return DMARCD_E_INVALID;
    }
    if (!record_cursor_parse(cursor, &first, why))
        return DMARCD_E_INVALID;
    rc = snap_begin(st, &own);
    if (!rc)
        rc = report_row(st, tenant_id, id, report_day && *report_day ? report_day : NULL, out,
                        why);
    if (!rc)
        rc = report_records(st, tenant_id, first, limit, out);
    rc = snap_end(st, own, rc);
    if (rc)
        query_report_release(out);
    return rc;
}

/* ---- domains ---- */

static int64_t today_days(void)
{
    time_t now = time(NULL);
    int64_t t = (int64_t)now;
    return t / SECONDS_PER_DAY - (t % SECONDS_PER_DAY < 0);
}

/*
 * The registered domains (tenant_domains_tenant) and the domains with
 * messages in the recent days (the daily_rollups key prefix, pruned to the
 * recent partitions), summed per domain; then per domain its newest
 * report_day: a backward read of aggregate_reports_domain that stops at
 * the first entry (one probe per partition). MAX() instead would read
 * every entry: MariaDB has no loose index scan on partitioned tables.
 */
static void domains_sql(struct qbuild *q, uint32_t tenant_id, const char *horizon,
                        const char *recent, const char *today)
{
    qb_u64(q, "SELECT d.domain, d.registered, (SELECT r.report_day FROM aggregate_reports r"
              " WHERE r.tenant_id = ?", tenant_id);
    qb_str(q, " AND r.policy_domain = d.domain AND r.report_day >= ?", horizon);
    qb_sql(q, " ORDER BY r.report_day DESC LIMIT 1), d.messages FROM ("
              "SELECT domain, MAX(registered) AS registered, SUM(messages) AS messages FROM ("
              "SELECT domain, 1 AS registered, 0 AS messages FROM tenant_domains");
    qb_u64(q, " WHERE tenant_id = ?", tenant_id);
    qb_u64(q, " UNION ALL SELECT domain, 0, SUM(messages) FROM daily_rollups"
              " WHERE tenant_id = ?", tenant_id);
    qb_str(q, " AND report_day BETWEEN ?", recent);
    qb_str(q, " AND ? GROUP BY domain) AS u GROUP BY domain) AS d ORDER BY d.domain", today);
}

void query_domains_release(struct query_domains *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i].domain);
    free(list->items);
    memset(list, 0, sizeof(*list));
}

enum dmarcd_err query_read_domains(struct store *st, uint32_t tenant_id, const char *today,
                                   struct query_domains *out, struct strbuf *why)
{
    char horizon[QUERY_DAY_TEXT_MAX], recent[QUERY_DAY_TEXT_MAX], now[QUERY_DAY_TEXT_MAX];
    struct qbuild q;
    struct store_stmt *s = NULL;
    int64_t day;
    bool row;
    memset(out, 0, sizeof(*out));
    if (today && *today) {
        if (!parse_day(today, &day)) {
            set_why(why, "invalid date \"%.32s\": expected YYYY-MM-DD", today);
            return DMARCD_E_INVALID;
        }
    } else {
        day = today_days();
    }
    day_text(day, now);
    day_text(day - (QUERY_MAX_SPAN_DAYS - 1), horizon);
    day_text(day - (QUERY_RECENT_DAYS - 1), recent);
    qb_init(&q);
    domains_sql(&q, tenant_id, horizon, recent, now);
    enum dmarcd_err rc = qb_run(st, &q, &s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        out->items = xreallocarray(out->items, out->count + 1, sizeof(*out->items));
        struct query_domain *d = &out->items[out->count++];
        memset(d, 0, sizeof(*d));
        d->domain = store_col_dup(s, 0);
        d->registered = store_col_u64(s, 1) != 0;
        copy_day(store_col_str(s, 2), d->last_day);
        d->messages_recent = store_col_u64(s, 3);
    }
    store_stmt_free(s);
    qb_release(&q);
    if (rc)
        query_domains_release(out);
    return rc;
}
