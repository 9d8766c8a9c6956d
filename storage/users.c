/*
 * users.c - accounts, passwords and tenant memberships (see users.h).
 *
 * Uniqueness (one account per address, one membership per tenant and
 * account) is the database's unique keys; changes that must keep a tenant
 * with an owner lock the tenant's owner rows (FOR UPDATE) before counting,
 * so two admins demoting the last two owners at once cannot both succeed.
 * Password hashing happens outside any transaction: callers pass hashes.
 */
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xalloc.h"
#include "storage/audit.h"
#include "storage/stmt.h"
#include "storage/users.h"
#include "lib/banned.h"

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

/* ---- roles ---- */

static const char *const ROLE_NAMES[] = {
    [USER_ROLE_NONE] = "none",       [USER_ROLE_VIEWER] = "viewer", [USER_ROLE_ANALYST] = "analyst",
    [USER_ROLE_ADMIN] = "admin",     [USER_ROLE_OWNER] = "owner",
};

const char *user_role_name(enum user_role role)
{
    return (unsigned)role <= USER_ROLE_OWNER ? ROLE_NAMES[role] : "none";
}

bool user_role_parse(const char *text, enum user_role *out)
{
    for (unsigned r = USER_ROLE_VIEWER; text && r <= USER_ROLE_OWNER; r++) {
        if (strcmp(text, ROLE_NAMES[r]) == 0) {
            *out = (enum user_role)r;
            return true;
        }
    }
    return false;
}

static enum user_role role_from_db(const char *text)
{
    enum user_role r = USER_ROLE_NONE;
    return user_role_parse(text, &r) ? r : USER_ROLE_NONE;
}

/* ---- text checks ---- */

/*
 * Counts the code points of well-formed UTF-8 (no overlongs, surrogates or
 * values past U+10FFFF); -1 when s is not, or holds a control character.
 */
static long utf8_chars(const unsigned char *s, size_t n)
{
    long chars = 0;
    for (size_t i = 0; i < n; chars++) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return -1;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07;
        else
            return -1;
        if (n - i < len)
            return -1;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
            return -1;
        i += len;
    }
    return chars;
}

