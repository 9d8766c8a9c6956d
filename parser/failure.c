/*
 * failure.c - failure (forensic) reports: ARF (RFC 5965 / RFC 6591 as used
 * by RFC 7489 s7.3 and RFC 9991) and the non-ARF Exim/cPanel text summary.
 *
 * GMime has already parsed the mail; we walk its tree once (bounded by
 * DMARCD_MAX_MIME_DEPTH / DMARCD_MAX_MIME_PARTS) to find the feedback part.
 * Reporters label it every way, so the part is chosen by rank: a part
 * declared message/feedback-report, then a text/plain or octet-stream part
 * whose decoded content starts with "Feedback-Type:" (Netease re-wrapped by
 * Exchange), then the second part of a multipart/report;report-type=
 * feedback-report; the shallowest wins so a forwarded report's own sample
 * cannot shadow it. Without any, an Exim-style text summary is read.
 *
 * The field block is parsed here, not by GMime's header parser, because we
 * need RFC 5322 unfolding over CRLF, LF or lone CR, every duplicate, and a
 * count cap (DMARCD_MAX_ARF_FIELDS). Field handling is table-driven.
 *
 * Memory: field strings live in one arena whose budget is
 * DMARCD_MAX_RECORD_BYTES (a failure report is one record); multi-valued
 * fields are heap arrays capped at DMARCD_MAX_ARF_FIELDS items each. The
 * sample (the failed message) is kept in a strbuf capped at
 * DMARCD_MAX_MESSAGE_BYTES, the bound of the whole input, and split into
 * a header block and a body. Warnings never quote personal data (addresses,
 * IPs, sample text); only field names and enumeration values.
 *
 * Strict mode (opts->strict): a report that needed any warning is refused
 * with DMARCD_E_BAD_REPORT naming the first warning.
 */
#include "failure.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/limits.h"
#include "lib/slice.h"
#include "lib/xalloc.h"
#include "parser/ipaddr.h"
#include "parser/warn.h"
#include "lib/banned.h"

/* Bytes of a part decoded to sniff "Feedback-Type:" or an Exim summary. */
#define SNIFF_FEEDBACK_BYTES 512
#define SNIFF_SUMMARY_BYTES (16 * 1024)
/* Exim summary labels that must be present to call a text part a report. */
#define SUMMARY_MIN_LABELS 3

enum list_id { L_RCPT, L_DOMAIN, L_URI, L_AUTHFAIL, L_IDALIGN, L_AUTHRES, L_COUNT };

enum field_kind {
    K_STR,          /* raw, unfolded, trimmed */
    K_STR_LOWER,    /* the same, lower-cased (enumerations) */
    K_ADDR,         /* one address, <> stripped, empty allowed */
    K_ADDR_LIST,    /* the same, appended to a list */
    K_LIST,         /* raw, appended to a list */
    K_LIST_LOWER,   /* lower-cased, appended to a list */
    K_CSV,          /* comma list, CFWS removed, lower-cased tokens */
    K_DATE,         /* Arrival-Date */
    K_LEGACY_DATE,  /* Received-Date */
    K_IP,           /* Source-IP */
    K_PORT,         /* Source-Port */
    K_COUNT,        /* Incidents */
    K_DELIVERY,     /* Delivery-Result */
    K_IGNORE,       /* registered ARF field we do not store */
};

struct field_def {
    const char *name;
    enum field_kind kind;
    size_t where;   /* offsetof(struct failure_report, ...) or an enum list_id */
};

#define AT(member) offsetof(struct failure_report, member)

static const struct field_def field_defs[] = {
    { "Feedback-Type", K_STR_LOWER, AT(feedback_type) },
    { "User-Agent", K_STR, AT(user_agent) },
    { "Version", K_STR, AT(version) },
    { "Original-Envelope-Id", K_STR, AT(original_envelope_id) },
    { "Original-Mail-From", K_ADDR, AT(original_mail_from) },
    { "Original-Rcpt-To", K_ADDR_LIST, L_RCPT },
    { "Arrival-Date", K_DATE, 0 },
    { "Received-Date", K_LEGACY_DATE, 0 },
    { "Reporting-MTA", K_STR, AT(reporting_mta) },
    { "Source-IP", K_IP, 0 },
    { "Source-Port", K_PORT, 0 },
    { "Incidents", K_COUNT, 0 },
    { "Reported-Domain", K_LIST_LOWER, L_DOMAIN },
    { "Reported-URI", K_LIST, L_URI },
    { "Auth-Failure", K_CSV, L_AUTHFAIL },
    { "Identity-Alignment", K_CSV, L_IDALIGN },
    { "Authentication-Results", K_LIST, L_AUTHRES },
    { "Delivery-Result", K_DELIVERY, 0 },
    { "DKIM-Domain", K_STR, AT(dkim_domain) },
    { "DKIM-Identity", K_STR, AT(dkim_identity) },
    { "DKIM-Selector", K_STR, AT(dkim_selector) },
    { "SPF-DNS", K_STR, AT(spf_dns) },
    { "DKIM-Canonicalized-Header", K_IGNORE, 0 },
    { "DKIM-Canonicalized-Body", K_IGNORE, 0 },
    { "DKIM-ADSP-DNS", K_IGNORE, 0 },
    { "DKIM-Selector-DNS", K_IGNORE, 0 },
};

