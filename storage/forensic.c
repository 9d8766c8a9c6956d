/*
 * forensic.c - writing and reading failure-report blobs per tenant policy
 * (see forensic.h); the tenant-facing settings are in forensic_admin.c.
 *
 * The blob's plaintext is the whole report as JSON, in the field names of
 * `dmarcd parse`, so a tenant who decrypts a PGP blob holds a complete,
 * self-describing report. Text that is not UTF-8 (sample headers and
 * bodies often are not) travels base64-encoded under "<name>_base64"
 * rather than repaired: the tenant gets the bytes the receiver sent.
 *
 * Everything slow or fallible happens in forensic_begin, before the
 * sink opens the report's transaction: reading the tenant's policy,
 * getting (or creating) the data key, and running gpg. Only the sealing,
 * which needs the failure_reports row id as associated data and takes
 * microseconds, and the one INSERT happen inside it.
 *
 * Plaintext buffers are wiped when a report ends; copies inside jansson
 * and the parser are outside this module's reach.
 */
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/audit.h"
#include "storage/forensic.h"
#include "storage/stmt.h"
#include "lib/banned.h"

#define MAX_NOTES 6
#define SAMPLE_AD "dmarcd-failure-sample-v1"
#define SAMPLE_AD_BYTES (sizeof(SAMPLE_AD) - 1 + 4 + 8)

/* ---- names ---- */

static const char *const POLICIES[] = { "encrypted", "pgp", "none", "none-drop" };
static const char *const REDACTIONS[] = { "mask", "hash", "off" };
static const char *const FORMATS[] = { "aead", "pgp-armor", "pgp-binary" };

const char *forensic_policy_name(enum forensic_policy p)
{
    return (unsigned)p < 4 ? POLICIES[p] : "encrypted";
}

bool forensic_policy_parse(const char *text, enum forensic_policy *out)
{
    for (unsigned i = 0; text && i < 4; i++) {
        if (strcmp(text, POLICIES[i]) == 0) {
            *out = (enum forensic_policy)i;
            return true;
        }
    }
    return false;
}

const char *forensic_redaction_name(enum forensic_redaction r)
{
    return (unsigned)r < 3 ? REDACTIONS[r] : "mask";
}

bool forensic_redaction_parse(const char *text, enum forensic_redaction *out)
{
    for (unsigned i = 0; text && i < 3; i++) {
        if (strcmp(text, REDACTIONS[i]) == 0) {
            *out = (enum forensic_redaction)i;
            return true;
        }
    }
    return false;
}

bool forensic_fallback_parse(const char *text, enum forensic_fallback *out)
{
    if (text && strcmp(text, "drop") == 0)
        *out = FORENSIC_FALLBACK_DROP;
    else if (text && strcmp(text, "encrypted") == 0)
        *out = FORENSIC_FALLBACK_ENCRYPTED;
    else
        return false;
    return true;
}

const char *forensic_format_name(enum forensic_format f)
{
    return (unsigned)f < 3 ? FORMATS[f] : "aead";
}

static bool format_parse(const char *text, enum forensic_format *out)
{
    for (unsigned i = 0; text && i < 3; i++) {
        if (strcmp(text, FORMATS[i]) == 0) {
            *out = (enum forensic_format)i;
            return true;
        }
    }
    return false;
}

/* ---- the raw inbox copy ---- */

enum forensic_inbox_action forensic_inbox_disposition(enum forensic_policy p)
{
    (void)p;
    return FORENSIC_INBOX_DELETE;
}

enum dmarcd_err forensic_inbox_forget(struct store *st, uint64_t inbox_id)
{
    struct store_stmt *s = NULL;
    enum dmarcd_err rc =
        store_stmt_prepare(st, "DELETE FROM inbox WHERE id = ? AND state = 'done'", &s);
    if (!rc) {
        store_bind_u64(s, 0, inbox_id);
        rc = store_stmt_exec(s);
    }
    store_stmt_free(s);
    return rc;
}

/* ---- redaction ---- */

static bool token_char(char c)
{
    return c && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '"' && c != '<' &&
           c != '>' && c != '(' && c != ')' && c != '[' && c != ']' && c != ',' && c != ';';
}

