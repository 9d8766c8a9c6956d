/*
 * strbuf.h - a growable, bounded, always NUL-terminated byte buffer.
 *
 * The caller owns a struct strbuf: strbuf_init() it with a cap (the largest
 * length it may reach, from limits.h; 0 means STRBUF_NO_CAP for buffers whose
 * size is not driven by input), add to it, read sb.buf / sb.len, and
 * strbuf_release() it (or strbuf_detach() the bytes). An add that would pass
 * the cap changes nothing and returns DMARCD_E_TOO_LONG, so input can never
 * grow a buffer without bound; callers of a capped buffer check every add.
 * On an uncapped buffer adds cannot fail (out of memory aborts), which is
 * why the adds are not warn_unused_result. sb.buf is valid ("") after init.
 */
#ifndef DMARCD_STRBUF_H
#define DMARCD_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "error.h"
#include "slice.h"

#define STRBUF_NO_CAP ((size_t)-1 / 2)

struct strbuf {
    char *buf;
    size_t len;
    size_t alloc;
    size_t cap;
};

void strbuf_init(struct strbuf *sb, size_t cap);
void strbuf_release(struct strbuf *sb);
/* Hands the bytes (NUL-terminated, heap) to the caller and re-inits sb. */
char *strbuf_detach(struct strbuf *sb, size_t *len_out);
/* Empties the buffer, keeping its memory. */
void strbuf_reset(struct strbuf *sb);

enum dmarcd_err strbuf_add(struct strbuf *sb, const void *data, size_t len);
enum dmarcd_err strbuf_addstr(struct strbuf *sb, const char *s);
enum dmarcd_err strbuf_addslice(struct strbuf *sb, struct slice s);
enum dmarcd_err strbuf_addch(struct strbuf *sb, char c);
enum dmarcd_err strbuf_addf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum dmarcd_err strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Replaces the contents with the formatted text; a refused text (past the
 * cap, or unformattable) leaves sb empty. sb may be NULL, for the optional
 * `detail` out-parameters that say why something failed: then nothing is
 * written and the result is DMARCD_OK. */
enum dmarcd_err strbuf_setf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum dmarcd_err strbuf_vsetf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Shortens to len (no-op if already shorter). */
void strbuf_setlen(struct strbuf *sb, size_t len);
/* Removes leading and trailing ASCII whitespace in place. */
void strbuf_trim(struct strbuf *sb);
struct slice strbuf_slice(const struct strbuf *sb);

#endif
