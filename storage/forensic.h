/*
 * forensic.h - failure reports kept per the tenant's forensic policy
 * (DESIGN.md "Failure reports are personal data"; docs/forensic.md).
 *
 * A failure report is split in two. failure_reports (written by the sink,
 * storage/sink_db.c) holds only clear, non-personal metadata: reported
 * domain, source IP and port, arrival time, feedback type, authentication
 * results as verdicts, delivery result, DKIM domain and selector, SPF DNS,
 * reporting MTA, user agent, sample kind. Everything else of the report
 * (Original-Mail-From, Original-Rcpt-To, Original-Envelope-Id, DKIM
 * identity, reported URIs, Authentication-Results text, the report mail's
 * subject, the sample's headers and body: the whole report, as JSON) is
 * the blob, kept per policy:
 *
 *   encrypted  sealed with the tenant's data key (keys.h), format 'aead',
 *              bound to the tenant and the failure report's id; readable
 *              through forensic_sample_read() by whoever holds the master
 *              key (the API, for roles allowed to).
 *   pgp        encrypted with GPGME to the tenant's public key (pgp.h),
 *              'pgp-armor' or 'pgp-binary' per tenant; dmarcd cannot read
 *              it again. When the key can no longer encrypt (expired or
 *              revoked since upload) the blob is never stored in clear:
 *              the configured fallback drops it (default) or seals it as
 *              under `encrypted`, a note says so in the row's warnings and
 *              a tenant_alerts row (plus an audit row, the first time)
 *              tells the tenant.
 *   none       no blob; the metadata row only.
 *   none-drop  nothing at all, not even the metadata row.
 *
 * Redaction (tenants.forensic_redaction): text in clear metadata that may
 * quote a person (the warnings, the part name) is shown with quoted values
 * and e-mail addresses masked ('mask', the default), replaced by a keyed
 * hash ('hash': the same value gives the same 16 hex digits for this
 * tenant only), or left as it is ('off').
 *
 * The raw inbox copy of a message that held a failure report is deleted
 * once the message is processed, under every policy: the blob is the only
 * copy kept (forensic_inbox_disposition, forensic_inbox_forget).
 *
 * Writing, from the sink, one report at a time (a struct forensic per sink):
 *
 *   rc = forensic_begin(fx, st, tenant, report, warnings, part);   before BEGIN:
 *        policy, redaction, the data key, the PGP encryption (slow) ...
 *   if (!forensic_keep_row(fx)) ... nothing is stored (none-drop)
 *   forensic_warnings(fx), forensic_notes(fx), forensic_part(fx): what the row shows
 *   BEGIN; INSERT failure_reports ...; forensic_finish(fx, st, day, id); COMMIT
 *   forensic_end(fx);                   wipes the plaintext
 */
#ifndef DMARCD_STORAGE_FORENSIC_H
#define DMARCD_STORAGE_FORENSIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "parser/report.h"
#include "storage/keys.h"
#include "storage/pgp.h"
#include "storage/store.h"

/* Caps on what a blob keeps of a sample: the first bytes are what an analyst
 * reads, and a blob travels as one statement parameter. Cut with a note. */
#define FORENSIC_HEADERS_MAX (256 * 1024)
#define FORENSIC_BODY_MAX (1024 * 1024)

enum forensic_policy { FORENSIC_ENCRYPTED, FORENSIC_PGP, FORENSIC_NONE, FORENSIC_NONE_DROP };
enum forensic_redaction { FORENSIC_REDACT_MASK, FORENSIC_REDACT_HASH, FORENSIC_REDACT_OFF };
/* What happens to a blob when the tenant's OpenPGP key cannot encrypt. */
enum forensic_fallback { FORENSIC_FALLBACK_DROP, FORENSIC_FALLBACK_ENCRYPTED };
enum forensic_format { FORENSIC_FORMAT_AEAD, FORENSIC_FORMAT_PGP_ARMOR,
                       FORENSIC_FORMAT_PGP_BINARY };

/* "encrypted" | "pgp" | "none" | "none-drop"; parse: false for anything else. */
const char *forensic_policy_name(enum forensic_policy p);
bool forensic_policy_parse(const char *text, enum forensic_policy *out);
/* "mask" | "hash" | "off" */
const char *forensic_redaction_name(enum forensic_redaction r);
bool forensic_redaction_parse(const char *text, enum forensic_redaction *out);
/* "drop" | "encrypted" */
bool forensic_fallback_parse(const char *text, enum forensic_fallback *out);
/* "aead" | "pgp-armor" | "pgp-binary" (failure_samples.format) */
const char *forensic_format_name(enum forensic_format f);

/* ---- the raw inbox copy ---- */

enum forensic_inbox_action { FORENSIC_INBOX_KEEP, FORENSIC_INBOX_DELETE };

/* What to do with the raw inbox copy of a processed message that held a
 * failure report of a tenant under policy p: FORENSIC_INBOX_DELETE under
 * every policy (the blob, if any, is the only copy kept). */
enum forensic_inbox_action forensic_inbox_disposition(enum forensic_policy p);

/* Deletes inbox row id if it is `done` (a no-op otherwise, and for a row
 * that is gone). Call after inbox_done() of a message for which
 * sink_db_input_had_failure() is true. */
enum dmarcd_err forensic_inbox_forget(struct store *st, uint64_t inbox_id) DMARCD_MUST_CHECK;

/* ---- redaction (pure) ---- */

/*
 * Appends text to out with quoted values ("...") and e-mail addresses
 * replaced: by "***" (mask), by "h:" and keys_hash_hex of the value under
 * dk (hash; dk NULL falls back to mask), or kept (off).
 */
