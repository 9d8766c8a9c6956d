/*
 * h_admin.c - changes and administration within the caller's tenant:
 * uploads, API tokens, members, settings, the audit log; and the platform
 * operator's tenant list.
 *
 * The route table decides who may call each handler; what is left here are
 * the rules that depend on the target: a member below admin sees and
 * revokes only their own tokens, only an owner may make or unmake owners,
 * and storage refuses to leave a tenant without one. Every change is
 * audited by storage in the same transaction as the change, with the
 * caller as actor ("alice@example.com", or "... (token 12)" for a token).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/handlers.h"
#include "api/json.h"
#include "api/pool.h"
#include "lib/log.h"
#include "storage/audit.h"
#include "storage/forensic.h"
#include "storage/inbox.h"
#include "storage/portal.h"
#include "storage/sessions.h"
#include "storage/tenants.h"
#include "storage/users.h"
#include "lib/banned.h"

#define TOKEN_DEFAULT_DAYS 90
#define TOKEN_API_MAX_DAYS 365

static json_t *list_reply(json_t *items, const char *next)
{
    return json_pack("{s:o,s:o}", "items", items, "next_cursor", api_jstr(next));
}

/* ---- uploads ---- */

static enum dmarcd_err store_upload(struct api_call *c, uint64_t *id, bool *dup)
{
    char origin[INBOX_ORIGIN_MAX + 1], target[48], bytes[24];
    snprintf(origin, sizeof(origin), "upload by %.160s from %.64s", c->actor, c->req->client_addr);
    enum dmarcd_err rc = store_begin(c->st);
    if (!rc)
        rc = inbox_put(c->st, c->req->body, c->req->body_len, INBOX_SOURCE_UPLOAD, origin,
                       c->tenant_id, id, dup);
    if (!rc) {
        snprintf(target, sizeof(target), "inbox %llu", (unsigned long long)*id);
        snprintf(bytes, sizeof(bytes), "%zu", c->req->body_len);
        const char *pairs[] = { "bytes", bytes, "duplicate", *dup ? "true" : "false", NULL };
        char *detail = store_audit_detail(pairs);
        rc = store_audit_add(c->st, c->tenant_id, c->actor, "upload", target, detail);
        free(detail);
    }
    if (!rc)
        rc = store_commit(c->st);
    if (rc)
        store_rollback(c->st);
    return rc;
}

void api_h_upload(struct api_call *c)
{
    uint64_t id = 0;
    bool dup = false, queued = false;
    struct queue *q = NULL;
    if (c->req->body_len == 0) {
        api_reply_error(c, 400, "invalid_request", "the body is the report file or message");
        return;
    }
    if (c->req->body_len > c->env->upload_max) {
        api_reply_error(c, 413, "too_big", "the upload is larger than the limit");
        return;
    }
    enum dmarcd_err rc = store_upload(c, &id, &dup);
    if (rc == DMARCD_E_TOO_BIG) {
        api_reply_error(c, 413, "too_big", "the upload is larger than the limit");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return;
    }
    /* Committed: from here the upload is safe. A job Redis did not take is
     * found again by the reconciler, so a queue failure is not the client's. */
    if (!dup) {
        rc = api_pool_queue(c->env->pool, c->slot, &q);
        if (!rc)
            rc = queue_push(q, id);
        queued = !rc;
        if (rc)
            log_warn("api: upload stored but not queued; the reconciler will queue it",
                     LOG_UINT("inbox", id), LOG_ERR(rc));
    }
    api_reply_json(c, 202, json_pack("{s:I,s:b,s:b}", "inbox_id", (json_int_t)id, "duplicate",
                                     dup, "queued", queued));
}

/* ---- tokens ---- */

static json_t *token_json(const struct token_info *t)
{
    return json_pack("{s:I,s:o,s:o,s:s,s:s,s:s,s:o,s:o,s:o,s:s}", "id", (json_int_t)t->id,
                     "user", api_jstr(t->email), "name", api_jstr(t->name), "prefix", t->prefix,
                     "scope", t->write ? "write" : "read", "created_at", t->created_at,
                     "expires_at", api_jstr_or_null(t->expires_at), "last_used_at",
                     api_jstr_or_null(t->last_used_at), "revoked_at",
                     api_jstr_or_null(t->revoked_at),
                     "state", t->revoked_at[0] ? "revoked" : t->expired ? "expired" : "active");
}

