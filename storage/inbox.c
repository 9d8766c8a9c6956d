/*
 * inbox.c - the durable inbox (see inbox.h).
 *
 * Uniqueness is the database's UNIQUE key on sha256, not a check: two
 * ingest paths delivering the same message at once get one row. inbox_put
 * looks the hash up first anyway, so a redelivery (IMAP re-fetch, SMTP
 * retry) does not compress and ship megabytes only to be refused; the
 * INSERT's duplicate-key outcome covers the race, followed by a locking
 * read that sees the other transaction's committed row.
 *
 * Bytes are checked on the way out as well as the way in: the stored size
 * bounds the allocation and the decompression, and the SHA-256 must match,
 * so a damaged row becomes a quarantine reason instead of a wrong report.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/fields.h"
#include "storage/inbox.h"
#include "storage/stmt.h"
#include "storage/store_internal.h"
#include "lib/banned.h"

static const char *const SOURCES[] = { "imap", "smtp", "import", "upload" };
static const char *const STATES[] = { "pending", "processing", "done", "quarantined" };

/* Older than now - ms, as SQL; ms travels as a bound microsecond count. */
#define OLDER_THAN "updated_at < UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND"

const char *inbox_source_name(enum inbox_source source)
{
    return (unsigned)source < 4 ? SOURCES[source] : "?";
}

const char *inbox_state_name(enum inbox_state state)
{
    return (unsigned)state < INBOX_STATE_COUNT ? STATES[state] : "?";
}

bool inbox_state_parse(const char *name, enum inbox_state *out)
{
    for (unsigned i = 0; name && i < INBOX_STATE_COUNT; i++) {
        if (strcmp(name, STATES[i]) == 0) {
            *out = (enum inbox_state)i;
            return true;
        }
    }
    return false;
}

static enum inbox_source source_parse(const char *name)
{
    for (unsigned i = 0; name && i < 4; i++) {
        if (strcmp(name, SOURCES[i]) == 0)
            return (enum inbox_source)i;
    }
    return INBOX_SOURCE_IMPORT;
}

/* ---- small statement helpers ---- */

/* Runs a bound UPDATE and gives the number of rows it changed. */
static enum dmarcd_err run_update(struct store_stmt *s, uint64_t *affected)
{
    enum dmarcd_err rc = store_stmt_exec(s);
    *affected = rc ? 0 : store_stmt_affected(s);
    return rc;
}

/* The row's state; DMARCD_E_NOT_FOUND when there is no row id. */
static enum dmarcd_err row_state(struct store *st, uint64_t id, enum inbox_state *state,
                                 unsigned *attempts)
{
    struct store_stmt *s = NULL;
    bool row = false;
    enum dmarcd_err rc =
        store_stmt_prepare(st, "SELECT state, attempts FROM inbox WHERE id = ?", &s);
    if (!rc) {
        store_bind_u64(s, 0, id);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && !row)
        rc = DMARCD_E_NOT_FOUND;
    if (!rc) {
        if (!inbox_state_parse(store_col_str(s, 0), state))
            rc = DMARCD_E_DB;
        if (attempts)
            *attempts = (unsigned)store_col_u64(s, 1);
    }
    store_stmt_free(s);
    return rc;
}

/* After a guarded UPDATE changed nothing: OK if the row exists, else NOT_FOUND. */
static enum dmarcd_err guarded_noop(struct store *st, uint64_t id)
{
    enum inbox_state state;
    return row_state(st, id, &state, NULL);
}

/* ---- put ---- */

static enum dmarcd_err find_sha(struct store *st, const uint8_t sha[32], bool locking,
                                uint64_t *id, bool *found)
{
    struct store_stmt *s = NULL;
    *found = false;
    enum dmarcd_err rc = store_stmt_prepare(
        st, locking ? "SELECT id FROM inbox WHERE sha256 = ? LOCK IN SHARE MODE"
                    : "SELECT id FROM inbox WHERE sha256 = ?", &s);
    if (!rc) {
        store_bind_bytes(s, 0, sha, 32);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, found);
    if (!rc && *found)
        *id = store_col_u64(s, 0);
    store_stmt_free(s);
    return rc;
}

/*
 * zlib at the default level: report mail is mostly base64 of already
 * compressed attachments, so any level saves about the base64 overhead
 * and higher levels buy little. Sets *out to a heap buffer, or leaves it
 * NULL when compressing would not make the bytes smaller.
 */
