/*
 * tlsrpt.h - SMTP TLS reports (RFC 8460): one JSON document, parsed with
 * jansson into struct tls_report and delivered to the sink's `tlsrpt`
 * callback. parse.c hands over the whole decompressed document (bounded by
 * DMARCD_MAX_JSON_BYTES). Does not call abort: on error returns it and
 * fills `detail`. A JSON document that is not a TLS report (no "policies")
 * is DMARCD_E_NOT_REPORT.
 */
#ifndef DMARCD_PARSER_TLSRPT_H
#define DMARCD_PARSER_TLSRPT_H

#include <stddef.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "parser/parse.h"
#include "parser/sink.h"

enum dmarcd_err tlsrpt_parse(const char *data, size_t len, const struct report_source *src,
                             const struct parse_options *opts, struct report_sink *sink,
                             struct strbuf *detail) DMARCD_MUST_CHECK;

#endif
