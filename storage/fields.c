/*
 * fields.c - enumerations, text fitting and JSON text for the report
 * columns (see fields.h).
 *
 * These run for every column of every record (hundreds of thousands per
 * big report), so the common case costs one pass over the bytes and no
 * copy: a value that is already valid UTF-8 within its column's width is
 * returned as it is. JSON is written straight into a strbuf rather than
 * built as a jansson tree: a record's two JSON values would otherwise cost
 * a dozen allocations each.
 */
#include <string.h>

#include "storage/fields.h"
#include "lib/banned.h"

/* ---- enumerations ---- */

static const char *const SET_DISPOSITION[] = { "none", "quarantine", "reject", "pass", NULL };
static const char *const SET_VERDICT[] = { "pass", "fail", NULL };
static const char *const SET_ALIGNMENT[] = { "r", "s", NULL };
static const char *const SET_POLICY[] = { "none", "quarantine", "reject", NULL };
static const char *const SET_TESTING[] = { "n", "y", NULL };
static const char *const SET_DISCOVERY[] = { "psl", "treewalk", NULL };
static const char *const SET_DELIVERY[] = { "delivered", "spam", "policy", "reject", "other",
                                            NULL };
static const char *const SET_TLS_POLICY[] = { "sts", "tlsa", "no-policy-found", NULL };

const char *store_enum(enum store_enum_set set, const char *v)
{
    static const char *const *const sets[] = {
        [STORE_ENUM_DISPOSITION] = SET_DISPOSITION, [STORE_ENUM_VERDICT] = SET_VERDICT,
        [STORE_ENUM_ALIGNMENT] = SET_ALIGNMENT,     [STORE_ENUM_POLICY] = SET_POLICY,
        [STORE_ENUM_TESTING] = SET_TESTING,         [STORE_ENUM_DISCOVERY] = SET_DISCOVERY,
        [STORE_ENUM_DELIVERY] = SET_DELIVERY,       [STORE_ENUM_TLS_POLICY] = SET_TLS_POLICY,
    };
    if (!v || (size_t)set >= sizeof(sets) / sizeof(sets[0]))
        return NULL;
    for (const char *const *p = sets[set]; *p; p++) {
        if (strcmp(*p, v) == 0)
            return *p;
    }
    return NULL;
}

/* ---- UTF-8 ---- */

static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

/*
 * Length of the well-formed UTF-8 sequence at p (1-4), 0 when the bytes
 * there are not one (overlong forms, surrogates, past U+10FFFF, cut
 * short), per RFC 3629.
 */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    size_t n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    }
    if (c == 0xE0 && p[1] < 0xA0)
        return 0; /* overlong */
    if (c == 0xED && p[1] > 0x9F)
        return 0; /* surrogate */
    if (c == 0xF0 && p[1] < 0x90)
        return 0; /* overlong */
    if (c == 0xF4 && p[1] > 0x8F)
        return 0; /* past U+10FFFF */
    return n;
}

/* Builds the repaired, cut form of s in scratch. */
static void fit_slow(const unsigned char *s, size_t slen, size_t max_chars,
                     struct strbuf *scratch, unsigned *flags)
{
    size_t chars = 0, i = 0;
    strbuf_reset(scratch);
    while (i < slen) {
        if (max_chars && chars == max_chars) {
            *flags |= STORE_FIT_CUT;
            break;
        }
        size_t n = utf8_seq(s + i, slen - i);
        if (n) {
            (void)strbuf_add(scratch, s + i, n);
            i += n;
        } else {
            (void)strbuf_add(scratch, REPLACEMENT, 3);
            *flags |= STORE_FIT_REPAIRED;
            i++;
        }
        chars++;
    }
}

