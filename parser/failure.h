/*
 * failure.h - failure (forensic) reports: RFC 6591 ARF messages as used by
 * RFC 7489 s7.3 and RFC 9991, and the common non-ARF text forms real
 * receivers send (Exim/cPanel "A message claiming to be from you has
 * failed..." summaries).
 *
 * parse.c parses a mail with GMime, asks failure_message_is_report()
 * whether it is a failure report, and if so calls failure_message_parse(),
 * which delivers one report to the sink's `failure` callback. A bare
 * feedback-report field block (a file that starts with "Feedback-Type:")
 * goes to failure_fields_parse(). Neither calls the sink's abort: on
 * error they return it and fill `detail` with a specific sentence.
 */
#ifndef DMARCD_PARSER_FAILURE_H
#define DMARCD_PARSER_FAILURE_H

#include <gmime/gmime.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "parser/parse.h"
#include "parser/sink.h"

/* True for multipart/report;report-type=feedback-report, a mail holding a
 * message/feedback-report part, or a recognised non-ARF failure summary. */
bool failure_message_is_report(GMimeMessage *message);

enum dmarcd_err failure_message_parse(GMimeMessage *message, const struct report_source *src,
                                      const struct parse_options *opts,
                                      struct report_sink *sink, struct strbuf *detail)
    DMARCD_MUST_CHECK;

enum dmarcd_err failure_fields_parse(const char *data, size_t len,
                                     const struct report_source *src,
                                     const struct parse_options *opts,
                                     struct report_sink *sink, struct strbuf *detail)
    DMARCD_MUST_CHECK;

#endif
