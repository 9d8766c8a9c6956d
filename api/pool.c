/*
 * pool.c - the API's connection slots (see pool.h).
 *
 * One mutex guards which slots are busy; connecting and pinging happen
 * outside it, on the slot the request already owns, so a slow database
 * holds up only the requests that need it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/pool.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/portal.h"
#include "lib/banned.h"

#define ACQUIRE_WAIT_S 10
#define PING_AFTER_IDLE_S 60

struct api_slot {
    struct store *st;
    struct queue *q;
    bool busy;
    time_t last_used;
};

struct api_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct db_url db;
    struct redis_url redis;
    bool have_redis;
    unsigned size;
    struct api_slot *slots;
};

static char *dup_opt(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

struct api_pool *api_pool_new(const struct db_url *db, const struct redis_url *redis,
                              unsigned size)
{
    struct api_pool *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    p->db.user = dup_opt(db->user);
    p->db.password = dup_opt(db->password);
    p->db.host = dup_opt(db->host);
    p->db.port = db->port;
    p->db.database = dup_opt(db->database);
    p->db.socket = dup_opt(db->socket);
    p->db.tls = db->tls;
    p->db.tls_ca = dup_opt(db->tls_ca);
    if (redis) {
        p->have_redis = true;
        p->redis.user = dup_opt(redis->user);
        p->redis.password = dup_opt(redis->password);
        p->redis.host = dup_opt(redis->host);
        p->redis.port = redis->port;
        p->redis.db = redis->db;
    }
    p->size = size ? size : 1;
    p->slots = xcalloc(p->size, sizeof(*p->slots));
    return p;
}

void api_pool_free(struct api_pool *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < p->size; i++) {
        store_close(p->slots[i].st);
        queue_close(p->slots[i].q);
    }
    free(p->slots);
    db_url_release(&p->db);
    if (p->have_redis)
        redis_url_release(&p->redis);
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static struct api_slot *take_slot(struct api_pool *p)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ACQUIRE_WAIT_S;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        struct api_slot *best = NULL;
        for (unsigned i = 0; i < p->size; i++) {
            struct api_slot *s = &p->slots[i];
            if (!s->busy && (!best || (s->st && !best->st)))
                best = s;
        }
        if (best) {
            best->busy = true;
            pthread_mutex_unlock(&p->lock);
            return best;
        }
        if (pthread_cond_timedwait(&p->freed, &p->lock, &until) == ETIMEDOUT) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
    }
}

static void give_back(struct api_pool *p, struct api_slot *s)
{
    pthread_mutex_lock(&p->lock);
    s->busy = false;
    s->last_used = time(NULL);
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

enum dmarcd_err api_pool_acquire(struct api_pool *p, struct api_slot **slot, struct store **st)
{
    struct store_options opts;
    struct api_slot *s = take_slot(p);
    *slot = NULL;
    *st = NULL;
    if (!s) {
        log_warn("api: no free database connection", LOG_UINT("wait_s", ACQUIRE_WAIT_S));
        return DMARCD_E_TIMEOUT;
    }
    if (s->st && time(NULL) - s->last_used > PING_AFTER_IDLE_S && portal_ping(s->st)) {
        store_close(s->st);
        s->st = NULL;
    }
    if (!s->st) {
        store_options_default(&opts);
        opts.connect_timeout_s = 3;
        opts.read_timeout_s = 30;
        opts.write_timeout_s = 30;
        opts.connect_attempts = 2;
        opts.backoff_first_ms = 100;
        opts.backoff_max_ms = 200;
        enum dmarcd_err rc = store_open_opts(&p->db, &opts, &s->st, NULL);
        if (rc) {
            s->st = NULL;
            give_back(p, s);
            return rc;
        }
    }
    *slot = s;
    *st = s->st;
    return DMARCD_OK;
}

enum dmarcd_err api_pool_queue(struct api_pool *p, struct api_slot *s, struct queue **q)
{
    struct queue_options o;
    *q = NULL;
    if (!p->have_redis)
        return DMARCD_E_QUEUE_UNAVAILABLE;
    if (!s->q) {
        queue_options_default(&o);
        o.client_name = "dmarcd-api";
        o.connect_timeout_ms = 1000;
        o.command_timeout_ms = 3000;
        o.connect_attempts = 2;
        o.backoff_first_ms = 100;
        o.backoff_max_ms = 200;
        enum dmarcd_err rc = queue_open(&p->redis, &o, &s->q, NULL);
        if (rc) {
            s->q = NULL;
            return rc;
        }
    }
    *q = s->q;
    return DMARCD_OK;
}

void api_pool_release(struct api_pool *p, struct api_slot *s, enum dmarcd_err store_rc)
{
    if (!s)
        return;
    if (store_rc == DMARCD_E_DB_UNAVAILABLE || store_rc == DMARCD_E_TIMEOUT) {
        store_close(s->st);
        s->st = NULL;
    }
    give_back(p, s);
}
