/*
 * test_inbox_db.c - storage/inbox against a real MariaDB: the same bytes
 * twice are one row, bytes survive the round trip (binary, empty, 10 MB),
 * every state change and its guards, the quarantine row, transactions the
 * caller owns, damaged rows, the reconciler's walk and the counts.
 *
 * Needs DMARCD_DATABASE_URL; without it the program exits 77 (ctest:
 * skipped). Works in its own database dmarc_test_inbox_<pid>_<random>,
 * dropped at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/inbox.h"
#include "storage/stmt.h"
#include "storage/store.h"
#include "testdb.h"
#include "lib/banned.h"

#define SKIP_STATUS 77

static struct store *st;

/* ---- helpers ---- */

static uint64_t query_u64(const char *sql, uint64_t param)
{
    struct store_stmt *s = NULL;
    bool row = false;
    assert_int_equal(store_stmt_prepare(st, sql, &s), DMARCD_OK);
    store_bind_u64(s, 0, param);
    assert_int_equal(store_stmt_exec(s), DMARCD_OK);
    assert_int_equal(store_stmt_fetch(s, &row), DMARCD_OK);
    assert_true(row);
    uint64_t v = store_col_u64(s, 0);
    store_stmt_free(s);
    return v;
}

/* The text of column `col` of inbox row id (heap). */
static char *inbox_text(const char *col, uint64_t id)
{
    char sql[128];
    struct store_stmt *s = NULL;
    bool row = false;
    snprintf(sql, sizeof(sql), "SELECT %s FROM inbox WHERE id = ?", col);
    assert_int_equal(store_stmt_prepare(st, sql, &s), DMARCD_OK);
    store_bind_u64(s, 0, id);
    assert_int_equal(store_stmt_exec(s), DMARCD_OK);
    assert_int_equal(store_stmt_fetch(s, &row), DMARCD_OK);
    assert_true(row);
    char *v = store_col_dup(s, 0);
    store_stmt_free(s);
    return v;
}

static void exec_id(const char *sql, uint64_t id)
{
    struct store_stmt *s = NULL;
    assert_int_equal(store_stmt_prepare(st, sql, &s), DMARCD_OK);
    store_bind_u64(s, 0, id);
    assert_int_equal(store_stmt_exec(s), DMARCD_OK);
    store_stmt_free(s);
}

/* Pretends row id was last changed an hour ago. */
static void age_row(uint64_t id)
{
    exec_id("UPDATE inbox SET updated_at = updated_at - INTERVAL 1 HOUR WHERE id = ?", id);
}

static uint64_t put(const char *text, bool want_dup)
{
    uint64_t id = 0;
    bool dup = !want_dup;
    assert_int_equal(inbox_put(st, text, strlen(text), INBOX_SOURCE_SMTP, "test", 0, &id, &dup),
                     DMARCD_OK);
    assert_true(id > 0);
    assert_int_equal(dup, want_dup);
    return id;
}

