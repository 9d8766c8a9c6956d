/*
 * forensic_admin.c - a tenant's failure-report settings: the policy, the
 * OpenPGP key, the armor choice and redaction (forensic_set_policy), and
 * bringing existing reports to the policy (forensic_apply_existing). See
 * forensic.h.
 *
 * A key upload is checked with gpg before any transaction opens (gpg
 * takes tens of milliseconds); the change itself locks the tenant row, so
 * a cancel cannot slip in between. Applying a policy to existing reports
 * works in batches, each its own short transaction, with a keyset cursor:
 * a run cut short is completed by running it again.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/audit.h"
#include "storage/forensic.h"
#include "storage/stmt.h"
#include "storage/tenants.h"
#include "lib/banned.h"

/* Blobs per re-encryption batch, rows per deletion batch. */
#define REENCRYPT_BATCH 50
#define REENCRYPT_BATCH_SQL "50"
#define DELETE_BATCH "1000"
#define DELETE_BATCH_ROWS 1000

static void set_why(struct strbuf *why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
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

void forensic_settings_result_release(struct forensic_settings_result *r)
{
    pgp_key_info_release(&r->key);
}

/* ---- forensic_set_policy ---- */

struct tenant_row {
    uint32_t id;
    char status[16];
    char policy[16];
    char redaction[8];
    bool armor;
    char fingerprint[PGP_FPR_MAX];
    char *pgp_key;                  /* "" when none */
    size_t pgp_key_len;
};

static void copy_col(struct store_stmt *s, unsigned i, char *out, size_t size)
{
    const char *v = store_col_str(s, i);
    snprintf(out, size, "%s", v ? v : "");
}

/* The tenant named name (FOR UPDATE when lock), or NOT_FOUND with why. */
static enum dmarcd_err find_tenant(struct store *st, const char *name, bool lock,
                                   struct tenant_row *t, struct strbuf *why)
{
    struct store_stmt *s = NULL;
    bool row = false;
    memset(t, 0, sizeof(*t));
    enum dmarcd_err rc = store_stmt_prepare(
        st,
        lock ? "SELECT id, status, forensic_policy, forensic_redaction, pgp_format,"
               " pgp_fingerprint, pgp_public_key FROM tenants WHERE name = ? FOR UPDATE"
             : "SELECT id, status, forensic_policy, forensic_redaction, pgp_format,"
               " pgp_fingerprint, pgp_public_key FROM tenants WHERE name = ?",
        &s);
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
    if (!rc) {
        t->id = (uint32_t)store_col_u64(s, 0);
        copy_col(s, 1, t->status, sizeof(t->status));
        copy_col(s, 2, t->policy, sizeof(t->policy));
        copy_col(s, 3, t->redaction, sizeof(t->redaction));
        t->armor = !store_col_str(s, 4) || strcmp(store_col_str(s, 4), "binary") != 0;
        copy_col(s, 5, t->fingerprint, sizeof(t->fingerprint));
        t->pgp_key = store_col_dup(s, 6);
        t->pgp_key_len = store_col_len(s, 6);
    }
    store_stmt_free(s);
    return rc;
}

static void datetime_text(int64_t t, char out[20])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm))
        memcpy(out, "9999-12-31 23:59:59", 20);
}

static enum dmarcd_err update_tenant(struct store *st, uint32_t id, const char *policy,
                                     const char *redaction, bool armor,
                                     const struct pgp_key_info *key)
{
    struct store_stmt *s = NULL;
    char expires[20];
    enum dmarcd_err rc = store_stmt_prepare(
        st,
        key ? "UPDATE tenants SET forensic_policy = ?, forensic_redaction = ?, pgp_format = ?,"
              " pgp_public_key = ?, pgp_fingerprint = ?, pgp_expires_at = ?,"
              " pgp_uploaded_at = UTC_TIMESTAMP() WHERE id = ?"
            : "UPDATE tenants SET forensic_policy = ?, forensic_redaction = ?, pgp_format = ?"
              " WHERE id = ?",
        &s);
    if (rc)
        return rc;
    store_bind_str(s, 0, policy);
    store_bind_str(s, 1, redaction);
    store_bind_str(s, 2, armor ? "armor" : "binary");
    if (key) {
        store_bind_bytes(s, 3, key->armored, key->armored_len);
        store_bind_str(s, 4, key->fingerprint);
        if (key->expires) {
            datetime_text(key->expires, expires);
            store_bind_str(s, 5, expires);
        } else {
            store_bind_null(s, 5);
        }
        store_bind_u64(s, 6, id);
    } else {
        store_bind_u64(s, 3, id);
    }
    rc = store_stmt_exec(s);
    store_stmt_free(s);
    return rc;
}

