/*
 * sinks.h - the parser's output sinks other than storage: JSON (one array
 * or ndjson), CSV (one row per aggregate record), count (one line per
 * report, no JSON building: for benchmarks and quick checks) and collect
 * (keeps a summary of every report in memory: tests and corpus checks).
 *
 *   struct output_sink *o = output_sink_new(OUTPUT_NDJSON, stdout, stderr);
 *   struct report_sink s = output_sink_as_report_sink(o);
 *   ... report_parse_file(path, &opts, &s, &stats) ...
 *   output_sink_finish(o);    (closes the JSON array, flushes)
 *   output_sink_free(o);
 *
 * Every aborted part is reported on `errors` as one line naming the file,
 * the part and the reason. In json/ndjson, a report aborted after records
 * were written is closed validly with an "error" member, so the output
 * stays parseable.
 */
#ifndef DMARCD_PARSER_SINKS_H
#define DMARCD_PARSER_SINKS_H

#include <stdint.h>
#include <stdio.h>

#include "lib/error.h"
#include "parser/sink.h"

enum output_format { OUTPUT_JSON, OUTPUT_NDJSON, OUTPUT_CSV, OUTPUT_COUNT };

/* Parses "json" | "ndjson" | "csv" | "count". */
bool output_format_parse(const char *name, enum output_format *out);

struct output_sink;

struct output_sink *output_sink_new(enum output_format format, FILE *out, FILE *errors);
struct report_sink output_sink_as_report_sink(struct output_sink *o);
/* Completes the output; DMARCD_E_IO if writing failed (e.g. a full disk). */
enum dmarcd_err output_sink_finish(struct output_sink *o) DMARCD_MUST_CHECK;
void output_sink_free(struct output_sink *o);

/* ---- collect: summaries kept in memory ---- */

struct collected_report {
    enum report_kind kind;
    char *file, *part;
    char *format;               /* aggregate: rfc7489|rfc9990|draft */
    char *report_id;
    char *domain;               /* aggregate: policy domain; failure: first reported domain;
                                   tlsrpt: first policy domain */
    char *org;                  /* org_name / organization_name / user_agent */
    int64_t begin, end;         /* aggregate/tlsrpt range; failure: arrival time */
    uint64_t records;           /* aggregate records, tlsrpt policies, failure 1 */
    uint64_t messages;          /* aggregate message total, tlsrpt sessions, failure incidents */
    char **warnings;
    size_t n_warnings;
    enum dmarcd_err error;      /* DMARCD_OK unless aborted */
    char *detail;               /* abort detail */
};

struct collect_sink {
    struct collected_report *items;
    size_t count, alloc;
    /* first records of the current aggregate report, for tests to inspect */
    char first_source_ip[REPORT_IP_TEXT_MAX];
    uint64_t first_count;
    bool in_report;
};

void collect_sink_init(struct collect_sink *c);
void collect_sink_release(struct collect_sink *c);
struct report_sink collect_sink_as_report_sink(struct collect_sink *c);

#endif
