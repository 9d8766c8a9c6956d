/*
 * imap.c - the IMAP poller (see imap.h).
 *
 * libcurl connects, does TLS (imaps://, or STARTTLS on imap://), verifies
 * the certificate and logs in (LOGIN, PLAIN, or XOAUTH2/OAUTHBEARER with a
 * bearer token); CURLOPT_CONNECT_ONLY then hands us the logged-in
 * connection and we speak the rest of IMAP over curl_easy_send/recv. We do
 * not use libcurl's URL-driven FETCH because it fetches BODY[] (which sets
 * \Seen even when we then fail to store the message) one message per
 * command, and its custom-command mode passes literals through as text
 * lines, which cuts long lines and cannot tell a literal from a response.
 *
 * A poll:
 *   NOOP (is the kept connection still alive?) or connect + CAPABILITY
 *   SELECT mailbox                      EXISTS, UIDVALIDITY, PERMANENTFLAGS
 *   for each window of IMAP_SEARCH_WINDOW sequence numbers:
 *     UID SEARCH lo:hi <not yet taken> SMALLER limit     (and LARGER, to count)
 *     for each batch of those UIDs:
 *       UID FETCH set (UID BODY.PEEK[])  each message -> inbox_put (commits)
 *       queue_push of the new rows       (failure: left to the reconciler)
 *       UID MOVE set folder | UID COPY + STORE \Deleted + UID EXPUNGE
 *         | UID STORE +FLAGS (\Seen DmarcdStored)          the committed only
 * "Not yet taken" is everything undeleted in move mode (what was taken has
 * left the folder) and everything without the keyword in flag mode (or
 * unseen, when the server keeps no keywords). Nothing is remembered
 * between polls: the mailbox's own state says what is left, so a poller
 * can crash anywhere and its successor simply looks again.
 *
 * The window walk follows the server's EXPUNGE responses (a move expunges
 * what it moved, which renumbers the messages after it), so it visits each
 * message once however the mailbox shrinks under it. The queue push comes
 * right after the commits, before the move, and also when the fetch broke
 * off: a connection that drops mid-batch then leaves rows already queued,
 * not rows waiting for the reconciler (which still covers a crash between
 * commit and push: the next poll finds such a message a duplicate).
 */
#include "ingest/imap.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest/imap_proto.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/inbox.h"
#include "lib/banned.h"

#define IO_CHUNK (64 * 1024)
#define TAGGED_TEXT_MAX 300         /* the server's words kept for messages */

enum tagged_status { TAGGED_OK, TAGGED_NO, TAGGED_BAD };
enum handler { HANDLE_NONE, HANDLE_SEARCH, HANDLE_FETCH };

/* The batch a FETCH is taking in. */
struct batch {
    const uint32_t *uids;       /* ascending */
    size_t n;
    bool *seen;                 /* [n]: already handled (a server repeating itself) */
    uint32_t *stored;           /* UIDs committed, to move */
    size_t nstored;
    uint64_t *new_ids;          /* inbox rows created, to queue */
    size_t nnew;
    struct store *st;
    bool db_down;               /* the store broke: store nothing more */
    struct imap_stats *stats;
};

struct imap_poller {
    struct imap_options o;      /* strings below are owned copies */
    struct imap_url url;
    char *username, *password, *token, *ca_file, *folder;
    struct strbuf mailbox_arg, folder_arg;

    CURL *curl;
    curl_socket_t sock;
    char errbuf[CURL_ERROR_SIZE];
    struct imap_reader reader;
    unsigned tag;
    char want_tag[16];
    bool tagged_seen;
    enum tagged_status status;
    bool trycreate, read_only;
    struct strbuf tagged;       /* the tagged line's text, cut at TAGGED_TEXT_MAX */
    bool bye;
    unsigned caps;

    uint32_t exists, uidvalidity, last_uidvalidity;
    bool keywords;              /* the server keeps IMAP_KEYWORD */
    bool said_no_keywords, said_no_uidplus;
    uint32_t next_seq;          /* first sequence number the walk has not looked at */

    enum handler handler;
    uint32_t *found;            /* a SEARCH's result, IMAP_SEARCH_WINDOW at most */
    size_t nfound;
    bool search_overflow;
    struct batch *batch;
    struct strbuf message;      /* BODY[] of the FETCH response being read */
    bool body_literal, body_too_big;
    uint64_t body_len;

    bool queue_down;
    char inbuf[IO_CHUNK];
};