static enum dmarcd_err clear_alert(struct store *st, uint32_t id)
{
    struct store_stmt *s = NULL;
    enum dmarcd_err rc = store_stmt_prepare(
        st, "DELETE FROM tenant_alerts WHERE tenant_id = ? AND kind = 'pgp_key_unusable'", &s);
    if (!rc) {
        store_bind_u64(s, 0, id);
        rc = store_stmt_exec(s);
    }
    store_stmt_free(s);
    return rc;
}

/* The arguments, checked before the database is touched. */
static enum dmarcd_err check_settings(const struct forensic_settings *in,
                                      enum forensic_policy *policy, struct strbuf *why)
{
    enum forensic_redaction r;
    if (!forensic_policy_parse(in->policy, policy)) {
        set_why(why, "invalid policy \"%.40s\": encrypted, pgp, none or none-drop",
                in->policy ? in->policy : "");
        return DMARCD_E_INVALID;
    }
    if (in->redaction && !forensic_redaction_parse(in->redaction, &r)) {
        set_why(why, "invalid redaction \"%.40s\": mask, hash or off", in->redaction);
        return DMARCD_E_INVALID;
    }
    if (in->pgp_key && *policy != FORENSIC_PGP) {
        set_why(why, "an OpenPGP key is used only by the pgp policy");
        return DMARCD_E_INVALID;
    }
    return DMARCD_OK;
}

static enum dmarcd_err apply_settings(struct store *st, const char *tenant_name,
                                      const struct forensic_settings *in,
                                      enum forensic_policy policy, const char *actor,
                                      struct forensic_settings_result *out, struct strbuf *why)
{
    struct tenant_row t;
    char *detail = NULL;
    enum dmarcd_err rc = find_tenant(st, tenant_name, true, &t, why);
    if (!rc && strcmp(t.status, "active") != 0) {
        set_why(why, "tenant %s is cancelled: its settings can no longer change", tenant_name);
        rc = DMARCD_E_INVALID;
    }
    if (!rc && policy == FORENSIC_PGP && !in->pgp_key && !t.fingerprint[0]) {
        set_why(why, "the pgp policy needs the tenant's OpenPGP public key: --pgp-key FILE "
                     "(ASCII-armored, from gpg --armor --export FINGERPRINT)");
        rc = DMARCD_E_INVALID;
    }
    if (rc)
        goto out;
    out->tenant_id = t.id;
    snprintf(out->policy, sizeof(out->policy), "%s", forensic_policy_name(policy));
    snprintf(out->redaction, sizeof(out->redaction), "%s",
             in->redaction ? in->redaction : t.redaction);
    out->pgp_armor = in->pgp_armor < 0 ? t.armor : in->pgp_armor != 0;
    snprintf(out->fingerprint, sizeof(out->fingerprint), "%s",
             in->pgp_key ? out->key.fingerprint : t.fingerprint);
    rc = update_tenant(st, t.id, out->policy, out->redaction, out->pgp_armor,
                       in->pgp_key ? &out->key : NULL);
    if (!rc && (in->pgp_key || policy != FORENSIC_PGP))
        rc = clear_alert(st, t.id);
    if (!rc) {
        const char *pairs[] = { "policy", out->policy, "redaction", out->redaction,
                                "pgp_format", out->pgp_armor ? "armor" : "binary",
                                "pgp_fingerprint", out->fingerprint[0] ? out->fingerprint : NULL,
                                "pgp_key", in->pgp_key ? "uploaded" : NULL, NULL };
        detail = store_audit_detail(pairs);
        rc = store_audit_add(st, t.id, actor, "tenant.forensic_policy", tenant_name, detail);
    }
out:
    free(detail);
    free(t.pgp_key);
    return rc;
}

enum dmarcd_err forensic_set_policy(struct store *st, const char *tenant_name,
                                    const struct forensic_settings *in, const char *actor,
                                    struct forensic_settings_result *out, struct strbuf *why)
{
    enum forensic_policy policy;
    memset(out, 0, sizeof(*out));
    enum dmarcd_err rc = check_settings(in, &policy, why);
    if (rc)
        return rc;
    if (in->pgp_key && (rc = pgp_key_inspect(in->pgp_key, in->pgp_key_len, &out->key, why))) {
        if (rc == DMARCD_E_INVALID && why) {
            struct strbuf tmp;
            strbuf_init(&tmp, 0);
            (void)strbuf_addf(&tmp, "OpenPGP key refused: %s", why->buf);
            set_why(why, "%s", tmp.buf);
            strbuf_release(&tmp);
        }
        return rc;
    }
    rc = store_begin(st);
    if (!rc)
        rc = apply_settings(st, tenant_name, in, policy, actor, out, why);
    if (!rc)
        rc = store_commit(st);
    if (rc) {
        store_rollback(st);
        forensic_settings_result_release(out);
    }
    return rc;
}

/* ---- forensic_apply_existing ---- */

