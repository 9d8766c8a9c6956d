/*
 * keys.c - master key loading, data keys, wrapping and sealing (see keys.h).
 *
 * Keys never meet the raw master key directly: crypto_kdf derives one
 * subkey for wrapping and one for the key id, and a data key derives one
 * subkey per purpose. So a blob sealed for one purpose cannot be passed
 * off as another, and revealing the id (it is stored) reveals nothing.
 *
 * Data keys are created lazily, by whoever first needs one, with an
 * INSERT that a concurrent creator may win: the loser reads the winner's
 * row with a locking read (a plain read inside an open REPEATABLE READ
 * snapshot would not see it).
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/keys.h"
#include "storage/stmt.h"
#include "lib/banned.h"

#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define FORMAT_V1 0x01
/* Rows per rewrap batch (one transaction); the number is also in the SQL. */
#define REWRAP_BATCH 200
#define REWRAP_BATCH_SQL "200"

static const char MASTER_CTX[crypto_kdf_CONTEXTBYTES] = { 'd', 'm', 'a', 'r', 'c', 'd', 'm', 'k' };
static const char SEAL_CTX[crypto_kdf_CONTEXTBYTES] = { 'd', 'm', 'a', 'r', 'c', 'd', 's', 'l' };
static const char WRAP_AD[] = "dmarcd-data-key-v1";

enum { SUBKEY_WRAP = 1, SUBKEY_ID = 2 };

