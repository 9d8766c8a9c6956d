/*
 * main.c - dmarcd-reportgen: deterministic, realistic DMARC aggregate
 * reports for the demo dashboard and for benchmarks.
 *
 *   demo: one attachment per (reporter, policy domain, day), named and
 *         compressed the way each reporter does it.
 *   big:  one huge report written streaming, in constant memory (the
 *         storage benchmark writes many of them, with other seeds, sizes
 *         and days).
 *
 * Everything random comes from prng.c streams derived from --seed, and time
 * comes only from --end, so the same arguments give byte-identical files.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "model.h"
#include "outfile.h"
#include "xmlw.h"
#include "lib/banned.h"

#define DEMO_MAX_RECORDS 512
#define DEFAULT_END      "2026-11-22"

struct opts {
    const char *mode;
    const char *out;
    const char *end;
    uint64_t seed, days, domains, records;
    int gzip;
};

struct stats {
    uint64_t reports, records, messages; /* one report per file */
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: dmarcd-reportgen demo --out DIR [--days N] [--end YYYY-MM-DD] [--seed N]\n"
            "                             [--domains N]\n"
            "       dmarcd-reportgen big --out FILE [--records N] [--seed N] [--gzip]\n"
            "                            [--end YYYY-MM-DD]\n"
            "       dmarcd-reportgen --help\n"
            "\n"
            "demo   writes one report file per (reporter, policy domain, day) into DIR,\n"
            "       named and compressed as Google, Yahoo, Outlook.com, Enterprise Outlook,\n"
            "       Mail.Ru, GMX and WEB.DE do (e.g. google.com!example.com!B!E.zip).\n"
            "         --days N      days ending at --end (default 90, 1..3660)\n"
            "         --end DATE    last day, UTC (default " DEFAULT_END ")\n"
            "         --domains N   policy domains, 1..%zu (default 4)\n"
            "big    writes one large aggregate report to FILE, streaming.\n"
            "         --records N   records (default 300000, 1..100000000)\n"
            "         --gzip        gzip the output; FILE must end in .gz\n"
            "         --end DATE    the report's day, UTC (default " DEFAULT_END ")\n"
            "common   --seed N      PRNG seed (default 1); same arguments, same bytes\n"
            "\n"
            "All names are fictional and all source IPs are documentation addresses\n"
            "(192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32).\n",
            n_domains);
}

static int bad_usage(const char *fmt, ...) RG_PRINTF(1, 2);

static int bad_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("dmarcd-reportgen: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage(stderr);
    return 2;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int parse_date(const char *s, int64_t *epoch_day)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned v[3] = {0, 0, 0};
    const unsigned widths[3] = {4, 2, 2};
    unsigned y, m, d;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int f = 0, pos = 0; f < 3; pos++, f++) {
        for (unsigned i = 0; i < widths[f]; i++, pos++) {
            if (s[pos] < '0' || s[pos] > '9')
                return -1;
            v[f] = v[f] * 10 + (unsigned)(s[pos] - '0');
        }
    }
    y = v[0];
    m = v[1];
    d = v[2];
    if (y < 1971 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return -1;
    if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return -1;
    *epoch_day = days_from_civil(y, m, d);
    return 0;
}

/* Which options each mode takes. */
struct optdef {
    const char *name;
    int demo, big;
};

static const struct optdef optdefs[] = {
    {"--out", 1, 1},     {"--seed", 1, 1},    {"--end", 1, 1},  {"--days", 1, 0},
    {"--domains", 1, 0}, {"--records", 0, 1}, {"--gzip", 0, 1},
};