static enum inbox_state state_of(uint64_t id)
{
    char *text = inbox_text("state", id);
    enum inbox_state state = INBOX_STATE_COUNT;
    assert_true(inbox_state_parse(text, &state));
    free(text);
    return state;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int empty_tables(void **state)
{
    (void)state;
    if (store_exec_sql(st, "DELETE FROM quarantine") || store_exec_sql(st, "DELETE FROM inbox"))
        return -1;
    return 0;
}

/* ---- put and load ---- */

static void test_put_twice_is_one_row(void **state)
{
    (void)state;
    uint64_t a = put("From: a@example.com\r\n\r\nreport one\r\n", false);
    uint64_t again = put("From: a@example.com\r\n\r\nreport one\r\n", true);
    uint64_t b = put("From: a@example.com\r\n\r\nreport two\r\n", false);
    assert_int_equal(a, again);
    assert_int_not_equal(a, b);
    assert_int_equal(query_u64("SELECT COUNT(*) FROM inbox WHERE id >= ?", 0), 2);
    /* a duplicate leaves the first row as it was, even once processed */
    struct inbox_claim c;
    assert_int_equal(inbox_claim(st, a, 60000, &c), DMARCD_OK);
    assert_int_equal(inbox_done(st, a), DMARCD_OK);
    assert_int_equal(put("From: a@example.com\r\n\r\nreport one\r\n", true), a);
    assert_int_equal(state_of(a), INBOX_DONE);
}

static void round_trip(const uint8_t *bytes, size_t len, const char *want_compression)
{
    uint64_t id = 0;
    bool dup = true;
    uint8_t *raw = NULL;
    size_t got = 99;
    struct inbox_meta m;
    assert_int_equal(inbox_put(st, bytes, len, INBOX_SOURCE_IMAP, "imap test INBOX uid 7", 42,
                               &id, &dup), DMARCD_OK);
    assert_false(dup);
    assert_int_equal(inbox_load(st, id, &raw, &got, &m), DMARCD_OK);
    assert_non_null(raw);
    assert_int_equal(got, len);
    assert_true(len == 0 || memcmp(raw, bytes, len) == 0);
    assert_int_equal(m.id, id);
    assert_int_equal(m.tenant_id, 42);
    assert_int_equal(m.source, INBOX_SOURCE_IMAP);
    assert_int_equal(m.state, INBOX_PENDING);
    assert_int_equal(m.attempts, 0);
    assert_int_equal(m.raw_size, len);
    assert_string_equal(m.origin, "imap test INBOX uid 7");
    assert_string_equal(m.last_error, "");
    assert_int_equal(strlen(m.received_at), 23);     /* YYYY-MM-DD HH:MM:SS.mmm */
    char *compression = inbox_text("compression", id);
    assert_string_equal(compression, want_compression);
    free(compression);
    inbox_meta_release(&m);
    free(raw);
}

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t binary[1024];
    for (size_t i = 0; i < sizeof(binary); i++)
        binary[i] = (uint8_t)(i % 7 == 0 ? 0 : i * 31);   /* NULs and high bytes */
    round_trip(binary, sizeof(binary), "zlib");
    round_trip((const uint8_t *)"", 0, "none");
    /* 10 MB of mail-like text: compresses */
    size_t big = 10 * DMARCD_MiB;
    uint8_t *text = xmalloc(big);
    for (size_t i = 0; i < big; i++)
        text[i] = (uint8_t)("PGZlZWRiYWNrPjxyZWNvcmQ+\r\n"[i % 26] + (i / 26) % 3);
    round_trip(text, big, "zlib");
    /* 10 MB that does not compress: kept as it is */
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < big; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        text[i] = (uint8_t)x;
    }
    round_trip(text, big, "none");
    free(text);
}

static void test_too_big_and_invalid(void **state)
{
    (void)state;
    uint64_t id = 7;
    bool dup = true;
    char small[8] = "x";
    /* the size is checked before a byte is read */
    assert_int_equal(inbox_put(st, small, DMARCD_MAX_MESSAGE_BYTES + 1, INBOX_SOURCE_SMTP, NULL,
                               0, &id, &dup), DMARCD_E_TOO_BIG);
    assert_int_equal(id, 0);
    assert_false(dup);
    assert_int_equal(inbox_put(st, NULL, 3, INBOX_SOURCE_SMTP, NULL, 0, &id, &dup),
                     DMARCD_E_INVALID);
    assert_int_equal(query_u64("SELECT COUNT(*) FROM inbox WHERE id >= ?", 0), 0);
}

static void test_origin_is_fitted(void **state)
{
    (void)state;
    char origin[600];
    uint64_t id = 0;
    bool dup;
    memset(origin, 'o', sizeof(origin) - 1);
    origin[sizeof(origin) - 1] = '\0';
    origin[3] = (char)0xff;     /* not UTF-8: repaired, not refused */
    assert_int_equal(inbox_put(st, "m", 1, INBOX_SOURCE_UPLOAD, origin, 0, &id, &dup),
                     DMARCD_OK);
    assert_int_equal(query_u64("SELECT CHAR_LENGTH(origin) FROM inbox WHERE id = ?", id),
                     INBOX_ORIGIN_MAX);
}

