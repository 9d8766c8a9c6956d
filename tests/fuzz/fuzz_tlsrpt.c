/*
 * fuzz_tlsrpt.c - libFuzzer target for parser/tlsrpt: the bytes go to
 * tlsrpt_parse() as one JSON document. A counting sink reads every string
 * of the report it is given, so ASan catches a pointer that outlived the
 * jansson tree or the arena, and checks the invariants report.h promises.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "parser/tlsrpt.h"
#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t touched;

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

static void touch_policy(const struct tls_policy *p)
{
    touch(p->policy_type);
    touch(p->policy_domain);
    touch_list(p->policy_string);
    touch_list(p->mx_host);
    for (size_t i = 0; i < p->n_failure_details; i++) {
        const struct tls_failure_detail *d = &p->failure_details[i];
        touch(d->result_type);
        touch(d->sending_mta_ip);
        touch(d->receiving_mx_hostname);
        touch(d->receiving_mx_helo);
        touch(d->receiving_ip);
        touch(d->additional_information);
        touch(d->failure_reason_code);
        touched += (size_t)d->failed_session_count;
    }
}

static enum dmarcd_err count_tls(void *ctx, const struct report_source *src,
                                 const struct tls_report *r, const struct report_warnings *w)
{
    (void)src;
    (*(size_t *)ctx)++;
    if (!r->organization_name || !r->report_id || !r->start_datetime || !r->end_datetime)
        abort();
    touch(r->organization_name);
    touch(r->report_id);
    touch(r->contact_info);
    for (size_t i = 0; i < r->n_policies; i++)
        touch_policy(&r->policies[i]);
    for (size_t i = 0; i < w->count; i++)
        touch(w->items[i]);
    return DMARCD_OK;
}

static const struct report_sink_ops count_ops = { .name = "count", .tlsrpt = count_tls };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t reports = 0;
    struct report_sink sink = { .ops = &count_ops, .ctx = &reports };
    struct parse_options opts = { .strict = size % 2 == 1 };
    struct strbuf detail;

    strbuf_init(&detail, 0);
    enum dmarcd_err rc = tlsrpt_parse((const char *)data, size,
                                      &(struct report_source){ .file = "fuzz" }, &opts, &sink,
                                      &detail);
    (void)rc; /* errors are fine here; crashes and leaks are what we look for */
    strbuf_release(&detail);
    return 0;
}
