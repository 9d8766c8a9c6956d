/*
 * smtp_proto.h - the SMTP (RFC 5321) and LMTP (RFC 2033) server dialogue of
 * `dmarcd smtp` as a pure state machine: bytes in, reply bytes and events
 * out. No sockets, no clock, no database: the listener (smtp.h) owns those,
 * and the unit tests drive this directly.
 *
 *   struct smtp_session *s = smtp_session_new(&cfg);
 *   smtp_session_greet(s);                      220 into the output
 *   for (;;) {
 *       write out smtp_session_output(s), then smtp_session_output_clear(s)
 *       read bytes; n = smtp_session_feed(s, buf, len, &ev); keep buf[n..len)
 *       SMTP_EVENT_NONE      everything was consumed: read more
 *       SMTP_EVENT_MESSAGE   a message ended: smtp_session_message(), store
 *                            it, smtp_session_delivered(outcome), then feed
 *                            the rest of buf (pipelined commands)
 *       SMTP_EVENT_STARTTLS  write the 220, drop the rest of buf (RFC 3207:
 *                            plaintext sent before the handshake must not be
 *                            taken as commands), handshake, then
 *                            smtp_session_tls_started()
 *       SMTP_EVENT_CLOSE     write the output and close
 *   }
 *   smtp_session_free(s);
 *
 * Replies carry RFC 3463 enhanced status codes. The server side of
 * PIPELINING (RFC 2920) is simply that every command in the input is
 * answered in order and the caller writes the replies once the input is
 * used up; the one thing pipelining changes here is STARTTLS (above).
 *
 * Lines. Commands end in CRLF; a bare LF is accepted too (the CR, if any,
 * is dropped). A command line is at most SMTP_MAX_COMMAND_LINE bytes with
 * its CRLF (RFC 5321 4.5.3.1.6); a longer one is read to its end and
 * answered 500 5.5.2. Message text is taken as it comes, byte for byte:
 * the end of DATA is only <CRLF>.<CRLF>, a leading dot is removed only on
 * a line that follows a CRLF, and a bare LF or CR is kept as data and ends
 * nothing (so a "\n.\n" smuggled inside the text cannot end the message
 * early). Text lines may be up to SMTP_MAX_DATA_LINE bytes, far more than
 * the 1000 of the RFC, because refusing a report over a long line helps no
 * one; past that the message is refused 500 5.5.2 at its end.
 *
 * Size. The message (after dot-unstuffing) may be at most
 * cfg.max_message_bytes; a MAIL FROM whose SIZE= says more is refused at
 * once (552 5.3.4), and a message that grows past it is read to its end,
 * not kept, and refused 552 5.3.4. A client that keeps sending after twice
 * the limit is told 552 and disconnected (it ignores SIZE and replies).
 *
 * Recipients. RCPT TO must name an address in one of cfg.domains (exact
 * match, any case, trailing dot ignored); anything else is 550 5.7.1
 * relay denied: this server is never an open relay. The bare local part
 * "postmaster" is accepted as RFC 5321 4.5.1 requires. The local part is
 * kept, lower-cased, for routing: "base+tag" gives routing candidates tag
 * then base (see struct smtp_rcpt). At most cfg.max_recipients per message;
 * more are 452 4.5.3 (the client sends them in a later transaction).
 *
 * Errors. After SMTP_MAX_ERRORS refused commands in one session the
 * server says 421 4.7.0 and closes (a client that is lost or probing).
 */
#ifndef DMARCD_INGEST_SMTP_PROTO_H
#define DMARCD_INGEST_SMTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/slice.h"

/* A command line with its CRLF (RFC 5321 4.5.3.1.6: text line, 1000). */
#define SMTP_MAX_COMMAND_LINE 1000
/* A line of message text with its CRLF: 64x the RFC's 1000, for senders
 * that ignore it; the message size limit bounds memory, not this. */
#define SMTP_MAX_DATA_LINE (64 * 1024)
/* A reverse- or forward-path, brackets included (RFC 5321 4.5.3.1.3). */
#define SMTP_MAX_PATH 256
/* The EHLO/HELO argument kept for the trace (a domain is at most 255). */
#define SMTP_MAX_HELO 255
/* Refused commands before the session is closed. */
#define SMTP_MAX_ERRORS 20

enum smtp_protocol { SMTP_PROTOCOL_SMTP, SMTP_PROTOCOL_LMTP };

