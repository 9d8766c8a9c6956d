/*
 * xmlw.c - buffer and XML writer behind xmlw.h.
 *
 * Text escaping replaces the five XML specials and every control character
 * that XML 1.0 forbids, so whatever a scenario puts into a comment or
 * human_result always yields a well-formed document.
 */
#include "xmlw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/banned.h"

static void buf_init(struct buf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

static void buf_release(struct buf *b)
{
    free(b->p);
    buf_init(b);
}

static void buf_add(struct buf *b, const void *p, size_t n)
{
    if (n > SIZE_MAX - b->len - 1)
        rg_die("buffer size overflow");
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;

        while (cap < b->len + n + 1)
            cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
        b->p = rg_xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void xw_init(struct xw *w, const struct xw_style *style, xw_flush_fn flush, void *ctx)
{
    buf_init(&w->out);
    w->style = *style;
    w->depth = 0;
    w->flush = flush;
    w->flush_ctx = ctx;
    w->total = 0;
    w->err = 0;
}

void xw_release(struct xw *w)
{
    buf_release(&w->out);
}

static void put(struct xw *w, const char *p, size_t n)
{
    buf_add(&w->out, p, n);
    w->total += n;
}

static void puts_(struct xw *w, const char *s)
{
    put(w, s, strlen(s));
}

static void maybe_flush(struct xw *w)
{
    if (!w->flush || w->out.len < XW_FLUSH_AT)
        return;
    if (!w->err && w->flush(w->flush_ctx, w->out.p, w->out.len))
        w->err = -1;
    w->out.len = 0;
}

static void indent(struct xw *w)
{
    for (unsigned i = 0; i < w->style.base + w->depth; i++)
        puts_(w, w->style.indent);
}

static void escape(struct xw *w, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *rep = NULL;

        if (c == '&')
            rep = "&amp;";
        else if (c == '<')
            rep = "&lt;";
        else if (c == '>')
            rep = "&gt;";
        else if (c == '"')
            rep = "&quot;";
        else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            rep = "?"; /* not representable in XML 1.0 at all */
        if (!rep)
            continue;
        put(w, run, (size_t)(s - run));
        puts_(w, rep);
        run = s + 1;
    }
    put(w, run, (size_t)(s - run));
}

void xw_line(struct xw *w, const char *markup)
{
    puts_(w, markup);
    puts_(w, w->style.eol);
}

void xw_open(struct xw *w, const char *name, const char *attrs)
{
    indent(w);
    put(w, "<", 1);
    puts_(w, name);
    if (attrs) {
        put(w, " ", 1);
        puts_(w, attrs);
    }
    put(w, ">", 1);
    puts_(w, w->style.eol);
    w->depth++;
}

void xw_close(struct xw *w, const char *name)
{
    if (w->depth == 0)
        rg_die("xml writer: closing <%s> at depth 0", name);
    w->depth--;
    indent(w);
    put(w, "</", 2);
    puts_(w, name);
    put(w, ">", 1);
    puts_(w, w->style.eol);
    maybe_flush(w);
}

void xw_text(struct xw *w, const char *name, const char *text)
{
    if (!text)
        return;
    indent(w);
    put(w, "<", 1);
    puts_(w, name);
    put(w, ">", 1);
    escape(w, text);
    put(w, "</", 2);
    puts_(w, name);
    put(w, ">", 1);
    puts_(w, w->style.eol);
}

void xw_u64(struct xw *w, const char *name, uint64_t v)
{
    char num[24];

    rg_fmt(num, sizeof(num), "%" PRIu64, v);
    xw_text(w, name, num);
}

int xw_finish(struct xw *w)
{
    if (w->depth != 0)
        rg_die("xml writer: %u elements left open", w->depth);
    if (w->flush && w->out.len > 0) {
        if (!w->err && w->flush(w->flush_ctx, w->out.p, w->out.len))
            w->err = -1;
        w->out.len = 0;
    }
    return w->err;
}
