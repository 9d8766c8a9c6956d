/*
 * queue.c - the Redis job queue (see queue.h for the model).
 *
 * Why a stream with a consumer group: the group's pending entries list is
 * the at-least-once bookkeeping Redis already keeps (who holds which job
 * since when), and XAUTOCLAIM hands a dead consumer's jobs to a live one
 * without a sweeper process. Lists (BRPOPLPUSH) would need one processing
 * list per consumer and our own scanning of them.
 *
 * Why a sorted set for retry delays, not "re-XADD after the delay": a
 * worker that sleeps on a failed job holds a thread and loses the delay if
 * it dies, and the group's idle time cannot be set per job. A member of
 * <prefix>delayed is durable where the job was, costs no worker, and comes
 * due on the Redis clock; every claim first moves due members back into
 * the stream (a Lua script, so two workers cannot both move one), and a
 * blocking read waits no longer than the next due time.
 *
 * Every multi-key step is a Lua script: one round trip, atomic, and using
 * the server's TIME so that workers' clocks never matter. Connections are
 * plain hiredis contexts with socket timeouts; a failed command drops the
 * context, and the next call reconnects with bounded backoff.
 */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>

#include "ingest/queue.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

#define QUEUE_NAME_MAX 64
#define PROMOTE_BATCH "100"         /* delayed jobs moved per claim */
#define UNKNOWN_BATCH 500           /* ids per queue_unknown script call */
#define DEAD_REASON_MAX 1000
#define MAX_ARGS 16

struct queue {
    redisContext *c;                /* NULL while disconnected */
    struct redis_url url;           /* own copy, for reconnecting */
    struct queue_options o;         /* its strings point at the copies below */
    char *prefix, *group, *client_name;
    char *k_jobs, *k_delayed, *k_dead, *k_known;
    char cursor[48];                /* where XAUTOCLAIM goes on */
    uint64_t rng;                   /* xorshift state for retry jitter */
    char last_error[256];
};

/* ---- scripts ---- */

#define LUA_NOW                                                                     \
    "local t = redis.call('TIME')\n"                                                \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

/* KEYS jobs known; ARGV id attempt max_len -> entry id */
static const char LUA_PUSH[] =
    LUA_NOW
    "local e = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*',"
    " 'id', ARGV[1], 'attempt', ARGV[2])\n"
    "redis.call('ZADD', KEYS[2], string.format('%d', now), ARGV[1])\n"
    "return e\n";

/* KEYS jobs known; ARGV group entry id */
static const char LUA_ACK[] =
    "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "redis.call('ZREM', KEYS[2], ARGV[3])\n"
    "return 1\n";

/* KEYS jobs delayed known; ARGV group entry id next_attempt delay_ms */
static const char LUA_RETRY[] =
    LUA_NOW
    "local due = string.format('%d', now + tonumber(ARGV[5]))\n"
    "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "redis.call('ZADD', KEYS[2], due, ARGV[3] .. ':' .. ARGV[4])\n"
    "redis.call('ZADD', KEYS[3], due, ARGV[3])\n"
    "return 1\n";

/* KEYS delayed jobs; ARGV max_len batch -> ms until the next due job, or -1 */
static const char LUA_PROMOTE[] =
    LUA_NOW
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now),"
    " 'LIMIT', 0, tonumber(ARGV[2]))\n"
    "for _, m in ipairs(due) do\n"
    "  local id, attempt = string.match(m, '^(%d+):(%d+)$')\n"
    "  if id then\n"
    "    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'id', id, 'attempt', attempt)\n"
    "  end\n"
    "  redis.call('ZREM', KEYS[1], m)\n"
    "end\n"
    "local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
    "if first[2] then return math.max(0, tonumber(first[2]) - now) end\n"
    "return -1\n";

/* KEYS jobs dead known; ARGV group entry id attempt reason dead_max_len -> entry id */
static const char LUA_DEAD[] =
    "local e = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'id', ARGV[3],"
    " 'attempt', ARGV[4], 'reason', ARGV[5], 'entry', ARGV[2])\n"
    "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "redis.call('ZREM', KEYS[3], ARGV[3])\n"
    "return e\n";

/*
 * KEYS known; ARGV horizon_ms id... -> 1 per id not queued within the
 * horizon. Also forgets a bounded number of members past the horizon: they
 * already count as unknown, and only a lost job leaves one behind.
 */
static const char LUA_UNKNOWN[] =
    LUA_NOW
    "local cutoff = now - tonumber(ARGV[1])\n"
    "local out = {}\n"
    "for i = 2, #ARGV do\n"
    "  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])\n"
    "  if s and tonumber(s) >= cutoff then out[i - 1] = 0 else out[i - 1] = 1 end\n"
    "end\n"
    "local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf',"
    " '(' .. string.format('%d', cutoff), 'LIMIT', 0, 1000)\n"
    "if #stale > 0 then redis.call('ZREM', KEYS[1], unpack(stale)) end\n"
    "return out\n";

/*
 * KEYS lock; ARGV owner ttl_ms -> 1 when owner holds the lock now (taken
 * or renewed), 0 when someone else does.
 */
