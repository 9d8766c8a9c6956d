/*
 * users.h - people: accounts, their passwords, and their role in each
 * tenant they belong to (tables users and user_tenants).
 *
 * An account is one e-mail address (lower-cased) with an Argon2id password
 * hash (libsodium crypto_pwhash_str); it may belong to several tenants with
 * one role in each. Roles are ordered: viewer < analyst < admin < owner, so
 * "at least admin" is a comparison. The platform operator flag is separate
 * from every tenant role and grants no tenant's data.
 *
 * Hashing is slow on purpose (tens of milliseconds and 64 MiB): callers
 * hash before opening a transaction, never inside one, and bound how many
 * hashes run at once (the API does).
 *
 *   user_email_normalise(text, &email, &why)      lower case, checked
 *   user_password_acceptable(pw, email, &why)     length, common passwords
 *   user_password_hash(pw, hash)                  then, in storage:
 *   user_add(st, tenant, email, role, hash, actor, &added, &why)
 *
 * Every change writes an audit_log row in the same transaction. Tenant
 * walls: functions that take a tenant_id touch only that tenant's
 * memberships; a user id that is not a member of it is DMARCD_E_NOT_FOUND.
 */
#ifndef DMARCD_STORAGE_USERS_H
#define DMARCD_STORAGE_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "storage/store.h"

#define USER_EMAIL_MAX 254              /* RFC 5321 path limit */
#define USER_PASSWORD_MIN 12            /* characters (code points) */
#define USER_PASSWORD_MAX 1024          /* bytes: bounds the hashing work */
#define USER_HASH_MAX 128               /* crypto_pwhash_STRBYTES */
#define USER_TIME_TEXT_MAX 21           /* "YYYY-MM-DDTHH:MM:SSZ" */

enum user_role {
    USER_ROLE_NONE = 0,                 /* not a member */
    USER_ROLE_VIEWER,                   /* aggregate data only */
    USER_ROLE_ANALYST,                  /* everything, failure reports included */
    USER_ROLE_ADMIN,                    /* + domains, settings, users below owner, uploads */
    USER_ROLE_OWNER,                    /* + owners */
};

/* "viewer", "analyst", "admin", "owner" ("none" for USER_ROLE_NONE). */
const char *user_role_name(enum user_role role);
/* The four member roles; false for anything else. */
bool user_role_parse(const char *text, enum user_role *out);

/* Trims, lower-cases and checks an address (local@domain, printable ASCII
 * or UTF-8, no spaces, at most USER_EMAIL_MAX bytes) into out. */
enum dmarcd_err user_email_normalise(const char *email, struct strbuf *out,
                                     struct strbuf *why) DMARCD_MUST_CHECK;

/*
 * The password policy: valid UTF-8 without control characters,
 * USER_PASSWORD_MIN characters to USER_PASSWORD_MAX bytes, not one of the
 * commonest passwords (a built-in list, compared ignoring case), not one
 * character repeated, and not the e-mail address or its local part.
 * DMARCD_E_INVALID with the reason (never the password) otherwise.
 */
enum dmarcd_err user_password_acceptable(const char *password, const char *email,
                                         struct strbuf *why) DMARCD_MUST_CHECK;

/* Argon2id (libsodium's interactive limits) into out. DMARCD_E_CRYPTO when
 * libsodium fails (out of memory for the hash). */
enum dmarcd_err user_password_hash(const char *password,
                                   char out[USER_HASH_MAX]) DMARCD_MUST_CHECK;
/* True when password matches hash (constant time in libsodium). */
bool user_password_verify(const char *hash, const char *password);
/* True when hash was made with other limits than today's. */
bool user_password_needs_rehash(const char *hash);

/* ---- accounts ---- */

struct user_account {
    uint32_t id;
    char *email;
    char *password_hash;                /* "" when the account has no password */
    bool active;                        /* status 'active' */
    bool is_operator;
};

void user_account_release(struct user_account *u);

/* By normalised e-mail address. DMARCD_E_NOT_FOUND when there is none. */
enum dmarcd_err user_find(struct store *st, const char *email,
                          struct user_account *out) DMARCD_MUST_CHECK;

/* The active tenants the user belongs to, by tenant name. */
struct user_membership {
    uint32_t tenant_id;
    char *tenant;
    enum user_role role;
};

struct user_memberships {
    struct user_membership *items;
    size_t count;
};

void user_memberships_release(struct user_memberships *list);
enum dmarcd_err user_memberships(struct store *st, uint32_t user_id,
                                 struct user_memberships *out) DMARCD_MUST_CHECK;

/* ---- membership changes ---- */

struct user_added {
    uint32_t user_id;
    bool created;                       /* a new account (else an existing one joined) */
    bool already_member;                /* nothing changed: the account is a member */
    enum user_role role;                /* its role in the tenant afterwards */
};

/*
 * Makes the account email a member of tenant_id with role. A new account
 * is created with password_hash, which is then required (DMARCD_E_INVALID
 * without it); an existing account keeps its password (password_hash is
 * ignored) and joins. When it is already a member nothing changes and
 * added->already_member is set (DMARCD_OK). The tenant must be active.
 */
enum dmarcd_err user_add(struct store *st, uint32_t tenant_id, const char *email,
                         enum user_role role, const char *password_hash, const char *actor,
                         struct user_added *added, struct strbuf *why) DMARCD_MUST_CHECK;

/* One member of a tenant, for lists. */
struct user_member {
    uint32_t id;
    char *email;
    enum user_role role;
    bool active;
    char created_at[USER_TIME_TEXT_MAX];        /* joined the tenant */
    char last_login_at[USER_TIME_TEXT_MAX];     /* "" when never */
};

struct user_members {
    struct user_member *items;          /* by e-mail address */
    size_t count;
};

void user_members_release(struct user_members *list);
enum dmarcd_err user_list(struct store *st, uint32_t tenant_id,
                          struct user_members *out) DMARCD_MUST_CHECK;

/* The member's role; DMARCD_E_NOT_FOUND when user_id is not a member. */
enum dmarcd_err user_role_get(struct store *st, uint32_t tenant_id, uint32_t user_id,
                              enum user_role *role) DMARCD_MUST_CHECK;

/*
 * Changes a member's role, or removes the member (and revokes their API
 * tokens of this tenant). A tenant never loses its last owner: demoting or
 * removing them is DMARCD_E_INVALID. DMARCD_E_NOT_FOUND for a non-member.
 */
enum dmarcd_err user_set_role(struct store *st, uint32_t tenant_id, uint32_t user_id,
                              enum user_role role, const char *actor,
                              struct strbuf *why) DMARCD_MUST_CHECK;
enum dmarcd_err user_remove(struct store *st, uint32_t tenant_id, uint32_t user_id,
                            const char *actor, struct strbuf *why) DMARCD_MUST_CHECK;

/* ---- account changes ---- */

/* Replaces the hash of an up-to-date password after a login (no audit:
 * nothing a person decided changed). */
enum dmarcd_err user_rehash(struct store *st, uint32_t user_id,
                            const char *password_hash) DMARCD_MUST_CHECK;
/* Records a successful login (last_login_at). */
enum dmarcd_err user_touch_login(struct store *st, uint32_t user_id) DMARCD_MUST_CHECK;
/* Sets or clears the platform operator flag (audited, tenant NULL). */
enum dmarcd_err user_set_operator(struct store *st, const char *email, bool on,
                                  const char *actor, struct strbuf *why) DMARCD_MUST_CHECK;

#endif
