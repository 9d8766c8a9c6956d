/*
 * sessions.c - sessions, API tokens and login throttling (see sessions.h).
 *
 * Lookups are one statement each (the credential joined with its account,
 * membership and tenant), because they run on every API request; the
 * last-seen/last-used refresh is a second, rare statement (at most once a
 * minute per credential) so a busy token does not write on every request.
 */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "storage/audit.h"
#include "storage/sessions.h"
#include "storage/stmt.h"
#include "lib/banned.h"

#define SECRET_BYTES 32
#define SECRET_TEXT_LEN 43              /* unpadded base64url of 32 bytes */
#define TOKEN_MARK "dmarcd_"
#define TOKEN_MARK_LEN 7
#define JANITOR_BATCH 100
#define REFRESH_AFTER_S 60
#define TOKEN_LIST_MAX 1000

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

/* 32 random bytes as base64url text (SESSION_SECRET_TEXT_MAX bytes). */
static void random_secret(char out[SESSION_SECRET_TEXT_MAX])
{
    unsigned char raw[SECRET_BYTES];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, SESSION_SECRET_TEXT_MAX, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

static void hash_text(const char *text, uint8_t out[32])
{
    store_sha256(text, strlen(text), out);
}

/* True when s is exactly SECRET_TEXT_LEN base64url characters. */
static bool secret_shaped(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_') || n >= SECRET_TEXT_LEN)
            return false;
    }
    return n == SECRET_TEXT_LEN;
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

/* Runs sql with one parameter: a 32-byte hash when hash is set, else num. */
static enum dmarcd_err exec_one(struct store *st, const char *sql, const uint8_t *hash,
                                uint64_t num)
{
    struct store_stmt *s = NULL;
    enum dmarcd_err rc = store_stmt_prepare(st, sql, &s);
    if (!rc) {
        if (hash)
            store_bind_bytes(s, 0, hash, 32);
        else
            store_bind_u64(s, 0, num);
        rc = store_stmt_exec(s);
    }
    store_stmt_free(s);
    return rc;
}

/* ---- sessions ---- */

enum dmarcd_err session_create(struct store *st, uint32_t user_id, const char *client_addr,
                               unsigned ttl_s, struct session_secrets *out)
{
    struct store_stmt *s = NULL;
    uint8_t id_hash[32], csrf_hash[32];
    random_secret(out->id);
    random_secret(out->csrf);
    hash_text(out->id, id_hash);
    hash_text(out->csrf, csrf_hash);
    enum dmarcd_err rc = store_stmt_prepare(
        st, "INSERT INTO api_sessions (id_hash, user_id, csrf_hash, created_at, last_seen_at,"
            " expires_at, client_addr) VALUES (?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP(),"
            " UTC_TIMESTAMP() + INTERVAL ? SECOND, ?)", &s);
    if (!rc) {
        store_bind_bytes(s, 0, id_hash, sizeof(id_hash));
        store_bind_u64(s, 1, user_id);
        store_bind_bytes(s, 2, csrf_hash, sizeof(csrf_hash));
        store_bind_u64(s, 3, ttl_s);
        store_bind_str(s, 4, client_addr);
        rc = store_stmt_exec(s);
    }
    store_stmt_free(s);
    if (!rc)
        rc = exec_one(st, "DELETE FROM api_sessions WHERE expires_at < UTC_TIMESTAMP() LIMIT ?",
                      NULL, JANITOR_BATCH);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

enum dmarcd_err session_lookup(struct store *st, const char *id, unsigned idle_s,
                               struct auth_who *out)
{
    struct store_stmt *s = NULL;
    uint8_t id_hash[32];
    bool row = false, refresh = false;
    memset(out, 0, sizeof(*out));
    if (!secret_shaped(id))
        return DMARCD_E_NOT_FOUND;
    hash_text(id, id_hash);
    enum dmarcd_err rc = store_stmt_prepare(
        st, "SELECT s.user_id, s.csrf_hash, s.last_seen_at < UTC_TIMESTAMP() - INTERVAL ? SECOND,"
            " u.email, u.is_operator FROM api_sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.id_hash = ? AND s.expires_at > UTC_TIMESTAMP()"
            " AND s.last_seen_at > UTC_TIMESTAMP() - INTERVAL ? SECOND AND u.status = 'active'",
        &s);
    if (!rc) {
        store_bind_u64(s, 0, REFRESH_AFTER_S);
        store_bind_bytes(s, 1, id_hash, sizeof(id_hash));
        store_bind_u64(s, 2, idle_s);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && (!row || store_col_len(s, 1) != 32))
        rc = DMARCD_E_NOT_FOUND;
    if (!rc) {
        out->user_id = (uint32_t)store_col_u64(s, 0);
        memcpy(out->csrf_hash, store_col_str(s, 1), 32);
        refresh = store_col_u64(s, 2) != 0;
        copy_text(store_col_str(s, 3), out->email, sizeof(out->email));
        out->is_operator = store_col_u64(s, 4) != 0;
    }
    store_stmt_free(s);
    if (!rc && refresh)
        rc = exec_one(st, "UPDATE api_sessions SET last_seen_at = UTC_TIMESTAMP()"
                          " WHERE id_hash = ?", id_hash, 0);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

bool session_csrf_ok(const struct auth_who *who, const char *csrf)
{
    uint8_t h[32];
    if (!secret_shaped(csrf))
        return false;
    hash_text(csrf, h);
    return sodium_memcmp(h, who->csrf_hash, sizeof(h)) == 0;
}

enum dmarcd_err session_end(struct store *st, const char *id)
{
    uint8_t id_hash[32];
    if (!secret_shaped(id))
        return DMARCD_OK;
    hash_text(id, id_hash);
    return exec_one(st, "DELETE FROM api_sessions WHERE id_hash = ?", id_hash, 0);
}

/* ---- tokens ---- */

/* Printable text (no control characters), at most TOKEN_NAME_MAX bytes. */
static bool token_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n > TOKEN_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

static enum dmarcd_err is_member(struct store *st, uint32_t tenant_id, uint32_t user_id)
{
    enum user_role role;
    return user_role_get(st, tenant_id, user_id, &role);
}

static enum dmarcd_err insert_token(struct store *st, uint32_t tenant_id, uint32_t user_id,
                                    const char *name, bool write, unsigned expires_days,
                                    struct token_new *out)
{
    struct store_stmt *s = NULL;
    uint8_t hash[32];
    char secret[SESSION_SECRET_TEXT_MAX];
    random_secret(secret);
    snprintf(out->token, sizeof(out->token), "%s%s", TOKEN_MARK, secret);
    sodium_memzero(secret, sizeof(secret));
    memcpy(out->prefix, out->token, TOKEN_PREFIX_LEN);
    out->prefix[TOKEN_PREFIX_LEN] = '\0';
    hash_text(out->token, hash);
    enum dmarcd_err rc = store_stmt_prepare(
        st, "INSERT INTO api_tokens (tenant_id, user_id, name, token_hash, token_prefix, scopes,"
            " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(),"
            " IF(? = 0, NULL, UTC_TIMESTAMP() + INTERVAL ? DAY))", &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant_id);
        store_bind_u64(s, 1, user_id);
        store_bind_str(s, 2, name);
        store_bind_bytes(s, 3, hash, sizeof(hash));
        store_bind_str(s, 4, out->prefix);
        store_bind_str(s, 5, write ? "read,write" : "read");
        store_bind_u64(s, 6, expires_days);
        store_bind_u64(s, 7, expires_days);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        out->id = store_stmt_insert_id(s);
    store_stmt_free(s);
    return rc;
}

enum dmarcd_err token_create(struct store *st, uint32_t tenant_id, uint32_t user_id,
                             const char *name, bool write, unsigned expires_days,
                             const char *actor, struct token_new *out, struct strbuf *why)
{
    char days[16], target[64], *detail = NULL;
    memset(out, 0, sizeof(*out));
    if (!name)
        name = "";
    if (!token_name_ok(name)) {
        set_why(why, "a token name has at most %d characters, none of them control characters",
                TOKEN_NAME_MAX);
        return DMARCD_E_INVALID;
    }
    if (expires_days > TOKEN_EXPIRES_MAX_DAYS) {
        set_why(why, "a token expires after 1 to %d days", TOKEN_EXPIRES_MAX_DAYS);
        return DMARCD_E_INVALID;
    }
    enum dmarcd_err rc = store_begin(st);
    if (!rc)
        rc = is_member(st, tenant_id, user_id);
    if (rc == DMARCD_E_NOT_FOUND)
        set_why(why, "the user is not a member of the tenant");
    if (!rc)
        rc = insert_token(st, tenant_id, user_id, name, write, expires_days, out);
    if (!rc) {
        snprintf(days, sizeof(days), "%u", expires_days);
        snprintf(target, sizeof(target), "token %llu", (unsigned long long)out->id);
        const char *pairs[] = { "name", name, "scopes", write ? "read,write" : "read",
                                "expires_days", expires_days ? days : NULL, "prefix",
                                out->prefix, NULL };
        detail = store_audit_detail(pairs);
        rc = store_audit_add(st, tenant_id, actor, "token.create", target, detail);
    }
    free(detail);
    if (!rc)
        rc = store_commit(st);
    if (rc) {
        store_rollback(st);
        sodium_memzero(out, sizeof(*out));
    }
    return rc;
}

enum dmarcd_err token_lookup(struct store *st, const char *text, struct auth_who *out)
{
    struct store_stmt *s = NULL;
    uint8_t hash[32];
    bool row = false, refresh = false;
    memset(out, 0, sizeof(*out));
    if (!text || strncmp(text, TOKEN_MARK, TOKEN_MARK_LEN) != 0 ||
        !secret_shaped(text + TOKEN_MARK_LEN))
        return DMARCD_E_NOT_FOUND;
    hash_text(text, hash);
    enum dmarcd_err rc = store_stmt_prepare(
        st, "SELECT t.id, t.tenant_id, t.user_id, FIND_IN_SET('write', t.scopes) > 0, u.email,"
            " u.is_operator, ut.role, tn.name, t.last_used_at IS NULL"
            " OR t.last_used_at < UTC_TIMESTAMP() - INTERVAL ? SECOND"
            " FROM api_tokens t JOIN users u ON u.id = t.user_id"
            " JOIN user_tenants ut ON ut.tenant_id = t.tenant_id AND ut.user_id = t.user_id"
            " JOIN tenants tn ON tn.id = t.tenant_id"
            " WHERE t.token_hash = ? AND t.revoked_at IS NULL"
            " AND (t.expires_at IS NULL OR t.expires_at > UTC_TIMESTAMP())"
            " AND u.status = 'active' AND tn.status = 'active'", &s);
    if (!rc) {
        store_bind_u64(s, 0, REFRESH_AFTER_S);
        store_bind_bytes(s, 1, hash, sizeof(hash));
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && !row)
        rc = DMARCD_E_NOT_FOUND;
    if (!rc) {
        out->token_id = store_col_u64(s, 0);
        out->tenant_id = (uint32_t)store_col_u64(s, 1);
        out->user_id = (uint32_t)store_col_u64(s, 2);
        out->write = store_col_u64(s, 3) != 0;
        copy_text(store_col_str(s, 4), out->email, sizeof(out->email));
        out->is_operator = store_col_u64(s, 5) != 0;
        if (!user_role_parse(store_col_str(s, 6), &out->role))
            rc = DMARCD_E_NOT_FOUND;
        copy_text(store_col_str(s, 7), out->tenant, sizeof(out->tenant));
        refresh = store_col_u64(s, 8) != 0;
    }
    store_stmt_free(s);
    if (!rc && refresh)
        rc = exec_one(st, "UPDATE api_tokens SET last_used_at = UTC_TIMESTAMP() WHERE id = ?",
                      NULL, out->token_id);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

void token_infos_release(struct token_infos *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].email);
        free(list->items[i].name);
    }
    free(list->items);
    memset(list, 0, sizeof(*list));
}

#define RFC3339(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

static void token_info_read(const struct store_stmt *s, struct token_info *t)
{
    t->id = store_col_u64(s, 0);
    t->user_id = (uint32_t)store_col_u64(s, 1);
    t->email = store_col_dup(s, 2);
    t->name = store_col_dup(s, 3);
    copy_text(store_col_str(s, 4), t->prefix, sizeof(t->prefix));
    t->write = store_col_u64(s, 5) != 0;
    copy_text(store_col_str(s, 6), t->created_at, sizeof(t->created_at));
    copy_text(store_col_str(s, 7), t->expires_at, sizeof(t->expires_at));
    copy_text(store_col_str(s, 8), t->last_used_at, sizeof(t->last_used_at));
    copy_text(store_col_str(s, 9), t->revoked_at, sizeof(t->revoked_at));
    t->expired = store_col_u64(s, 10) != 0;
}

enum dmarcd_err token_list(struct store *st, uint32_t tenant_id, uint32_t user_id,
                           struct token_infos *out)
{
    struct store_stmt *s = NULL;
    bool row;
    memset(out, 0, sizeof(*out));
    enum dmarcd_err rc = store_stmt_prepare(
        st, "SELECT t.id, t.user_id, u.email, t.name, t.token_prefix,"
            " FIND_IN_SET('write', t.scopes) > 0, " RFC3339("t.created_at") ", "
            RFC3339("t.expires_at") ", " RFC3339("t.last_used_at") ", " RFC3339("t.revoked_at")
            ", t.expires_at IS NOT NULL AND t.expires_at <= UTC_TIMESTAMP()"
            " FROM api_tokens t JOIN users u ON u.id = t.user_id"
            " WHERE t.tenant_id = ? AND (? = 0 OR t.user_id = ?) ORDER BY t.id DESC LIMIT ?", &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant_id);
        store_bind_u64(s, 1, user_id);
        store_bind_u64(s, 2, user_id);
        store_bind_u64(s, 3, TOKEN_LIST_MAX);
        rc = store_stmt_exec(s);
    }
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        out->items = xreallocarray(out->items, out->count + 1, sizeof(*out->items));
        struct token_info *t = &out->items[out->count++];
        memset(t, 0, sizeof(*t));
        token_info_read(s, t);
    }
    store_stmt_free(s);
    if (rc)
        token_infos_release(out);
    return rc;
}