/* What the session is set up with; borrowed for the session's life. */
struct smtp_proto_config {
    enum smtp_protocol protocol;
    const char *hostname;           /* our name in the greeting and replies */
    const char *const *domains;     /* report domains: lower case, no trailing dot */
    size_t ndomains;
    size_t max_message_bytes;       /* advertised as SIZE */
    unsigned max_recipients;        /* >= 1 */
    bool tls_available;             /* a certificate is loaded: offer STARTTLS */
};

enum smtp_event {
    SMTP_EVENT_NONE,
    SMTP_EVENT_MESSAGE,
    SMTP_EVENT_STARTTLS,
    SMTP_EVENT_CLOSE,
};

/*
 * One accepted recipient. tag and base are the routing candidates taken
 * from an unquoted local part, lower-cased: "rua+acme" gives tag "acme"
 * and base "rua"; "acme" gives tag NULL and base "acme"; a quoted local
 * part or "postmaster" gives neither. The listener looks tag up first,
 * then base, among tenant names.
 */
struct smtp_rcpt {
    char *address;                  /* as given, without brackets */
    char *tag;                      /* may be NULL */
    char *base;                     /* may be NULL */
};

/* A finished message, valid until smtp_session_delivered(). */
struct smtp_message {
    const char *helo;               /* the EHLO/LHLO/HELO argument, printable */
    const char *mail_from;          /* "" for the null reverse-path <> */
    const struct smtp_rcpt *rcpts;
    size_t nrcpts;
    const uint8_t *data;            /* the text after dot-unstuffing, CRLFs kept */
    size_t len;
    bool tls;                       /* received over STARTTLS */
};

/* What became of a message; each gives one reply (per recipient in LMTP). */
enum smtp_outcome {
    SMTP_OUTCOME_STORED,            /* 250 2.0.0 */
    SMTP_OUTCOME_TEMPFAIL,          /* 451 4.3.0: the database is away; retry */
    SMTP_OUTCOME_NO_SPACE,          /* 452 4.3.1: too much mail in flight; retry */
    SMTP_OUTCOME_TOO_BIG,           /* 552 5.3.4 */
};

struct smtp_session;

struct smtp_session *smtp_session_new(const struct smtp_proto_config *cfg);
/* NULL is a no-op. */
void smtp_session_free(struct smtp_session *s);

/* Queues the 220 greeting. */
void smtp_session_greet(struct smtp_session *s);

/*
 * Consumes input up to and including the first thing that needs the
 * caller (*ev other than SMTP_EVENT_NONE) or all of it; returns the bytes
 * consumed. After SMTP_EVENT_CLOSE the session takes no more input.
 */
size_t smtp_session_feed(struct smtp_session *s, const void *buf, size_t len,
                         enum smtp_event *ev);

/* Replies waiting to be written, and forgetting them once written. */
struct slice smtp_session_output(const struct smtp_session *s);
void smtp_session_output_clear(struct smtp_session *s);

/* After SMTP_EVENT_MESSAGE: the message, to be stored. */
void smtp_session_message(const struct smtp_session *s, struct smtp_message *m);

/*
 * Answers the message (detail, may be NULL: a few words for the 250 such
 * as "stored as 42") and starts a new transaction.
 */
void smtp_session_delivered(struct smtp_session *s, enum smtp_outcome outcome,
                            const char *detail);

/* The TLS handshake after SMTP_EVENT_STARTTLS succeeded: the session
 * starts over (RFC 3207 4.2), the client says EHLO again. */
void smtp_session_tls_started(struct smtp_session *s);

/* True between MAIL FROM and the reply to the message. */
bool smtp_session_in_transaction(const struct smtp_session *s);

/* Bytes of message text held now (0 outside DATA). */
size_t smtp_session_data_len(const struct smtp_session *s);

/*
 * Stops keeping the message being received: the rest is read and
 * dropped, and its end is answered with outcome (e.g. SMTP_OUTCOME_NO_SPACE
 * when the listener's memory budget is spent). No-op outside DATA.
 */
void smtp_session_abort_data(struct smtp_session *s, enum smtp_outcome outcome);

/* Queue a 421 and close: the client was silent too long / we stop. */
void smtp_session_timeout(struct smtp_session *s);
void smtp_session_shutdown(struct smtp_session *s);

/* The one-line 421 for a connection over the limit, into buf (size >= 128). */
size_t smtp_reply_busy(const char *hostname, char *buf, size_t size);

#endif
