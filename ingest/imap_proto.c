/*
 * imap_proto.c - IMAP response reading and parsing, command argument
 * writing, and the mailbox URL (see imap_proto.h).
 *
 * Everything here works on bytes a stranger's server sent, so every scan
 * is bounded by the slice it is given, numbers are range-checked, and the
 * reader keeps at most IMAP_MAX_RESPONSE_TEXT of any response besides the
 * literal the caller asked it to keep.
 */
#include "ingest/imap_proto.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xalloc.h"
#include "lib/banned.h"

/* ---- the response reader ---- */

void imap_reader_init(struct imap_reader *r, const struct imap_reader_ops *ops, void *ctx)
{
    memset(r, 0, sizeof(*r));
    r->ops = ops;
    r->ctx = ctx;
    strbuf_init(&r->text, IMAP_MAX_RESPONSE_TEXT);
}

void imap_reader_release(struct imap_reader *r)
{
    strbuf_release(&r->text);
}

void imap_reader_reset(struct imap_reader *r)
{
    strbuf_reset(&r->text);
    r->segment = 0;
    r->literal_left = 0;
    r->in_literal = false;
    r->broken = false;
    r->sink = NULL;
}

bool imap_reader_idle(const struct imap_reader *r)
{
    return !r->in_literal && r->text.len == 0 && !r->broken;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* True when seg ends with a literal marker "{n}" (or "~{n}"); *len = n. */
static bool literal_marker(struct slice seg, uint64_t *len)
{
    size_t end = seg.len, i;
    if (end < 3 || seg.ptr[end - 1] != '}')
        return false;
    i = end - 1;
    while (i > 0 && is_digit(seg.ptr[i - 1]))
        i--;
    if (i == end - 1 || i == 0 || seg.ptr[i - 1] != '{' || end - 1 - i > 19)
        return false;
    uint64_t n = 0;
    for (size_t k = i; k < end - 1; k++)
        n = n * 10 + (uint64_t)(seg.ptr[k] - '0');
    *len = n;
    return true;
}

/* A line (or the part after a literal) ended: a literal follows, or the response is whole. */
static enum dmarcd_err line_done(struct imap_reader *r)
{
    if (r->text.len > r->segment && r->text.buf[r->text.len - 1] == '\r')
        strbuf_setlen(&r->text, r->text.len - 1);
    struct slice seg = slice_make(r->text.buf + r->segment, r->text.len - r->segment);
    uint64_t n;
    if (literal_marker(seg, &n)) {
        r->sink = r->ops->literal ? r->ops->literal(r->ctx, strbuf_slice(&r->text), n) : NULL;
        r->literal_left = n;
        r->in_literal = n > 0;
        if (!n) {
            r->sink = NULL;
            r->segment = r->text.len;
        }
        return DMARCD_OK;
    }
    enum dmarcd_err rc = r->ops->response(r->ctx, strbuf_slice(&r->text));
    strbuf_reset(&r->text);
    r->segment = 0;
    return rc;
}

enum dmarcd_err imap_reader_feed(struct imap_reader *r, const void *data, size_t len)
{
    const char *p = data;
    enum dmarcd_err rc = DMARCD_OK;
    if (r->broken)
        return DMARCD_E_INVALID;
    while (len) {
        if (r->in_literal) {
            size_t take = len < r->literal_left ? len : (size_t)r->literal_left;
            if (r->sink && strbuf_add(r->sink, p, take)) {
                rc = DMARCD_E_TOO_BIG;
                break;
            }
            p += take;
            len -= take;
            r->literal_left -= take;
            if (!r->literal_left) {
                r->in_literal = false;
                r->sink = NULL;
                r->segment = r->text.len;
            }
            continue;
        }
        const char *nl = memchr(p, '\n', len);
        size_t take = nl ? (size_t)(nl - p) : len;
        if (strbuf_add(&r->text, p, take)) {
            rc = DMARCD_E_TOO_LONG;
            break;
        }
        p += take;
        len -= take;
        if (!nl)
            break;
        p++;
        len--;
        rc = line_done(r);
        if (rc)
            break;
    }
    if (rc)
        r->broken = true;
    return rc;
}

/* ---- taking responses apart ---- */

/* The next space-separated word of *s; *s moves past it and one space. */
static struct slice next_word(struct slice *s)
{
    struct slice word, rest;
    if (slice_split(*s, ' ', &word, &rest))
        *s = rest;
    else
        *s = slice_make(s->ptr + s->len, 0);
    return word;
}

/* Tags and atoms: printable ASCII without the specials of RFC 3501's atom. */
static bool atom_char(char c)
{
    return c > 0x20 && c < 0x7f && !strchr("(){%*\"\\]", c);
}

static bool is_atom(struct slice s)
{
    if (!s.len)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (!atom_char(s.ptr[i]))
            return false;
    }
    return true;
}