static void test_damaged_rows(void **state)
{
    (void)state;
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t a = put("a message that will be damaged a message that will be damaged", false);
    exec_id("UPDATE inbox SET compressed = 'not zlib at all' WHERE id = ?", a);
    assert_int_equal(inbox_load(st, a, &raw, &len, NULL), DMARCD_E_DECOMPRESS);
    assert_null(raw);
    uint64_t b = put("another message another message another message", false);
    exec_id("UPDATE inbox SET raw_size = raw_size + 1 WHERE id = ?", b);
    assert_int_equal(inbox_load(st, b, &raw, &len, NULL), DMARCD_E_DECOMPRESS);
    uint64_t c = put("third message third message third message", false);
    exec_id("UPDATE inbox SET sha256 = UNHEX(SHA2('x', 256)) WHERE id = ?", c);
    assert_int_equal(inbox_load(st, c, &raw, &len, NULL), DMARCD_E_DECOMPRESS);
    exec_id("UPDATE inbox SET raw_size = 4294967295 WHERE id = ?", c);
    assert_int_equal(inbox_load(st, c, &raw, &len, NULL), DMARCD_E_TOO_BIG);
    assert_int_equal(inbox_load(st, 999999999, &raw, &len, NULL), DMARCD_E_NOT_FOUND);
}

/* ---- transactions ---- */

static void test_caller_transaction(void **state)
{
    (void)state;
    uint64_t id = 0;
    bool dup;
    assert_int_equal(store_begin(st), DMARCD_OK);
    assert_int_equal(inbox_put(st, "rolled back", 11, INBOX_SOURCE_IMAP, NULL, 0, &id, &dup),
                     DMARCD_OK);
    store_rollback(st);
    assert_int_equal(query_u64("SELECT COUNT(*) FROM inbox WHERE id >= ?", 0), 0);
    /* one commit for a batch, as an IMAP poller does */
    assert_int_equal(store_begin(st), DMARCD_OK);
    assert_int_equal(inbox_put(st, "one", 3, INBOX_SOURCE_IMAP, NULL, 0, &id, &dup), DMARCD_OK);
    assert_int_equal(inbox_put(st, "two", 3, INBOX_SOURCE_IMAP, NULL, 0, &id, &dup), DMARCD_OK);
    assert_int_equal(store_commit(st), DMARCD_OK);
    assert_int_equal(query_u64("SELECT COUNT(*) FROM inbox WHERE id >= ?", 0), 2);
    /* quarantine joins the caller's transaction too */
    assert_int_equal(store_begin(st), DMARCD_OK);
    assert_int_equal(inbox_quarantine(st, id, DMARCD_E_XML, "malformed xml"), DMARCD_OK);
    store_rollback(st);
    assert_int_equal(state_of(id), INBOX_PENDING);
    assert_int_equal(query_u64("SELECT COUNT(*) FROM quarantine WHERE inbox_id = ?", id), 0);
}

static void test_duplicate_from_another_connection(void **state)
{
    (void)state;
    struct store *other = NULL;
    uint64_t a = 0, b = 0;
    bool dup_a = true, dup_b = false;
    assert_int_equal(testdb_connect(&other), 0);
    assert_int_equal(inbox_put(st, "same bytes", 10, INBOX_SOURCE_SMTP, NULL, 0, &a, &dup_a),
                     DMARCD_OK);
    assert_int_equal(inbox_put(other, "same bytes", 10, INBOX_SOURCE_IMAP, NULL, 0, &b, &dup_b),
                     DMARCD_OK);
    assert_false(dup_a);
    assert_true(dup_b);
    assert_int_equal(a, b);
    store_close(other);
}

/*
 * The other put committed after this connection's snapshot was taken: the
 * plain lookup misses it, the INSERT collides, and the locking read finds it.
 */
static void test_duplicate_behind_snapshot(void **state)
{
    (void)state;
    struct store *other = NULL;
    uint64_t a = 0, b = 0;
    bool dup_a = true, dup_b = false;
    assert_int_equal(testdb_connect(&other), 0);
    assert_int_equal(store_begin(other), DMARCD_OK);
    struct store *keep = st;
    st = other;                          /* a read in other's transaction fixes its snapshot */
    assert_int_equal(query_u64("SELECT COUNT(*) FROM inbox WHERE id >= ?", 0), 0);
    st = keep;
    assert_int_equal(inbox_put(st, "raced", 5, INBOX_SOURCE_SMTP, NULL, 0, &a, &dup_a),
                     DMARCD_OK);
    assert_int_equal(inbox_put(other, "raced", 5, INBOX_SOURCE_IMAP, NULL, 0, &b, &dup_b),
                     DMARCD_OK);
    assert_false(dup_a);
    assert_true(dup_b);
    assert_int_equal(a, b);
    assert_int_equal(store_commit(other), DMARCD_OK);
    store_close(other);
}

