/*
 * pool.h - the API's database and Redis connections: a small fixed set of
 * slots shared by the server threads, each slot one MariaDB connection and
 * (opened when first needed) one Redis queue handle.
 *
 * A struct store is one connection and not thread-safe, so a request takes
 * a whole slot for its duration and gives it back; with as many slots as
 * server threads a request never waits. Connections open lazily, a slot
 * idle for a minute is pinged before use (MariaDB drops idle sessions after
 * wait_timeout), and a connection that failed is closed on release and
 * reopened by the next request that needs it.
 *
 *   struct api_slot *slot; struct store *st;
 *   rc = api_pool_acquire(pool, &slot, &st);      DMARCD_E_DB_UNAVAILABLE: 503
 *   ... queries on st; api_pool_queue(pool, slot, &q) for Redis ...
 *   api_pool_release(pool, slot, last_store_rc);
 */
#ifndef DMARCD_API_POOL_H
#define DMARCD_API_POOL_H

#include "ingest/queue.h"
#include "lib/error.h"
#include "lib/url.h"
#include "storage/store.h"

struct api_pool;
struct api_slot;

/* Copies what it needs from the URLs. size >= 1. */
struct api_pool *api_pool_new(const struct db_url *db, const struct redis_url *redis,
                              unsigned size);
/* Closes every connection; NULL-safe. No slot may be in use. */
void api_pool_free(struct api_pool *pool);

/*
 * Takes a free slot (waiting up to 10 s for one) with a working database
 * connection. DMARCD_E_TIMEOUT when none came free, DMARCD_E_DB_UNAVAILABLE
 * when the database cannot be reached.
 */
enum dmarcd_err api_pool_acquire(struct api_pool *pool, struct api_slot **slot,
                                 struct store **st) DMARCD_MUST_CHECK;

/* The slot's Redis handle, connecting when needed. DMARCD_E_QUEUE_UNAVAILABLE. */
enum dmarcd_err api_pool_queue(struct api_pool *pool, struct api_slot *slot,
                               struct queue **q) DMARCD_MUST_CHECK;

/* Gives the slot back; a connection-level store_rc closes its connection. */
void api_pool_release(struct api_pool *pool, struct api_slot *slot, enum dmarcd_err store_rc);

#endif