static void set_why(struct strbuf *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_why(struct strbuf *why, const char *fmt, ...)
{
    va_list ap;
    if (!why)
        return;
    va_start(ap, fmt);
    (void)strbuf_vsetf(why, fmt, ap);
    va_end(ap);
}

/* ---- the connection ---- */

/* Closes the connection without a word (it is broken, or we are done). */
static void drop(struct imap_poller *p)
{
    if (p->curl)
        curl_easy_cleanup(p->curl);
    p->curl = NULL;
    p->sock = CURL_SOCKET_BAD;
    imap_reader_reset(&p->reader);
    p->caps = 0;
    p->bye = false;
}

bool imap_poller_connected(const struct imap_poller *p)
{
    return p->curl != NULL;
}

/* Waits until the socket is ready for events; DMARCD_E_TIMEOUT after timeout_s. */
static enum dmarcd_err wait_socket(struct imap_poller *p, short events)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long limit_ms = (long)p->o.timeout_s * 1000;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (spent >= limit_ms)
            return DMARCD_E_TIMEOUT;
        struct pollfd pfd = { .fd = p->sock, .events = events, .revents = 0 };
        int n = poll(&pfd, 1, (int)(limit_ms - spent));
        if (n > 0)
            return DMARCD_OK;
        if (n == 0)
            return DMARCD_E_TIMEOUT;
        if (errno != EINTR)     /* a signal (SIGTERM) does not cut the batch short: wait on */
            return DMARCD_E_TEMPORARY;
    }
}

static enum dmarcd_err send_all(struct imap_poller *p, const char *buf, size_t len,
                                struct strbuf *why)
{
    while (len) {
        size_t n = 0;
        CURLcode cc = curl_easy_send(p->curl, buf, len, &n);
        if (cc == CURLE_AGAIN) {
            enum dmarcd_err rc = wait_socket(p, POLLOUT);
            if (rc) {
                set_why(why, "imap server %s: sending timed out", p->url.display);
                return rc;
            }
            continue;
        }
        if (cc) {
            set_why(why, "imap server %s: connection lost while sending: %s", p->url.display,
                    curl_easy_strerror(cc));
            return DMARCD_E_TEMPORARY;
        }
        buf += n;
        len -= n;
    }
    return DMARCD_OK;
}

/* Reads what the server has sent (waiting for it) and feeds the reader. */
static enum dmarcd_err receive(struct imap_poller *p, struct strbuf *why)
{
    for (;;) {
        size_t n = 0;
        CURLcode cc = curl_easy_recv(p->curl, p->inbuf, sizeof(p->inbuf), &n);
        if (cc == CURLE_AGAIN) {
            if (wait_socket(p, POLLIN)) {
                set_why(why, "imap server %s: no answer for %us", p->url.display, p->o.timeout_s);
                return DMARCD_E_TIMEOUT;
            }
            continue;
        }
        if (cc || n == 0) {
            set_why(why, "imap server %s: connection lost%s%s", p->url.display,
                    cc ? ": " : " (closed by the server)", cc ? curl_easy_strerror(cc) : "");
            return DMARCD_E_TEMPORARY;
        }
        enum dmarcd_err rc = imap_reader_feed(&p->reader, p->inbuf, n);
        if (rc) {
            set_why(why, "imap server %s: unreadable response (%s)", p->url.display,
                    dmarcd_strerror(rc));
            return DMARCD_E_TEMPORARY;
        }
        return DMARCD_OK;
    }
}

/*
 * Sends one tagged command and reads until its tagged answer; p->status,
 * p->tagged, p->trycreate and p->read_only then describe it. On any error
 * the connection is closed.
 */