struct racer {
    struct store *st;
    uint64_t id;
    bool dup;
    enum dmarcd_err rc;
};

static void *race_put(void *arg)
{
    struct racer *r = arg;
    r->rc = inbox_put(r->st, "same moment", 11, INBOX_SOURCE_IMAP, NULL, 0, &r->id, &r->dup);
    return NULL;
}

/* Two paths deliver at once: the second INSERT waits on the first's lock. */
static void test_duplicate_while_uncommitted(void **state)
{
    (void)state;
    struct racer r = { .st = NULL, .id = 0, .dup = false, .rc = DMARCD_E_INTERNAL };
    pthread_t thread;
    uint64_t a = 0;
    bool dup_a = true;
    assert_int_equal(testdb_connect(&r.st), 0);
    assert_int_equal(store_begin(st), DMARCD_OK);
    assert_int_equal(inbox_put(st, "same moment", 11, INBOX_SOURCE_SMTP, NULL, 0, &a, &dup_a),
                     DMARCD_OK);
    assert_int_equal(pthread_create(&thread, NULL, race_put, &r), 0);
    sleep_ms(200);                       /* the racer now waits on the row lock */
    assert_int_equal(store_commit(st), DMARCD_OK);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(r.rc, DMARCD_OK);
    assert_false(dup_a);
    assert_true(r.dup);
    assert_int_equal(r.id, a);
    store_close(r.st);
}

/* ---- state changes ---- */

static void test_transitions(void **state)
{
    (void)state;
    struct inbox_claim c;
    uint64_t id = put("state machine", false);
    assert_int_equal(inbox_claim(st, id, 60000, &c), DMARCD_OK);
    assert_true(c.claimed);
    assert_int_equal(c.state, INBOX_PROCESSING);
    assert_int_equal(c.attempts, 1);
    /* held by a live worker: a duplicate job gets nothing */
    assert_int_equal(inbox_claim(st, id, 60000, &c), DMARCD_OK);
    assert_false(c.claimed);
    assert_int_equal(c.state, INBOX_PROCESSING);
    assert_int_equal(inbox_touch(st, id), DMARCD_OK);
    /* transient failure: back to pending with the reason */
    assert_int_equal(inbox_release(st, id, "database unreachable"), DMARCD_OK);
    assert_int_equal(state_of(id), INBOX_PENDING);
    char *err = inbox_text("last_error", id);
    assert_string_equal(err, "database unreachable");
    free(err);
    assert_int_equal(inbox_claim(st, id, 60000, &c), DMARCD_OK);
    assert_true(c.claimed);
    assert_int_equal(c.attempts, 2);
    assert_int_equal(inbox_done(st, id), DMARCD_OK);
    assert_int_equal(state_of(id), INBOX_DONE);
    /* a finished row stays finished: late duplicates and stale workers change nothing */
    assert_int_equal(inbox_claim(st, id, 0, &c), DMARCD_OK);
    assert_false(c.claimed);
    assert_int_equal(c.state, INBOX_DONE);
    assert_int_equal(inbox_done(st, id), DMARCD_OK);
    assert_int_equal(inbox_release(st, id, "late"), DMARCD_OK);
    assert_int_equal(inbox_quarantine(st, id, DMARCD_E_XML, "late"), DMARCD_OK);
    assert_int_equal(state_of(id), INBOX_DONE);
    assert_int_equal(query_u64("SELECT COUNT(*) FROM quarantine WHERE inbox_id = ?", id), 0);
    /* release only applies to a row in hand */
    uint64_t p = put("still pending", false);
    assert_int_equal(inbox_release(st, p, "nothing to release"), DMARCD_OK);
    char *none = inbox_text("last_error", p);
    assert_string_equal(none, "");
    free(none);
}

