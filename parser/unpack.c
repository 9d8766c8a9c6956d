/*
 * unpack.c - content sniffing, gzip/zlib inflation and zip walking.
 *
 * Everything here runs on bytes from strangers, so each loop counts what
 * it has produced before handing it on: a gzip bomb (1 GB of zeros in 1 MB)
 * is refused by the ratio check after about DMARCD_RATIO_GRACE_BYTES of
 * output, a zip member's declared size is passed along as a hint and never
 * used to size or skip anything.
 *
 * The inflater decodes straight into one 64 KiB buffer inside its struct
 * and hands that buffer to the callback, so output is never copied; zip
 * members are read with archive_read_data_block(), which for stored members
 * points into the caller's memory and for deflated ones into libarchive's
 * own buffer, again without a copy of ours. The inflater can also be
 * pulled (inflater_next) by a consumer that asks for bytes; both styles run
 * the same step function, so limits and details never depend on the style.
 */
#define ZLIB_CONST /* next_in is const: we never write to the caller's bytes */

#include "parser/unpack.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "lib/limits.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

/* ---------------------------------------------------------------- sniff */

/* Mail headers must show up in this much of the input (two lines). */
#define SNIFF_MAIL_WINDOW 2048
/* Longest header field name we accept as one (RFC 5322 allows 1-76 with
 * the 78-character line advice). */
#define SNIFF_MAX_FIELD_NAME 76
#define SNIFF_MIN_FIELDS 2

static const char *const kind_names[] = {
    [CONTENT_EMPTY] = "empty",     [CONTENT_GZIP] = "gzip",   [CONTENT_ZLIB] = "zlib",
    [CONTENT_ZIP] = "zip",         [CONTENT_XML] = "xml",     [CONTENT_JSON] = "json",
    [CONTENT_ARF_FIELDS] = "arf",  [CONTENT_MAIL] = "mail",   [CONTENT_UNKNOWN] = "unknown",
};

const char *content_kind_name(enum content_kind kind)
{
    if ((size_t)kind >= sizeof kind_names / sizeof kind_names[0] || !kind_names[kind])
        return "unknown";
    return kind_names[kind];
}

static bool is_ascii_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static bool starts_with_nocase(const unsigned char *p, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    if (len < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(p[i]) != ascii_lower((unsigned char)lit[i]))
            return false;
    return true;
}

/* A zlib header: deflate method, window up to 32 KiB, no preset dictionary,
 * and the header check (CMF*256+FLG) % 31 == 0. Only the four FLG values
 * zlib itself writes are accepted: the general rule would let ordinary text
 * such as "hb" pass as zlib. */
static bool is_zlib_header(const unsigned char *p, size_t len)
{
    if (len < 2 || p[0] != 0x78)
        return false;
    if (p[1] != 0x01 && p[1] != 0x5e && p[1] != 0x9c && p[1] != 0xda)
        return false;
    return ((unsigned)p[0] * 256u + p[1]) % 31u == 0;
}

static bool is_field_name_char(unsigned char c)
{
    return c > ' ' && c < 0x7f && c != ':';
}

/* True when the line (without its newline) opens a header field: 1-76
 * name characters, optional blanks (RFC 5322 obs-optional), then ':'. */
static bool is_field_line(const unsigned char *line, size_t n)
{
    size_t i = 0;
    while (i < n && i <= SNIFF_MAX_FIELD_NAME && is_field_name_char(line[i]))
        i++;
    if (i == 0 || i > SNIFF_MAX_FIELD_NAME)
        return false;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return i < n && line[i] == ':';
}

/* An mbox "From " line, or at least two header fields (folded lines
 * allowed) before the first non-header line, blank line or window end. */