enum dmarcd_err user_email_normalise(const char *email, struct strbuf *out, struct strbuf *why)
{
    strbuf_reset(out);
    struct slice t = slice_trim(slice_from_cstr(email ? email : ""));
    const char *at = t.len ? memchr(t.ptr, '@', t.len) : NULL;
    const char *problem = NULL;
    if (t.len == 0 || t.len > USER_EMAIL_MAX)
        problem = "an e-mail address has 3 to 254 characters";
    else if (!at || at == t.ptr || at == t.ptr + t.len - 1 ||
             memchr(at + 1, '@', (size_t)(t.ptr + t.len - at - 1)))
        problem = "expected local@domain";
    else if (utf8_chars((const unsigned char *)t.ptr, t.len) < 0)
        problem = "not valid UTF-8 text";
    for (size_t i = 0; !problem && i < t.len; i++) {
        char c = t.ptr[i];
        if (c == ' ' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ',' || c == ';')
            problem = "no spaces, quotes, brackets, commas or semicolons";
        else
            (void)strbuf_addch(out, c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
    }
    if (!problem && !strchr(strchr(out->buf, '@'), '.'))
        problem = "the domain needs a dot";
    if (!problem)
        return DMARCD_OK;
    strbuf_reset(out);
    set_why(why, "invalid e-mail address: %s", problem);
    return DMARCD_E_INVALID;
}

/*
 * The commonest passwords of 12 characters or more, lower case (shorter
 * ones fail the length rule anyway). Compared ignoring ASCII case.
 */
static const char *const COMMON_PASSWORDS[] = {
    "123456789012", "1234567890123", "12345678901234", "123456123456", "123123123123",
    "111111111111", "000000000000", "999999999999", "987654321098", "098765432109",
    "112233445566", "121212121212", "147258369147", "123qweasdzxc", "1q2w3e4r5t6y",
    "1qaz2wsx3edc", "q1w2e3r4t5y6", "qazwsxedcrfv", "zaq12wsxcde3", "zaq1zaq1zaq1",
    "qwertyuiop12", "qwertyuiopasdfghjkl", "qwerty123456", "qwertyqwerty", "qwerty12345678",
    "asdfghjkl123", "asdfasdfasdf", "asdfghjklqwe", "1234qwerasdf", "qwer1234asdf",
    "abc123456789", "abcdefghijkl", "abcd12345678", "abcabcabcabc", "aa123456789a",
    "password1234", "password12345", "password123456", "passwordpassword", "password1234!",
    "p@ssw0rd1234", "p@ssword1234", "passw0rd1234", "password!234", "mypassword123",
    "letmein12345", "letmeinletmein", "welcome12345", "welcome@1234", "welcome123456",
    "iloveyou1234", "iloveyouiloveyou", "changeme1234", "changemechangeme", "trustno1trustno1",
    "administrator", "administrator1", "admin1234567", "adminadmin12", "adminadminadmin",
    "monkey123456", "football1234", "baseball1234", "superman1234", "starwars1234",
    "dragon123456", "sunshine1234", "princess1234", "shadow123456", "master123456",
    "michael12345", "jennifer1234", "computer1234", "internet1234", "secret123456",
    "whatever1234", "qwertyuiop123", "1234567890qwerty", "0987654321qwerty", "123456789abc",
    "123456789qwe", "11223344556677", "135792468013", "246813579024", "dmarcdmarcdmarc",
    NULL,
};

/* True when s is a run of one unit of 1 to 4 bytes repeated. */
static bool repeats_short_unit(const char *s, size_t n)
{
    for (size_t unit = 1; unit <= 4 && unit < n; unit++) {
        if (n % unit)
            continue;
        bool same = true;
        for (size_t i = unit; same && i < n; i++)
            same = s[i] == s[i - unit];
        if (same)
            return true;
    }
    return false;
}

static bool equals_nocase(const char *a, const char *b, size_t n)
{
    if (strlen(b) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] - 'A' + 'a') : a[i];
        if (x != b[i])
            return false;
    }
    return true;
}

enum dmarcd_err user_password_acceptable(const char *password, const char *email,
                                         struct strbuf *why)
{
    size_t n = password ? strlen(password) : 0;
    long chars = n <= USER_PASSWORD_MAX ? utf8_chars((const unsigned char *)password, n) : -1;
    if (n > USER_PASSWORD_MAX) {
        set_why(why, "password too long: at most %d bytes", USER_PASSWORD_MAX);
        return DMARCD_E_INVALID;
    }
    if (chars < 0) {
        set_why(why, "password must be UTF-8 text without control characters");
        return DMARCD_E_INVALID;
    }
    if (chars < USER_PASSWORD_MIN) {
        set_why(why, "password too short: at least %d characters", USER_PASSWORD_MIN);
        return DMARCD_E_INVALID;
    }
    for (size_t i = 0; COMMON_PASSWORDS[i]; i++) {
        if (equals_nocase(password, COMMON_PASSWORDS[i], n)) {
            set_why(why, "password is one of the most common passwords: choose another");
            return DMARCD_E_INVALID;
        }
    }
    if (repeats_short_unit(password, n)) {
        set_why(why, "password is a short pattern repeated: choose another");
        return DMARCD_E_INVALID;
    }
    if (email && *email) {
        const char *at = strchr(email, '@');
        size_t local = at ? (size_t)(at - email) : strlen(email);
        if (equals_nocase(password, email, n) ||
            (local >= 4 && n >= local && strncasecmp(password, email, local) == 0 &&
             n - local <= 4)) {
            set_why(why, "password must not be the e-mail address: choose another");
            return DMARCD_E_INVALID;
        }
    }
    return DMARCD_OK;
}

enum dmarcd_err user_password_hash(const char *password, char out[USER_HASH_MAX])
{
    if (sodium_init() < 0)
        return DMARCD_E_CRYPTO;
    if (crypto_pwhash_str_alg(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13))
        return DMARCD_E_CRYPTO;
    return DMARCD_OK;
}

