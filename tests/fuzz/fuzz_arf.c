/*
 * fuzz_arf.c - libFuzzer target for parser/failure: the bytes are parsed
 * as a mail by GMime and, when failure_message_is_report() says so, handed
 * to failure_message_parse(); the same bytes also go to
 * failure_fields_parse() as a bare field block. A counting sink reads every
 * string and sample byte it is given, so ASan catches a dangling or short
 * pointer, and checks the invariants report.h promises.
 */
#include <gmime/gmime.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "parser/failure.h"
#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t touched;
static bool gmime_ready;

static void touch(const char *s)
{
    if (s)
        touched += strlen(s);
}

static void touch_list(struct str_list l)
{
    for (size_t i = 0; i < l.count; i++)
        touch(l.items[i]);
}

static void touch_bytes(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        touched += (unsigned char)p[i];
}

static void touch_strings(const struct failure_report *r)
{
    touch(r->feedback_type);
    touch(r->user_agent);
    touch(r->version);
    touch(r->original_envelope_id);
    touch(r->original_mail_from);
    touch(r->arrival_date);
    touch(r->reporting_mta);
    touch(r->delivery_result);
    touch(r->dkim_domain);
    touch(r->dkim_identity);
    touch(r->dkim_selector);
    touch(r->spf_dns);
    touch(r->subject);
    touch_list(r->original_rcpt_to);
    touch_list(r->reported_domain);
    touch_list(r->reported_uri);
    touch_list(r->auth_failure);
    touch_list(r->identity_alignment);
    touch_list(r->authentication_results);
}

static enum dmarcd_err count_failure(void *ctx, const struct report_source *src,
                                     const struct failure_report *r,
                                     const struct report_warnings *w)
{
    (void)src;
    (*(size_t *)ctx)++;
    if (!r->feedback_type || memchr(r->source_ip, '\0', REPORT_IP_TEXT_MAX) == NULL)
        abort();
    if (r->sample_kind == FAILURE_SAMPLE_NONE && (r->sample_headers || r->sample_body))
        abort();
    touch_strings(r);
    touch(r->source_ip);
    if (r->sample_headers)
        touch_bytes(r->sample_headers, r->sample_headers_len);
    if (r->sample_body)
        touch_bytes(r->sample_body, r->sample_body_len);
    for (size_t i = 0; i < w->count; i++)
        touch(w->items[i]);
    return DMARCD_OK;
}

static const struct report_sink_ops count_ops = { .name = "count", .failure = count_failure };

static void parse_mail(const uint8_t *data, size_t size, const struct parse_options *opts,
                       struct report_sink *sink, struct strbuf *detail)
{
    GMimeStream *st = g_mime_stream_mem_new_with_buffer((const char *)data, size);
    GMimeParser *p = g_mime_parser_new_with_stream(st);
    GMimeMessage *m;

    g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
    m = g_mime_parser_construct_message(p, NULL);
    if (m) {
        if (failure_message_is_report(m)) {
            /* Errors are fine here; crashes and leaks are what we look for. */
            enum dmarcd_err rc = failure_message_parse(m, &(struct report_source){ .file = "fuzz" },
                                                       opts, sink, detail);
            (void)rc;
        }
        g_object_unref(m);
    }
    g_object_unref(p);
    g_object_unref(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t reports = 0;
    struct report_sink sink = { .ops = &count_ops, .ctx = &reports };
    struct parse_options opts = { .strict = size % 2 == 1 };
    struct strbuf detail;

    /* Here, not in LLVMFuzzerInitialize: replay_main.c does not call that. */
    if (!gmime_ready) {
        g_mime_init();
        gmime_ready = true;
    }
    strbuf_init(&detail, 0);
    parse_mail(data, size, &opts, &sink, &detail);
    enum dmarcd_err rc = failure_fields_parse((const char *)data, size,
                                              &(struct report_source){ .file = "fuzz" }, &opts,
                                              &sink, &detail);
    (void)rc;
    strbuf_release(&detail);
    return 0;
}
