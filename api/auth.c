/*
 * auth.c - signing in and out: POST, GET and DELETE /api/v1/session.
 *
 * Login answers every failure the same way (401 "invalid_credentials"),
 * whether the address is unknown, the password wrong or the account
 * disabled, and an unknown address still costs one Argon2id verification
 * against a dummy hash, so neither the answer nor its timing tells which
 * addresses have accounts. Throttling is checked before the password is:
 * a locked-out account is refused even with the right password, so
 * guessing cannot continue at any speed. Argon2id runs at most
 * env->hash_max at a time (64 MiB each), so a login flood queues instead
 * of exhausting memory.
 *
 * Every login and failed login is audited: once per tenant the account
 * belongs to (so each tenant's admins see it), or once without a tenant
 * for addresses without an account. The password is never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/handlers.h"
#include "api/json.h"
#include "lib/log.h"
#include "storage/audit.h"
#include "storage/sessions.h"
#include "storage/users.h"
#include "lib/banned.h"

/* ---- bounded hashing ---- */

static void hash_enter(struct api_env *env)
{
    pthread_mutex_lock(&env->hash_lock);
    while (env->hash_running >= env->hash_max)
        pthread_cond_wait(&env->hash_cond, &env->hash_lock);
    env->hash_running++;
    pthread_mutex_unlock(&env->hash_lock);
}

static void hash_leave(struct api_env *env)
{
    pthread_mutex_lock(&env->hash_lock);
    env->hash_running--;
    pthread_cond_signal(&env->hash_cond);
    pthread_mutex_unlock(&env->hash_lock);
}

static bool verify(struct api_env *env, const char *hash, const char *password)
{
    hash_enter(env);
    bool ok = user_password_verify(hash && *hash ? hash : env->dummy_hash, password);
    hash_leave(env);
    return ok && hash && *hash;
}

/* ---- audit ---- */

/* One audit row per tenant of user_id (or one without a tenant). */
static void audit_login(struct api_call *c, uint32_t user_id, const char *email,
                        const char *action, const char *reason)
{
    struct user_memberships list = { 0 };
    const char *pairs[] = { "address", c->req->client_addr, "reason", reason, NULL };
    char *detail = store_audit_detail(pairs);
    enum dmarcd_err rc = user_id ? user_memberships(c->st, user_id, &list) : DMARCD_OK;
    if (!rc && list.count == 0)
        rc = store_audit_add(c->st, 0, email, action, email, detail);
    for (size_t i = 0; !rc && i < list.count; i++)
        rc = store_audit_add(c->st, list.items[i].tenant_id, email, action, email, detail);
    if (rc) {
        c->store_rc = rc;
        log_warn("api: audit row not written", LOG_STR("action", action), LOG_ERR(rc));
    }
    user_memberships_release(&list);
    free(detail);
}

enum dmarcd_err api_tenants_json(struct api_call *c, uint32_t user_id, json_t **out)
{
    struct user_memberships list;
    *out = NULL;
    enum dmarcd_err rc = user_memberships(c->st, user_id, &list);
    if (rc)
        return rc;
    json_t *arr = json_array();
    for (size_t i = 0; i < list.count; i++)
        json_array_append_new(arr, json_pack("{s:o,s:s}", "name", api_jstr(list.items[i].tenant),
                                             "role", user_role_name(list.items[i].role)));
    user_memberships_release(&list);
    *out = arr;
    return DMARCD_OK;
}

/* ---- login ---- */

static void refuse_login(struct api_call *c, const char *email, uint32_t user_id,
                         const char *reason)
{
    enum dmarcd_err rc = login_throttle_fail(c->st, email, c->req->client_addr, &c->env->login);
    if (rc)
        c->store_rc = rc;
    audit_login(c, user_id, email ? email : "(invalid address)", "login.failed", reason);
    log_info("api: login refused", LOG_STR("reason", reason), LOG_STR("addr", c->req->client_addr));
    api_reply_error(c, 401, "invalid_credentials", "wrong e-mail address or password");
}

static bool throttled(struct api_call *c, const char *email)
{
    unsigned retry = 0;
    char secs[24];
    enum dmarcd_err rc = login_throttle_check(c->st, email, c->req->client_addr, &c->env->login,
                                              &retry);
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return true;
    }
    if (!retry)
        return false;
    snprintf(secs, sizeof(secs), "%u", retry);
    api_response_header(c->resp, "Retry-After", secs);
    log_warn("api: login throttled", LOG_STR("addr", c->req->client_addr),
             LOG_UINT("retry_after_s", retry));
    api_reply_error(c, 429, "throttled", "too many failed sign-ins: wait and try again");
    return true;
}

