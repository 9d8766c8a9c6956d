/*
 * cache.c - the answer cache of cache.h: a hash table of entries on an LRU
 * list under one mutex, with one condition variable the waiters of
 * pending entries sleep on. Entries are few (bounded by bytes) and the
 * critical sections copy at most one answer, so one lock is enough.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/cache.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

#define BUCKETS 512
#define WAIT_S 30                       /* a waiter gives up on a pending entry after this */

struct entry {
    struct entry *next_in_bucket;
    struct entry *prev, *next;          /* LRU list, most recent first */
    char *key;
    uint64_t hash;
    bool ready;                         /* false: its owner is computing it */
    time_t created;
    char content_type[80];
    char *body;
    size_t len;
};

struct api_cache {
    pthread_mutex_t lock;
    pthread_cond_t done;
    unsigned ttl_s;
    size_t max_bytes;
    size_t bytes;
    struct entry *buckets[BUCKETS];
    struct entry *head, *tail;
    uint64_t hits, misses;
};

static time_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static uint64_t hash_key(const char *key)
{
    uint64_t h = 1469598103934665603u;   /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return h;
}

struct api_cache *api_cache_new(unsigned ttl_s, size_t max_bytes)
{
    struct api_cache *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->done, NULL);
    c->ttl_s = ttl_s;
    c->max_bytes = max_bytes;
    return c;
}

static void entry_free(struct entry *e)
{
    free(e->key);
    free(e->body);
    free(e);
}

void api_cache_free(struct api_cache *c)
{
    if (!c)
        return;
    for (struct entry *e = c->head, *next; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void api_cache_hit_release(struct api_cache_hit *hit)
{
    free(hit->body);
    memset(hit, 0, sizeof(*hit));
}

static struct entry *find(struct api_cache *c, const char *key, uint64_t h)
{
    for (struct entry *e = c->buckets[h % BUCKETS]; e; e = e->next_in_bucket) {
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

static void lru_unlink(struct api_cache *c, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_front(struct api_cache *c, struct entry *e)
{
    e->next = c->head;
    e->prev = NULL;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static void remove_entry(struct api_cache *c, struct entry *e)
{
    struct entry **pp = &c->buckets[e->hash % BUCKETS];
    while (*pp != e)
        pp = &(*pp)->next_in_bucket;
    *pp = e->next_in_bucket;
    lru_unlink(c, e);
    c->bytes -= e->len;
    entry_free(e);
}

enum api_cache_result api_cache_begin(struct api_cache *c, const char *key,
                                      struct api_cache_hit *hit)
{
    uint64_t h = hash_key(key);
    struct timespec until;
    memset(hit, 0, sizeof(*hit));
    if (!c || !c->ttl_s)
        return API_CACHE_BYPASS;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_S;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        struct entry *e = find(c, key, h);
        if (e && e->ready && now_s() - e->created < (time_t)c->ttl_s) {
            snprintf(hit->content_type, sizeof(hit->content_type), "%s", e->content_type);
            hit->body = xmalloc(e->len + 1);
            memcpy(hit->body, e->body, e->len);
            hit->body[e->len] = '\0';
            hit->len = e->len;
            hit->age_s = (unsigned)(now_s() - e->created);
            lru_unlink(c, e);
            lru_front(c, e);
            c->hits++;
            pthread_mutex_unlock(&c->lock);
            return API_CACHE_HIT;
        }
        if (e && e->ready) {
            remove_entry(c, e);
            e = NULL;
        }
        if (!e) {
            e = xcalloc(1, sizeof(*e));
            e->key = xstrdup(key);
            e->hash = h;
            e->next_in_bucket = c->buckets[h % BUCKETS];
            c->buckets[h % BUCKETS] = e;
            lru_front(c, e);
            c->misses++;
            pthread_mutex_unlock(&c->lock);
            return API_CACHE_OWNER;
        }
        if (pthread_cond_timedwait(&c->done, &c->lock, &until) == ETIMEDOUT) {
            c->misses++;
            pthread_mutex_unlock(&c->lock);
            return API_CACHE_BYPASS;
        }
    }
}

void api_cache_end(struct api_cache *c, const char *key, const struct api_response *resp)
{
    uint64_t h = hash_key(key);
    pthread_mutex_lock(&c->lock);
    struct entry *e = find(c, key, h);
    if (e && !e->ready) {
        /* only plain answers: extra headers (CSV file names, cursors) are not kept */
        bool keep = resp && resp->status == 200 && !resp->blob && resp->fd < 0 &&
                    resp->nheaders == 0 && resp->body.len <= c->max_bytes / 4;
        if (keep) {
            e->body = xmalloc(resp->body.len ? resp->body.len : 1);
            memcpy(e->body, resp->body.buf, resp->body.len);
            e->len = resp->body.len;
            snprintf(e->content_type, sizeof(e->content_type), "%s", resp->content_type);
            e->created = now_s();
            e->ready = true;
            c->bytes += e->len;
            while (c->bytes > c->max_bytes && c->tail && c->tail != e) {
                struct entry *victim = c->tail;
                if (!victim->ready)
                    break;      /* never drop a pending entry: its owner will end it */
                remove_entry(c, victim);
            }
        } else {
            remove_entry(c, e);
        }
    }
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->lock);
}

void api_cache_counts(struct api_cache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = *misses = 0;
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->lock);
}