enum dmarcd_err token_revoke(struct store *st, uint32_t tenant_id, uint64_t id, uint32_t owner_id,
                             const char *actor)
{
    struct store_stmt *s = NULL;
    char target[64];
    enum dmarcd_err rc = store_begin(st);
    if (!rc)
        rc = store_stmt_prepare(
            st, "UPDATE api_tokens SET revoked_at = UTC_TIMESTAMP() WHERE id = ? AND tenant_id = ?"
                " AND revoked_at IS NULL AND (? = 0 OR user_id = ?)", &s);
    if (!rc) {
        store_bind_u64(s, 0, id);
        store_bind_u64(s, 1, tenant_id);
        store_bind_u64(s, 2, owner_id);
        store_bind_u64(s, 3, owner_id);
        rc = store_stmt_exec(s);
    }
    if (!rc && store_stmt_affected(s) == 0)
        rc = DMARCD_E_NOT_FOUND;
    store_stmt_free(s);
    snprintf(target, sizeof(target), "token %llu", (unsigned long long)id);
    if (!rc)
        rc = store_audit_add(st, tenant_id, actor, "token.revoke", target, NULL);
    if (!rc)
        rc = store_commit(st);
    if (rc)
        store_rollback(st);
    return rc;
}

/* ---- throttling ---- */