bool user_password_verify(const char *hash, const char *password)
{
    if (!hash || !*hash || !password || sodium_init() < 0)
        return false;
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

bool user_password_needs_rehash(const char *hash)
{
    return crypto_pwhash_str_needs_rehash(hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
}

/* ---- accounts ---- */

void user_account_release(struct user_account *u)
{
    free(u->email);
    if (u->password_hash) {
        sodium_memzero(u->password_hash, strlen(u->password_hash));
        free(u->password_hash);
    }
    memset(u, 0, sizeof(*u));
}

enum dmarcd_err user_find(struct store *st, const char *email, struct user_account *out)
{
    struct store_stmt *s = NULL;
    bool row = false;
    memset(out, 0, sizeof(*out));
    enum dmarcd_err rc = store_stmt_prepare(
        st, "SELECT id, email, password_hash, status = 'active', is_operator"
            " FROM users WHERE email = ?", &s);
    if (!rc) {
        store_bind_str(s, 0, email);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && !row)
        rc = DMARCD_E_NOT_FOUND;
    if (!rc) {
        out->id = (uint32_t)store_col_u64(s, 0);
        out->email = store_col_dup(s, 1);
        out->password_hash = store_col_dup(s, 2);
        out->active = store_col_u64(s, 3) != 0;
        out->is_operator = store_col_u64(s, 4) != 0;
    }
    store_stmt_free(s);
    return rc;
}

void user_memberships_release(struct user_memberships *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i].tenant);
    free(list->items);
    memset(list, 0, sizeof(*list));
}

enum dmarcd_err user_memberships(struct store *st, uint32_t user_id, struct user_memberships *out)
{
    struct store_stmt *s = NULL;
    bool row;
    memset(out, 0, sizeof(*out));
    enum dmarcd_err rc = store_stmt_prepare(
        st, "SELECT t.id, t.name, ut.role FROM user_tenants ut JOIN tenants t"
            " ON t.id = ut.tenant_id WHERE ut.user_id = ? AND t.status = 'active'"
            " ORDER BY t.name", &s);
    if (!rc) {
        store_bind_u64(s, 0, user_id);
        rc = store_stmt_exec(s);
    }
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        out->items = xreallocarray(out->items, out->count + 1, sizeof(*out->items));
        struct user_membership *m = &out->items[out->count++];
        m->tenant_id = (uint32_t)store_col_u64(s, 0);
        m->tenant = store_col_dup(s, 1);
        m->role = role_from_db(store_col_str(s, 2));
    }
    store_stmt_free(s);
    if (rc)
        user_memberships_release(out);
    return rc;
}

/* ---- membership changes ---- */

/* Locks the tenant row; DMARCD_E_INVALID when it is not active. */
static enum dmarcd_err lock_active_tenant(struct store *st, uint32_t tenant_id, struct strbuf *why)
{
    struct store_stmt *s = NULL;
    bool row = false;
    enum dmarcd_err rc = store_stmt_prepare(
        st, "SELECT status = 'active' FROM tenants WHERE id = ? FOR UPDATE", &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant_id);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && !row) {
        set_why(why, "no such tenant");
        rc = DMARCD_E_NOT_FOUND;
    } else if (!rc && store_col_u64(s, 0) == 0) {
        set_why(why, "the tenant is cancelled");
        rc = DMARCD_E_INVALID;
    }
    store_stmt_free(s);
    return rc;
}

static enum dmarcd_err insert_account(struct store *st, const char *email, const char *hash,
                                      uint32_t *id, bool *dup)
{
    struct store_stmt *s = NULL;
    enum dmarcd_err rc = store_stmt_prepare(
        st, "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, UTC_TIMESTAMP())",
        &s);
    if (!rc) {
        store_bind_str(s, 0, email);
        store_bind_str(s, 1, hash);
        rc = store_stmt_exec_dup(s, dup);
    }
    if (!rc && !*dup)
        *id = (uint32_t)store_stmt_insert_id(s);
    store_stmt_free(s);
    return rc;
}

