/*
 * Unit tests for storage/keys (key files, wrapping, sealing, the keyed
 * hash), forensic_redact and the names of storage/forensic, and the date
 * arithmetic of storage/retention. No database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "storage/forensic.h"
#include "storage/keys.h"
#include "storage/retention.h"
#include "lib/banned.h"

static const char HEX[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static void fill(uint8_t *k, uint8_t base)
{
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)(base + i);
}

static void test_parse_master(void **state)
{
    (void)state;
    uint8_t k[32], want[32];
    struct strbuf why;
    strbuf_init(&why, 0);
    fill(want, 0);
    assert_int_equal(keys_parse_master(HEX, 64, k, &why), DMARCD_OK);
    assert_memory_equal(k, want, 32);
    char text[80];
    snprintf(text, sizeof(text), "%s\n", HEX);
    assert_int_equal(keys_parse_master(text, strlen(text), k, &why), DMARCD_OK);
    for (char *p = text; *p; p++) /* upper case hex too */
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_int_equal(keys_parse_master(text, strlen(text), k, &why), DMARCD_OK);
    assert_memory_equal(k, want, 32);
    assert_int_equal(keys_parse_master(want, 32, k, &why), DMARCD_OK); /* raw */
    assert_memory_equal(k, want, 32);
    assert_int_equal(keys_parse_master(HEX, 62, k, &why), DMARCD_E_CONFIG);
    assert_non_null(strstr(why.buf, "32 bytes"));
    assert_int_equal(keys_parse_master(want, 31, k, &why), DMARCD_E_CONFIG);
    memcpy(text, HEX, 64);
    text[10] = 'g';
    assert_int_equal(keys_parse_master(text, 64, k, &why), DMARCD_E_CONFIG);
    assert_int_equal(keys_parse_master("", 0, k, &why), DMARCD_E_CONFIG);
    strbuf_release(&why);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_keyring_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/dmarcd-test-keys-XXXXXX", a[64], b[64];
    struct keyring *kr = NULL;
    struct strbuf why;
    strbuf_init(&why, 0);
    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof(a), "%s/a", dir);
    snprintf(b, sizeof(b), "%s/b", dir);
    write_file(a, HEX, 0644);
    assert_int_equal(keyring_load(a, NULL, &kr, &why), DMARCD_E_CONFIG);
    assert_null(kr);
    assert_non_null(strstr(why.buf, "world-readable"));
    assert_int_equal(chmod(a, 0640), 0);
    assert_int_equal(keyring_load(a, NULL, &kr, &why), DMARCD_OK);
    assert_non_null(kr);
    assert_false(keyring_has_previous(kr));
    keyring_free(kr);
    write_file(b, HEX, 0600);
    assert_int_equal(keyring_load(a, b, &kr, &why), DMARCD_E_CONFIG); /* the same key */
    assert_non_null(strstr(why.buf, "same key"));
    write_file(b, "not a key\n", 0600);
    assert_int_equal(keyring_load(a, b, &kr, &why), DMARCD_E_CONFIG);
    assert_non_null(strstr(why.buf, b));
    assert_int_equal(keyring_load(dir, NULL, &kr, &why), DMARCD_E_CONFIG); /* a directory */
    assert_int_equal(keyring_load("/nonexistent/key", NULL, &kr, &why), DMARCD_E_CONFIG);
    assert_int_equal(keyring_load(NULL, NULL, &kr, &why), DMARCD_E_CONFIG);
    unlink(a);
    unlink(b);
    rmdir(dir);
    strbuf_release(&why);
}