static enum dmarcd_err command(struct imap_poller *p, struct strbuf *why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum dmarcd_err command(struct imap_poller *p, struct strbuf *why, const char *fmt, ...)
{
    struct strbuf line;
    va_list ap;
    enum dmarcd_err rc;
    if (!p->curl) {
        set_why(why, "imap server %s: not connected", p->url.display);
        return DMARCD_E_TEMPORARY;
    }
    strbuf_init(&line, 0);
    p->tag++;
    snprintf(p->want_tag, sizeof(p->want_tag), "D%u", p->tag);
    (void)strbuf_addf(&line, "%s ", p->want_tag);
    va_start(ap, fmt);
    (void)strbuf_vaddf(&line, fmt, ap);
    va_end(ap);
    (void)strbuf_addstr(&line, "\r\n");
    p->tagged_seen = false;
    p->trycreate = p->read_only = false;
    strbuf_reset(&p->tagged);
    rc = send_all(p, line.buf, line.len, why);
    while (!rc && !p->tagged_seen) {
        if (p->bye) {
            set_why(why, "imap server %s: closed the session (BYE)", p->url.display);
            rc = DMARCD_E_TEMPORARY;
            break;
        }
        rc = receive(p, why);
    }
    strbuf_release(&line);
    if (rc)
        drop(p);
    return rc;
}

/* The server's words after a NO or BAD, for a message. */
static const char *server_said(const struct imap_poller *p)
{
    return p->tagged.len ? p->tagged.buf : "(no reason given)";
}

/* ---- responses ---- */

static bool batch_index(const struct batch *b, uint32_t uid, size_t *at)
{
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->uids[mid] == uid) {
            *at = mid;
            return true;
        }
        if (b->uids[mid] < uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Commits one message; what happens to it is counted in the batch's stats. */
static void store_message(struct imap_poller *p, struct batch *b, uint32_t uid)
{
    char origin[INBOX_ORIGIN_MAX + 1];
    uint64_t id = 0;
    bool dup = false;
    enum dmarcd_err rc;
    if (b->db_down)
        return;
    snprintf(origin, sizeof(origin), "%s;UIDVALIDITY=%u/;UID=%u", p->url.display,
             (unsigned)p->uidvalidity, (unsigned)uid);
    rc = inbox_put(b->st, p->message.buf, p->message.len, INBOX_SOURCE_IMAP, origin,
                   p->o.tenant_id, &id, &dup);
    if (rc == DMARCD_E_TEMPORARY)       /* a deadlock or lock wait: once more */
        rc = inbox_put(b->st, p->message.buf, p->message.len, INBOX_SOURCE_IMAP, origin,
                       p->o.tenant_id, &id, &dup);
    if (rc == DMARCD_E_DB_UNAVAILABLE) {
        b->db_down = true;
        log_warn("imap message not stored: database unavailable, left in the mailbox",
                 LOG_STR("mailbox", p->url.display), LOG_UINT("uid", uid));
        return;
    }
    if (rc) {
        b->stats->failed++;
        log_warn("imap message not stored: left in the mailbox", LOG_STR("mailbox", p->url.display),
                 LOG_UINT("uid", uid), LOG_UINT("bytes", p->message.len), LOG_ERR(rc));
        return;
    }
    b->stored[b->nstored++] = uid;
    if (dup) {
        b->stats->duplicates++;
    } else {
        b->stats->stored++;
        b->new_ids[b->nnew++] = id;
    }
    log_debug("imap message stored", LOG_UINT("uid", uid), LOG_UINT("inbox_id", id),
              LOG_UINT("bytes", p->message.len), LOG_INT("duplicate", dup));
}

/* "* n FETCH (...)" while a batch is being fetched. */
static void on_fetch(struct imap_poller *p, struct slice rest)
{
    struct batch *b = p->batch;
    struct imap_fetch f;
    size_t at;
    if (!imap_parse_fetch(rest, &f)) {
        log_warn("imap fetch response not understood: ignored", LOG_STR("mailbox", p->url.display));
        return;
    }
    if (f.body == IMAP_BODY_NONE)       /* a flag change, not our data */
        return;
    if (!f.has_uid || !batch_index(b, f.uid, &at) || b->seen[at])
        return;
    b->seen[at] = true;
    if (f.body == IMAP_BODY_LITERAL && p->body_too_big) {
        b->stats->too_big++;
        log_warn("imap message too big to store: left in the mailbox",
                 LOG_STR("mailbox", p->url.display), LOG_UINT("uid", f.uid),
                 LOG_UINT("bytes", p->body_len), LOG_UINT("limit", DMARCD_MAX_MESSAGE_BYTES));
        return;
    }
    if (f.body == IMAP_BODY_NIL || (f.body == IMAP_BODY_LITERAL && !p->body_literal)) {
        b->stats->failed++;
        log_warn("imap server sent no body: message left in the mailbox",
                 LOG_STR("mailbox", p->url.display), LOG_UINT("uid", f.uid));
        return;
    }
    if (f.body == IMAP_BODY_QUOTED) {
        strbuf_reset(&p->message);
        if (imap_unquote(f.quoted, &p->message)) {
            b->stats->failed++;
            return;
        }
    }
    b->stats->bytes += p->message.len;
    store_message(p, b, f.uid);
}

static void on_tagged(struct imap_poller *p, const struct imap_response *r)
{
    if (slice_eq_nocase(r->name, "OK"))
        p->status = TAGGED_OK;
    else if (slice_eq_nocase(r->name, "NO"))
        p->status = TAGGED_NO;
    else
        p->status = TAGGED_BAD;
    p->trycreate = slice_eq_nocase(r->code, "TRYCREATE");
    p->read_only = slice_eq_nocase(r->code, "READ-ONLY");
    struct slice said = r->rest;
    if (said.len > TAGGED_TEXT_MAX)
        said.len = TAGGED_TEXT_MAX;
    strbuf_reset(&p->tagged);
    for (size_t i = 0; i < said.len; i++) {    /* the server's words go into logs: printable only */
        char c = said.ptr[i];
        (void)strbuf_addch(&p->tagged, c >= 0x20 && c < 0x7f ? c : '?');
    }
    p->tagged_seen = true;
}

static void on_status_code(struct imap_poller *p, const struct imap_response *r)
{
    uint32_t n;
    if (slice_eq_nocase(r->code, "UIDVALIDITY") && imap_parse_nz32(r->code_args, &n))
        p->uidvalidity = n;
    else if (slice_eq_nocase(r->code, "PERMANENTFLAGS"))
        p->keywords = imap_flags_permit(r->code_args, IMAP_KEYWORD);
    else if (slice_eq_nocase(r->code, "CAPABILITY"))
        p->caps = imap_parse_capabilities(r->code_args);
}

static void on_numbered(struct imap_poller *p, const struct imap_response *r)
{
    if (slice_eq_nocase(r->name, "EXISTS")) {
        p->exists = r->number;
    } else if (slice_eq_nocase(r->name, "EXPUNGE")) {
        if (p->exists)
            p->exists--;
        if (r->number < p->next_seq)    /* one of those already walked: the rest move down */
            p->next_seq--;
    } else if (slice_eq_nocase(r->name, "FETCH") && p->handler == HANDLE_FETCH) {
        on_fetch(p, r->rest);
    }
}

static enum dmarcd_err on_response(void *ctx, struct slice text)
{
    struct imap_poller *p = ctx;
    struct imap_response r;
    enum dmarcd_err rc = DMARCD_OK;
    if (!imap_response_parse(text, &r) || r.kind == IMAP_RESP_CONTINUE) {
        rc = DMARCD_E_INVALID;
    } else if (r.kind == IMAP_RESP_TAGGED) {
        if (!slice_eq_cstr(r.tag, p->want_tag) || p->tagged_seen)
            rc = DMARCD_E_INVALID;
        else
            on_tagged(p, &r);
    } else if (r.has_number) {
        on_numbered(p, &r);
    } else if (imap_response_is_status(&r)) {
        if (slice_eq_nocase(r.name, "BYE"))
            p->bye = true;
        on_status_code(p, &r);
    } else if (slice_eq_nocase(r.name, "CAPABILITY")) {
        p->caps = imap_parse_capabilities(r.rest);
    } else if (slice_eq_nocase(r.name, "SEARCH") && p->handler == HANDLE_SEARCH) {
        size_t n = 0;
        if (!imap_parse_search(r.rest, p->found + p->nfound, IMAP_SEARCH_WINDOW - p->nfound, &n))
            p->search_overflow = true;
        p->nfound += n;
    }
    p->body_literal = p->body_too_big = false;
    return rc;
}

static struct strbuf *on_literal(void *ctx, struct slice text, uint64_t len)
{
    struct imap_poller *p = ctx;
    if (p->handler != HANDLE_FETCH || !imap_literal_is_body(text))
        return NULL;
    p->body_len = len;
    if (len > DMARCD_MAX_MESSAGE_BYTES) {
        p->body_too_big = true;
        return NULL;
    }
    p->body_literal = true;
    strbuf_reset(&p->message);
    return &p->message;
}

static const struct imap_reader_ops reader_ops = {
    .literal = on_literal,
    .response = on_response,
};

/* ---- connecting ---- */

static enum dmarcd_err curl_failed(struct imap_poller *p, CURLcode cc, struct strbuf *why)
{
    const char *detail = p->errbuf[0] ? p->errbuf : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_LOGIN_DENIED:
        set_why(why, "imap server %s refused the login of %s (%s)", p->url.display, p->username,
                p->token ? "oauth2 token" : "password");
        return DMARCD_E_CONFIG;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        set_why(why, "imap server %s: certificate not trusted: %s", p->url.display, detail);
        return DMARCD_E_CONFIG;
    case CURLE_USE_SSL_FAILED:
        set_why(why, "imap server %s offers no STARTTLS (use imaps://, or imap_starttls = off "
                     "on a trusted network)", p->url.display);
        return DMARCD_E_CONFIG;
    case CURLE_OPERATION_TIMEDOUT:
        set_why(why, "imap server %s: %s", p->url.display, detail);
        return DMARCD_E_TIMEOUT;
    default:
        set_why(why, "imap server %s unreachable: %s", p->url.display, detail);
        return DMARCD_E_TEMPORARY;
    }
}

static void set_curl_options(struct imap_poller *p, CURL *c)
{
    long timeout = (long)p->o.timeout_s;
    curl_easy_setopt(c, CURLOPT_URL, p->url.connect);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap,imaps");
    curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 0L);   /* it would print the login exchange */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, p->errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 2 * timeout);      /* connect, TLS and login */
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_USERNAME, p->username);
    if (p->token)
        curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, p->token);
    else
        curl_easy_setopt(c, CURLOPT_PASSWORD, p->password ? p->password : "");
    if (!p->url.tls)
        curl_easy_setopt(c, CURLOPT_USE_SSL, p->o.starttls ? (long)CURLUSESSL_ALL
                                                            : (long)CURLUSESSL_NONE);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (p->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file);
}