/* The account's id (locked), creating it when it does not exist yet. */
static enum dmarcd_err find_or_create(struct store *st, const char *email, const char *hash,
                                      struct user_added *added, struct strbuf *why)
{
    struct store_stmt *s = NULL;
    bool row = false, dup = false;
    enum dmarcd_err rc = store_stmt_prepare(st, "SELECT id FROM users WHERE email = ? FOR UPDATE",
                                            &s);
    if (!rc) {
        store_bind_str(s, 0, email);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && row)
        added->user_id = (uint32_t)store_col_u64(s, 0);
    store_stmt_free(s);
    if (rc || row)
        return rc;
    if (!hash || !*hash) {
        set_why(why, "no account for this address yet: a password is needed to create it");
        return DMARCD_E_INVALID;
    }
    rc = insert_account(st, email, hash, &added->user_id, &dup);
    if (!rc && dup) {
        set_why(why, "the account was created concurrently: try again");
        rc = DMARCD_E_TEMPORARY;
    }
    added->created = !rc;
    return rc;
}

static enum dmarcd_err insert_membership(struct store *st, uint32_t tenant_id, uint32_t user_id,
                                         enum user_role role, bool *dup)
{
    struct store_stmt *s = NULL;
    enum dmarcd_err rc = store_stmt_prepare(
        st, "INSERT INTO user_tenants (tenant_id, user_id, role, created_at)"
            " VALUES (?, ?, ?, UTC_TIMESTAMP())", &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant_id);
        store_bind_u64(s, 1, user_id);
        store_bind_str(s, 2, user_role_name(role));
        rc = store_stmt_exec_dup(s, dup);
    }
    store_stmt_free(s);
    return rc;
}

/* Ends a transaction this file opened: commit on success, else roll back. */
static enum dmarcd_err finish(struct store *st, enum dmarcd_err rc)
{
    if (!rc)
        rc = store_commit(st);
    if (rc)
        store_rollback(st);
    return rc;
}

enum dmarcd_err user_add(struct store *st, uint32_t tenant_id, const char *email,
                         enum user_role role, const char *password_hash, const char *actor,
                         struct user_added *added, struct strbuf *why)
{
    bool dup = false;
    char *detail = NULL;
    memset(added, 0, sizeof(*added));
    if (role < USER_ROLE_VIEWER || role > USER_ROLE_OWNER) {
        set_why(why, "invalid role: owner, admin, analyst or viewer");
        return DMARCD_E_INVALID;
    }
    enum dmarcd_err rc = store_begin(st);
    if (!rc)
        rc = lock_active_tenant(st, tenant_id, why);
    if (!rc)
        rc = find_or_create(st, email, password_hash, added, why);
    if (!rc)
        rc = insert_membership(st, tenant_id, added->user_id, role, &dup);
    if (!rc && dup) {
        added->already_member = true;
        rc = user_role_get(st, tenant_id, added->user_id, &added->role);
        store_rollback(st);
        return rc;
    }
    added->role = role;
    if (!rc) {
        const char *pairs[] = { "role", user_role_name(role), "account",
                                added->created ? "created" : "existing", NULL };
        detail = store_audit_detail(pairs);
        rc = store_audit_add(st, tenant_id, actor, "user.add", email, detail);
    }
    free(detail);
    return finish(st, rc);
}

void user_members_release(struct user_members *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i].email);
    free(list->items);
    memset(list, 0, sizeof(*list));
}

static void copy_time(const char *v, char out[USER_TIME_TEXT_MAX])
{
    size_t n = v ? strlen(v) : 0;
    if (n >= USER_TIME_TEXT_MAX)
        n = 0;
    if (n)
        memcpy(out, v, n);
    out[n] = '\0';
}

#define RFC3339(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

