/*
 * cmd_parse.c - `dmarcd parse`: run the report parser over files,
 * directories (recursively, in name order) or standard input and print
 * what it finds as json, ndjson, csv or a count line per report. No
 * database: this is the way to look at a report, check a mailbox dump, or
 * benchmark the parser. A part that fails prints an error line on stderr
 * naming the file, the part and the reason; the rest carries on and the
 * exit status is 1.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "lib/strbuf.h"
#include "parser/parse.h"
#include "parser/sinks.h"
#include "lib/banned.h"

struct parse_cmd {
    struct parse_options opts;
    struct report_sink sink;
    struct parse_stats stats;
    uint64_t files;
    bool any_failed;
};

static void parse_one_file(struct cmd_walk *w, const char *path, const struct stat *st)
{
    struct parse_cmd *pc = w->ctx;
    (void)st;
    pc->files++;
    enum dmarcd_err rc = report_parse_file(path, &pc->opts, &pc->sink, &pc->stats);
    if (rc) {
        pc->any_failed = true;
        if (rc == DMARCD_E_IO && ferror(stdout))
            w->stop = true;
    }
}

static int parse_usage(void)
{
    cmd_print_usage(&cmd_parse_def, stderr);
    return EXIT_USAGE;
}

int cmd_parse(struct cmd_ctx *ctx, int argc, char **argv)
{
    enum output_format format = OUTPUT_JSON;
    struct parse_cmd pc;
    int i = 1;
    (void)ctx;

    memset(&pc, 0, sizeof(pc));
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "--strict") == 0) {
            pc.opts.strict = true;
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            if (!output_format_parse(argv[++i], &format))
                return parse_usage();
        } else if (strncmp(argv[i], "--format=", 9) == 0) {
            if (!output_format_parse(argv[i] + 9, &format))
                return parse_usage();
        } else {
            fprintf(stderr, "dmarcd parse: unknown option %s\n", argv[i]);
            return parse_usage();
        }
    }
    if (i >= argc)
        return parse_usage();

    /* Output is written in large blocks: it is the bulk of ndjson's cost. */
    static char out_buffer[1 << 20];
    setvbuf(stdout, out_buffer, _IOFBF, sizeof(out_buffer));
    struct output_sink *out = output_sink_new(format, stdout, stderr);
    pc.sink = output_sink_as_report_sink(out);
    /* stop: the output broke (e.g. a closed pipe), give up */
    struct cmd_walk walk = { .who = "dmarcd parse", .file = parse_one_file, .ctx = &pc };
    for (; i < argc && !walk.stop; i++) {
        if (strcmp(argv[i], "-") == 0) {
            pc.files++;
            if (report_parse_fd(STDIN_FILENO, "-", &pc.opts, &pc.sink, &pc.stats))
                pc.any_failed = true;
        } else {
            cmd_walk(&walk, argv[i]);
        }
    }
    pc.any_failed |= walk.failed;
    enum dmarcd_err rc = output_sink_finish(out);
    output_sink_free(out);
    if (rc) {
        fprintf(stderr, "dmarcd parse: writing the output failed\n");
        return EXIT_PARTIAL;
    }
    if (pc.any_failed || isatty(STDERR_FILENO))
        fprintf(stderr, "dmarcd parse: %llu file(s), %llu report(s), %llu failed part(s)\n",
                (unsigned long long)pc.files, (unsigned long long)pc.stats.reports,
                (unsigned long long)pc.stats.failed);
    return pc.any_failed ? EXIT_PARTIAL : EXIT_OK;
}

const struct command cmd_parse_def = {
    .name = "parse",
    .summary = "parse report files and print them (json, ndjson, csv, count); no database",
    .usage =
        "usage: dmarcd parse [--format json|ndjson|csv|count] [--strict] PATH...\n"
        "\n"
        "Parses DMARC aggregate reports (RFC 7489, RFC 9990), failure reports (ARF)\n"
        "and SMTP TLS reports (RFC 8460) found in each PATH: a file, a directory\n"
        "(walked recursively, in name order) or - for standard input. Files are\n"
        "recognised by content: XML, JSON, gzip, zip, or whole mail messages.\n"
        "\n"
        "  --format json    one JSON array of reports (default)\n"
        "  --format ndjson  one JSON object per report per line\n"
        "  --format csv     one row per aggregate record\n"
        "  --format count   one line per report (kind, records, messages), no JSON\n"
        "  --strict         refuse reports that would otherwise be salvaged with\n"
        "                   a warning (e.g. recovered XML errors)\n"
        "\n"
        "Each part that fails prints `dmarcd parse: FILE: PART: CODE: REASON` on\n"
        "standard error; the others are still parsed. Exit status 0 when every\n"
        "part parsed, 1 when some failed, 2 on bad usage. The output schema is\n"
        "described in docs/parse-output.md.\n",
    .run = cmd_parse,
};