bool imap_parse_nz32(struct slice s, uint32_t *out)
{
    uint64_t n = 0;
    if (!s.len || s.len > 10)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (!is_digit(s.ptr[i]))
            return false;
        n = n * 10 + (uint64_t)(s.ptr[i] - '0');
    }
    if (n == 0 || n > UINT32_MAX)
        return false;
    *out = (uint32_t)n;
    return true;
}

/* "[CODE args] rest" at the start of *s: fills code and code_args. */
static void take_code(struct slice *s, struct imap_response *out)
{
    if (!s->len || s->ptr[0] != '[')
        return;
    const char *close = memchr(s->ptr, ']', s->len);
    if (!close)
        return;
    struct slice inside = slice_make(s->ptr + 1, (size_t)(close - s->ptr) - 1);
    struct slice code, args;
    if (!slice_split(inside, ' ', &code, &args))
        args = slice_make(inside.ptr + inside.len, 0);
    out->code = code;
    out->code_args = args;
    size_t used = (size_t)(close - s->ptr) + 1;
    *s = slice_make(s->ptr + used, s->len - used);
    if (s->len && s->ptr[0] == ' ')
        *s = slice_make(s->ptr + 1, s->len - 1);
}

bool imap_response_is_status(const struct imap_response *resp)
{
    static const char *const names[] = { "OK", "NO", "BAD", "BYE", "PREAUTH" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (slice_eq_nocase(resp->name, names[i]))
            return true;
    }
    return false;
}

bool imap_response_parse(struct slice text, struct imap_response *out)
{
    memset(out, 0, sizeof(*out));
    if (!text.len)
        return false;
    if (text.ptr[0] == '+') {
        out->kind = IMAP_RESP_CONTINUE;
        out->rest = slice_trim(slice_make(text.ptr + 1, text.len - 1));
        return true;
    }
    struct slice s = text;
    struct slice first = next_word(&s);
    if (slice_eq_cstr(first, "*")) {
        out->kind = IMAP_RESP_UNTAGGED;
    } else if (is_atom(first)) {
        out->kind = IMAP_RESP_TAGGED;
        out->tag = first;
    } else {
        return false;
    }
    out->name = next_word(&s);
    if (out->kind == IMAP_RESP_UNTAGGED && out->name.len && is_digit(out->name.ptr[0])) {
        uint32_t n;
        /* "* 0 EXISTS" is legal: 0 is the one number that is not nz. */
        if (slice_eq_cstr(out->name, "0"))
            n = 0;
        else if (!imap_parse_nz32(out->name, &n))
            return false;
        out->has_number = true;
        out->number = n;
        out->name = next_word(&s);
    }
    if (!is_atom(out->name))
        return false;
    if (imap_response_is_status(out))
        take_code(&s, out);
    out->rest = s;
    return true;
}

bool imap_parse_search(struct slice rest, uint32_t *uids, size_t max, size_t *n)
{
    *n = 0;
    while (rest.len) {
        struct slice word = next_word(&rest);
        if (!word.len)
            continue;
        if (word.ptr[0] == '(')     /* "(MODSEQ 917162500)" closes a CONDSTORE search */
            break;
        if (*n == max || !imap_parse_nz32(word, &uids[*n]))
            return false;
        (*n)++;
    }
    return true;
}