void forensic_redact(enum forensic_redaction r, const uint8_t *dk, const char *text,
                     struct strbuf *out);

/* ---- writing, from the sink ---- */

struct forensic;

/* keys may be NULL (no master key configured: blobs of `encrypted` tenants
 * are not kept, with a note); borrowed for the handle's life. */
struct forensic *forensic_new(const struct keyring *keys, enum forensic_fallback fallback);
void forensic_free(struct forensic *fx);

/*
 * Decides what to keep of report f for tenant, before the report's
 * transaction: reads the tenant's policy, redacts w and part, builds the
 * blob's plaintext and encrypts it (PGP) or fetches the data key
 * (encrypted). Alerts about an unusable OpenPGP key are written here (own
 * statements, outside any transaction). DMARCD_E_TEMPORARY when gpg
 * itself failed (keep the message and retry later: never store in clear).
 */
enum dmarcd_err forensic_begin(struct forensic *fx, struct store *st, uint32_t tenant,
                               const struct failure_report *f, const struct report_warnings *w,
                               const char *part) DMARCD_MUST_CHECK;

/* false: the policy is none-drop; store nothing. */
bool forensic_keep_row(const struct forensic *fx);
/* The parser's warnings, redacted (valid until forensic_end). */
const struct report_warnings *forensic_warnings(const struct forensic *fx);
/* Notes for the row's warnings ("sample not kept: ..."), *n of them. */
const char *const *forensic_notes(const struct forensic *fx, size_t *n);
/* The part name, redacted; NULL when part was NULL. */
const char *forensic_part(const struct forensic *fx);

/* Inserts the blob (if any) for failure_reports row (tenant, day, id), in
 * the caller's transaction. */
enum dmarcd_err forensic_finish(struct forensic *fx, struct store *st, const char *day,
                                uint64_t failure_id) DMARCD_MUST_CHECK;

/* Forgets the report and wipes its plaintext. */
void forensic_end(struct forensic *fx);

/* ---- reading (the API) ---- */

struct forensic_sample {
    enum forensic_format format;
    char report_day[11];
    char fingerprint[PGP_FPR_MAX];  /* pgp formats: the key it is encrypted to */
    struct strbuf data;             /* aead: the report as JSON; pgp: the blob as stored */
};

void forensic_sample_init(struct forensic_sample *s);
/* Wipes and frees the data. */
void forensic_sample_release(struct forensic_sample *s);

/*
 * The blob of the tenant's failure report failure_id: decrypted JSON for
 * 'aead' (needs keys: DMARCD_E_CONFIG without), the stored ciphertext for
 * the pgp formats (dmarcd cannot decrypt those). DMARCD_E_NOT_FOUND when
 * there is none (another tenant's id, policy none, a dropped blob).
 * DMARCD_E_CRYPTO when the blob does not authenticate.
 */
enum dmarcd_err forensic_sample_read(struct store *st, const struct keyring *keys,
                                     uint32_t tenant, uint64_t failure_id,
                                     struct forensic_sample *out) DMARCD_MUST_CHECK;

/* ---- the tenant's settings (the CLI, later the API) ---- */

struct forensic_settings {
    const char *policy;             /* required */
    const char *pgp_key;            /* an uploaded key file's text, or NULL: keep the stored one */
    size_t pgp_key_len;
    int pgp_armor;                  /* 1 armor, 0 binary, -1 unchanged */
    const char *redaction;          /* NULL: unchanged */
};

struct forensic_settings_result {
    uint32_t tenant_id;
    char policy[16];
    char redaction[8];
    bool pgp_armor;
    struct pgp_key_info key;        /* the new key, when one was uploaded */
    char fingerprint[PGP_FPR_MAX];  /* the key in force, "" if none */
};

void forensic_settings_result_release(struct forensic_settings_result *r);

/*
 * Sets the tenant's policy (and key, armor, redaction) for new reports,
 * with an audit row (actor). A key is checked with pgp_key_inspect before
 * anything changes. `pgp` without a key, uploaded now or before, is
 * refused; so is a cancelled tenant. DMARCD_E_INVALID / DMARCD_E_NOT_FOUND
 * with why, as tenants.h.
 */
enum dmarcd_err forensic_set_policy(struct store *st, const char *tenant_name,
                                    const struct forensic_settings *in, const char *actor,
                                    struct forensic_settings_result *out,
                                    struct strbuf *why) DMARCD_MUST_CHECK;

struct forensic_apply_counts {
    uint64_t reencrypted;           /* 'aead' blobs now encrypted to the OpenPGP key */
    uint64_t samples_destroyed;     /* blobs deleted (none, none-drop) */
    uint64_t reports_destroyed;     /* failure_reports rows deleted (none-drop) */
    uint64_t left;                  /* blobs that cannot follow (pgp blobs dmarcd cannot read) */
};

/*
 * Brings the tenant's existing failure reports to its current policy, in
 * batches of short transactions: pgp re-encrypts 'aead' blobs to the key
 * (needs keys), none deletes every blob, none-drop every blob and row.
 * encrypted leaves pgp blobs as they are (counted in left): dmarcd cannot
 * read them. Audited once with the counts. Safe to run again.
 */
enum dmarcd_err forensic_apply_existing(struct store *st, const struct keyring *keys,
                                        const char *tenant_name, const char *actor,
                                        struct forensic_apply_counts *counts,
                                        struct strbuf *why) DMARCD_MUST_CHECK;

#endif
