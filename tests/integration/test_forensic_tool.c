/*
 * test_forensic_tool.c - what test_forensic.sh needs from dmarcd's own
 * API rather than from the command line: reading a failure report's blob
 * the way the API will (forensic_sample_read), and the inbox steps of a
 * worker (inbox_put, inbox_done, forensic_inbox_forget), plus a scan of
 * every inbox row's decompressed bytes.
 *
 *   test_forensic_tool read TENANT_ID FAILURE_ID      blob to stdout
 *   test_forensic_tool inbox-put FILE                 stored and done: prints the id
 *   test_forensic_tool inbox-forget ID
 *   test_forensic_tool inbox-grep TEXT                rows holding TEXT: prints the count
 *
 * The database is DMARCD_DATABASE_URL; the master keys are the files named
 * by DMARCD_MASTER_KEY_FILE and DMARCD_MASTER_KEY_PREVIOUS_FILE (either
 * may be unset). Exit status: 0 ok, 4 not found, 1 any other error (its
 * code on stderr as "error=CODE").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/url.h"
#include "storage/forensic.h"
#include "storage/inbox.h"
#include "storage/keys.h"
#include "storage/stmt.h"
#include "storage/store.h"
#include "lib/banned.h"

static int fail(enum dmarcd_err rc, const char *what)
{
    fprintf(stderr, "%s: error=%s\n", what, dmarcd_err_code(rc));
    return rc == DMARCD_E_NOT_FOUND ? 4 : 1;
}

static int cmd_read(struct store *st, int argc, char **argv)
{
    struct keyring *keys = NULL;
    struct forensic_sample s;
    struct strbuf why;
    if (argc != 4)
        return 2;
    const char *cur = getenv("DMARCD_MASTER_KEY_FILE");
    const char *prev = getenv("DMARCD_MASTER_KEY_PREVIOUS_FILE");
    strbuf_init(&why, 0);
    if (cur && *cur && keyring_load(cur, prev, &keys, &why)) {
        fprintf(stderr, "keys: %s\n", why.buf);
        strbuf_release(&why);
        return 1;
    }
    strbuf_release(&why);
    forensic_sample_init(&s);
    enum dmarcd_err rc = forensic_sample_read(st, keys, (uint32_t)strtoul(argv[2], NULL, 10),
                                              strtoull(argv[3], NULL, 10), &s);
    int status = 0;
    if (rc) {
        status = fail(rc, "read");
    } else {
        printf("format=%s\nday=%s\nfingerprint=%s\n", forensic_format_name(s.format),
               s.report_day, s.fingerprint);
        fwrite(s.data.buf, 1, s.data.len, stdout);
    }
    forensic_sample_release(&s);
    keyring_free(keys);
    return status;
}

static int cmd_inbox_put(struct store *st, const char *path)
{
    struct strbuf raw;
    char buf[65536];
    size_t n;
    uint64_t id = 0;
    bool dup = false;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    strbuf_init(&raw, 0);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        (void)strbuf_add(&raw, buf, n);
    fclose(f);
    enum dmarcd_err rc = inbox_put(st, raw.buf, raw.len, INBOX_SOURCE_IMPORT, path, 0, &id, &dup);
    if (!rc)
        rc = inbox_done(st, id);
    strbuf_release(&raw);
    if (rc)
        return fail(rc, "inbox-put");
    printf("%" PRIu64 "\n", id);
    return 0;
}

static int cmd_inbox_grep(struct store *st, const char *text)
{
    struct store_stmt *s = NULL;
    bool row;
    uint64_t *ids = NULL, hits = 0;
    size_t n = 0;
    enum dmarcd_err rc = store_stmt_prepare(st, "SELECT id FROM inbox ORDER BY id", &s);
    if (!rc)
        rc = store_stmt_exec(s);
    while (!rc && !(rc = store_stmt_fetch(s, &row)) && row) {
        ids = realloc(ids, (n + 1) * sizeof(*ids));
        if (!ids)
            abort();
        ids[n++] = store_col_u64(s, 0);
    }
    store_stmt_free(s);
    for (size_t i = 0; !rc && i < n; i++) {
        uint8_t *raw = NULL;
        size_t len = 0;
        rc = inbox_load(st, ids[i], &raw, &len, NULL);
        if (!rc && memmem(raw, len, text, strlen(text)))
            hits++;
        free(raw);
    }
    free(ids);
    if (rc)
        return fail(rc, "inbox-grep");
    printf("%" PRIu64 "\n", hits);
    return 0;
}

int main(int argc, char **argv)
{
    struct db_url url = { 0 };
    struct store *st = NULL;
    const char *text = getenv("DMARCD_DATABASE_URL");
    if (argc < 2 || !text) {
        fprintf(stderr, "usage: test_forensic_tool read|inbox-put|inbox-forget|inbox-grep ...\n"
                        "(with DMARCD_DATABASE_URL)\n");
        return 2;
    }
    if (db_url_parse(text, &url, NULL) || store_open(&url, &st)) {
        fprintf(stderr, "cannot connect to DMARCD_DATABASE_URL\n");
        db_url_release(&url);
        return 3;
    }
    int status = 2;
    if (strcmp(argv[1], "read") == 0) {
        status = cmd_read(st, argc, argv);
    } else if (strcmp(argv[1], "inbox-put") == 0 && argc == 3) {
        status = cmd_inbox_put(st, argv[2]);
    } else if (strcmp(argv[1], "inbox-forget") == 0 && argc == 3) {
        enum dmarcd_err rc = forensic_inbox_forget(st, strtoull(argv[2], NULL, 10));
        status = rc ? fail(rc, "inbox-forget") : 0;
    } else if (strcmp(argv[1], "inbox-grep") == 0 && argc == 3) {
        status = cmd_inbox_grep(st, argv[2]);
    }
    store_close(st);
    db_url_release(&url);
    return status;
}