/* One master key as used: its wrapping subkey and its id. */
struct master {
    uint8_t wrap[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    uint8_t id[KEYS_ID_BYTES];
};

struct keyring {
    struct master *keys;        /* sodium_malloc: [0] current, [1] previous */
    bool has_previous;
};

static void crypto_ready(void)
{
    if (sodium_init() < 0)
        dmarcd_die("sodium_init failed");
}

/* ---- key files ---- */

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum dmarcd_err keys_parse_master(const void *buf, size_t len, uint8_t out[KEYS_MASTER_BYTES],
                                  struct strbuf *why)
{
    const unsigned char *p = buf;
    size_t n = len;
    while (n && is_space(p[n - 1]))
        n--;
    if (n == 2 * KEYS_MASTER_BYTES) {
        bool hex = true;
        for (size_t i = 0; i < n && hex; i++)
            hex = hexval(p[i]) >= 0;
        if (hex) {
            for (size_t i = 0; i < KEYS_MASTER_BYTES; i++)
                out[i] = (uint8_t)(hexval(p[2 * i]) << 4 | hexval(p[2 * i + 1]));
            return DMARCD_OK;
        }
    }
    if (len == KEYS_MASTER_BYTES) {
        memcpy(out, p, KEYS_MASTER_BYTES);
        return DMARCD_OK;
    }
    (void)strbuf_setf(why, "a master key is 32 bytes, or 64 hex digits and an optional newline "
                           "(the file holds %zu bytes); make one with "
                           "`openssl rand -hex 32`", len);
    return DMARCD_E_CONFIG;
}

static enum dmarcd_err read_key_file(const char *path, uint8_t out[KEYS_MASTER_BYTES],
                                     struct strbuf *why)
{
    unsigned char buf[KEYS_FILE_MAX + 1];
    struct stat sb;
    size_t len = 0;
    enum dmarcd_err rc = DMARCD_E_CONFIG;
    /* O_NONBLOCK: a FIFO or device must not hang the open; it is refused below */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        (void)strbuf_setf(why, "%s: %s", path, strerror(errno));
        return DMARCD_E_CONFIG;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        (void)strbuf_setf(why, "%s: not a regular file", path);
        goto out;
    }
    if (sb.st_mode & (S_IROTH | S_IWOTH | S_IXOTH)) {
        (void)strbuf_setf(why, "%s: other users may access it (mode %04o): the master key file "
                               "must not be world-readable (chmod o-rwx)", path,
                          (unsigned)(sb.st_mode & 07777));
        goto out;
    }
    for (;;) {
        ssize_t got = read(fd, buf + len, sizeof(buf) - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            (void)strbuf_setf(why, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        len += (size_t)got;
        if (len == sizeof(buf))
            break;
    }
    if (len > KEYS_FILE_MAX) {
        (void)strbuf_setf(why, "%s: longer than %d bytes: not a master key file", path,
                          KEYS_FILE_MAX);
        goto out;
    }
    rc = keys_parse_master(buf, len, out, why);
    if (rc && why) {
        struct strbuf tmp;
        strbuf_init(&tmp, 0);
        (void)strbuf_addf(&tmp, "%s: %s", path, why->buf);
        (void)strbuf_setf(why, "%s", tmp.buf);
        strbuf_release(&tmp);
    }
out:
    sodium_memzero(buf, sizeof(buf));
    close(fd);
    return rc;
}

static void derive_master(const uint8_t key[KEYS_MASTER_BYTES], struct master *m)
{
    uint8_t id[crypto_kdf_BYTES_MIN];
    crypto_kdf_derive_from_key(m->wrap, sizeof(m->wrap), SUBKEY_WRAP, MASTER_CTX, key);
    crypto_kdf_derive_from_key(id, sizeof(id), SUBKEY_ID, MASTER_CTX, key);
    memcpy(m->id, id, KEYS_ID_BYTES);
    sodium_memzero(id, sizeof(id));
}

struct keyring *keyring_new(const uint8_t current[KEYS_MASTER_BYTES], const uint8_t *previous)
{
    crypto_ready();
    struct keyring *kr = xcalloc(1, sizeof(*kr));
    kr->keys = sodium_malloc(2 * sizeof(struct master));
    if (!kr->keys)
        dmarcd_die("sodium_malloc: out of memory");
    sodium_memzero(kr->keys, 2 * sizeof(struct master));
    derive_master(current, &kr->keys[0]);
    if (previous) {
        derive_master(previous, &kr->keys[1]);
        kr->has_previous = true;
    }
    return kr;
}

enum dmarcd_err keyring_load(const char *current_path, const char *previous_path,
                             struct keyring **out, struct strbuf *why)
{
    uint8_t keys[2][KEYS_MASTER_BYTES];
    *out = NULL;
    if (!current_path || !current_path[0]) {
        (void)strbuf_setf(why, "master_key_file is not set");
        return DMARCD_E_CONFIG;
    }
    enum dmarcd_err rc = read_key_file(current_path, keys[0], why);
    if (!rc && previous_path && previous_path[0])
        rc = read_key_file(previous_path, keys[1], why);
    if (!rc && previous_path && previous_path[0] &&
        sodium_memcmp(keys[0], keys[1], KEYS_MASTER_BYTES) == 0) {
        (void)strbuf_setf(why, "master_key_previous_file holds the same key as "
                               "master_key_file");
        rc = DMARCD_E_CONFIG;
    }
    if (!rc)
        *out = keyring_new(keys[0], previous_path && previous_path[0] ? keys[1] : NULL);
    sodium_memzero(keys, sizeof(keys));
    return rc;
}

void keyring_free(struct keyring *kr)
{
    if (!kr)
        return;
    sodium_free(kr->keys);
    free(kr);
}

void keyring_current_id(const struct keyring *kr, uint8_t id[KEYS_ID_BYTES])
{
    memcpy(id, kr->keys[0].id, KEYS_ID_BYTES);
}

void keyring_current_id_hex(const struct keyring *kr, char out[KEYS_ID_HEX])
{
    store_hex(kr->keys[0].id, KEYS_ID_BYTES, out);
}

bool keyring_has_previous(const struct keyring *kr)
{
    return kr->has_previous;
}

/* ---- wrapping ---- */

static void wrap_ad(uint32_t tenant, uint32_t version, uint8_t *ad, size_t *adlen)
{
    size_t n = sizeof(WRAP_AD) - 1;
    memcpy(ad, WRAP_AD, n);
    for (int i = 3; i >= 0; i--)
        ad[n++] = (uint8_t)(tenant >> (8 * i));
    for (int i = 3; i >= 0; i--)
        ad[n++] = (uint8_t)(version >> (8 * i));
    *adlen = n;
}

void keys_wrap(const struct keyring *kr, uint32_t tenant, uint32_t version,
               const uint8_t dk[KEYS_DATA_BYTES], uint8_t out[KEYS_WRAPPED_BYTES],
               uint8_t id[KEYS_ID_BYTES])
{
    uint8_t ad[sizeof(WRAP_AD) + 8];
    size_t adlen;
    unsigned long long clen;
    wrap_ad(tenant, version, ad, &adlen);
    out[0] = FORMAT_V1;
    randombytes_buf(out + 1, NONCE_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + NONCE_BYTES, &clen, dk, KEYS_DATA_BYTES,
                                               ad, adlen, NULL, out + 1, kr->keys[0].wrap);
    memcpy(id, kr->keys[0].id, KEYS_ID_BYTES);
}

enum dmarcd_err keys_unwrap(const struct keyring *kr, const uint8_t id[KEYS_ID_BYTES],
                            uint32_t tenant, uint32_t version, const uint8_t *wrapped,
                            size_t len, uint8_t dk[KEYS_DATA_BYTES])
{
    const struct master *m = NULL;
    uint8_t ad[sizeof(WRAP_AD) + 8];
    size_t adlen;
    unsigned long long mlen;
    if (sodium_memcmp(id, kr->keys[0].id, KEYS_ID_BYTES) == 0)
        m = &kr->keys[0];
    else if (kr->has_previous && sodium_memcmp(id, kr->keys[1].id, KEYS_ID_BYTES) == 0)
        m = &kr->keys[1];
    if (!m)
        return DMARCD_E_NOT_FOUND;
    if (len != KEYS_WRAPPED_BYTES || wrapped[0] != FORMAT_V1)
        return DMARCD_E_CRYPTO;
    wrap_ad(tenant, version, ad, &adlen);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(dk, &mlen, NULL, wrapped + 1 + NONCE_BYTES,
                                                   len - 1 - NONCE_BYTES, ad, adlen, wrapped + 1,
                                                   m->wrap) != 0 ||
        mlen != KEYS_DATA_BYTES) {
        sodium_memzero(dk, KEYS_DATA_BYTES);
        return DMARCD_E_CRYPTO;
    }
    return DMARCD_OK;
}

/* ---- data keys in the database ---- */

static const char SQL_NEWEST[] =
    "SELECT key_version, master_key_id, wrapped_key FROM tenant_keys WHERE tenant_id = ?"
    " ORDER BY key_version DESC LIMIT 1";
static const char SQL_NEWEST_LOCKED[] =
    "SELECT key_version, master_key_id, wrapped_key FROM tenant_keys WHERE tenant_id = ?"
    " ORDER BY key_version DESC LIMIT 1 LOCK IN SHARE MODE";
static const char SQL_VERSION[] =
    "SELECT key_version, master_key_id, wrapped_key FROM tenant_keys"
    " WHERE tenant_id = ? AND key_version = ?";
static const char SQL_INSERT_KEY[] =
    "INSERT INTO tenant_keys (tenant_id, key_version, master_key_id, wrapped_key, created_at)"
    " VALUES (?, ?, ?, ?, UTC_TIMESTAMP())";

/* Runs a key lookup (tenant [, version]); *found false when no row. */
static enum dmarcd_err read_key(struct store *st, const struct keyring *kr, const char *sql,
                                uint32_t tenant, uint32_t version, bool *found,
                                uint32_t *version_out, uint8_t dk[KEYS_DATA_BYTES])
{
    struct store_stmt *s = NULL;
    bool row = false;
    *found = false;
    enum dmarcd_err rc = store_stmt_prepare(st, sql, &s);
    if (rc)
        goto out;
    store_bind_u64(s, 0, tenant);
    if (sql == SQL_VERSION)
        store_bind_u64(s, 1, version);
    if (!(rc = store_stmt_exec(s)))
        rc = store_stmt_fetch(s, &row);
    if (rc || !row)
        goto out;
    uint32_t v = (uint32_t)store_col_u64(s, 0);
    if (store_col_len(s, 1) != KEYS_ID_BYTES) {
        rc = DMARCD_E_CRYPTO;
        goto out;
    }
    rc = keys_unwrap(kr, (const uint8_t *)store_col_str(s, 1), tenant, v,
                     (const uint8_t *)store_col_str(s, 2), store_col_len(s, 2), dk);
    if (rc == DMARCD_E_NOT_FOUND) {
        log_error("data key wrapped by an unknown master key: configure master_key_file "
                  "(and master_key_previous_file during a rotation)",
                  LOG_UINT("tenant", tenant), LOG_UINT("key_version", v));
        rc = DMARCD_E_CONFIG;
    } else if (rc) {
        log_error("data key does not authenticate", LOG_UINT("tenant", tenant),
                  LOG_UINT("key_version", v));
    }
    if (!rc) {
        *found = true;
        *version_out = v;
    }
out:
    store_stmt_free(s);
    return rc;
}

static enum dmarcd_err insert_key(struct store *st, const struct keyring *kr, uint32_t tenant,
                                  bool *duplicate)
{
    uint8_t dk[KEYS_DATA_BYTES], wrapped[KEYS_WRAPPED_BYTES], id[KEYS_ID_BYTES];
    struct store_stmt *s = NULL;
    crypto_aead_xchacha20poly1305_ietf_keygen(dk);
    keys_wrap(kr, tenant, 1, dk, wrapped, id);
    sodium_memzero(dk, sizeof(dk));
    enum dmarcd_err rc = store_stmt_prepare(st, SQL_INSERT_KEY, &s);
    if (!rc) {
        store_bind_u64(s, 0, tenant);
        store_bind_u64(s, 1, 1);
        store_bind_bytes(s, 2, id, sizeof(id));
        store_bind_bytes(s, 3, wrapped, sizeof(wrapped));
        rc = store_stmt_exec_dup(s, duplicate);
    }
    store_stmt_free(s);
    return rc;
}

enum dmarcd_err keys_tenant_key(struct store *st, const struct keyring *kr, uint32_t tenant,
                                bool create, uint32_t *version, uint8_t dk[KEYS_DATA_BYTES])
{
    bool found = false, duplicate = false;
    if (!kr)
        return DMARCD_E_CONFIG;
    enum dmarcd_err rc = read_key(st, kr, SQL_NEWEST, tenant, 0, &found, version, dk);
    if (rc || found)
        return rc;
    if (!create)
        return DMARCD_E_NOT_FOUND;
    if ((rc = insert_key(st, kr, tenant, &duplicate)))
        return rc;
    if (!duplicate)
        log_info("tenant data key created", LOG_UINT("tenant", tenant));
    rc = read_key(st, kr, SQL_NEWEST_LOCKED, tenant, 0, &found, version, dk);
    if (!rc && !found)
        rc = DMARCD_E_INTERNAL;
    return rc;
}

enum dmarcd_err keys_tenant_key_version(struct store *st, const struct keyring *kr,
                                        uint32_t tenant, uint32_t version,
                                        uint8_t dk[KEYS_DATA_BYTES])
{
    bool found = false;
    uint32_t v;
    if (!kr)
        return DMARCD_E_CONFIG;
    enum dmarcd_err rc = read_key(st, kr, SQL_VERSION, tenant, version, &found, &v, dk);
    if (!rc && !found)
        rc = DMARCD_E_NOT_FOUND;
    return rc;
}

/* ---- sealing ---- */

static void purpose_key(const uint8_t dk[KEYS_DATA_BYTES], enum keys_purpose purpose,
                        uint8_t sub[crypto_aead_xchacha20poly1305_ietf_KEYBYTES])
{
    crypto_kdf_derive_from_key(sub, crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
                               (uint64_t)purpose, SEAL_CTX, dk);
}

void keys_seal(const uint8_t dk[KEYS_DATA_BYTES], enum keys_purpose purpose, const void *ad,
               size_t adlen, const void *plain, size_t len, struct strbuf *out)
{
    uint8_t sub[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    unsigned long long clen;
    size_t total = len + KEYS_SEAL_OVERHEAD;
    uint8_t *buf = xmalloc(total);
    purpose_key(dk, purpose, sub);
    buf[0] = FORMAT_V1;
    randombytes_buf(buf + 1, NONCE_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(buf + 1 + NONCE_BYTES, &clen, plain, len, ad,
                                               adlen, NULL, buf + 1, sub);
    sodium_memzero(sub, sizeof(sub));
    strbuf_reset(out);
    (void)strbuf_add(out, buf, total);
    free(buf);
}

enum dmarcd_err keys_open(const uint8_t dk[KEYS_DATA_BYTES], enum keys_purpose purpose,
                          const void *ad, size_t adlen, const void *blob, size_t len,
                          struct strbuf *out)
{
    uint8_t sub[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    const uint8_t *b = blob;
    unsigned long long mlen;
    strbuf_reset(out);
    if (len < KEYS_SEAL_OVERHEAD || b[0] != FORMAT_V1)
        return DMARCD_E_CRYPTO;
    uint8_t *buf = xmalloc(len - KEYS_SEAL_OVERHEAD + 1);
    purpose_key(dk, purpose, sub);
    int bad = crypto_aead_xchacha20poly1305_ietf_decrypt(buf, &mlen, NULL, b + 1 + NONCE_BYTES,
                                                         len - 1 - NONCE_BYTES, ad, adlen,
                                                         b + 1, sub);
    sodium_memzero(sub, sizeof(sub));
    if (!bad)
        (void)strbuf_add(out, buf, (size_t)mlen);
    sodium_memzero(buf, len - KEYS_SEAL_OVERHEAD + 1);
    free(buf);
    return bad ? DMARCD_E_CRYPTO : DMARCD_OK;
}

void keys_hash_hex(const uint8_t dk[KEYS_DATA_BYTES], const void *text, size_t len,
                   char out[17])
{
    uint8_t sub[crypto_generichash_KEYBYTES];
    uint8_t h[8];
    crypto_kdf_derive_from_key(sub, sizeof(sub), KEYS_PURPOSE_REDACT, SEAL_CTX, dk);
    crypto_generichash(h, sizeof(h), text, len, sub, sizeof(sub));
    sodium_memzero(sub, sizeof(sub));
    store_hex(h, sizeof(h), out);
}

/* ---- rewrap ---- */

struct wrapped_row {
    uint32_t tenant, version;
    uint8_t old_id[KEYS_ID_BYTES];
    uint8_t new_id[KEYS_ID_BYTES];
    uint8_t wrapped[KEYS_WRAPPED_BYTES];
};

/* The next batch of rows after (*after_t, *after_v); *n rows that need a rewrap. */
static enum dmarcd_err rewrap_scan(struct store *st, const struct keyring *kr, uint32_t tenant,
                                   uint32_t *after_t, uint32_t *after_v, struct wrapped_row *rows,
                                   size_t *n, bool *more, struct keys_rewrap_counts *c)
{
    struct store_stmt *s = NULL;
    bool row;
    size_t seen = 0;
    *n = 0;
    enum dmarcd_err rc = store_stmt_prepare(
        st,
        "SELECT tenant_id, key_version, master_key_id, wrapped_key FROM tenant_keys"
        " WHERE (tenant_id > ? OR (tenant_id = ? AND key_version > ?)) AND (? = 0 OR tenant_id = ?)"
        " ORDER BY tenant_id, key_version LIMIT " REWRAP_BATCH_SQL,
        &s);
    if (rc)
        return rc;
    store_bind_u64(s, 0, *after_t);
    store_bind_u64(s, 1, *after_t);
    store_bind_u64(s, 2, *after_v);
    store_bind_u64(s, 3, tenant);
    store_bind_u64(s, 4, tenant);
    rc = store_stmt_exec(s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        uint8_t dk[KEYS_DATA_BYTES];
        uint32_t t = (uint32_t)store_col_u64(s, 0), v = (uint32_t)store_col_u64(s, 1);
        const uint8_t *id = (const uint8_t *)store_col_str(s, 2);
        seen++;
        *after_t = t;
        *after_v = v;
        if (store_col_len(s, 2) != KEYS_ID_BYTES) {
            c->unknown++;
            continue;
        }
        if (sodium_memcmp(id, kr->keys[0].id, KEYS_ID_BYTES) == 0) {
            c->current++;
            continue;
        }
        enum dmarcd_err u = keys_unwrap(kr, id, t, v, (const uint8_t *)store_col_str(s, 3),
                                        store_col_len(s, 3), dk);
        if (u) {
            c->unknown++;
            log_warn("data key not rewrapped: its master key is not configured or the row is "
                     "damaged", LOG_UINT("tenant", t), LOG_UINT("key_version", v),
                     LOG_ERR(u));
            continue;
        }
        struct wrapped_row *w = &rows[(*n)++];
        w->tenant = t;
        w->version = v;
        memcpy(w->old_id, id, KEYS_ID_BYTES);
        keys_wrap(kr, t, v, dk, w->wrapped, w->new_id);
        sodium_memzero(dk, sizeof(dk));
    }
    *more = seen == REWRAP_BATCH;
    store_stmt_free(s);
    return rc;
}

static enum dmarcd_err rewrap_apply(struct store *st, const struct wrapped_row *rows, size_t n,
                                    struct keys_rewrap_counts *c)
{
    struct store_stmt *s = NULL;
    uint64_t done = 0;
    enum dmarcd_err rc = store_stmt_prepare(
        st,
        "UPDATE tenant_keys SET master_key_id = ?, wrapped_key = ?, rewrapped_at = UTC_TIMESTAMP()"
        " WHERE tenant_id = ? AND key_version = ? AND master_key_id = ?",
        &s);
    if (!rc)
        rc = store_begin(st);
    for (size_t i = 0; !rc && i < n; i++) {
        store_bind_bytes(s, 0, rows[i].new_id, KEYS_ID_BYTES);
        store_bind_bytes(s, 1, rows[i].wrapped, KEYS_WRAPPED_BYTES);
        store_bind_u64(s, 2, rows[i].tenant);
        store_bind_u64(s, 3, rows[i].version);
        store_bind_bytes(s, 4, rows[i].old_id, KEYS_ID_BYTES);
        rc = store_stmt_exec(s);
        if (!rc)
            done += store_stmt_affected(s);
    }
    if (!rc)
        rc = store_commit(st);
    if (rc)
        store_rollback(st);
    else
        c->rewrapped += done;
    store_stmt_free(s);
    return rc;
}

enum dmarcd_err keys_rewrap(struct store *st, const struct keyring *kr, uint32_t tenant,
                            struct keys_rewrap_counts *counts)
{
    struct wrapped_row *rows = xcalloc(REWRAP_BATCH, sizeof(*rows));
    uint32_t after_t = 0, after_v = 0;
    bool more = true;
    size_t n = 0;
    enum dmarcd_err rc = DMARCD_OK;
    memset(counts, 0, sizeof(*counts));
    while (!rc && more) {
        rc = rewrap_scan(st, kr, tenant, &after_t, &after_v, rows, &n, &more, counts);
        if (!rc && n)
            rc = rewrap_apply(st, rows, n, counts);
    }
    sodium_memzero(rows, REWRAP_BATCH * sizeof(*rows));
    free(rows);
    return rc;
}