enum dmarcd_err user_list(struct store *st, uint32_t tenant_id, struct user_members *out)
{
    struct store_stmt *s = NULL;
    bool row;
    memset(out, 0, sizeof(*out));
    enum dmarcd_err rc = store_stmt_prepare(
        st, "SELECT u.id, u.email, ut.role, u.status = 'active', " RFC3339("ut.created_at") ", "
            RFC3339("u.last_login_at") " FROM user_tenants ut JOIN users u ON u.id = ut.user_id"
            " WHERE ut.tenant_id = ? ORDER BY u.email", &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant_id);
        rc = store_stmt_exec(s);
    }
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        out->items = xreallocarray(out->items, out->count + 1, sizeof(*out->items));
        struct user_member *m = &out->items[out->count++];
        m->id = (uint32_t)store_col_u64(s, 0);
        m->email = store_col_dup(s, 1);
        m->role = role_from_db(store_col_str(s, 2));
        m->active = store_col_u64(s, 3) != 0;
        copy_time(store_col_str(s, 4), m->created_at);
        copy_time(store_col_str(s, 5), m->last_login_at);
    }
    store_stmt_free(s);
    if (rc)
        user_members_release(out);
    return rc;
}

/* The role of user_id in tenant_id, optionally locking the row. */
static enum dmarcd_err role_get(struct store *st, uint32_t tenant_id, uint32_t user_id,
                                bool lock, enum user_role *role, char **email)
{
    struct store_stmt *s = NULL;
    bool row = false;
    enum dmarcd_err rc = store_stmt_prepare(
        st, lock ? "SELECT ut.role, u.email FROM user_tenants ut JOIN users u ON u.id = ut.user_id"
                   " WHERE ut.tenant_id = ? AND ut.user_id = ? FOR UPDATE"
                 : "SELECT ut.role, u.email FROM user_tenants ut JOIN users u ON u.id = ut.user_id"
                   " WHERE ut.tenant_id = ? AND ut.user_id = ?", &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant_id);
        store_bind_u64(s, 1, user_id);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && !row)
        rc = DMARCD_E_NOT_FOUND;
    if (!rc) {
        *role = role_from_db(store_col_str(s, 0));
        if (email)
            *email = store_col_dup(s, 1);
    }
    store_stmt_free(s);
    return rc;
}

enum dmarcd_err user_role_get(struct store *st, uint32_t tenant_id, uint32_t user_id,
                              enum user_role *role)
{
    return role_get(st, tenant_id, user_id, false, role, NULL);
}

/* Number of owners of the tenant, their rows locked. */
static enum dmarcd_err count_owners(struct store *st, uint32_t tenant_id, uint64_t *n)
{
    struct store_stmt *s = NULL;
    bool row;
    *n = 0;
    enum dmarcd_err rc = store_stmt_prepare(
        st, "SELECT user_id FROM user_tenants WHERE tenant_id = ? AND role = 'owner' FOR UPDATE",
        &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant_id);
        rc = store_stmt_exec(s);
    }
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row)
        (*n)++;
    store_stmt_free(s);
    return rc;
}

/* Locks the member's row and refuses to take away the last owner. */
static enum dmarcd_err check_last_owner(struct store *st, uint32_t tenant_id, uint32_t user_id,
                                        bool stays_owner, char **email, struct strbuf *why)
{
    enum user_role old = USER_ROLE_NONE;
    uint64_t owners = 0;
    enum dmarcd_err rc = count_owners(st, tenant_id, &owners);
    if (!rc)
        rc = role_get(st, tenant_id, user_id, true, &old, email);
    if (!rc && old == USER_ROLE_OWNER && !stays_owner && owners <= 1) {
        set_why(why, "a tenant keeps at least one owner: make someone else owner first");
        rc = DMARCD_E_INVALID;
    }
    return rc;
}

static enum dmarcd_err exec_tenant_user(struct store *st, const char *sql, uint32_t tenant_id,
                                        uint32_t user_id, const char *first)
{
    struct store_stmt *s = NULL;
    unsigned i = 0;
    enum dmarcd_err rc = store_stmt_prepare(st, sql, &s);
    if (!rc) {
        if (first)
            store_bind_str(s, i++, first);
        store_bind_u64(s, i++, tenant_id);
        store_bind_u64(s, i, user_id);
        rc = store_stmt_exec(s);
    }
    store_stmt_free(s);
    return rc;
}

