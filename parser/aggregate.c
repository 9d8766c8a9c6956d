/*
 * aggregate.c - streaming parser of DMARC aggregate report XML (RFC 7489
 * appendix C, RFC 9990, the drafts between them and the quirks of real
 * reporters listed in SPEC-NOTES.md section 6).
 *
 * Why it is built this way:
 * - Reports reach a few hundred MB, so this sits on libxml2's SAX2 push
 *   parser and never builds a tree. Strings of the record being read live
 *   in an arena that is reset after each agg_record; header strings live in
 *   a second arena for the whole report. Nothing is malloc'd per element.
 * - The bulk of an input can be pulled instead (agg_parser_pull): libxml2
 *   reads through a callback and runs SAX1, about 20% faster on a big
 *   report. Push stays the reference: the pull gets the bytes in the blocks
 *   push would push, and stops at the first thing that is not a clean
 *   document (libxml2's first complaint, a namespace SAX1 does not check,
 *   another encoding, a rule of ours) for its caller to redo by push.
 * - Elements are matched by local name only (namespaces vary wildly). Each
 *   open element gets a "kind" from the kind of its parent and its name
 *   through one constant table (kind_table), so order never matters and
 *   anything unknown is skipped as a subtree (but still depth-counted).
 * - libxml2 is never allowed to see a DTD through: the first DOCTYPE,
 *   entity declaration or non-predefined entity reference ends the parse
 *   with DMARCD_E_XML_FORBIDDEN. Our error is sticky (every callback is a
 *   no-op once it is set, and no more bytes are fed), so recovery mode
 *   cannot get past it.
 * - Outside strict mode libxml2 runs with XML_PARSE_RECOVER: a report that
 *   still closes its <feedback> (with records) is delivered with a warning
 *   that counts the xml errors; one that does not is DMARCD_E_XML. Input is
 *   cut into pushes by content, not by the caller's chunks (feed_bytes), so
 *   even libxml2's recovery gives one answer however the bytes arrive.
 *   Pull mode hands libxml2 its bytes in the same blocks (pull_block).
 * - Warnings about values inside records are tallied here by (kind, value)
 *   and written once per report with a count, so a 300k-record report
 *   with "Pass" in every row costs a table look-up per row, not 300k
 *   formatted strings.
 */
#include "aggregate.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/entities.h>
#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <libxml/valid.h>
#include <libxml/xmlerror.h>

#include "lib/arena.h"
#include "lib/limits.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "parser/ipaddr.h"
#include "parser/warn.h"
#include "lib/banned.h"

#define NS_RFC9990 "urn:ietf:params:xml:ns:dmarc-2.0"
#define NS_DRAFT "http://dmarc.org/dmarc-xml/0.2"
#define NS_XSD "http://www.w3.org/2001/XMLSchema"

/* Bytes handed to libxml2 per xmlParseChunk (see feed_bytes): it copies
 * what it is given, so a caller's 200 MB buffer must not go in whole, and
 * after an error it parses at most this much more before we stop feeding. */
#define PUSH_CHUNK (64 * 1024)
/* A push ends with SAFE_TAIL ASCII bytes; finding them moves a cut back by
 * at most HOLD_MAX bytes (see feed_bytes). */
#define HOLD_MAX 64
#define SAFE_TAIL 4
#define DETAIL_MAX 512
#define XML_MSG_MAX 200
/* Bytes read at a time while looking for the start of a pulled document. */
#define PULL_HEAD_READ 4096
/* Pull mode's SAX1 view handles this many prefixes declared on the root
 * and attributes per element; more are left to the push parser. */
#define SAX1_PREFIXES_MAX 8
#define SAX1_ATTS_MAX 16
#define NS_XML "http://www.w3.org/XML/1998/namespace"
#define NS_XMLNS "http://www.w3.org/2000/xmlns/"
/* Values quoted in warnings are cut here (input must not grow warnings). */
#define SHOWN_MAX 64
/* Distinct record-level warnings counted in the table before spilling
 * straight into the warning list (which folds and caps them itself). */
#define TALLY_MAX 32
/* When the tally table is full, further distinct record-level warnings go
 * straight to the warning list only while it has room for everything still
 * to come at the end: the tallies themselves plus WARN_RESERVE report-level
 * lines ("xml errors recovered", "N more record warnings not kept"). */
#define WARN_RESERVE 8
#define SPILL_LIMIT (DMARCD_MAX_WARNINGS - TALLY_MAX - WARN_RESERVE)
/* A date range longer than this gets a warning (reports cover about a day). */
#define DATE_RANGE_PLAUSIBLE_MAX (48u * 3600u)
/* Timestamps above this are taken for milliseconds (10^11 s is year 5138). */
#define MAX_PLAUSIBLE_TIME INT64_C(100000000000)
/* Pointer-keyed table of our interned element names (see name_find). */
#define NAME_SLOTS_BITS 7
#define NAME_SLOTS (1u << NAME_SLOTS_BITS)

/* Local names we know. NM_OTHER (0) is everything else. */
enum name_id {
    NM_OTHER,
    NM_FEEDBACK, NM_SCHEMA, NM_VERSION, NM_REPORT_METADATA, NM_ORG_NAME, NM_EMAIL,
    NM_EXTRA_CONTACT_INFO, NM_REPORT_ID, NM_DATE_RANGE, NM_DATA_RANGE, NM_BEGIN, NM_END,
    NM_ERROR, NM_GENERATOR, NM_POLICY_PUBLISHED, NM_DOMAIN, NM_ADKIM, NM_ASPF, NM_P, NM_SP,
    NM_NP, NM_PCT, NM_FO, NM_TESTING, NM_DISCOVERY_METHOD, NM_RECORD, NM_ROW, NM_SOURCE_IP,
    NM_COUNT, NM_POLICY_EVALUATED, NM_DISPOSITION, NM_DKIM, NM_SPF, NM_REASON, NM_TYPE,
    NM_COMMENT, NM_IDENTIFIERS, NM_IDENTITIES, NM_ENVELOPE_TO, NM_ENVELOPE_FROM,
    NM_HEADER_FROM, NM_AUTH_RESULTS, NM_SELECTOR, NM_RESULT, NM_HUMAN_RESULT, NM_SCOPE,
    NM_EXTENSION, NM_EXTENSIONS,
    NM__N
};

/* What an open element is to us. Containers first, then leaves (elements
 * whose text we keep); K_SKIP means "ignore this subtree". */
enum kind {
    K_SKIP,
    K_WRAPPER, K_FEEDBACK, K_METADATA, K_DATE_RANGE, K_POLICY, K_RECORD, K_ROW, K_EVAL,
    K_REASON, K_IDENTIFIERS, K_AUTH, K_AUTH_DKIM, K_AUTH_SPF,
    K_FIRST_LEAF,
    K_VERSION = K_FIRST_LEAF, K_ORG_NAME, K_EMAIL, K_EXTRA_CONTACT, K_REPORT_ID, K_ERROR,
    K_GENERATOR, K_BEGIN, K_END, K_POL_DOMAIN, K_ADKIM, K_ASPF, K_P, K_SP, K_NP, K_PCT, K_FO,
    K_TESTING, K_DISCOVERY,
    K_FIRST_RECORD_LEAF,
    K_SOURCE_IP = K_FIRST_RECORD_LEAF, K_COUNT, K_DISPOSITION, K_EVAL_DKIM, K_EVAL_SPF,
    K_REASON_TYPE, K_REASON_COMMENT, K_HEADER_FROM, K_ENVELOPE_FROM, K_ENVELOPE_TO,
    K_DKIM_DOMAIN, K_DKIM_SELECTOR, K_DKIM_RESULT, K_DKIM_HUMAN,
    K_SPF_DOMAIN, K_SPF_SCOPE, K_SPF_RESULT, K_SPF_HUMAN,
    K__N
};

/* kind_table[parent][name] = kind of the child (K_SKIP when unknown there). */
static const uint8_t kind_table[K_FIRST_LEAF][NM__N] = {
    [K_WRAPPER] = { [NM_FEEDBACK] = K_FEEDBACK },
    [K_FEEDBACK] = { [NM_VERSION] = K_VERSION, [NM_REPORT_METADATA] = K_METADATA,
                     [NM_POLICY_PUBLISHED] = K_POLICY, [NM_RECORD] = K_RECORD },
    [K_METADATA] = { [NM_ORG_NAME] = K_ORG_NAME, [NM_EMAIL] = K_EMAIL,
                     [NM_EXTRA_CONTACT_INFO] = K_EXTRA_CONTACT, [NM_REPORT_ID] = K_REPORT_ID,
                     [NM_DATE_RANGE] = K_DATE_RANGE, [NM_DATA_RANGE] = K_DATE_RANGE,
                     [NM_ERROR] = K_ERROR, [NM_GENERATOR] = K_GENERATOR },
    [K_DATE_RANGE] = { [NM_BEGIN] = K_BEGIN, [NM_END] = K_END },
    [K_POLICY] = { [NM_DOMAIN] = K_POL_DOMAIN, [NM_ADKIM] = K_ADKIM, [NM_ASPF] = K_ASPF,
                   [NM_P] = K_P, [NM_SP] = K_SP, [NM_NP] = K_NP, [NM_PCT] = K_PCT,
                   [NM_FO] = K_FO, [NM_TESTING] = K_TESTING,
                   [NM_DISCOVERY_METHOD] = K_DISCOVERY },
    [K_RECORD] = { [NM_ROW] = K_ROW, [NM_IDENTIFIERS] = K_IDENTIFIERS,
                   [NM_IDENTITIES] = K_IDENTIFIERS, [NM_AUTH_RESULTS] = K_AUTH },
    [K_ROW] = { [NM_SOURCE_IP] = K_SOURCE_IP, [NM_COUNT] = K_COUNT,
                [NM_POLICY_EVALUATED] = K_EVAL },
    [K_EVAL] = { [NM_DISPOSITION] = K_DISPOSITION, [NM_DKIM] = K_EVAL_DKIM,
                 [NM_SPF] = K_EVAL_SPF, [NM_REASON] = K_REASON },
    [K_REASON] = { [NM_TYPE] = K_REASON_TYPE, [NM_COMMENT] = K_REASON_COMMENT },
    [K_IDENTIFIERS] = { [NM_ENVELOPE_TO] = K_ENVELOPE_TO, [NM_ENVELOPE_FROM] = K_ENVELOPE_FROM,
                        [NM_HEADER_FROM] = K_HEADER_FROM },
    [K_AUTH] = { [NM_DKIM] = K_AUTH_DKIM, [NM_SPF] = K_AUTH_SPF },
    [K_AUTH_DKIM] = { [NM_DOMAIN] = K_DKIM_DOMAIN, [NM_SELECTOR] = K_DKIM_SELECTOR,
                      [NM_RESULT] = K_DKIM_RESULT, [NM_HUMAN_RESULT] = K_DKIM_HUMAN },
    [K_AUTH_SPF] = { [NM_DOMAIN] = K_SPF_DOMAIN, [NM_SCOPE] = K_SPF_SCOPE,
                     [NM_RESULT] = K_SPF_RESULT, [NM_HUMAN_RESULT] = K_SPF_HUMAN },
};