static void replacement(enum forensic_redaction r, const uint8_t *dk, const char *v, size_t n,
                        struct strbuf *out)
{
    char hex[17];
    if (r == FORENSIC_REDACT_HASH && dk) {
        keys_hash_hex(dk, v, n, hex);
        (void)strbuf_addf(out, "h:%s", hex);
    } else {
        (void)strbuf_addstr(out, "***");
    }
}

void forensic_redact(enum forensic_redaction r, const uint8_t *dk, const char *text,
                     struct strbuf *out)
{
    if (!text)
        return;
    if (r == FORENSIC_REDACT_OFF) {
        (void)strbuf_addstr(out, text);
        return;
    }
    size_t i = 0, n = strlen(text);
    while (i < n) {
        if (text[i] == '"') {
            const char *close = memchr(text + i + 1, '"', n - i - 1);
            if (close) {
                size_t vlen = (size_t)(close - text) - i - 1;
                (void)strbuf_addch(out, '"');
                replacement(r, dk, text + i + 1, vlen, out);
                (void)strbuf_addch(out, '"');
                i += vlen + 2;
                continue;
            }
        }
        if (!token_char(text[i])) {
            (void)strbuf_addch(out, text[i++]);
            continue;
        }
        size_t j = i;
        while (j < n && token_char(text[j]))
            j++;
        const char *at = memchr(text + i, '@', j - i);
        if (at && at > text + i && at + 1 < text + j)
            replacement(r, dk, text + i, j - i, out);
        else
            (void)strbuf_add(out, text + i, j - i);
        i = j;
    }
}

/* ---- the tenant's settings ---- */

struct tenant_policy {
    enum forensic_policy policy;
    enum forensic_redaction redaction;
    bool armor;
    char *pgp_key;                  /* "" when none */
    size_t pgp_key_len;
    char fingerprint[PGP_FPR_MAX];
};

static void tenant_policy_release(struct tenant_policy *t)
{
    free(t->pgp_key);
    t->pgp_key = NULL;
}

static enum dmarcd_err load_policy(struct store *st, uint32_t tenant, struct tenant_policy *t)
{
    struct store_stmt *s = NULL;
    bool row = false;
    memset(t, 0, sizeof(*t));
    enum dmarcd_err rc = store_stmt_prepare(
        st,
        "SELECT forensic_policy, forensic_redaction, pgp_format, pgp_public_key,"
        " pgp_fingerprint FROM tenants WHERE id = ?",
        &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && !row)
        rc = DMARCD_E_NOT_FOUND;
    if (!rc) {
        if (!forensic_policy_parse(store_col_str(s, 0), &t->policy))
            t->policy = FORENSIC_ENCRYPTED;
        if (!forensic_redaction_parse(store_col_str(s, 1), &t->redaction))
            t->redaction = FORENSIC_REDACT_MASK;
        const char *fmt = store_col_str(s, 2);
        t->armor = !fmt || strcmp(fmt, "binary") != 0;
        t->pgp_key = store_col_dup(s, 3);
        t->pgp_key_len = store_col_len(s, 3);
        snprintf(t->fingerprint, sizeof(t->fingerprint), "%s",
                 store_col_str(s, 4) ? store_col_str(s, 4) : "");
    }
    store_stmt_free(s);
    return rc;
}

/* ---- the blob's plaintext ---- */

static void put_text(json_t *o, const char *key, const char *v, size_t len)
{
    if (!v)
        return;
    json_t *j = json_stringn(v, len);
    if (j) {
        json_object_set_new(o, key, j);
        return;
    }
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = xmalloc(cap);
    sodium_bin2base64(b64, cap, (const unsigned char *)v, len, sodium_base64_VARIANT_ORIGINAL);
    struct strbuf name;
    strbuf_init(&name, 0);
    (void)strbuf_addf(&name, "%s_base64", key);
    json_object_set_new(o, name.buf, json_string(b64));
    strbuf_release(&name);
    free(b64);
}

static void put_str(json_t *o, const char *key, const char *v)
{
    put_text(o, key, v, v ? strlen(v) : 0);
}

