/*
 * xmlw.h - a minimal streaming XML writer for aggregate reports.
 *
 * The writer appends to a growable buffer. Without a flush callback the
 * whole document stays in memory (demo reports are small and are compressed
 * in one go); with one, the buffer is handed on whenever it passes
 * XW_FLUSH_AT bytes, so a 200 MB report needs constant memory.
 *
 * Errors are sticky, like stdio's ferror(): the element calls return
 * nothing and xw_finish() reports whether any flush failed. This keeps the
 * long, flat report-emitting code readable; nothing is lost because a failed
 * flush stops all further output.
 *
 * A style decides indentation and line ends, because real reporters differ
 * (Microsoft uses CRLF, Yahoo and Mail.Ru leave a TAB before each newline).
 */
#ifndef REPORTGEN_XMLW_H
#define REPORTGEN_XMLW_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct buf {
    char *p;
    size_t len, cap;
};

struct xw_style {
    const char *indent; /* one level of indentation */
    const char *eol;    /* written after every line */
    unsigned base;      /* indentation levels before <feedback> */
};

/* Returns 0 on success; the bytes are only borrowed for the call. */
typedef int (*xw_flush_fn)(void *ctx, const char *p, size_t n);

#define XW_FLUSH_AT (64u * 1024u)

struct xw {
    struct buf out;
    struct xw_style style;
    unsigned depth;
    xw_flush_fn flush;
    void *flush_ctx;
    uint64_t total; /* bytes produced so far, flushed or not */
    int err;
};

void xw_init(struct xw *w, const struct xw_style *style, xw_flush_fn flush, void *ctx);
void xw_release(struct xw *w);

/* A whole line of trusted markup (XML declaration). */
void xw_line(struct xw *w, const char *markup);
/* <name attrs> on its own line; attrs is trusted markup or NULL. */
void xw_open(struct xw *w, const char *name, const char *attrs);
void xw_close(struct xw *w, const char *name);
/* <name>escaped text</name>; NULL text writes nothing, "" an empty element. */
void xw_text(struct xw *w, const char *name, const char *text);
void xw_u64(struct xw *w, const char *name, uint64_t v);

/* Flushes what is left (when streaming); returns the sticky error. */
int xw_finish(struct xw *w);

#endif
