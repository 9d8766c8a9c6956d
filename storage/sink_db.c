/*
 * sink_db.c - the MariaDB sink (see sink_db.h for what is stored when).
 *
 * The aggregate_reports row is inserted when a report begins, not when it
 * ends: its unique key is the dedupe check (a duplicate is known before
 * any record is sent, and a second importer racing on the same report
 * waits on that row's lock and then sees the duplicate), and its id is
 * what the records point at. The totals and warnings known only at the
 * end are one UPDATE by primary key.
 *
 * Records are copied into a bulk batch as they arrive (the parser's
 * strings live for one callback) and summed into the roll-up map; both
 * are flushed inside the report's transaction, so a report that fails
 * half-way leaves nothing behind. A full batch of records is sent with
 * store_bulk_send(): the server stores it while the parser reads the next
 * records (on two cores this overlaps parsing with the server's work).
 * Until it is waited for, nothing else may use the connection, hence
 * agg_rollback() and the wait in flush_rollups(); agg_commit()'s flush
 * waits for it before the rest.
 *
 * Values are made to fit their columns by fields.c; what it cuts or
 * repairs is added to the report's warnings.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "storage/bulk.h"
#include "storage/fields.h"
#include "storage/inet.h"
#include "storage/report_key.h"
#include "storage/rollup.h"
#include "storage/sink_db.h"
#include "storage/stmt.h"
#include "storage/tenants.h"
#include "lib/banned.h"

/* Bound parameters of the widest single-row statement (the report header). */
#define MAX_PARAMS 26
/* Roll-up rows per upsert execution. */
#define ROLLUP_BATCH 1000
/* A report's first batch of records is sent at this many records, and
 * each next one at twice the last, up to the batch size: the server
 * starts early and, storing a batch more slowly than the parser fills
 * the next, is kept busy. */
#define FIRST_SEND_RECORDS 64
/* Longest quarantine reason kept. */
#define REASON_MAX_CHARS 2000

/* ---- SQL ---- */

static const char SQL_REPORT[] =
    "INSERT INTO aggregate_reports (tenant_id, report_day, report_key, policy_domain, org_name, "
    "email, extra_contact_info, report_id, date_begin, date_end, adkim, aspf, p, sp, np, pct, "
    "fo, testing, discovery_method, format, version, generator, errors, source_file, "
    "source_part, inbox_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?, ?, ?, ?, ?)";

static const char SQL_REPORT_END[] =
    "UPDATE aggregate_reports SET warnings = ?, warnings_dropped = ?, record_count = ?, "
    "skipped_records = ?, message_count = ? WHERE tenant_id = ? AND report_day = ? AND id = ?";

static const char SQL_RECORDS[] =
    "INSERT INTO aggregate_records (tenant_id, report_day, report_id, record_no, source_ip, "
    "message_count, disposition, dkim, spf, reasons, header_from, envelope_from, envelope_to, "
    "auth_results) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static const enum store_bulk_type RECORD_TYPES[] = {
    STORE_BULK_UINT, STORE_BULK_TEXT, STORE_BULK_UINT, STORE_BULK_UINT, STORE_BULK_TEXT,
    STORE_BULK_UINT, STORE_BULK_TEXT, STORE_BULK_TEXT, STORE_BULK_TEXT, STORE_BULK_TEXT,
    STORE_BULK_TEXT, STORE_BULK_TEXT, STORE_BULK_TEXT, STORE_BULK_TEXT,
};

static const char SQL_ROLLUPS[] =
    "INSERT INTO daily_rollups (tenant_id, domain, report_day, source_ip, header_from, "
    "disposition, dkim, spf, messages, records) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON DUPLICATE KEY UPDATE messages = messages + VALUES(messages), "
    "records = records + VALUES(records)";

static const enum store_bulk_type ROLLUP_TYPES[] = {
    STORE_BULK_UINT, STORE_BULK_TEXT, STORE_BULK_TEXT, STORE_BULK_TEXT, STORE_BULK_TEXT,
    STORE_BULK_TEXT, STORE_BULK_TEXT, STORE_BULK_TEXT, STORE_BULK_UINT, STORE_BULK_UINT,
};

static const char SQL_FAILURE[] =
    "INSERT INTO failure_reports (tenant_id, report_day, report_key, reported_domain, source_ip, "
    "source_port, arrival_time, feedback_type, auth_failure, identity_alignment, "
    "delivery_result, dkim_domain, dkim_selector, spf_dns, reporting_mta, user_agent, "
    "incidents, arf, sample_kind, warnings, source_file, source_part, inbox_id) VALUES (?, ?, "
    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static const char SQL_TLS[] =
    "INSERT INTO tls_reports (tenant_id, report_day, report_key, organization_name, report_id, "
    "contact_info, date_begin, date_end, policy_count, successful_sessions, failed_sessions, "
    "warnings, source_file, source_part, inbox_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?)";

static const char SQL_TLS_POLICY[] =
    "INSERT INTO tls_policies (tenant_id, report_day, tls_report_id, policy_no, policy_type, "
    "policy_domain, policy_strings, mx_hosts, successful_sessions, failed_sessions) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static const char SQL_TLS_FAILURE[] =
    "INSERT INTO tls_failures (tenant_id, report_day, tls_report_id, policy_no, detail_no, "
    "result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo, receiving_ip, "
    "failed_session_count, failure_reason_code, additional_information) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* Written once per (inbox row, tenant, file, part, code, reason): importing
 * the same bad input twice, or a worker reading the same inbox message
 * again after a retry, adds nothing (direct imports have no inbox row).
 * Under REPEATABLE READ the NOT EXISTS scan takes next-key locks, so two
 * importers writing the same row serialise (one deadlocks, retries, and
 * then finds the row). */
static const char SQL_QUARANTINE[] =
    "INSERT INTO quarantine (tenant_id, inbox_id, file, part, error_code, reason) "
    "SELECT ?, ?, ?, ?, ?, ? FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM quarantine "
    "WHERE inbox_id <=> ? AND tenant_id <=> ? AND file <=> ? AND part <=> ? "
    "AND error_code = ? AND reason = ?)";

/* ---- state ---- */

enum agg_state {
    AGG_NONE,           /* no aggregate report open */
    AGG_OPEN,           /* transaction open, records being stored */
    AGG_DUPLICATE,      /* already stored: records skipped */
    AGG_REFUSED,        /* unknown domain or dates: quarantined at the end */
};

enum stored_kind { KIND_AGG, KIND_FAILURE, KIND_TLS };

/* A report committed during the current input (sink_db_input_retry). */
struct committed {
    enum stored_kind kind;
    uint32_t tenant;
    uint8_t key[STORE_REPORT_KEY_BYTES];
    uint64_t records, messages;
    bool again;                 /* committed before a retry, not yet met again */
};

/* Values of one record column cut or repaired, for the report's warnings. */
struct fit_tally {
    const char *column;
    size_t max_chars;
    uint64_t cut, repaired;
};

enum { TALLY_HEADER_FROM, TALLY_ENVELOPE_FROM, TALLY_ENVELOPE_TO, TALLY_COUNT };