static void compress_raw(const void *raw, size_t len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (len == 0)
        return;
    uLongf cap = compressBound((uLong)len);
    uint8_t *buf = xmalloc(cap);
    if (compress2(buf, &cap, raw, (uLong)len, Z_DEFAULT_COMPRESSION) != Z_OK) {
        free(buf);              /* only Z_MEM_ERROR is possible here */
        dmarcd_die("zlib compress2: out of memory");
    }
    if (cap >= len) {
        free(buf);
        return;
    }
    *out = buf;
    *out_len = cap;
}

static const char INSERT_SQL[] =
    "INSERT INTO inbox (tenant_id, sha256, source, origin, state, attempts, received_at,"
    " updated_at, raw_size, compression, compressed)"
    " VALUES (?, ?, ?, ?, 'pending', 0, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), ?, ?, ?)";

static enum dmarcd_err insert_row(struct store *st, const void *raw, size_t len,
                                  const uint8_t sha[32], enum inbox_source source,
                                  const char *origin, uint32_t tenant_id, uint64_t *id,
                                  bool *dup)
{
    struct store_stmt *s = NULL;
    struct strbuf scratch;
    uint8_t *packed = NULL;
    size_t packed_len = 0, origin_len = 0;
    strbuf_init(&scratch, 0);
    compress_raw(raw, len, &packed, &packed_len);
    const char *fit = store_fit(origin, INBOX_ORIGIN_MAX, &scratch, &origin_len, NULL);
    enum dmarcd_err rc = store_stmt_prepare(st, INSERT_SQL, &s);
    if (rc)
        goto out;
    if (tenant_id)
        store_bind_u64(s, 0, tenant_id);
    else
        store_bind_null(s, 0);
    store_bind_bytes(s, 1, sha, 32);
    store_bind_str(s, 2, inbox_source_name(source));
    store_bind_bytes(s, 3, fit, origin_len);
    store_bind_u64(s, 4, len);
    store_bind_str(s, 5, packed ? "zlib" : "none");
    if (packed)
        store_bind_bytes(s, 6, packed, packed_len);
    else
        store_bind_bytes(s, 6, len ? raw : "", len);
    rc = store_stmt_exec_dup(s, dup);
    if (!rc && !*dup)
        *id = store_stmt_insert_id(s);
out:
    store_stmt_free(s);
    free(packed);
    strbuf_release(&scratch);
    return rc;
}

enum dmarcd_err inbox_put(struct store *st, const void *raw, size_t len,
                          enum inbox_source source, const char *origin, uint32_t tenant_id,
                          uint64_t *id, bool *duplicate)
{
    uint8_t sha[32];
    bool found = false;
    *id = 0;
    *duplicate = false;
    if ((unsigned)source > INBOX_SOURCE_UPLOAD || (!raw && len))
        return DMARCD_E_INVALID;
    if (len > DMARCD_MAX_MESSAGE_BYTES) {
        log_warn("inbox refused message: too big", LOG_UINT("bytes", len),
                 LOG_UINT("max", DMARCD_MAX_MESSAGE_BYTES), LOG_STR("source",
                 inbox_source_name(source)));
        return DMARCD_E_TOO_BIG;
    }
    if (!raw)
        raw = "";
    store_sha256(raw, len, sha);
    enum dmarcd_err rc = find_sha(st, sha, false, id, &found);
    if (!rc && !found) {
        bool lost_race = false;
        rc = insert_row(st, raw, len, sha, source, origin, tenant_id, id, &lost_race);
        /* another put of the same bytes committed first: read its row */
        if (!rc && lost_race)
            rc = find_sha(st, sha, true, id, &found);
    }
    if (!rc && found)
        *duplicate = true;
    if (!rc && !*id)
        rc = DMARCD_E_TEMPORARY;    /* that row was purged meanwhile: try again */
    return rc;
}

/* ---- load ---- */

void inbox_meta_release(struct inbox_meta *meta)
{
    if (!meta)
        return;
    free(meta->origin);
    free(meta->last_error);
    free(meta->received_at);
    free(meta->updated_at);
    memset(meta, 0, sizeof(*meta));
}

static const char LOAD_SQL[] =
    "SELECT tenant_id, source, origin, state, attempts, last_error, received_at, updated_at,"
    " raw_size, compression, sha256, compressed FROM inbox WHERE id = ?";

/* Columns of LOAD_SQL. */
enum { L_TENANT, L_SOURCE, L_ORIGIN, L_STATE, L_ATTEMPTS, L_ERROR, L_RECEIVED, L_UPDATED,
       L_SIZE, L_COMPRESSION, L_SHA, L_DATA };

