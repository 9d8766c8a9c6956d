/*
 * strbuf.c - bounded growable buffer. Growth is geometric; the cap is
 * checked before any memory moves so a refused add leaves the buffer as it
 * was. An empty buffer points at a shared "" so sb.buf is never NULL.
 */
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

static char strbuf_empty[1];

void strbuf_init(struct strbuf *sb, size_t cap)
{
    sb->buf = strbuf_empty;
    sb->len = 0;
    sb->alloc = 0;
    sb->cap = cap ? cap : STRBUF_NO_CAP;
}

void strbuf_release(struct strbuf *sb)
{
    size_t cap = sb->cap;
    if (sb->alloc)
        free(sb->buf);
    strbuf_init(sb, cap);
}

char *strbuf_detach(struct strbuf *sb, size_t *len_out)
{
    char *out = sb->alloc ? sb->buf : xstrdup("");
    size_t cap = sb->cap;
    if (len_out)
        *len_out = sb->len;
    strbuf_init(sb, cap);
    return out;
}

void strbuf_reset(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->alloc)
        sb->buf[0] = '\0';
}

/* Makes room for `extra` more bytes plus the NUL, or refuses past the cap. */
static enum dmarcd_err strbuf_grow(struct strbuf *sb, size_t extra)
{
    if (extra > sb->cap || sb->len > sb->cap - extra)
        return DMARCD_E_TOO_LONG;
    size_t need = sb->len + extra + 1;
    if (need <= sb->alloc)
        return DMARCD_OK;
    size_t alloc = sb->alloc ? sb->alloc : 64;
    while (alloc < need)
        alloc = alloc > STRBUF_NO_CAP / 2 ? need : alloc * 2;
    if (sb->alloc) {
        sb->buf = xrealloc(sb->buf, alloc);
    } else {
        sb->buf = xmalloc(alloc);
        sb->buf[0] = '\0';
    }
    sb->alloc = alloc;
    return DMARCD_OK;
}

enum dmarcd_err strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
    enum dmarcd_err rc = strbuf_grow(sb, len);
    if (rc)
        return rc;
    if (len)
        memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
    return DMARCD_OK;
}

enum dmarcd_err strbuf_addstr(struct strbuf *sb, const char *s)
{
    return strbuf_add(sb, s, strlen(s));
}

enum dmarcd_err strbuf_addslice(struct strbuf *sb, struct slice s)
{
    return strbuf_add(sb, s.ptr, s.len);
}

enum dmarcd_err strbuf_addch(struct strbuf *sb, char c)
{
    return strbuf_add(sb, &c, 1);
}

enum dmarcd_err strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return DMARCD_E_INVALID;
    enum dmarcd_err rc = strbuf_grow(sb, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
    return DMARCD_OK;
}

enum dmarcd_err strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum dmarcd_err rc = strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
    return rc;
}

enum dmarcd_err strbuf_vsetf(struct strbuf *sb, const char *fmt, va_list ap)
{
    if (!sb)
        return DMARCD_OK;
    strbuf_reset(sb);
    return strbuf_vaddf(sb, fmt, ap);
}

enum dmarcd_err strbuf_setf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum dmarcd_err rc = strbuf_vsetf(sb, fmt, ap);
    va_end(ap);
    return rc;
}

void strbuf_setlen(struct strbuf *sb, size_t len)
{
    if (len >= sb->len)
        return;
    sb->len = len;
    sb->buf[len] = '\0';
}

void strbuf_trim(struct strbuf *sb)
{
    struct slice t = slice_trim(strbuf_slice(sb));
    if (t.len == sb->len)
        return;
    memmove(sb->buf, t.ptr, t.len);
    sb->len = t.len;
    sb->buf[sb->len] = '\0';
}

struct slice strbuf_slice(const struct strbuf *sb)
{
    return slice_make(sb->buf, sb->len);
}
