/*
 * imap_proto.h - the IMAP4rev1 (RFC 3501) pieces of the IMAP poller that
 * need no network: reading server responses (literals included) out of a
 * byte stream, taking those responses apart, and writing the arguments of
 * the few commands the poller sends. Pure functions over bytes, so the
 * unit tests (tests/unit/test_imap_proto.c) cover them without a server.
 *
 * The reader is fed whatever the socket returned, in pieces of any size:
 *
 *   struct imap_reader r;
 *   imap_reader_init(&r, &ops, ctx);
 *   while (connected) rc = imap_reader_feed(&r, buf, n);   -> ops callbacks
 *   imap_reader_release(&r);
 *
 * It hands on one response at a time, as text without the closing CRLF. A
 * literal ({n} and n bytes, how a server sends message bodies) is kept out
 * of that text: only its {n} marker stays, and its bytes go to the buffer
 * ops->literal() chose when the marker arrived (or nowhere). So a message
 * body streams straight into the one buffer that will hold it, and every
 * other response line is bounded by IMAP_MAX_RESPONSE_TEXT.
 */
#ifndef DMARCD_INGEST_IMAP_PROTO_H
#define DMARCD_INGEST_IMAP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/limits.h"
#include "lib/slice.h"
#include "lib/strbuf.h"

/* One response's text with its literals left out. The longest a poller
 * asks for is a SEARCH over IMAP_SEARCH_WINDOW messages (~11 bytes per
 * UID); capabilities and flag lists are a few KB. */
#define IMAP_MAX_RESPONSE_TEXT (1 * DMARCD_MiB)

/* Messages one UID SEARCH looks at (a window of sequence numbers), so a
 * mailbox of 100k messages is walked in bounded steps, never listed whole. */
#define IMAP_SEARCH_WINDOW 1000

/* ---- the response reader ---- */

struct imap_reader_ops {
    /*
     * A literal of len bytes follows; text is the response so far, ending
     * with its "{len}" marker. Returns the buffer to append the bytes to
     * (the caller made sure they fit), or NULL to skip them.
     */
    struct strbuf *(*literal)(void *ctx, struct slice text, uint64_t len);
    /* One whole response; an error stops the feed and is returned by it. */
    enum dmarcd_err (*response)(void *ctx, struct slice text);
};

struct imap_reader {
    const struct imap_reader_ops *ops;
    void *ctx;
    struct strbuf text;         /* the response so far, capped */
    size_t segment;             /* where the text after the last literal starts */
    uint64_t literal_left;      /* bytes of the current literal still to come */
    bool in_literal;
    bool broken;                /* a feed failed: the stream is out of step */
    struct strbuf *sink;        /* where the current literal goes; NULL: nowhere */
};

void imap_reader_init(struct imap_reader *r, const struct imap_reader_ops *ops, void *ctx);
void imap_reader_release(struct imap_reader *r);
/* Forgets any partial response (a new connection). */
void imap_reader_reset(struct imap_reader *r);

/*
 * Consumes len bytes, calling ops for each response and literal they
 * complete. DMARCD_E_TOO_LONG when a response's text passes
 * IMAP_MAX_RESPONSE_TEXT, DMARCD_E_TOO_BIG when a literal overflows the
 * buffer chosen for it, or the callback's error; after an error the reader
 * is out of step with the server and refuses further input until reset.
 */
enum dmarcd_err imap_reader_feed(struct imap_reader *r, const void *data,
                                 size_t len) DMARCD_MUST_CHECK;

/* True when no response is half read (nothing pending between commands). */
bool imap_reader_idle(const struct imap_reader *r);

/* ---- taking responses apart ---- */

enum imap_resp_kind { IMAP_RESP_UNTAGGED, IMAP_RESP_TAGGED, IMAP_RESP_CONTINUE };

/*
 * A response in parts:
 *   "* 12 EXISTS"                   number 12, name EXISTS
 *   "* OK [UIDVALIDITY 3] UIDs ok"  name OK, code UIDVALIDITY, code_args "3", rest "UIDs ok"
 *   "* SEARCH 2 5"                  name SEARCH, rest "2 5"
 *   "D7 NO [TRYCREATE] no folder"   tag D7, name NO, code TRYCREATE, rest "no folder"
 *   "+ go ahead"                    continuation, rest "go ahead"
 * All slices point into the text given.
 */