struct sink_db {
    struct store *st;
    struct sink_db_options opts;
    struct sink_db_counters counts, at_input_begin;
    enum dmarcd_err transient;
    int64_t received_at;
    uint64_t inbox_id;                  /* the input's inbox row, 0: none */
    struct forensic *forensic;          /* failure-report policies, made on first use */
    bool input_failure;                 /* the input held a routed failure report */

    struct store_stmt *report, *report_end, *failure, *tls, *tls_policy, *tls_failure,
        *quarantine;
    struct store_bulk *records, *rollups;

    /* the aggregate report in progress */
    enum agg_state state;
    uint32_t tenant;
    bool routed;                        /* tenant known (for quarantine rows) */
    char day[STORE_DAY_TEXT_MAX];
    uint8_t key[STORE_REPORT_KEY_BYTES];
    uint64_t report_row;                /* aggregate_reports.id */
    uint64_t record_no;
    unsigned send_at;                   /* records that make the next batch go */
    char *domain;                       /* lower-cased, fitted: rollups' domain */
    char *file, *part;                  /* copies of the report's source */
    enum dmarcd_err refused_err;
    struct strbuf refused_reason;
    struct rollup_map rollups_map;
    struct fit_tally tallies[TALLY_COUNT];
    struct strbuf warns;                /* the sink's own warnings, NUL-separated */
    size_t nwarns;
    bool fit_quiet;                     /* cuts already noted (TLS policies) */

    struct committed *done;             /* this input's committed reports */
    size_t ndone, done_alloc;

    struct strbuf scratch[MAX_PARAMS];  /* fitted values, borrowed until execution */
    struct strbuf json, json2, text;    /* JSON values and reasons being built */
    struct strbuf aux[3];               /* joined or lower-cased values before fitting */
    char ip[STORE_INET6_TEXT_MAX];      /* a bound INET6 value */
};

/* ---- small helpers ---- */

static void add_warning(struct sink_db *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_warning(struct sink_db *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)strbuf_vaddf(&s->warns, fmt, ap);
    va_end(ap);
    (void)strbuf_addch(&s->warns, '\0');
    s->nwarns++;
}

static void reset_warnings(struct sink_db *s)
{
    strbuf_reset(&s->warns);
    s->nwarns = 0;
    static const struct fit_tally init[TALLY_COUNT] = {
        [TALLY_HEADER_FROM] = { "header_from", 253, 0, 0 },
        [TALLY_ENVELOPE_FROM] = { "envelope_from", 255, 0, 0 },
        [TALLY_ENVELOPE_TO] = { "envelope_to", 255, 0, 0 },
    };
    memcpy(s->tallies, init, sizeof(init));
}

static void note_fit(struct sink_db *s, const char *column, size_t max_chars, unsigned flags)
{
    if (s->fit_quiet)
        return;
    if (flags & STORE_FIT_CUT)
        add_warning(s, "%s cut to %zu characters", column, max_chars);
    if (flags & STORE_FIT_REPAIRED)
        add_warning(s, "%s held bytes that are not utf-8: replaced by U+FFFD", column);
}

/* Binds v, fitted to max_chars, as parameter i; cuts become warnings. */
static void bind_text(struct sink_db *s, struct store_stmt *stmt, unsigned i, const char *v,
                      size_t max_chars, const char *column)
{
    size_t len;
    unsigned flags = 0;
    const char *f = store_fit(v, max_chars, &s->scratch[i], &len, &flags);
    store_bind_bytes(stmt, i, f, len);
    note_fit(s, column, max_chars, flags);
}

/* A file name or part path: the end is kept, no warning (not report data). */
static void bind_source(struct sink_db *s, struct store_stmt *stmt, unsigned i, const char *v)
{
    size_t len;
    const char *f = store_fit_tail(v, 255, &s->scratch[i], &len);
    store_bind_bytes(stmt, i, f, len);
}

/* The input's inbox row id, or NULL for a direct import. */
static void bind_inbox(const struct sink_db *s, struct store_stmt *stmt, unsigned i)
{
    if (s->inbox_id)
        store_bind_u64(stmt, i, s->inbox_id);
    else
        store_bind_null(stmt, i);
}

/* ["...", ...] of the parser's warnings then the sink's, or NULL text. */
static const char *warnings_json(struct sink_db *s, const struct report_warnings *w)
{
    size_t n = w ? w->count : 0;
    if (!n && !s->nwarns)
        return NULL;
    strbuf_reset(&s->json);
    (void)strbuf_addch(&s->json, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            (void)strbuf_addch(&s->json, ',');
        store_json_str(&s->json, w->items[i] ? w->items[i] : "");
    }
    const char *p = s->warns.buf;
    for (size_t i = 0; i < s->nwarns; i++, p += strlen(p) + 1) {
        if (n || i)
            (void)strbuf_addch(&s->json, ',');
        store_json_str(&s->json, p);
    }
    (void)strbuf_addch(&s->json, ']');
    return s->json.buf;
}

static enum dmarcd_err need_stmt(struct sink_db *s, struct store_stmt **slot, const char *sql)
{
    if (*slot)
        return DMARCD_OK;
    return store_stmt_prepare(s->st, sql, slot);
}

static void free_statements(struct sink_db *s)
{
    struct store_stmt **stmts[] = { &s->report, &s->report_end, &s->failure, &s->tls,
                                    &s->tls_policy, &s->tls_failure, &s->quarantine };
    for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
        store_stmt_free(*stmts[i]);
        *stmts[i] = NULL;
    }
    store_bulk_free(s->records);
    store_bulk_free(s->rollups);
    s->records = s->rollups = NULL;
}

static void set_source(struct sink_db *s, const struct report_source *src)
{
    free(s->file);
    free(s->part);
    s->file = src && src->file ? xstrdup(src->file) : NULL;
    s->part = src && src->part ? xstrdup(src->part) : NULL;
}

/*
 * Rolls back the aggregate report in progress, if one is open. A batch of
 * its records may still be executing (store_bulk_send): the connection is
 * the batch's until it is waited for.
 */
static void agg_rollback(struct sink_db *s)
{
    if (s->state != AGG_OPEN || !s->st)
        return;
    (void)store_bulk_wait(s->records);
    store_rollback(s->st);
}

/* Forgets the aggregate report in progress (after commit or rollback). */
static void agg_clear(struct sink_db *s)
{
    s->state = AGG_NONE;
    s->routed = false;
    s->tenant = 0;
    s->record_no = 0;
    s->send_at = FIRST_SEND_RECORDS;
    s->report_row = 0;
    free(s->domain);
    s->domain = NULL;
    rollup_map_clear(&s->rollups_map);
    store_bulk_discard(s->records);
    store_bulk_discard(s->rollups);
    strbuf_reset(&s->refused_reason);
    reset_warnings(s);
}

static void progress(struct sink_db *s)
{
    if (s->opts.progress)
        s->opts.progress(s->opts.cb_ctx, &s->counts, s->state == AGG_OPEN ? s->record_no : 0);
}

static void remember(struct sink_db *s, enum stored_kind kind, uint32_t tenant,
                     const uint8_t key[STORE_REPORT_KEY_BYTES], uint64_t records,
                     uint64_t messages)
{
    if (s->ndone == s->done_alloc) {
        s->done_alloc = s->done_alloc ? s->done_alloc * 2 : 16;
        s->done = xreallocarray(s->done, s->done_alloc, sizeof(*s->done));
    }
    struct committed *c = &s->done[s->ndone++];
    c->kind = kind;
    c->tenant = tenant;
    memcpy(c->key, key, STORE_REPORT_KEY_BYTES);
    c->records = records;
    c->messages = messages;
    c->again = false;
}