unsigned imap_parse_capabilities(struct slice words)
{
    unsigned caps = 0;
    while (words.len) {
        struct slice w = next_word(&words);
        if (slice_eq_nocase(w, "IMAP4rev1"))
            caps |= IMAP_CAP_IMAP4REV1;
        else if (slice_eq_nocase(w, "MOVE"))
            caps |= IMAP_CAP_MOVE;
        else if (slice_eq_nocase(w, "UIDPLUS"))
            caps |= IMAP_CAP_UIDPLUS;
    }
    return caps;
}

bool imap_flags_permit(struct slice list, const char *flag)
{
    list = slice_trim(list);
    if (list.len >= 2 && list.ptr[0] == '(' && list.ptr[list.len - 1] == ')')
        list = slice_make(list.ptr + 1, list.len - 2);
    bool keyword = flag[0] != '\\';
    while (list.len) {
        struct slice w = next_word(&list);
        if (slice_eq_nocase(w, flag) || (keyword && slice_eq_cstr(w, "\\*")))
            return true;
    }
    return false;
}

/* ---- FETCH attribute lists ---- */

static void skip_spaces(struct slice *s)
{
    while (s->len && s->ptr[0] == ' ')
        *s = slice_make(s->ptr + 1, s->len - 1);
}

static struct slice take(struct slice *s, size_t n)
{
    struct slice head = slice_make(s->ptr, n);
    *s = slice_make(s->ptr + n, s->len - n);
    return head;
}

/* A quoted string at the start of *s; *inside gets its content, still escaped. */
static bool take_quoted(struct slice *s, struct slice *inside)
{
    for (size_t i = 1; i < s->len; i++) {
        if (s->ptr[i] == '\\') {
            i++;
        } else if (s->ptr[i] == '"') {
            *inside = slice_make(s->ptr + 1, i - 1);
            (void)take(s, i + 1);
            return true;
        }
    }
    return false;
}

/* A parenthesised list at the start of *s, nested lists and strings included. */
static bool take_list(struct slice *s)
{
    size_t depth = 0, i = 0;
    while (i < s->len) {
        char c = s->ptr[i];
        if (c == '"') {
            struct slice rest = slice_make(s->ptr + i, s->len - i), inside;
            if (!take_quoted(&rest, &inside))
                return false;
            i = (size_t)(rest.ptr - s->ptr);
            continue;
        }
        if (c == '(') {
            depth++;
        } else if (c == ')') {
            if (depth == 0)
                return false;
            if (--depth == 0) {
                (void)take(s, i + 1);
                return true;
            }
        }
        i++;
    }
    return false;
}

/* An attribute name: an atom that may hold a [section] (with spaces) and a <partial>. */
static bool take_name(struct slice *s, struct slice *name)
{
    size_t i = 0;
    while (i < s->len && s->ptr[i] != ' ' && s->ptr[i] != ')' && s->ptr[i] != '(') {
        if (s->ptr[i] == '[') {
            const char *close = memchr(s->ptr + i, ']', s->len - i);
            if (!close)
                return false;
            i = (size_t)(close - s->ptr);
        }
        i++;
    }
    if (!i)
        return false;
    *name = take(s, i);
    return true;
}

enum value_kind { VALUE_ATOM, VALUE_QUOTED, VALUE_LITERAL, VALUE_LIST };

static bool take_value(struct slice *s, enum value_kind *kind, struct slice *val)
{
    if (!s->len)
        return false;
    char c = s->ptr[0];
    if (c == '"') {
        *kind = VALUE_QUOTED;
        return take_quoted(s, val);
    }
    if (c == '(') {
        *kind = VALUE_LIST;
        return take_list(s);
    }
    if (c == '{' || (c == '~' && s->len > 1 && s->ptr[1] == '{')) {
        const char *close = memchr(s->ptr, '}', s->len);
        if (!close)
            return false;
        *kind = VALUE_LITERAL;
        *val = take(s, (size_t)(close - s->ptr) + 1);
        return true;
    }
    size_t i = 0;
    while (i < s->len && s->ptr[i] != ' ' && s->ptr[i] != ')')
        i++;
    if (!i)
        return false;
    *kind = VALUE_ATOM;
    *val = take(s, i);
    return true;
}