static void test_wrap_unwrap(void **state)
{
    (void)state;
    uint8_t m1[32], m2[32], dk[32], out[32], wrapped[KEYS_WRAPPED_BYTES], id[KEYS_ID_BYTES];
    uint8_t id2[KEYS_ID_BYTES];
    fill(m1, 1);
    fill(m2, 2);
    fill(dk, 100);
    struct keyring *old = keyring_new(m1, NULL);
    struct keyring *both = keyring_new(m2, m1);
    struct keyring *fresh = keyring_new(m2, NULL);
    keys_wrap(old, 7, 1, dk, wrapped, id);
    assert_int_equal(keys_unwrap(old, id, 7, 1, wrapped, sizeof(wrapped), out), DMARCD_OK);
    assert_memory_equal(out, dk, 32);
    /* bound to the tenant and version */
    assert_int_equal(keys_unwrap(old, id, 8, 1, wrapped, sizeof(wrapped), out), DMARCD_E_CRYPTO);
    assert_int_equal(keys_unwrap(old, id, 7, 2, wrapped, sizeof(wrapped), out), DMARCD_E_CRYPTO);
    wrapped[30] ^= 1;
    assert_int_equal(keys_unwrap(old, id, 7, 1, wrapped, sizeof(wrapped), out), DMARCD_E_CRYPTO);
    wrapped[30] ^= 1;
    /* during a rotation the previous key still opens it; without it, nothing does */
    assert_int_equal(keys_unwrap(both, id, 7, 1, wrapped, sizeof(wrapped), out), DMARCD_OK);
    assert_memory_equal(out, dk, 32);
    assert_int_equal(keys_unwrap(fresh, id, 7, 1, wrapped, sizeof(wrapped), out),
                     DMARCD_E_NOT_FOUND);
    /* rewrapped under the current key: ids differ, the data key is the same */
    keys_wrap(both, 7, 1, dk, wrapped, id2);
    assert_memory_not_equal(id, id2, KEYS_ID_BYTES);
    keyring_current_id(fresh, id);
    assert_memory_equal(id, id2, KEYS_ID_BYTES);
    assert_int_equal(keys_unwrap(fresh, id2, 7, 1, wrapped, sizeof(wrapped), out), DMARCD_OK);
    assert_memory_equal(out, dk, 32);
    char hex[KEYS_ID_HEX];
    keyring_current_id_hex(fresh, hex);
    assert_int_equal(strlen(hex), 16);
    keyring_free(old);
    keyring_free(both);
    keyring_free(fresh);
    keyring_free(NULL);
}

static void test_seal_open(void **state)
{
    (void)state;
    uint8_t dk[32], other[32];
    struct strbuf blob, plain;
    strbuf_init(&blob, 0);
    strbuf_init(&plain, 0);
    fill(dk, 5);
    fill(other, 6);
    const char msg[] = "Original-Rcpt-To: alice@example.com";
    keys_seal(dk, KEYS_PURPOSE_SAMPLE, "ad", 2, msg, sizeof(msg) - 1, &blob);
    assert_int_equal(blob.len, sizeof(msg) - 1 + KEYS_SEAL_OVERHEAD);
    assert_null(memmem(blob.buf, blob.len, "alice", 5));
    assert_int_equal(keys_open(dk, KEYS_PURPOSE_SAMPLE, "ad", 2, blob.buf, blob.len, &plain),
                     DMARCD_OK);
    assert_int_equal(plain.len, sizeof(msg) - 1);
    assert_memory_equal(plain.buf, msg, plain.len);
    assert_int_equal(keys_open(dk, KEYS_PURPOSE_SAMPLE, "ax", 2, blob.buf, blob.len, &plain),
                     DMARCD_E_CRYPTO);
    assert_int_equal(plain.len, 0);
    assert_int_equal(keys_open(dk, KEYS_PURPOSE_SECRET, "ad", 2, blob.buf, blob.len, &plain),
                     DMARCD_E_CRYPTO);
    assert_int_equal(keys_open(other, KEYS_PURPOSE_SAMPLE, "ad", 2, blob.buf, blob.len, &plain),
                     DMARCD_E_CRYPTO);
    assert_int_equal(keys_open(dk, KEYS_PURPOSE_SAMPLE, "ad", 2, blob.buf, 10, &plain),
                     DMARCD_E_CRYPTO);
    blob.buf[blob.len - 1] ^= 1;
    assert_int_equal(keys_open(dk, KEYS_PURPOSE_SAMPLE, "ad", 2, blob.buf, blob.len, &plain),
                     DMARCD_E_CRYPTO);
    /* two seals of the same text differ (random nonce) */
    struct strbuf again;
    strbuf_init(&again, 0);
    keys_seal(dk, KEYS_PURPOSE_SAMPLE, "ad", 2, msg, sizeof(msg) - 1, &again);
    assert_memory_not_equal(again.buf, blob.buf, again.len);
    strbuf_release(&again);
    strbuf_release(&blob);
    strbuf_release(&plain);
}

