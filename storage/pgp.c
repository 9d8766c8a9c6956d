/*
 * pgp.c - GPGME in throwaway home directories (see pgp.h).
 *
 * A home per operation rather than per process: nothing is left on disk
 * between reports, two threads never share gpg state, and a key the
 * tenant replaced is never used by mistake. It costs a gpg start for the
 * import and one for the encryption (tens of milliseconds), which failure
 * reports, a few per domain and day, can afford.
 *
 * The home's gpg.conf makes gpg self-contained: no-autostart (encrypting
 * to a public key needs neither gpg-agent nor dirmngr, so neither may
 * start and leave sockets behind), no key lookups, trust-model always.
 * Messages for the tenant are written from gpg's key flags, never from
 * gpg's own output, so they stay stable across gpg versions.
 */
#include <errno.h>
#include <ftw.h>
#include <gpgme.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/pgp.h"
#include "lib/banned.h"

static const char GPG_CONF[] = "no-autostart\n"
                               "no-auto-key-retrieve\n"
                               "no-auto-key-locate\n"
                               "trust-model always\n"
                               "no-greeting\n";

static const char ARMOR_PUBLIC[] = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
static const char ARMOR_PRIVATE[] = "-----BEGIN PGP PRIVATE KEY BLOCK-----";
static const char ARMOR_SECRET[] = "-----BEGIN PGP SECRET KEY BLOCK-----";

struct pgp_session {
    char *home;
    gpgme_ctx_t ctx;
    gpgme_key_t key;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool engine_ok;

static void init_gpgme(void)
{
    gpgme_check_version(NULL);
    engine_ok = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP) == GPG_ERR_NO_ERROR;
}

void pgp_key_info_release(struct pgp_key_info *info)
{
    free(info->armored);
    memset(info, 0, sizeof(*info));
}

/* ---- the throwaway home ---- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT)
        log_warn("gpg home entry not removed", LOG_STR("path", path), LOG_STR("why",
                 strerror(errno)));
    return 0;
}

static void remove_home(const char *home)
{
    if (home && nftw(home, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        log_warn("gpg home not removed", LOG_STR("path", home), LOG_STR("why", strerror(errno)));
}

static enum dmarcd_err make_home(char **out, struct strbuf *why)
{
    const char *base = getenv("TMPDIR");
    struct strbuf path;
    strbuf_init(&path, 0);
    (void)strbuf_addf(&path, "%s/dmarcd-gpg-XXXXXX", base && base[0] == '/' ? base : "/tmp");
    if (!mkdtemp(path.buf)) {
        (void)strbuf_setf(why, "cannot create a temporary gpg home under %s: %s",
                          base && base[0] == '/' ? base : "/tmp", strerror(errno));
        strbuf_release(&path);
        return DMARCD_E_IO;
    }
    struct strbuf conf;
    strbuf_init(&conf, 0);
    (void)strbuf_addf(&conf, "%s/gpg.conf", path.buf);
    FILE *f = fopen(conf.buf, "wx");
    bool ok = f && fputs(GPG_CONF, f) >= 0;
    if (f && fclose(f) != 0)
        ok = false;
    strbuf_release(&conf);
    if (!ok) {
        (void)strbuf_setf(why, "cannot write gpg.conf in %s: %s", path.buf, strerror(errno));
        remove_home(path.buf);
        strbuf_release(&path);
        return DMARCD_E_IO;
    }
    *out = strbuf_detach(&path, NULL);
    return DMARCD_OK;
}

static enum dmarcd_err gpg_failed(struct strbuf *why, const char *what, gpgme_error_t err)
{
    (void)strbuf_setf(why, "gpg failed to %s: %s", what, gpgme_strerror(err));
    log_error("gpgme operation failed", LOG_STR("what", what), LOG_STR("why",
              gpgme_strerror(err)));
    return DMARCD_E_CRYPTO;
}

/* A session with an empty home and a context on it. */
static enum dmarcd_err session_open(struct pgp_session **out, struct strbuf *why)
{
    pthread_once(&init_once, init_gpgme);
    *out = NULL;
    if (!engine_ok) {
        (void)strbuf_setf(why, "the gpg program (GnuPG 2) is not installed or not usable");
        return DMARCD_E_CRYPTO;
    }
    struct pgp_session *s = xcalloc(1, sizeof(*s));
    enum dmarcd_err rc = make_home(&s->home, why);
    gpgme_error_t err = 0;
    if (!rc && (err = gpgme_new(&s->ctx)) == 0)
        err = gpgme_ctx_set_engine_info(s->ctx, GPGME_PROTOCOL_OpenPGP, NULL, s->home);
    if (!rc && err)
        rc = gpg_failed(why, "start", err);
    if (rc) {
        pgp_session_free(s);
        return rc;
    }
    gpgme_set_offline(s->ctx, 1);
    gpgme_set_keylist_mode(s->ctx, GPGME_KEYLIST_MODE_LOCAL);
    *out = s;
    return DMARCD_OK;
}