static const char LUA_LOCK[] =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end\n"
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/* KEYS lock; ARGV owner -> 1 when owner held it and it is gone */
static const char LUA_UNLOCK[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

/* ---- pure helpers ---- */

void queue_options_default(struct queue_options *o)
{
    memset(o, 0, sizeof(*o));
    o->prefix = "dmarcd:";
    o->group = "workers";
    o->client_name = "dmarcd";
    o->connect_timeout_ms = 2000;
    o->command_timeout_ms = 5000;
    o->connect_attempts = 5;
    o->backoff_first_ms = 100;
    o->backoff_max_ms = 2000;
    o->visibility_ms = 300000;
    o->max_attempts = 8;
    o->retry_base_ms = 5000;
    o->retry_max_ms = 600000;
    o->max_len = 1000000;
    o->dead_max_len = 100000;
}

uint32_t queue_backoff_ms(const struct queue_options *o, unsigned attempt)
{
    uint64_t d = o->retry_base_ms;
    for (unsigned i = 1; i < attempt && d > 0 && d < o->retry_max_ms; i++)
        d *= 2;
    return (uint32_t)(d < o->retry_max_ms ? d : o->retry_max_ms);
}

bool queue_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > QUEUE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (name[i] <= ' ' || name[i] > '~')
            return false;
    }
    return true;
}

bool queue_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || len == 0 || len > 20)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

