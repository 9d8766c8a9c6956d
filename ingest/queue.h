/*
 * queue.h - the job queue: inbox row ids handed from the ingest paths to
 * the workers through Redis.
 *
 * Redis is a work queue here, never a store: every job names a committed
 * inbox row (storage/inbox.h), and a job Redis loses is found again by the
 * reconciler (reconcile.h). Delivery is at least once; a worker decides
 * what a job means by claiming the inbox row, so a duplicate job costs one
 * UPDATE and nothing else.
 *
 * Keys, all under one prefix (default "dmarcd:"; put a {hash tag} in it for
 * Redis Cluster):
 *   <prefix>jobs     stream of jobs {id, attempt}; consumer group "workers"
 *   <prefix>delayed  sorted set of jobs waiting out a retry backoff,
 *                    member "id:attempt", score = due time (Redis clock, ms)
 *   <prefix>dead     stream of dead letters {id, attempt, reason, entry}
 *   <prefix>known    sorted set: inbox id -> when it was last queued (ms);
 *                    what the reconciler asks before re-queueing
 *   <prefix>lock:<name>  a lease held by one process at a time (queue_lock):
 *                    "lock:reconcile" elects the one reconciler
 *
 * A job's life:
 *   queue_push           XADD (approximately capped at max_len) + known
 *   queue_claim          moves due delayed jobs into the stream, then
 *                        XAUTOCLAIMs one job idle past visibility_ms (its
 *                        consumer died), else XREADGROUP ">" (blocking)
 *   queue_ack            XACK + XDEL + forget in known: the job is finished
 *   queue_retry          XACK + XDEL + ZADD delayed with attempt + 1
 *   queue_dead           XADD dead + XACK + XDEL (the caller quarantines the
 *                        inbox row first)
 * Each of push/ack/retry/dead/promote is one Lua script, so no crash can
 * leave a job half moved, and all times come from the Redis server's clock.
 *
 * One handle per thread (a handle is one connection and is not
 * thread-safe). A broken connection is reopened on the next call with
 * bounded backoff; a command that failed on a dead connection is retried
 * once on the new one. A group that vanished (Redis restarted empty) is
 * re-created on the spot. DMARCD_E_QUEUE_UNAVAILABLE (transient) when
 * Redis cannot be reached. Needs Redis 6.2 or later (XAUTOCLAIM); the
 * ACL user needs the stream, sorted-set, scripting and connection commands.
 */
#ifndef DMARCD_INGEST_QUEUE_H
#define DMARCD_INGEST_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/url.h"

struct queue;

struct queue_options {
    const char *prefix;             /* key prefix, "dmarcd:" */
    const char *group;              /* consumer group, "workers" */
    const char *client_name;        /* CLIENT SETNAME, "dmarcd" */
    unsigned connect_timeout_ms;    /* per attempt, 2000 */
    unsigned command_timeout_ms;    /* per reply, beyond any BLOCK time, 5000 */
    unsigned connect_attempts;      /* >= 1, 5 */
    unsigned backoff_first_ms;      /* 100, doubled per failed attempt */
    unsigned backoff_max_ms;        /* 2000 */
    uint32_t visibility_ms;         /* a delivered job unacknowledged this long is
                                       given to another consumer, 300000 */
    unsigned max_attempts;          /* deliveries before the dead letter, 8 */
    uint32_t retry_base_ms;         /* backoff after the first failure, 5000 */
    uint32_t retry_max_ms;          /* backoff cap, 600000 */
    uint64_t max_len;               /* approximate bound of the stream, 1000000 */
    uint64_t dead_max_len;          /* approximate bound of the dead letters, 100000 */
};

void queue_options_default(struct queue_options *o);

/* One job as a consumer holds it. */
struct queue_job {
    uint64_t inbox_id;
    unsigned attempt;               /* 1 on the first delivery, + 1 per queue_retry */
    char entry[48];                 /* stream entry id, "1700000000000-0" */
    bool reclaimed;                 /* taken over from a consumer that went silent */
};

/*
 * Connects (connect timeout, AUTH with the URL's user/password, SELECT
 * its db), retrying with backoff. o may be NULL for the defaults; its
 * strings are copied. why (may be NULL) receives the reason on failure,
 * never the password. DMARCD_E_QUEUE_UNAVAILABLE when unreachable,
 * DMARCD_E_CONFIG when refused (authentication, bad db, bad prefix).
 */
enum dmarcd_err queue_open(const struct redis_url *url, const struct queue_options *o,
                           struct queue **out, struct strbuf *why) DMARCD_MUST_CHECK;

/* Closes the connection and frees the handle; NULL is a no-op. */
void queue_close(struct queue *q);

/* Adds a job for inbox row id (attempt 1). */
enum dmarcd_err queue_push(struct queue *q, uint64_t inbox_id) DMARCD_MUST_CHECK;