enum dmarcd_err login_throttle_check(struct store *st, const char *email, const char *addr,
                                     const struct login_limits *lim, unsigned *retry_after_s)
{
    struct store_stmt *s = NULL;
    uint8_t acc[32], adr[32];
    bool row;
    *retry_after_s = 0;
    hash_text(email ? email : "", acc);
    hash_text(addr ? addr : "", adr);
    enum dmarcd_err rc = store_stmt_prepare(
        st, "SELECT kind, failures, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(),"
            " window_start + INTERVAL ? SECOND) FROM login_throttle"
            " WHERE ((kind = 'account' AND subject = ?) OR (kind = 'address' AND subject = ?))"
            " AND window_start > UTC_TIMESTAMP() - INTERVAL ? SECOND", &s);
    if (!rc) {
        store_bind_u64(s, 0, lim->window_s);
        store_bind_bytes(s, 1, acc, sizeof(acc));
        store_bind_bytes(s, 2, adr, sizeof(adr));
        store_bind_u64(s, 3, lim->window_s);
        rc = store_stmt_exec(s);
    }
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        bool account = strcmp(store_col_str(s, 0), "account") == 0;
        if (account && !email)
            continue;
        uint64_t failures = store_col_u64(s, 1);
        int64_t left = store_col_i64(s, 2);
        if (failures >= (account ? lim->account_max : lim->address_max)) {
            unsigned wait = left < 1 ? 1 : (unsigned)left;
            if (wait > *retry_after_s)
                *retry_after_s = wait;
        }
    }
    store_stmt_free(s);
    return rc;
}