struct imap_response {
    enum imap_resp_kind kind;
    struct slice tag;
    bool has_number;
    uint32_t number;
    struct slice name;
    struct slice code;
    struct slice code_args;
    struct slice rest;
};

/* False when text is no IMAP response. */
bool imap_response_parse(struct slice text, struct imap_response *out);

/* True for the names that carry a status: OK NO BAD BYE PREAUTH. */
bool imap_response_is_status(const struct imap_response *resp);

/* A non-zero number (UIDs, UIDVALIDITY, sequence numbers): 1 to 2^32 - 1. */
bool imap_parse_nz32(struct slice s, uint32_t *out);

/*
 * The numbers of a SEARCH response's rest ("2 5 9", a trailing
 * "(MODSEQ n)" ignored) into uids[0..*n). False when a token is no
 * number or there are more than max.
 */
bool imap_parse_search(struct slice rest, uint32_t *uids, size_t max, size_t *n);

/* Capabilities the poller uses. */
enum {
    IMAP_CAP_IMAP4REV1 = 1u << 0,
    IMAP_CAP_MOVE = 1u << 1,        /* RFC 6851 UID MOVE */
    IMAP_CAP_UIDPLUS = 1u << 2,     /* RFC 4315 UID EXPUNGE */
};

/* The IMAP_CAP_* bits named in a CAPABILITY list ("IMAP4rev1 MOVE ..."). */
unsigned imap_parse_capabilities(struct slice words);

/*
 * True when a PERMANENTFLAGS list ("(\Seen \Deleted \*)") lets a client
 * set flag: listed itself, or "\*" (any new keyword) for a keyword.
 */
bool imap_flags_permit(struct slice list, const char *flag);

/* What a FETCH response's attribute list says about one message. */
struct imap_fetch {
    bool has_uid;
    uint32_t uid;
    enum { IMAP_BODY_NONE, IMAP_BODY_LITERAL, IMAP_BODY_QUOTED, IMAP_BODY_NIL } body;
    struct slice quoted;        /* IMAP_BODY_QUOTED: the string, still escaped */
};

/*
 * Parses the rest of "* 3 FETCH (UID 42 BODY[] {1234})", i.e.
 * "(UID 42 BODY[] {1234})". False when it is not a well-formed list.
 */
bool imap_parse_fetch(struct slice rest, struct imap_fetch *out);

/*
 * True when the literal announced at the end of text ("... BODY[] {1234}")
 * is the value of BODY[]: the whole message.
 */
bool imap_literal_is_body(struct slice text);

/* Appends the content of a quoted string's inside (\" and \\ unescaped). */
enum dmarcd_err imap_unquote(struct slice quoted, struct strbuf *out) DMARCD_MUST_CHECK;

/* ---- writing command arguments ---- */

/*
 * Appends a UTF-8 mailbox name as a command argument: modified UTF-7
 * (RFC 3501 5.1.3), as a quoted string. DMARCD_E_INVALID for bad UTF-8,
 * control characters or an empty name.
 */
enum dmarcd_err imap_mailbox_arg(const char *utf8, struct strbuf *out) DMARCD_MUST_CHECK;

/* Appends ascending uids[0..n) (n >= 1) as a sequence set: "1:3,7,9:10". */
void imap_uid_set(const uint32_t *uids, size_t n, struct strbuf *out);

/* ---- the mailbox URL ---- */

/*
 * imaps://host[:port][/MAILBOX] (TLS from the start, port 993) or
 * imap://host[:port][/MAILBOX] (port 143; STARTTLS). The mailbox is
 * percent-decoded UTF-8, "INBOX" when absent. No user or password in the
 * URL (they come from their own settings, so the URL can be logged), no
 * query or ;parameters.
 */
struct imap_url {
    bool tls;                   /* imaps:// */
    char *host;                 /* without [] for IPv6 */
    unsigned port;
    char *mailbox;
    char *connect;              /* "imaps://host:993/": what libcurl connects to */
    char *display;              /* "imaps://host:993/INBOX": for logs and inbox origins */
};

enum dmarcd_err imap_url_parse(const char *text, struct imap_url *out,
                               struct strbuf *why) DMARCD_MUST_CHECK;
void imap_url_release(struct imap_url *url);

#endif
