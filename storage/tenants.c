/*
 * tenants.c - tenants, their domains, and domain routing (see tenants.h).
 *
 * Uniqueness is enforced by the database's unique keys, not by checking
 * first: two operators adding the same domain at once get one success and
 * one clear refusal, never two owners. Lookups that decide a change lock
 * the tenant row (FOR UPDATE) so a cancel cannot slip between the check and
 * the change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/audit.h"
#include "storage/stmt.h"
#include "storage/tenants.h"
#include "lib/banned.h"

static const char *const TIERS[] = { "basic", "basic-plus", "advanced", "enterprise", NULL };

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

/* ---- validation ---- */

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool tenant_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > TENANT_NAME_MAX || !is_lower_alnum(name[0]))
        return false;
    for (size_t i = 1; i < n; i++) {
        if (!is_lower_alnum(name[i]) && name[i] != '-')
            return false;
    }
    return true;
}

bool tenant_tier_valid(const char *tier)
{
    for (size_t i = 0; tier && TIERS[i]; i++) {
        if (strcmp(tier, TIERS[i]) == 0)
            return true;
    }
    return false;
}

/* Checks the lower-cased labels in d[0..n): returns NULL or the problem. */
static const char *domain_problem(const char *d, size_t n)
{
    size_t labels = 0, start = 0;
    bool tld_digits = true;
    if (n == 0 || n > TENANT_DOMAIN_MAX)
        return "a domain has 1 to 253 characters";
    for (size_t i = 0; i <= n; i++) {
        if (i < n && d[i] != '.') {
            if (!is_lower_alnum(d[i]) && d[i] != '-')
                return "letters, digits, '-' and '.' only (IDNs in xn-- form)";
            continue;
        }
        size_t len = i - start;
        if (len == 0 || len > 63)
            return "each label has 1 to 63 characters";
        if (d[start] == '-' || d[i - 1] == '-')
            return "a label cannot start or end with '-'";
        tld_digits = true;
        for (size_t j = start; j < i; j++)
            tld_digits = tld_digits && d[j] >= '0' && d[j] <= '9';
        labels++;
        start = i + 1;
    }
    if (labels < 2)
        return "at least two labels (example.com)";
    if (tld_digits)
        return "the last label cannot be numeric (an IP address is not a domain)";
    return NULL;
}

enum dmarcd_err tenant_domain_normalise(const char *domain, struct strbuf *out,
                                        struct strbuf *why)
{
    size_t n = domain ? strlen(domain) : 0;
    if (n && domain[n - 1] == '.')
        n--;
    strbuf_reset(out);
    for (size_t i = 0; i < n && i <= TENANT_DOMAIN_MAX; i++) {
        char c = domain[i];
        (void)strbuf_addch(out, c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
    }
    const char *problem = n > TENANT_DOMAIN_MAX ? "a domain has 1 to 253 characters"
                                                : domain_problem(out->buf, out->len);
    if (!problem)
        return DMARCD_OK;
    set_why(why, "invalid domain \"%.80s\": %s", domain ? domain : "", problem);
    strbuf_reset(out);
    return DMARCD_E_INVALID;
}

static enum dmarcd_err check_name(const char *name, struct strbuf *why)
{
    if (tenant_name_valid(name))
        return DMARCD_OK;
    set_why(why, "invalid tenant name \"%.80s\": 1 to 63 characters of a-z, 0-9 and '-', "
                 "starting with a letter or digit", name ? name : "");
    return DMARCD_E_INVALID;
}

/* ---- lookups ---- */

/* The tenant's id and status, locking its row until the transaction ends. */
static enum dmarcd_err find_tenant(struct store *st, const char *name, uint32_t *id,
                                   char **status, struct strbuf *why)
{
    struct store_stmt *s = NULL;
    bool row = false;
    enum dmarcd_err rc = store_stmt_prepare(
        st, "SELECT id, status FROM tenants WHERE name = ? FOR UPDATE", &s);
    if (rc)
        goto out;
    store_bind_str(s, 0, name);
    rc = store_stmt_exec(s);
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && !row) {
        set_why(why, "no tenant named %s (see `dmarcd tenant list`)", name);
        rc = DMARCD_E_NOT_FOUND;
    }
    if (!rc) {
        *id = (uint32_t)store_col_u64(s, 0);
        *status = store_col_dup(s, 1);
    }
out:
    store_stmt_free(s);
    return rc;
}