void api_h_tokens_list(struct api_call *c)
{
    struct token_infos list;
    uint32_t only = c->role >= USER_ROLE_ADMIN ? 0 : c->who.user_id;
    enum dmarcd_err rc = token_list(c->st, c->tenant_id, only, &list);
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < list.count; i++)
        json_array_append_new(items, token_json(&list.items[i]));
    token_infos_release(&list);
    api_reply_json(c, 200, list_reply(items, NULL));
}

void api_h_tokens_create(struct api_call *c)
{
    struct token_new tok;
    struct strbuf why;
    json_t *body = api_body_object(c);
    if (!body || !api_body_keys(c, body, "name,scope,#expires_days")) {
        json_decref(body);
        return;
    }
    const char *name = api_body_str(body, "name"), *scope = api_body_str(body, "scope");
    json_t *days_j = json_object_get(body, "expires_days");
    json_int_t days = days_j ? json_integer_value(days_j) : TOKEN_DEFAULT_DAYS;
    strbuf_init(&why, 0);
    if (scope && strcmp(scope, "read") != 0 && strcmp(scope, "write") != 0) {
        api_reply_error(c, 400, "invalid_request", "scope is read or write");
    } else if (days < 1 || days > TOKEN_API_MAX_DAYS) {
        api_reply_error(c, 400, "invalid_request", "expires_days is 1 to 365");
    } else {
        bool write = scope && strcmp(scope, "write") == 0;
        enum dmarcd_err rc = token_create(c->st, c->tenant_id, c->who.user_id, name, write,
                                          (unsigned)days, c->actor, &tok, &why);
        if (rc) {
            api_reply_store_error(c, rc, &why);
        } else {
            api_reply_json(c, 201, json_pack("{s:I,s:s,s:s,s:s,s:I}", "id", (json_int_t)tok.id,
                                             "token", tok.token, "prefix", tok.prefix, "scope",
                                             write ? "write" : "read", "expires_days", days));
            sodium_memzero(&tok, sizeof(tok));
        }
    }
    strbuf_release(&why);
    json_decref(body);
}

void api_h_tokens_revoke(struct api_call *c)
{
    uint64_t id = 0;
    if (!api_parse_id(c->path_arg, &id)) {
        api_reply_error(c, 404, "not_found", "no such token");
        return;
    }
    uint32_t owner = c->role >= USER_ROLE_ADMIN ? 0 : c->who.user_id;
    enum dmarcd_err rc = token_revoke(c->st, c->tenant_id, id, owner, c->actor);
    if (rc)
        api_reply_store_error(c, rc, NULL);
    else
        api_reply_empty(c);
}

/* ---- users ---- */

static json_t *member_json(const struct user_member *m)
{
    return json_pack("{s:I,s:o,s:s,s:s,s:s,s:o}", "id", (json_int_t)m->id, "email",
                     api_jstr(m->email), "role", user_role_name(m->role), "status",
                     m->active ? "active" : "disabled", "joined_at", m->created_at,
                     "last_login_at", api_jstr_or_null(m->last_login_at));
}

void api_h_users_list(struct api_call *c)
{
    struct user_members list;
    enum dmarcd_err rc = user_list(c->st, c->tenant_id, &list);
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < list.count; i++)
        json_array_append_new(items, member_json(&list.items[i]));
    user_members_release(&list);
    api_reply_json(c, 200, list_reply(items, NULL));
}

/* Only an owner makes, changes or removes owners. */
static bool may_touch(struct api_call *c, enum user_role target)
{
    if (target == USER_ROLE_OWNER && c->role != USER_ROLE_OWNER) {
        api_reply_error(c, 403, "forbidden", "only an owner may make, change or remove owners");
        return false;
    }
    return true;
}

/* The password of a new account, checked and hashed; false after a reply. */
static bool hash_password(struct api_call *c, const char *password, const char *email,
                          char hash[USER_HASH_MAX])
{
    struct strbuf why;
    strbuf_init(&why, 0);
    bool ok = !user_password_acceptable(password, email, &why);
    if (!ok)
        api_reply_error(c, 400, "weak_password", why.buf);
    strbuf_release(&why);
    if (ok && user_password_hash(password, hash)) {
        api_reply_error(c, 500, "internal", "internal error");
        ok = false;
    }
    return ok;
}

static void add_member(struct api_call *c, const char *email, enum user_role role,
                       const char *password)
{
    struct user_added added;
    struct strbuf why;
    char hash[USER_HASH_MAX] = "";
    if (password && !hash_password(c, password, email, hash))
        return;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = user_add(c->st, c->tenant_id, email, role, hash, c->actor, &added, &why);
    sodium_memzero(hash, sizeof(hash));
    if (rc)
        api_reply_store_error(c, rc, &why);
    else if (added.already_member)
        api_reply_error(c, 409, "conflict", "already a member of this tenant");
    else
        api_reply_json(c, 201, json_pack("{s:I,s:s,s:s,s:b}", "id", (json_int_t)added.user_id,
                                         "email", email, "role", user_role_name(role),
                                         "account_created", added.created));
    strbuf_release(&why);
}