static bool looks_like_mail(const unsigned char *p, size_t len)
{
    if (len >= 5 && memcmp(p, "From ", 5) == 0)
        return true;
    if (len > SNIFF_MAIL_WINDOW)
        len = SNIFF_MAIL_WINDOW;
    size_t pos = 0;
    int fields = 0;
    while (pos < len) {
        const unsigned char *line = p + pos;
        const unsigned char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0)
            return false; /* blank line: the header block ended too soon */
        if (line[0] == ' ' || line[0] == '\t') {
            if (fields == 0)
                return false; /* a continuation needs a field to continue */
        } else if (is_field_line(line, n)) {
            if (++fields >= SNIFF_MIN_FIELDS)
                return true;
        } else {
            return false;
        }
        if (!nl)
            return false;
        pos += (size_t)(nl - line) + 1;
    }
    return false;
}

enum content_kind content_sniff(const void *head, size_t len)
{
    const unsigned char *p = head;
    if (len == 0)
        return CONTENT_EMPTY;
    if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return CONTENT_GZIP;
    if (len >= 4 && p[0] == 'P' && p[1] == 'K' &&
        ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6)))
        return CONTENT_ZIP;
    if (is_zlib_header(p, len))
        return CONTENT_ZLIB;

    if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
        p += 3;
        len -= 3;
    }
    while (len > 0 && is_ascii_space(*p)) {
        p++;
        len--;
    }
    if (len == 0)
        return CONTENT_EMPTY;
    if (*p == '<')
        return CONTENT_XML;
    if (*p == '{')
        return CONTENT_JSON;
    /* Before the mail test: an ARF field block looks like mail headers. */
    if (starts_with_nocase(p, len, "Feedback-Type:"))
        return CONTENT_ARF_FIELDS;
    if (looks_like_mail(p, len))
        return CONTENT_MAIL;
    return CONTENT_UNKNOWN;
}

/* ------------------------------------------------------------- inflater */

/* Output chunk handed to emit: large enough to keep callback overhead
 * negligible, small enough to stay in cache and to check limits often. */
#define INFLATE_CHUNK (64 * DMARCD_KiB)
/* zlib counts input in a uInt; feed larger buffers in slices. */
#define INFLATE_MAX_SLICE ((size_t)1 << 30)

struct inflater {
    z_stream zs;
    bool ended;             /* Z_STREAM_END seen: everything after is trailing */
    enum dmarcd_err failed; /* sticky: every later call returns it */
    uint64_t total_in;      /* compressed bytes consumed by the stream */
    uint64_t total_out;
    uint64_t trailing;
    struct strbuf detail;
    /* pull use (inflater_input/inflater_next): the slice not yet given to
     * zlib, and whether zlib holds a piece of it (next_in/avail_in) */
    const unsigned char *pull_in;
    size_t pull_len;
    bool pull_active;
    unsigned char out[INFLATE_CHUNK];
};

struct inflater *inflater_new(void)
{
    struct inflater *z = xcalloc(1, sizeof *z);
    strbuf_init(&z->detail, 0);
    /* 32 + MAX_WBITS: accept a gzip or a zlib header, whichever it is. */
    int zr = inflateInit2(&z->zs, 32 + MAX_WBITS);
    if (zr == Z_MEM_ERROR)
        dmarcd_die("inflateInit2: out of memory");
    if (zr != Z_OK)
        dmarcd_die("inflateInit2: zlib refused its own parameters");
    return z;
}

void inflater_free(struct inflater *z)
{
    if (!z)
        return;
    inflateEnd(&z->zs);
    strbuf_release(&z->detail);
    free(z);
}

uint64_t inflater_trailing(const struct inflater *z)
{
    return z->trailing;
}

uint64_t inflater_total_out(const struct inflater *z)
{
    return z->total_out;
}

const char *inflater_detail(const struct inflater *z)
{
    return z->detail.buf;
}

__attribute__((format(printf, 3, 4)))
static enum dmarcd_err inflater_fail(struct inflater *z, enum dmarcd_err err,
                                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)strbuf_vsetf(&z->detail, fmt, ap); /* uncapped: cannot fail */
    va_end(ap);
    z->failed = err;
    return err;
}

/* Counts `produced` new output bytes against the caps before anyone sees
 * them, so a refused chunk is never emitted. */