#define N_FIELD_DEFS (sizeof(field_defs) / sizeof(field_defs[0]))

struct list_builder {
    const char **items;
    size_t count;
    size_t alloc;
};

/* The state of one failure report being built. */
struct arf {
    struct arena arena;
    struct warn_list warns;
    struct failure_report rep;
    struct list_builder lists[L_COUNT];
    unsigned seen[N_FIELD_DEFS];
    size_t fields;              /* field lines read */
    size_t recognised;          /* of which ARF fields we know */
    bool legacy_date;           /* arrival date came from Received-Date */
    struct strbuf sample;
    const struct parse_options *opts;
    struct strbuf *detail;
};

static void arf_init(struct arf *a, const struct parse_options *opts, struct strbuf *detail)
{
    memset(a, 0, sizeof(*a));
    arena_init(&a->arena, DMARCD_MAX_RECORD_BYTES);
    warn_list_init(&a->warns);
    strbuf_init(&a->sample, DMARCD_MAX_MESSAGE_BYTES);
    a->rep.arf = true;
    a->rep.arrival_time = -1;
    a->rep.source_port = -1;
    a->rep.incidents = -1;
    a->opts = opts;
    a->detail = detail;
}

static void arf_release(struct arf *a)
{
    for (size_t i = 0; i < L_COUNT; i++)
        free(a->lists[i].items);
    strbuf_release(&a->sample);
    warn_list_release(&a->warns);
    arena_release(&a->arena);
}

static enum dmarcd_err arena_full(struct arf *a)
{
    strbuf_setf(a->detail, "failure report text exceeds %zu bytes",
                (size_t)DMARCD_MAX_RECORD_BYTES);
    return DMARCD_E_TOO_BIG;
}

static enum dmarcd_err list_add(struct arf *a, enum list_id id, const char *item)
{
    struct list_builder *l = &a->lists[id];

    if (l->count == DMARCD_MAX_ARF_FIELDS) {
        strbuf_setf(a->detail, "failure report has more than %d values in one field list",
                    DMARCD_MAX_ARF_FIELDS);
        return DMARCD_E_TOO_MANY;
    }
    if (l->count == l->alloc) {
        l->alloc = l->alloc ? l->alloc * 2 : 4;
        l->items = xreallocarray(l->items, l->alloc, sizeof(*l->items));
    }
    l->items[l->count++] = item;
    return DMARCD_OK;
}

/* ---- small text helpers ---- */

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static void lower_in_place(char *s)
{
    for (; *s; s++)
        *s = ascii_lower(*s);
}

static bool starts_with_nocase(struct slice s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && slice_eq_nocase(slice_make(s.ptr, n), prefix);
}

/* The next line of *rest without its end (LF, CRLF or a lone CR). */
static bool next_line(struct slice *rest, struct slice *line)
{
    const char *p = rest->ptr;
    size_t len = rest->len, i = 0;

    if (!len)
        return false;
    while (i < len && p[i] != '\n' && p[i] != '\r')
        i++;
    *line = slice_make(p, i);
    if (i < len) {
        if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
            i++;
        i++;
    }
    *rest = slice_make(p + i, len - i);
    return true;
}

/*
 * A copy of a (possibly folded) field value: each line break and the
 * whitespace after it become one space; the result is trimmed.
 */
static char *unfold_dup(struct arena *ar, struct slice v)
{
    char *out = arena_alloc(ar, v.len + 1);
    size_t n = 0;

    if (!out)
        return NULL;
    for (size_t i = 0; i < v.len;) {
        if (v.ptr[i] == '\r' || v.ptr[i] == '\n') {
            while (i < v.len && (v.ptr[i] == '\r' || v.ptr[i] == '\n' || is_wsp(v.ptr[i])))
                i++;
            out[n++] = ' ';
            continue;
        }
        out[n++] = v.ptr[i++];
    }
    struct slice t = slice_trim(slice_make(out, n));
    memmove(out, t.ptr, t.len);
    out[t.len] = '\0';
    return out;
}

/* Replaces RFC 5322 comments "( ... )" (nested, with quoted-pairs) by spaces. */
static void strip_comments(char *s)
{
    int depth = 0;

    for (; *s; s++) {
        if (depth && *s == '\\' && s[1]) {
            *s++ = ' ';
            *s = ' ';
        } else if (*s == '(') {
            depth++;
            *s = ' ';
        } else if (*s == ')' && depth) {
            depth--;
            *s = ' ';
        } else if (depth) {
            *s = ' ';
        }
    }
}

/* ---- field handlers ---- */

/* Stores into the const char * member at offset `where` (memcpy: no cast). */
static void set_str(struct arf *a, size_t where, const char *value)
{
    memcpy((char *)&a->rep + where, &value, sizeof(value));
}