/* Deletes the tenant's rows of table (a fixed name) in batches; adds to *n. */
static enum dmarcd_err delete_all(struct store *st, const char *table, uint32_t tenant,
                                  uint64_t *n)
{
    struct store_stmt *s = NULL;
    struct strbuf sql;
    strbuf_init(&sql, 0);
    (void)strbuf_addf(&sql, "DELETE FROM %s WHERE tenant_id = ? LIMIT " DELETE_BATCH, table);
    enum dmarcd_err rc = store_stmt_prepare(st, sql.buf, &s);
    uint64_t got = DELETE_BATCH_ROWS;
    while (!rc && got == DELETE_BATCH_ROWS) {
        store_bind_u64(s, 0, tenant);
        rc = store_stmt_exec(s);
        got = rc ? 0 : store_stmt_affected(s);
        *n += got;
    }
    store_stmt_free(s);
    strbuf_release(&sql);
    return rc;
}

/* The tenant's pgp blobs that are not encrypted to fpr (NULL: all of them). */
static enum dmarcd_err count_left(struct store *st, uint32_t tenant, const char *fpr,
                                  uint64_t *n)
{
    struct store_stmt *s = NULL;
    bool row = false;
    enum dmarcd_err rc = store_stmt_prepare(
        st,
        "SELECT COUNT(*) FROM failure_samples WHERE tenant_id = ? AND format <> 'aead'"
        " AND NOT (pgp_fingerprint <=> ?)",
        &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant);
        store_bind_str(s, 1, fpr);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && row)
        *n = store_col_u64(s, 0);
    store_stmt_free(s);
    return rc;
}

struct reencrypt_row {
    char day[11];
    uint64_t id;
    struct strbuf blob;
};

struct reencrypt {
    struct store *st;
    const struct keyring *keys;
    uint32_t tenant;
    bool armor;
    const char *fpr;
    struct pgp_session *pgp;
    struct reencrypt_row rows[REENCRYPT_BATCH];
    size_t n;
    char after_day[11];
    uint64_t after_id;
    struct strbuf plain;
};

/* Reads the next batch of sealed blobs and encrypts each to the key. */
static enum dmarcd_err reencrypt_read(struct reencrypt *r, bool *more, struct strbuf *why)
{
    struct store_stmt *s = NULL;
    bool row;
    size_t seen = 0;
    r->n = 0;
    enum dmarcd_err rc = store_stmt_prepare(
        r->st,
        "SELECT report_day, failure_id FROM failure_samples WHERE tenant_id = ?"
        " AND format = 'aead' AND (report_day > ? OR (report_day = ? AND failure_id > ?))"
        " ORDER BY report_day, failure_id LIMIT " REENCRYPT_BATCH_SQL,
        &s);
    if (!rc) {
        store_bind_u64(s, 0, r->tenant);
        store_bind_str(s, 1, r->after_day);
        store_bind_str(s, 2, r->after_day);
        store_bind_u64(s, 3, r->after_id);
        rc = store_stmt_exec(s);
    }
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        struct reencrypt_row *x = &r->rows[seen++];
        copy_col(s, 0, x->day, sizeof(x->day));
        x->id = store_col_u64(s, 1);
        memcpy(r->after_day, x->day, sizeof(r->after_day));
        r->after_id = x->id;
    }
    store_stmt_free(s);
    *more = seen == REENCRYPT_BATCH;
    struct forensic_sample sample;
    forensic_sample_init(&sample);
    for (size_t i = 0; !rc && i < seen; i++) {
        struct reencrypt_row *x = &r->rows[i];
        rc = forensic_sample_read(r->st, r->keys, r->tenant, x->id, &sample);
        if (rc == DMARCD_E_NOT_FOUND) { /* gone meanwhile */
            rc = DMARCD_OK;
            continue;
        }
        if (!rc && sample.format == FORENSIC_FORMAT_AEAD)
            rc = pgp_session_encrypt(r->pgp, sample.data.buf, sample.data.len, r->armor,
                                     &r->rows[r->n].blob, why);
        if (!rc && sample.format == FORENSIC_FORMAT_AEAD) {
            if (r->n != i) {
                memcpy(r->rows[r->n].day, x->day, sizeof(x->day));
                r->rows[r->n].id = x->id;
            }
            r->n++;
        }
    }
    forensic_sample_release(&sample);
    return rc;
}