static enum dmarcd_err inflater_account(struct inflater *z, size_t produced)
{
    uint64_t total = z->total_out + produced;
    if (total > DMARCD_MAX_DECOMPRESSED_BYTES)
        return inflater_fail(z, DMARCD_E_TOO_BIG,
                             "decompressed output passes %zu bytes (limit) after %llu "
                             "compressed bytes",
                             (size_t)DMARCD_MAX_DECOMPRESSED_BYTES,
                             (unsigned long long)z->total_in);
    if (total > DMARCD_RATIO_GRACE_BYTES && total > z->total_in * DMARCD_MAX_EXPANSION_RATIO)
        return inflater_fail(z, DMARCD_E_RATIO,
                             "%llu bytes decompressed from %llu compressed bytes: ratio "
                             "over %d (compression bomb)",
                             (unsigned long long)total, (unsigned long long)z->total_in,
                             DMARCD_MAX_EXPANSION_RATIO);
    z->total_out = total;
    return DMARCD_OK;
}

/* How one inflate() call left the piece of input zlib holds. */
enum step_end {
    STEP_MORE,          /* output filled: call again on the same piece */
    STEP_PIECE_DONE,    /* the piece is used up and all its output is out */
    STEP_STREAM_END,    /* the stream ended; what is left of the piece trails */
};

/*
 * One inflate() call into z->out over the piece set in next_in/avail_in:
 * counts and checks what it produced (*produced bytes, in z->out) and says
 * how the piece stands. Push (inflate_slice) and pull (inflater_next) both
 * run on it, so they make the same calls, the same chunks and the same
 * limit errors for the same input pieces.
 */
static enum dmarcd_err inflate_step(struct inflater *z, size_t *produced,
                                    enum step_end *end)
{
    uInt in_before = z->zs.avail_in;
    z->zs.next_out = z->out;
    z->zs.avail_out = (uInt)sizeof z->out;
    int zr = inflate(&z->zs, Z_NO_FLUSH);
    size_t consumed = in_before - z->zs.avail_in;
    *produced = sizeof z->out - z->zs.avail_out;
    *end = STEP_MORE;
    z->total_in += consumed;
    if (zr == Z_MEM_ERROR)
        dmarcd_die("inflate: out of memory");
    if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT || zr == Z_STREAM_ERROR)
        return inflater_fail(z, DMARCD_E_DECOMPRESS, "zlib: %s after %llu compressed bytes",
                             zr == Z_NEED_DICT ? "stream needs a preset dictionary"
                             : z->zs.msg      ? z->zs.msg
                                              : "corrupt stream",
                             (unsigned long long)z->total_in);
    if (*produced > 0) {
        enum dmarcd_err rc = inflater_account(z, *produced);
        if (rc)
            return rc;
    }
    if (zr == Z_STREAM_END)
        *end = STEP_STREAM_END;
    else if (z->zs.avail_in == 0 && z->zs.avail_out != 0)
        *end = STEP_PIECE_DONE; /* all input used, all output out: wait for more */
    else if (*produced == 0 && consumed == 0) /* zlib promises progress; be sure */
        return inflater_fail(z, DMARCD_E_DECOMPRESS, "zlib: no progress after %llu bytes",
                             (unsigned long long)z->total_in);
    return DMARCD_OK;
}

/* Runs inflate over one slice of input (at most INFLATE_MAX_SLICE) until
 * the slice is used up, the stream ends, or something fails. */
static enum dmarcd_err inflate_slice(struct inflater *z, const unsigned char *in, size_t len,
                                     unpack_emit_fn emit, void *ctx)
{
    z->zs.next_in = in;
    z->zs.avail_in = (uInt)len;
    for (;;) {
        size_t produced;
        enum step_end end;
        enum dmarcd_err rc = inflate_step(z, &produced, &end);
        if (rc)
            return rc;
        if (produced > 0) {
            rc = emit(ctx, z->out, produced);
            if (rc) {
                strbuf_reset(&z->detail);
                z->failed = rc;
                return rc;
            }
        }
        if (end == STEP_STREAM_END) {
            z->ended = true;
            z->trailing += z->zs.avail_in;
            return DMARCD_OK;
        }
        if (end == STEP_PIECE_DONE)
            return DMARCD_OK;
    }
}