static void count_stored(struct sink_db *s, uint64_t records, uint64_t messages)
{
    s->counts.stored++;
    s->counts.records += records;
    s->counts.messages += messages;
}

/*
 * A duplicate that this input committed itself, in an attempt before a
 * retry, counts as stored (once: the same report twice in one input is
 * still a duplicate the second time).
 */
static void count_duplicate(struct sink_db *s, enum stored_kind kind, uint32_t tenant,
                            const uint8_t key[STORE_REPORT_KEY_BYTES])
{
    for (size_t i = 0; i < s->ndone; i++) {
        struct committed *c = &s->done[i];
        if (c->again && c->kind == kind && c->tenant == tenant &&
            memcmp(c->key, key, STORE_REPORT_KEY_BYTES) == 0) {
            c->again = false;
            count_stored(s, c->records, c->messages);
            return;
        }
    }
    s->counts.duplicates++;
}

/* ---- quarantine ---- */

/* Attempts at writing one quarantine row when it deadlocks with a
 * concurrent writer of the same row. */
#define QUARANTINE_ATTEMPTS 5

static enum dmarcd_err quarantine_once(struct sink_db *s, bool routed, uint32_t tenant,
                                       const char *file, const char *part, const char *code,
                                       const char *reason)
{
    enum dmarcd_err rc = need_stmt(s, &s->quarantine, SQL_QUARANTINE);
    if (rc)
        return rc;
    size_t rlen;
    const char *r = store_fit(reason, REASON_MAX_CHARS, &s->scratch[4], &rlen, NULL);
    for (unsigned base = 0; base <= 6; base += 6) {
        if (routed)
            store_bind_u64(s->quarantine, base, tenant);
        else
            store_bind_null(s->quarantine, base);
        bind_inbox(s, s->quarantine, base + 1);
        bind_source(s, s->quarantine, base + 2, file);
        bind_source(s, s->quarantine, base + 3, part);
        store_bind_str(s->quarantine, base + 4, code);
        store_bind_bytes(s->quarantine, base + 5, r, rlen);
    }
    return store_stmt_exec(s->quarantine);
}

static enum dmarcd_err quarantine(struct sink_db *s, bool routed, uint32_t tenant,
                                  const char *file, const char *part, enum dmarcd_err err,
                                  const char *reason)
{
    enum dmarcd_err rc = DMARCD_OK;
    if (!routed && s->opts.tenant_id) { /* the whole input is that tenant's */
        routed = true;
        tenant = s->opts.tenant_id;
    }
    for (unsigned attempt = 1; attempt <= QUARANTINE_ATTEMPTS; attempt++) {
        rc = quarantine_once(s, routed, tenant, file, part, dmarcd_err_code(err), reason);
        if (rc != DMARCD_E_TEMPORARY)
            break;
    }
    if (!rc) {
        struct report_source src = { .file = file, .part = part };
        log_debug("report quarantined", LOG_STR("file", file ? file : ""),
                  LOG_STR("part", part ? part : ""), LOG_ERR(err), LOG_STR("detail", reason));
        if (s->opts.problem)
            s->opts.problem(s->opts.cb_ctx, &src, err, reason);
    }
    return rc;
}

/* ---- routing ---- */

/* The tenant of domain; DMARCD_E_UNKNOWN_DOMAIN, or a database error. */
static enum dmarcd_err route(struct sink_db *s, const char *domain, uint32_t *tenant)
{
    if (s->opts.tenant_id) {
        *tenant = s->opts.tenant_id;
        return DMARCD_OK;
    }
    if (!domain)
        return DMARCD_E_UNKNOWN_DOMAIN;
    return store_route_domain(s->st, domain, tenant);
}

/* ---- aggregate reports ---- */

static void bind_enum(struct store_stmt *stmt, unsigned i, enum store_enum_set set,
                      const char *v)
{
    store_bind_str(stmt, i, store_enum(set, v));
}

/* The format column's value. (Spelled here rather than with the parser's
 * agg_format_name(): storage/ uses parser/'s structs, not its code.) */
static const char *format_name(enum agg_format f)
{
    switch (f) {
    case AGG_FORMAT_RFC9990:
        return "rfc9990";
    case AGG_FORMAT_DRAFT:
        return "draft";
    case AGG_FORMAT_RFC7489:
        break;
    }
    return "rfc7489";
}

static void bind_report_header(struct sink_db *s, const struct agg_report *r)
{
    struct store_stmt *q = s->report;
    const struct agg_policy *p = &r->policy;
    store_bind_u64(q, 0, s->tenant);
    store_bind_str(q, 1, s->day);
    store_bind_bytes(q, 2, s->key, sizeof(s->key));
    store_bind_str(q, 3, s->domain);
    bind_text(s, q, 4, r->org_name, 255, "org_name");
    bind_text(s, q, 5, r->email, 255, "email");
    bind_text(s, q, 6, r->extra_contact_info, 1024, "extra_contact_info");
    bind_text(s, q, 7, r->report_id, 255, "report_id");
    store_bind_i64(q, 8, r->begin);
    store_bind_i64(q, 9, r->end);
    bind_enum(q, 10, STORE_ENUM_ALIGNMENT, p->adkim);
    bind_enum(q, 11, STORE_ENUM_ALIGNMENT, p->aspf);
    bind_enum(q, 12, STORE_ENUM_POLICY, p->p);
    bind_enum(q, 13, STORE_ENUM_POLICY, p->sp);
    bind_enum(q, 14, STORE_ENUM_POLICY, p->np);
    if (p->pct >= 0 && p->pct <= 255)
        store_bind_i64(q, 15, p->pct);
    else
        store_bind_null(q, 15);
    if (p->pct > 255)
        add_warning(s, "pct %" PRId64 " out of range: not stored", p->pct);
    bind_text(s, q, 16, p->fo, 32, "fo");
    bind_enum(q, 17, STORE_ENUM_TESTING, p->testing);
    bind_enum(q, 18, STORE_ENUM_DISCOVERY, p->discovery_method);
    store_bind_str(q, 19, format_name(r->format));
    bind_text(s, q, 20, r->version, 16, "version");
    bind_text(s, q, 21, r->generator, 255, "generator");
    if (r->errors.count) {
        strbuf_reset(&s->json2);
        store_json_str_array(&s->json2, r->errors.items, r->errors.count);
        store_bind_str(q, 22, s->json2.buf);
    } else {
        store_bind_null(q, 22);
    }
    bind_source(s, q, 23, s->file);
    bind_source(s, q, 24, s->part);
    bind_inbox(s, q, 25);
}