const char *store_fit_len(const char *s, size_t slen, size_t max_chars, struct strbuf *scratch,
                          size_t *len, unsigned *flags)
{
    unsigned ignored = 0;
    const unsigned char *u = (const unsigned char *)s;
    size_t chars = 0, i = 0;
    if (!flags)
        flags = &ignored;
    *len = 0;
    if (!s)
        return NULL;
    while (i < slen) {
        if (max_chars && chars == max_chars)
            break;
        if (u[i] < 0x80) {
            i++;
        } else {
            size_t n = utf8_seq(u + i, slen - i);
            if (!n)
                break;
            i += n;
        }
        chars++;
    }
    if (i == slen) {
        *len = slen;
        return s;
    }
    fit_slow(u, slen, max_chars, scratch, flags);
    *len = scratch->len;
    return scratch->buf;
}

const char *store_fit(const char *s, size_t max_chars, struct strbuf *scratch, size_t *len,
                      unsigned *flags)
{
    return store_fit_len(s, s ? strlen(s) : 0, max_chars, scratch, len, flags);
}

/* Characters in a well-formed UTF-8 buffer. */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

const char *store_fit_tail(const char *s, size_t max_chars, struct strbuf *scratch, size_t *len)
{
    unsigned flags = 0;
    const char *whole = store_fit(s, 0, scratch, len, &flags);
    if (!whole || max_chars < 4 || utf8_chars(whole, *len) <= max_chars)
        return whole;
    size_t drop = utf8_chars(whole, *len) - (max_chars - 3), i = 0;
    /* skip `drop` characters from the front */
    for (size_t seen = 0; i < *len; i++) {
        if (((unsigned char)whole[i] & 0xC0) != 0x80 && seen++ == drop)
            break;
    }
    struct strbuf tail;
    strbuf_init(&tail, 0);
    (void)strbuf_addstr(&tail, "...");
    (void)strbuf_add(&tail, whole + i, *len - i);
    strbuf_reset(scratch);
    (void)strbuf_add(scratch, tail.buf, tail.len);
    strbuf_release(&tail);
    *len = scratch->len;
    return scratch->buf;
}

const char *store_lower(const char *s, struct strbuf *scratch)
{
    strbuf_reset(scratch);
    for (const char *p = s; p && *p; p++)
        (void)strbuf_addch(scratch, *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p);
    return scratch->buf;
}

/* ---- JSON ---- */

void store_json_str(struct strbuf *sb, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s), run = 0, i = 0;
    (void)strbuf_addch(sb, '"');
    while (i < len) {
        unsigned char c = u[i];
        size_t n = c >= 0x20 && c < 0x80 && c != '"' && c != '\\' ? 1 : 0;
        if (n) { /* plain ASCII: extend the run copied in one go */
            run++;
            i++;
            continue;
        }
        (void)strbuf_add(sb, s + i - run, run);
        run = 0;
        if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char)c };
            (void)strbuf_add(sb, esc, 2);
            i++;
        } else if (c < 0x20) {
            char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            if (c == '\n' || c == '\r' || c == '\t') {
                esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
                (void)strbuf_add(sb, esc, 2);
            } else {
                (void)strbuf_add(sb, esc, 6);
            }
            i++;
        } else if ((n = utf8_seq(u + i, len - i)) != 0) {
            (void)strbuf_add(sb, s + i, n);
            i += n;
        } else {
            (void)strbuf_add(sb, REPLACEMENT, 3);
            i++;
        }
    }
    (void)strbuf_add(sb, s + i - run, run);
    (void)strbuf_addch(sb, '"');
}

void store_json_member(struct strbuf *sb, bool *first, const char *key, const char *value)
{
    if (!value)
        return;
    if (!*first)
        (void)strbuf_addch(sb, ',');
    *first = false;
    store_json_str(sb, key);
    (void)strbuf_addch(sb, ':');
    store_json_str(sb, value);
}

void store_json_str_array(struct strbuf *sb, const char *const *items, size_t n)
{
    (void)strbuf_addch(sb, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            (void)strbuf_addch(sb, ',');
        store_json_str(sb, items[i] ? items[i] : "");
    }
    (void)strbuf_addch(sb, ']');
}
