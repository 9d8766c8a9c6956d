/*
 * report_key.h - the identity of a stored report, and the day it counts for.
 *
 * A report is (tenant, reporter org, report_id, policy domain, begin, end)
 * (DESIGN.md: report ids alone are not unique across reporters). The key
 * is SHA-256 over a fixed encoding of those fields, so it fits a
 * BINARY(32) unique key whatever the fields' lengths:
 *
 *   "dmarcd-agg-v1" NUL org_name NUL report_id NUL lower(domain) NUL
 *   decimal(begin) NUL decimal(end)
 *
 * (absent strings are empty; XML text can never hold NUL, so the encoding
 * is unambiguous). Changing it would make stored reports look new: bump
 * the "v1" only together with a migration that recomputes the keys.
 *
 * report_day is the partition column. A report counts for the UTC day of
 * the middle of its range: a day-long report from a reporter that aligns
 * to its local midnight (Netease at 16:00 UTC, AOL at 04:00) or ends at
 * 23:59:59 or at the next 00:00:00 lands on the day it is about.
 */
#ifndef DMARCD_STORAGE_REPORT_KEY_H
#define DMARCD_STORAGE_REPORT_KEY_H

#include <stdbool.h>
#include <stdint.h>

#include "parser/report.h"

#define STORE_REPORT_KEY_BYTES 32
#define STORE_DAY_TEXT_MAX 11 /* "YYYY-MM-DD" */

void store_report_key(const char *org_name, const char *report_id, const char *policy_domain,
                      int64_t begin, int64_t end, uint8_t out[STORE_REPORT_KEY_BYTES]);

/* The key of a parsed aggregate report. */
void store_agg_report_key(const struct agg_report *report, uint8_t out[STORE_REPORT_KEY_BYTES]);

/*
 * "YYYY-MM-DD" of the middle of [begin, end] (begin alone when end <
 * begin). False when that day is outside MariaDB's DATE range (years
 * 1000-9999), e.g. a range in milliseconds: the caller quarantines or
 * repairs the report.
 */
bool store_report_day(int64_t begin, int64_t end, char out[STORE_DAY_TEXT_MAX]);

#endif
