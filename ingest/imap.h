/*
 * imap.h - the IMAP poller behind `dmarcd imap`: takes every message out
 * of one mailbox into the durable inbox (storage/inbox.h), and only once a
 * message's bytes are committed moves it to the processed folder (or flags
 * it), then queues its inbox row for the workers (ingest/queue.h).
 *
 *   struct imap_poller *p;
 *   rc = imap_poller_new(&opts, &p, &why);
 *   every poll_seconds:
 *       rc = imap_poll(p, st, q, &stop, &stats, &why);
 *   imap_poller_free(p);                      logs out; NULL-safe
 *
 * One poller per mailbox, one thread. The poller keeps its connection
 * between polls and reconnects when it finds it gone; the caller supplies
 * the store and the queue for each poll and replaces a store that came
 * back DMARCD_E_DB_UNAVAILABLE.
 *
 * What a poll guarantees:
 *   - a message is moved or flagged only after inbox_put() committed it;
 *     one that could not be stored stays where it was and is tried again
 *     by the next poll;
 *   - the connection may drop at any moment: what was committed but not
 *     moved is stored again by the next poll (a duplicate: same bytes,
 *     same inbox row) and then moved, so every message ends up stored
 *     once and moved once;
 *   - the mailbox is walked IMAP_SEARCH_WINDOW messages at a time and
 *     fetched `batch` messages at a time, one message in memory at once,
 *     so its size does not matter.
 */
#ifndef DMARCD_INGEST_IMAP_H
#define DMARCD_INGEST_IMAP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/queue.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "storage/store.h"

/* The keyword flag mode sets (with \Seen) on a stored message. */
#define IMAP_KEYWORD "DmarcdStored"

/* Messages per FETCH / MOVE: bounds one command line and one round of work. */
#define IMAP_BATCH_MAX 500

enum imap_mode {
    IMAP_MODE_MOVE,             /* to processed_folder (UID MOVE, or COPY + \Deleted + EXPUNGE) */
    IMAP_MODE_FLAG,             /* \Seen + IMAP_KEYWORD; the message stays */
};

struct imap_options {
    const char *url;            /* imaps://host[:port]/MAILBOX (imap_proto.h) */
    const char *username;
    const char *password;       /* used when oauth2_token is NULL */
    const char *oauth2_token;   /* bearer token (XOAUTH2 / OAUTHBEARER) */
    const char *ca_file;        /* CA bundle to verify the server with; NULL: the system's */
    bool starttls;              /* imap:// only: require STARTTLS (else plain text) */
    enum imap_mode mode;
    const char *processed_folder;   /* move mode; UTF-8 */
    unsigned batch;             /* 1..IMAP_BATCH_MAX */
    unsigned timeout_s;         /* connecting, and each wait for the server */
    uint32_t tenant_id;         /* inbox tenant; 0: routed later by domain */
};

/* What one poll did. */
struct imap_stats {
    uint64_t found;             /* messages to take, as the searches found them */
    uint64_t stored;            /* new inbox rows */
    uint64_t duplicates;        /* already in the inbox (stored before, not yet moved) */
    uint64_t moved;             /* moved or flagged after their commit */
    uint64_t failed;            /* could not be stored: left in place */
    uint64_t too_big;           /* past DMARCD_MAX_MESSAGE_BYTES: left in place */
    uint64_t queued;            /* jobs pushed */
    uint64_t not_queued;        /* stored while Redis was away: the reconciler queues them */
    uint64_t bytes;             /* message bytes fetched */
};

struct imap_poller;

/*
 * Checks the options (URL, folder names, batch) and copies them; connects
 * only at the first poll. DMARCD_E_CONFIG with why for bad options.
 */
enum dmarcd_err imap_poller_new(const struct imap_options *o, struct imap_poller **out,
                                struct strbuf *why) DMARCD_MUST_CHECK;

/* Logs out (best effort), closes the connection and frees; NULL is a no-op. */
void imap_poller_free(struct imap_poller *p);

/* New credentials for the next login (a rotated password or refreshed token). */
void imap_poller_set_secret(struct imap_poller *p, const char *password, const char *oauth2_token);

/* True while a logged-in connection is kept. */
bool imap_poller_connected(const struct imap_poller *p);

/* Logs out and closes the connection (the next poll reconnects). */
void imap_poller_disconnect(struct imap_poller *p);

/*
 * One pass over the mailbox: (re)connects if needed, SELECTs the mailbox,
 * and takes every message not yet taken, batch by batch, until none is
 * left or *stop (may be NULL) is set (checked between batches: a batch in
 * hand is finished). q may be NULL (no queue: the reconciler will queue
 * the rows); a failing push is logged and not retried in this poll.
 * stats is zeroed first. Returns
 *   DMARCD_OK                   the pass ended (messages that could not be
 *                               stored are counted in failed / too_big)
 *   DMARCD_E_DB_UNAVAILABLE     the store broke; what was committed is moved
 *   DMARCD_E_TEMPORARY          the server is unreachable or the connection
 *                               dropped (closed; the next poll reconnects)
 *   DMARCD_E_TIMEOUT            the server stopped answering (closed)
 *   DMARCD_E_CONFIG             login refused, certificate not trusted, no
 *                               STARTTLS, mailbox missing or read-only,
 *                               processed folder refused
 * why receives a sentence for the log (never a password or token).
 */
enum dmarcd_err imap_poll(struct imap_poller *p, struct store *st, struct queue *q,
                          const volatile sig_atomic_t *stop, struct imap_stats *stats,
                          struct strbuf *why) DMARCD_MUST_CHECK;

#endif
