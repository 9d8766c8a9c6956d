/*
 * warn.h - the list of warnings kept with one report: what was normalised
 * or salvaged ("spf result \"hardfail\" read as \"fail\" (record 3)").
 *
 * Owned by the parser of one report; strings are heap copies freed by
 * reset/release. Past DMARCD_MAX_WARNINGS, warnings are counted, not kept.
 * A warning repeated verbatim is kept once (a 100k-record report with the
 * same quirk in every record yields one line plus a count in the text).
 */
#ifndef DMARCD_PARSER_WARN_H
#define DMARCD_PARSER_WARN_H

#include <stddef.h>

#include "lib/limits.h"
#include "parser/report.h"

struct warn_list {
    char *items[DMARCD_MAX_WARNINGS];
    size_t repeats[DMARCD_MAX_WARNINGS];
    size_t count;
    size_t dropped;
    char *rendered[DMARCD_MAX_WARNINGS]; /* items with " (N times)" for the view */
    const char *view_items[DMARCD_MAX_WARNINGS];
};

void warn_list_init(struct warn_list *w);
void warn_list_release(struct warn_list *w);
void warn_list_reset(struct warn_list *w);

void warn_add(struct warn_list *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The warnings as a struct report_warnings, valid until the next add/reset. */
struct report_warnings warn_list_view(struct warn_list *w);

#endif
