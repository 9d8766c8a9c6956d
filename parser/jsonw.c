/*
 * jsonw.c - token-by-token JSON output. Escaping is done here once, with
 * a fast path that copies runs of safe bytes with one fwrite, because the
 * ndjson output of a big report is dominated by string copying. The
 * unlocked stdio calls skip a lock per byte: a writer owns its stream and
 * is never shared between threads.
 */
#include "jsonw.h"

#include <string.h>

#include "lib/xalloc.h"
#include "lib/banned.h"

void jsonw_init(struct jsonw *w, FILE *out)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned min;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    unsigned cp = c & (0xffu >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void jsonw_escape(FILE *out, const char *str, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0;

    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            i++;
            run++;
            continue;
        }
        if (c >= 0x80) {
            size_t n = utf8_seq_len(s + i, len - i);
            if (n) {
                i += n;
                run += n;
                continue;
            }
        }
        fwrite_unlocked(s + i - run, 1, run, out);
        run = 0;
        if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char)c };
            fwrite_unlocked(esc, 1, 2, out);
        } else if (c == '\n') {
            fwrite_unlocked("\\n", 1, 2, out);
        } else if (c == '\r') {
            fwrite_unlocked("\\r", 1, 2, out);
        } else if (c == '\t') {
            fwrite_unlocked("\\t", 1, 2, out);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            fwrite_unlocked(esc, 1, 6, out);
        } else {
            fwrite_unlocked("\\ufffd", 1, 6, out); /* invalid UTF-8 byte */
        }
        i++;
    }
    fwrite_unlocked(s + len - run, 1, run, out);
}

/* Writes the comma (if needed) and the key (if any) before a value. */
static void prefix(struct jsonw *w, const char *key)
{
    if (w->need_comma[w->depth])
        putc_unlocked(',', w->out);
    w->need_comma[w->depth] = true;
    if (key) {
        putc_unlocked('"', w->out);
        jsonw_escape(w->out, key, strlen(key));
        fputs_unlocked("\":", w->out);
    }
}

static void open_scope(struct jsonw *w, const char *key, char c)
{
    if (w->depth >= JSONW_MAX_DEPTH)
        dmarcd_die("jsonw: nesting too deep (program error)");
    prefix(w, key);
    putc_unlocked(c, w->out);
    w->need_comma[++w->depth] = false;
}

static void close_scope(struct jsonw *w, char c)
{
    if (w->depth == 0)
        dmarcd_die("jsonw: unbalanced close (program error)");
    w->depth--;
    putc_unlocked(c, w->out);
}

void jsonw_object_begin(struct jsonw *w, const char *key)
{
    open_scope(w, key, '{');
}

void jsonw_object_end(struct jsonw *w)
{
    close_scope(w, '}');
}

void jsonw_array_begin(struct jsonw *w, const char *key)
{
    open_scope(w, key, '[');
}

void jsonw_array_end(struct jsonw *w)
{
    close_scope(w, ']');
}

void jsonw_string_len(struct jsonw *w, const char *key, const char *value, size_t len)
{
    if (!value)
        return;
    prefix(w, key);
    putc_unlocked('"', w->out);
    jsonw_escape(w->out, value, len);
    putc_unlocked('"', w->out);
}

void jsonw_string(struct jsonw *w, const char *key, const char *value)
{
    if (value)
        jsonw_string_len(w, key, value, strlen(value));
}

/* Decimal digits of v, written backwards from end; returns the start. */
static char *format_u64(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

void jsonw_int(struct jsonw *w, const char *key, int64_t value)
{
    char buf[24];
    char *end = buf + sizeof(buf);
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    char *start = format_u64(end, magnitude);
    if (value < 0)
        *--start = '-';
    prefix(w, key);
    fwrite_unlocked(start, 1, (size_t)(end - start), w->out);
}

void jsonw_uint(struct jsonw *w, const char *key, uint64_t value)
{
    char buf[24];
    char *end = buf + sizeof(buf);
    char *start = format_u64(end, value);
    prefix(w, key);
    fwrite_unlocked(start, 1, (size_t)(end - start), w->out);
}

void jsonw_bool(struct jsonw *w, const char *key, bool value)
{
    prefix(w, key);
    fputs_unlocked(value ? "true" : "false", w->out);
}

void jsonw_newline(struct jsonw *w)
{
    putc_unlocked('\n', w->out);
    if (w->depth == 0)
        w->need_comma[0] = false;
}