static void fill_meta(const struct store_stmt *s, uint64_t id, struct inbox_meta *m)
{
    memset(m, 0, sizeof(*m));
    m->id = id;
    m->tenant_id = (uint32_t)store_col_u64(s, L_TENANT);
    m->source = source_parse(store_col_str(s, L_SOURCE));
    if (!inbox_state_parse(store_col_str(s, L_STATE), &m->state))
        m->state = INBOX_PENDING;
    m->attempts = (unsigned)store_col_u64(s, L_ATTEMPTS);
    m->origin = store_col_dup(s, L_ORIGIN);
    m->last_error = store_col_dup(s, L_ERROR);
    m->received_at = store_col_dup(s, L_RECEIVED);
    m->updated_at = store_col_dup(s, L_UPDATED);
    if (store_col_len(s, L_SHA) == 32)
        memcpy(m->sha256, store_col_str(s, L_SHA), 32);
    m->raw_size = (size_t)store_col_u64(s, L_SIZE);
}

/* The original bytes of the current row, checked against size and hash. */
static enum dmarcd_err unpack_row(const struct store_stmt *s, uint64_t id, uint8_t **raw,
                                  size_t *len)
{
    uint64_t size = store_col_u64(s, L_SIZE);
    const char *how = store_col_str(s, L_COMPRESSION);
    const uint8_t *data = (const uint8_t *)store_col_str(s, L_DATA);
    size_t data_len = store_col_len(s, L_DATA);
    uint8_t sha[32];
    const char *problem = NULL;
    if (size > DMARCD_MAX_MESSAGE_BYTES) {
        log_error("inbox row over the message size limit", LOG_UINT("inbox_id", id),
                  LOG_UINT("raw_size", size));
        return DMARCD_E_TOO_BIG;
    }
    uint8_t *out = xmalloc(size ? (size_t)size : 1);
    if (how && strcmp(how, "zlib") == 0) {
        uLongf got = (uLongf)size;
        if (uncompress(out, &got, data ? data : (const uint8_t *)"", (uLong)data_len) != Z_OK ||
            got != size)
            problem = "compressed bytes do not inflate to raw_size";
    } else if (data_len == size) {
        if (size)
            memcpy(out, data, (size_t)size);
    } else {
        problem = "stored length differs from raw_size";
    }
    if (!problem) {
        store_sha256(out, (size_t)size, sha);
        if (store_col_len(s, L_SHA) != 32 || memcmp(sha, store_col_str(s, L_SHA), 32) != 0)
            problem = "bytes do not match their sha256";
    }
    if (problem) {
        log_error("inbox row damaged", LOG_UINT("inbox_id", id), LOG_STR("problem", problem));
        free(out);
        return DMARCD_E_DECOMPRESS;
    }
    *raw = out;
    *len = (size_t)size;
    return DMARCD_OK;
}

enum dmarcd_err inbox_load(struct store *st, uint64_t id, uint8_t **raw, size_t *len,
                           struct inbox_meta *meta)
{
    struct store_stmt *s = NULL;
    bool row = false;
    *raw = NULL;
    *len = 0;
    if (meta)
        memset(meta, 0, sizeof(*meta));
    enum dmarcd_err rc = store_stmt_prepare(st, LOAD_SQL, &s);
    if (!rc) {
        store_bind_u64(s, 0, id);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && !row)
        rc = DMARCD_E_NOT_FOUND;
    if (!rc)
        rc = unpack_row(s, id, raw, len);
    if (!rc && meta)
        fill_meta(s, id, meta);
    store_stmt_free(s);
    return rc;
}

/* ---- state changes ---- */

static const char CLAIM_SQL[] =
    "UPDATE inbox SET state = 'processing', attempts = LEAST(attempts + 1, 65535),"
    " updated_at = UTC_TIMESTAMP(3)"
    " WHERE id = ? AND (state = 'pending' OR (state = 'processing' AND " OLDER_THAN "))";

enum dmarcd_err inbox_claim(struct store *st, uint64_t id, uint32_t lease_ms,
                            struct inbox_claim *claim)
{
    struct store_stmt *s = NULL;
    uint64_t changed = 0;
    memset(claim, 0, sizeof(*claim));
    enum dmarcd_err rc = store_stmt_prepare(st, CLAIM_SQL, &s);
    if (!rc) {
        store_bind_u64(s, 0, id);
        store_bind_u64(s, 1, (uint64_t)lease_ms * 1000);
        rc = run_update(s, &changed);
    }
    store_stmt_free(s);
    if (!rc)
        rc = row_state(st, id, &claim->state, &claim->attempts);
    if (!rc)
        claim->claimed = changed == 1;
    return rc;
}