bool queue_entry_ms(const char *entry, uint64_t *ms)
{
    const char *dash = entry ? strchr(entry, '-') : NULL;
    return dash && queue_parse_u64(entry, (size_t)(dash - entry), ms);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static struct timeval ms_tv(unsigned ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
    return tv;
}

static uint64_t next_random(struct queue *q)
{
    q->rng ^= q->rng << 13;
    q->rng ^= q->rng >> 7;
    q->rng ^= q->rng << 17;
    return q->rng;
}

static void note_error(struct queue *q, const char *what, const char *detail)
{
    snprintf(q->last_error, sizeof(q->last_error), "%s%s%s", what, detail ? ": " : "",
             detail ? detail : "");
}

/* ---- connection ---- */

static void drop(struct queue *q)
{
    if (q->c)
        redisFree(q->c);
    q->c = NULL;
}

/* Runs one command on the current context: NULL when the connection failed. */
static redisReply *raw_command(struct queue *q, int argc, const char **argv, const size_t *len)
{
    redisReply *r = redisCommandArgv(q->c, argc, argv, len);
    if (!r) {
        note_error(q, "connection lost", q->c->errstr[0] ? q->c->errstr : NULL);
        drop(q);
    }
    return r;
}

static bool is_error(const redisReply *r, const char *code)
{
    size_t n = strlen(code);
    return r && r->type == REDIS_REPLY_ERROR && r->str && strncmp(r->str, code, n) == 0 &&
           (r->str[n] == ' ' || r->str[n] == '\0');
}

/* Error replies that mean "not now" rather than "never". */
static bool transient_reply(const redisReply *r)
{
    static const char *const codes[] = { "LOADING", "BUSY", "MASTERDOWN", "READONLY",
                                         "TRYAGAIN", "CLUSTERDOWN", "OOM", NULL };
    for (size_t i = 0; codes[i]; i++) {
        if (is_error(r, codes[i]))
            return true;
    }
    return false;
}

/* AUTH, SELECT and CLIENT SETNAME on a fresh context. */
static enum dmarcd_err session_setup(struct queue *q)
{
    char db[12];
    redisReply *r = NULL;
    enum dmarcd_err rc = DMARCD_OK;
    if (q->url.password) {
        const char *with_user[] = { "AUTH", q->url.user, q->url.password };
        const char *plain[] = { "AUTH", q->url.password };
        r = q->url.user ? raw_command(q, 3, with_user, NULL) : raw_command(q, 2, plain, NULL);
        if (r && r->type == REDIS_REPLY_ERROR) {
            note_error(q, "authentication refused", r->str);
            rc = transient_reply(r) ? DMARCD_E_QUEUE_UNAVAILABLE : DMARCD_E_CONFIG;
        }
        freeReplyObject(r);
        if (!q->c)
            return DMARCD_E_QUEUE_UNAVAILABLE;
        if (rc)
            return rc;
    }
    snprintf(db, sizeof(db), "%u", q->url.db);
    const char *sel[] = { "SELECT", db };
    r = raw_command(q, 2, sel, NULL);
    if (r && r->type == REDIS_REPLY_ERROR) {
        note_error(q, "SELECT refused", r->str);
        rc = transient_reply(r) ? DMARCD_E_QUEUE_UNAVAILABLE : DMARCD_E_CONFIG;
    }
    freeReplyObject(r);
    if (!q->c)
        return DMARCD_E_QUEUE_UNAVAILABLE;
    if (rc)
        return rc;
    const char *name[] = { "CLIENT", "SETNAME", q->client_name };
    freeReplyObject(raw_command(q, 3, name, NULL));   /* a name is a courtesy */
    return q->c ? DMARCD_OK : DMARCD_E_QUEUE_UNAVAILABLE;
}

static enum dmarcd_err connect_once(struct queue *q)
{
    redisContext *c = redisConnectWithTimeout(q->url.host, (int)q->url.port,
                                              ms_tv(q->o.connect_timeout_ms));
    if (!c)
        dmarcd_die("redisConnectWithTimeout: out of memory");
    if (c->err) {
        note_error(q, "connect failed", c->errstr);
        redisFree(c);
        return DMARCD_E_QUEUE_UNAVAILABLE;
    }
    (void)redisSetTimeout(c, ms_tv(q->o.command_timeout_ms));
    (void)redisEnableKeepAlive(c);
    q->c = c;
    enum dmarcd_err rc = session_setup(q);
    if (rc)
        drop(q);
    return rc;
}

static enum dmarcd_err connect_with_backoff(struct queue *q)
{
    unsigned delay = q->o.backoff_first_ms;
    unsigned attempts = q->o.connect_attempts ? q->o.connect_attempts : 1;
    enum dmarcd_err rc = DMARCD_E_QUEUE_UNAVAILABLE;
    for (unsigned i = 1; i <= attempts; i++) {
        rc = connect_once(q);
        if (rc != DMARCD_E_QUEUE_UNAVAILABLE || i == attempts)
            break;
        log_warn("redis connect failed, retrying", LOG_STR("host", q->url.host),
                 LOG_UINT("port", q->url.port), LOG_UINT("attempt", i),
                 LOG_UINT("retry_in_ms", delay), LOG_STR("message", q->last_error));
        sleep_ms(delay);
        delay = delay * 2 > q->o.backoff_max_ms ? q->o.backoff_max_ms : delay * 2;
    }
    if (rc)
        log_error("redis connect failed", LOG_STR("host", q->url.host),
                  LOG_UINT("port", q->url.port), LOG_UINT("db", q->url.db),
                  LOG_STR("message", q->last_error), LOG_ERR(rc));
    return rc;
}

/*
 * Runs one command, connecting first if needed; when the connection fails
 * under it, reconnects and tries once more. extra_ms lengthens the reply
 * timeout (a BLOCK). Error replies are handed back as replies, except the
 * transient ones, which become DMARCD_E_QUEUE_UNAVAILABLE.
 */
static enum dmarcd_err command(struct queue *q, int argc, const char **argv,
                               const size_t *len, uint32_t extra_ms, redisReply **reply)
{
    *reply = NULL;
    for (int round = 0; round < 2; round++) {
        if (!q->c) {
            enum dmarcd_err rc = connect_with_backoff(q);
            if (rc)
                return rc;
        }
        if (extra_ms)
            (void)redisSetTimeout(q->c, ms_tv(q->o.command_timeout_ms + extra_ms));
        redisReply *r = raw_command(q, argc, argv, len);
        if (!r) {
            log_warn("redis command failed", LOG_STR("command", argv[0]),
                     LOG_STR("message", q->last_error), LOG_INT("round", round + 1));
            continue;
        }
        if (extra_ms)
            (void)redisSetTimeout(q->c, ms_tv(q->o.command_timeout_ms));
        if (transient_reply(r)) {
            note_error(q, "redis not ready", r->str);
            log_warn("redis refused a command for now", LOG_STR("command", argv[0]),
                     LOG_STR("message", r->str));
            if (is_error(r, "READONLY") || is_error(r, "MASTERDOWN"))
                drop(q);        /* a failover: the next connect may reach the new primary */
            freeReplyObject(r);
            return DMARCD_E_QUEUE_UNAVAILABLE;
        }
        *reply = r;
        return DMARCD_OK;
    }
    return DMARCD_E_QUEUE_UNAVAILABLE;
}

/* An error reply nobody expected: a bug or a misconfigured server. */
static enum dmarcd_err unexpected(struct queue *q, const char *what, redisReply *r)
{
    note_error(q, what, r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    log_error("redis command failed", LOG_STR("command", what),
              LOG_STR("message", q->last_error));
    freeReplyObject(r);
    return DMARCD_E_INTERNAL;
}

/* Runs a script; *reply is a non-error reply on DMARCD_OK. */
static enum dmarcd_err eval(struct queue *q, const char *what, const char *script,
                            int nkeys, const char **keys, int nargs, const char **args,
                            const size_t *arg_len, redisReply **reply)
{
    const char *argv[MAX_ARGS];
    size_t len[MAX_ARGS];
    char nk[4];
    int argc = 0;
    if (3 + nkeys + nargs > MAX_ARGS)
        dmarcd_die("queue eval: too many arguments");
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[argc] = "EVAL";
    len[argc++] = 4;
    argv[argc] = script;
    len[argc++] = strlen(script);
    argv[argc] = nk;
    len[argc++] = strlen(nk);
    for (int i = 0; i < nkeys; i++, argc++) {
        argv[argc] = keys[i];
        len[argc] = strlen(keys[i]);
    }
    for (int i = 0; i < nargs; i++, argc++) {
        argv[argc] = args[i];
        len[argc] = arg_len ? arg_len[i] : strlen(args[i]);
    }
    enum dmarcd_err rc = command(q, argc, argv, len, 0, reply);
    if (!rc && (*reply)->type == REDIS_REPLY_ERROR) {
        rc = unexpected(q, what, *reply);
        *reply = NULL;
    }
    return rc;
}

/* ---- open / close ---- */

static char *key(const char *prefix, const char *name)
{
    size_t a = strlen(prefix), b = strlen(name);
    char *k = xmalloc(a + b + 1);
    memcpy(k, prefix, a);
    memcpy(k + a, name, b + 1);
    return k;
}

static void copy_url(struct redis_url *dst, const struct redis_url *src)
{
    dst->user = src->user ? xstrdup(src->user) : NULL;
    dst->password = src->password ? xstrdup(src->password) : NULL;
    dst->host = xstrdup(src->host ? src->host : "127.0.0.1");
    dst->port = src->port ? src->port : 6379;
    dst->db = src->db;
}

static struct queue *queue_new(const struct redis_url *url, const struct queue_options *o)
{
    struct queue *q = xcalloc(1, sizeof(*q));
    copy_url(&q->url, url);
    q->o = *o;
    q->o.prefix = q->prefix = xstrdup(o->prefix);
    q->o.group = q->group = xstrdup(o->group);
    q->o.client_name = q->client_name = xstrdup(o->client_name ? o->client_name : "dmarcd");
    if (q->o.max_attempts == 0)
        q->o.max_attempts = 1;
    q->k_jobs = key(q->prefix, "jobs");
    q->k_delayed = key(q->prefix, "delayed");
    q->k_dead = key(q->prefix, "dead");
    q->k_known = key(q->prefix, "known");
    memcpy(q->cursor, "0-0", 4);
    if (getrandom(&q->rng, sizeof(q->rng), 0) != sizeof(q->rng))
        q->rng = (uint64_t)time(NULL) * 2654435761u;
    q->rng |= 1;
    return q;
}

enum dmarcd_err queue_open(const struct redis_url *url, const struct queue_options *o,
                           struct queue **out, struct strbuf *why)
{
    struct queue_options defaults;
    *out = NULL;
    if (!o) {
        queue_options_default(&defaults);
        o = &defaults;
    }
    if (!queue_name_valid(o->prefix) || !queue_name_valid(o->group) ||
        (o->client_name && !queue_name_valid(o->client_name))) {
        if (why) {
            strbuf_reset(why);
            (void)strbuf_addstr(why, "queue prefix, group and client name: 1 to 64 printable "
                                     "characters without spaces");
        }
        return DMARCD_E_CONFIG;
    }
    struct queue *q = queue_new(url, o);
    enum dmarcd_err rc = connect_with_backoff(q);
    if (rc) {
        if (why) {
            strbuf_reset(why);
            (void)strbuf_addstr(why, q->last_error);
        }
        queue_close(q);
        return rc;
    }
    *out = q;
    return DMARCD_OK;
}

void queue_close(struct queue *q)
{
    if (!q)
        return;
    drop(q);
    free(q->url.user);
    free(q->url.password);
    free(q->url.host);
    free(q->prefix);
    free(q->group);
    free(q->client_name);
    free(q->k_jobs);
    free(q->k_delayed);
    free(q->k_dead);
    free(q->k_known);
    free(q);
}

const char *queue_stream_key(const struct queue *q)
{
    return q->k_jobs;
}

const char *queue_group(const struct queue *q)
{
    return q->group;
}

/* ---- jobs ---- */

enum dmarcd_err queue_push(struct queue *q, uint64_t inbox_id)
{
    char id[24], max[24];
    redisReply *r = NULL;
    snprintf(id, sizeof(id), "%" PRIu64, inbox_id);
    snprintf(max, sizeof(max), "%" PRIu64, q->o.max_len);
    const char *keys[] = { q->k_jobs, q->k_known };
    const char *args[] = { id, "1", max };
    enum dmarcd_err rc = eval(q, "push", LUA_PUSH, 2, keys, 3, args, NULL, &r);
    if (!rc)
        log_debug("job queued", LOG_UINT("inbox_id", inbox_id),
                  LOG_STR("entry", r->type == REDIS_REPLY_STRING ? r->str : ""));
    freeReplyObject(r);
    return rc;
}

/* (Re)creates the group at the stream's start, so nothing already queued is skipped. */
static enum dmarcd_err create_group(struct queue *q)
{
    const char *argv[] = { "XGROUP", "CREATE", q->k_jobs, q->group, "0", "MKSTREAM" };
    redisReply *r = NULL;
    enum dmarcd_err rc = command(q, 6, argv, NULL, 0, &r);
    if (rc)
        return rc;
    if (is_error(r, "BUSYGROUP")) {
        freeReplyObject(r);
        return DMARCD_OK;
    }
    if (r->type == REDIS_REPLY_ERROR)
        return unexpected(q, "XGROUP CREATE", r);
    log_info("queue consumer group created", LOG_STR("stream", q->k_jobs),
             LOG_STR("group", q->group));
    memcpy(q->cursor, "0-0", 4);
    freeReplyObject(r);
    return DMARCD_OK;
}

/* A command on the group: a missing group (NOGROUP) is created and the command re-run. */
static enum dmarcd_err group_command(struct queue *q, int argc, const char **argv,
                                     uint32_t extra_ms, redisReply **reply)
{
    enum dmarcd_err rc = command(q, argc, argv, NULL, extra_ms, reply);
    if (rc || !is_error(*reply, "NOGROUP"))
        return rc;
    freeReplyObject(*reply);
    *reply = NULL;
    log_warn("queue consumer group missing (redis restarted empty?): recreating",
             LOG_STR("stream", q->k_jobs), LOG_STR("group", q->group));
    rc = create_group(q);
    if (!rc)
        rc = command(q, argc, argv, NULL, extra_ms, reply);
    return rc;
}

static bool str_eq(const redisReply *r, const char *s)
{
    return r && r->type == REDIS_REPLY_STRING && r->len == strlen(s) &&
           memcmp(r->str, s, r->len) == 0;
}

/* Fills job from one stream entry [id, [field, value, ...]]. */
static bool parse_entry(const redisReply *e, struct queue_job *job)
{
    uint64_t v = 0;
    bool have_id = false;
    memset(job, 0, sizeof(*job));
    job->attempt = 1;
    if (!e || e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= sizeof(job->entry))
        return false;
    memcpy(job->entry, e->element[0]->str, e->element[0]->len);
    const redisReply *f = e->element[1];
    if (f->type != REDIS_REPLY_ARRAY)
        return false;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *val = f->element[i + 1];
        if (val->type != REDIS_REPLY_STRING || !queue_parse_u64(val->str, val->len, &v))
            continue;
        if (str_eq(f->element[i], "id")) {
            job->inbox_id = v;
            have_id = true;
        } else if (str_eq(f->element[i], "attempt") && v > 0 && v < 1000000) {
            job->attempt = (unsigned)v;
        }
    }
    return have_id && job->inbox_id > 0;
}

/* Drops an entry that is not a job (written by hand, or damaged). */
static void discard_entry(struct queue *q, const char *entry)
{
    struct queue_job junk = { .inbox_id = 0 };
    size_t n = strlen(entry);
    if (n >= sizeof(junk.entry))
        return;
    memcpy(junk.entry, entry, n + 1);
    enum dmarcd_err rc = queue_ack(q, &junk);
    log_warn("queue entry is not a job: dropped", LOG_STR("stream", q->k_jobs),
             LOG_STR("entry", entry), LOG_ERR(rc));
}

/* Moves due delayed jobs into the stream; *next_due_ms: until the next, or -1. */
static enum dmarcd_err promote(struct queue *q, int64_t *next_due_ms)
{
    char max[24];
    redisReply *r = NULL;
    snprintf(max, sizeof(max), "%" PRIu64, q->o.max_len);
    const char *keys[] = { q->k_delayed, q->k_jobs };
    const char *args[] = { max, PROMOTE_BATCH };
    enum dmarcd_err rc = eval(q, "promote", LUA_PROMOTE, 2, keys, 2, args, NULL, &r);
    *next_due_ms = !rc && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return rc;
}

/* XAUTOCLAIM: one job whose consumer has been silent past the visibility timeout. */
static enum dmarcd_err reclaim(struct queue *q, const char *consumer, struct queue_job *job,
                               bool *got)
{
    char idle[16];
    redisReply *r = NULL;
    snprintf(idle, sizeof(idle), "%" PRIu32, q->o.visibility_ms);
    const char *argv[] = { "XAUTOCLAIM", q->k_jobs, q->group, consumer, idle, q->cursor,
                           "COUNT", "1" };
    enum dmarcd_err rc = group_command(q, 8, argv, 0, &r);
    if (rc)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY)
        return unexpected(q, "XAUTOCLAIM", r);
    const redisReply *next = r->element[0];
    if (next->len < sizeof(q->cursor)) {
        memcpy(q->cursor, next->str, next->len);
        q->cursor[next->len] = '\0';
    }
    for (size_t i = 0; i < r->element[1]->elements && !*got; i++) {
        const redisReply *e = r->element[1]->element[i];
        if (parse_entry(e, job)) {
            job->reclaimed = true;
            *got = true;
        } else if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
                   e->element[0]->type == REDIS_REPLY_STRING) {
            /* Redis 6.2 hands back deleted (trimmed) entries with no fields */
            discard_entry(q, e->element[0]->str);
        }
    }
    if (*got)
        log_info("job reclaimed from a silent consumer", LOG_UINT("inbox_id", job->inbox_id),
                 LOG_STR("entry", job->entry), LOG_STR("consumer", consumer));
    freeReplyObject(r);
    return DMARCD_OK;
}