/* "<addr>" -> "addr"; "" stays "" (the null reverse-path); "<a>, <b>" is kept. */
static char *strip_angle(char *v)
{
    size_t n = strlen(v);

    if (n >= 2 && v[0] == '<' && v[n - 1] == '>' && !memchr(v + 1, '<', n - 1) &&
        !memchr(v, '>', n - 1)) {
        memmove(v, v + 1, n - 2);
        v[n - 2] = '\0';
        struct slice t = slice_trim(slice_from_cstr(v));
        memmove(v, t.ptr, t.len);
        v[t.len] = '\0';
    }
    return v;
}

static enum dmarcd_err add_csv(struct arf *a, enum list_id id, char *v)
{
    enum dmarcd_err rc = DMARCD_OK;
    struct slice rest, tok;
    bool more = true;

    strip_comments(v);
    lower_in_place(v);
    rest = slice_from_cstr(v);
    while (more && rc == DMARCD_OK) {
        more = slice_split(rest, ',', &tok, &rest);
        tok = slice_trim(tok);
        if (!tok.len)
            continue;
        /* tok points into v (arena memory we own): terminate it in place. */
        size_t at = (size_t)(tok.ptr - v);
        v[at + tok.len] = '\0';
        if (id == L_IDALIGN && !slice_eq_cstr(tok, "none") && !slice_eq_cstr(tok, "dkim") &&
            !slice_eq_cstr(tok, "spf"))
            warn_add(&a->warns, "identity-alignment token is not none, dkim or spf: kept as sent");
        rc = list_add(a, id, v + at);
    }
    return rc;
}

static void set_arrival(struct arf *a, const char *value, const char *what)
{
    GDateTime *t = g_mime_utils_header_decode_date(value);

    a->rep.arrival_date = value;
    a->rep.arrival_time = -1;
    if (t) {
        a->rep.arrival_time = (int64_t)g_date_time_to_unix(t);
        g_date_time_unref(t);
    } else {
        warn_add(&a->warns, "%s is not a date: arrival time unknown", what);
    }
}

static void set_source_ip(struct arf *a, const char *value)
{
    struct slice v = slice_trim(slice_from_cstr(value));
    size_t n = 0;

    /* "54.240.8.61 (a8-61.smtp-out.amazonses.com)": the first token. */
    while (n < v.len && !is_wsp(v.ptr[n]) && v.ptr[n] != '(')
        n++;
    v = slice_make(v.ptr, n);
    if (v.len > 2 && v.ptr[0] == '[' && v.ptr[v.len - 1] == ']')
        v = slice_make(v.ptr + 1, v.len - 2);
    if (starts_with_nocase(v, "IPv6:"))
        v = slice_make(v.ptr + 5, v.len - 5);
    if (!ipaddr_canonical(v, a->rep.source_ip))
        warn_add(&a->warns, "source-ip is not an ip address: dropped");
}

static int64_t parse_count(struct arf *a, const char *value, int64_t max, const char *what)
{
    int64_t n;

    if (!slice_to_i64(slice_from_cstr(value), &n) || n < 0 || n > max) {
        warn_add(&a->warns, "%s is not a number in range: ignored", what);
        return -1;
    }
    return n;
}

static void set_delivery(struct arf *a, char *value)
{
    static const char *const known[] = { "delivered", "spam", "policy", "reject", "other" };

    lower_in_place(value);
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(value, known[i]) == 0) {
            a->rep.delivery_result = known[i];
            return;
        }
    }
    warn_add(&a->warns, "delivery-result \"%.64s\" read as \"other\"", value);
    a->rep.delivery_result = "other";
}

static bool is_single(enum field_kind kind)
{
    return kind == K_STR || kind == K_STR_LOWER || kind == K_ADDR || kind == K_DATE ||
           kind == K_LEGACY_DATE || kind == K_IP || kind == K_PORT || kind == K_COUNT ||
           kind == K_DELIVERY;
}

static void lower_name(char *out, size_t size, const char *name)
{
    size_t i = 0;
    for (; name[i] && i + 1 < size; i++)
        out[i] = ascii_lower(name[i]);
    out[i] = '\0';
}

/* Stores one known field's unfolded value. */
static enum dmarcd_err apply_field(struct arf *a, size_t def, char *v)
{
    const struct field_def *d = &field_defs[def];
    char lname[40];

    lower_name(lname, sizeof(lname), d->name);
    switch (d->kind) {
    case K_STR_LOWER:
        lower_in_place(v);
        set_str(a, d->where, v);
        return DMARCD_OK;
    case K_STR:
        set_str(a, d->where, v);
        return DMARCD_OK;
    case K_ADDR:
        set_str(a, d->where, strip_angle(v));
        return DMARCD_OK;
    case K_ADDR_LIST:
        return list_add(a, (enum list_id)d->where, strip_angle(v));
    case K_LIST_LOWER:
        lower_in_place(v);
        return list_add(a, (enum list_id)d->where, v);
    case K_LIST:
        return list_add(a, (enum list_id)d->where, v);
    case K_CSV:
        return add_csv(a, (enum list_id)d->where, v);
    case K_DATE:
    case K_LEGACY_DATE:
        set_arrival(a, v, lname);
        return DMARCD_OK;
    case K_IP:
        set_source_ip(a, v);
        return DMARCD_OK;
    case K_PORT:
        a->rep.source_port = parse_count(a, v, 65535, lname);
        return DMARCD_OK;
    case K_COUNT:
        a->rep.incidents = parse_count(a, v, INT64_MAX, lname);
        return DMARCD_OK;
    case K_DELIVERY:
        set_delivery(a, v);
        return DMARCD_OK;
    case K_IGNORE:
        return DMARCD_OK;
    }
    return DMARCD_OK;
}