static enum dmarcd_err count_failure(struct store *st, const char *kind, const uint8_t hash[32],
                                     unsigned window_s)
{
    struct store_stmt *s = NULL;
    enum dmarcd_err rc = store_stmt_prepare(
        st, "INSERT INTO login_throttle (kind, subject, window_start, failures)"
            " VALUES (?, ?, UTC_TIMESTAMP(), 1) ON DUPLICATE KEY UPDATE"
            " failures = IF(window_start <= UTC_TIMESTAMP() - INTERVAL ? SECOND, 1, failures + 1),"
            " window_start = IF(window_start <= UTC_TIMESTAMP() - INTERVAL ? SECOND,"
            " UTC_TIMESTAMP(), window_start)", &s);
    if (!rc) {
        store_bind_str(s, 0, kind);
        store_bind_bytes(s, 1, hash, 32);
        store_bind_u64(s, 2, window_s);
        store_bind_u64(s, 3, window_s);
        rc = store_stmt_exec(s);
    }
    store_stmt_free(s);
    return rc;
}

enum dmarcd_err login_throttle_fail(struct store *st, const char *email, const char *addr,
                                    const struct login_limits *lim)
{
    uint8_t h[32];
    enum dmarcd_err rc = DMARCD_OK;
    if (email) {
        hash_text(email, h);
        rc = count_failure(st, "account", h, lim->window_s);
    }
    if (!rc) {
        hash_text(addr ? addr : "", h);
        rc = count_failure(st, "address", h, lim->window_s);
    }
    if (!rc)
        rc = exec_one(st, "DELETE FROM login_throttle WHERE window_start < UTC_TIMESTAMP()"
                          " - INTERVAL 1 DAY LIMIT ?", NULL, JANITOR_BATCH);
    return rc;
}

enum dmarcd_err login_throttle_clear(struct store *st, const char *email)
{
    uint8_t h[32];
    hash_text(email, h);
    return exec_one(st, "DELETE FROM login_throttle WHERE kind = 'account' AND subject = ?", h,
                    0);
}