static enum dmarcd_err connect_server(struct imap_poller *p, struct strbuf *why)
{
    CURLcode cc;
    enum dmarcd_err rc;
    drop(p);
    p->curl = curl_easy_init();
    if (!p->curl)
        dmarcd_die("curl_easy_init: out of memory");
    p->errbuf[0] = '\0';
    set_curl_options(p, p->curl);
    cc = curl_easy_perform(p->curl);
    if (!cc)
        cc = curl_easy_getinfo(p->curl, CURLINFO_ACTIVESOCKET, &p->sock);
    if (cc || p->sock == CURL_SOCKET_BAD) {
        rc = curl_failed(p, cc ? cc : CURLE_COULDNT_CONNECT, why);
        drop(p);
        return rc;
    }
    p->tag = 0;
    rc = command(p, why, "CAPABILITY");
    if (!rc && p->status != TAGGED_OK) {
        set_why(why, "imap server %s: CAPABILITY refused: %s", p->url.display, server_said(p));
        drop(p);
        rc = DMARCD_E_TEMPORARY;
    }
    if (!rc)
        log_info("imap connected", LOG_STR("mailbox", p->url.display),
                 LOG_STR("user", p->username), LOG_STR("auth", p->token ? "oauth2" : "password"),
                 LOG_INT("move", (p->caps & IMAP_CAP_MOVE) != 0),
                 LOG_INT("uidplus", (p->caps & IMAP_CAP_UIDPLUS) != 0));
    return rc;
}