static size_t find_field(struct slice name)
{
    for (size_t i = 0; i < N_FIELD_DEFS; i++) {
        if (slice_eq_nocase(name, field_defs[i].name))
            return i;
    }
    return N_FIELD_DEFS;
}

/* Duplicates of single fields keep the first; Arrival-Date beats Received-Date. */
static bool skip_duplicate(struct arf *a, size_t def, const char *lname)
{
    enum field_kind kind = field_defs[def].kind;

    if (kind == K_DATE && a->legacy_date) {
        a->legacy_date = false; /* Arrival-Date replaces an earlier Received-Date */
        return false;
    }
    if (kind == K_LEGACY_DATE && (a->rep.arrival_date || a->seen[def] > 1))
        return true;
    if (a->seen[def] > 1 && is_single(kind)) {
        warn_add(&a->warns, "duplicate %s field: first kept", lname);
        return true;
    }
    return false;
}

/* Every field line, known or not, and every junk line counts against the cap. */
static enum dmarcd_err count_line(struct arf *a)
{
    if (++a->fields > DMARCD_MAX_ARF_FIELDS) {
        strbuf_setf(a->detail, "feedback report has more than %d fields", DMARCD_MAX_ARF_FIELDS);
        return DMARCD_E_TOO_MANY;
    }
    return DMARCD_OK;
}

static enum dmarcd_err take_field(struct arf *a, struct slice name, struct slice value)
{
    size_t def = find_field(slice_trim(name));
    char lname[40];
    char *v;
    enum dmarcd_err rc = count_line(a);

    if (rc)
        return rc;
    if (def == N_FIELD_DEFS)
        return DMARCD_OK; /* unregistered (Message-ID, Removal-Recipient...): ignored */
    a->recognised++;
    a->seen[def]++;
    lower_name(lname, sizeof(lname), field_defs[def].name);
    if (field_defs[def].kind == K_IGNORE || skip_duplicate(a, def, lname))
        return DMARCD_OK;
    if (value.len > DMARCD_MAX_TEXT_BYTES || memchr(value.ptr, '\0', value.len)) {
        warn_add(&a->warns, "%s field is too long or holds a nul byte: dropped", lname);
        return DMARCD_OK;
    }
    v = unfold_dup(&a->arena, value);
    if (!v)
        return arena_full(a);
    if (field_defs[def].kind == K_LEGACY_DATE)
        a->legacy_date = true;
    return apply_field(a, def, v);
}

/* A field line "Name:" (RFC 5322 ftext, optional WSP before the colon). */
static bool split_field_line(struct slice line, struct slice *name, struct slice *value)
{
    size_t i = 0;

    while (i < line.len && line.ptr[i] > 32 && line.ptr[i] < 127 && line.ptr[i] != ':')
        i++;
    if (i == 0)
        return false;
    *name = slice_make(line.ptr, i);
    while (i < line.len && is_wsp(line.ptr[i]))
        i++;
    if (i == line.len || line.ptr[i] != ':')
        return false;
    *value = slice_make(line.ptr + i + 1, line.len - i - 1);
    return true;
}

/*
 * Reads "Name: value" fields up to the first empty line after a field (or
 * the end). Continuation lines extend the open field's value in place, so
 * the value is a span of the input that unfold_dup() cleans up. The block
 * must start with a field (after blank lines): junk before it means this is
 * no field block, and stopping there keeps a large non-ARF input cheap.
 */
static enum dmarcd_err parse_fields(struct arf *a, struct slice block)
{
    struct slice rest = block, line, name = { 0 }, value = { 0 };
    bool open = false;
    enum dmarcd_err rc = DMARCD_OK;

    if (slice_starts_with(rest, "\xEF\xBB\xBF"))
        rest = slice_make(rest.ptr + 3, rest.len - 3);
    while (rc == DMARCD_OK && next_line(&rest, &line)) {
        if (line.len == 0) {
            if (open || a->fields)
                break;
            continue;
        }
        if (is_wsp(line.ptr[0])) {
            if (open)
                value.len = (size_t)(line.ptr + line.len - value.ptr);
            continue;
        }
        if (open)
            rc = take_field(a, name, value);
        open = split_field_line(line, &name, &value);
        if (open || rc)
            continue;
        if (!a->fields)
            break;
        warn_add(&a->warns, "a line of the feedback report is not a field: skipped");
        rc = count_line(a);
    }
    if (rc == DMARCD_OK && open)
        rc = take_field(a, name, value);
    return rc;
}

/* ---- reading parts ---- */

/*
 * Decoded content of a leaf part (base64 / quoted-printable / uuencode
 * undone), at most max bytes; *cut tells whether more was left.
 */