bool imap_parse_fetch(struct slice rest, struct imap_fetch *out)
{
    memset(out, 0, sizeof(*out));
    struct slice s = slice_trim(rest);
    if (!s.len || s.ptr[0] != '(')
        return false;
    (void)take(&s, 1);
    for (;;) {
        skip_spaces(&s);
        if (!s.len)
            return false;
        if (s.ptr[0] == ')')
            return true;
        struct slice name, val = { 0 };
        enum value_kind kind;
        if (!take_name(&s, &name) || !s.len || s.ptr[0] != ' ')
            return false;
        skip_spaces(&s);
        if (!take_value(&s, &kind, &val))
            return false;
        if (slice_eq_nocase(name, "UID")) {
            if (kind != VALUE_ATOM || !imap_parse_nz32(val, &out->uid))
                return false;
            out->has_uid = true;
        } else if (slice_eq_nocase(name, "BODY[]") || slice_eq_nocase(name, "RFC822")) {
            if (kind == VALUE_LITERAL) {
                out->body = IMAP_BODY_LITERAL;
            } else if (kind == VALUE_QUOTED) {
                out->body = IMAP_BODY_QUOTED;
                out->quoted = val;
            } else if (kind == VALUE_ATOM && slice_eq_nocase(val, "NIL")) {
                out->body = IMAP_BODY_NIL;
            } else {
                return false;
            }
        }
    }
}

bool imap_literal_is_body(struct slice text)
{
    const char *open = NULL;
    for (size_t i = text.len; i > 0; i--) {
        if (text.ptr[i - 1] == '{') {
            open = text.ptr + i - 1;
            break;
        }
    }
    if (!open)
        return false;
    struct slice before = slice_make(text.ptr, (size_t)(open - text.ptr));
    while (before.len && before.ptr[before.len - 1] == ' ')
        before.len--;
    static const char item[] = "BODY[]";
    size_t n = sizeof(item) - 1;
    if (before.len < n + 1 || !slice_eq_nocase(slice_make(before.ptr + before.len - n, n), item))
        return false;
    char sep = before.ptr[before.len - n - 1];
    return sep == ' ' || sep == '(';
}

enum dmarcd_err imap_unquote(struct slice quoted, struct strbuf *out)
{
    for (size_t i = 0; i < quoted.len; i++) {
        char c = quoted.ptr[i];
        if (c == '\\' && i + 1 < quoted.len)
            c = quoted.ptr[++i];
        enum dmarcd_err rc = strbuf_addch(out, c);
        if (rc)
            return rc;
    }
    return DMARCD_OK;
}

/* ---- writing command arguments ---- */

/* Decodes one UTF-8 character at s[*i]; false for malformed or overlong forms. */
static bool utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
    unsigned char c = s[*i];
    size_t extra;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        (*i)++;
        return true;
    } else if ((c & 0xe0) == 0xc0) {
        extra = 1, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        extra = 2, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        extra = 3, v = c & 0x07, min = 0x10000;
    } else {
        return false;
    }
    if (*i + extra >= len)
        return false;
    for (size_t k = 1; k <= extra; k++) {
        unsigned char cc = s[*i + k];
        if ((cc & 0xc0) != 0x80)
            return false;
        v = (v << 6) | (cc & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return false;
    *cp = v;
    *i += extra + 1;
    return true;
}

/* Modified BASE64 (RFC 3501 5.1.3): ',' for '/', no padding. */
static void mbase64(const uint8_t *b, size_t n, struct strbuf *out)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    uint32_t bits = 0;
    unsigned nbits = 0;
    for (size_t i = 0; i < n; i++) {
        bits = (bits << 8) | b[i];
        nbits += 8;
        while (nbits >= 6) {
            nbits -= 6;
            (void)strbuf_addch(out, abc[(bits >> nbits) & 0x3f]);
        }
    }
    if (nbits)
        (void)strbuf_addch(out, abc[(bits << (6 - nbits)) & 0x3f]);
}