/* XREADGROUP ">": one job never delivered before, waiting up to wait_ms. */
static enum dmarcd_err read_new(struct queue *q, const char *consumer, uint32_t wait_ms,
                                struct queue_job *job, bool *got)
{
    char block[16];
    redisReply *r = NULL;
    snprintf(block, sizeof(block), "%" PRIu32, wait_ms);
    const char *argv[] = { "XREADGROUP", "GROUP", q->group, consumer, "COUNT", "1",
                           "BLOCK", block, "STREAMS", q->k_jobs, ">" };
    /* BLOCK 0 would wait forever: leave BLOCK out for a poll */
    const char *poll[] = { "XREADGROUP", "GROUP", q->group, consumer, "COUNT", "1",
                           "STREAMS", q->k_jobs, ">" };
    enum dmarcd_err rc = wait_ms ? group_command(q, 11, argv, wait_ms, &r)
                                 : group_command(q, 9, poll, 0, &r);
    if (rc)
        return rc;
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return DMARCD_OK;
    }
    if (r->type != REDIS_REPLY_ARRAY)
        return unexpected(q, "XREADGROUP", r);
    for (size_t s = 0; s < r->elements; s++) {
        const redisReply *stream = r->element[s];
        if (stream->type != REDIS_REPLY_ARRAY || stream->elements < 2 ||
            stream->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        for (size_t i = 0; i < stream->element[1]->elements; i++) {
            const redisReply *e = stream->element[1]->element[i];
            if (!*got && parse_entry(e, job))
                *got = true;
            else if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
                     e->element[0]->type == REDIS_REPLY_STRING)
                discard_entry(q, e->element[0]->str);
        }
    }
    freeReplyObject(r);
    return DMARCD_OK;
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Each round moves due retries into the stream, looks for a silent
 * consumer's job, then reads new jobs, blocking no longer than until the
 * next retry is due; so a retry that comes due during the wait ends it and
 * is picked up by the next round.
 */
