/*
 * keys.h - the master key, per-tenant data keys, and sealing with them.
 *
 * Two levels of keys (docs/forensic.md):
 *
 *   master key   32 bytes from the file `master_key_file` names (raw, or 64
 *                hex digits and an optional newline); never in the
 *                database. During a rotation `master_key_previous_file`
 *                names the old one. A keyring holds both.
 *   data key     32 random bytes per tenant and key_version, created on
 *                first use and stored only wrapped (encrypted) by the
 *                master key in tenant_keys, with the id of the master key
 *                that wrapped it. Rotating the master key rewraps these
 *                rows (keys_rewrap); nothing sealed with a data key changes.
 *
 * Constructions (libsodium): every key is used for one purpose, through
 * crypto_kdf subkeys. Wrapping: XChaCha20-Poly1305-IETF under the master
 * key's subkey 1 ("dmarcdmk"), random 24-byte nonce, associated data
 * "dmarcd-data-key-v1" || tenant id || key version; stored as
 * 0x01 || nonce || ciphertext+tag (KEYS_WRAPPED_BYTES). The master key id
 * is the first 8 bytes of subkey 2: it names the key without revealing it.
 * Sealing (keys_seal/keys_open): XChaCha20-Poly1305-IETF under the data
 * key's subkey for the purpose, random nonce, caller's associated data;
 * 0x01 || nonce || ciphertext+tag.
 *
 * Key material lives in sodium_malloc'd memory that is wiped when freed.
 * Errors: DMARCD_E_CONFIG for a bad key file (why says what), DMARCD_E_CRYPTO
 * when authentication fails (wrong key, damaged or moved blob),
 * DMARCD_E_NOT_FOUND when no master key of the keyring wrapped a row.
 *
 *   struct keyring *kr;
 *   rc = keyring_load(cur_path, prev_path_or_NULL, &kr, &why);
 *   rc = keys_tenant_key(st, kr, tenant, true, &version, dk);    created on first use
 *   rc = keys_seal(dk, KEYS_PURPOSE_SAMPLE, ad, adlen, plain, n, &blob);
 *   keyring_free(kr);
 *
 * A keyring is read-only after loading and may be shared by threads.
 */
#ifndef DMARCD_STORAGE_KEYS_H
#define DMARCD_STORAGE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "storage/store.h"

#define KEYS_MASTER_BYTES 32
#define KEYS_DATA_BYTES 32
#define KEYS_ID_BYTES 8
#define KEYS_ID_HEX (2 * KEYS_ID_BYTES + 1)
/* 0x01 || 24-byte nonce || 32-byte key || 16-byte tag */
#define KEYS_WRAPPED_BYTES (1 + 24 + KEYS_DATA_BYTES + 16)
/* What keys_seal adds to the plaintext: version byte, nonce, tag. */
#define KEYS_SEAL_OVERHEAD (1 + 24 + 16)
/* The largest key file read: raw or hex, with whitespace. */
#define KEYS_FILE_MAX 256

/* What a data key seals; each purpose uses its own subkey. */
enum keys_purpose {
    KEYS_PURPOSE_SAMPLE = 1,    /* failure-report blobs (forensic.h) */
    KEYS_PURPOSE_REDACT = 2,    /* the keyed hash of redacted text */
    KEYS_PURPOSE_SECRET = 3,    /* small per-tenant secrets (TOTP seeds) */
};

struct keyring;

/*
 * Parses a key file's content: exactly 32 bytes, or 64 hex digits followed
 * by optional ASCII whitespace. DMARCD_E_CONFIG with the reason otherwise.
 */
enum dmarcd_err keys_parse_master(const void *buf, size_t len, uint8_t out[KEYS_MASTER_BYTES],
                                  struct strbuf *why) DMARCD_MUST_CHECK;

/*
 * Reads the current master key file (required) and the previous one (NULL:
 * none). A key file must be a regular file that other users cannot read or
 * write (mode 0600 or 0640, 0440 ...): DMARCD_E_CONFIG naming the file and
 * the problem otherwise. The two keys must differ.
 */
enum dmarcd_err keyring_load(const char *current_path, const char *previous_path,
                             struct keyring **out, struct strbuf *why) DMARCD_MUST_CHECK;

