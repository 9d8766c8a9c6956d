/*
 * unpack.h - content sniffing and the two decompressors (gzip/zlib with
 * zlib, zip with libarchive), with every bomb limit enforced while the
 * bytes flow, never after.
 *
 * Push style, so stages chain without buffering whole files:
 *
 *   enum content_kind k = content_sniff(first_bytes, n);
 *
 *   struct inflater *z = inflater_new();
 *   rc = inflater_feed(z, in, n, emit, ctx);   (emit gets decompressed chunks)
 *   rc = inflater_finish(z, emit, ctx);        (DMARCD_E_TRUNCATED if cut short)
 *   (or pulled: inflater_input() + inflater_next(), same output and limits)
 *   detail = inflater_detail(z);               (after an error: the specifics)
 *   inflater_free(z);
 *
 *   rc = zip_unpack(data, len, &zip_callbacks, ctx, &detail_sb);  (whole zip in memory)
 *
 * Limits (lib/limits.h): decompressed bytes per stream or per archive and
 * the output/input ratio (DMARCD_E_TOO_BIG / DMARCD_E_RATIO), zip entries
 * (DMARCD_E_TOO_MANY). Declared sizes are never trusted (a member declaring
 * 2 GB is read until the real cap; one declaring 1 KB but holding 1 GB is
 * stopped by the ratio). Corrupt data is DMARCD_E_DECOMPRESS (gzip/zlib)
 * or DMARCD_E_ARCHIVE (zip, including encrypted members). The per-message
 * cap across several parts is the caller's to sum (inflater_total_out()).
 *
 * Nested compression (.xml.gz.gz) is not handled here: the caller sniffs an
 * inflater's output and chains a second inflater (bounded by
 * DMARCD_MAX_NESTING).
 */
#ifndef DMARCD_PARSER_UNPACK_H
#define DMARCD_PARSER_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

struct strbuf;

enum content_kind {
    CONTENT_EMPTY,      /* no bytes, or only whitespace (and a BOM) */
    CONTENT_GZIP,       /* 1f 8b */
    CONTENT_ZLIB,       /* 78 01|5e|9c|da (a valid zlib header check) */
    CONTENT_ZIP,        /* PK\3\4 (also an empty archive PK\5\6) */
    CONTENT_XML,        /* optional BOM/whitespace, then '<' */
    CONTENT_JSON,       /* optional BOM/whitespace, then '{' */
    CONTENT_ARF_FIELDS, /* starts with "Feedback-Type:" (any case) */
    CONTENT_MAIL,       /* RFC 5322 header lines (or an mbox "From " line) */
    CONTENT_UNKNOWN,    /* anything else (text, binary) */
};

/* "gzip", "zip", "xml", "arf", "mail", ... for messages. */
const char *content_kind_name(enum content_kind kind);

/*
 * Decides from the first bytes only, never from a name or declared type
 * (pass at least 2 KiB when available: mail needs two header lines in the
 * first 2 KiB). Compressed magic is looked for at byte 0; text kinds after
 * an optional UTF-8 BOM and ASCII whitespace.
 */
enum content_kind content_sniff(const void *head, size_t len);

/* Receives decompressed bytes (borrowed for the call); a non-zero return
 * stops the stream and is handed back to the caller unchanged. */
typedef enum dmarcd_err (*unpack_emit_fn)(void *ctx, const void *data, size_t len);

struct inflater;

/*
 * Decodes gzip or zlib (auto-detected). Feed any chunk sizes, even one byte
 * at a time; emit gets the output in chunks of at most 64 KiB, during the
 * feed that made it (finish has nothing left to emit). Decoding stops at
 * the end of the first stream; later bytes (Mimecast appends some, a second
 * gzip member too) are counted by inflater_trailing(), not an error.
 * After an error every later call returns the same error.
 */
struct inflater *inflater_new(void);
enum dmarcd_err inflater_feed(struct inflater *z, const void *in, size_t len,
                              unpack_emit_fn emit, void *ctx) DMARCD_MUST_CHECK;
/*
 * The same decoder pulled instead of pushed, for a consumer that asks for
 * bytes (libxml2's pull parser, see parse.c):
 *
 *   inflater_input(z, in, n);                  (borrowed until used up)
 *   rc = inflater_next(z, &out, &len);         (repeatedly; len 0: give more)
 *   ... at the end of the input: rc = inflater_finish(z, NULL, NULL);
 *
 * inflater_next returns the next decompressed chunk (borrowed until the next
 * call on z), or len 0 once the input given is used up. For the same input
 * slices it makes exactly the chunks, limit errors, details and trailing
 * count that inflater_feed() would; the two styles are not mixed on one z.
 */
void inflater_input(struct inflater *z, const void *in, size_t len);
enum dmarcd_err inflater_next(struct inflater *z, const void **out, size_t *len)
    DMARCD_MUST_CHECK;
/* DMARCD_E_TRUNCATED unless the stream's end (and gzip trailer) was seen. */
enum dmarcd_err inflater_finish(struct inflater *z, unpack_emit_fn emit, void *ctx)
    DMARCD_MUST_CHECK;
uint64_t inflater_trailing(const struct inflater *z);
uint64_t inflater_total_out(const struct inflater *z);
/* After an error raised by the inflater itself, a sentence with the
 * specifics ("zlib: invalid block type after 12 compressed bytes"); ""
 * otherwise (and after an error that came from emit). Valid until the
 * next call on z. */
const char *inflater_detail(const struct inflater *z);
void inflater_free(struct inflater *z);

struct zip_callbacks {
    /* A regular-file member starts; name may be "" (seen in real reports),
     * declared_size is the archive's claim (-1 if none) and only advisory.
     * Returning DMARCD_E_NOT_FOUND skips the member without reading it
     * (and neither member_end nor member_abort follows). */
    enum dmarcd_err (*member_begin)(void *ctx, const char *name, int64_t declared_size);
    /* Returning DMARCD_E_NOT_FOUND stops reading this member quietly (not
     * an error of the walk); any other error is the member's failure. */
    unpack_emit_fn member_data;
    /* The member was read completely and every chunk accepted. */
    enum dmarcd_err (*member_end)(void *ctx);
    /* Optional (may be NULL), but needed by a caller that holds per-member
     * state: the member begun last will not end. err says why (what
     * member_data returned, corrupt or encrypted data, a limit), detail is
     * a sentence or NULL. After a member_begin that returned DMARCD_OK,
     * exactly one of member_end or member_abort is called, whatever
     * happens next. */
    void (*member_abort)(void *ctx, enum dmarcd_err err, const char *detail);
};

/*
 * Walks every regular-file member of an in-memory zip (directories, links
 * and other entries are skipped but counted against DMARCD_MAX_ZIP_MEMBERS;
 * an archive whose directory announces too many entries is refused before
 * any callback). A permanent error of one member (from a callback, or
 * corrupt/encrypted data of that member alone) stops that member only:
 * zip_unpack goes on with the next and returns the first such error at the
 * end. A transient callback error, a limit or a broken archive stops at once
 * and is returned. When detail is not NULL, it is emptied and, on error,
 * given a sentence for the returned error.
 */
enum dmarcd_err zip_unpack(const void *data, size_t len, const struct zip_callbacks *cb,
                           void *ctx, struct strbuf *detail) DMARCD_MUST_CHECK;

#endif
