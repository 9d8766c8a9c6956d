/*
 * rollup.c - summing a report's records by roll-up key (see rollup.h).
 *
 * An open-addressing hash table (linear probing, FNV-1a) over an array of
 * entries: adds are one hash and usually one comparison, and clearing for
 * the next report keeps all the memory. Verdicts are mapped to the
 * canonical static strings first, so the key compares them by pointer.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "storage/fields.h"
#include "storage/rollup.h"
#include "lib/banned.h"

/* One object, so every absent verdict has the same address. */
static const char UNKNOWN[] = "unknown";

void rollup_map_init(struct rollup_map *m)
{
    memset(m, 0, sizeof(*m));
}

static void free_strings(struct rollup_map *m)
{
    for (size_t i = 0; i < m->count; i++)
        free(m->entries[i].header_from);
}

void rollup_map_release(struct rollup_map *m)
{
    free_strings(m);
    free(m->entries);
    free(m->slots);
    free(m->sorted);
    rollup_map_init(m);
}

void rollup_map_clear(struct rollup_map *m)
{
    free_strings(m);
    m->count = 0;
    if (m->slots)
        memset(m->slots, 0, m->nslots * sizeof(*m->slots));
}

size_t rollup_map_count(const struct rollup_map *m)
{
    return m->count;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t key_hash(const unsigned char addr[16], const char *from, const char *d,
                         const char *k, const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    h = fnv1a(h, addr, 16);
    h = fnv1a(h, from, strlen(from) + 1);
    /* the verdicts are static strings: their addresses identify them */
    const void *ptrs[3] = { d, k, s };
    return fnv1a(h, ptrs, sizeof(ptrs));
}

static bool key_equal(const struct rollup_entry *e, uint64_t hash, const unsigned char addr[16],
                      const char *from, const char *d, const char *k, const char *s)
{
    return e->hash == hash && e->disposition == d && e->dkim == k && e->spf == s &&
           memcmp(e->addr, addr, 16) == 0 && strcmp(e->header_from, from) == 0;
}

static void rehash(struct rollup_map *m)
{
    size_t n = m->nslots ? m->nslots * 2 : 64;
    free(m->slots);
    m->slots = xcalloc(n, sizeof(*m->slots));
    m->nslots = n;
    for (size_t i = 0; i < m->count; i++) {
        size_t j = (size_t)m->entries[i].hash & (n - 1);
        while (m->slots[j])
            j = (j + 1) & (n - 1);
        m->slots[j] = i + 1;
    }
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

void rollup_map_add(struct rollup_map *m, const char *source_ip, const char *header_from,
                    const char *disposition, const char *dkim, const char *spf,
                    uint64_t messages)
{
    unsigned char addr[16] = { 0 };
    const char *from = header_from ? header_from : "";
    const char *d = store_enum(STORE_ENUM_DISPOSITION, disposition);
    const char *k = store_enum(STORE_ENUM_VERDICT, dkim);
    const char *s = store_enum(STORE_ENUM_VERDICT, spf);
    d = d ? d : UNKNOWN;
    k = k ? k : UNKNOWN;
    s = s ? s : UNKNOWN;
    if (inet_pton(AF_INET6, source_ip, addr) != 1)
        memset(addr, 0, sizeof(addr));
    uint64_t hash = key_hash(addr, from, d, k, s);

    if ((m->count + 1) * 2 > m->nslots)
        rehash(m);
    size_t j = (size_t)hash & (m->nslots - 1);
    for (; m->slots[j]; j = (j + 1) & (m->nslots - 1)) {
        struct rollup_entry *e = &m->entries[m->slots[j] - 1];
        if (key_equal(e, hash, addr, from, d, k, s)) {
            e->messages = add_sat(e->messages, messages);
            e->records++;
            return;
        }
    }
    if (m->count == m->alloc) {
        m->alloc = m->alloc ? m->alloc * 2 : 64;
        m->entries = xreallocarray(m->entries, m->alloc, sizeof(*m->entries));
    }
    struct rollup_entry *e = &m->entries[m->count];
    memset(e, 0, sizeof(*e));
    memcpy(e->addr, addr, sizeof(addr));
    size_t iplen = strlen(source_ip);
    if (iplen >= sizeof(e->source_ip))
        iplen = sizeof(e->source_ip) - 1;
    memcpy(e->source_ip, source_ip, iplen);
    e->header_from = xstrdup(from);
    e->disposition = d;
    e->dkim = k;
    e->spf = s;
    e->messages = messages;
    e->records = 1;
    e->hash = hash;
    m->slots[j] = ++m->count;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct rollup_entry *x = *(const struct rollup_entry *const *)a;
    const struct rollup_entry *y = *(const struct rollup_entry *const *)b;
    int c = memcmp(x->addr, y->addr, 16);
    if (!c)
        c = strcmp(x->header_from, y->header_from);
    if (!c)
        c = strcmp(x->disposition, y->disposition);
    if (!c)
        c = strcmp(x->dkim, y->dkim);
    if (!c)
        c = strcmp(x->spf, y->spf);
    return c;
}

struct rollup_entry *const *rollup_map_sorted(struct rollup_map *m, size_t *n)
{
    *n = m->count;
    free(m->sorted);
    m->sorted = xcalloc(m->count ? m->count : 1, sizeof(*m->sorted));
    for (size_t i = 0; i < m->count; i++)
        m->sorted[i] = &m->entries[i];
    if (m->count > 1)
        qsort(m->sorted, m->count, sizeof(*m->sorted), entry_cmp);
    return m->sorted;
}