/* Element names for messages. */
static const char *const kind_names[K__N] = {
    [K_WRAPPER] = "schema", [K_FEEDBACK] = "feedback", [K_METADATA] = "report_metadata",
    [K_DATE_RANGE] = "date_range", [K_POLICY] = "policy_published", [K_RECORD] = "record",
    [K_ROW] = "row", [K_EVAL] = "policy_evaluated", [K_REASON] = "reason",
    [K_IDENTIFIERS] = "identifiers", [K_AUTH] = "auth_results", [K_AUTH_DKIM] = "dkim",
    [K_AUTH_SPF] = "spf", [K_VERSION] = "version", [K_ORG_NAME] = "org_name",
    [K_EMAIL] = "email", [K_EXTRA_CONTACT] = "extra_contact_info",
    [K_REPORT_ID] = "report_id", [K_ERROR] = "error", [K_GENERATOR] = "generator",
    [K_BEGIN] = "begin", [K_END] = "end", [K_POL_DOMAIN] = "domain", [K_ADKIM] = "adkim",
    [K_ASPF] = "aspf", [K_P] = "p", [K_SP] = "sp", [K_NP] = "np", [K_PCT] = "pct",
    [K_FO] = "fo", [K_TESTING] = "testing", [K_DISCOVERY] = "discovery_method",
    [K_SOURCE_IP] = "source_ip", [K_COUNT] = "count", [K_DISPOSITION] = "disposition",
    [K_EVAL_DKIM] = "dkim", [K_EVAL_SPF] = "spf", [K_REASON_TYPE] = "type",
    [K_REASON_COMMENT] = "comment", [K_HEADER_FROM] = "header_from",
    [K_ENVELOPE_FROM] = "envelope_from", [K_ENVELOPE_TO] = "envelope_to",
    [K_DKIM_DOMAIN] = "domain", [K_DKIM_SELECTOR] = "selector", [K_DKIM_RESULT] = "result",
    [K_DKIM_HUMAN] = "human_result", [K_SPF_DOMAIN] = "domain", [K_SPF_SCOPE] = "scope",
    [K_SPF_RESULT] = "result", [K_SPF_HUMAN] = "human_result",
};

/* Canonical tokens of each enumeration (lower case, NULL-terminated). */
static const char *const SET_ALIGN[] = { "r", "s", NULL };
static const char *const SET_POLICY[] = { "none", "quarantine", "reject", NULL };
static const char *const SET_DISPOSITION[] = { "none", "quarantine", "reject", "pass", NULL };
static const char *const SET_VERDICT[] = { "pass", "fail", NULL };
static const char *const SET_DKIM_RESULT[] = { "none", "pass", "fail", "policy", "neutral",
                                               "temperror", "permerror", NULL };
static const char *const SET_SPF_RESULT[] = { "none", "neutral", "pass", "fail", "softfail",
                                              "temperror", "permerror", "policy", NULL };
static const char *const SET_SCOPE[] = { "helo", "mfrom", NULL };
static const char *const SET_REASON[] = { "forwarded", "sampled_out", "trusted_forwarder",
                                          "mailing_list", "local_policy", "other",
                                          "policy_test_mode", NULL };
static const char *const SET_TESTING[] = { "n", "y", NULL };
static const char *const SET_DISCOVERY[] = { "psl", "treewalk", NULL };

/* Non-standard SPF result words and what they mean (RFC 7489 XSD notes). */
static const char *const SPF_ALIASES[][2] = {
    { "hardfail", "fail" }, { "unknown", "temperror" }, { "error", "permerror" },
};

/* Record-level warnings, counted per (kind, a, b, c) and written at the end. */
enum tally_kind {
    T_CASE, T_ALIAS, T_UNKNOWN_VALUE, T_DISPOSITION_PASS, T_DUPLICATE, T_IDENTITIES,
    T_LATE, T_SKIP_NO_IP, T_SKIP_BAD_IP, T_SKIP_NO_COUNT, T_SKIP_BAD_COUNT,
    T_SKIP_NEGATIVE_COUNT, T_BAD_UTF8,
};

struct tally {
    enum tally_kind kind;
    const char *b, *c;          /* static strings (or NULL) */
    char a[SHOWN_MAX + 4];      /* a value from the input, cut and cleaned */
    uint64_t n;
};

struct agg_parser {
    struct report_source src;   /* points at the two copies below */
    char *src_file, *src_part;
    const struct parse_options *opts;
    struct report_sink *sink;
    xmlParserCtxtPtr ctxt;
    struct {
        const xmlChar *name;
        uint8_t id;
    } name_slots[NAME_SLOTS];

    enum dmarcd_err err;
    char detail[DETAIL_MAX];

    /* bytes before the document: BOM and whitespace */
    bool started;
    unsigned bom_len;
    uint64_t ws_skipped;
    unsigned long skipped_lines;
    char *stage;                /* PUSH_CHUNK bytes, see feed_bytes() and pull_head() */
    size_t stage_len;

    /* pull mode (agg_parser_pull) */
    agg_read_fn read;
    void *read_ctx;
    size_t stage_off;           /* staged bytes already handed to libxml2 */
    size_t released;            /* staged bytes libxml2 may have (pull_block) */
    bool read_eof;
    bool err_from_sink;         /* p->err is the sink's refusal */
    /* prefixes the root declares, for pull mode's SAX1 view (sax1_open) */
    const char *root_prefixes[SAX1_PREFIXES_MAX];
    size_t n_root_prefixes;

    /* element stack; kinds[d] is the kind of the open element at depth d */
    int depth;
    int skip_from;              /* depth where a skipped subtree began, or 0 */
    uint8_t kinds[DMARCD_MAX_XML_DEPTH + 1];
    bool collecting;            /* inside a leaf: text goes to `text` */
    struct strbuf text;
    struct strbuf fixed;        /* text repaired by repair_utf8() */

    /* document state */
    bool root_seen, feedback_seen, feedback_closed, begun, completed;
    bool ns_rfc9990, ns_draft, saw_extension, saw_new_fields, saw_metadata, saw_policy;
    bool saw_date_range, saw_data_range_refused, have_begin, have_end;

    /* the report header */
    struct arena hdr_arena;
    struct agg_report report;
    const char *errors[DMARCD_MAX_AUTH_RESULTS];
    bool errors_dropped;

    /* the record being read */
    struct arena rec_arena;
    struct agg_record rec;
    const char *raw_ip, *raw_count;
    struct agg_reason reasons[DMARCD_MAX_AUTH_RESULTS];
    struct agg_dkim_result dkim[DMARCD_MAX_AUTH_RESULTS];
    struct agg_spf_result spf[DMARCD_MAX_AUTH_RESULTS];
    uint64_t records_seen;
    struct agg_totals totals;

    struct warn_list warnings;
    struct tally tallies[TALLY_MAX];
    size_t n_tallies;
    uint64_t held_back;         /* record warnings past the table and the spill room */

    /* libxml2 errors (errors and fatal errors; warnings are ignored) */
    uint64_t xml_errors;
    int xml_first_line, xml_last_line;
    char xml_first[XML_MSG_MAX], xml_last[XML_MSG_MAX];
};

/* ---- small helpers ---- */

static unsigned long cur_line(const struct agg_parser *p)
{
    int line = p->ctxt ? xmlSAX2GetLineNumber(p->ctxt) : 0;
    return (line > 0 ? (unsigned long)line : 0) + p->skipped_lines;
}

/* Length of the valid UTF-8 sequence at s (n bytes there), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0], cp, min;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    cp = c & (0x3Fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static bool utf8_valid(struct slice v)
{
    const unsigned char *b = (const unsigned char *)v.ptr;
    for (size_t i = 0; i < v.len;) {
        size_t n = utf8_len(b + i, v.len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

/* Copies at most SHOWN_MAX bytes of v into out (sized SHOWN_MAX + 4) for
 * quoting in a message: control bytes, quotes and invalid UTF-8 as '?', cut
 * on a character boundary with "..." appended. */