static void read_part(GMimeObject *obj, size_t max, struct strbuf *out, bool *cut)
{
    GMimeDataWrapper *w = GMIME_IS_PART(obj) ? g_mime_part_get_content(GMIME_PART(obj)) : NULL;
    GMimeStream *raw, *fs;
    GMimeContentEncoding enc;
    char buf[4096];
    ssize_t n;

    *cut = false;
    if (!w || !(raw = g_mime_data_wrapper_get_stream(w)))
        return;
    enc = g_mime_data_wrapper_get_encoding(w);
    g_mime_stream_reset(raw);
    fs = g_mime_stream_filter_new(raw);
    if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
        enc == GMIME_CONTENT_ENCODING_UUENCODE) {
        GMimeFilter *dec = g_mime_filter_basic_new(enc, FALSE);
        g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), dec);
        g_object_unref(dec);
    }
    while ((n = g_mime_stream_read(fs, buf, sizeof(buf))) > 0) {
        size_t take = (size_t)n;
        if (out->len >= max || take > max - out->len) {
            take = out->len >= max ? 0 : max - out->len;
            *cut = true;
        }
        if (strbuf_add(out, buf, take) != DMARCD_OK)
            *cut = true;
        if (*cut)
            break;
    }
    g_object_unref(fs);
}

static bool mime_is(GMimeObject *obj, const char *type, const char *subtype)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    return ct && g_mime_content_type_is_type(ct, type, subtype);
}

static bool is_feedback_report_multipart(GMimeObject *obj)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    const char *rt;

    if (!ct || !g_mime_content_type_is_type(ct, "multipart", "report"))
        return false;
    rt = g_mime_content_type_get_parameter(ct, "report-type");
    return rt && g_ascii_strcasecmp(rt, "feedback-report") == 0;
}

/* ---- walking the MIME tree ---- */

enum found_how { FOUND_NONE, FOUND_DECLARED, FOUND_SNIFFED, FOUND_POSITION };

struct candidate {
    GMimeObject *part;
    GMimeMultipart *parent;
    GMimeMessage *owner;        /* the report mail holding it (inner if forwarded) */
    enum found_how how;
    int depth;
};

struct mime_scan {
    size_t parts;
    bool too_deep;
    bool too_many;
    struct candidate feedback;  /* best declared or sniffed feedback part */
    struct candidate position;  /* 2nd part of a report=feedback-report multipart */
    GMimeObject *summary;       /* Exim/cPanel text summary */
    bool aggregate_like;        /* zip/gzip/xml/tlsrpt attachment at top level */
    bool report_type_feedback;  /* multipart/report;report-type=feedback-report seen */
};

/* Where the walk stands: the enclosing multipart and mail, the depth. */
struct scan_pos {
    GMimeMultipart *parent;
    GMimeMessage *owner;
    int depth;
    bool in_sample;             /* below a message/rfc822 part */
};

static void offer(struct candidate *best, GMimeObject *part, const struct scan_pos *at,
                  enum found_how how)
{
    if (best->how != FOUND_NONE &&
        (best->how < how || (best->how == how && best->depth <= at->depth)))
        return;
    *best = (struct candidate){ .part = part, .parent = at->parent, .owner = at->owner,
                                .how = how, .depth = at->depth };
}

static bool sniff_feedback(GMimeObject *obj)
{
    struct strbuf sb;
    bool cut, hit;

    strbuf_init(&sb, 0);
    read_part(obj, SNIFF_FEEDBACK_BYTES, &sb, &cut);
    struct slice s = slice_trim(strbuf_slice(&sb));
    if (slice_starts_with(s, "\xEF\xBB\xBF"))
        s = slice_make(s.ptr + 3, s.len - 3);
    hit = starts_with_nocase(s, "Feedback-Type:");
    strbuf_release(&sb);
    return hit;
}

static const char *const summary_labels[] = {
    "Sender Domain", "Sender IP Address", "Received Date",
    "SPF Alignment", "DKIM Alignment", "DMARC Results",
};
#define N_SUMMARY_LABELS (sizeof(summary_labels) / sizeof(summary_labels[0]))

/* Index of the Exim summary label a line starts with, or N_SUMMARY_LABELS. */
static size_t summary_label(struct slice line, struct slice *value)
{
    struct slice label;

    line = slice_trim(line);
    if (!slice_split(line, ':', &label, value))
        return N_SUMMARY_LABELS;
    label = slice_trim(label);
    *value = slice_trim(*value);
    for (size_t i = 0; i < N_SUMMARY_LABELS; i++) {
        if (slice_eq_nocase(label, summary_labels[i]))
            return i;
    }
    return N_SUMMARY_LABELS;
}

static bool sniff_summary(GMimeObject *obj)
{
    struct strbuf sb;
    struct slice rest, line, value;
    unsigned seen = 0, distinct = 0;
    bool cut;

    strbuf_init(&sb, 0);
    read_part(obj, SNIFF_SUMMARY_BYTES, &sb, &cut);
    rest = strbuf_slice(&sb);
    while (next_line(&rest, &line)) {
        size_t i = summary_label(line, &value);
        if (i < N_SUMMARY_LABELS && !(seen & (1u << i))) {
            seen |= 1u << i;
            distinct++;
        }
    }
    strbuf_release(&sb);
    return distinct >= SUMMARY_MIN_LABELS;
}