/* Decides where the report goes; false (state AGG_REFUSED) when nowhere. */
static enum dmarcd_err agg_route(struct sink_db *s, const struct agg_report *r, bool *ok)
{
    *ok = false;
    if (!store_report_day(r->begin, r->end, s->day)) {
        s->state = AGG_REFUSED;
        s->refused_err = DMARCD_E_BAD_REPORT;
        (void)strbuf_addf(&s->refused_reason,
                          "date range %" PRId64 "..%" PRId64 " lies outside the years 1000-9999",
                          r->begin, r->end);
        return DMARCD_OK;
    }
    enum dmarcd_err rc = route(s, r->policy.domain, &s->tenant);
    if (rc == DMARCD_E_UNKNOWN_DOMAIN) {
        s->state = AGG_REFUSED;
        s->refused_err = rc;
        (void)strbuf_addf(&s->refused_reason, "policy domain %s belongs to no tenant",
                          s->domain[0] ? s->domain : "(none)");
        return DMARCD_OK;
    }
    if (rc)
        return rc;
    s->routed = true;
    *ok = true;
    return DMARCD_OK;
}

static enum dmarcd_err prepare_agg(struct sink_db *s)
{
    enum dmarcd_err rc;
    if ((rc = need_stmt(s, &s->report, SQL_REPORT)) ||
        (rc = need_stmt(s, &s->report_end, SQL_REPORT_END)))
        return rc;
    if (!s->records && (rc = store_bulk_prepare(s->st, SQL_RECORDS, RECORD_TYPES, 14,
                                                s->opts.batch_records, &s->records)))
        return rc;
    if (!s->rollups)
        rc = store_bulk_prepare(s->st, SQL_ROLLUPS, ROLLUP_TYPES, 10, ROLLUP_BATCH,
                                &s->rollups);
    return rc;
}

static enum dmarcd_err db_agg_begin(void *ctx, const struct report_source *src,
                                    const struct agg_report *r)
{
    struct sink_db *s = ctx;
    bool ok, duplicate = false;
    size_t len;
    agg_clear(s);
    set_source(s, src);
    store_agg_report_key(r, s->key);
    const char *lower = store_lower(r->policy.domain, &s->text);
    unsigned flags = 0;
    const char *fitted = store_fit(lower, 253, &s->scratch[0], &len, &flags);
    s->domain = xstrndup(fitted, len);
    note_fit(s, "policy domain", 253, flags);

    enum dmarcd_err rc = agg_route(s, r, &ok);
    if (rc || !ok)
        return rc;
    if ((rc = prepare_agg(s)) || (rc = store_begin(s->st)))
        return rc;
    bind_report_header(s, r);
    rc = store_stmt_exec_dup(s->report, &duplicate);
    if (rc || duplicate) {
        store_rollback(s->st);
        s->state = duplicate ? AGG_DUPLICATE : AGG_NONE;
        return rc;
    }
    s->report_row = store_stmt_insert_id(s->report);
    s->state = AGG_OPEN;
    return DMARCD_OK;
}

/* reasons: [{"type","comment"}], NULL text when there are none. */
static const char *reasons_json(struct strbuf *sb, const struct agg_record *rec)
{
    if (!rec->n_reasons)
        return NULL;
    strbuf_reset(sb);
    (void)strbuf_addch(sb, '[');
    for (size_t i = 0; i < rec->n_reasons; i++) {
        bool first = true;
        (void)strbuf_addstr(sb, i ? ",{" : "{");
        store_json_member(sb, &first, "type", rec->reasons[i].type);
        store_json_member(sb, &first, "comment", rec->reasons[i].comment);
        (void)strbuf_addch(sb, '}');
    }
    (void)strbuf_addch(sb, ']');
    return sb->buf;
}

/* auth_results as `dmarcd parse` prints it: {"dkim":[...],"spf":[...]}. */
static const char *auth_json(struct strbuf *sb, const struct agg_record *rec)
{
    strbuf_reset(sb);
    (void)strbuf_addstr(sb, "{\"dkim\":[");
    for (size_t i = 0; i < rec->n_dkim; i++) {
        const struct agg_dkim_result *d = &rec->dkim_results[i];
        bool first = true;
        (void)strbuf_addstr(sb, i ? ",{" : "{");
        store_json_member(sb, &first, "domain", d->domain);
        store_json_member(sb, &first, "selector", d->selector);
        store_json_member(sb, &first, "result", d->result);
        store_json_member(sb, &first, "human_result", d->human_result);
        (void)strbuf_addch(sb, '}');
    }
    (void)strbuf_addstr(sb, "],\"spf\":[");
    for (size_t i = 0; i < rec->n_spf; i++) {
        const struct agg_spf_result *p = &rec->spf_results[i];
        bool first = true;
        (void)strbuf_addstr(sb, i ? ",{" : "{");
        store_json_member(sb, &first, "domain", p->domain);
        store_json_member(sb, &first, "scope", p->scope);
        store_json_member(sb, &first, "result", p->result);
        store_json_member(sb, &first, "human_result", p->human_result);
        (void)strbuf_addch(sb, '}');
    }
    (void)strbuf_addstr(sb, "]}");
    return sb->buf;
}

/* Adds a fitted record column to the batch; returns the stored text. */
static const char *record_text(struct sink_db *s, unsigned col, const char *v, unsigned tally)
{
    struct fit_tally *t = &s->tallies[tally];
    size_t len;
    unsigned flags = 0;
    const char *f = store_fit(v, t->max_chars, &s->scratch[col], &len, &flags);
    t->cut += (flags & STORE_FIT_CUT) != 0;
    t->repaired += (flags & STORE_FIT_REPAIRED) != 0;
    store_bulk_text(s->records, col, f, len);
    return f;
}

static enum dmarcd_err flush_rollups(struct sink_db *s)
{
    /* the records' batch in flight has the connection until it is stored */
    enum dmarcd_err rc = store_bulk_wait(s->records);
    if (rc)
        return rc;
    size_t n;
    struct rollup_entry *const *e = rollup_map_sorted(&s->rollups_map, &n);
    for (size_t i = 0; i < n && !rc; i++) {
        store_bulk_row(s->rollups);
        store_bulk_uint(s->rollups, 0, s->tenant);
        store_bulk_str(s->rollups, 1, s->domain);
        store_bulk_str(s->rollups, 2, s->day);
        store_bulk_str(s->rollups, 3, e[i]->source_ip);
        store_bulk_str(s->rollups, 4, e[i]->header_from);
        store_bulk_str(s->rollups, 5, e[i]->disposition);
        store_bulk_str(s->rollups, 6, e[i]->dkim);
        store_bulk_str(s->rollups, 7, e[i]->spf);
        store_bulk_uint(s->rollups, 8, e[i]->messages);
        store_bulk_uint(s->rollups, 9, e[i]->records);
        if (store_bulk_full(s->rollups))
            rc = store_bulk_flush(s->rollups);
    }
    if (!rc)
        rc = store_bulk_flush(s->rollups);
    rollup_map_clear(&s->rollups_map);
    return rc;
}