static int known_option(const char *a, int demo)
{
    for (size_t i = 0; i < RG_ARRAY_LEN(optdefs); i++)
        if (strcmp(a, optdefs[i].name) == 0)
            return demo ? optdefs[i].demo : optdefs[i].big;
    return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    int demo = strcmp(argv[1], "demo") == 0;

    o->mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;

        if (!known_option(a, demo))
            return bad_usage("%s: unknown option: %s", o->mode, a);
        if (strcmp(a, "--gzip") == 0) {
            o->gzip = 1;
            continue;
        }
        if (!v)
            return bad_usage("%s needs a value", a);
        if (strcmp(a, "--out") == 0)
            o->out = v;
        else if (strcmp(a, "--end") == 0)
            o->end = v;
        else if (strcmp(a, "--seed") == 0)
            rc = parse_u64(v, 0, UINT64_MAX, &o->seed);
        else if (strcmp(a, "--days") == 0)
            rc = parse_u64(v, 1, 3660, &o->days);
        else if (strcmp(a, "--domains") == 0)
            rc = parse_u64(v, 1, n_domains, &o->domains);
        else
            rc = parse_u64(v, 1, 100000000, &o->records);
        if (rc)
            return bad_usage("bad value for %s: %s", a, v);
        i++;
    }
    if (!o->out)
        return bad_usage("%s: --out is required", o->mode);
    return 0;
}

/* Builds one report in memory and writes it in the reporter's container. */
static int write_report(const char *dir, const struct reporter *rep, const struct policy *pol,
                        const struct report_meta *meta, const struct rec *recs, size_t n)
{
    char name[512], path[4096], member[512];
    struct xw_style style;
    struct xw w;
    int rc;

    report_file_name(rep, pol->domain, meta, name, sizeof(name));
    rg_fmt(path, sizeof(path), "%s/%s", dir, name);
    emit_style(rep, &style);
    xw_init(&w, &style, NULL, NULL);
    emit_header(&w, rep, meta, pol);
    for (size_t i = 0; i < n; i++)
        emit_record(&w, rep, &recs[i]);
    emit_footer(&w, rep);
    rc = xw_finish(&w);
    if (rc)
        goto out;
    if (rep->ct == CT_ZIP) {
        /* Google's member is the attachment name with .xml for .zip. */
        rg_fmt(member, sizeof(member), "%.*s.xml", (int)(strlen(name) - 4), name);
        rc = outfile_zip(path, member, w.out.p, w.out.len, meta->end + 1 + 2 * 3600);
    } else {
        rc = outfile_gzip(path, w.out.p, w.out.len);
    }
out:
    xw_release(&w);
    return rc;
}

static int demo_day(const struct opts *o, unsigned day, int64_t day_begin, struct rec *recs,
                    struct stats *st)
{
    for (size_t dom = 0; dom < o->domains; dom++) {
        struct policy pol;

        scenario_policy(dom, day, (unsigned)o->days, &pol);
        for (size_t rep = 0; rep < n_reporters; rep++) {
            struct day_ctx ctx = {o->seed, dom, rep, day, (unsigned)o->days, day_begin};
            struct report_meta meta;
            struct rng r;
            size_t n = scenario_day(&ctx, &pol, recs, DEMO_MAX_RECORDS);
            int rc;

            if (n == 0)
                continue;
            rng_derive(&r, o->seed, 3, dom, day, rep + 1);
            report_make_meta(&reporters[rep], &r, day_begin, &meta);
            rc = write_report(o->out, &reporters[rep], &pol, &meta, recs, n);
            if (rc)
                return rc;
            st->reports++;
            st->records += n;
            for (size_t i = 0; i < n; i++)
                st->messages += recs[i].count;
        }
    }
    return 0;
}

static int run_demo(const struct opts *o)
{
    struct stats st = {0, 0, 0};
    struct rec *recs = NULL;
    int64_t end_day;
    int rc = 2;

    if (parse_date(o->end, &end_day))
        return bad_usage("bad --end date (want YYYY-MM-DD): %s", o->end);
    /* Zip (DOS) timestamps cannot go below 1980. */
    if (end_day - (int64_t)(o->days - 1) < days_from_civil(1980, 1, 1))
        return bad_usage("--end %s with --days: the first day is before 1980-01-01", o->end);
    if (mkdir(o->out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "dmarcd-reportgen: mkdir %s: %s\n", o->out, strerror(errno));
        return 1;
    }
    recs = rg_xmalloc(DEMO_MAX_RECORDS * sizeof(*recs));
    for (uint64_t day = 0; day < o->days; day++) {
        int64_t day_begin = (end_day - (int64_t)(o->days - 1 - day)) * 86400;

        rc = demo_day(o, (unsigned)day, day_begin, recs, &st);
        if (rc)
            goto out;
    }
    printf("files=%" PRIu64 " reports=%" PRIu64 " records=%" PRIu64 " messages=%" PRIu64 "\n",
           st.reports, st.reports, st.records, st.messages);
    rc = 0;
out:
    free(recs);
    return rc ? 1 : 0;
}