static bool looks_aggregate(GMimeObject *obj)
{
    static const char *const exts[] = { ".zip", ".gz", ".gzip", ".xml", ".json" };
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : NULL;
    const char *name = GMIME_IS_PART(obj) ? g_mime_part_get_filename(GMIME_PART(obj)) : NULL;

    if (sub && (strstr(sub, "zip") || strstr(sub, "gzip") || strstr(sub, "xml") ||
                strstr(sub, "tlsrpt")))
        return true;
    if (!name)
        return false;
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        size_t e = strlen(exts[i]);
        if (n > e && g_ascii_strcasecmp(name + n - e, exts[i]) == 0)
            return true;
    }
    return false;
}

static void scan_object(struct mime_scan *s, GMimeObject *obj, struct scan_pos at);

static void scan_leaf(struct mime_scan *s, GMimeObject *obj, const struct scan_pos *at)
{
    if (mime_is(obj, "message", "feedback-report")) {
        offer(&s->feedback, obj, at, FOUND_DECLARED);
        return;
    }
    if (mime_is(obj, "text", "plain") || mime_is(obj, "application", "octet-stream")) {
        /* Sniffing only helps while no declared part has been found. */
        if (s->feedback.how != FOUND_DECLARED && sniff_feedback(obj)) {
            offer(&s->feedback, obj, at, FOUND_SNIFFED);
            return;
        }
    }
    if (at->in_sample)
        return;
    if (mime_is(obj, "text", "plain") && !s->summary && sniff_summary(obj))
        s->summary = obj;
    else if (looks_aggregate(obj))
        s->aggregate_like = true;
}

static void scan_multipart(struct mime_scan *s, GMimeMultipart *mp, struct scan_pos at)
{
    int n = g_mime_multipart_get_count(mp);

    at.parent = mp;
    at.depth++;
    if (is_feedback_report_multipart(GMIME_OBJECT(mp))) {
        s->report_type_feedback = true;
        if (n >= 2) {
            GMimeObject *second = g_mime_multipart_get_part(mp, 1);
            if (GMIME_IS_PART(second))
                offer(&s->position, second, &at, FOUND_POSITION);
        }
    }
    for (int i = 0; i < n && !s->too_many && !s->too_deep; i++)
        scan_object(s, g_mime_multipart_get_part(mp, i), at);
}

static void scan_object(struct mime_scan *s, GMimeObject *obj, struct scan_pos at)
{
    if (!obj)
        return;
    if (at.depth > DMARCD_MAX_MIME_DEPTH) {
        s->too_deep = true;
        return;
    }
    if (++s->parts > DMARCD_MAX_MIME_PARTS) {
        s->too_many = true;
        return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
        scan_multipart(s, GMIME_MULTIPART(obj), at);
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        struct scan_pos in = { .owner = m, .depth = at.depth + 1, .in_sample = true };
        if (m)
            scan_object(s, g_mime_message_get_mime_part(m), in);
    } else {
        scan_leaf(s, obj, &at);
    }
}

static void scan_message(struct mime_scan *s, GMimeMessage *message)
{
    memset(s, 0, sizeof(*s));
    scan_object(s, g_mime_message_get_mime_part(message),
                (struct scan_pos){ .owner = message, .depth = 1 });
    if (s->feedback.how == FOUND_NONE && s->position.how != FOUND_NONE)
        s->feedback = s->position;
}

bool failure_message_is_report(GMimeMessage *message)
{
    struct mime_scan s;

    if (!message || !g_mime_message_get_mime_part(message))
        return false;
    scan_message(&s, message);
    if (s.feedback.how == FOUND_DECLARED || s.feedback.how == FOUND_SNIFFED)
        return true;
    if (s.aggregate_like)
        return false;
    return s.report_type_feedback || s.summary != NULL;
}

/* ---- the sample (failed message) ---- */

/* Offset just past the blank line that ends the header block, or len. */
static size_t header_end(const char *p, size_t len, size_t *body)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '\n')
            continue;
        if (i + 1 < len && p[i + 1] == '\n') {
            *body = i + 2;
            return i + 1;
        }
        if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n') {
            *body = i + 3;
            return i + 1;
        }
    }
    *body = len;
    return len;
}

static void sample_message(struct arf *a, GMimeMessage *m)
{
    GMimeStream *mem = g_mime_stream_mem_new();
    GByteArray *ba;
    size_t hlen, body, take;

    g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, mem);
    ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    take = ba->len;
    if (take > DMARCD_MAX_MESSAGE_BYTES) {
        take = DMARCD_MAX_MESSAGE_BYTES;
        warn_add(&a->warns, "sample message cut at %zu bytes", take);
    }
    (void)strbuf_add(&a->sample, ba->data, take);
    g_object_unref(mem);
    hlen = header_end(a->sample.buf, a->sample.len, &body);
    a->rep.sample_kind = FAILURE_SAMPLE_MESSAGE;
    a->rep.sample_headers = a->sample.buf;
    a->rep.sample_headers_len = hlen;
    a->rep.sample_body = a->sample.buf + body;
    a->rep.sample_body_len = a->sample.len - body;
}