enum dmarcd_err imap_mailbox_arg(const char *utf8, struct strbuf *out)
{
    const unsigned char *s = (const unsigned char *)utf8;
    size_t len = strlen(utf8), i = 0;
    struct strbuf enc;
    uint8_t *run = xmalloc(len * 4 + 4);  /* UTF-16BE of a run: at most 4 bytes per byte */
    size_t run_len = 0;
    enum dmarcd_err rc = DMARCD_OK;
    strbuf_init(&enc, 0);
    if (!len)
        rc = DMARCD_E_INVALID;
    while (!rc && i < len) {
        uint32_t cp;
        if (!utf8_next(s, len, &i, &cp) || cp < 0x20 || cp == 0x7f) {
            rc = DMARCD_E_INVALID;
            break;
        }
        if (cp >= 0x80) {
            if (cp >= 0x10000) {
                uint32_t v = cp - 0x10000, hi = 0xd800 | (v >> 10), lo = 0xdc00 | (v & 0x3ff);
                run[run_len++] = (uint8_t)(hi >> 8), run[run_len++] = (uint8_t)hi;
                run[run_len++] = (uint8_t)(lo >> 8), run[run_len++] = (uint8_t)lo;
            } else {
                run[run_len++] = (uint8_t)(cp >> 8), run[run_len++] = (uint8_t)cp;
            }
            continue;
        }
        if (run_len) {
            (void)strbuf_addch(&enc, '&');
            mbase64(run, run_len, &enc);
            (void)strbuf_addch(&enc, '-');
            run_len = 0;
        }
        if (cp == '&')
            (void)strbuf_addstr(&enc, "&-");
        else
            (void)strbuf_addch(&enc, (char)cp);
    }
    if (!rc && run_len) {
        (void)strbuf_addch(&enc, '&');
        mbase64(run, run_len, &enc);
        (void)strbuf_addch(&enc, '-');
    }
    if (!rc) {
        rc = strbuf_addch(out, '"');
        for (size_t k = 0; !rc && k < enc.len; k++) {
            if (enc.buf[k] == '"' || enc.buf[k] == '\\')
                rc = strbuf_addch(out, '\\');
            if (!rc)
                rc = strbuf_addch(out, enc.buf[k]);
        }
        if (!rc)
            rc = strbuf_addch(out, '"');
    }
    free(run);
    strbuf_release(&enc);
    return rc;
}

void imap_uid_set(const uint32_t *uids, size_t n, struct strbuf *out)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j + 1 < n && uids[j + 1] == uids[j] + 1)
            j++;
        if (i)
            (void)strbuf_addch(out, ',');
        if (j == i)
            (void)strbuf_addf(out, "%u", (unsigned)uids[i]);
        else
            (void)strbuf_addf(out, "%u:%u", (unsigned)uids[i], (unsigned)uids[j]);
        i = j + 1;
    }
}

/* ---- the mailbox URL ---- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
           c == '.' || c == '_';
}

static enum dmarcd_err url_error(struct strbuf *why, const char *what)
{
    (void)strbuf_setf(why, "%s", what);
    return DMARCD_E_CONFIG;
}

/* Splits "host[:port]" or "[v6][:port]" into out->host and out->port. */
static enum dmarcd_err parse_authority(struct slice auth, struct imap_url *out, struct strbuf *why)
{
    struct slice host, port = { 0 };
    bool v6 = auth.len && auth.ptr[0] == '[';
    if (v6) {
        const char *close = memchr(auth.ptr, ']', auth.len);
        if (!close)
            return url_error(why, "unclosed [ in the host");
        host = slice_make(auth.ptr + 1, (size_t)(close - auth.ptr) - 1);
        struct slice after = slice_make(close + 1, auth.len - (size_t)(close + 1 - auth.ptr));
        if (after.len && (after.ptr[0] != ':' || after.len == 1))
            return url_error(why, "expected :PORT after the IPv6 address");
        if (after.len)
            port = slice_make(after.ptr + 1, after.len - 1);
        for (size_t i = 0; i < host.len; i++) {
            if (hex_value(host.ptr[i]) < 0 && host.ptr[i] != ':' && host.ptr[i] != '.')
                return url_error(why, "bad IPv6 address");
        }
    } else {
        if (!slice_split(auth, ':', &host, &port))
            port = slice_make(NULL, 0);
        for (size_t i = 0; i < host.len; i++) {
            if (!host_char(host.ptr[i]))
                return url_error(why, "bad character in the host name");
        }
    }
    if (!host.len)
        return url_error(why, "no host");
    if (port.ptr) {
        int64_t p;
        if (!slice_to_i64(port, &p) || p < 1 || p > 65535 || !is_digit(port.ptr[0]))
            return url_error(why, "expected a port from 1 to 65535");
        out->port = (unsigned)p;
    }
    out->host = xstrndup(host.ptr, host.len);
    return DMARCD_OK;
}

