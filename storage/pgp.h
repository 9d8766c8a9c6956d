/*
 * pgp.h - OpenPGP through GPGME: checking a tenant's uploaded public key,
 * and encrypting failure-report blobs to it.
 *
 * dmarcd keeps no OpenPGP private key and no keyring. Every operation runs
 * gpg in a throwaway home directory (mkdtemp, mode 0700) that holds only
 * the one public key and a gpg.conf that forbids starting gpg-agent or
 * dirmngr and any key lookup on the network; the directory is removed
 * when the operation ends. Trust is "always": the tenant vouched for the
 * key by uploading it.
 *
 *   pgp_key_inspect(text, len, &info, &why)    at upload: one public key
 *       that can encrypt now, not expired or revoked, no secret key; a
 *       minimal ASCII-armored re-export (self-signatures only) to store
 *   pgp_session_new(armored, len, fpr, &s, &why)   before encrypting: the
 *       key again, still usable now?
 *   pgp_session_encrypt(s, plain, n, armor, &out, &why)
 *   pgp_session_free(s)                         removes the directory
 *
 * Errors: DMARCD_E_INVALID when the key is refused or no longer usable
 * (why says why, in a sentence for the tenant), DMARCD_E_CRYPTO when gpg
 * itself fails (not installed, cannot run: an operator's problem),
 * DMARCD_E_IO when the temporary directory cannot be made.
 */
#ifndef DMARCD_STORAGE_PGP_H
#define DMARCD_STORAGE_PGP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"

/* The largest key file accepted: keys with many signatures are big. */
#define PGP_KEY_MAX_BYTES (1024 * 1024)
/* Hex digits of a v4 (40) or v5 (64) fingerprint, and a NUL. */
#define PGP_FPR_MAX 65

struct pgp_key_info {
    char fingerprint[PGP_FPR_MAX];  /* primary key, upper-case hex */
    int64_t created;                /* seconds since the epoch */
    int64_t expires;                /* when it can no longer encrypt; 0: never */
    char algo[32];                  /* of the encryption subkey, "rsa3072", "cv25519" */
    char *armored;                  /* minimal re-export, heap, NUL-terminated */
    size_t armored_len;
};

void pgp_key_info_release(struct pgp_key_info *info);

/*
 * Checks an uploaded key (text, len bytes): exactly one OpenPGP public
 * key, ASCII-armored, with a subkey (or primary key) that can encrypt now,
 * neither the key nor that subkey expired, revoked or disabled, no secret
 * key material. DMARCD_E_INVALID with the reason otherwise.
 */
enum dmarcd_err pgp_key_inspect(const char *text, size_t len, struct pgp_key_info *info,
                                struct strbuf *why) DMARCD_MUST_CHECK;

struct pgp_session;

/*
 * A throwaway home with the stored key (armored, len) imported; the key
 * must have fingerprint fpr (NULL: any) and be usable for encryption now.
 */
enum dmarcd_err pgp_session_new(const char *armored, size_t len, const char *fpr,
                                struct pgp_session **out, struct strbuf *why) DMARCD_MUST_CHECK;

/* Encrypts len bytes to the session's key, ASCII-armored or binary; out is replaced. */
enum dmarcd_err pgp_session_encrypt(struct pgp_session *s, const void *plain, size_t len,
                                    bool armor, struct strbuf *out,
                                    struct strbuf *why) DMARCD_MUST_CHECK;

/* Removes the home directory and frees; NULL is a no-op. */
void pgp_session_free(struct pgp_session *s);

#endif
