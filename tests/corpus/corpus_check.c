/*
 * corpus_check.c - pins what the parser makes of every file in the shared
 * corpus of real reports (../shared/corpus, never copied into the project).
 *
 *   corpus_check CORPUS_DIR EXPECTED_FILE          compare, exit 1 on any difference
 *   corpus_check --print CORPUS_DIR FILE...        print summaries to start an entry
 *
 * EXPECTED_FILE holds one block per corpus file:
 *
 *   == parsedmarc/samples/aggregate/empty_reason.xml
 *   aggregate rfc7489 org="..." id="..." domain=example.com range=B..E records=2 messages=5
 *     warning: ...
 *   error not_report part="..." detail="..."
 *
 * Each summary line is what the parser delivered for one report (or one
 * failed part), in order. Lines are compared exactly, so a changed warning,
 * a lost record or a new error all show. Exit 77 (skipped) when the corpus
 * directory is absent.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "parser/parse.h"
#include "parser/sinks.h"
#include "lib/banned.h"

#define SKIPPED 77

/* Appends value with quotes, backslashes and control bytes escaped. */
static void escaped(struct strbuf *out, const char *value)
{
    for (const char *p = value; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            strbuf_addf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            strbuf_addf(out, "\\x%02x", c);
        else
            strbuf_addch(out, (char)c);
    }
}

static void quoted(struct strbuf *out, const char *key, const char *value)
{
    if (!value)
        return;
    strbuf_addf(out, " %s=\"", key);
    escaped(out, value);
    strbuf_addch(out, '"');
}

/* The summary of one parsed file, as the lines of its expectation block. */
static void summarise(const char *corpus, const char *rel, struct strbuf *out)
{
    struct strbuf path;
    struct collect_sink c;
    struct parse_stats stats = { 0 };
    struct parse_options opts = { .strict = false };

    strbuf_init(&path, 0);
    strbuf_addf(&path, "%s/%s", corpus, rel);
    collect_sink_init(&c);
    struct report_sink sink = collect_sink_as_report_sink(&c);
    enum dmarcd_err rc = report_parse_file(path.buf, &opts, &sink, &stats);
    (void)rc; /* every failure is in the collected summaries */

    for (size_t i = 0; i < c.count; i++) {
        const struct collected_report *r = &c.items[i];
        if (strcmp(r->format, "none") == 0) { /* a part that failed before any report */
            strbuf_addf(out, "error %s", dmarcd_err_code(r->error));
            quoted(out, "part", r->part);
            quoted(out, "detail", r->detail);
            strbuf_addch(out, '\n');
            continue;
        }
        strbuf_addf(out, "%s %s", report_kind_name(r->kind), r->format);
        quoted(out, "org", r->org);
        quoted(out, "id", r->report_id);
        quoted(out, "domain", r->domain);
        quoted(out, "part", r->part);
        strbuf_addf(out, " range=%" PRId64 "..%" PRId64 " records=%" PRIu64 " messages=%" PRIu64,
                    r->begin, r->end, r->records, r->messages);
        if (r->error) {
            strbuf_addf(out, " aborted=%s", dmarcd_err_code(r->error));
            quoted(out, "detail", r->detail);
        }
        strbuf_addch(out, '\n');
        for (size_t w = 0; w < r->n_warnings; w++) {
            strbuf_addstr(out, "  warning: ");
            escaped(out, r->warnings[w]);
            strbuf_addch(out, '\n');
        }
    }
    collect_sink_release(&c);
    strbuf_release(&path);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct strbuf sb;
    char chunk[65536];
    size_t n;
    if (!f) {
        fprintf(stderr, "corpus: cannot read %s: %s\n", path, strerror(errno));
        exit(2);
    }
    strbuf_init(&sb, 0);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        strbuf_add(&sb, chunk, n);
    fclose(f);
    return strbuf_detach(&sb, NULL);
}

/* Compares every block of the expectation file; returns the number of mismatches. */
static int compare_all(const char *corpus, char *expected, int *checked)
{
    int bad = 0;
    char *block = strstr(expected, "== ");
    while (block) {
        char *name = block + 3;
        char *nl = strchr(name, '\n');
        if (!nl)
            break;
        *nl = '\0';
        char *body = nl + 1;
        char *next = strstr(body, "\n== ");
        size_t body_len = next ? (size_t)(next + 1 - body) : strlen(body);
        struct strbuf got;
        strbuf_init(&got, 0);
        summarise(corpus, name, &got);
        (*checked)++;
        if (got.len != body_len || memcmp(got.buf, body, body_len) != 0) {
            bad++;
            printf("MISMATCH %s\n--- expected\n%.*s--- got\n%s\n", name, (int)body_len, body,
                   got.buf);
        }
        strbuf_release(&got);
        block = next ? next + 1 : NULL;
    }
    return bad;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--print") == 0) {
        for (int i = 3; i < argc; i++) {
            struct strbuf got;
            strbuf_init(&got, 0);
            summarise(argv[2], argv[i], &got);
            printf("== %s\n%s", argv[i], got.buf);
            strbuf_release(&got);
        }
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: corpus_check CORPUS_DIR EXPECTED | --print CORPUS_DIR FILE...\n");
        return 2;
    }
    struct stat st;
    if (stat(argv[1], &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("corpus: %s not found: corpus tests skipped\n", argv[1]);
        return SKIPPED;
    }
    char *expected = read_all(argv[2]);
    int checked = 0;
    int bad = compare_all(argv[1], expected, &checked);
    free(expected);
    printf("corpus: %d passed, %d failed\n", checked - bad, bad);
    return bad ? 1 : 0;
}