static enum dmarcd_err reencrypt_write(struct reencrypt *r, uint64_t *done)
{
    struct store_stmt *s = NULL;
    enum dmarcd_err rc = store_stmt_prepare(
        r->st,
        "UPDATE failure_samples SET format = ?, key_version = NULL, pgp_fingerprint = ?,"
        " sample_size = ?, sample = ? WHERE tenant_id = ? AND report_day = ? AND failure_id = ?"
        " AND format = 'aead'",
        &s);
    if (!rc)
        rc = store_begin(r->st);
    uint64_t n = 0;
    for (size_t i = 0; !rc && i < r->n; i++) {
        struct reencrypt_row *x = &r->rows[i];
        store_bind_str(s, 0, r->armor ? "pgp-armor" : "pgp-binary");
        store_bind_str(s, 1, r->fpr);
        store_bind_u64(s, 2, x->blob.len);
        store_bind_bytes(s, 3, x->blob.buf, x->blob.len);
        store_bind_u64(s, 4, r->tenant);
        store_bind_str(s, 5, x->day);
        store_bind_u64(s, 6, x->id);
        rc = store_stmt_exec(s);
        if (!rc)
            n += store_stmt_affected(s);
    }
    if (!rc)
        rc = store_commit(r->st);
    if (rc)
        store_rollback(r->st);
    else
        *done += n;
    store_stmt_free(s);
    return rc;
}

static enum dmarcd_err reencrypt_all(struct store *st, const struct keyring *keys,
                                     const struct tenant_row *t, uint64_t *done,
                                     struct strbuf *why)
{
    struct reencrypt *r = xcalloc(1, sizeof(*r));
    bool more = true;
    r->st = st;
    r->keys = keys;
    r->tenant = t->id;
    r->armor = t->armor;
    r->fpr = t->fingerprint;
    memcpy(r->after_day, "0000-00-00", 11);
    for (size_t i = 0; i < REENCRYPT_BATCH; i++)
        strbuf_init(&r->rows[i].blob, 0);
    enum dmarcd_err rc = pgp_session_new(t->pgp_key, t->pgp_key_len, t->fingerprint, &r->pgp,
                                         why);
    if (rc == DMARCD_E_INVALID && why) {
        struct strbuf tmp;
        strbuf_init(&tmp, 0);
        (void)strbuf_addf(&tmp, "cannot encrypt to the tenant's OpenPGP key: %s", why->buf);
        set_why(why, "%s", tmp.buf);
        strbuf_release(&tmp);
    }
    while (!rc && more) {
        rc = reencrypt_read(r, &more, why);
        if (!rc && r->n)
            rc = reencrypt_write(r, done);
    }
    pgp_session_free(r->pgp);
    for (size_t i = 0; i < REENCRYPT_BATCH; i++)
        strbuf_release(&r->rows[i].blob);
    free(r);
    return rc;
}

static void count_text(char *buf, size_t size, uint64_t v)
{
    snprintf(buf, size, "%" PRIu64, v);
}

enum dmarcd_err forensic_apply_existing(struct store *st, const struct keyring *keys,
                                        const char *tenant_name, const char *actor,
                                        struct forensic_apply_counts *c, struct strbuf *why)
{
    struct tenant_row t;
    enum forensic_policy policy = FORENSIC_ENCRYPTED;
    memset(c, 0, sizeof(*c));
    enum dmarcd_err rc = find_tenant(st, tenant_name, false, &t, why);
    if (!rc)
        (void)forensic_policy_parse(t.policy, &policy);
    if (!rc && policy == FORENSIC_PGP && !keys) {
        set_why(why, "re-encrypting stored reports to the OpenPGP key needs the master key "
                     "(master_key_file) to read them first");
        rc = DMARCD_E_CONFIG;
    }
    if (rc)
        goto out;
    switch (policy) {
    case FORENSIC_NONE_DROP:
        rc = delete_all(st, "failure_samples", t.id, &c->samples_destroyed);
        if (!rc)
            rc = delete_all(st, "failure_reports", t.id, &c->reports_destroyed);
        break;
    case FORENSIC_NONE:
        rc = delete_all(st, "failure_samples", t.id, &c->samples_destroyed);
        break;
    case FORENSIC_PGP:
        rc = reencrypt_all(st, keys, &t, &c->reencrypted, why);
        if (!rc)
            rc = count_left(st, t.id, t.fingerprint, &c->left);
        break;
    case FORENSIC_ENCRYPTED:
        rc = count_left(st, t.id, NULL, &c->left);
        break;
    }
    if (!rc) {
        char a[24], b[24], d[24], e[24];
        count_text(a, sizeof(a), c->reencrypted);
        count_text(b, sizeof(b), c->samples_destroyed);
        count_text(d, sizeof(d), c->reports_destroyed);
        count_text(e, sizeof(e), c->left);
        const char *pairs[] = { "policy", t.policy, "reencrypted", a, "samples_destroyed", b,
                                "reports_destroyed", d, "left", e, NULL };
        char *detail = store_audit_detail(pairs);
        rc = store_audit_add(st, t.id, actor, "tenant.forensic_apply", tenant_name, detail);
        free(detail);
    }
out:
    free(t.pgp_key);
    return rc;
}
