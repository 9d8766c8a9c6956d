/*
 * rollup.h - one report's contribution to daily_rollups, summed in memory.
 *
 * daily_rollups has one row per (tenant, domain, day, source_ip,
 * header_from, disposition, dkim, spf). Within one aggregate report the
 * tenant, domain and day are fixed, so the sink sums the report's records
 * by the other five and upserts the sums when the report ends: one row
 * per distinct key instead of one per record (a big sender's report
 * repeats the same source and verdicts thousands of times).
 *
 * Key columns cannot be NULL: an absent header_from is "", an absent or
 * unknown verdict is "unknown" (rollup_map_add maps them). The map owns
 * copies of every string. It grows with the number of distinct keys; the
 * sink bounds it by flushing (upserting and clearing) at ROLLUP_MAP_FLUSH
 * entries, which keeps the sums right because the upsert adds.
 *
 *   struct rollup_map m; rollup_map_init(&m);
 *   rollup_map_add(&m, "::ffff:192.0.2.1", "example.com", "none", "pass", NULL, 12);
 *   entries = rollup_map_sorted(&m, &n);     in key order, for the upsert
 *   rollup_map_clear(&m);  ...  rollup_map_release(&m);
 */
#ifndef DMARCD_STORAGE_ROLLUP_H
#define DMARCD_STORAGE_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "storage/inet.h"

/* Distinct keys held before the sink flushes them mid-report. */
#define ROLLUP_MAP_FLUSH 50000

struct rollup_entry {
    unsigned char addr[16];             /* source_ip, binary: ordering */
    char source_ip[STORE_INET6_TEXT_MAX]; /* as bound to the INET6 column */
    char *header_from;                  /* "" when absent */
    const char *disposition;            /* a static string, "unknown" if absent */
    const char *dkim, *spf;             /* likewise */
    uint64_t messages;                  /* saturating sums */
    uint64_t records;
    uint64_t hash;
};

struct rollup_map {
    struct rollup_entry *entries;       /* entries[0..count) in insertion order */
    size_t count, alloc;
    size_t *slots;                      /* open addressing: index + 1, 0 empty */
    size_t nslots;                      /* a power of two */
    struct rollup_entry **sorted;       /* rollup_map_sorted()'s result */
};

void rollup_map_init(struct rollup_map *m);
void rollup_map_release(struct rollup_map *m);
/* Forgets every entry, keeping the memory. */
void rollup_map_clear(struct rollup_map *m);

/*
 * Adds one record. source_ip is the INET6 column text (inet.h);
 * disposition/dkim/spf are the values of store_enum() (NULL: unknown).
 */
void rollup_map_add(struct rollup_map *m, const char *source_ip, const char *header_from,
                    const char *disposition, const char *dkim, const char *spf,
                    uint64_t messages);

size_t rollup_map_count(const struct rollup_map *m);

/*
 * The entries in key order (address bytes, header_from, disposition, dkim,
 * spf). Every writer takes the rollup rows' locks in this one order, which
 * keeps two reports committed at once from deadlocking on each other's
 * rows. Valid until the next add, clear or release.
 */
struct rollup_entry *const *rollup_map_sorted(struct rollup_map *m, size_t *n);

#endif