static enum dmarcd_err db_agg_record(void *ctx, const struct agg_record *rec)
{
    struct sink_db *s = ctx;
    char ip[STORE_INET6_TEXT_MAX];
    if (s->state != AGG_OPEN)
        return DMARCD_OK;
    if (!store_inet6_from_ip(rec->source_ip, ip)) {
        log_error("record source_ip not an address", LOG_STR("source_ip", rec->source_ip));
        return DMARCD_E_INTERNAL;
    }
    struct store_bulk *b = s->records;
    store_bulk_row(b);
    store_bulk_uint(b, 0, s->tenant);
    store_bulk_str(b, 1, s->day);
    store_bulk_uint(b, 2, s->report_row);
    store_bulk_uint(b, 3, ++s->record_no);
    store_bulk_str(b, 4, ip);
    store_bulk_uint(b, 5, rec->count);
    const char *disposition = store_enum(STORE_ENUM_DISPOSITION, rec->disposition);
    const char *dkim = store_enum(STORE_ENUM_VERDICT, rec->dkim);
    const char *spf = store_enum(STORE_ENUM_VERDICT, rec->spf);
    store_bulk_str(b, 6, disposition);
    store_bulk_str(b, 7, dkim);
    store_bulk_str(b, 8, spf);
    store_bulk_str(b, 9, reasons_json(&s->json, rec));
    const char *from = record_text(s, 10, rec->header_from, TALLY_HEADER_FROM);
    (void)record_text(s, 11, rec->envelope_from, TALLY_ENVELOPE_FROM);
    (void)record_text(s, 12, rec->envelope_to, TALLY_ENVELOPE_TO);
    store_bulk_str(b, 13, auth_json(&s->json2, rec));
    rollup_map_add(&s->rollups_map, ip, from, disposition, dkim, spf, rec->count);

    enum dmarcd_err rc = DMARCD_OK;
    if (store_bulk_full(b) || store_bulk_rows(b) >= s->send_at) {
        /* stored while the parser reads the next records; its error, if
         * any, comes back from the next send or from agg_commit's flush */
        rc = store_bulk_send(b);
        s->send_at = s->send_at < s->opts.batch_records / 2 ? s->send_at * 2
                                                              : s->opts.batch_records;
        progress(s);
    }
    if (!rc && rollup_map_count(&s->rollups_map) >= ROLLUP_MAP_FLUSH)
        rc = flush_rollups(s);
    return rc;
}

static void tally_warnings(struct sink_db *s)
{
    for (unsigned i = 0; i < TALLY_COUNT; i++) {
        const struct fit_tally *t = &s->tallies[i];
        if (t->cut)
            add_warning(s, "%s cut to %zu characters in %" PRIu64 " record(s)", t->column,
                        t->max_chars, t->cut);
        if (t->repaired)
            add_warning(s, "%s held bytes that are not utf-8 in %" PRIu64
                           " record(s): replaced by U+FFFD", t->column, t->repaired);
    }
}

static enum dmarcd_err agg_commit(struct sink_db *s, const struct agg_totals *totals,
                                  const struct report_warnings *w)
{
    enum dmarcd_err rc = store_bulk_flush(s->records);
    if (rc)
        return rc;
    tally_warnings(s);
    struct store_stmt *q = s->report_end;
    store_bind_str(q, 0, warnings_json(s, w));
    store_bind_u64(q, 1, w ? w->dropped : 0);
    store_bind_u64(q, 2, s->record_no);
    store_bind_u64(q, 3, totals ? totals->skipped_records : 0);
    store_bind_u64(q, 4, totals ? totals->messages : 0);
    store_bind_u64(q, 5, s->tenant);
    store_bind_str(q, 6, s->day);
    store_bind_u64(q, 7, s->report_row);
    if ((rc = store_stmt_exec(q)) || (rc = flush_rollups(s)) || (rc = store_commit(s->st)))
        return rc;
    uint64_t messages = totals ? totals->messages : 0;
    count_stored(s, s->record_no, messages);
    remember(s, KIND_AGG, s->tenant, s->key, s->record_no, messages);
    return DMARCD_OK;
}

static enum dmarcd_err db_agg_end(void *ctx, const struct agg_report *r,
                                  const struct agg_totals *totals,
                                  const struct report_warnings *w)
{
    struct sink_db *s = ctx;
    enum dmarcd_err rc = DMARCD_OK;
    (void)r;
    switch (s->state) {
    case AGG_NONE:
        return DMARCD_OK;
    case AGG_DUPLICATE:
        count_duplicate(s, KIND_AGG, s->tenant, s->key);
        break;
    case AGG_REFUSED:
        rc = quarantine(s, false, 0, s->file, s->part, s->refused_err, s->refused_reason.buf);
        if (rc)
            return rc;
        s->counts.quarantined++;
        break;
    case AGG_OPEN:
        rc = agg_commit(s, totals, w);
        if (rc)
            return rc; /* the parser calls abort, which rolls back */
        break;
    }
    agg_clear(s);
    progress(s);
    return DMARCD_OK;
}

/* ---- failure reports ---- */

static void key_field(struct strbuf *sb, const char *v, size_t len)
{
    if (!v) {
        (void)strbuf_addstr(sb, "-;");
        return;
    }
    (void)strbuf_addf(sb, "%zu:", len);
    (void)strbuf_add(sb, v, len);
}

static void key_str(struct strbuf *sb, const char *v)
{
    key_field(sb, v, v ? strlen(v) : 0);
}

static void key_list(struct strbuf *sb, const struct str_list *l)
{
    (void)strbuf_addf(sb, "%zu[", l->count);
    for (size_t i = 0; i < l->count; i++)
        key_str(sb, l->items[i]);
}

/* The failure report's identity (sink_db.h): "dmarcd-arf-v1". */
static void failure_key(struct strbuf *sb, const struct failure_report *f,
                        uint8_t out[STORE_REPORT_KEY_BYTES])
{
    strbuf_reset(sb);
    (void)strbuf_addf(sb, "dmarcd-arf-v1;%d;", f->arf ? 1 : 0);
    key_str(sb, f->feedback_type);
    key_str(sb, f->user_agent);
    key_str(sb, f->version);
    key_str(sb, f->original_envelope_id);
    key_str(sb, f->original_mail_from);
    key_list(sb, &f->original_rcpt_to);
    key_str(sb, f->arrival_date);
    key_str(sb, f->reporting_mta);
    key_str(sb, f->source_ip);
    (void)strbuf_addf(sb, "%" PRId64 ";%" PRId64 ";", f->source_port, f->incidents);
    key_list(sb, &f->reported_domain);
    key_list(sb, &f->reported_uri);
    key_list(sb, &f->auth_failure);
    key_list(sb, &f->identity_alignment);
    key_list(sb, &f->authentication_results);
    key_str(sb, f->delivery_result);
    key_str(sb, f->dkim_domain);
    key_str(sb, f->dkim_identity);
    key_str(sb, f->dkim_selector);
    key_str(sb, f->spf_dns);
    (void)strbuf_addf(sb, "%d;", (int)f->sample_kind);
    key_field(sb, f->sample_headers, f->sample_headers ? f->sample_headers_len : 0);
    store_sha256(sb->buf, sb->len, out);
}

/* "a,b,c" of a list, in scratch; NULL for an empty list. */
static const char *join(struct strbuf *sb, const struct str_list *l)
{
    if (!l->count)
        return NULL;
    strbuf_reset(sb);
    for (size_t i = 0; i < l->count; i++) {
        if (i)
            (void)strbuf_addch(sb, ',');
        (void)strbuf_addstr(sb, l->items[i] ? l->items[i] : "");
    }
    return sb->buf;
}