void pgp_session_free(struct pgp_session *s)
{
    if (!s)
        return;
    if (s->key)
        gpgme_key_unref(s->key);
    if (s->ctx)
        gpgme_release(s->ctx);
    remove_home(s->home);
    free(s->home);
    free(s);
}

/* ---- what a key can do ---- */

static void format_day(int64_t t, char out[11])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, 11, "%Y-%m-%d", &tm))
        memcpy(out, "?", 2);
}

static bool subkey_usable(const struct _gpgme_subkey *sk)
{
    return sk->can_encrypt && !sk->revoked && !sk->expired && !sk->disabled && !sk->invalid;
}

/*
 * Why the key cannot encrypt now, in a sentence; NULL when it can. The
 * best usable encryption subkey is *best.
 */
static const char *key_problem(gpgme_key_t key, gpgme_subkey_t *best, struct strbuf *buf)
{
    char day[11];
    strbuf_reset(buf);
    *best = NULL;
    if (key->revoked)
        return "the key is revoked";
    if (key->expired) {
        format_day(key->subkeys ? key->subkeys->expires : 0, day);
        (void)strbuf_addf(buf, "the key expired on %s", day);
        return buf->buf;
    }
    if (key->disabled || key->invalid)
        return "gpg marks the key invalid or disabled";
    gpgme_subkey_t expired = NULL, revoked = NULL;
    for (gpgme_subkey_t sk = key->subkeys; sk; sk = sk->next) {
        if (subkey_usable(sk)) {
            /* the one that lasts longest: 0 is never */
            if (!*best || sk->expires == 0 ||
                ((*best)->expires != 0 && sk->expires > (*best)->expires))
                *best = sk;
        } else if (sk->can_encrypt && sk->expired) {
            expired = sk;
        } else if (sk->can_encrypt && sk->revoked) {
            revoked = sk;
        }
    }
    if (*best)
        return NULL;
    if (expired) {
        format_day(expired->expires, day);
        (void)strbuf_addf(buf, "the key's encryption subkey expired on %s", day);
        return buf->buf;
    }
    if (revoked)
        return "the key's encryption subkey is revoked";
    return "the key cannot encrypt (it is for signing only): add an encryption subkey, "
           "e.g. `gpg --quick-add-key FINGERPRINT default encr`, and export it again";
}

/* The moment the key stops being able to encrypt; 0: never. */
static int64_t key_expiry(gpgme_key_t key, gpgme_subkey_t best)
{
    int64_t primary = key->subkeys ? key->subkeys->expires : 0;
    int64_t sub = best ? best->expires : 0;
    if (!primary)
        return sub;
    if (!sub)
        return primary;
    return primary < sub ? primary : sub;
}

/* ---- import ---- */

/* Imports len bytes into the session's home; *keys = how many keys it now holds. */
static enum dmarcd_err import_key(struct pgp_session *s, const char *text, size_t len,
                                  bool upload, struct strbuf *why)
{
    gpgme_data_t data = NULL;
    gpgme_error_t err = gpgme_data_new_from_mem(&data, text, len, 0);
    if (err)
        return gpg_failed(why, "read the key", err);
    err = gpgme_op_import(s->ctx, data);
    gpgme_data_release(data);
    gpgme_import_result_t r = err ? NULL : gpgme_op_import_result(s->ctx);
    if (r && r->secret_read > 0) {
        (void)strbuf_setf(why, "the file holds a secret (private) key: upload only the public "
                               "key (gpg --armor --export FINGERPRINT); dmarcd never needs "
                               "the private key");
        return DMARCD_E_INVALID;
    }
    if (err && gpg_err_code(err) != GPG_ERR_NO_DATA)
        return gpg_failed(why, "import the key", err);
    if (!r || r->imported + r->unchanged == 0) {
        (void)strbuf_setf(why, upload ? "no OpenPGP public key found in the file (damaged "
                                        "armor, or not a key)"
                                      : "the stored OpenPGP key could not be imported");
        return DMARCD_E_INVALID;
    }
    return DMARCD_OK;
}