enum dmarcd_err inflater_feed(struct inflater *z, const void *in, size_t len,
                              unpack_emit_fn emit, void *ctx)
{
    const unsigned char *p = in;
    enum dmarcd_err rc = z->failed;
    if (rc)
        return rc;
    while (len > 0 && !z->ended) {
        size_t n = len < INFLATE_MAX_SLICE ? len : INFLATE_MAX_SLICE;
        rc = inflate_slice(z, p, n, emit, ctx);
        if (rc)
            return rc;
        p += n;
        len -= n;
    }
    z->trailing += len; /* whatever is left once the stream has ended */
    return DMARCD_OK;
}

/* Gives zlib the next piece (at most INFLATE_MAX_SLICE) of the pulled
 * slice, as inflater_feed() cuts it; false when the slice is used up
 * (after the stream's end the rest only counts as trailing). */
static bool pull_load(struct inflater *z)
{
    if (z->pull_len == 0)
        return false;
    if (z->ended) {
        z->trailing += z->pull_len;
        z->pull_len = 0;
        return false;
    }
    size_t n = z->pull_len < INFLATE_MAX_SLICE ? z->pull_len : INFLATE_MAX_SLICE;
    z->zs.next_in = z->pull_in;
    z->zs.avail_in = (uInt)n;
    z->pull_in += n;
    z->pull_len -= n;
    z->pull_active = true;
    return true;
}

void inflater_input(struct inflater *z, const void *in, size_t len)
{
    z->pull_in = in;
    z->pull_len = len;
}

enum dmarcd_err inflater_next(struct inflater *z, const void **out, size_t *len)
{
    *out = z->out;
    *len = 0;
    while (!z->failed) {
        if (!z->pull_active && !pull_load(z))
            return DMARCD_OK;
        size_t produced;
        enum step_end end;
        enum dmarcd_err rc = inflate_step(z, &produced, &end);
        if (rc)
            return rc;
        if (end == STEP_STREAM_END) {
            z->ended = true;
            z->trailing += z->zs.avail_in;
        }
        if (end != STEP_MORE)
            z->pull_active = false;
        if (produced > 0) {
            *len = produced;
            return DMARCD_OK;
        }
    }
    return z->failed;
}

enum dmarcd_err inflater_finish(struct inflater *z, unpack_emit_fn emit, void *ctx)
{
    (void)emit; /* every decodable byte was emitted by the feeds already */
    (void)ctx;
    if (z->failed)
        return z->failed;
    if (!z->ended)
        return inflater_fail(z, DMARCD_E_TRUNCATED,
                             "compressed stream cut short after %llu bytes (%llu decompressed)",
                             (unsigned long long)z->total_in,
                             (unsigned long long)z->total_out);
    return DMARCD_OK;
}

/* ------------------------------------------------------------------ zip */

/* How much of a member name goes into a detail sentence. */
#define ZIP_NAME_IN_DETAIL 80
/* The end-of-central-directory record: 22 bytes plus a comment < 64 KiB. */
#define ZIP_EOCD_SIZE 22
#define ZIP_MAX_COMMENT 65535

struct zip_walk {
    struct archive *a;
    const struct zip_callbacks *cb;
    void *ctx;
    size_t zip_len;
    uint64_t total_out;  /* across all members: the caps are per archive */
    uint64_t member_out; /* of the current member */
    int64_t member_pos0; /* archive bytes consumed when the member's data began */
    unsigned entries;
    unsigned member_no;  /* 1-based index of the current entry, for details */
    char name[ZIP_NAME_IN_DETAIL + 1]; /* current member name, printable */
    enum dmarcd_err first; /* first permanent member error */
    struct strbuf msg;     /* sentence for the error being handled */
    struct strbuf *detail; /* the caller's, may be NULL */
};

