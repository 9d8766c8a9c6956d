/*
 * fuzz_aggregate.c - libFuzzer target for the streaming aggregate XML
 * parser: the input is fed as one XML document, split into two chunks at a
 * point chosen by the first byte so chunk boundaries are fuzzed too.
 */
#include <stddef.h>
#include <stdint.h>

#include "parser/aggregate.h"
#include "parser/sinks.h"
#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct collect_sink c;
    struct parse_options opts = { .strict = size % 2 == 0 };
    struct report_source src = { .file = "fuzz", .part = NULL };
    size_t split = size ? data[0] % (size + 1) : 0;

    collect_sink_init(&c);
    struct report_sink sink = collect_sink_as_report_sink(&c);
    struct agg_parser *p = agg_parser_new(&src, &opts, &sink);
    enum dmarcd_err rc = agg_parser_feed(p, (const char *)data, split);
    if (!rc)
        rc = agg_parser_feed(p, (const char *)data + split, size - split);
    if (!rc)
        rc = agg_parser_finish(p);
    if (rc)
        sink.ops->abort(sink.ctx, &src, rc, agg_parser_detail(p));
    agg_parser_free(p);
    collect_sink_release(&c);
    return 0;
}