static void sample_headers(struct arf *a, GMimeObject *part)
{
    bool cut;

    read_part(part, DMARCD_MAX_MESSAGE_BYTES, &a->sample, &cut);
    if (cut)
        warn_add(&a->warns, "sample headers cut at %zu bytes", a->sample.len);
    a->rep.sample_kind = FAILURE_SAMPLE_HEADERS;
    a->rep.sample_headers = a->sample.buf;
    a->rep.sample_headers_len = a->sample.len;
}

/* The message/rfc822 or text/rfc822-headers part next to the feedback part. */
static void take_sample(struct arf *a, GMimeMultipart *parent, GMimeObject *feedback)
{
    int n = parent ? g_mime_multipart_get_count(parent) : 0;

    for (int i = 0; i < n; i++) {
        GMimeObject *p = g_mime_multipart_get_part(parent, i);
        if (p == feedback)
            continue;
        if (GMIME_IS_MESSAGE_PART(p)) {
            GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(p));
            if (m) {
                sample_message(a, m);
                return;
            }
        } else if (GMIME_IS_PART(p) && (mime_is(p, "text", "rfc822-headers") ||
                                        mime_is(p, "message", "rfc822-headers"))) {
            sample_headers(a, p);
            return;
        }
    }
}

/* ---- the Exim/cPanel text summary ---- */

static enum dmarcd_err summary_value(struct arf *a, size_t label, struct slice line,
                                     struct slice value)
{
    char *v = arena_slicedup(&a->arena, label >= 3 ? slice_trim(line) : value);

    if (!v)
        return arena_full(a);
    switch (label) {
    case 0: /* Sender Domain */
        lower_in_place(v);
        return list_add(a, L_DOMAIN, v);
    case 1: /* Sender IP Address */
        set_source_ip(a, v);
        return DMARCD_OK;
    case 2: /* Received Date */
        set_arrival(a, v, "received date");
        return DMARCD_OK;
    default: /* SPF Alignment, DKIM Alignment, DMARC Results: the line as sent */
        return list_add(a, L_AUTHRES, v);
    }
}

/* The headers copied after "------ This is a copy of the headers ...". */
static void summary_sample(struct arf *a, struct slice rest)
{
    struct slice probe = rest, line;

    while (next_line(&probe, &line) && slice_trim(line).len == 0)
        rest = probe;
    if (!rest.len || !memchr(rest.ptr, ':', rest.len))
        return;
    (void)strbuf_add(&a->sample, rest.ptr, rest.len);
    a->rep.sample_kind = FAILURE_SAMPLE_HEADERS;
    a->rep.sample_headers = a->sample.buf;
    a->rep.sample_headers_len = a->sample.len;
}

/*
 * Non-ARF summary. Mapping: Sender Domain -> reported_domain, Sender IP
 * Address -> source_ip, Received Date -> arrival_date; the SPF Alignment,
 * DKIM Alignment and DMARC Results lines go verbatim into
 * authentication_results; auth_failure is "dmarc" (the summary says the
 * message failed DMARC); identity_alignment stays empty (its meaning
 * differs between RFC 7489 and RFC 9991, we do not guess).
 */
static enum dmarcd_err parse_summary(struct arf *a, GMimeObject *part)
{
    struct strbuf text;
    struct slice rest, line, value;
    enum dmarcd_err rc = DMARCD_OK;
    bool cut;

    strbuf_init(&text, 0);
    read_part(part, DMARCD_MAX_MESSAGE_BYTES, &text, &cut);
    a->rep.arf = false;
    a->rep.feedback_type = "auth-failure";
    warn_add(&a->warns, "not an ARF report: read from the text summary");
    rest = strbuf_slice(&text);
    while (rc == DMARCD_OK && next_line(&rest, &line)) {
        if (slice_starts_with(slice_trim(line), "------")) {
            summary_sample(a, rest);
            break;
        }
        size_t label = summary_label(line, &value);
        if (label < N_SUMMARY_LABELS && value.len)
            rc = summary_value(a, label, line, value);
    }
    if (rc == DMARCD_OK)
        rc = list_add(a, L_AUTHFAIL, "dmarc");
    strbuf_release(&text);
    return rc;
}

/* ---- finishing and delivery ---- */

static void finish_defaults(struct arf *a)
{
    if (!a->rep.feedback_type) {
        a->rep.feedback_type = "auth-failure";
        warn_add(&a->warns, "no feedback-type field: auth-failure assumed");
    }
    if (a->legacy_date)
        warn_add(&a->warns, "legacy received-date field read as arrival-date");
    if (a->rep.arf && !a->rep.user_agent)
        warn_add(&a->warns, "no user-agent field");
    if (a->rep.arf && !a->rep.version)
        warn_add(&a->warns, "no version field");
    a->rep.original_rcpt_to = (struct str_list){ a->lists[L_RCPT].items, a->lists[L_RCPT].count };
    a->rep.reported_domain =
        (struct str_list){ a->lists[L_DOMAIN].items, a->lists[L_DOMAIN].count };
    a->rep.reported_uri = (struct str_list){ a->lists[L_URI].items, a->lists[L_URI].count };
    a->rep.auth_failure =
        (struct str_list){ a->lists[L_AUTHFAIL].items, a->lists[L_AUTHFAIL].count };
    a->rep.identity_alignment =
        (struct str_list){ a->lists[L_IDALIGN].items, a->lists[L_IDALIGN].count };
    a->rep.authentication_results =
        (struct str_list){ a->lists[L_AUTHRES].items, a->lists[L_AUTHRES].count };
}