/* Percent-decodes the path into out->mailbox. */
static enum dmarcd_err parse_mailbox(struct slice path, struct imap_url *out, struct strbuf *why)
{
    struct strbuf dec, scratch;
    enum dmarcd_err rc = DMARCD_OK;
    strbuf_init(&dec, 0);
    strbuf_init(&scratch, 0);
    for (size_t i = 0; i < path.len && !rc; i++) {
        char c = path.ptr[i];
        if (c == ';') {
            rc = url_error(why, "URL parameters (;...) are not supported");
        } else if (c == '%') {
            int hi = i + 2 < path.len ? hex_value(path.ptr[i + 1]) : -1;
            int lo = i + 2 < path.len ? hex_value(path.ptr[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                rc = url_error(why, "bad %-escape in the mailbox");
            } else {
                (void)strbuf_addch(&dec, (char)(hi * 16 + lo));
                i += 2;
            }
        } else {
            (void)strbuf_addch(&dec, c);
        }
    }
    if (!rc && !dec.len)
        (void)strbuf_addstr(&dec, "INBOX");
    if (!rc && (memchr(dec.buf, '\0', dec.len) || imap_mailbox_arg(dec.buf, &scratch)))
        rc = url_error(why, "the mailbox name is not valid UTF-8 text");
    if (!rc)
        out->mailbox = strbuf_detach(&dec, NULL);
    strbuf_release(&dec);
    strbuf_release(&scratch);
    return rc;
}

enum dmarcd_err imap_url_parse(const char *text, struct imap_url *out, struct strbuf *why)
{
    struct slice s = slice_from_cstr(text), auth, path;
    struct strbuf buf;
    enum dmarcd_err rc;
    memset(out, 0, sizeof(*out));
    if (!strncasecmp(text, "imaps://", 8)) {
        out->tls = true;
        out->port = 993;
        s = slice_make(s.ptr + 8, s.len - 8);
    } else if (!strncasecmp(text, "imap://", 7)) {
        out->port = 143;
        s = slice_make(s.ptr + 7, s.len - 7);
    } else {
        return url_error(why, "expected imaps://host[:port]/MAILBOX or imap://host[:port]/MAILBOX");
    }
    if (memchr(s.ptr, '?', s.len) || memchr(s.ptr, '#', s.len))
        return url_error(why, "no ?query or #fragment in an IMAP URL");
    if (!slice_split(s, '/', &auth, &path))
        path = slice_make(NULL, 0);
    if (memchr(auth.ptr, '@', auth.len))
        return url_error(why, "no user or password in the URL: set imap_username and "
                              "imap_password (or imap_oauth2_token)");
    while (path.len && path.ptr[path.len - 1] == '/')
        path.len--;
    rc = parse_authority(auth, out, why);
    if (!rc)
        rc = parse_mailbox(path, out, why);
    if (rc) {
        imap_url_release(out);
        return rc;
    }
    bool v6 = strchr(out->host, ':') != NULL;
    const char *scheme = out->tls ? "imaps" : "imap";
    strbuf_init(&buf, 0);
    (void)strbuf_addf(&buf, "%s://%s%s%s:%u/", scheme, v6 ? "[" : "", out->host, v6 ? "]" : "",
                      out->port);
    out->connect = xstrdup(buf.buf);
    if (path.len)
        (void)strbuf_add(&buf, path.ptr, path.len);
    else
        (void)strbuf_addstr(&buf, "INBOX");
    out->display = strbuf_detach(&buf, NULL);
    return DMARCD_OK;
}

void imap_url_release(struct imap_url *url)
{
    free(url->host);
    free(url->mailbox);
    free(url->connect);
    free(url->display);
    memset(url, 0, sizeof(*url));
}