static void start_session(struct api_call *c, const struct user_account *u, const char *password)
{
    struct session_secrets sec;
    char cookie[256], hash[USER_HASH_MAX];
    json_t *tenants = NULL;
    enum dmarcd_err rc = login_throttle_clear(c->st, u->email);
    if (!rc && user_password_needs_rehash(u->password_hash)) {
        hash_enter(c->env);
        enum dmarcd_err hrc = user_password_hash(password, hash);
        hash_leave(c->env);
        if (!hrc)
            rc = user_rehash(c->st, u->id, hash);
        sodium_memzero(hash, sizeof(hash));
    }
    if (!rc)
        rc = session_create(c->st, u->id, c->req->client_addr, c->env->session_ttl_s, &sec);
    if (!rc)
        rc = user_touch_login(c->st, u->id);
    if (!rc)
        rc = api_tenants_json(c, u->id, &tenants);
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return;
    }
    audit_login(c, u->id, u->email, "login", NULL);
    snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; Max-Age=%u; HttpOnly; Secure; SameSite=Strict",
             API_SESSION_COOKIE, sec.id, c->env->session_ttl_s);
    api_response_header(c->resp, "Set-Cookie", cookie);
    sodium_memzero(cookie, sizeof(cookie));
    api_reply_json(c, 201, json_pack("{s:s,s:{s:I,s:o,s:b},s:o,s:I,s:I}", "csrf_token", sec.csrf,
                                     "user", "id", (json_int_t)u->id, "email", api_jstr(u->email),
                                     "operator", u->is_operator, "tenants", tenants,
                                     "expires_in", (json_int_t)c->env->session_ttl_s,
                                     "idle_timeout", (json_int_t)c->env->session_idle_s));
    sodium_memzero(&sec, sizeof(sec));
    log_info("api: login", LOG_UINT("user", u->id), LOG_STR("addr", c->req->client_addr));
}

void api_h_login(struct api_call *c)
{
    struct strbuf email, why;
    struct user_account u;
    memset(&u, 0, sizeof(u));
    json_t *body = api_body_object(c);
    if (!body || !api_body_keys(c, body, "email,password,totp"))
        goto out_body;
    const char *addr = api_body_str(body, "email"), *pw = api_body_str(body, "password");
    if (!addr || !pw) {
        api_reply_error(c, 400, "invalid_request", "email and password are required");
        goto out_body;
    }
    strbuf_init(&email, 0);
    strbuf_init(&why, 0);
    bool valid = !user_email_normalise(addr, &email, &why) && strlen(pw) <= USER_PASSWORD_MAX;
    if (throttled(c, valid ? email.buf : NULL))
        goto out;
    enum dmarcd_err rc = valid ? user_find(c->st, email.buf, &u) : DMARCD_E_NOT_FOUND;
    if (rc && rc != DMARCD_E_NOT_FOUND) {
        api_reply_store_error(c, rc, NULL);
        goto out;
    }
    bool ok = verify(c->env, rc ? NULL : u.password_hash, valid ? pw : "");
    if (!ok || !u.active)
        refuse_login(c, valid ? email.buf : NULL, rc ? 0 : u.id,
                     rc ? "unknown account" : !ok ? "wrong password" : "account disabled");
    else
        start_session(c, &u, pw);
out:
    user_account_release(&u);
    strbuf_release(&email);
    strbuf_release(&why);
out_body:
    api_body_wipe(body, "password");
    json_decref(body);
}

/* ---- who am I, logout ---- */

void api_h_whoami(struct api_call *c)
{
    json_t *tenants = NULL;
    enum dmarcd_err rc = api_tenants_json(c, c->who.user_id, &tenants);
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return;
    }
    json_t *obj = json_pack("{s:{s:I,s:o,s:b},s:s,s:o}", "user", "id", (json_int_t)c->who.user_id,
                            "email", api_jstr(c->who.email), "operator", c->who.is_operator,
                            "auth", c->auth == API_AUTH_TOKEN ? "token" : "session", "tenants",
                            tenants);
    if (c->auth == API_AUTH_TOKEN)
        json_object_set_new(obj, "token",
                            json_pack("{s:I,s:o,s:s,s:s}", "id", (json_int_t)c->who.token_id,
                                      "tenant", api_jstr(c->who.tenant), "role",
                                      user_role_name(c->who.role), "scope",
                                      c->who.write ? "write" : "read"));
    api_reply_json(c, 200, obj);
}

void api_h_logout(struct api_call *c)
{
    char cookie[128];
    enum dmarcd_err rc = session_end(c->st, c->session_id);
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return;
    }
    snprintf(cookie, sizeof(cookie), "%s=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict",
             API_SESSION_COOKIE);
    api_response_header(c->resp, "Set-Cookie", cookie);
    api_reply_empty(c);
}