/* The first reported domain that belongs to a tenant (*domain: which). */
static enum dmarcd_err failure_route(struct sink_db *s, const struct failure_report *f,
                                     uint32_t *tenant, const char **domain)
{
    enum dmarcd_err rc = DMARCD_E_UNKNOWN_DOMAIN;
    *domain = f->reported_domain.count ? f->reported_domain.items[0] : NULL;
    if (s->opts.tenant_id)
        return route(s, *domain, tenant);
    for (size_t i = 0; i < f->reported_domain.count; i++) {
        rc = route(s, f->reported_domain.items[i], tenant);
        if (rc != DMARCD_E_UNKNOWN_DOMAIN) {
            *domain = f->reported_domain.items[i];
            break;
        }
    }
    return rc;
}

static void bind_failure(struct sink_db *s, const struct failure_report *f, uint32_t tenant,
                         const char *day, const uint8_t key[STORE_REPORT_KEY_BYTES],
                         const char *domain, const struct report_source *src)
{
    struct store_stmt *q = s->failure;
    static const char *const samples[] = { "none", "headers", "message" };
    store_bind_u64(q, 0, tenant);
    store_bind_str(q, 1, day);
    store_bind_bytes(q, 2, key, STORE_REPORT_KEY_BYTES);
    bind_text(s, q, 3, domain ? store_lower(domain, &s->aux[0]) : NULL, 253, "reported_domain");
    store_bind_str(q, 4, store_inet6_from_ip(f->source_ip, s->ip) ? s->ip : NULL);
    if (f->source_port >= 0 && f->source_port <= 65535)
        store_bind_i64(q, 5, f->source_port);
    else
        store_bind_null(q, 5);
    if (f->arrival_time >= 0)
        store_bind_i64(q, 6, f->arrival_time);
    else
        store_bind_null(q, 6);
    bind_text(s, q, 7, f->feedback_type, 32, "feedback_type");
    bind_text(s, q, 8, join(&s->aux[1], &f->auth_failure), 128, "auth_failure");
    bind_text(s, q, 9, join(&s->aux[2], &f->identity_alignment), 32, "identity_alignment");
    bind_enum(q, 10, STORE_ENUM_DELIVERY, f->delivery_result);
    bind_text(s, q, 11, f->dkim_domain, 253, "dkim_domain");
    bind_text(s, q, 12, f->dkim_selector, 255, "dkim_selector");
    bind_text(s, q, 13, f->spf_dns, 1024, "spf_dns");
    bind_text(s, q, 14, f->reporting_mta, 255, "reporting_mta");
    bind_text(s, q, 15, f->user_agent, 255, "user_agent");
    if (f->incidents >= 0 && f->incidents <= UINT32_MAX)
        store_bind_i64(q, 16, f->incidents);
    else
        store_bind_null(q, 16);
    store_bind_u64(q, 17, f->arf ? 1 : 0);
    store_bind_str(q, 18, samples[f->sample_kind <= FAILURE_SAMPLE_MESSAGE ? f->sample_kind : 0]);
    bind_source(s, q, 20, src ? src->file : NULL);
    bind_source(s, q, 21, src ? src->part : NULL);
    bind_inbox(s, q, 22);
}

/* The day a failure report counts for: its arrival, else the receipt. */
static bool failure_day(const struct sink_db *s, const struct failure_report *f,
                        char day[STORE_DAY_TEXT_MAX])
{
    if (f->arrival_time >= 0 && store_report_day(f->arrival_time, f->arrival_time, day))
        return true;
    return store_report_day(s->received_at, s->received_at, day);
}

/*
 * The metadata row and, per the tenant's policy, the blob (forensic.h), in
 * one transaction. The row shows the redacted warnings and part name, and
 * the policy's notes ("sample not kept: ...").
 */
static enum dmarcd_err failure_store(struct sink_db *s, const struct report_source *src,
                                     const struct failure_report *f, uint32_t tenant,
                                     const char *day, const char *domain,
                                     uint8_t key[STORE_REPORT_KEY_BYTES], bool *duplicate)
{
    size_t nnotes;
    const char *const *notes = forensic_notes(s->forensic, &nnotes);
    failure_key(&s->text, f, key);
    bind_failure(s, f, tenant, day, key, domain, src);
    bind_source(s, s->failure, 21, forensic_part(s->forensic));
    for (size_t i = 0; i < nnotes; i++)
        add_warning(s, "%s", notes[i]);
    store_bind_str(s->failure, 19, warnings_json(s, forensic_warnings(s->forensic)));
    enum dmarcd_err rc = store_begin(s->st);
    if (!rc)
        rc = store_stmt_exec_dup(s->failure, duplicate);
    if (!rc && !*duplicate)
        rc = forensic_finish(s->forensic, s->st, day, store_stmt_insert_id(s->failure));
    if (!rc && !*duplicate)
        rc = store_commit(s->st);
    if (rc || *duplicate)
        store_rollback(s->st);
    return rc;
}

static enum dmarcd_err db_failure(void *ctx, const struct report_source *src,
                                  const struct failure_report *f,
                                  const struct report_warnings *w)
{
    struct sink_db *s = ctx;
    char day[STORE_DAY_TEXT_MAX];
    uint8_t key[STORE_REPORT_KEY_BYTES];
    uint32_t tenant = 0;
    const char *domain = NULL;
    bool duplicate = false;
    reset_warnings(s);
    enum dmarcd_err rc = failure_route(s, f, &tenant, &domain);
    if (rc && rc != DMARCD_E_UNKNOWN_DOMAIN)
        return rc;
    if (rc || !failure_day(s, f, day)) {
        strbuf_reset(&s->text);
        if (rc == DMARCD_OK)
            (void)strbuf_addstr(&s->text, "arrival date and receipt time lie outside the "
                                          "years 1000-9999");
        else if (domain)
            (void)strbuf_addf(&s->text, "reported domain %s belongs to no tenant",
                              store_lower(domain, &s->json));
        else
            (void)strbuf_addstr(&s->text, "failure report names no reported domain");
        char *reason = xstrdup(s->text.buf);
        enum dmarcd_err qerr = rc ? rc : DMARCD_E_BAD_REPORT;
        rc = quarantine(s, false, 0, src->file, src->part, qerr, reason);
        free(reason);
        s->counts.quarantined += rc == DMARCD_OK;
        return rc;
    }
    if ((rc = need_stmt(s, &s->failure, SQL_FAILURE)))
        return rc;
    if (!s->forensic)
        s->forensic = forensic_new(s->opts.keys, s->opts.pgp_fallback);
    s->input_failure = true;
    if ((rc = forensic_begin(s->forensic, s->st, tenant, f, w, src ? src->part : NULL)))
        return rc;
    if (!forensic_keep_row(s->forensic)) { /* none-drop */
        forensic_end(s->forensic);
        s->counts.dropped++;
        progress(s);
        return DMARCD_OK;
    }
    rc = failure_store(s, src, f, tenant, day, domain, key, &duplicate);
    forensic_end(s->forensic);
    if (rc)
        return rc;
    if (duplicate) {
        count_duplicate(s, KIND_FAILURE, tenant, key);
    } else {
        count_stored(s, 0, 0);
        remember(s, KIND_FAILURE, tenant, key, 0, 0);
    }
    progress(s);
    return DMARCD_OK;
}

/* ---- TLS reports ---- */