/* ---- taking the messages ---- */

static enum dmarcd_err select_mailbox(struct imap_poller *p, struct strbuf *why)
{
    p->exists = 0;
    p->uidvalidity = 0;
    p->keywords = false;
    enum dmarcd_err rc = command(p, why, "SELECT %s", p->mailbox_arg.buf);
    if (rc)
        return rc;
    if (p->status != TAGGED_OK) {
        set_why(why, "imap server %s: cannot select the mailbox: %s", p->url.display,
                server_said(p));
        return DMARCD_E_CONFIG;
    }
    if (p->read_only) {
        set_why(why, "imap server %s: the mailbox is read-only for %s: nothing could be moved "
                     "or flagged", p->url.display, p->username);
        return DMARCD_E_CONFIG;
    }
    if (p->last_uidvalidity && p->uidvalidity != p->last_uidvalidity)
        log_info("imap mailbox uidvalidity changed: the mailbox was recreated, every message in "
                 "it is taken again (copies already stored are duplicates)",
                 LOG_STR("mailbox", p->url.display), LOG_UINT("was", p->last_uidvalidity),
                 LOG_UINT("now", p->uidvalidity));
    p->last_uidvalidity = p->uidvalidity;
    if (p->o.mode == IMAP_MODE_FLAG && !p->keywords && !p->said_no_keywords) {
        log_warn("imap server keeps no keywords in this mailbox: flagging \\Seen only, so every "
                 "unseen message is taken as new", LOG_STR("mailbox", p->url.display));
        p->said_no_keywords = true;
    }
    return DMARCD_OK;
}