__attribute__((format(printf, 2, 3)))
static void walk_msg(struct zip_walk *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)strbuf_vsetf(&w->msg, fmt, ap); /* uncapped: cannot fail */
    va_end(ap);
}

/* Hands the current sentence to the caller's detail buffer, cut to fit
 * if that buffer is capped. */
static void walk_publish(struct zip_walk *w)
{
    if (!w->detail)
        return;
    size_t n = w->msg.len < w->detail->cap ? w->msg.len : w->detail->cap;
    strbuf_reset(w->detail);
    (void)strbuf_add(w->detail, w->msg.buf, n); /* fits: cannot fail */
}

/* Member names go into log lines: keep printable ASCII, cut long ones. */
static void walk_set_name(struct zip_walk *w, const char *name)
{
    size_t i = 0;
    for (; name[i] && i < ZIP_NAME_IN_DETAIL; i++) {
        unsigned char c = (unsigned char)name[i];
        w->name[i] = (c >= ' ' && c < 0x7f && c != '"') ? (char)c : '?';
    }
    w->name[i] = '\0';
}

static uint32_t read_le16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

/*
 * Checks the end-of-central-directory record before any callback, so that
 * two kinds of archive are refused whole rather than after some members
 * were handed on: one without an end record (cut short: libarchive would
 * read the members it finds and call that success), and one announcing
 * more than DMARCD_MAX_ZIP_MEMBERS entries. The walk counts again (the
 * record may lie); 0xffff means "see the zip64 record" and is left to it.
 */
static enum dmarcd_err zip_precheck(struct zip_walk *w, const unsigned char *p, size_t len)
{
    if (len >= ZIP_EOCD_SIZE) {
        size_t stop = len - ZIP_EOCD_SIZE > ZIP_MAX_COMMENT
                          ? len - ZIP_EOCD_SIZE - ZIP_MAX_COMMENT
                          : 0;
        for (size_t i = len - ZIP_EOCD_SIZE;; i--) {
            if (p[i] == 'P' && p[i + 1] == 'K' && p[i + 2] == 5 && p[i + 3] == 6) {
                uint32_t here = read_le16(p + i + 8), total = read_le16(p + i + 10);
                uint32_t n = here > total ? here : total;
                if (n <= DMARCD_MAX_ZIP_MEMBERS || n == 0xffff)
                    return DMARCD_OK;
                walk_msg(w, "zip directory announces %u entries (limit %d)", (unsigned)n,
                         DMARCD_MAX_ZIP_MEMBERS);
                return DMARCD_E_TOO_MANY;
            }
            if (i == stop)
                break;
        }
    }
    walk_msg(w, "zip has no end-of-central-directory record (cut short, or not a zip)");
    return DMARCD_E_ARCHIVE;
}

/*
 * Counts a block of member output against the caps before it is handed on.
 * The ratio is checked twice: per member, against the compressed bytes
 * libarchive has consumed for it (so a bomb is stopped after about
 * DMARCD_RATIO_GRACE_BYTES whatever else the archive holds), and per
 * archive, against the whole zip (many small bombs). The member check uses
 * the output before this block, because libarchive consumes a stored
 * block only on the next read: compared with the new total, a stored
 * member would look like output from nothing.
 */
static enum dmarcd_err zip_account(struct zip_walk *w, size_t size)
{
    uint64_t total = w->total_out + size;
    int64_t pos = archive_filter_bytes(w->a, 0);
    uint64_t member_in = pos > w->member_pos0 ? (uint64_t)(pos - w->member_pos0) : 0;
    if (total > DMARCD_MAX_DECOMPRESSED_BYTES) {
        walk_msg(w, "zip member %u \"%s\": decompressed output passes %zu bytes (limit)",
                 w->member_no, w->name, (size_t)DMARCD_MAX_DECOMPRESSED_BYTES);
        return DMARCD_E_TOO_BIG;
    }
    if (w->member_out > DMARCD_RATIO_GRACE_BYTES &&
        w->member_out > member_in * DMARCD_MAX_EXPANSION_RATIO) {
        walk_msg(w,
                 "zip member %u \"%s\": %llu bytes decompressed from %llu compressed bytes: "
                 "ratio over %d (compression bomb)",
                 w->member_no, w->name, (unsigned long long)w->member_out,
                 (unsigned long long)member_in, DMARCD_MAX_EXPANSION_RATIO);
        return DMARCD_E_RATIO;
    }
    if (total > DMARCD_RATIO_GRACE_BYTES &&
        total > (uint64_t)w->zip_len * DMARCD_MAX_EXPANSION_RATIO) {
        walk_msg(w,
                 "zip member %u \"%s\": %llu bytes decompressed from a %zu-byte archive: "
                 "ratio over %d (compression bomb)",
                 w->member_no, w->name, (unsigned long long)total, w->zip_len,
                 DMARCD_MAX_EXPANSION_RATIO);
        return DMARCD_E_RATIO;
    }
    w->total_out = total;
    return DMARCD_OK;
}