static enum dmarcd_err tls_failures(struct sink_db *s, uint32_t tenant, const char *day,
                                    uint64_t row, unsigned policy_no, const struct tls_policy *p)
{
    struct store_stmt *q = s->tls_failure;
    char ip1[STORE_INET6_TEXT_MAX], ip2[STORE_INET6_TEXT_MAX];
    enum dmarcd_err rc = DMARCD_OK;
    for (size_t i = 0; i < p->n_failure_details && !rc; i++) {
        const struct tls_failure_detail *d = &p->failure_details[i];
        store_bind_u64(q, 0, tenant);
        store_bind_str(q, 1, day);
        store_bind_u64(q, 2, row);
        store_bind_u64(q, 3, policy_no);
        store_bind_u64(q, 4, i + 1);
        bind_text(s, q, 5, d->result_type, 64, "result-type");
        store_bind_str(q, 6, store_inet6_from_ip(d->sending_mta_ip, ip1) ? ip1 : NULL);
        bind_text(s, q, 7, d->receiving_mx_hostname, 255, "receiving-mx-hostname");
        bind_text(s, q, 8, d->receiving_mx_helo, 255, "receiving-mx-helo");
        store_bind_str(q, 9, store_inet6_from_ip(d->receiving_ip, ip2) ? ip2 : NULL);
        store_bind_u64(q, 10, d->failed_session_count);
        bind_text(s, q, 11, d->failure_reason_code, 255, "failure-reason-code");
        bind_text(s, q, 12, d->additional_information, 1024, "additional-information");
        rc = store_stmt_exec(q);
    }
    return rc;
}

static enum dmarcd_err tls_policies(struct sink_db *s, const struct tls_report *t,
                                    uint32_t tenant, const char *day, uint64_t row)
{
    struct store_stmt *q = s->tls_policy;
    enum dmarcd_err rc = DMARCD_OK;
    for (size_t i = 0; i < t->n_policies && !rc; i++) {
        const struct tls_policy *p = &t->policies[i];
        store_bind_u64(q, 0, tenant);
        store_bind_str(q, 1, day);
        store_bind_u64(q, 2, row);
        store_bind_u64(q, 3, i + 1);
        bind_enum(q, 4, STORE_ENUM_TLS_POLICY, p->policy_type);
        bind_text(s, q, 5, p->policy_domain ? store_lower(p->policy_domain, &s->aux[0]) : NULL,
                  253, "policy-domain");
        strbuf_reset(&s->json);
        store_json_str_array(&s->json, p->policy_string.items, p->policy_string.count);
        store_bind_str(q, 6, s->json.buf);
        strbuf_reset(&s->json2);
        store_json_str_array(&s->json2, p->mx_host.items, p->mx_host.count);
        store_bind_str(q, 7, s->json2.buf);
        store_bind_u64(q, 8, p->total_successful_session_count);
        store_bind_u64(q, 9, p->total_failure_session_count);
        rc = store_stmt_exec(q);
        if (!rc)
            rc = tls_failures(s, tenant, day, row, (unsigned)(i + 1), p);
    }
    return rc;
}

/* Notes what binding the policies will cut, before the header (which
 * holds the warnings) is written. */
static void tls_note_fits(struct sink_db *s, const struct tls_report *t)
{
    size_t len;
    for (size_t i = 0; i < t->n_policies; i++) {
        const struct tls_policy *p = &t->policies[i];
        unsigned flags = 0;
        (void)store_fit(p->policy_domain, 253, &s->text, &len, &flags);
        note_fit(s, "policy-domain", 253, flags);
        for (size_t j = 0; j < p->n_failure_details; j++) {
            const struct tls_failure_detail *d = &p->failure_details[j];
            const struct {
                const char *column, *value;
                size_t max;
            } cols[] = { { "result-type", d->result_type, 64 },
                         { "receiving-mx-hostname", d->receiving_mx_hostname, 255 },
                         { "receiving-mx-helo", d->receiving_mx_helo, 255 },
                         { "failure-reason-code", d->failure_reason_code, 255 },
                         { "additional-information", d->additional_information, 1024 } };
            for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
                flags = 0;
                (void)store_fit(cols[k].value, cols[k].max, &s->text, &len, &flags);
                note_fit(s, cols[k].column, cols[k].max, flags);
            }
        }
    }
}

/* The tls_reports row; *duplicate when the report is already stored. */
static enum dmarcd_err tls_header(struct sink_db *s, const struct report_source *src,
                                  const struct tls_report *t, uint32_t tenant, const char *day,
                                  const uint8_t key[STORE_REPORT_KEY_BYTES],
                                  const struct report_warnings *w, bool *duplicate)
{
    struct store_stmt *q = s->tls;
    uint64_t ok = 0, failed = 0;
    for (size_t i = 0; i < t->n_policies; i++) {
        ok += t->policies[i].total_successful_session_count;
        failed += t->policies[i].total_failure_session_count;
    }
    store_bind_u64(q, 0, tenant);
    store_bind_str(q, 1, day);
    store_bind_bytes(q, 2, key, STORE_REPORT_KEY_BYTES);
    bind_text(s, q, 3, t->organization_name, 255, "organization-name");
    bind_text(s, q, 4, t->report_id, 255, "report-id");
    bind_text(s, q, 5, t->contact_info, 1024, "contact-info");
    store_bind_i64(q, 6, t->begin);
    store_bind_i64(q, 7, t->end);
    store_bind_u64(q, 8, t->n_policies);
    store_bind_u64(q, 9, ok);
    store_bind_u64(q, 10, failed);
    bind_source(s, q, 12, src ? src->file : NULL);
    bind_source(s, q, 13, src ? src->part : NULL);
    bind_inbox(s, q, 14);
    /* last: every cut is noted by now */
    store_bind_str(q, 11, warnings_json(s, w));
    return store_stmt_exec_dup(q, duplicate);
}

/* Quarantines a TLS report that cannot be stored; reason in s->text. */
static enum dmarcd_err tls_refuse(struct sink_db *s, const struct report_source *src,
                                  enum dmarcd_err err)
{
    char *reason = xstrdup(s->text.buf);
    enum dmarcd_err rc = quarantine(s, false, 0, src->file, src->part, err, reason);
    free(reason);
    s->counts.quarantined += rc == DMARCD_OK;
    return rc;
}