/* ---- tenants ---- */

static enum dmarcd_err insert_tenant(struct store *st, const char *name, const char *tier,
                                     uint32_t *id, struct strbuf *why)
{
    struct store_stmt *s = NULL;
    bool dup = false;
    enum dmarcd_err rc = store_stmt_prepare(
        st, "INSERT INTO tenants (name, tier, created_at) VALUES (?, ?, UTC_TIMESTAMP())", &s);
    if (rc)
        goto out;
    store_bind_str(s, 0, name);
    store_bind_str(s, 1, tier);
    rc = store_stmt_exec_dup(s, &dup);
    if (!rc && dup) {
        set_why(why, "tenant %s already exists", name);
        rc = DMARCD_E_INVALID;
    }
    if (!rc)
        *id = (uint32_t)store_stmt_insert_id(s);
out:
    store_stmt_free(s);
    return rc;
}

enum dmarcd_err tenant_add(struct store *st, const char *name, const char *tier,
                           const char *actor, uint32_t *id_out, struct strbuf *why)
{
    uint32_t id = 0;
    char *detail = NULL;
    if (!tier)
        tier = "basic";
    enum dmarcd_err rc = check_name(name, why);
    if (rc)
        return rc;
    if (!tenant_tier_valid(tier)) {
        set_why(why, "invalid tier \"%.40s\": basic, basic-plus, advanced or enterprise", tier);
        return DMARCD_E_INVALID;
    }
    rc = store_begin(st);
    if (!rc)
        rc = insert_tenant(st, name, tier, &id, why);
    if (!rc) {
        const char *pairs[] = { "tier", tier, NULL };
        detail = store_audit_detail(pairs);
        rc = store_audit_add(st, id, actor, "tenant.add", name, detail);
    }
    if (!rc)
        rc = store_commit(st);
    if (rc)
        store_rollback(st);
    else if (id_out)
        *id_out = id;
    free(detail);
    return rc;
}

static void tenant_info_release(struct tenant_info *t)
{
    free(t->name);
    free(t->tier);
    free(t->status);
    free(t->forensic_policy);
    free(t->created_at);
    free(t->cancelled_at);
}

void tenant_infos_release(struct tenant_infos *list)
{
    for (size_t i = 0; i < list->count; i++)
        tenant_info_release(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof(*list));
}

enum dmarcd_err tenant_list(struct store *st, struct tenant_infos *out)
{
    struct store_stmt *s = NULL;
    bool row;
    memset(out, 0, sizeof(*out));
    enum dmarcd_err rc = store_stmt_prepare(
        st,
        "SELECT t.id, t.name, t.tier, t.status, t.forensic_policy, t.created_at,"
        " t.cancelled_at, (SELECT COUNT(*) FROM tenant_domains d WHERE d.tenant_id = t.id)"
        " FROM tenants t ORDER BY t.name",
        &s);
    if (!rc)
        rc = store_stmt_exec(s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        out->items = xreallocarray(out->items, out->count + 1, sizeof(*out->items));
        struct tenant_info *t = &out->items[out->count++];
        t->id = (uint32_t)store_col_u64(s, 0);
        t->name = store_col_dup(s, 1);
        t->tier = store_col_dup(s, 2);
        t->status = store_col_dup(s, 3);
        t->forensic_policy = store_col_dup(s, 4);
        t->created_at = store_col_dup(s, 5);
        t->cancelled_at = store_col_dup(s, 6);
        t->domains = store_col_u64(s, 7);
    }
    store_stmt_free(s);
    if (rc)
        tenant_infos_release(out);
    return rc;
}

static enum dmarcd_err mark_cancelled(struct store *st, uint32_t id)
{
    struct store_stmt *s = NULL;
    enum dmarcd_err rc = store_stmt_prepare(
        st, "UPDATE tenants SET status = 'cancelled', cancelled_at = UTC_TIMESTAMP() WHERE id = ?",
        &s);
    if (!rc) {
        store_bind_u64(s, 0, id);
        rc = store_stmt_exec(s);
    }
    store_stmt_free(s);
    return rc;
}

