/*
 * fuzz_pull.c - differential libFuzzer target: the aggregate parser's pull
 * mode (agg_parser_pull, with the redo by push that parse.c does when the
 * pull asks for it) must hand a sink exactly what push mode (feed +
 * finish) hands it, call for call, for any input and any way the reader
 * cuts the bytes. Both runs write NDJSON (and abort lines) through the
 * output sink; the texts must be identical, otherwise the target aborts
 * and prints both.
 *
 * Input: byte 0 picks strict mode (bit 0) and the reader's chunk size
 * (the other bits); the rest is the document.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser/aggregate.h"
#include "parser/sinks.h"
#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Everything one run wrote, in memory. */
struct capture {
    char *text;
    size_t len;
    FILE *out;
    struct output_sink *sink;
};

static void capture_open(struct capture *c)
{
    memset(c, 0, sizeof(*c));
    c->out = open_memstream(&c->text, &c->len);
    if (!c->out)
        abort();
    c->sink = output_sink_new(OUTPUT_NDJSON, c->out, c->out);
}

static void capture_close(struct capture *c)
{
    if (output_sink_finish(c->sink) != DMARCD_OK)
        abort();
    output_sink_free(c->sink);
    if (fclose(c->out) != 0)
        abort();
}

/* Forwards to the capture's sink, first dropping the agg_begin and
 * agg_record calls a pull already delivered (as parse.c's run_input). */
struct relay {
    struct report_sink to;
    bool begun;
    uint64_t records;
    bool skip_begin;
    uint64_t skip_records;
};

static enum dmarcd_err relay_begin(void *ctx, const struct report_source *src,
                                   const struct agg_report *r)
{
    struct relay *rl = ctx;
    if (rl->skip_begin) {
        rl->skip_begin = false;
        return DMARCD_OK;
    }
    enum dmarcd_err rc = rl->to.ops->agg_begin(rl->to.ctx, src, r);
    rl->begun = !rc;
    return rc;
}

static enum dmarcd_err relay_record(void *ctx, const struct agg_record *rec)
{
    struct relay *rl = ctx;
    if (rl->skip_records) {
        rl->skip_records--;
        return DMARCD_OK;
    }
    enum dmarcd_err rc = rl->to.ops->agg_record(rl->to.ctx, rec);
    rl->records += !rc;
    return rc;
}

static enum dmarcd_err relay_end(void *ctx, const struct agg_report *r,
                                 const struct agg_totals *t, const struct report_warnings *w)
{
    struct relay *rl = ctx;
    return rl->to.ops->agg_end(rl->to.ctx, r, t, w);
}

static void relay_abort(void *ctx, const struct report_source *src, enum dmarcd_err err,
                        const char *detail)
{
    struct relay *rl = ctx;
    rl->to.ops->abort(rl->to.ctx, src, err, detail);
}

static const struct report_sink_ops relay_ops = {
    .name = "relay",
    .agg_begin = relay_begin,
    .agg_record = relay_record,
    .agg_end = relay_end,
    .abort = relay_abort,
};

/* The reader pull mode asks for bytes: at most `chunk` per call. */
struct reader {
    const uint8_t *data;
    size_t len, off, chunk;
};

static enum dmarcd_err reader_read(void *ctx, char *buf, size_t cap, size_t *got)
{
    struct reader *r = ctx;
    size_t n = r->len - r->off;
    if (n > r->chunk)
        n = r->chunk;
    if (n > cap)
        n = cap;
    memcpy(buf, r->data + r->off, n);
    r->off += n;
    *got = n;
    return DMARCD_OK;
}

static void push_run(const uint8_t *data, size_t size, const struct parse_options *opts,
                     const struct report_source *src, struct report_sink *sink)
{
    struct agg_parser *p = agg_parser_new(src, opts, sink);
    enum dmarcd_err rc = agg_parser_feed(p, (const char *)data, size);
    if (!rc)
        rc = agg_parser_finish(p);
    if (rc)
        sink->ops->abort(sink->ctx, src, rc, agg_parser_detail(p));
    agg_parser_free(p);
}

static void pull_run(const uint8_t *data, size_t size, size_t chunk,
                     const struct parse_options *opts, const struct report_source *src,
                     struct report_sink *to)
{
    struct relay rl = { .to = *to };
    struct report_sink sink = { .ops = &relay_ops, .ctx = &rl };
    struct reader rd = { .data = data, .len = size, .chunk = chunk };
    struct agg_parser *p = agg_parser_new(src, opts, &sink);
    enum dmarcd_err rc = agg_parser_pull(p, reader_read, &rd);
    if (rc && agg_parser_push_instead(p)) {
        agg_parser_free(p);
        rl.skip_begin = rl.begun;
        rl.skip_records = rl.records;
        push_run(data, size, opts, src, &sink);
        return;
    }
    if (rc)
        sink.ops->abort(sink.ctx, src, rc, agg_parser_detail(p));
    agg_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct parse_options opts = { .strict = data[0] & 1 };
    size_t chunk = 1 + (size_t)(data[0] >> 1) * 97;
    struct report_source src = { .file = "fuzz", .part = NULL };
    struct capture pushed, pulled;

    data++, size--;
    capture_open(&pushed);
    capture_open(&pulled);
    struct report_sink a = output_sink_as_report_sink(pushed.sink);
    struct report_sink b = output_sink_as_report_sink(pulled.sink);
    push_run(data, size, &opts, &src, &a);
    pull_run(data, size, chunk, &opts, &src, &b);
    capture_close(&pushed);
    capture_close(&pulled);

    if (pushed.len != pulled.len || memcmp(pushed.text, pulled.text, pushed.len) != 0) {
        fprintf(stderr, "pull differs from push (strict %d, chunk %zu)\n--- push:\n%.*s\n"
                        "--- pull:\n%.*s\n",
                opts.strict, chunk, (int)pushed.len, pushed.text, (int)pulled.len,
                pulled.text);
        abort();
    }
    free(pushed.text);
    free(pulled.text);
    return 0;
}
