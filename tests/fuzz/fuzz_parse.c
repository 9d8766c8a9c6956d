/*
 * fuzz_parse.c - libFuzzer target for the whole pipeline: sniffing, gzip,
 * zip, MIME walking (GMime), and every report parser behind them, with the
 * counting output sink writing to /dev/null. Seeds: whole corpus files.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "parser/parse.h"
#include "parser/sinks.h"
#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    struct parse_options opts = { .strict = false };
    struct parse_stats stats = { 0 };

    if (!devnull)
        devnull = fopen("/dev/null", "w");
    struct output_sink *o = output_sink_new(OUTPUT_NDJSON, devnull, devnull);
    struct report_sink sink = output_sink_as_report_sink(o);
    enum dmarcd_err rc = report_parse_buffer(data, size, "fuzz", &opts, &sink, &stats);
    rc = output_sink_finish(o);
    (void)rc; /* the fuzzer looks for crashes, not for parse results */
    output_sink_free(o);
    return 0;
}