enum dmarcd_err queue_claim(struct queue *q, const char *consumer, uint32_t block_ms,
                            struct queue_job *job, bool *got)
{
    enum dmarcd_err rc = DMARCD_OK;
    uint64_t deadline = monotonic_ms() + block_ms;
    *got = false;
    memset(job, 0, sizeof(*job));
    if (!queue_name_valid(consumer))
        return DMARCD_E_INVALID;
    for (;;) {
        int64_t next_due = -1;
        uint64_t now = monotonic_ms();
        uint32_t wait = now < deadline ? (uint32_t)(deadline - now) : 0;
        rc = promote(q, &next_due);
        if (!rc)
            rc = reclaim(q, consumer, job, got);
        if (rc || *got)
            break;
        if (next_due >= 0 && (uint64_t)next_due < wait)
            wait = (uint32_t)next_due;
        rc = read_new(q, consumer, wait, job, got);
        if (rc || *got || monotonic_ms() >= deadline)
            break;
    }
    if (rc)
        *got = false;
    return rc;
}

enum dmarcd_err queue_extend(struct queue *q, const char *consumer, const struct queue_job *job)
{
    redisReply *r = NULL;
    if (!queue_name_valid(consumer))
        return DMARCD_E_INVALID;
    const char *argv[] = { "XCLAIM", q->k_jobs, q->group, consumer, "0", job->entry, "JUSTID" };
    enum dmarcd_err rc = command(q, 7, argv, NULL, 0, &r);
    if (rc)
        return rc;
    /* NOGROUP: Redis lost the job; finishing it still counts, nothing to extend */
    if (r->type == REDIS_REPLY_ERROR && !is_error(r, "NOGROUP"))
        return unexpected(q, "XCLAIM", r);
    freeReplyObject(r);
    return DMARCD_OK;
}

