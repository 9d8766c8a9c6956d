/*
 * warn.c - per-report warning list with duplicate folding, so a quirk
 * repeated in every record of a huge report costs one entry, not memory
 * proportional to the report.
 */
#include "warn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

void warn_list_init(struct warn_list *w)
{
    memset(w, 0, sizeof(*w));
}

static void free_rendered(struct warn_list *w)
{
    for (size_t i = 0; i < w->count; i++) {
        free(w->rendered[i]);
        w->rendered[i] = NULL;
    }
}

void warn_list_reset(struct warn_list *w)
{
    free_rendered(w);
    for (size_t i = 0; i < w->count; i++)
        free(w->items[i]);
    warn_list_init(w);
}

void warn_list_release(struct warn_list *w)
{
    warn_list_reset(w);
}

/* Cuts sb to at most max bytes, on a UTF-8 character boundary, with "...". */
static void cut_text(struct strbuf *sb, size_t max)
{
    size_t n = max - 3;
    while (n > 0 && ((unsigned char)sb->buf[n] & 0xC0) == 0x80)
        n--;
    strbuf_setlen(sb, n);
    strbuf_addstr(sb, "...");
}

void warn_add(struct warn_list *w, const char *fmt, ...)
{
    struct strbuf sb;
    va_list ap;

    /* Formatted uncapped (the arguments are already bounded by the input
     * caps), then cut: a long warning keeps its start instead of becoming
     * a generic line that would fold together with unrelated ones. */
    strbuf_init(&sb, 0);
    va_start(ap, fmt);
    if (strbuf_vaddf(&sb, fmt, ap) != DMARCD_OK)
        strbuf_addstr(&sb, "(unformattable warning)");
    va_end(ap);
    if (sb.len > DMARCD_MAX_LOG_VALUE_BYTES)
        cut_text(&sb, DMARCD_MAX_LOG_VALUE_BYTES);
    for (size_t i = 0; i < w->count; i++) {
        if (strcmp(w->items[i], sb.buf) == 0) {
            w->repeats[i]++;
            strbuf_release(&sb);
            return;
        }
    }
    if (w->count == DMARCD_MAX_WARNINGS) {
        w->dropped++;
        strbuf_release(&sb);
        return;
    }
    w->repeats[w->count] = 1;
    w->items[w->count++] = strbuf_detach(&sb, NULL);
}

struct report_warnings warn_list_view(struct warn_list *w)
{
    free_rendered(w);
    for (size_t i = 0; i < w->count; i++) {
        if (w->repeats[i] > 1) {
            struct strbuf sb;
            strbuf_init(&sb, 0);
            (void)strbuf_addf(&sb, "%s (%zu times)", w->items[i], w->repeats[i]);
            w->rendered[i] = strbuf_detach(&sb, NULL);
            w->view_items[i] = w->rendered[i];
        } else {
            w->view_items[i] = w->items[i];
        }
    }
    return (struct report_warnings){ .items = w->view_items, .count = w->count,
                                     .dropped = w->dropped };
}