void api_h_users_add(struct api_call *c)
{
    struct strbuf email, why;
    enum user_role role;
    json_t *body = api_body_object(c);
    if (!body || !api_body_keys(c, body, "email,role,password")) {
        json_decref(body);
        return;
    }
    strbuf_init(&email, 0);
    strbuf_init(&why, 0);
    const char *addr = api_body_str(body, "email"), *role_text = api_body_str(body, "role");
    if (!addr || !role_text || !user_role_parse(role_text, &role))
        api_reply_error(c, 400, "invalid_request",
                        "email and role (owner, admin, analyst or viewer) are required");
    else if (user_email_normalise(addr, &email, &why))
        api_reply_error(c, 400, "invalid_request", why.buf);
    else if (may_touch(c, role))
        add_member(c, email.buf, role, api_body_str(body, "password"));
    api_body_wipe(body, "password");
    json_decref(body);
    strbuf_release(&email);
    strbuf_release(&why);
}

/* The member named by the path; false after a reply (404, or 403 for owners). */
static bool target_member(struct api_call *c, uint32_t *user_id)
{
    uint64_t id = 0;
    enum user_role current;
    if (!api_parse_id(c->path_arg, &id) || id > UINT32_MAX) {
        api_reply_error(c, 404, "not_found", "no such member");
        return false;
    }
    enum dmarcd_err rc = user_role_get(c->st, c->tenant_id, (uint32_t)id, &current);
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return false;
    }
    *user_id = (uint32_t)id;
    return may_touch(c, current);
}

static void reply_member_change(struct api_call *c, enum dmarcd_err rc, const struct strbuf *why,
                                json_t *ok)
{
    if (rc == DMARCD_E_INVALID)
        api_reply_error(c, 409, "conflict", why->len ? why->buf : "refused");
    else if (rc)
        api_reply_store_error(c, rc, why);
    else if (ok)
        api_reply_json(c, 200, ok);
    else
        api_reply_empty(c);
    if (rc)
        json_decref(ok);
}

void api_h_users_update(struct api_call *c)
{
    uint32_t user_id = 0;
    enum user_role role;
    struct strbuf why;
    json_t *body = api_body_object(c);
    if (!body || !api_body_keys(c, body, "role")) {
        json_decref(body);
        return;
    }
    const char *role_text = api_body_str(body, "role");
    strbuf_init(&why, 0);
    if (!role_text || !user_role_parse(role_text, &role)) {
        api_reply_error(c, 400, "invalid_request", "role is owner, admin, analyst or viewer");
    } else if (target_member(c, &user_id) && may_touch(c, role)) {
        enum dmarcd_err rc = user_set_role(c->st, c->tenant_id, user_id, role, c->actor, &why);
        reply_member_change(c, rc, &why, json_pack("{s:I,s:s}", "id", (json_int_t)user_id,
                                                   "role", user_role_name(role)));
    }
    strbuf_release(&why);
    json_decref(body);
}

void api_h_users_remove(struct api_call *c)
{
    uint32_t user_id = 0;
    struct strbuf why;
    if (!target_member(c, &user_id))
        return;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = user_remove(c->st, c->tenant_id, user_id, c->actor, &why);
    reply_member_change(c, rc, &why, NULL);
    strbuf_release(&why);
}

/* ---- settings ---- */

static void reply_settings(struct api_call *c)
{
    struct portal_settings s;
    enum dmarcd_err rc = portal_read_settings(c->st, c->tenant_id, &s);
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return;
    }
    json_t *pgp = s.pgp_fingerprint
                      ? json_pack("{s:o,s:o,s:o}", "fingerprint", api_jstr(s.pgp_fingerprint),
                                  "expires_at", api_jstr_or_null(s.pgp_expires_at), "format",
                                  api_jstr(s.pgp_format))
                      : json_null();
    api_reply_json(c, 200, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "tenant", api_jstr(s.name),
                                     "tier", api_jstr(s.tier), "status", api_jstr(s.status),
                                     "forensic_policy", api_jstr(s.forensic_policy),
                                     "forensic_redaction", api_jstr(s.forensic_redaction),
                                     "pgp_key", pgp, "created_at", s.created_at));
    portal_settings_release(&s);
}