enum dmarcd_err tenant_cancel(struct store *st, const char *name, const char *actor,
                              bool *already, struct strbuf *why)
{
    uint32_t id = 0;
    char *status = NULL;
    *already = false;
    enum dmarcd_err rc = check_name(name, why);
    if (rc)
        return rc;
    rc = store_begin(st);
    if (!rc)
        rc = find_tenant(st, name, &id, &status, why);
    if (!rc && strcmp(status, "cancelled") == 0)
        *already = true;
    if (!rc && !*already)
        rc = mark_cancelled(st, id);
    if (!rc && !*already)
        rc = store_audit_add(st, id, actor, "tenant.cancel", name, NULL);
    if (!rc)
        rc = store_commit(st);
    if (rc)
        store_rollback(st);
    free(status);
    return rc;
}

/* ---- domains ---- */

/* After a duplicate: says who owns the domain. */
static void explain_owner(struct store *st, const char *tenant, const char *domain,
                          struct strbuf *why)
{
    struct store_stmt *s = NULL;
    bool row = false;
    if (store_stmt_prepare(st,
                           "SELECT t.name FROM tenant_domains d JOIN tenants t"
                           " ON t.id = d.tenant_id WHERE d.domain = ?",
                           &s) == DMARCD_OK) {
        store_bind_str(s, 0, domain);
        if (store_stmt_exec(s) == DMARCD_OK && store_stmt_fetch(s, &row) == DMARCD_OK && row) {
            const char *owner = store_col_str(s, 0);
            if (owner && strcmp(owner, tenant) == 0)
                set_why(why, "domain %s already belongs to tenant %s", domain, tenant);
            else
                set_why(why, "domain %s belongs to another tenant (%s): a domain belongs to "
                             "exactly one tenant", domain, owner ? owner : "?");
        }
    }
    if (!row)
        set_why(why, "domain %s is already registered", domain);
    store_stmt_free(s);
}

static enum dmarcd_err insert_domain(struct store *st, uint32_t tenant_id, const char *tenant,
                                     const char *domain, struct strbuf *why)
{
    struct store_stmt *s = NULL;
    bool dup = false;
    enum dmarcd_err rc = store_stmt_prepare(
        st, "INSERT INTO tenant_domains (tenant_id, domain, created_at)"
            " VALUES (?, ?, UTC_TIMESTAMP())", &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant_id);
        store_bind_str(s, 1, domain);
        rc = store_stmt_exec_dup(s, &dup);
    }
    store_stmt_free(s);
    if (!rc && dup) {
        explain_owner(st, tenant, domain, why);
        rc = DMARCD_E_INVALID;
    }
    return rc;
}

enum dmarcd_err tenant_domain_add(struct store *st, const char *tenant, const char *domain,
                                  const char *actor, struct strbuf *added, struct strbuf *why)
{
    struct strbuf norm;
    uint32_t id = 0;
    char *status = NULL;
    strbuf_init(&norm, 0);
    enum dmarcd_err rc = check_name(tenant, why);
    if (!rc)
        rc = tenant_domain_normalise(domain, &norm, why);
    if (rc)
        goto out;
    rc = store_begin(st);
    if (!rc)
        rc = find_tenant(st, tenant, &id, &status, why);
    if (!rc && strcmp(status, "active") != 0) {
        set_why(why, "tenant %s is cancelled: no domains can be added", tenant);
        rc = DMARCD_E_INVALID;
    }
    if (!rc)
        rc = insert_domain(st, id, tenant, norm.buf, why);
    if (!rc)
        rc = store_audit_add(st, id, actor, "domain.add", norm.buf, NULL);
    if (!rc)
        rc = store_commit(st);
    if (rc)
        store_rollback(st);
    else if (added)
        (void)strbuf_addstr(added, norm.buf);
out:
    free(status);
    strbuf_release(&norm);
    return rc;
}

void tenant_domain_infos_release(struct tenant_domain_infos *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].domain);
        free(list->items[i].tenant);
        free(list->items[i].tenant_status);
        free(list->items[i].created_at);
    }
    free(list->items);
    memset(list, 0, sizeof(*list));
}

