/*
 * jsonw.c - token-by-token JSON output. Tokens go to the writer's own
 * buffer, handed to stdio in JSONW_BUFFER_BYTES blocks (and at the end of
 * each top-level value or line), because the ndjson output of a big report
 * is millions of tiny writes and a stdio call per token costs more than
 * the copy. Escaping copies runs of safe bytes with one memcpy. The
 * unlocked stdio call skips the stream lock: a writer owns its stream and
 * is never shared between threads.
 */
#include "jsonw.h"

#include <string.h>

#include "lib/xalloc.h"
#include "lib/banned.h"

void jsonw_init(struct jsonw *w, FILE *out)
{
    w->out = out;
    w->len = 0;
    w->depth = 0;
    memset(w->need_comma, 0, sizeof(w->need_comma));
}

void jsonw_flush(struct jsonw *w)
{
    if (w->len)
        (void)fwrite_unlocked(w->buf, 1, w->len, w->out); /* errors: ferror(out) */
    w->len = 0;
}

static void put(struct jsonw *w, const void *data, size_t n)
{
    if (n > sizeof(w->buf) - w->len) {
        jsonw_flush(w);
        if (n > sizeof(w->buf)) {
            (void)fwrite_unlocked(data, 1, n, w->out);
            return;
        }
    }
    memcpy(w->buf + w->len, data, n);
    w->len += n;
}

static void put_char(struct jsonw *w, char c)
{
    if (w->len == sizeof(w->buf))
        jsonw_flush(w);
    w->buf[w->len++] = c;
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

static void escape(struct jsonw *w, const char *str, size_t len)
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
        put(w, s + i - run, run);
        run = 0;
        if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char)c };
            put(w, esc, 2);
        } else if (c == '\n') {
            put(w, "\\n", 2);
        } else if (c == '\r') {
            put(w, "\\r", 2);
        } else if (c == '\t') {
            put(w, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            put(w, esc, 6);
        } else {
            put(w, "\\ufffd", 6); /* invalid UTF-8 byte */
        }
        i++;
    }
    put(w, s + len - run, run);
}

void jsonw_escape(FILE *out, const char *s, size_t len)
{
    struct jsonw w;
    jsonw_init(&w, out);
    escape(&w, s, len);
    jsonw_flush(&w);
}

/* Writes the comma (if needed) and the key (if any) before a value. */
static void prefix(struct jsonw *w, const char *key)
{
    if (w->need_comma[w->depth])
        put_char(w, ',');
    w->need_comma[w->depth] = true;
    if (key) {
        put_char(w, '"');
        escape(w, key, strlen(key));
        put(w, "\":", 2);
    }
}

static void open_scope(struct jsonw *w, const char *key, char c)
{
    if (w->depth >= JSONW_MAX_DEPTH)
        dmarcd_die("jsonw: nesting too deep (program error)");
    prefix(w, key);
    put_char(w, c);
    w->need_comma[++w->depth] = false;
}

static void close_scope(struct jsonw *w, char c)
{
    if (w->depth == 0)
        dmarcd_die("jsonw: unbalanced close (program error)");
    w->depth--;
    put_char(w, c);
    if (w->depth == 0)
        jsonw_flush(w);
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
    put_char(w, '"');
    escape(w, value, len);
    put_char(w, '"');
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
    put(w, start, (size_t)(end - start));
}

void jsonw_uint(struct jsonw *w, const char *key, uint64_t value)
{
    char buf[24];
    char *end = buf + sizeof(buf);
    char *start = format_u64(end, value);
    prefix(w, key);
    put(w, start, (size_t)(end - start));
}

void jsonw_bool(struct jsonw *w, const char *key, bool value)
{
    prefix(w, key);
    if (value)
        put(w, "true", 4);
    else
        put(w, "false", 5);
}

void jsonw_newline(struct jsonw *w)
{
    put_char(w, '\n');
    jsonw_flush(w);
    if (w->depth == 0)
        w->need_comma[0] = false;
}