static int flush_gz(void *ctx, const char *p, size_t n)
{
    return gzout_write(ctx, p, n);
}

/* Emits the whole big report through w; returns the message total. */
static uint64_t big_emit(const struct opts *o, struct xw *w)
{
    const struct reporter *rep = &big_reporter;
    struct policy pol;
    struct report_meta meta;
    struct rng r;
    struct rec rec;
    int64_t end_day;
    uint64_t messages = 0;

    if (parse_date(o->end, &end_day))
        rg_die("bad --end date: %s", o->end);
    scenario_policy(0, 0, 1, &pol);
    rng_derive(&r, o->seed, 4, 0, 0, 0);
    report_make_meta(rep, &r, end_day * 86400, &meta);
    emit_header(w, rep, &meta, &pol);
    for (uint64_t i = 0; i < o->records && !w->err; i++) {
        scenario_big_record(&r, &pol, &rec);
        emit_record(w, rep, &rec);
        messages += rec.count;
    }
    emit_footer(w, rep);
    return messages;
}

static int run_big(const struct opts *o)
{
    struct xw_style style;
    struct xw w;
    struct gzout *gz = NULL;
    FILE *fp = NULL;
    uint64_t messages;
    size_t len = strlen(o->out);
    int64_t end_day;
    int rc = -1;

    if (o->gzip && (len < 3 || strcmp(o->out + len - 3, ".gz") != 0))
        return bad_usage("--gzip: output file must end in .gz: %s", o->out);
    if (parse_date(o->end, &end_day))
        return bad_usage("bad --end date (want YYYY-MM-DD): %s", o->end);
    emit_style(&big_reporter, &style);
    if (o->gzip) {
        gz = rg_xmalloc(sizeof(*gz));
        if (gzout_open(gz, o->out)) {
            free(gz);
            return 1;
        }
        xw_init(&w, &style, flush_gz, gz);
    } else {
        fp = fopen(o->out, "wb");
        if (!fp) {
            fprintf(stderr, "dmarcd-reportgen: %s: %s\n", o->out, strerror(errno));
            return 1;
        }
        xw_init(&w, &style, outfile_fwrite, fp);
    }
    messages = big_emit(o, &w);
    rc = xw_finish(&w);
    if (gz) {
        if (gzout_close(gz))
            rc = -1;
    } else if (fclose(fp) != 0 || rc) {
        fprintf(stderr, "dmarcd-reportgen: %s: write failed: %s\n", o->out, strerror(errno));
        rc = -1;
    }
    if (!rc) {
        printf("bytes=%" PRIu64 " records=%" PRIu64 " messages=%" PRIu64, w.total, o->records,
               messages);
        if (gz)
            printf(" gzip_bytes=%" PRIu64, gz->out_bytes);
        printf(" file=%s\n", o->out);
    }
    xw_release(&w);
    free(gz);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct opts o = {NULL, NULL, DEFAULT_END, 1, 90, 4, 300000, 0};
    int rc;

    /* libarchive writes zip DOS times in local time: pin it for determinism. */
    if (setenv("TZ", "UTC", 1) != 0)
        rg_die("setenv TZ: %s", strerror(errno));
    tzset();
    if (argc < 2)
        return bad_usage("%s", "a mode is required");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    }
    if (strcmp(argv[1], "demo") != 0 && strcmp(argv[1], "big") != 0)
        return bad_usage("unknown mode: %s", argv[1]);
    rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    rc = strcmp(o.mode, "demo") == 0 ? run_demo(&o) : run_big(&o);
    if (fflush(stdout) != 0)
        return 1;
    return rc;
}
