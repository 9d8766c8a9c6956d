/*
 * parse.h - the parser's front door: bytes in, reports out to a sink.
 *
 * report_parse_*() sniff the input by content (never by name or declared
 * type): gzip (nested, trailing bytes tolerated), zip (every member), RFC
 * 5322 mail (walked with GMime: multipart, nested message/rfc822, base64,
 * quoted-printable), plain XML aggregate reports, ARF failure reports,
 * TLS-RPT JSON. Every report found goes to the sink; every part that fails
 * is reported to the sink's abort with the reason, and the other parts go
 * on. Memory stays bounded whatever the input (limits.h): large XML is
 * streamed from the decompressor into libxml2's SAX2 push parser, or, when
 * a regular file or buffer is (gzip'd) XML, pulled by libxml2 through the
 * decompressor (faster; a document the pull cannot finish cleanly is
 * parsed again by push, whose answer is the reference, and the sink never
 * gets a call twice). Never a tree of a whole report.
 *
 *   struct parse_options opts = { .strict = false };
 *   struct parse_stats stats = { 0 };
 *   rc = report_parse_file("report.xml.gz", &opts, &sink, &stats);
 *
 * Returns DMARCD_OK when every part parsed; otherwise the first part's
 * error (a transient one, from the sink, stops the input at once).
 */
#ifndef DMARCD_PARSER_PARSE_H
#define DMARCD_PARSER_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "parser/sink.h"

struct parse_options {
    bool strict;        /* refuse what would otherwise be salvaged with a warning */
};

struct parse_stats {
    uint64_t reports;   /* reports handed to the sink completely */
    uint64_t failed;    /* parts that ended in abort */
    uint64_t bytes_in;  /* raw input bytes read */
};

enum dmarcd_err report_parse_file(const char *path, const struct parse_options *opts,
                                  struct report_sink *sink, struct parse_stats *stats)
    DMARCD_MUST_CHECK;

/* Reads fd to its end (does not close it); name is shown in sources. */
enum dmarcd_err report_parse_fd(int fd, const char *name, const struct parse_options *opts,
                                struct report_sink *sink, struct parse_stats *stats)
    DMARCD_MUST_CHECK;

enum dmarcd_err report_parse_buffer(const void *data, size_t len, const char *name,
                                    const struct parse_options *opts, struct report_sink *sink,
                                    struct parse_stats *stats) DMARCD_MUST_CHECK;

#endif