static enum dmarcd_err deliver(struct arf *a, const struct report_source *src,
                               struct report_sink *sink)
{
    struct report_warnings view;

    finish_defaults(a);
    if (a->opts && a->opts->strict && a->warns.count) {
        strbuf_setf(a->detail, "strict: %s", a->warns.items[0]);
        return DMARCD_E_BAD_REPORT;
    }
    if (!sink || !sink->ops || !sink->ops->failure) {
        strbuf_setf(a->detail, "sink takes no failure reports");
        return DMARCD_E_INTERNAL;
    }
    view = warn_list_view(&a->warns);
    return sink->ops->failure(sink->ctx, src, &a->rep, &view);
}

/* Arrival-Date missing: the report mail's own Date header stands in. */
static enum dmarcd_err arrival_from_message(struct arf *a, GMimeMessage *message)
{
    const char *date = g_mime_object_get_header(GMIME_OBJECT(message), "Date");
    char *v;

    if (a->rep.arrival_date)
        return DMARCD_OK;
    if (!date) {
        warn_add(&a->warns, "no arrival-date and no date header: arrival time unknown");
        return DMARCD_OK;
    }
    v = unfold_dup(&a->arena, slice_from_cstr(date));
    if (!v)
        return arena_full(a);
    warn_add(&a->warns, "no arrival-date field: the report mail's date used");
    set_arrival(a, v, "date header");
    return DMARCD_OK;
}

static enum dmarcd_err scan_limits(const struct mime_scan *s, struct strbuf *detail)
{
    if (s->too_deep) {
        strbuf_setf(detail, "mime nesting deeper than %d", DMARCD_MAX_MIME_DEPTH);
        return DMARCD_E_TOO_DEEP;
    }
    if (s->too_many) {
        strbuf_setf(detail, "more than %d mime parts", DMARCD_MAX_MIME_PARTS);
        return DMARCD_E_TOO_MANY;
    }
    return DMARCD_OK;
}

static enum dmarcd_err parse_feedback_part(struct arf *a, const struct candidate *c)
{
    struct strbuf block;
    enum dmarcd_err rc;
    bool cut;

    strbuf_init(&block, 0);
    read_part(c->part, DMARCD_MAX_MESSAGE_BYTES, &block, &cut);
    if (c->how == FOUND_SNIFFED)
        warn_add(&a->warns, "feedback report found in a part not typed message/feedback-report");
    else if (c->how == FOUND_POSITION)
        warn_add(&a->warns, "feedback report read from the second part by position");
    rc = parse_fields(a, strbuf_slice(&block));
    strbuf_release(&block);
    return rc;
}

enum dmarcd_err failure_message_parse(GMimeMessage *message, const struct report_source *src,
                                      const struct parse_options *opts,
                                      struct report_sink *sink, struct strbuf *detail)
{
    struct mime_scan s;
    struct arf a;
    enum dmarcd_err rc;

    arf_init(&a, opts, detail);
    if (!message || !g_mime_message_get_mime_part(message)) {
        strbuf_setf(detail, "empty mail message");
        rc = DMARCD_E_NOT_REPORT;
        goto out;
    }
    scan_message(&s, message);
    rc = scan_limits(&s, detail);
    if (rc)
        goto out;
    if (s.feedback.how != FOUND_NONE) {
        rc = parse_feedback_part(&a, &s.feedback);
        if (rc)
            goto out;
    }
    if (a.recognised) {
        take_sample(&a, s.feedback.parent, s.feedback.part);
        if (s.feedback.owner)
            message = s.feedback.owner; /* a forwarded report speaks for itself */
        rc = arrival_from_message(&a, message);
    } else if (s.summary) {
        warn_list_reset(&a.warns);
        rc = parse_summary(&a, s.summary);
    } else {
        strbuf_setf(detail, "no feedback-report fields found");
        rc = DMARCD_E_NOT_REPORT;
    }
    if (rc)
        goto out;
    a.rep.subject = g_mime_message_get_subject(message);
    rc = deliver(&a, src, sink);
out:
    arf_release(&a);
    return rc;
}

enum dmarcd_err failure_fields_parse(const char *data, size_t len,
                                     const struct report_source *src,
                                     const struct parse_options *opts,
                                     struct report_sink *sink, struct strbuf *detail)
{
    struct arf a;
    enum dmarcd_err rc;

    arf_init(&a, opts, detail);
    rc = parse_fields(&a, slice_make(data, len));
    if (rc)
        goto out;
    if (!a.recognised) {
        strbuf_setf(detail, "no feedback-report fields found");
        rc = DMARCD_E_NOT_REPORT;
        goto out;
    }
    if (!a.rep.arrival_date)
        warn_add(&a.warns, "no arrival-date field: arrival time unknown");
    rc = deliver(&a, src, sink);
out:
    arf_release(&a);
    return rc;
}