/* What went wrong while reading a member, and who is to blame. */
enum member_fault {
    FAULT_NONE,
    FAULT_CALLBACK, /* member_data refused: w->msg is set */
    FAULT_MEMBER,   /* this member's data is bad; the next may be fine */
    FAULT_ARCHIVE,  /* a limit, or libarchive cannot go on: stop */
};

/* Streams one member's data to member_data, block by block, counting it
 * against the archive's caps first. */
static enum member_fault zip_member_data(struct zip_walk *w, enum dmarcd_err *err)
{
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int ar = archive_read_data_block(w->a, &buf, &size, &off);
        if (ar == ARCHIVE_EOF)
            return FAULT_NONE;
        if (ar != ARCHIVE_OK) {
            const char *why = archive_error_string(w->a);
            walk_msg(w, "zip member %u \"%s\": %s", w->member_no, w->name,
                     why ? why : "unreadable data");
            *err = DMARCD_E_ARCHIVE;
            return ar == ARCHIVE_FATAL ? FAULT_ARCHIVE : FAULT_MEMBER;
        }
        if (off < 0 || (uint64_t)off != w->member_out) { /* zip has no holes */
            walk_msg(w, "zip member %u \"%s\": data out of order", w->member_no, w->name);
            *err = DMARCD_E_ARCHIVE;
            return FAULT_MEMBER;
        }
        if (size == 0)
            continue;
        *err = zip_account(w, size);
        if (*err)
            return FAULT_ARCHIVE;
        w->member_out += size;
        *err = w->cb->member_data(w->ctx, buf, size);
        if (*err) {
            walk_msg(w, "zip member %u \"%s\": rejected by reader: %s", w->member_no, w->name,
                     dmarcd_strerror(*err));
            return FAULT_CALLBACK;
        }
    }
}

/*
 * Settles a member-level error: remembered (first one wins) and the walk
 * goes on if it is permanent and the archive can still be read; otherwise
 * returned so the walk stops, with its sentence published. A callback's
 * DMARCD_E_NOT_FOUND only skips the member.
 */
static enum dmarcd_err zip_member_error(struct zip_walk *w, enum dmarcd_err err,
                                        bool archive_broken)
{
    if (err == DMARCD_E_NOT_FOUND && !archive_broken)
        return DMARCD_OK; /* a callback's "not interested": not an error */
    if (archive_broken || dmarcd_err_is_transient(err)) {
        walk_publish(w);
        return err;
    }
    if (!w->first) {
        w->first = err;
        walk_publish(w);
    }
    return DMARCD_OK;
}

static const char *entry_name(struct archive_entry *e)
{
    const char *name = archive_entry_pathname(e);
    if (!name)
        name = archive_entry_pathname_utf8(e);
    return name ? name : "";
}

/* One regular-file member: begin, data, then end or abort. */
static enum dmarcd_err zip_member(struct zip_walk *w, struct archive_entry *e)
{
    const char *name = entry_name(e);
    int64_t declared = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
    enum member_fault fault = FAULT_NONE;
    enum dmarcd_err err;

