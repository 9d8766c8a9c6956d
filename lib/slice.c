/*
 * slice.c - borrowed byte views; every function is bounded by the slice's
 * length and never reads past it.
 */
#include "slice.h"

#include <limits.h>
#include <string.h>

#include "banned.h"

struct slice slice_make(const char *ptr, size_t len)
{
    return (struct slice){ .ptr = ptr, .len = len };
}

struct slice slice_from_cstr(const char *s)
{
    return slice_make(s, s ? strlen(s) : 0);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

struct slice slice_trim(struct slice s)
{
    while (s.len && is_space(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len && is_space(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

bool slice_eq(struct slice a, struct slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool slice_eq_cstr(struct slice s, const char *cstr)
{
    return slice_eq(s, slice_from_cstr(cstr));
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool slice_eq_nocase(struct slice s, const char *cstr)
{
    size_t n = strlen(cstr);
    if (n != s.len)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (ascii_lower(s.ptr[i]) != ascii_lower(cstr[i]))
            return false;
    }
    return true;
}

bool slice_starts_with(struct slice s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && memcmp(s.ptr, prefix, n) == 0;
}

bool slice_split(struct slice s, char sep, struct slice *head, struct slice *tail)
{
    const char *hit = s.len ? memchr(s.ptr, sep, s.len) : NULL;
    if (!hit) {
        *head = s;
        *tail = slice_make(s.len ? s.ptr + s.len : s.ptr, 0); /* never NULL + 0 */
        return false;
    }
    *head = slice_make(s.ptr, (size_t)(hit - s.ptr));
    *tail = slice_make(hit + 1, s.len - (size_t)(hit - s.ptr) - 1);
    return true;
}

bool slice_to_i64(struct slice s, int64_t *out)
{
    bool negative = false;
    uint64_t value = 0;
    const uint64_t limit_pos = (uint64_t)INT64_MAX;

    s = slice_trim(s);
    if (s.len && (s.ptr[0] == '-' || s.ptr[0] == '+')) {
        negative = s.ptr[0] == '-';
        s = slice_make(s.ptr + 1, s.len - 1);
    }
    if (!s.len)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
        unsigned digit = (unsigned)(s.ptr[i] - '0');
        if (value > (limit_pos + (negative ? 1u : 0u) - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    if (negative)
        *out = value == limit_pos + 1 ? INT64_MIN : -(int64_t)value;
    else
        *out = (int64_t)value;
    return true;
}