/* The search key of messages not yet taken. */
static const char *pending_key(const struct imap_poller *p)
{
    if (p->o.mode == IMAP_MODE_MOVE)
        return "UNDELETED";
    return p->keywords ? "UNDELETED UNKEYWORD " IMAP_KEYWORD : "UNDELETED UNSEEN";
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* UID SEARCH over sequence numbers lo..hi; the UIDs land sorted in p->found. */
static enum dmarcd_err search(struct imap_poller *p, uint32_t lo, uint32_t hi, const char *extra,
                              struct strbuf *why)
{
    p->nfound = 0;
    p->search_overflow = false;
    p->handler = HANDLE_SEARCH;
    enum dmarcd_err rc = command(p, why, "UID SEARCH %u:%u %s %s", (unsigned)lo, (unsigned)hi,
                                 pending_key(p), extra);
    p->handler = HANDLE_NONE;
    if (rc)
        return rc;
    if (p->status != TAGGED_OK || p->search_overflow) {
        set_why(why, "imap server %s: search failed: %s", p->url.display,
                p->search_overflow ? "more results than messages searched" : server_said(p));
        drop(p);
        return DMARCD_E_TEMPORARY;
    }
    qsort(p->found, p->nfound, sizeof(p->found[0]), cmp_u32);
    return DMARCD_OK;
}

/* A UID command that names the processed folder, creating it once when the server asks. */
static enum dmarcd_err to_folder(struct imap_poller *p, const char *verb, const char *set,
                                 struct strbuf *why)
{
    enum dmarcd_err rc = command(p, why, "UID %s %s %s", verb, set, p->folder_arg.buf);
    if (!rc && p->status == TAGGED_NO && p->trycreate) {
        rc = command(p, why, "CREATE %s", p->folder_arg.buf);
        if (!rc && p->status == TAGGED_OK)
            log_info("imap processed folder created", LOG_STR("mailbox", p->url.display),
                     LOG_STR("folder", p->folder));
        if (!rc)
            rc = command(p, why, "UID %s %s %s", verb, set, p->folder_arg.buf);
    }
    if (!rc && p->status != TAGGED_OK) {
        set_why(why, "imap server %s: cannot %s messages to folder %s: %s", p->url.display,
                verb[0] == 'M' ? "move" : "copy", p->folder, server_said(p));
        return DMARCD_E_CONFIG;
    }
    return rc;
}

static enum dmarcd_err store_flags(struct imap_poller *p, const char *set, const char *flags,
                                   struct strbuf *why)
{
    enum dmarcd_err rc = command(p, why, "UID STORE %s +FLAGS.SILENT (%s)", set, flags);
    if (!rc && p->status != TAGGED_OK) {
        set_why(why, "imap server %s: cannot flag messages %s: %s", p->url.display, flags,
                server_said(p));
        return DMARCD_E_CONFIG;
    }
    return rc;
}

/* Moves or flags the committed messages uids[0..n) (ascending). */
static enum dmarcd_err acknowledge(struct imap_poller *p, const uint32_t *uids, size_t n,
                                   struct strbuf *why)
{
    struct strbuf set;
    enum dmarcd_err rc;
    strbuf_init(&set, 0);
    imap_uid_set(uids, n, &set);
    if (p->o.mode == IMAP_MODE_FLAG) {
        rc = store_flags(p, set.buf, p->keywords ? "\\Seen " IMAP_KEYWORD : "\\Seen", why);
    } else if (p->caps & IMAP_CAP_MOVE) {
        rc = to_folder(p, "MOVE", set.buf, why);
    } else {
        rc = to_folder(p, "COPY", set.buf, why);
        if (!rc)
            rc = store_flags(p, set.buf, "\\Deleted", why);
        /* Without UIDPLUS only a plain EXPUNGE exists, which would also remove what
         * someone else marked \Deleted: leave them; the searches skip deleted messages. */
        if (!rc && (p->caps & IMAP_CAP_UIDPLUS))
            rc = command(p, why, "UID EXPUNGE %s", set.buf);
        else if (!rc && !p->said_no_uidplus) {
            log_info("imap server lacks UIDPLUS: copied messages are marked deleted, not "
                     "expunged", LOG_STR("mailbox", p->url.display));
            p->said_no_uidplus = true;
        }
    }
    strbuf_release(&set);
    return rc;
}

static void push_jobs(struct imap_poller *p, struct queue *q, const struct batch *b,
                      struct imap_stats *stats)
{
    for (size_t i = 0; i < b->nnew; i++) {
        if (!q || p->queue_down) {
            stats->not_queued += b->nnew - i;
            return;
        }
        enum dmarcd_err rc = queue_push(q, b->new_ids[i]);
        if (rc) {
            p->queue_down = true;
            log_warn("imap messages stored but not queued: the reconciler will queue them",
                     LOG_STR("mailbox", p->url.display), LOG_ERR(rc));
            stats->not_queued += b->nnew - i;
            return;
        }
        stats->queued++;
    }
}

/* Fetches, stores, queues and moves uids[0..n) (ascending). */
static enum dmarcd_err take_batch(struct imap_poller *p, struct store *st, struct queue *q,
                                  const uint32_t *uids, size_t n, struct imap_stats *stats,
                                  struct strbuf *why)
{
    struct batch b = { .uids = uids, .n = n, .st = st, .stats = stats };
    struct strbuf set;
    enum dmarcd_err rc;
    b.seen = xcalloc(n, sizeof(*b.seen));
    b.stored = xcalloc(n, sizeof(*b.stored));
    b.new_ids = xcalloc(n, sizeof(*b.new_ids));
    strbuf_init(&set, 0);
    imap_uid_set(uids, n, &set);
    p->batch = &b;
    p->handler = HANDLE_FETCH;
    rc = command(p, why, "UID FETCH %s (UID BODY.PEEK[])", set.buf);
    p->handler = HANDLE_NONE;
    p->batch = NULL;
    push_jobs(p, q, &b, stats);     /* what was committed, even if the fetch broke off */
    if (!rc && p->status == TAGGED_BAD) {
        set_why(why, "imap server %s: fetch refused: %s", p->url.display, server_said(p));
        drop(p);
        rc = DMARCD_E_TEMPORARY;
    }
    if (!rc && p->status == TAGGED_NO)  /* e.g. some were expunged meanwhile: keep the rest */
        log_warn("imap fetch partly refused", LOG_STR("mailbox", p->url.display),
                 LOG_STR("server", server_said(p)));
    if (!rc) {
        qsort(b.stored, b.nstored, sizeof(b.stored[0]), cmp_u32);
        if (b.nstored)
            rc = acknowledge(p, b.stored, b.nstored, why);
        if (!rc)
            stats->moved += b.nstored;
    }
    if (!rc && b.db_down) {
        set_why(why, "database unavailable: messages not stored stay in %s", p->url.display);
        rc = DMARCD_E_DB_UNAVAILABLE;
    }
    log_debug("imap batch", LOG_STR("uids", set.buf), LOG_UINT("stored", b.nstored),
              LOG_ERR(rc));
    if (p->message.alloc > 4 * DMARCD_MiB) {    /* do not keep a big message's memory */
        strbuf_release(&p->message);
        strbuf_init(&p->message, DMARCD_MAX_MESSAGE_BYTES);
    }
    strbuf_release(&set);
    free(b.seen);
    free(b.stored);
    free(b.new_ids);
    return rc;
}

/* Counts (and names in the log) the messages too big to take in one window. */
static enum dmarcd_err count_too_big(struct imap_poller *p, uint32_t lo, uint32_t hi,
                                     struct imap_stats *stats, struct strbuf *why)
{
    char larger[32];
    snprintf(larger, sizeof(larger), "LARGER %zu", (size_t)DMARCD_MAX_MESSAGE_BYTES);
    enum dmarcd_err rc = search(p, lo, hi, larger, why);
    for (size_t i = 0; !rc && i < p->nfound; i++)
        log_warn("imap message too big to store: left in the mailbox",
                 LOG_STR("mailbox", p->url.display), LOG_UINT("uid", p->found[i]),
                 LOG_UINT("limit", DMARCD_MAX_MESSAGE_BYTES));
    if (!rc)
        stats->too_big += p->nfound;
    return rc;
}

/* Walks the mailbox window by window. */
static enum dmarcd_err walk(struct imap_poller *p, struct store *st, struct queue *q,
                            const volatile sig_atomic_t *stop, struct imap_stats *stats,
                            struct strbuf *why)
{
    char smaller[32];
    uint32_t window[IMAP_SEARCH_WINDOW];
    uint32_t last_uid = 0;
    enum dmarcd_err rc = DMARCD_OK;
    snprintf(smaller, sizeof(smaller), "SMALLER %zu", (size_t)DMARCD_MAX_MESSAGE_BYTES + 1);
    p->next_seq = 1;
    while (!rc && p->next_seq <= p->exists && !(stop && *stop)) {
        uint32_t lo = p->next_seq;
        uint32_t hi = p->exists - lo < IMAP_SEARCH_WINDOW ? p->exists : lo + IMAP_SEARCH_WINDOW - 1;
        p->next_seq = hi + 1;   /* set first: EXPUNGEs from here on keep it true */
        rc = count_too_big(p, lo, hi, stats, why);
        if (!rc)
            rc = search(p, lo, hi, smaller, why);
        if (rc)
            break;
        size_t n = 0;
        for (size_t i = 0; i < p->nfound; i++) {    /* seen already this poll: skip */
            if (p->found[i] > last_uid && (!n || p->found[i] != window[n - 1]))
                window[n++] = p->found[i];
        }
        if (n)
            last_uid = window[n - 1];
        stats->found += n;
        for (size_t i = 0; !rc && i < n && !(stop && *stop); i += p->o.batch) {
            size_t len = n - i < p->o.batch ? n - i : p->o.batch;
            rc = take_batch(p, st, q, window + i, len, stats, why);
        }
    }
    return rc;
}

enum dmarcd_err imap_poll(struct imap_poller *p, struct store *st, struct queue *q,
                          const volatile sig_atomic_t *stop, struct imap_stats *stats,
                          struct strbuf *why)
{
    enum dmarcd_err rc = DMARCD_OK;
    memset(stats, 0, sizeof(*stats));
    p->queue_down = false;
    if (p->curl) {      /* a kept connection may have died while idle: then start afresh */
        rc = command(p, why, "NOOP");
        if (rc)
            log_info("imap connection lost while idle: reconnecting",
                     LOG_STR("mailbox", p->url.display));
    }
    if (!p->curl)
        rc = connect_server(p, why);
    if (!rc)
        rc = select_mailbox(p, why);
    if (!rc)
        rc = walk(p, st, q, stop, stats, why);
    return rc;
}

/* ---- life cycle ---- */

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void imap_poller_set_secret(struct imap_poller *p, const char *password, const char *oauth2_token)
{
    free_secret(p->password);
    free_secret(p->token);
    p->password = dup_or_null(password);
    p->token = oauth2_token && oauth2_token[0] ? xstrdup(oauth2_token) : NULL;
}

enum dmarcd_err imap_poller_new(const struct imap_options *o, struct imap_poller **out,
                                struct strbuf *why)
{
    struct imap_poller *p = xcalloc(1, sizeof(*p));
    enum dmarcd_err rc;
    *out = NULL;
    p->o = *o;
    p->sock = CURL_SOCKET_BAD;
    strbuf_init(&p->mailbox_arg, 0);
    strbuf_init(&p->folder_arg, 0);
    strbuf_init(&p->tagged, 0);
    strbuf_init(&p->message, DMARCD_MAX_MESSAGE_BYTES);
    imap_reader_init(&p->reader, &reader_ops, p);
    p->found = xcalloc(IMAP_SEARCH_WINDOW, sizeof(*p->found));
    p->username = xstrdup(o->username ? o->username : "");
    p->ca_file = dup_or_null(o->ca_file);
    p->folder = xstrdup(o->processed_folder ? o->processed_folder : "");
    imap_poller_set_secret(p, o->password, o->oauth2_token);
    rc = imap_url_parse(o->url ? o->url : "", &p->url, why);
    if (rc)
        goto fail;
    rc = DMARCD_E_CONFIG;
    if (imap_mailbox_arg(p->url.mailbox, &p->mailbox_arg)) {
        set_why(why, "the mailbox name is not valid");
        goto fail;
    }
    if (o->mode == IMAP_MODE_MOVE) {
        if (imap_mailbox_arg(p->folder, &p->folder_arg)) {
            set_why(why, "the processed folder name is empty or not valid UTF-8 text");
            goto fail;
        }
        if (strcmp(p->folder_arg.buf, p->mailbox_arg.buf) == 0) {
            set_why(why, "the processed folder is the polled mailbox itself");
            goto fail;
        }
    }
    if (o->batch < 1 || o->batch > IMAP_BATCH_MAX || o->timeout_s < 1 || !p->username[0]) {
        set_why(why, "batch must be 1 to %d, the timeout positive and the user name set",
                IMAP_BATCH_MAX);
        goto fail;
    }
    p->o.url = p->o.username = p->o.password = p->o.oauth2_token = NULL;
    p->o.ca_file = p->o.processed_folder = NULL;
    *out = p;
    return DMARCD_OK;
fail:
    imap_poller_free(p);
    return rc;
}

void imap_poller_disconnect(struct imap_poller *p)
{
    if (p->curl && !p->bye && imap_reader_idle(&p->reader)) {
        unsigned keep = p->o.timeout_s;
        p->o.timeout_s = keep < 5 ? keep : 5;   /* a polite LOGOUT, not a long wait */
        if (!command(p, NULL, "LOGOUT"))
            log_debug("imap logged out", LOG_STR("mailbox", p->url.display));
        p->o.timeout_s = keep;
    }
    drop(p);
}

void imap_poller_free(struct imap_poller *p)
{
    if (!p)
        return;
    imap_poller_disconnect(p);
    imap_reader_release(&p->reader);
    strbuf_release(&p->mailbox_arg);
    strbuf_release(&p->folder_arg);
    strbuf_release(&p->tagged);
    strbuf_release(&p->message);
    imap_url_release(&p->url);
    free(p->found);
    free(p->username);
    free(p->ca_file);
    free(p->folder);
    free_secret(p->password);
    free_secret(p->token);
    free(p);
}