    walk_set_name(w, name);
    w->member_out = 0;
    w->member_pos0 = archive_filter_bytes(w->a, 0);
    err = w->cb->member_begin(w->ctx, name, declared);
    if (err == DMARCD_E_NOT_FOUND)
        return DMARCD_OK; /* the caller does not want this one */
    if (err) {
        walk_msg(w, "zip member %u \"%s\": refused by reader: %s", w->member_no, w->name,
                 dmarcd_strerror(err));
        return zip_member_error(w, err, false);
    }
    if (archive_entry_is_encrypted(e)) {
        walk_msg(w, "zip member %u \"%s\" is encrypted", w->member_no, w->name);
        err = DMARCD_E_ARCHIVE;
        fault = FAULT_MEMBER;
    } else {
        fault = zip_member_data(w, &err);
    }
    if (fault == FAULT_NONE) {
        err = w->cb->member_end(w->ctx);
        if (!err)
            return DMARCD_OK;
        walk_msg(w, "zip member %u \"%s\": reader failed at its end: %s", w->member_no,
                 w->name, dmarcd_strerror(err));
        return zip_member_error(w, err, false);
    }
    if (w->cb->member_abort)
        w->cb->member_abort(w->ctx, err, w->msg.buf);
    return zip_member_error(w, err, fault == FAULT_ARCHIVE);
}

static enum dmarcd_err zip_walk_entries(struct zip_walk *w)
{
    enum dmarcd_err rc;
    for (;;) {
        struct archive_entry *e;
        int ar = archive_read_next_header(w->a, &e);
        if (ar == ARCHIVE_EOF)
            return DMARCD_OK;
        if (++w->entries > DMARCD_MAX_ZIP_MEMBERS) {
            walk_msg(w, "zip holds more than %d entries", DMARCD_MAX_ZIP_MEMBERS);
            walk_publish(w);
            return DMARCD_E_TOO_MANY;
        }
        w->member_no = w->entries;
        if (ar == ARCHIVE_FATAL || ar == ARCHIVE_RETRY) {
            const char *why = archive_error_string(w->a);
            walk_msg(w, "zip entry %u: %s", w->member_no, why ? why : "unreadable header");
            walk_publish(w);
            return DMARCD_E_ARCHIVE;
        }
        if (ar == ARCHIVE_FAILED) { /* this entry is unusable, the next may be fine */
            const char *why = archive_error_string(w->a);
            walk_msg(w, "zip entry %u: %s", w->member_no, why ? why : "unreadable header");
            rc = zip_member_error(w, DMARCD_E_ARCHIVE, false);
            if (rc)
                return rc;
            continue;
        }
        if (archive_entry_filetype(e) != AE_IFREG)
            continue; /* directories, links, devices: nothing to read */
        rc = zip_member(w, e);
        if (rc)
            return rc;
    }
}

enum dmarcd_err zip_unpack(const void *data, size_t len, const struct zip_callbacks *cb,
                           void *ctx, struct strbuf *detail)
{
    struct zip_walk w = { .cb = cb, .ctx = ctx, .zip_len = len, .detail = detail };
    enum dmarcd_err rc;

    strbuf_init(&w.msg, 0);
    if (detail)
        strbuf_reset(detail);
    rc = zip_precheck(&w, data, len);
    if (rc) {
        walk_publish(&w);
        goto out;
    }
    w.a = archive_read_new();
    if (!w.a)
        dmarcd_die("archive_read_new: out of memory");
    if (archive_read_support_format_zip(w.a) != ARCHIVE_OK)
        dmarcd_die("libarchive: zip support missing");
    if (archive_read_open_memory(w.a, data, len) != ARCHIVE_OK) {
        const char *why = archive_error_string(w.a);
        walk_msg(&w, "not a readable zip: %s", why ? why : "unrecognized data");
        walk_publish(&w);
        rc = DMARCD_E_ARCHIVE;
        goto out;
    }
    rc = zip_walk_entries(&w);
    if (!rc)
        rc = w.first;
out:
    if (w.a)
        archive_read_free(w.a);
    strbuf_release(&w.msg);
    return rc;
}