enum dmarcd_err queue_ack(struct queue *q, const struct queue_job *job)
{
    char id[24];
    redisReply *r = NULL;
    snprintf(id, sizeof(id), "%" PRIu64, job->inbox_id);
    const char *keys[] = { q->k_jobs, q->k_known };
    const char *args[] = { q->group, job->entry, id };
    enum dmarcd_err rc = eval(q, "ack", LUA_ACK, 2, keys, 3, args, NULL, &r);
    freeReplyObject(r);
    return rc;
}

bool queue_exhausted(const struct queue *q, const struct queue_job *job)
{
    return job->attempt >= q->o.max_attempts;
}

enum dmarcd_err queue_retry(struct queue *q, const struct queue_job *job, uint32_t delay_ms)
{
    char id[24], next[16], delay[16];
    redisReply *r = NULL;
    if (delay_ms == 0) {
        uint32_t full = queue_backoff_ms(&q->o, job->attempt);
        delay_ms = full - (uint32_t)(next_random(q) % (full / 4 + 1));
    }
    snprintf(id, sizeof(id), "%" PRIu64, job->inbox_id);
    snprintf(next, sizeof(next), "%u", job->attempt + 1);
    snprintf(delay, sizeof(delay), "%" PRIu32, delay_ms);
    const char *keys[] = { q->k_jobs, q->k_delayed, q->k_known };
    const char *args[] = { q->group, job->entry, id, next, delay };
    enum dmarcd_err rc = eval(q, "retry", LUA_RETRY, 3, keys, 5, args, NULL, &r);
    if (!rc)
        log_info("job retry scheduled", LOG_UINT("inbox_id", job->inbox_id),
                 LOG_UINT("attempt", job->attempt + 1), LOG_UINT("delay_ms", delay_ms));
    freeReplyObject(r);
    return rc;
}

