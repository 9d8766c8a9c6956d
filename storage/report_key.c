/*
 * report_key.c - report identity hash and report day (see report_key.h).
 *
 * The civil-date arithmetic is done here rather than with gmtime_r so it
 * is exact for any int64 input (no time_t or int year overflow) and needs
 * no locale or time zone state.
 */
#include <stdio.h>
#include <string.h>

#include "lib/strbuf.h"
#include "storage/report_key.h"
#include "storage/store.h"
#include "lib/banned.h"

static void add_field(struct strbuf *sb, const char *s)
{
    (void)strbuf_addch(sb, '\0');
    if (s)
        (void)strbuf_addstr(sb, s);
}

void store_report_key(const char *org_name, const char *report_id, const char *policy_domain,
                      int64_t begin, int64_t end, uint8_t out[STORE_REPORT_KEY_BYTES])
{
    struct strbuf sb;
    strbuf_init(&sb, 0);
    (void)strbuf_addstr(&sb, "dmarcd-agg-v1");
    add_field(&sb, org_name);
    add_field(&sb, report_id);
    add_field(&sb, NULL);
    for (const char *p = policy_domain; p && *p; p++) {
        char c = *p;
        (void)strbuf_addch(&sb, c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
    }
    (void)strbuf_addch(&sb, '\0');
    (void)strbuf_addf(&sb, "%lld", (long long)begin);
    (void)strbuf_addch(&sb, '\0');
    (void)strbuf_addf(&sb, "%lld", (long long)end);
    store_sha256(sb.buf, sb.len, out);
    strbuf_release(&sb);
}

void store_agg_report_key(const struct agg_report *report, uint8_t out[STORE_REPORT_KEY_BYTES])
{
    store_report_key(report->org_name, report->report_id, report->policy.domain, report->begin,
                     report->end, out);
}

/* Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
 * civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    uint64_t doe = (uint64_t)(z - era * 146097);
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

bool store_report_day(int64_t begin, int64_t end, char out[STORE_DAY_TEXT_MAX])
{
    /* Halves first: no overflow for any pair of int64 values. */
    int64_t mid = end < begin ? begin : begin / 2 + end / 2 + (begin % 2 + end % 2) / 2;
    int64_t days = mid / 86400 - (mid % 86400 < 0);
    int64_t y;
    unsigned m, d;
    out[0] = '\0';
    if (days < -1000000000 || days > 1000000000)
        return false;
    civil_from_days(days, &y, &m, &d);
    if (y < 1000 || y > 9999)
        return false;
    char text[48]; /* wide enough for any values, so no truncation warning */
    snprintf(text, sizeof(text), "%04lld-%02u-%02u", (long long)y, m, d);
    memcpy(out, text, STORE_DAY_TEXT_MAX - 1);
    out[STORE_DAY_TEXT_MAX - 1] = '\0';
    return true;
}