enum dmarcd_err user_set_role(struct store *st, uint32_t tenant_id, uint32_t user_id,
                              enum user_role role, const char *actor, struct strbuf *why)
{
    char *email = NULL, *detail = NULL;
    if (role < USER_ROLE_VIEWER || role > USER_ROLE_OWNER) {
        set_why(why, "invalid role: owner, admin, analyst or viewer");
        return DMARCD_E_INVALID;
    }
    enum dmarcd_err rc = store_begin(st);
    if (!rc)
        rc = check_last_owner(st, tenant_id, user_id, role == USER_ROLE_OWNER, &email, why);
    if (!rc)
        rc = exec_tenant_user(st, "UPDATE user_tenants SET role = ? WHERE tenant_id = ?"
                                  " AND user_id = ?", tenant_id, user_id, user_role_name(role));
    if (!rc) {
        const char *pairs[] = { "role", user_role_name(role), NULL };
        detail = store_audit_detail(pairs);
        rc = store_audit_add(st, tenant_id, actor, "user.role", email, detail);
    }
    free(detail);
    free(email);
    return finish(st, rc);
}

enum dmarcd_err user_remove(struct store *st, uint32_t tenant_id, uint32_t user_id,
                            const char *actor, struct strbuf *why)
{
    char *email = NULL;
    enum dmarcd_err rc = store_begin(st);
    if (!rc)
        rc = check_last_owner(st, tenant_id, user_id, false, &email, why);
    if (!rc)
        rc = exec_tenant_user(st, "UPDATE api_tokens SET revoked_at = UTC_TIMESTAMP()"
                                  " WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL",
                              tenant_id, user_id, NULL);
    if (!rc)
        rc = exec_tenant_user(st, "DELETE FROM user_tenants WHERE tenant_id = ? AND user_id = ?",
                              tenant_id, user_id, NULL);
    if (!rc)
        rc = store_audit_add(st, tenant_id, actor, "user.remove", email, NULL);
    free(email);
    return finish(st, rc);
}

/* ---- account changes ---- */

static enum dmarcd_err exec_user(struct store *st, const char *sql, const char *first,
                                 uint32_t user_id)
{
    struct store_stmt *s = NULL;
    unsigned i = 0;
    enum dmarcd_err rc = store_stmt_prepare(st, sql, &s);
    if (!rc) {
        if (first)
            store_bind_str(s, i++, first);
        store_bind_u64(s, i, user_id);
        rc = store_stmt_exec(s);
    }
    store_stmt_free(s);
    return rc;
}

enum dmarcd_err user_rehash(struct store *st, uint32_t user_id, const char *password_hash)
{
    return exec_user(st, "UPDATE users SET password_hash = ? WHERE id = ?", password_hash,
                     user_id);
}

enum dmarcd_err user_touch_login(struct store *st, uint32_t user_id)
{
    return exec_user(st, "UPDATE users SET last_login_at = UTC_TIMESTAMP() WHERE id = ?", NULL,
                     user_id);
}

enum dmarcd_err user_set_operator(struct store *st, const char *email, bool on, const char *actor,
                                  struct strbuf *why)
{
    struct store_stmt *s = NULL;
    enum dmarcd_err rc = store_begin(st);
    if (!rc)
        rc = store_stmt_prepare(st, "UPDATE users SET is_operator = ? WHERE email = ?", &s);
    if (!rc) {
        store_bind_u64(s, 0, on ? 1 : 0);
        store_bind_str(s, 1, email);
        rc = store_stmt_exec(s);
    }
    store_stmt_free(s);
    if (!rc) {
        struct user_account u;
        rc = user_find(st, email, &u);
        if (rc == DMARCD_E_NOT_FOUND)
            set_why(why, "no account for %s (create it with `dmarcd user add`)", email);
        user_account_release(&u);
    }
    if (!rc)
        rc = store_audit_add(st, 0, actor, on ? "operator.grant" : "operator.revoke", email,
                             NULL);
    return finish(st, rc);
}
