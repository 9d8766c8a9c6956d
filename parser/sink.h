/*
 * sink.h - where the parser sends what it finds.
 *
 * The parser is a streaming producer: for each aggregate report it calls
 * agg_begin (header known), agg_record once per record, then agg_end
 * (totals and warnings). Failure and TLS reports are small and arrive in
 * one call each. When a part of the input fails, abort is called with
 * the reason, whether or not a report was begun: a sink that began a
 * report must throw that report away (a database sink rolls back); the
 * other reports of the same input carry on.
 *
 * Every pointer handed to a callback is borrowed for the call only.
 * A callback returning non-zero stops the parse of the current report
 * (the parser then calls abort with that error); a transient error (e.g.
 * database down) stops the whole input so it can be retried.
 *
 * Sinks are `const struct report_sink_ops` tables with a name, chosen at
 * run time: json (json_sink.h), count, collect (tests), later mariadb.
 */
#ifndef DMARCD_PARSER_SINK_H
#define DMARCD_PARSER_SINK_H

#include "lib/error.h"
#include "parser/report.h"

struct report_sink_ops {
    const char *name;
    enum dmarcd_err (*agg_begin)(void *ctx, const struct report_source *src,
                                 const struct agg_report *report);
    enum dmarcd_err (*agg_record)(void *ctx, const struct agg_record *record);
    enum dmarcd_err (*agg_end)(void *ctx, const struct agg_report *report,
                               const struct agg_totals *totals,
                               const struct report_warnings *warnings);
    enum dmarcd_err (*failure)(void *ctx, const struct report_source *src,
                               const struct failure_report *report,
                               const struct report_warnings *warnings);
    enum dmarcd_err (*tlsrpt)(void *ctx, const struct report_source *src,
                              const struct tls_report *report,
                              const struct report_warnings *warnings);
    /* detail: a specific sentence ("xml depth 33 > 32 at line 12"), may be NULL. */
    void (*abort)(void *ctx, const struct report_source *src, enum dmarcd_err err,
                  const char *detail);
};

struct report_sink {
    const struct report_sink_ops *ops;
    void *ctx;
};

#endif