static void shown_value(struct slice v, char *out)
{
    size_t n = v.len;
    bool cut = false;
    if (n > SHOWN_MAX) {
        n = SHOWN_MAX;
        while (n > 0 && ((unsigned char)v.ptr[n] & 0xC0) == 0x80)
            n--;
        cut = true;
    }
    for (size_t i = 0; i < n;) {
        const unsigned char *c = (const unsigned char *)v.ptr + i;
        size_t k = utf8_len(c, n - i);
        if (k > 1) {
            memcpy(out + i, c, k);
            i += k;
            continue;
        }
        out[i++] = (k == 0 || *c < 0x20 || *c == 0x7f || *c == '"') ? '?' : (char)*c;
    }
    if (cut) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static void set_detail(struct agg_parser *p, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void set_detail(struct agg_parser *p, const char *fmt, va_list ap)
{
    if (vsnprintf(p->detail, sizeof(p->detail), fmt, ap) < 0)
        p->detail[0] = '\0';
}

/* Records the first error (later ones are consequences). */
static void vfail(struct agg_parser *p, enum dmarcd_err err, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void vfail(struct agg_parser *p, enum dmarcd_err err, const char *fmt, va_list ap)
{
    if (p->err)
        return;
    p->err = err;
    set_detail(p, fmt, ap);
    /* A limit hit or a missing element after libxml2 recovered from broken
     * markup is usually caused by that markup: say so. */
    bool maybe_markup = err == DMARCD_E_TOO_DEEP || err == DMARCD_E_TOO_LONG ||
                        err == DMARCD_E_TOO_MANY || err == DMARCD_E_TOO_BIG ||
                        err == DMARCD_E_BAD_REPORT;
    if (maybe_markup && p->xml_errors) {
        size_t len = strlen(p->detail);
        (void)snprintf(p->detail + len, sizeof(p->detail) - len,
                       " (after xml errors, first: line %d: %s)", p->xml_first_line,
                       p->xml_first);
    }
    /* No xmlStopParser() here: fail() also runs inside libxml2's error
     * callbacks, some of which fire in the middle of an input conversion,
     * and halting the parser there frees the buffer being converted (a
     * use-after-free found by fuzzing libxml2 2.9.14). Every callback turns
     * into a no-op once p->err is set, and push() stops feeding (pull mode:
     * pull_input() answers "end of input"); libxml2 reads at most the rest
     * of the current PUSH_CHUNK. */
}

static void fail(struct agg_parser *p, enum dmarcd_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct agg_parser *p, enum dmarcd_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(p, err, fmt, ap);
    va_end(ap);
}

/* fail() for the sink's refusal: an error that stands in pull mode too. */
static void sink_failed(struct agg_parser *p, enum dmarcd_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sink_failed(struct agg_parser *p, enum dmarcd_err err, const char *fmt, ...)
{
    va_list ap;
    bool first = !p->err;
    va_start(ap, fmt);
    vfail(p, err, fmt, ap);
    va_end(ap);
    p->err_from_sink = first;
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ---- warnings ---- */

static void tally_render(struct strbuf *sb, const struct tally *t)
{
    switch (t->kind) {
    case T_CASE:
        strbuf_addstr(sb, "enumerated values in upper case lower-cased");
        break;
    case T_ALIAS:
        strbuf_addf(sb, "%s \"%s\" read as \"%s\"", t->b, t->a, t->c);
        break;
    case T_UNKNOWN_VALUE:
        strbuf_addf(sb, "%s \"%s\" is not a known value, kept lower-cased", t->b, t->a);
        break;
    case T_DISPOSITION_PASS:
        strbuf_addstr(sb, "disposition \"pass\" (an rfc9990 value) kept in an rfc7489 report");
        break;
    case T_DUPLICATE:
        strbuf_addf(sb, "duplicate <%s> in <%s> ignored", t->b, t->c);
        break;
    case T_IDENTITIES:
        strbuf_addstr(sb, "<identities> read as <identifiers>");
        break;
    case T_LATE:
        strbuf_addf(sb, "<%s> after the first <record> ignored", t->b);
        break;
    case T_SKIP_NO_IP:
        strbuf_addstr(sb, "record skipped: no source_ip");
        break;
    case T_SKIP_BAD_IP:
        strbuf_addf(sb, "record skipped: source_ip \"%s\" is not an IP address", t->a);
        break;
    case T_SKIP_NO_COUNT:
        strbuf_addstr(sb, "record skipped: no count");
        break;
    case T_SKIP_BAD_COUNT:
        strbuf_addf(sb, "record skipped: count \"%s\" is not a number", t->a);
        break;
    case T_SKIP_NEGATIVE_COUNT:
        strbuf_addf(sb, "record skipped: count \"%s\" is negative", t->a);
        break;
    case T_BAD_UTF8:
        strbuf_addf(sb, "invalid UTF-8 in <%s> read as windows-1252", t->b);
        break;
    }
    if (t->n > 1)
        strbuf_addf(sb, " (%" PRIu64 " times)", t->n);
}

static void tally_emit(struct agg_parser *p, const struct tally *t)
{
    struct strbuf sb;
    strbuf_init(&sb, 0);
    tally_render(&sb, t);
    warn_add(&p->warnings, "%s", sb.buf);
    strbuf_release(&sb);
}

/* Counts one occurrence of a record-level quirk. */
static void note(struct agg_parser *p, enum tally_kind kind, struct slice a, const char *b,
                 const char *c)
{
    struct tally t = { .kind = kind, .b = b, .c = c, .n = 1 };
    shown_value(a, t.a);
    for (size_t i = 0; i < p->n_tallies; i++) {
        struct tally *e = &p->tallies[i];
        if (e->kind == kind && e->b == b && e->c == c && strcmp(e->a, t.a) == 0) {
            e->n++;
            return;
        }
    }
    if (p->n_tallies < TALLY_MAX)
        p->tallies[p->n_tallies++] = t;
    else if (p->warnings.count < SPILL_LIMIT)
        tally_emit(p, &t);      /* warn.c folds repeats */
    else
        p->held_back++;
}

static void flush_tallies(struct agg_parser *p)
{
    for (size_t i = 0; i < p->n_tallies; i++)
        tally_emit(p, &p->tallies[i]);
    p->n_tallies = 0;
    if (p->held_back)
        warn_add(&p->warnings, "%" PRIu64 " more record warnings not kept", p->held_back);
}

/* ---- element names. The slow path, name_lookup(): a switch on the
 * length, then memcmp, never reading past the longest name we know. ---- */

#define NAME_IS(lit) (memcmp(n, lit, sizeof(lit) - 1) == 0)

static enum name_id name_lookup_short(const char *n, size_t len)
{
    switch (len) {
    case 1:
        return n[0] == 'p' ? NM_P : NM_OTHER;
    case 2:
        return NAME_IS("sp") ? NM_SP : NAME_IS("np") ? NM_NP : NAME_IS("fo") ? NM_FO : NM_OTHER;
    case 3:
        return NAME_IS("end") ? NM_END : NAME_IS("spf") ? NM_SPF : NAME_IS("row") ? NM_ROW
             : NAME_IS("pct") ? NM_PCT : NM_OTHER;
    case 4:
        return NAME_IS("dkim") ? NM_DKIM : NAME_IS("aspf") ? NM_ASPF
             : NAME_IS("type") ? NM_TYPE : NM_OTHER;
    case 5:
        return NAME_IS("count") ? NM_COUNT : NAME_IS("begin") ? NM_BEGIN
             : NAME_IS("scope") ? NM_SCOPE : NAME_IS("email") ? NM_EMAIL
             : NAME_IS("error") ? NM_ERROR : NAME_IS("adkim") ? NM_ADKIM : NM_OTHER;
    case 6:
        return NAME_IS("domain") ? NM_DOMAIN : NAME_IS("result") ? NM_RESULT
             : NAME_IS("record") ? NM_RECORD : NAME_IS("reason") ? NM_REASON
             : NAME_IS("schema") ? NM_SCHEMA : NM_OTHER;
    case 7:
        return NAME_IS("version") ? NM_VERSION : NAME_IS("testing") ? NM_TESTING
             : NAME_IS("comment") ? NM_COMMENT : NM_OTHER;
    case 8:
        return NAME_IS("selector") ? NM_SELECTOR : NAME_IS("feedback") ? NM_FEEDBACK
             : NAME_IS("org_name") ? NM_ORG_NAME : NM_OTHER;
    default:
        return NM_OTHER;
    }
}

static enum name_id name_lookup(const xmlChar *name)
{
    const char *n = (const char *)name;
    size_t len = 0;
    while (len < 19 && n[len])
        len++;
    switch (len) {
    case 9:
        return NAME_IS("source_ip") ? NM_SOURCE_IP : NAME_IS("report_id") ? NM_REPORT_ID
             : NAME_IS("generator") ? NM_GENERATOR : NAME_IS("extension") ? NM_EXTENSION
             : NM_OTHER;
    case 10:
        return NAME_IS("date_range") ? NM_DATE_RANGE : NAME_IS("identities") ? NM_IDENTITIES
             : NAME_IS("extensions") ? NM_EXTENSIONS : NAME_IS("data_range") ? NM_DATA_RANGE
             : NM_OTHER;
    case 11:
        return NAME_IS("disposition") ? NM_DISPOSITION : NAME_IS("identifiers") ? NM_IDENTIFIERS
             : NAME_IS("header_from") ? NM_HEADER_FROM : NAME_IS("envelope_to") ? NM_ENVELOPE_TO
             : NM_OTHER;
    case 12:
        return NAME_IS("auth_results") ? NM_AUTH_RESULTS
             : NAME_IS("human_result") ? NM_HUMAN_RESULT : NM_OTHER;
    case 13:
        return NAME_IS("envelope_from") ? NM_ENVELOPE_FROM : NM_OTHER;
    case 15:
        return NAME_IS("report_metadata") ? NM_REPORT_METADATA : NM_OTHER;
    case 16:
        return NAME_IS("policy_evaluated") ? NM_POLICY_EVALUATED
             : NAME_IS("policy_published") ? NM_POLICY_PUBLISHED
             : NAME_IS("discovery_method") ? NM_DISCOVERY_METHOD : NM_OTHER;
    case 18:
        return NAME_IS("extra_contact_info") ? NM_EXTRA_CONTACT_INFO : NM_OTHER;
    default:
        return name_lookup_short(n, len);
    }
}

#undef NAME_IS

/*
 * The fast path: libxml2 interns element names in the parser's dictionary,
 * so the same name arrives as the same pointer. Our names are interned
 * once per parser and found again by pointer in a small open-addressing
 * table. A miss (an unknown name, or a name libxml2 did not intern) falls
 * back to name_lookup(), so correctness never depends on interning.
 */
static const char *const known_names[NM__N] = {
    [NM_FEEDBACK] = "feedback", [NM_SCHEMA] = "schema", [NM_VERSION] = "version",
    [NM_REPORT_METADATA] = "report_metadata", [NM_ORG_NAME] = "org_name",
    [NM_EMAIL] = "email", [NM_EXTRA_CONTACT_INFO] = "extra_contact_info",
    [NM_REPORT_ID] = "report_id", [NM_DATE_RANGE] = "date_range",
    [NM_DATA_RANGE] = "data_range", [NM_BEGIN] = "begin", [NM_END] = "end",
    [NM_ERROR] = "error", [NM_GENERATOR] = "generator",
    [NM_POLICY_PUBLISHED] = "policy_published", [NM_DOMAIN] = "domain",
    [NM_ADKIM] = "adkim", [NM_ASPF] = "aspf", [NM_P] = "p", [NM_SP] = "sp", [NM_NP] = "np",
    [NM_PCT] = "pct", [NM_FO] = "fo", [NM_TESTING] = "testing",
    [NM_DISCOVERY_METHOD] = "discovery_method", [NM_RECORD] = "record", [NM_ROW] = "row",
    [NM_SOURCE_IP] = "source_ip", [NM_COUNT] = "count",
    [NM_POLICY_EVALUATED] = "policy_evaluated", [NM_DISPOSITION] = "disposition",
    [NM_DKIM] = "dkim", [NM_SPF] = "spf", [NM_REASON] = "reason", [NM_TYPE] = "type",
    [NM_COMMENT] = "comment", [NM_IDENTIFIERS] = "identifiers",
    [NM_IDENTITIES] = "identities", [NM_ENVELOPE_TO] = "envelope_to",
    [NM_ENVELOPE_FROM] = "envelope_from", [NM_HEADER_FROM] = "header_from",
    [NM_AUTH_RESULTS] = "auth_results", [NM_SELECTOR] = "selector", [NM_RESULT] = "result",
    [NM_HUMAN_RESULT] = "human_result", [NM_SCOPE] = "scope", [NM_EXTENSION] = "extension",
    [NM_EXTENSIONS] = "extensions",
};

static unsigned name_slot(const xmlChar *name)
{
    uint64_t h = (uint64_t)(uintptr_t)name * UINT64_C(0x9E3779B97F4A7C15);
    return (unsigned)(h >> (64 - NAME_SLOTS_BITS));
}

static void intern_names(struct agg_parser *p)
{
    for (unsigned id = 1; id < NM__N; id++) {
        const xmlChar *name = xmlDictLookup(p->ctxt->dict, (const xmlChar *)known_names[id], -1);
        if (!name)
            dmarcd_die("xmlDictLookup");
        unsigned slot = name_slot(name);
        while (p->name_slots[slot].name)
            slot = (slot + 1) & (NAME_SLOTS - 1);
        p->name_slots[slot].name = name;
        p->name_slots[slot].id = (uint8_t)id;
    }
}

static enum name_id name_find(const struct agg_parser *p, const xmlChar *name)
{
    unsigned slot = name_slot(name);
    while (p->name_slots[slot].name) {
        if (p->name_slots[slot].name == name)
            return (enum name_id)p->name_slots[slot].id;
        slot = (slot + 1) & (NAME_SLOTS - 1);
    }
    return name_lookup(name);
}

/* ---- values ---- */

static char *copy_value(struct agg_parser *p, struct arena *a, struct slice v)
{
    char *s = arena_slicedup(a, v);
    if (!s)
        fail(p, DMARCD_E_TOO_BIG, "%s strings exceed %zu bytes at line %lu",
             a == &p->rec_arena ? "record" : "report header", (size_t)DMARCD_MAX_RECORD_BYTES,
             cur_line(p));
    return s;
}

/* v equals the NUL-terminated token t (no strlen: this runs per value). */
static bool token_is(struct slice v, const char *t)
{
    for (size_t i = 0; i < v.len; i++) {
        if (t[i] == '\0' || t[i] != v.ptr[i])
            return false;
    }
    return t[v.len] == '\0';
}

static bool token_is_nocase(struct slice v, const char *t)
{
    for (size_t i = 0; i < v.len; i++) {
        if (t[i] == '\0' || t[i] != ascii_lower(v.ptr[i]))
            return false;
    }
    return t[v.len] == '\0';
}

/* Keeps a value outside the enumeration, lower-cased, with a warning. */
static const char *unknown_enum(struct agg_parser *p, struct arena *a, struct slice v,
                                const char *what)
{
    char *s = copy_value(p, a, v);
    if (!s)
        return NULL;
    for (size_t i = 0; i < v.len; i++)
        s[i] = ascii_lower(s[i]);
    note(p, T_UNKNOWN_VALUE, slice_make(s, v.len), what, NULL);
    return s;
}

/*
 * Maps v onto one of the canonical tokens in set: exact match first, then
 * ignoring case (counted as a lower-casing). Anything else is kept,
 * lower-cased, in arena a with a warning. NULL only on arena exhaustion.
 */
static const char *norm_enum(struct agg_parser *p, struct arena *a, struct slice v,
                             const char *const *set, const char *what)
{
    for (size_t i = 0; set[i]; i++) {
        if (token_is(v, set[i]))
            return set[i];
    }
    for (size_t i = 0; set[i]; i++) {
        if (token_is_nocase(v, set[i])) {
            note(p, T_CASE, slice_make("", 0), NULL, NULL);
            return set[i];
        }
    }
    return unknown_enum(p, a, v, what);
}

static const char *norm_spf_result(struct agg_parser *p, struct slice v)
{
    for (size_t i = 0; SET_SPF_RESULT[i]; i++) {
        if (token_is(v, SET_SPF_RESULT[i]))
            return SET_SPF_RESULT[i];
    }
    for (size_t i = 0; i < sizeof(SPF_ALIASES) / sizeof(SPF_ALIASES[0]); i++) {
        if (token_is_nocase(v, SPF_ALIASES[i][0])) {
            note(p, T_ALIAS, slice_from_cstr(SPF_ALIASES[i][0]), "spf result",
                 SPF_ALIASES[i][1]);
            return SPF_ALIASES[i][1];
        }
    }
    return norm_enum(p, &p->rec_arena, v, SET_SPF_RESULT, "spf result");
}

/* Seconds since the epoch from a date_range value, with the known repairs:
 * a fraction is cut, milliseconds are divided down. */
static bool parse_time(struct agg_parser *p, struct slice v, const char *which, int64_t *out)
{
    char shown[SHOWN_MAX + 4];
    struct slice whole = v, frac = { 0 };
    bool has_frac = slice_split(v, '.', &whole, &frac);
    int64_t t;

    shown_value(v, shown);
    for (size_t i = 0; i < frac.len; i++) {
        if (frac.ptr[i] < '0' || frac.ptr[i] > '9') {
            whole = v;          /* not a fraction: let slice_to_i64 refuse it */
            has_frac = false;
        }
    }
    if (!slice_to_i64(whole, &t) || t < 0) {
        fail(p, DMARCD_E_BAD_REPORT, "report_metadata/date_range/%s \"%s\" is not a time",
             which, shown);
        return false;
    }
    if (has_frac)
        warn_add(&p->warnings, "date_range %s \"%s\" truncated to whole seconds", which, shown);
    if (t > MAX_PLAUSIBLE_TIME) {
        warn_add(&p->warnings, "date_range %s %" PRId64 " read as milliseconds", which, t);
        t /= 1000;
        if (t > MAX_PLAUSIBLE_TIME) {
            fail(p, DMARCD_E_BAD_REPORT, "report_metadata/date_range/%s \"%s\" is not a time",
                 which, shown);
            return false;
        }
    }
    *out = t;
    return true;
}

/* ---- header leaves ---- */

static void hdr_str(struct agg_parser *p, const char **field, struct slice v, enum kind k)
{
    if (*field) {
        warn_add(&p->warnings, "duplicate <%s> ignored", kind_names[k]);
        return;
    }
    *field = copy_value(p, &p->hdr_arena, v);
}

static void hdr_enum(struct agg_parser *p, const char **field, struct slice v, enum kind k,
                     const char *const *set)
{
    if (*field) {
        warn_add(&p->warnings, "duplicate <%s> ignored", kind_names[k]);
        return;
    }
    *field = norm_enum(p, &p->hdr_arena, v, set, kind_names[k]);
}

static void hdr_report_id(struct agg_parser *p, struct slice v)
{
    if (p->report.report_id) {
        warn_add(&p->warnings, "duplicate <report_id> ignored");
        return;
    }
    if (v.len > 2 && v.ptr[0] == '<' && v.ptr[v.len - 1] == '>') {
        char shown[SHOWN_MAX + 4];
        shown_value(v, shown);
        v = slice_trim(slice_make(v.ptr + 1, v.len - 2));
        warn_add(&p->warnings, "report_id \"%s\": angle brackets removed", shown);
    }
    if (v.len)
        p->report.report_id = copy_value(p, &p->hdr_arena, v);
}

static void hdr_error(struct agg_parser *p, struct slice v)
{
    struct str_list *l = &p->report.errors;
    if (l->count == DMARCD_MAX_AUTH_RESULTS) {
        if (!p->errors_dropped)
            warn_add(&p->warnings, "more than %d <error> elements, the rest ignored",
                     DMARCD_MAX_AUTH_RESULTS);
        p->errors_dropped = true;
        return;
    }
    const char *s = copy_value(p, &p->hdr_arena, v);
    if (s)
        p->errors[l->count++] = s;
}

static void hdr_time(struct agg_parser *p, struct slice v, bool is_begin)
{
    bool *have = is_begin ? &p->have_begin : &p->have_end;
    if (*have) {
        warn_add(&p->warnings, "duplicate <%s> ignored", is_begin ? "begin" : "end");
        return;
    }
    *have = parse_time(p, v, is_begin ? "begin" : "end",
                       is_begin ? &p->report.begin : &p->report.end);
}

static void hdr_pct(struct agg_parser *p, struct slice v)
{
    int64_t pct;
    if (p->report.policy.pct >= 0) {
        warn_add(&p->warnings, "duplicate <pct> ignored");
        return;
    }
    if (slice_to_i64(v, &pct) && pct >= 0 && pct <= 100) {
        p->report.policy.pct = pct;
    } else {
        char shown[SHOWN_MAX + 4];
        shown_value(v, shown);
        warn_add(&p->warnings, "pct \"%s\" ignored: not a number from 0 to 100", shown);
    }
}

static void header_leaf(struct agg_parser *p, enum kind k, struct slice v)
{
    struct agg_report *r = &p->report;
    struct agg_policy *pol = &r->policy;

    switch (k) {
    case K_VERSION: hdr_str(p, &r->version, v, k); break;
    case K_ORG_NAME: hdr_str(p, &r->org_name, v, k); break;
    case K_EMAIL: hdr_str(p, &r->email, v, k); break;
    case K_EXTRA_CONTACT: hdr_str(p, &r->extra_contact_info, v, k); break;
    case K_REPORT_ID: hdr_report_id(p, v); break;
    case K_ERROR: hdr_error(p, v); break;
    case K_GENERATOR:
        p->saw_new_fields = true;
        hdr_str(p, &r->generator, v, k);
        break;
    case K_BEGIN: hdr_time(p, v, true); break;
    case K_END: hdr_time(p, v, false); break;
    case K_POL_DOMAIN: hdr_str(p, &pol->domain, v, k); break;
    case K_ADKIM: hdr_enum(p, &pol->adkim, v, k, SET_ALIGN); break;
    case K_ASPF: hdr_enum(p, &pol->aspf, v, k, SET_ALIGN); break;
    case K_P: hdr_enum(p, &pol->p, v, k, SET_POLICY); break;
    case K_SP: hdr_enum(p, &pol->sp, v, k, SET_POLICY); break;
    case K_NP: hdr_enum(p, &pol->np, v, k, SET_POLICY); break;
    case K_PCT: hdr_pct(p, v); break;
    case K_FO: hdr_str(p, &pol->fo, v, k); break;
    case K_TESTING:
        p->saw_new_fields = true;
        hdr_enum(p, &pol->testing, v, k, SET_TESTING);
        break;
    case K_DISCOVERY:
        p->saw_new_fields = true;
        hdr_enum(p, &pol->discovery_method, v, k, SET_DISCOVERY);
        break;
    default:
        break;
    }
}

/* ---- record leaves ---- */

static void rec_str(struct agg_parser *p, const char **field, struct slice v, enum kind k,
                    enum kind parent)
{
    if (*field) {
        note(p, T_DUPLICATE, slice_make("", 0), kind_names[k], kind_names[parent]);
        return;
    }
    *field = copy_value(p, &p->rec_arena, v);
}

/* Like rec_str for enumerations; spf results also get their aliases. */
static void rec_enum(struct agg_parser *p, const char **field, struct slice v, enum kind k,
                     enum kind parent, const char *const *set, const char *what)
{
    if (*field) {
        note(p, T_DUPLICATE, slice_make("", 0), kind_names[k], kind_names[parent]);
        return;
    }
    *field = set == SET_SPF_RESULT ? norm_spf_result(p, v)
                                   : norm_enum(p, &p->rec_arena, v, set, what);
}

static void rec_header_from(struct agg_parser *p, struct slice v)
{
    if (p->rec.header_from) {
        note(p, T_DUPLICATE, slice_make("", 0), "header_from", "identifiers");
        return;
    }
    char *s = copy_value(p, &p->rec_arena, v);
    if (!s)
        return;
    for (size_t i = 0; i < v.len; i++)
        s[i] = ascii_lower(s[i]);
    p->rec.header_from = s;
}

static void rec_disposition(struct agg_parser *p, struct slice v)
{
    rec_enum(p, &p->rec.disposition, v, K_DISPOSITION, K_EVAL, SET_DISPOSITION, "disposition");
    if (p->rec.disposition && p->rec.disposition[0] == 'p' &&
        p->report.format == AGG_FORMAT_RFC7489 && strcmp(p->rec.disposition, "pass") == 0)
        note(p, T_DISPOSITION_PASS, slice_make("", 0), NULL, NULL);
}

/* Leaves of the current auth_results/dkim or auth_results/spf entry. */
static void auth_leaf(struct agg_parser *p, enum kind k, struct slice v)
{
    struct agg_dkim_result *dk = &p->dkim[p->rec.n_dkim ? p->rec.n_dkim - 1 : 0];
    struct agg_spf_result *sp = &p->spf[p->rec.n_spf ? p->rec.n_spf - 1 : 0];

    switch (k) {
    case K_DKIM_DOMAIN:
        rec_str(p, &dk->domain, v, k, K_AUTH_DKIM);
        break;
    case K_DKIM_SELECTOR:
        rec_str(p, &dk->selector, v, k, K_AUTH_DKIM);
        break;
    case K_DKIM_RESULT:
        rec_enum(p, &dk->result, v, k, K_AUTH_DKIM, SET_DKIM_RESULT, "dkim result");
        break;
    case K_DKIM_HUMAN:
        rec_str(p, &dk->human_result, v, k, K_AUTH_DKIM);
        break;
    case K_SPF_DOMAIN:
        rec_str(p, &sp->domain, v, k, K_AUTH_SPF);
        break;
    case K_SPF_SCOPE:
        rec_enum(p, &sp->scope, v, k, K_AUTH_SPF, SET_SCOPE, "spf scope");
        break;
    case K_SPF_RESULT:
        rec_enum(p, &sp->result, v, k, K_AUTH_SPF, SET_SPF_RESULT, "spf result");
        break;
    case K_SPF_HUMAN:
        rec_str(p, &sp->human_result, v, k, K_AUTH_SPF);
        break;
    default:
        break;
    }
}

static void record_leaf(struct agg_parser *p, enum kind k, struct slice v)
{
    struct agg_record *r = &p->rec;
    struct agg_reason *reason = &p->reasons[r->n_reasons ? r->n_reasons - 1 : 0];

    switch (k) {
    case K_SOURCE_IP:
        rec_str(p, &p->raw_ip, v, k, K_ROW);
        break;
    case K_COUNT:
        rec_str(p, &p->raw_count, v, k, K_ROW);
        break;
    case K_DISPOSITION:
        rec_disposition(p, v);
        break;
    case K_EVAL_DKIM:
        rec_enum(p, &r->dkim, v, k, K_EVAL, SET_VERDICT, "policy_evaluated dkim");
        break;
    case K_EVAL_SPF:
        rec_enum(p, &r->spf, v, k, K_EVAL, SET_VERDICT, "policy_evaluated spf");
        break;
    case K_REASON_TYPE:
        rec_enum(p, &reason->type, v, k, K_REASON, SET_REASON, "reason type");
        break;
    case K_REASON_COMMENT:
        rec_str(p, &reason->comment, v, k, K_REASON);
        break;
    case K_HEADER_FROM:
        rec_header_from(p, v);
        break;
    case K_ENVELOPE_FROM:
        rec_str(p, &r->envelope_from, v, k, K_IDENTIFIERS);
        break;
    case K_ENVELOPE_TO:
        rec_str(p, &r->envelope_to, v, k, K_IDENTIFIERS);
        break;
    default:
        auth_leaf(p, k, v);
        break;
    }
}

/* ---- report begin / records / end ---- */

/* RFC 9990 by namespace; "draft" for the 0.2 namespace or, without a
 * namespace, version 2.0, draft <extension(s)> or fields only RFC 9990
 * defines (generator, testing, discovery_method). <np> alone does not
 * count: Google adds it to otherwise plain RFC 7489 reports. */
static enum agg_format detect_format(const struct agg_parser *p)
{
    if (p->ns_rfc9990)
        return AGG_FORMAT_RFC9990;
    if (p->ns_draft || p->saw_extension || p->saw_new_fields ||
        (p->report.version && strcmp(p->report.version, "2.0") == 0))
        return AGG_FORMAT_DRAFT;
    return AGG_FORMAT_RFC7489;
}

/* org_name falls back to the domain of the email address (parsedmarc does
 * the same for reporters that send an empty org_name). */
static bool org_name_fallback(struct agg_parser *p)
{
    const char *email = p->report.email;
    const char *at = email ? strrchr(email, '@') : NULL;
    if (!at)
        return false;
    struct slice dom = slice_trim(slice_from_cstr(at + 1));
    while (dom.len && (dom.ptr[dom.len - 1] == '>' || dom.ptr[dom.len - 1] == '.'))
        dom.len--;
    if (!dom.len)
        return false;
    p->report.org_name = copy_value(p, &p->hdr_arena, dom);
    if (!p->report.org_name)
        return false;
    warn_add(&p->warnings, "org_name missing, using the email domain \"%s\"",
             p->report.org_name);
    return true;
}

static bool header_complete(struct agg_parser *p)
{
    const struct agg_report *r = &p->report;
    const char *missing = NULL;

    if (!p->saw_metadata)
        missing = "report_metadata missing";
    else if (!r->org_name && !org_name_fallback(p) && !p->err)
        missing = r->email ? "report_metadata/org_name missing (and the email has no domain)"
                           : "report_metadata/org_name missing (and no email to fall back on)";
    else if (!r->report_id)
        missing = "report_metadata/report_id missing";
    else if (!p->saw_date_range)
        missing = p->saw_data_range_refused
                      ? "report_metadata/date_range missing (misspelt <data_range> refused "
                        "in strict mode)"
                      : "report_metadata/date_range missing";
    else if (!p->have_begin)
        missing = "report_metadata/date_range/begin missing";
    else if (!p->have_end)
        missing = "report_metadata/date_range/end missing";
    else if (!p->saw_policy)
        missing = "policy_published missing";
    else if (!r->policy.domain)
        missing = "policy_published/domain missing";
    if (missing)
        fail(p, DMARCD_E_BAD_REPORT, "%s", missing);
    return !p->err;
}

/* Warnings for a header that is complete but implausible: a date range
 * that is reversed, empty or much longer than the daily interval reporters
 * use (SPEC-NOTES 1.4), and mandatory elements some reporters leave out. */
static void report_sanity(struct agg_parser *p)
{
    const struct agg_report *r = &p->report;
    /* end >= begin there, and unsigned arithmetic cannot overflow */
    uint64_t span = (uint64_t)r->end - (uint64_t)r->begin;
    if (r->begin > r->end)
        warn_add(&p->warnings, "date_range begin %" PRId64 " is after end %" PRId64, r->begin,
                 r->end);
    else if (r->begin == r->end)
        warn_add(&p->warnings, "date_range is empty (begin == end == %" PRId64 ")", r->begin);
    else if (span > DATE_RANGE_PLAUSIBLE_MAX)
        warn_add(&p->warnings, "date_range spans %" PRIu64 " hours, more than %u", span / 3600,
                 DATE_RANGE_PLAUSIBLE_MAX / 3600);
    if (!r->email)
        warn_add(&p->warnings, "report_metadata/email missing");
    if (!r->policy.p)
        warn_add(&p->warnings, "policy_published/p missing");
}

static void begin_report(struct agg_parser *p)
{
    if (!header_complete(p))
        return;
    p->report.format = detect_format(p);
    p->report.errors.items = p->errors;
    report_sanity(p);
    p->begun = true;
    if (p->sink->ops->agg_begin) {
        enum dmarcd_err rc = p->sink->ops->agg_begin(p->sink->ctx, &p->src, &p->report);
        if (rc)
            sink_failed(p, rc, "sink refused the report: %s", dmarcd_strerror(rc));
    }
}

static void start_record(struct agg_parser *p)
{
    if (++p->records_seen > DMARCD_MAX_RECORDS_PER_REPORT) {
        fail(p, DMARCD_E_TOO_MANY, "more than %d records at line %lu",
             DMARCD_MAX_RECORDS_PER_REPORT, cur_line(p));
        return;
    }
    if (!p->begun)
        begin_report(p);
    memset(&p->rec, 0, sizeof(p->rec));
    p->rec.reasons = p->reasons;
    p->rec.dkim_results = p->dkim;
    p->rec.spf_results = p->spf;
    p->raw_ip = p->raw_count = NULL;
}

/* Checks source_ip and count; false (and a tallied warning) to skip. */
static bool record_usable(struct agg_parser *p)
{
    int64_t count;
    if (!p->raw_ip) {
        note(p, T_SKIP_NO_IP, slice_make("", 0), NULL, NULL);
        return false;
    }
    if (!ipaddr_canonical(slice_from_cstr(p->raw_ip), p->rec.source_ip)) {
        note(p, T_SKIP_BAD_IP, slice_from_cstr(p->raw_ip), NULL, NULL);
        return false;
    }
    if (!p->raw_count) {
        note(p, T_SKIP_NO_COUNT, slice_make("", 0), NULL, NULL);
        return false;
    }
    if (!slice_to_i64(slice_from_cstr(p->raw_count), &count)) {
        note(p, T_SKIP_BAD_COUNT, slice_from_cstr(p->raw_count), NULL, NULL);
        return false;
    }
    if (count < 0) {
        note(p, T_SKIP_NEGATIVE_COUNT, slice_from_cstr(p->raw_count), NULL, NULL);
        return false;
    }
    p->rec.count = (uint64_t)count;
    return true;
}

static void finish_record(struct agg_parser *p)
{
    if (!record_usable(p)) {
        p->totals.skipped_records++;
    } else {
        p->totals.records++;
        p->totals.messages += p->rec.count;
        if (p->totals.messages < p->rec.count)
            p->totals.messages = UINT64_MAX;    /* saturate rather than wrap */
        if (p->sink->ops->agg_record) {
            enum dmarcd_err rc = p->sink->ops->agg_record(p->sink->ctx, &p->rec);
            if (rc)
                sink_failed(p, rc, "sink refused record %" PRIu64 ": %s", p->records_seen,
                     dmarcd_strerror(rc));
        }
    }
    arena_reset(&p->rec_arena);
}

/* At </feedback>: a report without records is only checked here; it is
 * begun at the end (agg_parser_finish), once every xml error is known. */
static void close_feedback(struct agg_parser *p)
{
    p->feedback_closed = true;
    if (!p->begun)
        (void)header_complete(p);
}

/* A report that ended without a single <record>: begin it now (with a
 * warning), unless strict, or unless libxml2 had to repair the markup, in
 * which case the records were most likely lost in the repair. */
static void begin_empty_report(struct agg_parser *p)
{
    if (p->xml_errors)
        fail(p, DMARCD_E_XML, "line %d: %s (and no <record> could be read)", p->xml_first_line,
             p->xml_first);
    else if (p->opts->strict)
        fail(p, DMARCD_E_BAD_REPORT, "report has no <record>");
    if (p->err)
        return;
    warn_add(&p->warnings, "report has no records");
    begin_report(p);
}

/* ---- SAX callbacks ---- */

/* The first entry of a dkim/spf/reason list under the current record. */
static bool new_entry(struct agg_parser *p, size_t *n, void *base, size_t size,
                      const char *what)
{
    if (*n == DMARCD_MAX_AUTH_RESULTS) {
        fail(p, DMARCD_E_TOO_MANY, "more than %d %s entries in record %" PRIu64 " at line %lu",
             DMARCD_MAX_AUTH_RESULTS, what, p->records_seen, cur_line(p));
        return false;
    }
    memset((char *)base + *n * size, 0, size);
    (*n)++;
    return true;
}

/* Refines the table's answer with what depends on state: one metadata and
 * one policy, nothing header-ish after the first record, misspellings. */
static enum kind open_special(struct agg_parser *p, enum kind k, enum name_id nm)
{
    bool *seen = k == K_METADATA ? &p->saw_metadata : k == K_POLICY ? &p->saw_policy : NULL;

    switch (k) {
    case K_METADATA:
    case K_POLICY:
    case K_VERSION:
        if (p->begun) {
            note(p, T_LATE, slice_make("", 0), kind_names[k], NULL);
            return K_SKIP;
        }
        if (seen && *seen) {
            warn_add(&p->warnings, "second <%s> ignored", kind_names[k]);
            return K_SKIP;
        }
        if (seen)
            *seen = true;
        return k;
    case K_FEEDBACK:
        if (p->feedback_seen)
            return K_SKIP;
        p->feedback_seen = true;
        return k;
    case K_DATE_RANGE:
        if (p->saw_date_range) {
            warn_add(&p->warnings, "second <%s> ignored", "date_range");
            return K_SKIP;
        }
        if (nm == NM_DATA_RANGE) {
            if (p->opts->strict) {
                p->saw_data_range_refused = true;
                return K_SKIP;
            }
            warn_add(&p->warnings, "<data_range> read as <date_range>");
        }
        p->saw_date_range = true;
        return k;
    case K_IDENTIFIERS:
        if (nm == NM_IDENTITIES)
            note(p, T_IDENTITIES, slice_make("", 0), NULL, NULL);
        return k;
    case K_REASON:
        return new_entry(p, &p->rec.n_reasons, p->reasons, sizeof(p->reasons[0]), "reason")
                   ? k : K_SKIP;
    case K_AUTH_DKIM:
        return new_entry(p, &p->rec.n_dkim, p->dkim, sizeof(p->dkim[0]), "dkim") ? k : K_SKIP;
    case K_AUTH_SPF:
        return new_entry(p, &p->rec.n_spf, p->spf, sizeof(p->spf[0]), "spf") ? k : K_SKIP;
    default:
        return k;
    }
}

static void open_root(struct agg_parser *p, enum name_id nm, const xmlChar *name,
                      const xmlChar *uri)
{
    const char *ns = uri ? (const char *)uri : "";
    p->root_seen = true;
    if (nm == NM_FEEDBACK) {
        p->feedback_seen = true;
        p->kinds[1] = K_FEEDBACK;
        p->ns_rfc9990 = strcmp(ns, NS_RFC9990) == 0;
        p->ns_draft = strcmp(ns, NS_DRAFT) == 0;
        if (p->ws_skipped && p->ctxt->standalone != -1)
            warn_add(&p->warnings, "whitespace before the xml declaration skipped");
        return;
    }
    if (nm == NM_SCHEMA && strcmp(ns, NS_XSD) == 0 && !p->opts->strict) {
        /* IKEA: an unclosed <xs:schema ...> start tag before <feedback>. */
        p->kinds[1] = K_WRAPPER;
        warn_add(&p->warnings, "report wrapped in an <xs:schema> element");
        return;
    }
    char shown[SHOWN_MAX + 4];
    shown_value(slice_from_cstr((const char *)name), shown);
    fail(p, DMARCD_E_NOT_REPORT, "root element is <%s>, not <feedback>", shown);
}

/* An element starts: nm is name_find(localname); uri matters for the root only. */
static void open_element(struct agg_parser *p, enum name_id nm, const xmlChar *localname,
                         const xmlChar *uri)
{
    if (p->err)
        return;
    if (++p->depth > DMARCD_MAX_XML_DEPTH) {
        fail(p, DMARCD_E_TOO_DEEP, "xml depth %d > %d at line %lu", p->depth,
             DMARCD_MAX_XML_DEPTH, cur_line(p));
        return;
    }
    if (p->skip_from)
        return;
    if (p->depth == 1) {
        open_root(p, nm, localname, uri);
        return;
    }
    unsigned parent = p->kinds[p->depth - 1];
    enum kind k = parent < K_FIRST_LEAF && !p->feedback_closed ? kind_table[parent][nm] : K_SKIP;
    if ((nm == NM_EXTENSION || nm == NM_EXTENSIONS) && !p->begun)
        p->saw_extension = true;
    if (k != K_SKIP)
        k = open_special(p, k, nm);
    if (k == K_SKIP) {
        p->skip_from = p->depth;
        return;
    }
    p->kinds[p->depth] = (uint8_t)k;
    if (k >= K_FIRST_LEAF) {
        p->text.len = 0;        /* strbuf_reset(), inline on the hot path */
        if (p->text.alloc)
            p->text.buf[0] = '\0';
        p->collecting = true;
    } else if (k == K_RECORD) {
        start_record(p);
    }
}

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                     int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    struct agg_parser *p = ctx;
    (void)prefix, (void)nb_namespaces, (void)namespaces;
    (void)nb_attributes, (void)nb_defaulted, (void)attributes;
    open_element(p, name_find(p, localname), localname, uri);
}

static void close_entry(struct agg_parser *p, enum kind k)
{
    struct agg_record *r = &p->rec;
    if (k == K_REASON) {
        const struct agg_reason *e = &p->reasons[r->n_reasons - 1];
        if (!e->type && !e->comment)
            r->n_reasons--;
    } else if (k == K_AUTH_DKIM) {
        const struct agg_dkim_result *e = &p->dkim[r->n_dkim - 1];
        if (!e->domain && !e->selector && !e->result && !e->human_result)
            r->n_dkim--;
    } else {
        const struct agg_spf_result *e = &p->spf[r->n_spf - 1];
        if (!e->domain && !e->scope && !e->result && !e->human_result)
            r->n_spf--;
    }
}

/* windows-1252 0x80..0x9F (0xFFFD where it defines nothing); 0xA0..0xFF
 * are the same code points as Latin-1. */
static const uint16_t CP1252_HIGH[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
    0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

static void put_utf8(struct strbuf *sb, unsigned cp)
{
    char b[3];
    size_t n;
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else {
        b[0] = (char)(0xE0 | cp >> 12);
        b[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    }
    (void)strbuf_add(sb, b, n);
}

/*
 * After an xml error libxml2's recovery can hand over raw bytes that are
 * not UTF-8 (a cp1252 quote in a "UTF-8" report). Our strings must be
 * UTF-8, so such bytes are read as windows-1252, with a warning. Only ever
 * runs once libxml2 has reported an error.
 */
static struct slice repair_utf8(struct agg_parser *p, struct slice v, enum kind k)
{
    const unsigned char *b = (const unsigned char *)v.ptr;
    strbuf_reset(&p->fixed);
    for (size_t i = 0; i < v.len;) {
        size_t n = utf8_len(b + i, v.len - i);
        if (n) {
            (void)strbuf_add(&p->fixed, b + i, n);
            i += n;
        } else {
            put_utf8(&p->fixed, b[i] < 0xA0 ? CP1252_HIGH[b[i] - 0x80] : b[i]);
            i++;
        }
    }
    note(p, T_BAD_UTF8, slice_make("", 0), kind_names[k], NULL);
    return strbuf_slice(&p->fixed);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* The collected text without surrounding whitespace (slice_trim, inline). */
static struct slice trimmed_text(const struct agg_parser *p)
{
    const char *b = p->text.buf;
    size_t len = p->text.len;
    while (len && is_space(*b)) {
        b++;
        len--;
    }
    while (len && is_space(b[len - 1]))
        len--;
    return slice_make(b, len);
}

/* An element ends (its name does not matter: libxml2 checked it). */
static void close_element(struct agg_parser *p)
{
    if (p->err || p->depth <= 0)
        return;
    if (p->skip_from) {
        if (p->depth == p->skip_from)
            p->skip_from = 0;
        p->depth--;
        return;
    }
    enum kind k = p->kinds[p->depth--];
    if (k >= K_FIRST_LEAF) {
        p->collecting = false;
        struct slice v = trimmed_text(p);
        if (v.len == 0)
            return;             /* empty elements are absent */
        if (p->xml_errors && !utf8_valid(v))
            v = repair_utf8(p, v, k);
        if (k < K_FIRST_RECORD_LEAF)
            header_leaf(p, k, v);
        else
            record_leaf(p, k, v);
        return;
    }
    switch (k) {
    case K_FEEDBACK: close_feedback(p); break;
    case K_RECORD: finish_record(p); break;
    case K_REASON:
    case K_AUTH_DKIM:
    case K_AUTH_SPF: close_entry(p, k); break;
    default: break;
    }
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                   const xmlChar *uri)
{
    (void)localname, (void)prefix, (void)uri;
    close_element(ctx);
}

static void on_text(void *ctx, const xmlChar *ch, int len)
{
    struct agg_parser *p = ctx;
    if (!p->collecting || p->skip_from || p->err || len <= 0)
        return;
    struct strbuf *t = &p->text;
    if (t->alloc && (size_t)len < t->alloc - t->len && t->len + (size_t)len <= t->cap) {
        memcpy(t->buf + t->len, ch, (size_t)len);   /* the common case, no call */
        t->len += (size_t)len;
        t->buf[t->len] = '\0';
        return;
    }
    if (strbuf_add(t, ch, (size_t)len) != DMARCD_OK)
        fail(p, DMARCD_E_TOO_LONG, "text of <%s> longer than %zu bytes at line %lu",
             kind_names[p->kinds[p->depth]], (size_t)DMARCD_MAX_TEXT_BYTES, cur_line(p));
}

/*
 * ---- pull mode's SAX1 view ----
 *
 * In pull mode libxml2 runs its SAX1 interface, which skips the namespace
 * processing SAX2 does for every start tag (about 7% of a big report's
 * time). We need little of it: local names, and the root's namespace URI.
 * The SAX2 (push) parser stays the reference: where SAX2 would complain
 * (an undeclared prefix, a malformed QName or declaration) or where this
 * view does not follow (declarations below the root, many of them), it is
 * an error here, so agg_parser_push_instead() hands the document to push.
 */

/* SAX2 would not see this start tag as we do: let push parse the document. */
static void sax1_differs(struct agg_parser *p, const char *why)
{
    fail(p, DMARCD_E_XML, "line %lu: %s, left to the push parser", cur_line(p), why);
}

/* SAX2's checks of a namespace URI that are errors (not warnings). */
static bool ns_uri_ok(const char *uri)
{
    if (strcmp(uri, NS_XML) == 0 || strcmp(uri, NS_XMLNS) == 0)
        return false;
    xmlURIPtr parsed = xmlParseURI(uri);
    xmlFreeURI(parsed);
    return parsed != NULL;
}

/* A QName as SAX2 reads it: no colon, or one between a prefix and a local
 * name that starts like a name should (SAX1 took the whole for one Name,
 * whose later characters may be digits, '-' or '.'; we only pass an ASCII
 * letter or '_' there). *colon gets the colon (or NULL). */
static bool qname_ok(const char *name, const char **colon)
{
    *colon = strchr(name, ':');
    if (!*colon)
        return true;
    char c = (*colon)[1];
    bool starts_name = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    return *colon != name && starts_name && !strchr(*colon + 1, ':');
}

static bool prefix_bound(const struct agg_parser *p, const char *prefix, size_t len)
{
    if (len == 3 && memcmp(prefix, "xml", 3) == 0)
        return true;
    for (size_t i = 0; i < p->n_root_prefixes; i++) {
        if (strncmp(p->root_prefixes[i], prefix, len) == 0 && !p->root_prefixes[i][len])
            return true;
    }
    return false;
}

/* The root's namespace declarations, checked as SAX2 checks them. */
static bool root_declarations(struct agg_parser *p, const xmlChar **atts)
{
    for (size_t i = 0; atts && atts[i]; i += 2) {
        const char *name = (const char *)atts[i], *uri = (const char *)atts[i + 1];
        const char *prefix = name + 6, *colon;
        if (strcmp(name, "xmlns") == 0) {
            if (uri[0] && !ns_uri_ok(uri))
                return false;
        } else if (strncmp(name, "xmlns:", 6) == 0) {
            if (!qname_ok(name, &colon) || strcmp(prefix, "xml") == 0 ||
                strcmp(prefix, "xmlns") == 0 || !uri[0] || !ns_uri_ok(uri) ||
                p->n_root_prefixes == SAX1_PREFIXES_MAX)
                return false;
            p->root_prefixes[p->n_root_prefixes] =
                copy_value(p, &p->hdr_arena, slice_from_cstr(prefix));
            if (!p->root_prefixes[p->n_root_prefixes++])
                return false;
        }
    }
    return true;
}

/* An element's other attributes: SAX2 finds no namespace error in them. */
static bool attributes_ok(const struct agg_parser *p, const xmlChar **atts, bool root)
{
    const char *local[SAX1_ATTS_MAX];
    bool prefixed = false;
    size_t n = 0;
    for (size_t i = 0; atts && atts[i]; i += 2) {
        const char *name = (const char *)atts[i], *colon;
        if (strcmp(name, "xmlns") == 0 || strncmp(name, "xmlns:", 6) == 0) {
            if (!root)
                return false;
            continue;
        }
        if (!qname_ok(name, &colon) || n == SAX1_ATTS_MAX ||
            (colon && !prefix_bound(p, name, (size_t)(colon - name))))
            return false;
        prefixed |= colon != NULL;
        local[n++] = colon ? colon + 1 : name;
    }
    /* p:a and q:a bound to one URI are a duplicate to SAX2: not decided here */
    for (size_t i = 0; prefixed && i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (strcmp(local[i], local[j]) == 0)
                return false;
        }
    }
    return true;
}

/* The URI SAX2 gives the root: that of its prefix, or the default one. */
static const xmlChar *root_uri(const xmlChar **atts, const char *name, const char *colon)
{
    size_t len = colon ? (size_t)(colon - name) : 0;
    for (size_t i = 0; atts && atts[i]; i += 2) {
        const char *att = (const char *)atts[i];
        if (!colon && strcmp(att, "xmlns") == 0)
            return atts[i + 1][0] ? atts[i + 1] : NULL;
        if (colon && strncmp(att, "xmlns:", 6) == 0 && strncmp(att + 6, name, len) == 0 &&
            !att[6 + len])
            return atts[i + 1];
    }
    return NULL;
}

/* The slow path of on_start1: a root, attributes, or a name not ours. */
static void sax1_open(struct agg_parser *p, const xmlChar *qname, const xmlChar **atts)
{
    const char *name = (const char *)qname, *colon;
    bool root = p->depth == 0;
    const xmlChar *uri = NULL;

    if (p->err)
        return;
    /* Input in another encoding is converted as libxml2 reads it: in push
     * mode a whole pushed block before any of its elements, in pull mode a
     * few KB at a time, so a conversion error would stop the two at
     * different records. Push does these (rare) documents. */
    if (root && p->ctxt->input && p->ctxt->input->buf && p->ctxt->input->buf->encoder)
        return sax1_differs(p, "input in another encoding than UTF-8");
    if (root && !root_declarations(p, atts))
        return sax1_differs(p, "namespace declaration SAX2 refuses or we do not follow");
    if (atts && !attributes_ok(p, atts, root))
        return sax1_differs(p, "attribute SAX2 reads otherwise");
    if (!qname_ok(name, &colon) || (colon && !prefix_bound(p, name, (size_t)(colon - name))))
        return sax1_differs(p, "element name SAX2 refuses");
    if (root)
        uri = root_uri(atts, name, colon);
    const xmlChar *local = colon ? (const xmlChar *)colon + 1 : qname;
    open_element(p, name_find(p, local), local, uri);
}

static void on_start1(void *ctx, const xmlChar *name, const xmlChar **atts)
{
    struct agg_parser *p = ctx;
    enum name_id nm = name_find(p, name);
    if (nm == NM_OTHER || atts || p->depth == 0)
        sax1_open(p, name, atts);
    else
        open_element(p, nm, name, NULL);
}

static void on_end1(void *ctx, const xmlChar *name)
{
    (void)name;
    close_element(ctx);
}

/* ---- the DTD wall: every hook through which a DTD or entity could act ---- */

static void forbid(struct agg_parser *p, const char *what, const xmlChar *name)
{
    char shown[SHOWN_MAX + 4];
    shown_value(slice_from_cstr(name ? (const char *)name : ""), shown);
    fail(p, DMARCD_E_XML_FORBIDDEN, "%s \"%s\" refused at line %lu", what, shown, cur_line(p));
}

static void on_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                      const xmlChar *system_id)
{
    (void)external_id, (void)system_id;
    forbid(ctx, "document type declaration", name);
}

static xmlEntityPtr on_get_entity(void *ctx, const xmlChar *name)
{
    xmlEntityPtr predefined = xmlGetPredefinedEntity(name);
    if (predefined)
        return predefined;
    forbid(ctx, "entity reference", name);
    return NULL;
}

static xmlEntityPtr on_get_parameter_entity(void *ctx, const xmlChar *name)
{
    forbid(ctx, "parameter entity reference", name);
    return NULL;
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    (void)type, (void)public_id, (void)system_id, (void)content;
    forbid(ctx, "entity declaration", name);
}

static void on_unparsed_entity_decl(void *ctx, const xmlChar *name, const xmlChar *public_id,
                                    const xmlChar *system_id, const xmlChar *notation)
{
    (void)public_id, (void)system_id, (void)notation;
    forbid(ctx, "entity declaration", name);
}

static void on_notation_decl(void *ctx, const xmlChar *name, const xmlChar *public_id,
                             const xmlChar *system_id)
{
    (void)public_id, (void)system_id;
    forbid(ctx, "notation declaration", name);
}

static void on_element_decl(void *ctx, const xmlChar *name, int type,
                            xmlElementContentPtr content)
{
    (void)type, (void)content;
    forbid(ctx, "element declaration", name);
}

static void on_attribute_decl(void *ctx, const xmlChar *elem, const xmlChar *fullname,
                              int type, int def, const xmlChar *default_value,
                              xmlEnumerationPtr tree)
{
    (void)elem, (void)type, (void)def, (void)default_value;
    xmlFreeEnumeration(tree);   /* ours to free, as in xmlSAX2AttributeDecl */
    forbid(ctx, "attribute declaration", fullname);
}

static void on_reference(void *ctx, const xmlChar *name)
{
    forbid(ctx, "entity reference", name);
}

static xmlParserInputPtr on_resolve_entity(void *ctx, const xmlChar *public_id,
                                           const xmlChar *system_id)
{
    (void)public_id;
    forbid(ctx, "external entity", system_id);
    return NULL;
}

/* ---- libxml2 errors ---- */

static void keep_xml_msg(char *out, const char *msg)
{
    struct slice m = slice_trim(slice_from_cstr(msg ? msg : "unknown error"));
    size_t n = m.len < XML_MSG_MAX - 1 ? m.len : XML_MSG_MAX - 1;
    for (size_t i = 0; i < n;) {
        const unsigned char *c = (const unsigned char *)m.ptr + i;
        size_t k = utf8_len(c, n - i);
        if (k > 1) {
            memcpy(out + i, c, k);
            i += k;
            continue;
        }
        out[i++] = k == 0 ? '?' : *c < 0x20 ? ' ' : (char)*c;
    }
    out[n] = '\0';
}

/* line: in the caller's bytes (skipped leading lines included) */
static void xml_error(struct agg_parser *p, int line, const char *msg)
{
    if (p->read) {
        /* pull mode stops at the first: see agg_parser_push_instead() */
        fail(p, DMARCD_E_XML, "line %d: xml error while pulling", line);
        return;
    }
    if (p->xml_errors++ == 0) {
        p->xml_first_line = line;
        keep_xml_msg(p->xml_first, msg);
    }
    p->xml_last_line = line;
    keep_xml_msg(p->xml_last, msg);
    if (p->opts->strict)
        fail(p, DMARCD_E_XML, "line %d: %s", p->xml_first_line, p->xml_first);
}

static void on_xml_error(void *ctx, xmlErrorPtr e)
{
    struct agg_parser *p = ctx;
    if (!e || e->level < XML_ERR_ERROR || p->err)
        return;
    /* The push parser's word for a premature end is misleading. */
    const char *msg = e->code == XML_ERR_DOCUMENT_END && p->depth > 0
                          ? "document ends before its elements are closed" : e->message;
    /* encoding (I18N) errors carry no line: use where the parser is */
    xml_error(p, e->line > 0 ? e->line + (int)p->skipped_lines : (int)cur_line(p), msg);
}

/* libxml2 still prints a few messages through the generic handler (e.g.
 * "xmlParseChunk: encoder error"); catch them so nothing reaches stderr. */
static void on_generic_error(void *ctx, const char *msg, ...)
    __attribute__((format(printf, 2, 3)));

static void on_generic_error(void *ctx, const char *msg, ...)
{
    struct agg_parser *p = ctx;
    char buf[XML_MSG_MAX];
    va_list ap;
    if (p->err)
        return;
    va_start(ap, msg);
    if (vsnprintf(buf, sizeof(buf), msg, ap) < 0)
        buf[0] = '\0';
    va_end(ap);
    xml_error(p, (int)cur_line(p), buf);
}

/* ---- feeding ---- */

/* Push mode: SAX2. Pull mode: SAX1 (see sax1_open); a SAX1 handler has no
 * serror, so libxml2's errors reach on_xml_error through hooks_install(). */
static void init_sax(xmlSAXHandler *sax, bool pull)
{
    memset(sax, 0, sizeof(*sax));
    if (pull) {
        sax->initialized = 1;
        sax->startElement = on_start1;
        sax->endElement = on_end1;
    } else {
        sax->initialized = XML_SAX2_MAGIC;
        sax->startElementNs = on_start;
        sax->endElementNs = on_end;
        sax->serror = on_xml_error;
    }
    sax->characters = on_text;
    sax->ignorableWhitespace = on_text;
    sax->cdataBlock = on_text;
    sax->internalSubset = on_subset;
    sax->externalSubset = on_subset;
    sax->getEntity = on_get_entity;
    sax->getParameterEntity = on_get_parameter_entity;
    sax->entityDecl = on_entity_decl;
    sax->unparsedEntityDecl = on_unparsed_entity_decl;
    sax->notationDecl = on_notation_decl;
    sax->elementDecl = on_element_decl;
    sax->attributeDecl = on_attribute_decl;
    sax->reference = on_reference;
    sax->resolveEntity = on_resolve_entity;
}

static int pull_input(void *ctx, char *buf, int len);

/* The libxml2 context, made at the first push or by agg_parser_pull. */
static void open_ctxt(struct agg_parser *p, bool pull)
{
    xmlSAXHandler sax;
    init_sax(&sax, pull);
    if (pull)
        p->ctxt = xmlCreateIOParserCtxt(&sax, p, pull_input, NULL, p, XML_CHAR_ENCODING_NONE);
    else
        p->ctxt = xmlCreatePushParserCtxt(&sax, p, NULL, 0, NULL);
    if (!p->ctxt)
        dmarcd_die(pull ? "xmlCreateIOParserCtxt" : "xmlCreatePushParserCtxt");
    intern_names(p);
    /* No XML_PARSE_NOENT, DTDLOAD or HUGE: entities stay unexpanded (and are
     * refused above), no DTD is fetched, libxml2 keeps its own size caps. */
    (void)xmlCtxtUseOptions(p->ctxt, XML_PARSE_NONET | XML_PARSE_NOWARNING |
                                         (p->opts->strict ? 0 : XML_PARSE_RECOVER));
}

/* libxml2's error handlers are process globals: ours are set for the time
 * libxml2 runs on our behalf, the caller's put back after. */
struct error_hooks {
    xmlStructuredErrorFunc serror;
    void *sctx;
    xmlGenericErrorFunc generic;
    void *gctx;
};

static void hooks_install(struct agg_parser *p, struct error_hooks *saved)
{
    saved->serror = xmlStructuredError;
    saved->sctx = xmlStructuredErrorContext;
    saved->generic = xmlGenericError;
    saved->gctx = xmlGenericErrorContext;
    xmlSetStructuredErrorFunc(p, on_xml_error);
    xmlSetGenericErrorFunc(p, on_generic_error);
}

static void hooks_restore(const struct error_hooks *saved)
{
    xmlSetStructuredErrorFunc(saved->sctx, saved->serror);
    xmlSetGenericErrorFunc(saved->gctx, saved->generic);
}

static void push(struct agg_parser *p, const char *data, size_t len, bool terminate)
{
    struct error_hooks saved;
    if (!p->ctxt)
        open_ctxt(p, false);
    hooks_install(p, &saved);
    while (len && !p->err) {
        size_t n = len < PUSH_CHUNK ? len : PUSH_CHUNK;
        (void)xmlParseChunk(p->ctxt, data, (int)n, 0);
        data += n;
        len -= n;
    }
    if (terminate && !p->err)
        (void)xmlParseChunk(p->ctxt, NULL, 0, 1);
    hooks_restore(&saved);
}

/*
 * How the bytes are cut before libxml2 sees them. Two problems with the 2.9
 * push parser decide it:
 * - its recovery from broken markup depends on where pushes end, so the
 *   same broken report could be salvaged when fed in one piece and refused
 *   when fed in others. So pushes are cut at points that depend only on the
 *   stream itself: every PUSH_CHUNK bytes, whatever the caller's chunks
 *   (partial blocks wait in `stage`; whole blocks go out from the caller's
 *   buffer without a copy).
 * - it gives up on a document ("internal error: detected an error in
 *   element content") when an invalid UTF-8 byte lies within the last 3
 *   bytes it has, yet recovers when more bytes follow. So each cut is moved
 *   back (at most HOLD_MAX bytes) until SAFE_TAIL bytes below 0x80 end it.
 */
static bool ascii_tail(const char *b, size_t len)
{
    if (len < SAFE_TAIL)
        return false;
    for (size_t i = len - SAFE_TAIL; i < len; i++) {
        if ((unsigned char)b[i] >= 0x80)
            return false;
    }
    return true;
}

/* Where to cut the block b[0..PUSH_CHUNK): its end, or up to HOLD_MAX
 * bytes earlier so that the push ends in ASCII. */
static size_t block_cut(const char *b)
{
    size_t end = PUSH_CHUNK;
    while (end > PUSH_CHUNK - HOLD_MAX && !ascii_tail(b, end))
        end--;
    return ascii_tail(b, end) ? end : PUSH_CHUNK;
}

static void feed_bytes(struct agg_parser *p, const char *data, size_t len)
{
    while (len && !p->err) {
        if (p->stage_len == 0 && len >= PUSH_CHUNK) {
            size_t cut = block_cut(data);
            push(p, data, cut, false);
            data += cut;
            len -= cut;
            continue;
        }
        size_t n = PUSH_CHUNK - p->stage_len < len ? PUSH_CHUNK - p->stage_len : len;
        memcpy(p->stage + p->stage_len, data, n);
        p->stage_len += n;
        data += n;
        len -= n;
        if (p->stage_len == PUSH_CHUNK) {
            size_t cut = block_cut(p->stage);
            push(p, p->stage, cut, false);
            memmove(p->stage, p->stage + cut, PUSH_CHUNK - cut);
            p->stage_len = PUSH_CHUNK - cut;
        }
    }
}

/* Drops leading whitespace (after an optional UTF-8 BOM, which libxml2
 * gets) before libxml2 sees a byte: "<?xml" must come first for it.
 * Works byte by byte so any chunking gives the same result. Until the
 * document starts the stage is empty, so the BOM bytes it passes on are
 * only staged (in pull mode too: pull_head() hands them over first). */
static size_t skip_prefix(struct agg_parser *p, const char *data, size_t len)
{
    static const char bom[3] = { '\xEF', '\xBB', '\xBF' };
    size_t i = 0;
    for (; i < len && !p->started; i++) {
        char c = data[i];
        if (p->bom_len < 3 && !p->ws_skipped && c == bom[p->bom_len]) {
            if (++p->bom_len == 3)
                feed_bytes(p, bom, 3);
            continue;
        }
        if (p->bom_len > 0 && p->bom_len < 3) {
            feed_bytes(p, bom, p->bom_len);     /* not a BOM after all */
            p->bom_len = 3;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            p->ws_skipped++;
            p->skipped_lines += c == '\n';
            continue;
        }
        p->started = true;
        break;
    }
    return i;
}

/* ---- pull mode: libxml2 asks for the bytes ---- */

/* The reader failed: stop at once. Its owner knows why; there is no
 * detail of ours, and nothing more goes to the sink. */
static void read_failed(struct agg_parser *p, enum dmarcd_err rc)
{
    if (p->err)
        return;
    p->err = rc;
    p->detail[0] = '\0';
}

/* One call of the reader; false (with the error set) when it failed. */
static bool read_some(struct agg_parser *p, char *buf, size_t cap, size_t *got)
{
    *got = 0;
    enum dmarcd_err rc = p->read(p->read_ctx, buf, cap, got);
    if (!rc && *got > cap)
        rc = DMARCD_E_INTERNAL;
    if (rc) {
        read_failed(p, rc);
        return false;
    }
    p->read_eof = *got == 0;
    return true;
}

/* Reads up to the first byte of the document, dropping what skip_prefix()
 * drops, and stages that byte with the rest of its read. */
static void pull_head(struct agg_parser *p)
{
    char buf[PULL_HEAD_READ];
    size_t got;
    while (!p->started && !p->read_eof && read_some(p, buf, sizeof(buf), &got)) {
        size_t skipped = skip_prefix(p, buf, got);
        memcpy(p->stage + p->stage_len, buf + skipped, got - skipped);
        p->stage_len += got - skipped;
    }
}

/*
 * Stages the next block of the input for libxml2: the bytes push mode
 * would push next (feed_bytes: PUSH_CHUNK, cut back to an ASCII end), or
 * the rest at the end of the input. So libxml2 sees no byte of a block
 * before the reader delivered all of it, exactly as in push mode: when the
 * reader fails (a gzip cut short), the sink has had what push would have
 * given it, no more. False when no byte is left or the reader failed.
 */
static bool pull_block(struct agg_parser *p)
{
    size_t keep = p->stage_len - p->released, got;
    memmove(p->stage, p->stage + p->released, keep);
    p->stage_len = keep;
    p->stage_off = p->released = 0;
    while (p->stage_len < PUSH_CHUNK && !p->read_eof) {
        if (!read_some(p, p->stage + p->stage_len, PUSH_CHUNK - p->stage_len, &got))
            return false;
        p->stage_len += got;
    }
    p->released = p->stage_len == PUSH_CHUNK ? block_cut(p->stage) : p->stage_len;
    return p->released > 0;
}

/*
 * libxml2's read callback (it asks for 4000 bytes at a time), served from
 * the staged block. What libxml2 gets never depends on how the reader
 * cuts its bytes. Once we have an error the answer is "end of input":
 * libxml2 winds down on what it holds, every callback a no-op by then.
 */
static int pull_input(void *ctx, char *buf, int len)
{
    struct agg_parser *p = ctx;
    size_t cap = len > 0 ? (size_t)len : 0;

    if (p->err)
        return 0;
    if (p->stage_off == p->released && !pull_block(p))
        return p->err ? -1 : 0;
    size_t n = p->released - p->stage_off < cap ? p->released - p->stage_off : cap;
    memcpy(buf, p->stage + p->stage_off, n);
    p->stage_off += n;
    return (int)n;
}

/* libxml2 returned without an error: did it use every byte? It takes a
 * NUL byte after the root for the end of the input, where the push parser
 * sees extra content. */
static void pull_check_end(struct agg_parser *p)
{
    const xmlParserInputPtr in = p->ctxt->input;
    if (!p->err && (!p->read_eof || p->stage_off < p->stage_len || !in || in->cur < in->end))
        fail(p, DMARCD_E_XML, "line %lu: xml parse stopped before the end while pulling",
             cur_line(p));
}

/* ---- public interface ---- */

struct agg_parser *agg_parser_new(const struct report_source *src,
                                  const struct parse_options *opts, struct report_sink *sink)
{
    static const struct parse_options defaults = { .strict = false };
    struct agg_parser *p = xcalloc(1, sizeof(*p));

    p->src_file = xstrdup(src && src->file ? src->file : "-");
    p->src_part = src && src->part ? xstrdup(src->part) : NULL;
    p->src.file = p->src_file;
    p->src.part = p->src_part;
    p->opts = opts ? opts : &defaults;
    p->sink = sink;
    strbuf_init(&p->text, DMARCD_MAX_TEXT_BYTES);
    strbuf_init(&p->fixed, 0);  /* at most 3x a capped text */
    p->stage = xmalloc(PUSH_CHUNK);
    arena_init(&p->hdr_arena, DMARCD_MAX_RECORD_BYTES);
    arena_init(&p->rec_arena, DMARCD_MAX_RECORD_BYTES);
    warn_list_init(&p->warnings);
    p->report.policy.pct = -1;
    xmlInitParser();
    return p;
}

enum dmarcd_err agg_parser_feed(struct agg_parser *p, const char *data, size_t len)
{
    if (p->err)
        return p->err;
    if (!p->started) {
        size_t skipped = skip_prefix(p, data, len);
        data += skipped;
        len -= skipped;
    }
    if (len && !p->err)
        feed_bytes(p, data, len);
    return p->err;
}

/* The sentence for a document that ended without a closed <feedback>. */
static void fail_unfinished(struct agg_parser *p)
{
    if (p->root_seen && !p->feedback_seen && !p->xml_errors)
        fail(p, DMARCD_E_NOT_REPORT, "no <feedback> element inside the <xs:schema> root");
    else if (!p->xml_errors)
        fail(p, p->root_seen ? DMARCD_E_XML : DMARCD_E_NOT_REPORT, "%s",
             p->root_seen ? "document ends before </feedback>" : "no xml element found");
    else if (p->xml_errors == 1)
        fail(p, DMARCD_E_XML, "line %d: %s", p->xml_first_line, p->xml_first);
    else
        fail(p, DMARCD_E_XML, "line %d: %s (%" PRIu64 " xml errors, the last at line %d: %s)",
             p->xml_first_line, p->xml_first, p->xml_errors, p->xml_last_line, p->xml_last);
}

/* After the last byte: what needs every xml error known, then agg_end. */
static enum dmarcd_err finish_document(struct agg_parser *p)
{
    if (!p->feedback_closed) {
        fail_unfinished(p);
        return p->err;
    }
    if (!p->begun)
        begin_empty_report(p);
    if (p->err)
        return p->err;
    if (p->xml_errors)
        warn_add(&p->warnings, "xml errors recovered: %" PRIu64 " (first: line %d: %s)",
                 p->xml_errors, p->xml_first_line, p->xml_first);
    flush_tallies(p);
    struct report_warnings view = warn_list_view(&p->warnings);
    if (p->sink->ops->agg_end) {
        enum dmarcd_err rc = p->sink->ops->agg_end(p->sink->ctx, &p->report, &p->totals, &view);
        if (rc) {
            sink_failed(p, rc, "sink refused the end of the report: %s", dmarcd_strerror(rc));
            return p->err;
        }
    }
    p->completed = true;
    return DMARCD_OK;
}

enum dmarcd_err agg_parser_finish(struct agg_parser *p)
{
    if (p->err || p->completed)
        return p->err;
    if (!p->started) {
        fail(p, DMARCD_E_NOT_REPORT, "input is empty");
        return p->err;
    }
    push(p, p->stage, p->stage_len, true);
    p->stage_len = 0;
    if (p->err)
        return p->err;
    return finish_document(p);
}

enum dmarcd_err agg_parser_pull(struct agg_parser *p, agg_read_fn read, void *ctx)
{
    struct error_hooks saved;
    if (p->err || p->completed || p->ctxt || p->started || p->stage_len)
        return p->err ? p->err : DMARCD_E_INTERNAL;     /* not a fresh parser */
    p->read = read;
    p->read_ctx = ctx;
    pull_head(p);
    if (p->err)
        return p->err;
    if (!p->started) {
        fail(p, DMARCD_E_NOT_REPORT, "input is empty");
        return p->err;
    }
    open_ctxt(p, true);
    hooks_install(p, &saved);
    (void)xmlParseDocument(p->ctxt);
    hooks_restore(&saved);
    pull_check_end(p);
    if (p->err)
        return p->err;
    return finish_document(p);
}

bool agg_parser_push_instead(const struct agg_parser *p)
{
    return p->err && p->read && !p->err_from_sink;
}

const char *agg_parser_detail(const struct agg_parser *p)
{
    return p->err && p->detail[0] ? p->detail : NULL;
}

bool agg_parser_completed(const struct agg_parser *p)
{
    return p->completed;
}

void agg_parser_free(struct agg_parser *p)
{
    if (!p)
        return;
    if (p->ctxt) {
        /* libxml2 builds a document to hold a DTD's entities "for expat
         * compatibility" even in SAX mode (only reached after we refused
         * the DTD, but it is ours to free). */
        if (p->ctxt->myDoc)
            xmlFreeDoc(p->ctxt->myDoc);
        xmlFreeParserCtxt(p->ctxt);
    }
    warn_list_release(&p->warnings);
    arena_release(&p->rec_arena);
    arena_release(&p->hdr_arena);
    strbuf_release(&p->text);
    strbuf_release(&p->fixed);
    free(p->stage);
    free(p->src_file);
    free(p->src_part);
    free(p);
}