/* The one key in the home (fpr: must be that one); DMARCD_E_INVALID if not one. */
static enum dmarcd_err the_key(struct pgp_session *s, const char *fpr, struct strbuf *why)
{
    gpgme_key_t key = NULL;
    unsigned n = 0;
    gpgme_error_t err = gpgme_op_keylist_start(s->ctx, NULL, 0);
    while (!err && !(err = gpgme_op_keylist_next(s->ctx, &key))) {
        if (++n == 1)
            s->key = key;
        else
            gpgme_key_unref(key);
    }
    gpgme_op_keylist_end(s->ctx);
    if (err && gpg_err_code(err) != GPG_ERR_EOF)
        return gpg_failed(why, "list the key", err);
    if (n != 1) {
        (void)strbuf_setf(why, "the file holds %u OpenPGP keys: upload exactly one", n);
        return DMARCD_E_INVALID;
    }
    if (fpr && (!s->key->subkeys || !s->key->subkeys->fpr ||
                strcasecmp(s->key->subkeys->fpr, fpr) != 0)) {
        (void)strbuf_setf(why, "the stored OpenPGP key does not match its fingerprint");
        return DMARCD_E_INVALID;
    }
    return DMARCD_OK;
}

/* A sentence about what the text is, when it is not an armored public key. */
static const char *not_a_public_key(const char *text, size_t len)
{
    if (memmem(text, len, ARMOR_PRIVATE, sizeof(ARMOR_PRIVATE) - 1) ||
        memmem(text, len, ARMOR_SECRET, sizeof(ARMOR_SECRET) - 1))
        return "the file holds a secret (private) key: upload only the public key "
               "(gpg --armor --export FINGERPRINT); dmarcd never needs the private key";
    if (memmem(text, len, ARMOR_PUBLIC, sizeof(ARMOR_PUBLIC) - 1))
        return NULL;
    if (len && ((unsigned char)text[0] == 0x99 || (unsigned char)text[0] == 0xc6 ||
                (unsigned char)text[0] == 0x98))
        return "the file holds a binary OpenPGP key: upload its ASCII-armored form "
               "(gpg --armor --export FINGERPRINT)";
    return "not an ASCII-armored OpenPGP public key (expected a \"-----BEGIN PGP PUBLIC KEY "
           "BLOCK-----\" block, from gpg --armor --export FINGERPRINT)";
}

/* Fills info from the session's key: fingerprint, dates, algorithm, re-export. */
static enum dmarcd_err describe(struct pgp_session *s, gpgme_subkey_t best,
                                struct pgp_key_info *info, struct strbuf *why)
{
    gpgme_key_t key = s->key;
    gpgme_data_t out = NULL;
    size_t n = 0;
    snprintf(info->fingerprint, sizeof(info->fingerprint), "%s", key->subkeys->fpr);
    info->created = key->subkeys->timestamp;
    info->expires = key_expiry(key, best);
    char *algo = gpgme_pubkey_algo_string(best);
    snprintf(info->algo, sizeof(info->algo), "%s", algo ? algo : "?");
    gpgme_free(algo);
    gpgme_set_armor(s->ctx, 1);
    gpgme_error_t err = gpgme_data_new(&out);
    if (!err)
        err = gpgme_op_export(s->ctx, key->subkeys->fpr, GPGME_EXPORT_MODE_MINIMAL, out);
    if (err) {
        gpgme_data_release(out);
        return gpg_failed(why, "export the key", err);
    }
    char *mem = gpgme_data_release_and_get_mem(out, &n);
    if (!mem || !n) {
        gpgme_free(mem);
        (void)strbuf_setf(why, "gpg exported nothing for the key");
        return DMARCD_E_CRYPTO;
    }
    info->armored = xstrndup(mem, n);
    info->armored_len = n;
    gpgme_free(mem);
    return DMARCD_OK;
}