/* A keyring from key bytes (tests, tools); previous may be NULL. */
struct keyring *keyring_new(const uint8_t current[KEYS_MASTER_BYTES], const uint8_t *previous);

/* Wipes and frees; NULL is a no-op. */
void keyring_free(struct keyring *kr);

/* The current master key's id, as bytes and as lower-case hex. */
void keyring_current_id(const struct keyring *kr, uint8_t id[KEYS_ID_BYTES]);
void keyring_current_id_hex(const struct keyring *kr, char out[KEYS_ID_HEX]);
bool keyring_has_previous(const struct keyring *kr);

/* Wraps a data key under the current master key; *id is that key's id. */
void keys_wrap(const struct keyring *kr, uint32_t tenant, uint32_t version,
               const uint8_t dk[KEYS_DATA_BYTES], uint8_t out[KEYS_WRAPPED_BYTES],
               uint8_t id[KEYS_ID_BYTES]);

/*
 * Unwraps with the master key whose id is id (current or previous):
 * DMARCD_E_NOT_FOUND when the keyring holds neither, DMARCD_E_CRYPTO when
 * the row does not authenticate (damaged, or moved to another tenant or
 * version).
 */
enum dmarcd_err keys_unwrap(const struct keyring *kr, const uint8_t id[KEYS_ID_BYTES],
                            uint32_t tenant, uint32_t version, const uint8_t *wrapped,
                            size_t len, uint8_t dk[KEYS_DATA_BYTES]) DMARCD_MUST_CHECK;

/*
 * The tenant's newest data key and its version. Without one: create is
 * false → DMARCD_E_NOT_FOUND; create is true → a new random key, version 1,
 * inserted (a concurrent creator's key wins; both then use it). kr NULL is
 * DMARCD_E_CONFIG (no master key configured). Runs in the caller's
 * transaction when one is open.
 */
enum dmarcd_err keys_tenant_key(struct store *st, const struct keyring *kr, uint32_t tenant,
                                bool create, uint32_t *version,
                                uint8_t dk[KEYS_DATA_BYTES]) DMARCD_MUST_CHECK;

/* The tenant's data key of one version (to open what it sealed). */
enum dmarcd_err keys_tenant_key_version(struct store *st, const struct keyring *kr,
                                        uint32_t tenant, uint32_t version,
                                        uint8_t dk[KEYS_DATA_BYTES]) DMARCD_MUST_CHECK;

/*
 * Seals len bytes under the data key's subkey for purpose, binding ad
 * (associated data, not stored); the result replaces out's content.
 */
void keys_seal(const uint8_t dk[KEYS_DATA_BYTES], enum keys_purpose purpose, const void *ad,
               size_t adlen, const void *plain, size_t len, struct strbuf *out);

/* Opens what keys_seal made, with the same key, purpose and ad, into out
 * (replaced). DMARCD_E_CRYPTO when it does not authenticate. */
enum dmarcd_err keys_open(const uint8_t dk[KEYS_DATA_BYTES], enum keys_purpose purpose,
                          const void *ad, size_t adlen, const void *blob, size_t len,
                          struct strbuf *out) DMARCD_MUST_CHECK;

/* A keyed 64-bit hash of text under the data key (redaction), as 16 hex digits. */
void keys_hash_hex(const uint8_t dk[KEYS_DATA_BYTES], const void *text, size_t len,
                   char out[17]);

/* What keys_rewrap did. */
struct keys_rewrap_counts {
    uint64_t rewrapped;         /* rows moved from the previous to the current master key */
    uint64_t current;           /* rows already under the current master key */
    uint64_t unknown;           /* rows wrapped by a master key the keyring lacks */
};

/*
 * Rewraps every data key of tenant (0: of every tenant) that the previous
 * master key wrapped, under the current one: one short transaction per
 * batch of rows, each row updated only if no one rewrapped it meanwhile,
 * so running it twice, or twice at once, is harmless. Rows wrapped by a
 * key the keyring lacks are counted and left alone.
 */
enum dmarcd_err keys_rewrap(struct store *st, const struct keyring *kr, uint32_t tenant,
                            struct keys_rewrap_counts *counts) DMARCD_MUST_CHECK;

#endif
