/*
 * collect_sink.c - keeps a summary of every report (kind, ids, range,
 * counts, warnings, error) in memory, for unit tests and the corpus check.
 * Copies everything: the parser's strings die after each callback.
 */
#include "sinks.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "lib/banned.h"

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

void collect_sink_init(struct collect_sink *c)
{
    memset(c, 0, sizeof(*c));
}

static void collected_release(struct collected_report *r)
{
    free(r->file);
    free(r->part);
    free(r->format);
    free(r->report_id);
    free(r->domain);
    free(r->org);
    free(r->detail);
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
}

void collect_sink_release(struct collect_sink *c)
{
    for (size_t i = 0; i < c->count; i++)
        collected_release(&c->items[i]);
    free(c->items);
    collect_sink_init(c);
}

static struct collected_report *collect_new(struct collect_sink *c, enum report_kind kind,
                                            const struct report_source *src)
{
    if (c->count == c->alloc) {
        c->alloc = c->alloc ? c->alloc * 2 : 16;
        c->items = xreallocarray(c->items, c->alloc, sizeof(*c->items));
    }
    struct collected_report *r = &c->items[c->count++];
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->file = dup_or_null(src->file);
    r->part = dup_or_null(src->part);
    return r;
}

static void collect_warnings(struct collected_report *r, const struct report_warnings *w)
{
    r->n_warnings = w->count;
    r->warnings = xcalloc(w->count ? w->count : 1, sizeof(char *));
    for (size_t i = 0; i < w->count; i++)
        r->warnings[i] = xstrdup(w->items[i]);
}

static enum dmarcd_err collect_agg_begin(void *ctx, const struct report_source *src,
                                         const struct agg_report *a)
{
    struct collect_sink *c = ctx;
    struct collected_report *r = collect_new(c, REPORT_KIND_AGGREGATE, src);
    r->format = xstrdup(agg_format_name(a->format));
    r->report_id = dup_or_null(a->report_id);
    r->domain = dup_or_null(a->policy.domain);
    r->org = dup_or_null(a->org_name);
    r->begin = a->begin;
    r->end = a->end;
    c->in_report = true;
    c->first_source_ip[0] = '\0';
    c->first_count = 0;
    return DMARCD_OK;
}

static enum dmarcd_err collect_agg_record(void *ctx, const struct agg_record *rec)
{
    struct collect_sink *c = ctx;
    struct collected_report *r = &c->items[c->count - 1];
    if (r->records == 0) {
        memcpy(c->first_source_ip, rec->source_ip, sizeof(c->first_source_ip));
        c->first_count = rec->count;
    }
    r->records++;
    r->messages += rec->count;
    return DMARCD_OK;
}

static enum dmarcd_err collect_agg_end(void *ctx, const struct agg_report *a,
                                       const struct agg_totals *t,
                                       const struct report_warnings *w)
{
    struct collect_sink *c = ctx;
    struct collected_report *r = &c->items[c->count - 1];
    (void)a;
    if (r->records != t->records || r->messages != t->messages)
        return DMARCD_E_INTERNAL; /* totals must match what was delivered */
    collect_warnings(r, w);
    c->in_report = false;
    return DMARCD_OK;
}

static enum dmarcd_err collect_failure(void *ctx, const struct report_source *src,
                                       const struct failure_report *f,
                                       const struct report_warnings *w)
{
    struct collect_sink *c = ctx;
    struct collected_report *r = collect_new(c, REPORT_KIND_FAILURE, src);
    r->format = xstrdup(f->arf ? "arf" : "text");
    r->domain = dup_or_null(f->reported_domain.count ? f->reported_domain.items[0] : NULL);
    r->org = dup_or_null(f->user_agent);
    r->begin = r->end = f->arrival_time;
    r->records = 1;
    r->messages = f->incidents > 0 ? (uint64_t)f->incidents : 1;
    collect_warnings(r, w);
    return DMARCD_OK;
}

static enum dmarcd_err collect_tlsrpt(void *ctx, const struct report_source *src,
                                      const struct tls_report *t,
                                      const struct report_warnings *w)
{
    struct collect_sink *c = ctx;
    struct collected_report *r = collect_new(c, REPORT_KIND_TLSRPT, src);
    r->format = xstrdup("rfc8460");
    r->report_id = dup_or_null(t->report_id);
    r->org = dup_or_null(t->organization_name);
    r->domain = dup_or_null(t->n_policies ? t->policies[0].policy_domain : NULL);
    r->begin = t->begin;
    r->end = t->end;
    r->records = t->n_policies;
    for (size_t i = 0; i < t->n_policies; i++)
        r->messages += t->policies[i].total_successful_session_count +
                       t->policies[i].total_failure_session_count;
    collect_warnings(r, w);
    return DMARCD_OK;
}

static void collect_abort(void *ctx, const struct report_source *src, enum dmarcd_err err,
                          const char *detail)
{
    struct collect_sink *c = ctx;
    struct collected_report *r;
    if (c->in_report) {
        r = &c->items[c->count - 1]; /* the begun report ends in this error */
        c->in_report = false;
    } else {
        r = collect_new(c, REPORT_KIND_AGGREGATE, src);
        r->format = xstrdup("none");
    }
    r->error = err;
    r->detail = dup_or_null(detail ? detail : dmarcd_strerror(err));
}

static const struct report_sink_ops collect_sink_ops = {
    .name = "collect",
    .agg_begin = collect_agg_begin,
    .agg_record = collect_agg_record,
    .agg_end = collect_agg_end,
    .failure = collect_failure,
    .tlsrpt = collect_tlsrpt,
    .abort = collect_abort,
};

struct report_sink collect_sink_as_report_sink(struct collect_sink *c)
{
    return (struct report_sink){ .ops = &collect_sink_ops, .ctx = c };
}