/* The first max bytes of s, not cutting a UTF-8 sequence in two. */
static size_t cut_utf8(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

enum dmarcd_err queue_dead(struct queue *q, const struct queue_job *job, const char *reason)
{
    char id[24], attempt[16], max[24];
    redisReply *r = NULL;
    if (!reason)
        reason = "";
    snprintf(id, sizeof(id), "%" PRIu64, job->inbox_id);
    snprintf(attempt, sizeof(attempt), "%u", job->attempt);
    snprintf(max, sizeof(max), "%" PRIu64, q->o.dead_max_len);
    const char *keys[] = { q->k_jobs, q->k_dead, q->k_known };
    const char *args[] = { q->group, job->entry, id, attempt, reason, max };
    const size_t lens[] = { strlen(q->group), strlen(job->entry), strlen(id), strlen(attempt),
                            cut_utf8(reason, DEAD_REASON_MAX), strlen(max) };
    enum dmarcd_err rc = eval(q, "dead", LUA_DEAD, 3, keys, 6, args, lens, &r);
    if (!rc)
        log_warn("job dead-lettered", LOG_UINT("inbox_id", job->inbox_id),
                 LOG_UINT("attempt", job->attempt), LOG_STR("reason", reason));
    freeReplyObject(r);
    return rc;
}

/* ---- reconciliation support ---- */

static enum dmarcd_err unknown_batch(struct queue *q, const uint64_t *ids, size_t n,
                                     const char *horizon, bool *unknown)
{
    size_t argc = 5 + n;
    const char **argv = xcalloc(argc, sizeof(*argv));
    char (*num)[24] = xcalloc(n ? n : 1, sizeof(*num));
    redisReply *r = NULL;
    argv[0] = "EVAL";
    argv[1] = LUA_UNKNOWN;
    argv[2] = "1";
    argv[3] = q->k_known;
    argv[4] = horizon;
    for (size_t i = 0; i < n; i++) {
        snprintf(num[i], sizeof(num[i]), "%" PRIu64, ids[i]);
        argv[5 + i] = num[i];
    }
    enum dmarcd_err rc = command(q, (int)argc, argv, NULL, 0, &r);
    if (!rc && (r->type != REDIS_REPLY_ARRAY || r->elements != n)) {
        rc = unexpected(q, "unknown", r);
        r = NULL;
    }
    for (size_t i = 0; !rc && i < n; i++)
        unknown[i] = r->element[i]->type != REDIS_REPLY_INTEGER || r->element[i]->integer != 0;
    freeReplyObject(r);
    free(num);
    free(argv);
    return rc;
}

enum dmarcd_err queue_unknown(struct queue *q, const uint64_t *ids, size_t n,
                              uint32_t horizon_ms, bool *unknown)
{
    char horizon[16];
    enum dmarcd_err rc = DMARCD_OK;
    snprintf(horizon, sizeof(horizon), "%" PRIu32, horizon_ms);
    for (size_t off = 0; !rc && off < n; off += UNKNOWN_BATCH) {
        size_t k = n - off < UNKNOWN_BATCH ? n - off : UNKNOWN_BATCH;
        rc = unknown_batch(q, ids + off, k, horizon, unknown + off);
    }
    return rc;
}

/* ---- statistics ---- */

/* A simple command whose integer reply goes to *out (0 for nil or an error). */
static enum dmarcd_err integer_command(struct queue *q, int argc, const char **argv,
                                       uint64_t *out)
{
    redisReply *r = NULL;
    enum dmarcd_err rc = command(q, argc, argv, NULL, 0, &r);
    if (rc)
        return rc;
    if (r->type == REDIS_REPLY_ERROR)
        return unexpected(q, argv[0], r);
    *out = r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? (uint64_t)r->integer : 0;
    freeReplyObject(r);
    return DMARCD_OK;
}

/* The server's clock in ms. */
static enum dmarcd_err server_ms(struct queue *q, uint64_t *now)
{
    const char *argv[] = { "TIME" };
    uint64_t s = 0, us = 0;
    redisReply *r = NULL;
    enum dmarcd_err rc = command(q, 1, argv, NULL, 0, &r);
    if (rc)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        !queue_parse_u64(r->element[0]->str, r->element[0]->len, &s) ||
        !queue_parse_u64(r->element[1]->str, r->element[1]->len, &us))
        return unexpected(q, "TIME", r);
    *now = s * 1000 + us / 1000;
    freeReplyObject(r);
    return DMARCD_OK;
}

/* Integer field name of a flat [name, value, ...] reply (XINFO). */
static bool info_int(const redisReply *r, const char *name, uint64_t *out)
{
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        if (str_eq(r->element[i], name) && r->element[i + 1]->type == REDIS_REPLY_INTEGER) {
            long long v = r->element[i + 1]->integer;
            *out = v > 0 ? (uint64_t)v : 0;
            return true;
        }
    }
    return false;
}

/* pending and consumers of our group from XINFO GROUPS. */
static enum dmarcd_err group_info(struct queue *q, struct queue_stats *s)
{
    const char *argv[] = { "XINFO", "GROUPS", q->k_jobs };
    redisReply *r = NULL;
    enum dmarcd_err rc = command(q, 3, argv, NULL, 0, &r);
    if (rc)
        return rc;
    if (r->type == REDIS_REPLY_ERROR) {   /* no such key: Redis holds nothing of ours */
        freeReplyObject(r);
        return DMARCD_OK;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *g = r->element[i];
        for (size_t j = 0; g->type == REDIS_REPLY_ARRAY && j + 1 < g->elements; j += 2) {
            if (str_eq(g->element[j], "name") && str_eq(g->element[j + 1], q->group)) {
                s->group_exists = true;
                (void)info_int(g, "pending", &s->pending);
                (void)info_int(g, "consumers", &s->consumers);
            }
        }
    }
    freeReplyObject(r);
    return DMARCD_OK;
}