static void test_lease_takeover(void **state)
{
    (void)state;
    struct inbox_claim c;
    uint64_t id = put("worker dies holding this", false);
    assert_int_equal(inbox_claim(st, id, 60000, &c), DMARCD_OK);
    assert_true(c.claimed);
    sleep_ms(60);
    assert_int_equal(inbox_claim(st, id, 60000, &c), DMARCD_OK);
    assert_false(c.claimed);
    assert_int_equal(inbox_claim(st, id, 20, &c), DMARCD_OK);   /* lease of 20 ms ran out */
    assert_true(c.claimed);
    assert_int_equal(c.attempts, 2);
    assert_int_equal(c.state, INBOX_PROCESSING);
}

static void test_quarantine(void **state)
{
    (void)state;
    char reason[6000];
    uint64_t id = 0;
    bool dup;
    assert_int_equal(inbox_put(st, "<feedback>", 10, INBOX_SOURCE_SMTP, NULL, 17, &id, &dup),
                     DMARCD_OK);
    struct inbox_claim c;
    assert_int_equal(inbox_claim(st, id, 60000, &c), DMARCD_OK);
    snprintf(reason, sizeof(reason), "malformed xml: premature end of data at line 1 ");
    size_t n = strlen(reason);
    memset(reason + n, 'r', sizeof(reason) - n - 1);
    reason[sizeof(reason) - 1] = '\0';
    assert_int_equal(inbox_quarantine(st, id, DMARCD_E_XML, reason), DMARCD_OK);
    assert_int_equal(state_of(id), INBOX_QUARANTINED);
    assert_int_equal(query_u64("SELECT COUNT(*) FROM quarantine WHERE inbox_id = ?", id), 1);
    assert_int_equal(query_u64("SELECT tenant_id FROM quarantine WHERE inbox_id = ?", id), 17);
    assert_int_equal(query_u64("SELECT CHAR_LENGTH(reason) FROM quarantine WHERE inbox_id = ?",
                               id), INBOX_REASON_MAX);
    assert_int_equal(query_u64("SELECT error_code = 'xml' FROM quarantine WHERE inbox_id = ?",
                               id), 1);
    assert_int_equal(query_u64("SELECT reason LIKE 'malformed xml: premature%' FROM quarantine"
                               " WHERE inbox_id = ?", id), 1);
    assert_int_equal(query_u64("SELECT CHAR_LENGTH(last_error) FROM inbox WHERE id = ?", id),
                     INBOX_LAST_ERROR_MAX);
    /* twice: still one quarantine row */
    assert_int_equal(inbox_quarantine(st, id, DMARCD_E_XML, "again"), DMARCD_OK);
    assert_int_equal(query_u64("SELECT COUNT(*) FROM quarantine WHERE inbox_id = ?", id), 1);
    /* a pending row may be quarantined directly (e.g. out of attempts); no reason given */
    uint64_t p = put("never claimed", false);
    assert_int_equal(inbox_quarantine(st, p, DMARCD_E_DB_UNAVAILABLE, NULL), DMARCD_OK);
    assert_int_equal(query_u64("SELECT reason = 'database unreachable' FROM quarantine"
                               " WHERE inbox_id = ?", p), 1);
}

static void test_missing_rows(void **state)
{
    (void)state;
    struct inbox_claim c;
    uint64_t none = 987654321;
    assert_int_equal(inbox_claim(st, none, 1000, &c), DMARCD_E_NOT_FOUND);
    assert_false(c.claimed);
    assert_int_equal(inbox_touch(st, none), DMARCD_E_NOT_FOUND);
    assert_int_equal(inbox_done(st, none), DMARCD_E_NOT_FOUND);
    assert_int_equal(inbox_release(st, none, NULL), DMARCD_E_NOT_FOUND);
    assert_int_equal(inbox_quarantine(st, none, DMARCD_E_XML, "x"), DMARCD_E_NOT_FOUND);
    assert_int_equal(query_u64("SELECT COUNT(*) FROM quarantine WHERE inbox_id = ?", none), 0);
}

/* ---- the reconciler's walk and the counts ---- */