/* UPDATE sql with one parameter, the row id; a guarded no-op is checked. */
static enum dmarcd_err update_by_id(struct store *st, const char *sql, uint64_t id)
{
    struct store_stmt *s = NULL;
    uint64_t changed = 0;
    enum dmarcd_err rc = store_stmt_prepare(st, sql, &s);
    if (!rc) {
        store_bind_u64(s, 0, id);
        rc = run_update(s, &changed);
    }
    store_stmt_free(s);
    if (!rc && changed == 0)
        rc = guarded_noop(st, id);
    return rc;
}

enum dmarcd_err inbox_touch(struct store *st, uint64_t id)
{
    return update_by_id(st, "UPDATE inbox SET updated_at = UTC_TIMESTAMP(3)"
                            " WHERE id = ? AND state = 'processing'", id);
}

enum dmarcd_err inbox_done(struct store *st, uint64_t id)
{
    return update_by_id(st, "UPDATE inbox SET state = 'done', updated_at = UTC_TIMESTAMP(3)"
                            " WHERE id = ? AND state IN ('pending', 'processing')", id);
}

enum dmarcd_err inbox_release(struct store *st, uint64_t id, const char *last_error)
{
    struct store_stmt *s = NULL;
    struct strbuf scratch;
    uint64_t changed = 0;
    size_t n = 0;
    strbuf_init(&scratch, 0);
    const char *fit = store_fit(last_error, INBOX_LAST_ERROR_MAX, &scratch, &n, NULL);
    enum dmarcd_err rc = store_stmt_prepare(
        st, "UPDATE inbox SET state = 'pending', last_error = ?, updated_at = UTC_TIMESTAMP(3)"
            " WHERE id = ? AND state = 'processing'", &s);
    if (!rc) {
        store_bind_bytes(s, 0, fit, n);
        store_bind_u64(s, 1, id);
        rc = run_update(s, &changed);
    }
    store_stmt_free(s);
    strbuf_release(&scratch);
    if (!rc && changed == 0)
        rc = guarded_noop(st, id);
    return rc;
}

static enum dmarcd_err mark_quarantined(struct store *st, uint64_t id, const char *reason,
                                        uint64_t *changed)
{
    struct store_stmt *s = NULL;
    struct strbuf scratch;
    size_t n = 0;
    strbuf_init(&scratch, 0);
    const char *fit = store_fit(reason, INBOX_LAST_ERROR_MAX, &scratch, &n, NULL);
    enum dmarcd_err rc = store_stmt_prepare(
        st, "UPDATE inbox SET state = 'quarantined', last_error = ?,"
            " updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND state IN ('pending', 'processing')",
        &s);
    if (!rc) {
        store_bind_bytes(s, 0, fit, n);
        store_bind_u64(s, 1, id);
        rc = run_update(s, changed);
    }
    store_stmt_free(s);
    strbuf_release(&scratch);
    return rc;
}

static enum dmarcd_err add_quarantine_row(struct store *st, uint64_t id, enum dmarcd_err err,
                                          const char *reason)
{
    struct store_stmt *s = NULL;
    struct strbuf scratch;
    size_t n = 0;
    strbuf_init(&scratch, 0);
    const char *fit = store_fit(reason, INBOX_REASON_MAX, &scratch, &n, NULL);
    enum dmarcd_err rc = store_stmt_prepare(
        st, "INSERT INTO quarantine (tenant_id, inbox_id, error_code, reason, created_at)"
            " SELECT tenant_id, id, ?, ?, UTC_TIMESTAMP() FROM inbox WHERE id = ?", &s);
    if (!rc) {
        store_bind_str(s, 0, dmarcd_err_code(err));
        store_bind_bytes(s, 1, fit, n);
        store_bind_u64(s, 2, id);
        rc = store_stmt_exec(s);
    }
    store_stmt_free(s);
    strbuf_release(&scratch);
    return rc;
}

enum dmarcd_err inbox_quarantine(struct store *st, uint64_t id, enum dmarcd_err err,
                                 const char *reason)
{
    bool own = !st->in_txn;
    uint64_t changed = 0;
    if (err == DMARCD_OK)
        err = DMARCD_E_INTERNAL;    /* quarantined without a reason code is our bug */
    if (!reason || !*reason)
        reason = dmarcd_strerror(err);
    enum dmarcd_err rc = own ? store_begin(st) : DMARCD_OK;
    if (!rc)
        rc = mark_quarantined(st, id, reason, &changed);
    if (!rc && changed)
        rc = add_quarantine_row(st, id, err, reason);
    if (!rc && !changed)
        rc = guarded_noop(st, id);
    if (own) {
        if (!rc)
            rc = store_commit(st);
        if (rc)
            store_rollback(st);
    }
    return rc;
}

