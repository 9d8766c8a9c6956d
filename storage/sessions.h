/*
 * sessions.h - the credentials of the REST API: browser sessions (with
 * their CSRF token), personal API tokens, and login throttling.
 *
 * Every secret handed out here is 32 random bytes from libsodium, shown
 * once as unpadded base64url text (API tokens carry a "dmarcd_" prefix so
 * secret scanners can spot them) and stored only as its SHA-256. A lookup
 * hashes what the client sent and asks for that hash, so the database never
 * holds anything a stolen dump could replay.
 *
 *   login:    session_create(st, user, addr, ttl, &secrets)
 *             -> cookie = secrets.id, body = secrets.csrf
 *   request:  session_lookup(st, cookie, idle, &who)
 *             state-changing: session_csrf_ok(&who, header)
 *   logout:   session_end(st, cookie)
 *
 *   token_create(st, tenant, user, name, write, days, actor, &new, &why)
 *   token_lookup(st, bearer, &who)
 *
 * A lookup answers DMARCD_E_NOT_FOUND for anything that does not grant
 * access now: unknown, expired, idle too long, revoked, a disabled
 * account, a token whose user left the tenant or whose tenant was
 * cancelled. The API answers all of them alike (401).
 *
 * Throttling counts failed logins per account and per client address in a
 * fixed window (rows in login_throttle, shared by every API pod).
 */
#ifndef DMARCD_STORAGE_SESSIONS_H
#define DMARCD_STORAGE_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "storage/store.h"
#include "storage/users.h"

#define SESSION_SECRET_TEXT_MAX 44      /* base64url of 32 bytes + NUL */
#define TOKEN_TEXT_MAX 52               /* "dmarcd_" + 43 + NUL */
#define TOKEN_PREFIX_LEN 12             /* characters of a token shown in lists */
#define TOKEN_NAME_MAX 100              /* characters */
#define TOKEN_EXPIRES_MAX_DAYS 3650
#define AUTH_ADDR_TEXT_MAX 64

/* Who a session or token belongs to. */
struct auth_who {
    uint32_t user_id;
    char email[USER_EMAIL_MAX + 1];
    bool is_operator;
    /* sessions */
    uint8_t csrf_hash[32];
    /* tokens: the one tenant a token works in, and what it may do there */
    uint64_t token_id;
    uint32_t tenant_id;
    char tenant[64];
    enum user_role role;
    bool write;
};

/* ---- sessions ---- */

struct session_secrets {
    char id[SESSION_SECRET_TEXT_MAX];   /* the cookie value */
    char csrf[SESSION_SECRET_TEXT_MAX]; /* the X-CSRF-Token value */
};

/*
 * Starts a session for user_id lasting ttl_s seconds at most. client_addr
 * (may be NULL) is kept for the owner's information. Also deletes a bounded
 * batch of expired sessions, so the table does not grow without a janitor.
 */
enum dmarcd_err session_create(struct store *st, uint32_t user_id, const char *client_addr,
                               unsigned ttl_s, struct session_secrets *out) DMARCD_MUST_CHECK;

/*
 * The session whose id is `id` (the cookie value), unless it expired or
 * was idle for more than idle_s seconds, or its account is disabled.
 * Refreshes last_seen_at when it is more than a minute old.
 */
enum dmarcd_err session_lookup(struct store *st, const char *id, unsigned idle_s,
                               struct auth_who *out) DMARCD_MUST_CHECK;

/* True when csrf (the header sent) is the session's token; constant time. */
bool session_csrf_ok(const struct auth_who *who, const char *csrf);

/* Ends the session `id`; DMARCD_OK also when there was none. */
enum dmarcd_err session_end(struct store *st, const char *id) DMARCD_MUST_CHECK;

/* ---- API tokens ---- */

struct token_new {
    uint64_t id;
    char token[TOKEN_TEXT_MAX];         /* shown once */
    char prefix[TOKEN_PREFIX_LEN + 1];
};

/*
 * Creates a token for user_id in tenant_id (the user must be a member:
 * DMARCD_E_NOT_FOUND otherwise). write adds the write scope to read.
 * expires_days 0: no expiry; else 1..TOKEN_EXPIRES_MAX_DAYS. name: up to
 * TOKEN_NAME_MAX characters of printable text, may be empty. Audited.
 */
enum dmarcd_err token_create(struct store *st, uint32_t tenant_id, uint32_t user_id,
                             const char *name, bool write, unsigned expires_days,
                             const char *actor, struct token_new *out,
                             struct strbuf *why) DMARCD_MUST_CHECK;

/*
 * The token `text` (as sent after "Bearer "), with its user's current role
 * in the token's tenant. Refreshes last_used_at when more than a minute old.
 */
enum dmarcd_err token_lookup(struct store *st, const char *text,
                             struct auth_who *out) DMARCD_MUST_CHECK;

struct token_info {
    uint64_t id;
    uint32_t user_id;
    char *email;
    char *name;
    char prefix[TOKEN_PREFIX_LEN + 1];
    bool write;
    char created_at[USER_TIME_TEXT_MAX];
    char expires_at[USER_TIME_TEXT_MAX];        /* "" when none */
    char last_used_at[USER_TIME_TEXT_MAX];      /* "" when never */
    char revoked_at[USER_TIME_TEXT_MAX];        /* "" when not revoked */
    bool expired;
};

struct token_infos {
    struct token_info *items;           /* newest first */
    size_t count;
};

void token_infos_release(struct token_infos *list);

/* The tenant's tokens: of user_id only, or of everyone when user_id is 0. */
enum dmarcd_err token_list(struct store *st, uint32_t tenant_id, uint32_t user_id,
                           struct token_infos *out) DMARCD_MUST_CHECK;

/*
 * Revokes token id of tenant_id; when owner_id is not 0 only a token of
 * that user. DMARCD_E_NOT_FOUND when there is no such (unrevoked) token.
 * Audited.
 */
enum dmarcd_err token_revoke(struct store *st, uint32_t tenant_id, uint64_t id,
                             uint32_t owner_id, const char *actor) DMARCD_MUST_CHECK;

/* ---- login throttling ---- */

struct login_limits {
    unsigned window_s;                  /* failures count within this window */
    unsigned account_max;               /* failures per account before a lockout */
    unsigned address_max;               /* failures per client address */
};

/*
 * *retry_after_s > 0 when the account (email, normalised; may be NULL) or
 * the address is locked out: how long until the window ends.
 */
enum dmarcd_err login_throttle_check(struct store *st, const char *email, const char *addr,
                                     const struct login_limits *lim,
                                     unsigned *retry_after_s) DMARCD_MUST_CHECK;
/* Counts one failed login for both. */
enum dmarcd_err login_throttle_fail(struct store *st, const char *email, const char *addr,
                                    const struct login_limits *lim) DMARCD_MUST_CHECK;
/* A successful login clears the account's count (not the address's). */
enum dmarcd_err login_throttle_clear(struct store *st, const char *email) DMARCD_MUST_CHECK;

#endif