static void put_list(json_t *o, const char *key, const struct str_list *l)
{
    if (!l->count)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < l->count; i++) {
        const char *v = l->items[i] ? l->items[i] : "";
        json_t *j = json_string(v);
        if (!j) {
            j = json_object();
            put_str(j, "value", v);
        }
        json_array_append_new(a, j);
    }
    json_object_set_new(o, key, a);
}

static void put_int(json_t *o, const char *key, int64_t v)
{
    if (v >= 0)
        json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void add_note(struct forensic *fx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct forensic {
    const struct keyring *keys;
    enum forensic_fallback fallback;
    bool warned_no_key;
    uint8_t *dk;                        /* sodium_malloc'd data key */

    /* the report in progress */
    uint32_t tenant;
    enum forensic_policy policy;
    bool keep_row;
    bool has_dk;
    uint32_t key_version;
    enum { BLOB_NONE, BLOB_SEAL, BLOB_PGP } blob_kind;
    enum forensic_format format;
    char fingerprint[PGP_FPR_MAX];
    struct strbuf plain;                /* the report as JSON */
    struct strbuf blob;                 /* what is stored */
    struct strbuf why;
    struct strbuf red[DMARCD_MAX_WARNINGS];
    const char *red_items[DMARCD_MAX_WARNINGS];
    struct report_warnings view;
    struct strbuf part;
    bool has_part;
    struct strbuf notes[MAX_NOTES];
    const char *note_items[MAX_NOTES];
    size_t nnotes;
};

static void add_note(struct forensic *fx, const char *fmt, ...)
{
    va_list ap;
    if (fx->nnotes == MAX_NOTES)
        return;
    struct strbuf *n = &fx->notes[fx->nnotes];
    strbuf_reset(n);
    va_start(ap, fmt);
    (void)strbuf_vaddf(n, fmt, ap);
    va_end(ap);
    fx->note_items[fx->nnotes++] = n->buf;
}

static void put_sample(struct forensic *fx, json_t *o, const struct failure_report *f)
{
    if (f->sample_kind == FAILURE_SAMPLE_NONE)
        return;
    json_t *s = json_object();
    size_t hlen = f->sample_headers ? f->sample_headers_len : 0;
    size_t blen = f->sample_body ? f->sample_body_len : 0;
    json_object_set_new(s, "kind", json_string(f->sample_kind == FAILURE_SAMPLE_MESSAGE
                                                   ? "message" : "headers"));
    if (hlen > FORENSIC_HEADERS_MAX) {
        add_note(fx, "sample headers cut to %d bytes for storage", FORENSIC_HEADERS_MAX);
        hlen = FORENSIC_HEADERS_MAX;
    }
    if (blen > FORENSIC_BODY_MAX) {
        add_note(fx, "sample body cut to %d bytes for storage", FORENSIC_BODY_MAX);
        blen = FORENSIC_BODY_MAX;
    }
    put_text(s, "headers", f->sample_headers, hlen);
    put_text(s, "body", f->sample_body, blen);
    json_object_set_new(o, "sample", s);
}

/* The whole report as JSON into fx->plain. */
static void build_plain(struct forensic *fx, const struct failure_report *f,
                        const struct report_warnings *w)
{
    json_t *o = json_object();
    json_object_set_new(o, "schema", json_string("dmarcd-failure-sample-v1"));
    json_object_set_new(o, "kind", json_string("failure"));
    json_object_set_new(o, "arf", json_boolean(f->arf));
    put_str(o, "feedback_type", f->feedback_type);
    put_str(o, "user_agent", f->user_agent);
    put_str(o, "version", f->version);
    put_str(o, "original_envelope_id", f->original_envelope_id);
    put_str(o, "original_mail_from", f->original_mail_from);
    put_list(o, "original_rcpt_to", &f->original_rcpt_to);
    put_str(o, "arrival_date", f->arrival_date);
    put_int(o, "arrival_time", f->arrival_time);
    put_str(o, "reporting_mta", f->reporting_mta);
    if (f->source_ip[0])
        put_str(o, "source_ip", f->source_ip);
    put_int(o, "source_port", f->source_port);
    put_int(o, "incidents", f->incidents);
    put_list(o, "reported_domain", &f->reported_domain);
    put_list(o, "reported_uri", &f->reported_uri);
    put_list(o, "auth_failure", &f->auth_failure);
    put_list(o, "identity_alignment", &f->identity_alignment);
    put_list(o, "authentication_results", &f->authentication_results);
    put_str(o, "delivery_result", f->delivery_result);
    put_str(o, "dkim_domain", f->dkim_domain);
    put_str(o, "dkim_identity", f->dkim_identity);
    put_str(o, "dkim_selector", f->dkim_selector);
    put_str(o, "spf_dns", f->spf_dns);
    put_str(o, "subject", f->subject);
    put_sample(fx, o, f);
    if (w && w->count) {
        struct str_list l = { .items = w->items, .count = w->count };
        put_list(o, "warnings", &l);
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        dmarcd_die("json_dumps: out of memory");
    size_t n = strlen(text);
    strbuf_reset(&fx->plain);
    (void)strbuf_add(&fx->plain, text, n);
    sodium_memzero(text, n);
    free(text);
}

/* ---- the handle ---- */

struct forensic *forensic_new(const struct keyring *keys, enum forensic_fallback fallback)
{
    struct forensic *fx = xcalloc(1, sizeof(*fx));
    if (sodium_init() < 0)
        dmarcd_die("sodium_init failed");
    fx->keys = keys;
    fx->fallback = fallback;
    fx->dk = sodium_malloc(KEYS_DATA_BYTES);
    if (!fx->dk)
        dmarcd_die("sodium_malloc: out of memory");
    strbuf_init(&fx->plain, 0);
    strbuf_init(&fx->blob, 0);
    strbuf_init(&fx->why, 0);
    strbuf_init(&fx->part, 0);
    for (size_t i = 0; i < DMARCD_MAX_WARNINGS; i++)
        strbuf_init(&fx->red[i], 0);
    for (size_t i = 0; i < MAX_NOTES; i++)
        strbuf_init(&fx->notes[i], 0);
    return fx;
}

static void wipe(struct strbuf *sb)
{
    if (sb->len)
        sodium_memzero(sb->buf, sb->len);
    strbuf_reset(sb);
}

void forensic_end(struct forensic *fx)
{
    wipe(&fx->plain);
    strbuf_reset(&fx->blob);
    strbuf_reset(&fx->why);
    wipe(&fx->part);
    for (size_t i = 0; i < DMARCD_MAX_WARNINGS; i++)
        wipe(&fx->red[i]);
    sodium_memzero(fx->dk, KEYS_DATA_BYTES);
    fx->has_dk = false;
    fx->has_part = false;
    fx->keep_row = false;
    fx->blob_kind = BLOB_NONE;
    fx->nnotes = 0;
    fx->view = (struct report_warnings){ 0 };
    fx->fingerprint[0] = '\0';
}

void forensic_free(struct forensic *fx)
{
    if (!fx)
        return;
    forensic_end(fx);
    sodium_free(fx->dk);
    strbuf_release(&fx->plain);
    strbuf_release(&fx->blob);
    strbuf_release(&fx->why);
    strbuf_release(&fx->part);
    for (size_t i = 0; i < DMARCD_MAX_WARNINGS; i++)
        strbuf_release(&fx->red[i]);
    for (size_t i = 0; i < MAX_NOTES; i++)
        strbuf_release(&fx->notes[i]);
    free(fx);
}

bool forensic_keep_row(const struct forensic *fx)
{
    return fx->keep_row;
}

const struct report_warnings *forensic_warnings(const struct forensic *fx)
{
    return &fx->view;
}

const char *const *forensic_notes(const struct forensic *fx, size_t *n)
{
    *n = fx->nnotes;
    return fx->note_items;
}

const char *forensic_part(const struct forensic *fx)
{
    return fx->has_part ? fx->part.buf : NULL;
}

/* ---- forensic_begin ---- */

static void redact_all(struct forensic *fx, enum forensic_redaction r,
                       const struct report_warnings *w, const char *part)
{
    const uint8_t *dk = fx->has_dk ? fx->dk : NULL;
    size_t n = w ? w->count : 0;
    if (n > DMARCD_MAX_WARNINGS)
        n = DMARCD_MAX_WARNINGS;
    for (size_t i = 0; i < n; i++) {
        strbuf_reset(&fx->red[i]);
        forensic_redact(r, dk, w->items[i] ? w->items[i] : "", &fx->red[i]);
        fx->red_items[i] = fx->red[i].buf;
    }
    fx->view = (struct report_warnings){ .items = fx->red_items, .count = n,
                                         .dropped = w ? w->dropped : 0 };
    fx->has_part = part != NULL;
    strbuf_reset(&fx->part);
    if (part)
        forensic_redact(r, dk, part, &fx->part);
}

/* The alert for an OpenPGP key that cannot encrypt, and its first audit row. */
static enum dmarcd_err record_alert(struct store *st, uint32_t tenant, const char *fpr,
                                    const char *reason, enum forensic_fallback fb)
{
    struct store_stmt *s = NULL;
    const char *pairs[] = { "fingerprint", fpr[0] ? fpr : NULL, "reason", reason, "fallback",
                            fb == FORENSIC_FALLBACK_DROP ? "drop" : "encrypted", NULL };
    char *detail = store_audit_detail(pairs);
    enum dmarcd_err rc = store_begin(st);
    if (!rc)
        rc = store_stmt_prepare(
            st,
            "INSERT INTO tenant_alerts (tenant_id, kind, first_at, last_at, occurrences, detail)"
            " VALUES (?, 'pgp_key_unusable', UTC_TIMESTAMP(), UTC_TIMESTAMP(), 1, ?)"
            " ON DUPLICATE KEY UPDATE last_at = VALUES(last_at), occurrences = occurrences + 1,"
            " detail = VALUES(detail)",
            &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant);
        store_bind_str(s, 1, detail);
        rc = store_stmt_exec(s);
    }
    if (!rc && store_stmt_affected(s) == 1)
        rc = store_audit_add(st, tenant, "dmarcd", "tenant.alert", "pgp_key_unusable", detail);
    if (!rc)
        rc = store_commit(st);
    if (rc)
        store_rollback(st);
    store_stmt_free(s);
    free(detail);
    return rc;
}

/*
 * The tenant's data key into fx->dk. A key the master key cannot open (a
 * wrong or missing master_key_file, a damaged row) is the operator's to
 * fix: DMARCD_E_TEMPORARY keeps the message for a later try.
 */
static enum dmarcd_err tenant_key(struct forensic *fx, struct store *st)
{
    enum dmarcd_err rc = keys_tenant_key(st, fx->keys, fx->tenant, true, &fx->key_version, fx->dk);
    if (rc == DMARCD_E_CONFIG || rc == DMARCD_E_CRYPTO) {
        log_error("failure report not stored: the tenant's data key cannot be opened with the "
                  "configured master key; it will be retried", LOG_UINT("tenant", fx->tenant));
        rc = DMARCD_E_TEMPORARY;
    }
    if (!rc)
        fx->has_dk = true;
    return rc;
}

/* The data key for sealing; a note (and no blob) when there is no master key. */
static enum dmarcd_err plan_seal(struct forensic *fx, struct store *st, const char *why_not_pgp)
{
    if (!fx->keys) {
        if (!fx->warned_no_key)
            log_warn("master_key_file not set: failure-report samples of tenants under the "
                     "encrypted policy are not kept");
        fx->warned_no_key = true;
        if (why_not_pgp)
            add_note(fx, "sample not kept: the tenant's OpenPGP key cannot encrypt (%s)",
                     why_not_pgp);
        else
            add_note(fx, "sample not kept: no master key is configured to encrypt it");
        return DMARCD_OK;
    }
    if (!fx->has_dk) {
        enum dmarcd_err rc = tenant_key(fx, st);
        if (rc)
            return rc;
        fx->has_dk = true;
    }
    if (why_not_pgp)
        add_note(fx, "sample encrypted at rest instead of to the tenant's OpenPGP key, which "
                     "cannot encrypt (%s)", why_not_pgp);
    fx->blob_kind = BLOB_SEAL;
    fx->format = FORENSIC_FORMAT_AEAD;
    return DMARCD_OK;
}

static enum dmarcd_err plan_pgp(struct forensic *fx, struct store *st,
                                const struct tenant_policy *t)
{
    struct pgp_session *ps = NULL;
    strbuf_reset(&fx->why);
    enum dmarcd_err rc = pgp_session_new(t->pgp_key, t->pgp_key_len, t->fingerprint[0]
                                         ? t->fingerprint : NULL, &ps, &fx->why);
    if (!rc)
        rc = pgp_session_encrypt(ps, fx->plain.buf, fx->plain.len, t->armor, &fx->blob,
                                 &fx->why);
    pgp_session_free(ps);
    if (!rc) {
        fx->blob_kind = BLOB_PGP;
        fx->format = t->armor ? FORENSIC_FORMAT_PGP_ARMOR : FORENSIC_FORMAT_PGP_BINARY;
        snprintf(fx->fingerprint, sizeof(fx->fingerprint), "%s", t->fingerprint);
        return DMARCD_OK;
    }
    if (rc != DMARCD_E_INVALID) {
        log_error("failure report not stored: gpg failed; it will be retried",
                  LOG_UINT("tenant", fx->tenant), LOG_STR("why", fx->why.buf), LOG_ERR(rc));
        return DMARCD_E_TEMPORARY;
    }
    log_warn("tenant openpgp key cannot encrypt: failure-report sample handled by the fallback",
             LOG_UINT("tenant", fx->tenant), LOG_STR("fingerprint", t->fingerprint),
             LOG_STR("why", fx->why.buf),
             LOG_STR("fallback", fx->fallback == FORENSIC_FALLBACK_DROP ? "drop" : "encrypted"));
    rc = record_alert(st, fx->tenant, t->fingerprint, fx->why.buf, fx->fallback);
    if (rc)
        return rc;
    strbuf_reset(&fx->blob);
    if (fx->fallback == FORENSIC_FALLBACK_ENCRYPTED)
        return plan_seal(fx, st, fx->why.buf);
    add_note(fx, "sample not kept: the tenant's OpenPGP key cannot encrypt (%s)", fx->why.buf);
    return DMARCD_OK;
}

enum dmarcd_err forensic_begin(struct forensic *fx, struct store *st, uint32_t tenant,
                               const struct failure_report *f, const struct report_warnings *w,
                               const char *part)
{
    struct tenant_policy t;
    forensic_end(fx);
    fx->tenant = tenant;
    enum dmarcd_err rc = load_policy(st, tenant, &t);
    if (rc)
        return rc;
    fx->policy = t.policy;
    if (t.policy == FORENSIC_NONE_DROP)
        goto out;
    fx->keep_row = true;
    if (fx->keys && (t.redaction == FORENSIC_REDACT_HASH || t.policy == FORENSIC_ENCRYPTED)) {
        if ((rc = tenant_key(fx, st)))
            goto out;
    }
    redact_all(fx, t.redaction, w, part);
    if (t.policy == FORENSIC_NONE)
        goto out;
    build_plain(fx, f, w);
    if (t.policy == FORENSIC_PGP)
        rc = plan_pgp(fx, st, &t);
    else
        rc = plan_seal(fx, st, NULL);
out:
    tenant_policy_release(&t);
    if (rc)
        forensic_end(fx);
    return rc;
}

/* "dmarcd-failure-sample-v1" || tenant (4 bytes) || failure id (8 bytes), big-endian. */
static void sample_ad(uint32_t tenant, uint64_t failure_id, uint8_t ad[SAMPLE_AD_BYTES])
{
    size_t n = sizeof(SAMPLE_AD) - 1;
    memcpy(ad, SAMPLE_AD, n);
    for (int i = 3; i >= 0; i--)
        ad[n++] = (uint8_t)(tenant >> (8 * i));
    for (int i = 7; i >= 0; i--)
        ad[n++] = (uint8_t)(failure_id >> (8 * i));
}

enum dmarcd_err forensic_finish(struct forensic *fx, struct store *st, const char *day,
                                uint64_t failure_id)
{
    struct store_stmt *s = NULL;
    uint8_t ad[SAMPLE_AD_BYTES];
    if (!fx->keep_row || fx->blob_kind == BLOB_NONE)
        return DMARCD_OK;
    if (fx->blob_kind == BLOB_SEAL) {
        sample_ad(fx->tenant, failure_id, ad);
        keys_seal(fx->dk, KEYS_PURPOSE_SAMPLE, ad, sizeof(ad), fx->plain.buf, fx->plain.len,
                  &fx->blob);
    }
    enum dmarcd_err rc = store_stmt_prepare(
        st,
        "INSERT INTO failure_samples (tenant_id, report_day, failure_id, format, key_version,"
        " pgp_fingerprint, sample_size, sample, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP())",
        &s);
    if (!rc) {
        store_bind_u64(s, 0, fx->tenant);
        store_bind_str(s, 1, day);
        store_bind_u64(s, 2, failure_id);
        store_bind_str(s, 3, forensic_format_name(fx->format));
        if (fx->blob_kind == BLOB_SEAL)
            store_bind_u64(s, 4, fx->key_version);
        else
            store_bind_null(s, 4);
        store_bind_str(s, 5, fx->blob_kind == BLOB_PGP ? fx->fingerprint : NULL);
        store_bind_u64(s, 6, fx->blob.len);
        store_bind_bytes(s, 7, fx->blob.buf, fx->blob.len);
        rc = store_stmt_exec(s);
    }
    store_stmt_free(s);
    return rc;
}

/* ---- reading ---- */

void forensic_sample_init(struct forensic_sample *s)
{
    memset(s, 0, sizeof(*s));
    strbuf_init(&s->data, 0);
}

void forensic_sample_release(struct forensic_sample *s)
{
    wipe(&s->data);
    strbuf_release(&s->data);
}

static enum dmarcd_err open_sealed(struct store *st, const struct keyring *keys,
                                   uint32_t tenant, uint64_t failure_id, uint32_t version,
                                   const char *blob, size_t len, struct strbuf *out)
{
    uint8_t ad[SAMPLE_AD_BYTES];
    uint8_t *dk = sodium_malloc(KEYS_DATA_BYTES);
    if (!dk)
        dmarcd_die("sodium_malloc: out of memory");
    enum dmarcd_err rc = keys_tenant_key_version(st, keys, tenant, version, dk);
    if (!rc) {
        sample_ad(tenant, failure_id, ad);
        rc = keys_open(dk, KEYS_PURPOSE_SAMPLE, ad, sizeof(ad), blob, len, out);
    }
    sodium_free(dk);
    return rc;
}

enum dmarcd_err forensic_sample_read(struct store *st, const struct keyring *keys,
                                     uint32_t tenant, uint64_t failure_id,
                                     struct forensic_sample *out)
{
    struct store_stmt *s = NULL;
    bool row = false;
    wipe(&out->data);
    enum dmarcd_err rc = store_stmt_prepare(
        st,
        "SELECT report_day, format, key_version, pgp_fingerprint, sample FROM failure_samples"
        " WHERE tenant_id = ? AND failure_id = ?",
        &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant);
        store_bind_u64(s, 1, failure_id);
        rc = store_stmt_exec(s);
    }
    if (!rc)
        rc = store_stmt_fetch(s, &row);
    if (!rc && !row)
        rc = DMARCD_E_NOT_FOUND;
    if (!rc && !format_parse(store_col_str(s, 1), &out->format))
        rc = DMARCD_E_INTERNAL;
    if (rc)
        goto out;
    snprintf(out->report_day, sizeof(out->report_day), "%s", store_col_str(s, 0));
    snprintf(out->fingerprint, sizeof(out->fingerprint), "%s",
             store_col_str(s, 3) ? store_col_str(s, 3) : "");
    if (out->format != FORENSIC_FORMAT_AEAD) {
        (void)strbuf_add(&out->data, store_col_str(s, 4), store_col_len(s, 4));
    } else if (!keys) {
        rc = DMARCD_E_CONFIG;
    } else {
        rc = open_sealed(st, keys, tenant, failure_id, (uint32_t)store_col_u64(s, 2),
                         store_col_str(s, 4), store_col_len(s, 4), &out->data);
    }
out:
    store_stmt_free(s);
    return rc;
}