static void test_hash_and_redact(void **state)
{
    (void)state;
    uint8_t dk[32], other[32];
    char h1[17], h2[17], h3[17];
    struct strbuf out;
    strbuf_init(&out, 0);
    fill(dk, 9);
    fill(other, 10);
    keys_hash_hex(dk, "bob@example.com", 15, h1);
    keys_hash_hex(dk, "bob@example.com", 15, h2);
    keys_hash_hex(other, "bob@example.com", 15, h3);
    assert_string_equal(h1, h2);
    assert_string_not_equal(h1, h3);
    assert_int_equal(strlen(h1), 16);

    const char *w = "delivery-result \"Bob Smith\" read as \"other\"; from bob@example.com "
                    "(record 3) <x@y.example>";
    forensic_redact(FORENSIC_REDACT_MASK, dk, w, &out);
    assert_string_equal(out.buf, "delivery-result \"***\" read as \"***\"; from *** "
                                 "(record 3) <***>");
    strbuf_reset(&out);
    forensic_redact(FORENSIC_REDACT_OFF, dk, w, &out);
    assert_string_equal(out.buf, w);
    strbuf_reset(&out);
    forensic_redact(FORENSIC_REDACT_HASH, dk, "to bob@example.com", &out);
    char want[40];
    snprintf(want, sizeof(want), "to h:%s", h1);
    assert_string_equal(out.buf, want);
    strbuf_reset(&out);
    forensic_redact(FORENSIC_REDACT_HASH, NULL, "to bob@example.com", &out); /* no key: mask */
    assert_string_equal(out.buf, "to ***");
    strbuf_reset(&out);
    /* nothing personal: unchanged; an '@' alone or at an edge is no address */
    const char *plain = "sample headers cut at 1024 bytes; @ a@ @b \"unterminated";
    forensic_redact(FORENSIC_REDACT_MASK, dk, plain, &out);
    assert_string_equal(out.buf, plain);
    strbuf_release(&out);
}

static void test_names(void **state)
{
    (void)state;
    enum forensic_policy p;
    enum forensic_redaction r;
    enum forensic_fallback f;
    const char *policies[] = { "encrypted", "pgp", "none", "none-drop" };
    for (int i = 0; i < 4; i++) {
        assert_true(forensic_policy_parse(policies[i], &p));
        assert_string_equal(forensic_policy_name(p), policies[i]);
    }
    assert_false(forensic_policy_parse("clear", &p));
    assert_false(forensic_policy_parse(NULL, &p));
    assert_true(forensic_redaction_parse("hash", &r));
    assert_string_equal(forensic_redaction_name(r), "hash");
    assert_false(forensic_redaction_parse("Mask", &r));
    assert_true(forensic_fallback_parse("encrypted", &f));
    assert_int_equal(f, FORENSIC_FALLBACK_ENCRYPTED);
    assert_false(forensic_fallback_parse("clear", &f));
    assert_string_equal(forensic_format_name(FORENSIC_FORMAT_PGP_BINARY), "pgp-binary");
    for (int i = 0; i < 4; i++)
        assert_int_equal(forensic_inbox_disposition((enum forensic_policy)i),
                         FORENSIC_INBOX_DELETE);
}

static void test_cutoff(void **state)
{
    (void)state;
    char out[11];
    assert_int_equal(retention_cutoff("2026-11-23", 3, 0, out), DMARCD_OK);
    assert_string_equal(out, "2026-08-23");
    assert_int_equal(retention_cutoff("2025-05-31", 3, 0, out), DMARCD_OK);
    assert_string_equal(out, "2025-02-28");
    assert_int_equal(retention_cutoff("2024-05-31", 3, 0, out), DMARCD_OK);
    assert_string_equal(out, "2024-02-29");
    assert_int_equal(retention_cutoff("2026-01-15", 24, 0, out), DMARCD_OK);
    assert_string_equal(out, "2024-01-15");
    assert_int_equal(retention_cutoff("2026-03-03", 0, 7, out), DMARCD_OK);
    assert_string_equal(out, "2026-02-24");
    assert_int_equal(retention_cutoff("2026-01-01", 0, 365, out), DMARCD_OK);
    assert_string_equal(out, "2025-01-01");
    assert_int_equal(retention_cutoff("2026-11-23", 0, 0, out), DMARCD_OK);
    assert_string_equal(out, "2026-11-23");
    assert_int_equal(retention_cutoff("2026-02-30", 0, 0, out), DMARCD_E_INVALID);
    assert_int_equal(retention_cutoff("2026-13-01", 0, 0, out), DMARCD_E_INVALID);
    assert_int_equal(retention_cutoff("2026-1-01", 0, 0, out), DMARCD_E_INVALID);
    assert_int_equal(retention_cutoff("2026-01-01x", 0, 0, out), DMARCD_E_INVALID);
    assert_int_equal(retention_cutoff(NULL, 0, 0, out), DMARCD_E_INVALID);
    enum retention_tier t;
    assert_true(retention_tier_parse("basic-plus", &t));
    assert_int_equal(t, RETENTION_BASIC_PLUS);
    assert_false(retention_tier_parse("gold", &t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_master), cmocka_unit_test(test_keyring_load),
        cmocka_unit_test(test_wrap_unwrap),  cmocka_unit_test(test_seal_open),
        cmocka_unit_test(test_hash_and_redact), cmocka_unit_test(test_names),
        cmocka_unit_test(test_cutoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