enum dmarcd_err pgp_key_inspect(const char *text, size_t len, struct pgp_key_info *info,
                                struct strbuf *why)
{
    struct pgp_session *s = NULL;
    struct strbuf scratch, probe;
    gpgme_subkey_t best = NULL;
    memset(info, 0, sizeof(*info));
    if (len == 0) {
        (void)strbuf_setf(why, "the key file is empty");
        return DMARCD_E_INVALID;
    }
    if (len > PGP_KEY_MAX_BYTES) {
        (void)strbuf_setf(why, "the key file is larger than %d bytes: export the key with "
                               "gpg --armor --export-options export-minimal", PGP_KEY_MAX_BYTES);
        return DMARCD_E_INVALID;
    }
    const char *problem = not_a_public_key(text, len);
    if (problem) {
        (void)strbuf_setf(why, "%s", problem);
        return DMARCD_E_INVALID;
    }
    strbuf_init(&scratch, 0);
    strbuf_init(&probe, 0);
    enum dmarcd_err rc = session_open(&s, why);
    if (!rc)
        rc = import_key(s, text, len, true, why);
    if (!rc)
        rc = the_key(s, NULL, why);
    if (!rc && (problem = key_problem(s->key, &best, &scratch))) {
        (void)strbuf_setf(why, "%s", problem);
        rc = DMARCD_E_INVALID;
    }
    if (!rc)
        rc = describe(s, best, info, why);
    /* the proof: gpg encrypts to it */
    if (!rc)
        rc = pgp_session_encrypt(s, "dmarcd", 6, true, &probe, why);
    if (rc)
        pgp_key_info_release(info);
    pgp_session_free(s);
    strbuf_release(&probe);
    strbuf_release(&scratch);
    return rc;
}

enum dmarcd_err pgp_session_new(const char *armored, size_t len, const char *fpr,
                                struct pgp_session **out, struct strbuf *why)
{
    struct pgp_session *s = NULL;
    struct strbuf scratch;
    gpgme_subkey_t best = NULL;
    const char *problem;
    *out = NULL;
    if (!armored || !len) {
        (void)strbuf_setf(why, "no OpenPGP key is stored");
        return DMARCD_E_INVALID;
    }
    strbuf_init(&scratch, 0);
    enum dmarcd_err rc = session_open(&s, why);
    if (!rc)
        rc = import_key(s, armored, len, false, why);
    if (!rc)
        rc = the_key(s, fpr, why);
    if (!rc && (problem = key_problem(s->key, &best, &scratch))) {
        (void)strbuf_setf(why, "%s", problem);
        rc = DMARCD_E_INVALID;
    }
    strbuf_release(&scratch);
    if (rc) {
        pgp_session_free(s);
        return rc;
    }
    *out = s;
    return DMARCD_OK;
}

enum dmarcd_err pgp_session_encrypt(struct pgp_session *s, const void *plain, size_t len,
                                    bool armor, struct strbuf *out, struct strbuf *why)
{
    gpgme_data_t in = NULL, cipher = NULL;
    gpgme_key_t recipients[2] = { s->key, NULL };
    size_t n = 0;
    strbuf_reset(out);
    gpgme_set_armor(s->ctx, armor ? 1 : 0);
    gpgme_error_t err = gpgme_data_new_from_mem(&in, plain, len, 0);
    if (!err)
        err = gpgme_data_new(&cipher);
    if (!err)
        err = gpgme_op_encrypt(s->ctx, recipients, GPGME_ENCRYPT_ALWAYS_TRUST, in, cipher);
    gpgme_data_release(in);
    gpgme_encrypt_result_t r = err ? NULL : gpgme_op_encrypt_result(s->ctx);
    if (!err && r && r->invalid_recipients) {
        gpgme_data_release(cipher);
        (void)strbuf_setf(why, "gpg refused the key as a recipient: %s",
                          gpgme_strerror(r->invalid_recipients->reason));
        return DMARCD_E_INVALID;
    }
    if (err) {
        gpgme_data_release(cipher);
        return gpg_failed(why, "encrypt", err);
    }
    char *mem = gpgme_data_release_and_get_mem(cipher, &n);
    if (!mem || !n) {
        gpgme_free(mem);
        (void)strbuf_setf(why, "gpg produced no ciphertext");
        return DMARCD_E_CRYPTO;
    }
    (void)strbuf_add(out, mem, n);
    gpgme_free(mem);
    return DMARCD_OK;
}