static enum dmarcd_err db_tlsrpt(void *ctx, const struct report_source *src,
                                 const struct tls_report *t, const struct report_warnings *w)
{
    struct sink_db *s = ctx;
    char day[STORE_DAY_TEXT_MAX];
    uint8_t key[STORE_REPORT_KEY_BYTES];
    uint32_t tenant = 0;
    bool duplicate = false;
    const char *domain = t->n_policies ? t->policies[0].policy_domain : NULL;
    reset_warnings(s);
    strbuf_reset(&s->text);
    if (t->n_policies > UINT16_MAX) {
        (void)strbuf_addf(&s->text, "%zu policies, more than %u", t->n_policies, UINT16_MAX);
        return tls_refuse(s, src, DMARCD_E_TOO_MANY);
    }
    for (size_t i = 0; i < t->n_policies; i++) {
        if (t->policies[i].n_failure_details > UINT16_MAX) {
            (void)strbuf_addf(&s->text, "policy %zu has more than %u failure details", i + 1,
                              UINT16_MAX);
            return tls_refuse(s, src, DMARCD_E_TOO_MANY);
        }
    }
    if (!store_report_day(t->begin, t->end, day)) {
        (void)strbuf_addf(&s->text, "date range %" PRId64 "..%" PRId64
                          " lies outside the years 1000-9999", t->begin, t->end);
        return tls_refuse(s, src, DMARCD_E_BAD_REPORT);
    }
    enum dmarcd_err rc = route(s, domain, &tenant);
    if (rc == DMARCD_E_UNKNOWN_DOMAIN) {
        if (domain)
            (void)strbuf_addf(&s->text, "policy domain %s belongs to no tenant",
                              store_lower(domain, &s->json));
        else
            (void)strbuf_addstr(&s->text, "tls report names no policy domain");
        return tls_refuse(s, src, rc);
    }
    if (rc || (rc = need_stmt(s, &s->tls, SQL_TLS)) ||
        (rc = need_stmt(s, &s->tls_policy, SQL_TLS_POLICY)) ||
        (rc = need_stmt(s, &s->tls_failure, SQL_TLS_FAILURE)) || (rc = store_begin(s->st)))
        return rc;
    store_report_key(t->organization_name, t->report_id, NULL, t->begin, t->end, key);
    tls_note_fits(s, t);
    rc = tls_header(s, src, t, tenant, day, key, w, &duplicate);
    s->fit_quiet = true;
    if (!rc && !duplicate)
        rc = tls_policies(s, t, tenant, day, store_stmt_insert_id(s->tls));
    s->fit_quiet = false;
    if (!rc && !duplicate)
        rc = store_commit(s->st);
    if (rc || duplicate) {
        store_rollback(s->st);
        if (!rc)
            count_duplicate(s, KIND_TLS, tenant, key);
    } else {
        count_stored(s, 0, 0);
        remember(s, KIND_TLS, tenant, key, 0, 0);
    }
    if (!rc)
        progress(s);
    return rc;
}

/* ---- abort ---- */

static void db_abort(void *ctx, const struct report_source *src, enum dmarcd_err err,
                     const char *detail)
{
    struct sink_db *s = ctx;
    bool routed = s->state != AGG_NONE && s->routed;
    uint32_t tenant = s->tenant;
    agg_rollback(s);
    agg_clear(s);
    if (dmarcd_err_is_transient(err)) {
        if (!s->transient)
            s->transient = err;
        return;
    }
    struct strbuf reason;
    strbuf_init(&reason, 0);
    (void)strbuf_addstr(&reason, detail && detail[0] ? detail : dmarcd_strerror(err));
    if (err == DMARCD_E_DB && s->st && store_last_error(s->st)[0])
        (void)strbuf_addf(&reason, ": %s", store_last_error(s->st));
    enum dmarcd_err rc = quarantine(s, routed, tenant, src ? src->file : NULL,
                                    src ? src->part : NULL, err, reason.buf);
    strbuf_release(&reason);
    if (rc && dmarcd_err_is_transient(rc)) {
        if (!s->transient)
            s->transient = rc;
        return;
    }
    if (rc)
        log_error("quarantine row not written", LOG_STR("file", src && src->file ? src->file : ""),
                  LOG_ERR(rc));
    s->counts.failed++;
}

static const struct report_sink_ops sink_db_ops = {
    .name = "mariadb",
    .agg_begin = db_agg_begin,
    .agg_record = db_agg_record,
    .agg_end = db_agg_end,
    .failure = db_failure,
    .tlsrpt = db_tlsrpt,
    .abort = db_abort,
};

/* ---- lifecycle ---- */

struct sink_db *sink_db_new(struct store *st, const struct sink_db_options *opts)
{
    struct sink_db *s = xcalloc(1, sizeof(*s));
    s->st = st;
    if (opts)
        s->opts = *opts;
    if (!s->opts.batch_records)
        s->opts.batch_records = SINK_DB_BATCH_RECORDS;
    s->received_at = (int64_t)time(NULL);
    rollup_map_init(&s->rollups_map);
    for (size_t i = 0; i < MAX_PARAMS; i++)
        strbuf_init(&s->scratch[i], 0);
    strbuf_init(&s->json, 0);
    strbuf_init(&s->json2, 0);
    strbuf_init(&s->text, 0);
    for (size_t i = 0; i < 3; i++)
        strbuf_init(&s->aux[i], 0);
    strbuf_init(&s->warns, 0);
    strbuf_init(&s->refused_reason, 0);
    reset_warnings(s);
    return s;
}

void sink_db_free(struct sink_db *s)
{
    if (!s)
        return;
    agg_rollback(s);
    free_statements(s);
    forensic_free(s->forensic);
    rollup_map_release(&s->rollups_map);
    for (size_t i = 0; i < MAX_PARAMS; i++)
        strbuf_release(&s->scratch[i]);
    strbuf_release(&s->json);
    strbuf_release(&s->json2);
    strbuf_release(&s->text);
    for (size_t i = 0; i < 3; i++)
        strbuf_release(&s->aux[i]);
    strbuf_release(&s->warns);
    strbuf_release(&s->refused_reason);
    free(s->domain);
    free(s->file);
    free(s->part);
    free(s->done);
    free(s);
}

struct report_sink sink_db_as_report_sink(struct sink_db *s)
{
    return (struct report_sink){ .ops = &sink_db_ops, .ctx = s };
}

const struct sink_db_counters *sink_db_counters(const struct sink_db *s)
{
    return &s->counts;
}

void sink_db_input_begin(struct sink_db *s, int64_t received_at)
{
    s->counts.files++;
    s->at_input_begin = s->counts;
    s->transient = DMARCD_OK;
    s->received_at = received_at;
    s->inbox_id = 0;
    s->input_failure = false;
    s->ndone = 0;
}

bool sink_db_input_had_failure(const struct sink_db *s)
{
    return s->input_failure;
}

void sink_db_input_inbox(struct sink_db *s, uint64_t inbox_id)
{
    s->inbox_id = inbox_id;
}

void sink_db_input_retry(struct sink_db *s)
{
    agg_rollback(s);
    agg_clear(s);
    s->counts = s->at_input_begin;
    s->transient = DMARCD_OK;
    for (size_t i = 0; i < s->ndone; i++)
        s->done[i].again = true;
}

enum dmarcd_err sink_db_prepare(struct sink_db *s)
{
    enum dmarcd_err rc;
    if ((rc = prepare_agg(s)) || (rc = need_stmt(s, &s->failure, SQL_FAILURE)) ||
        (rc = need_stmt(s, &s->tls, SQL_TLS)) ||
        (rc = need_stmt(s, &s->tls_policy, SQL_TLS_POLICY)) ||
        (rc = need_stmt(s, &s->tls_failure, SQL_TLS_FAILURE)))
        return rc;
    return need_stmt(s, &s->quarantine, SQL_QUARANTINE);
}

enum dmarcd_err sink_db_transient(const struct sink_db *s)
{
    return s->transient;
}

void sink_db_set_store(struct sink_db *s, struct store *st)
{
    agg_rollback(s);
    agg_clear(s);
    free_statements(s);
    s->st = st;
}