/* ---- the reconciler's walk ---- */

void inbox_cursor_init(struct inbox_cursor *cur)
{
    memset(cur, 0, sizeof(*cur));
    cur->state = INBOX_PENDING;
}

bool inbox_cursor_done(const struct inbox_cursor *cur)
{
    return cur->state != INBOX_PENDING && cur->state != INBOX_PROCESSING;
}

static const char PHASE_FIRST_SQL[] =
    "SELECT id, updated_at FROM inbox WHERE state = ? AND " OLDER_THAN
    " ORDER BY updated_at, id LIMIT ?";

/* The OR form (not a row comparison) lets the optimizer build index ranges. */
static const char PHASE_NEXT_SQL[] =
    "SELECT id, updated_at FROM inbox WHERE state = ? AND " OLDER_THAN
    " AND (updated_at > ? OR (updated_at = ? AND id > ?))"
    " ORDER BY updated_at, id LIMIT ?";

/* One page of the current phase into ids[*n..max); *exhausted when it ran dry. */
static enum dmarcd_err page(struct store *st, struct inbox_cursor *cur, uint32_t older_ms,
                            uint64_t *ids, size_t max, size_t *n, bool *exhausted)
{
    struct store_stmt *s = NULL;
    bool first = cur->after_time[0] == '\0', row = false;
    size_t want = max - *n, got = 0;
    enum dmarcd_err rc = store_stmt_prepare(st, first ? PHASE_FIRST_SQL : PHASE_NEXT_SQL, &s);
    if (rc)
        goto out;
    unsigned i = 0;
    store_bind_str(s, i++, inbox_state_name(cur->state));
    store_bind_u64(s, i++, (uint64_t)older_ms * 1000);
    if (!first) {
        store_bind_str(s, i++, cur->after_time);
        store_bind_str(s, i++, cur->after_time);
        store_bind_u64(s, i++, cur->after_id);
    }
    store_bind_u64(s, i, want);
    rc = store_stmt_exec(s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        const char *t = store_col_str(s, 1);
        ids[(*n)++] = cur->after_id = store_col_u64(s, 0);
        size_t tl = t ? strlen(t) : 0;
        if (tl >= sizeof(cur->after_time))
            tl = sizeof(cur->after_time) - 1;
        memcpy(cur->after_time, t ? t : "", tl);
        cur->after_time[tl] = '\0';
        got++;
    }
    *exhausted = !rc && got < want;
out:
    store_stmt_free(s);
    return rc;
}

enum dmarcd_err inbox_pending(struct store *st, struct inbox_cursor *cur, uint32_t grace_ms,
                              uint32_t lease_ms, uint64_t *ids, size_t max, size_t *n)
{
    enum dmarcd_err rc = DMARCD_OK;
    *n = 0;
    while (!rc && *n < max && !inbox_cursor_done(cur)) {
        bool exhausted = false;
        uint32_t older = cur->state == INBOX_PENDING ? grace_ms : lease_ms;
        rc = page(st, cur, older, ids, max, n, &exhausted);
        if (!rc && exhausted) {
            cur->state = cur->state == INBOX_PENDING ? INBOX_PROCESSING : INBOX_DONE;
            cur->after_time[0] = '\0';
            cur->after_id = 0;
        }
    }
    return rc;
}

/* ---- counts ---- */

enum dmarcd_err inbox_count(struct store *st, struct inbox_counts *out)
{
    struct store_stmt *s = NULL;
    bool row = false;
    enum inbox_state state;
    memset(out, 0, sizeof(*out));
    enum dmarcd_err rc =
        store_stmt_prepare(st, "SELECT state, COUNT(*) FROM inbox GROUP BY state", &s);
    if (!rc)
        rc = store_stmt_exec(s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        if (inbox_state_parse(store_col_str(s, 0), &state))
            out->by_state[state] = store_col_u64(s, 1);
    }
    store_stmt_free(s);
    s = NULL;
    if (!rc)
        rc = store_stmt_prepare(
            st, "SELECT TIMESTAMPDIFF(MICROSECOND, MIN(updated_at), UTC_TIMESTAMP(3)) DIV 1000"
                " FROM inbox WHERE state = 'pending'", &s);
    if (!rc)
        rc = store_stmt_exec(s);
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && row)
        out->oldest_pending_ms = (uint64_t)(store_col_i64(s, 0) > 0 ? store_col_i64(s, 0) : 0);
    store_stmt_free(s);
    return rc;
}