void api_h_settings_get(struct api_call *c)
{
    reply_settings(c);
}

/*
 * The failure-report policy, the tenant's OpenPGP key (ASCII armor in
 * pgp_key; checked before anything changes), the format of OpenPGP blobs
 * and the redaction of clear metadata, through storage/forensic.h: the one
 * place that changes them, for the command line too. Applies to new
 * reports; existing ones follow with `dmarcd tenant policy --apply-existing`.
 */
void api_h_settings_put(struct api_call *c)
{
    struct forensic_settings in = { .pgp_armor = -1 };
    struct forensic_settings_result res;
    struct strbuf why;
    memset(&res, 0, sizeof(res));
    json_t *body = api_body_object(c);
    if (!body || !api_body_keys(c, body, "forensic_policy,pgp_key,pgp_format,forensic_redaction,"
                                         "tier")) {
        json_decref(body);
        return;
    }
    const char *format = api_body_str(body, "pgp_format");
    in.policy = api_body_str(body, "forensic_policy");
    in.pgp_key = api_body_str(body, "pgp_key");
    in.pgp_key_len = in.pgp_key ? strlen(in.pgp_key) : 0;
    in.redaction = api_body_str(body, "forensic_redaction");
    strbuf_init(&why, 0);
    if (json_object_get(body, "tier")) {
        api_reply_error(c, 400, "read_only", "the tier is set by the platform operator");
    } else if (!in.policy) {
        api_reply_error(c, 400, "invalid_request", "forensic_policy is required");
    } else if (format && strcmp(format, "armor") != 0 && strcmp(format, "binary") != 0) {
        api_reply_error(c, 400, "invalid_request", "pgp_format is armor or binary");
    } else {
        if (format)
            in.pgp_armor = strcmp(format, "armor") == 0;
        enum dmarcd_err rc = forensic_set_policy(c->st, c->tenant, &in, c->actor, &res, &why);
        if (rc)
            api_reply_store_error(c, rc, &why);
        else
            reply_settings(c);
    }
    forensic_settings_result_release(&res);
    strbuf_release(&why);
    json_decref(body);
}

/* ---- audit log ---- */

void api_h_audit(struct api_call *c)
{
    struct portal_audit_args a = { 0 };
    struct portal_audit page;
    struct strbuf why;
    char fb[11], tb[11];
    if (!api_query_range(c, 0, &a.from, &a.to, fb, tb) ||
        !api_query_uint(c, "limit", 1, QUERY_PAGE_MAX, 0, &a.limit))
        return;
    a.action = api_query(c, "action");
    a.cursor = api_query(c, "cursor");
    strbuf_init(&why, 0);
    enum dmarcd_err rc = portal_read_audit(c->st, c->tenant_id, &a, &page, &why);
    if (rc) {
        api_reply_store_error(c, rc, &why);
        strbuf_release(&why);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < page.count; i++) {
        const struct portal_audit_entry *e = &page.items[i];
        json_array_append_new(items, json_pack("{s:I,s:s,s:o,s:o,s:o,s:o}", "id",
                                               (json_int_t)e->id, "at", e->at, "actor",
                                               api_jstr(e->actor), "action", api_jstr(e->action),
                                               "target", api_jstr(e->target), "detail",
                                               api_jraw(e->detail)));
    }
    api_reply_json(c, 200, list_reply(items, page.next_cursor));
    portal_audit_release(&page);
    strbuf_release(&why);
}

/* ---- operator ---- */

/* "YYYY-MM-DD HH:MM:SS" to RFC 3339; null when empty. */
static json_t *db_time(const char *t)
{
    char out[24];
    if (!t || strlen(t) != 19)
        return json_null();
    memcpy(out, t, 19);
    out[10] = 'T';
    out[19] = 'Z';
    out[20] = '\0';
    return json_string(out);
}

void api_h_operator_tenants(struct api_call *c)
{
    struct tenant_infos list;
    enum dmarcd_err rc = tenant_list(c->st, &list);
    if (rc) {
        api_reply_store_error(c, rc, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < list.count; i++) {
        const struct tenant_info *t = &list.items[i];
        json_array_append_new(
            items, json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", (json_int_t)t->id, "name",
                             api_jstr(t->name), "tier", api_jstr(t->tier), "status",
                             api_jstr(t->status), "forensic_policy", api_jstr(t->forensic_policy),
                             "domains", api_juint(t->domains), "created_at",
                             db_time(t->created_at), "cancelled_at", db_time(t->cancelled_at)));
    }
    tenant_infos_release(&list);
    api_reply_json(c, 200, list_reply(items, NULL));
}