static void collect_sweep(uint32_t grace_ms, uint32_t lease_ms, size_t page, uint64_t *out,
                          size_t *count)
{
    struct inbox_cursor cur;
    uint64_t ids[8];
    size_t n = 0, calls = 0;
    inbox_cursor_init(&cur);
    *count = 0;
    while (!inbox_cursor_done(&cur)) {
        assert_int_equal(inbox_pending(st, &cur, grace_ms, lease_ms, ids, page, &n), DMARCD_OK);
        assert_true(n <= page);
        if (n < page)
            assert_true(inbox_cursor_done(&cur));
        memcpy(out + *count, ids, n * sizeof(*ids));
        *count += n;
        assert_true(++calls < 100);
    }
}

static bool contains(const uint64_t *ids, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == id)
            return true;
    }
    return false;
}

static void test_pending_walk(void **state)
{
    (void)state;
    struct inbox_claim c;
    uint64_t want[5], got[32];
    size_t n = 0;
    char text[32];
    for (int i = 0; i < 5; i++) {       /* five old pending rows */
        snprintf(text, sizeof(text), "old pending %d", i);
        want[i] = put(text, false);
        age_row(want[i]);
    }
    uint64_t fresh = put("fresh pending", false);            /* within the grace period */
    uint64_t dead = put("dead worker's", false);
    assert_int_equal(inbox_claim(st, dead, 1000, &c), DMARCD_OK);
    age_row(dead);                                           /* lease long expired */
    uint64_t live = put("live worker's", false);
    assert_int_equal(inbox_claim(st, live, 1000, &c), DMARCD_OK);
    uint64_t done = put("finished", false);
    assert_int_equal(inbox_done(st, done), DMARCD_OK);
    age_row(done);
    for (size_t page = 1; page <= 8; page++) {
        collect_sweep(60000, 60000, page, got, &n);
        assert_int_equal(n, 6);
        for (int i = 0; i < 5; i++)
            assert_true(contains(got, n, want[i]));
        assert_true(contains(got, n, dead));
        assert_false(contains(got, n, fresh));
        assert_false(contains(got, n, live));
        assert_false(contains(got, n, done));
    }
    /* no grace: the fresh row too */
    sleep_ms(5);
    collect_sweep(0, 60000, 3, got, &n);
    assert_int_equal(n, 7);
    assert_true(contains(got, n, fresh));
}

static void test_counts(void **state)
{
    (void)state;
    struct inbox_counts k;
    struct inbox_claim c;
    assert_int_equal(inbox_count(st, &k), DMARCD_OK);
    assert_int_equal(k.by_state[INBOX_PENDING], 0);
    assert_int_equal(k.oldest_pending_ms, 0);
    uint64_t a = put("count a", false);
    put("count b", false);
    uint64_t c1 = put("count c", false);
    uint64_t d = put("count d", false);
    age_row(a);
    assert_int_equal(inbox_claim(st, c1, 1000, &c), DMARCD_OK);
    assert_int_equal(inbox_done(st, c1), DMARCD_OK);
    assert_int_equal(inbox_quarantine(st, d, DMARCD_E_NOT_REPORT, "no report"), DMARCD_OK);
    assert_int_equal(inbox_count(st, &k), DMARCD_OK);
    assert_int_equal(k.by_state[INBOX_PENDING], 2);
    assert_int_equal(k.by_state[INBOX_PROCESSING], 0);
    assert_int_equal(k.by_state[INBOX_DONE], 1);
    assert_int_equal(k.by_state[INBOX_QUARANTINED], 1);
    assert_true(k.oldest_pending_ms >= 3600 * 1000);
    assert_true(k.oldest_pending_ms < 3700 * 1000);
}

int main(void)
{
    if (testdb_env_missing())
        return SKIP_STATUS;
    log_set_level(LOG_LEVEL_ERROR);
    if (testdb_create("inbox", &st))
        return 1;
#define T(f) cmocka_unit_test_setup(f, empty_tables)
    const struct CMUnitTest tests[] = {
        T(test_put_twice_is_one_row), T(test_round_trip), T(test_too_big_and_invalid),
        T(test_origin_is_fitted), T(test_damaged_rows), T(test_caller_transaction),
        T(test_duplicate_from_another_connection),
        T(test_duplicate_behind_snapshot), T(test_duplicate_while_uncommitted),
        T(test_transitions), T(test_lease_takeover),
        T(test_quarantine), T(test_missing_rows), T(test_pending_walk), T(test_counts),
    };
#undef T
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    testdb_drop();
    return failed ? 1 : 0;
}