/* Idle time of the oldest pending entry (XPENDING - + 1). */
static enum dmarcd_err oldest_pending(struct queue *q, uint64_t *idle)
{
    const char *argv[] = { "XPENDING", q->k_jobs, q->group, "-", "+", "1" };
    redisReply *r = NULL;
    enum dmarcd_err rc = command(q, 6, argv, NULL, 0, &r);
    if (rc)
        return rc;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1) {
        const redisReply *e = r->element[0];
        if (e->type == REDIS_REPLY_ARRAY && e->elements >= 3 &&
            e->element[2]->type == REDIS_REPLY_INTEGER && e->element[2]->integer > 0)
            *idle = (uint64_t)e->element[2]->integer;
    }
    freeReplyObject(r);
    return DMARCD_OK;
}

/* Age of the first entry of the stream, from its id's time part. */
static enum dmarcd_err oldest_entry(struct queue *q, uint64_t now, uint64_t *age)
{
    const char *argv[] = { "XRANGE", q->k_jobs, "-", "+", "COUNT", "1" };
    redisReply *r = NULL;
    uint64_t ms = 0;
    enum dmarcd_err rc = command(q, 6, argv, NULL, 0, &r);
    if (rc)
        return rc;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 1 &&
        r->element[0]->element[0]->type == REDIS_REPLY_STRING &&
        queue_entry_ms(r->element[0]->element[0]->str, &ms) && ms < now)
        *age = now - ms;
    freeReplyObject(r);
    return DMARCD_OK;
}

enum dmarcd_err queue_stats(struct queue *q, struct queue_stats *s)
{
    uint64_t now = 0;
    memset(s, 0, sizeof(*s));
    const char *xlen[] = { "XLEN", q->k_jobs };
    const char *zcard[] = { "ZCARD", q->k_delayed };
    const char *dead[] = { "XLEN", q->k_dead };
    enum dmarcd_err rc = integer_command(q, 2, xlen, &s->length);
    if (!rc)
        rc = integer_command(q, 2, zcard, &s->delayed);
    if (!rc)
        rc = integer_command(q, 2, dead, &s->dead);
    if (!rc)
        rc = group_info(q, s);
    if (!rc && s->group_exists && s->pending)
        rc = oldest_pending(q, &s->oldest_pending_idle_ms);
    if (!rc)
        rc = server_ms(q, &now);
    if (!rc && s->length)
        rc = oldest_entry(q, now, &s->oldest_entry_age_ms);
    s->waiting = s->length > s->pending ? s->length - s->pending : 0;
    return rc;
}

enum dmarcd_err queue_prune_consumers(struct queue *q, uint64_t idle_ms, unsigned *removed)
{
    const char *argv[] = { "XINFO", "CONSUMERS", q->k_jobs, q->group };
    redisReply *r = NULL;
    unsigned n = 0;
    enum dmarcd_err rc = command(q, 4, argv, NULL, 0, &r);
    if (rc)
        return rc;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && !rc; i++) {
        const redisReply *c = r->element[i];
        uint64_t pending = 1, idle = 0;
        const char *name = NULL;
        for (size_t j = 0; c->type == REDIS_REPLY_ARRAY && j + 1 < c->elements; j += 2) {
            if (str_eq(c->element[j], "name") && c->element[j + 1]->type == REDIS_REPLY_STRING)
                name = c->element[j + 1]->str;
        }
        if (!name || !info_int(c, "pending", &pending) || !info_int(c, "idle", &idle) ||
            pending != 0 || idle <= idle_ms)
            continue;
        const char *del[] = { "XGROUP", "DELCONSUMER", q->k_jobs, q->group, name };
        uint64_t ignored = 0;
        rc = integer_command(q, 5, del, &ignored);
        n += !rc;
    }
    freeReplyObject(r);
    if (n)
        log_info("idle queue consumers removed", LOG_UINT("count", n));
    if (removed)
        *removed = n;
    return rc;
}

/* ---- locks ---- */

/* <prefix>lock:<name> into buf; false when name is not a valid name. */
static bool lock_key(const struct queue *q, const char *name, char *buf, size_t size)
{
    if (!queue_name_valid(name))
        return false;
    int n = snprintf(buf, size, "%slock:%s", q->prefix, name);
    return n > 0 && (size_t)n < size;
}

enum dmarcd_err queue_lock(struct queue *q, const char *name, const char *owner,
                           uint32_t ttl_ms, bool *held)
{
    char k[2 * QUEUE_NAME_MAX + 8], ttl[16];
    redisReply *r = NULL;
    *held = false;
    if (!lock_key(q, name, k, sizeof(k)) || !queue_name_valid(owner) || ttl_ms == 0)
        return DMARCD_E_INVALID;
    snprintf(ttl, sizeof(ttl), "%" PRIu32, ttl_ms);
    const char *keys[] = { k };
    const char *args[] = { owner, ttl };
    enum dmarcd_err rc = eval(q, "lock", LUA_LOCK, 1, keys, 2, args, NULL, &r);
    if (!rc)
        *held = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return rc;
}

enum dmarcd_err queue_unlock(struct queue *q, const char *name, const char *owner)
{
    char k[2 * QUEUE_NAME_MAX + 8];
    redisReply *r = NULL;
    if (!lock_key(q, name, k, sizeof(k)) || !queue_name_valid(owner))
        return DMARCD_E_INVALID;
    const char *keys[] = { k };
    const char *args[] = { owner };
    enum dmarcd_err rc = eval(q, "unlock", LUA_UNLOCK, 1, keys, 1, args, NULL, &r);
    freeReplyObject(r);
    return rc;
}