static enum dmarcd_err tenant_exists(struct store *st, const char *name, struct strbuf *why)
{
    struct store_stmt *s = NULL;
    bool row = false;
    enum dmarcd_err rc = store_stmt_prepare(st, "SELECT id FROM tenants WHERE name = ?", &s);
    if (!rc) {
        store_bind_str(s, 0, name);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && !row) {
        set_why(why, "no tenant named %s (see `dmarcd tenant list`)", name);
        rc = DMARCD_E_NOT_FOUND;
    }
    store_stmt_free(s);
    return rc;
}

enum dmarcd_err tenant_domain_list(struct store *st, const char *tenant,
                                   struct tenant_domain_infos *out, struct strbuf *why)
{
    struct store_stmt *s = NULL;
    bool row;
    memset(out, 0, sizeof(*out));
    enum dmarcd_err rc = tenant ? check_name(tenant, why) : DMARCD_OK;
    if (!rc && tenant)
        rc = tenant_exists(st, tenant, why);
    if (!rc)
        rc = store_stmt_prepare(st,
                                "SELECT d.domain, t.name, t.status, d.created_at"
                                " FROM tenant_domains d JOIN tenants t ON t.id = d.tenant_id"
                                " WHERE ? IS NULL OR t.name = ? ORDER BY t.name, d.domain",
                                &s);
    if (!rc) {
        store_bind_str(s, 0, tenant);
        store_bind_str(s, 1, tenant);
        rc = store_stmt_exec(s);
    }
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        out->items = xreallocarray(out->items, out->count + 1, sizeof(*out->items));
        struct tenant_domain_info *d = &out->items[out->count++];
        d->domain = store_col_dup(s, 0);
        d->tenant = store_col_dup(s, 1);
        d->tenant_status = store_col_dup(s, 2);
        d->created_at = store_col_dup(s, 3);
    }
    store_stmt_free(s);
    if (rc)
        tenant_domain_infos_release(out);
    return rc;
}

/* ---- routing ---- */

/*
 * The candidates are the domain and each parent with at least two labels
 * (at most 127); one query picks the longest registered one.
 */
static void route_sql(struct strbuf *sql, size_t n)
{
    (void)strbuf_addstr(sql, "SELECT d.tenant_id, t.status FROM tenant_domains d"
                             " JOIN tenants t ON t.id = d.tenant_id WHERE d.domain IN (?");
    for (size_t i = 1; i < n; i++)
        (void)strbuf_addstr(sql, ", ?");
    (void)strbuf_addstr(sql, ") ORDER BY CHAR_LENGTH(d.domain) DESC LIMIT 1");
}

enum dmarcd_err store_route_domain(struct store *st, const char *domain, uint32_t *tenant_id)
{
    struct strbuf norm, sql;
    struct store_stmt *s = NULL;
    const char *cand[TENANT_DOMAIN_MAX / 2 + 1];
    size_t n = 0;
    bool row = false;
    *tenant_id = 0;
    strbuf_init(&norm, 0);
    strbuf_init(&sql, 0);
    enum dmarcd_err rc = tenant_domain_normalise(domain, &norm, NULL);
    if (rc) {
        rc = DMARCD_E_UNKNOWN_DOMAIN;
        goto out;
    }
    cand[n++] = norm.buf;
    for (const char *p = strchr(norm.buf, '.'); p && strchr(p + 1, '.'); p = strchr(p + 1, '.'))
        cand[n++] = p + 1;
    route_sql(&sql, n);
    rc = store_stmt_prepare(st, sql.buf, &s);
    for (size_t i = 0; !rc && i < n; i++)
        store_bind_str(s, (unsigned)i, cand[i]);
    if (!rc)
        rc = store_stmt_exec(s);
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && (!row || strcmp(store_col_str(s, 1), "active") != 0))
        rc = DMARCD_E_UNKNOWN_DOMAIN;
    if (!rc)
        *tenant_id = (uint32_t)store_col_u64(s, 0);
out:
    store_stmt_free(s);
    strbuf_release(&sql);
    strbuf_release(&norm);
    return rc;
}