/*
 * Takes one job for consumer (a name unique to the thread, e.g.
 * "host/pid/3"), waiting up to block_ms for one to arrive (0: do not
 * wait). The wait is shortened to the next delayed job's due time, so a
 * retry comes back on time. *got is false when there was none.
 */
enum dmarcd_err queue_claim(struct queue *q, const char *consumer, uint32_t block_ms,
                            struct queue_job *job, bool *got) DMARCD_MUST_CHECK;

/* Tells the queue that consumer still works on job (resets its idle time). */
enum dmarcd_err queue_extend(struct queue *q, const char *consumer,
                             const struct queue_job *job) DMARCD_MUST_CHECK;

/* The job is finished (done, or the inbox row says there is nothing to do). */
enum dmarcd_err queue_ack(struct queue *q, const struct queue_job *job) DMARCD_MUST_CHECK;

/*
 * Puts the job back after a transient failure: it is redelivered with
 * attempt + 1 once delay_ms have passed (0: queue_backoff_ms() of its
 * attempt, less up to a quarter at random so retries after an outage do
 * not all arrive together). The caller has released the inbox row.
 */
enum dmarcd_err queue_retry(struct queue *q, const struct queue_job *job,
                            uint32_t delay_ms) DMARCD_MUST_CHECK;

/* True when job has had its max_attempts: quarantine and queue_dead it. */
bool queue_exhausted(const struct queue *q, const struct queue_job *job);

/*
 * Moves the job to the dead letters with reason (a sentence; cut at
 * 1000 bytes). The caller has quarantined the inbox row first, so that a
 * crash in between only redelivers a job whose row says "quarantined".
 */
enum dmarcd_err queue_dead(struct queue *q, const struct queue_job *job,
                           const char *reason) DMARCD_MUST_CHECK;

/*
 * For each of ids[0..n): unknown[i] is true when the queue holds no record
 * of it having been queued within horizon_ms (never, lost with a Redis
 * restart, or so long ago that the job must have gone missing).
 */
enum dmarcd_err queue_unknown(struct queue *q, const uint64_t *ids, size_t n,
                              uint32_t horizon_ms, bool *unknown) DMARCD_MUST_CHECK;

struct queue_stats {
    bool group_exists;              /* false after Redis lost everything, until a claim */
    uint64_t length;                /* entries in the stream: waiting + pending */
    uint64_t pending;               /* delivered, not yet acknowledged */
    uint64_t waiting;               /* not yet delivered */
    uint64_t oldest_pending_idle_ms;  /* lag: how long the oldest pending job has been idle */
    uint64_t oldest_entry_age_ms;   /* how long the oldest job in the stream has waited */
    uint64_t delayed;               /* waiting out a retry backoff */
    uint64_t dead;                  /* dead letters kept */
    uint64_t consumers;             /* consumers known to the group */
};

enum dmarcd_err queue_stats(struct queue *q, struct queue_stats *s) DMARCD_MUST_CHECK;

/*
 * Forgets consumers that hold no job and have been idle longer than
 * idle_ms (threads of workers long gone); *removed may be NULL.
 */
enum dmarcd_err queue_prune_consumers(struct queue *q, uint64_t idle_ms,
                                      unsigned *removed) DMARCD_MUST_CHECK;

/*
 * A lease named name (key <prefix>lock:<name>) for owner (a name unique to
 * the process, e.g. "host:pid"), expiring after ttl_ms: taken when free,
 * renewed when owner holds it already; *held tells whether owner holds it
 * now. Lets one process of many do a periodic duty (the reconciler) and
 * another take over within ttl_ms when it dies.
 */
enum dmarcd_err queue_lock(struct queue *q, const char *name, const char *owner,
                           uint32_t ttl_ms, bool *held) DMARCD_MUST_CHECK;

/* Gives the lease up if owner holds it (at shutdown), so another can take it at once. */
enum dmarcd_err queue_unlock(struct queue *q, const char *name,
                             const char *owner) DMARCD_MUST_CHECK;

/* The keys this handle uses, e.g. for messages: "dmarcd:jobs". */
const char *queue_stream_key(const struct queue *q);
const char *queue_group(const struct queue *q);

/* ---- pure helpers (no Redis), exposed for the unit tests ---- */

/* retry_base_ms * 2^(attempt - 1), capped at retry_max_ms; attempt 0 counts as 1. */
uint32_t queue_backoff_ms(const struct queue_options *o, unsigned attempt);

/* A key prefix or group name: 1 to 64 printable ASCII characters, no space. */
bool queue_name_valid(const char *name);

/* Parses the decimal inbox id and attempt of a stream entry or delayed member. */
bool queue_parse_u64(const char *s, size_t len, uint64_t *out);

/* The milliseconds part of a stream entry id ("1700000000000-3"). */
bool queue_entry_ms(const char *entry, uint64_t *ms);

#endif
