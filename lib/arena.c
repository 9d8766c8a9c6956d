/*
 * arena.c - block-chained bump allocator. Blocks are 16 KiB or the size of
 * a larger request; reset frees all blocks but the oldest so a steady
 * stream of records reuses one block without touching malloc.
 */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

#define ARENA_BLOCK_SIZE (16u * 1024u)
#define ARENA_ALIGN 8u

struct arena_block {
    struct arena_block *next;
    size_t size;
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void arena_init(struct arena *a, size_t budget)
{
    a->head = NULL;
    a->used = 0;
    a->budget = budget;
}

void arena_release(struct arena *a)
{
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    arena_init(a, a->budget);
}

void arena_reset(struct arena *a)
{
    struct arena_block *b = a->head;
    if (!b)
        return;
    while (b->next) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    b->used = 0;
    a->head = b;
    a->used = 0;
}

static struct arena_block *arena_new_block(size_t min_size)
{
    size_t size = min_size > ARENA_BLOCK_SIZE ? min_size : ARENA_BLOCK_SIZE;
    struct arena_block *b = xmalloc(sizeof(*b) + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

void *arena_alloc(struct arena *a, size_t size)
{
    if (size > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    size_t rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (rounded > a->budget || a->used > a->budget - rounded)
        return NULL;

    struct arena_block *b = a->head;
    if (!b || b->size - b->used < rounded) {
        struct arena_block *fresh = arena_new_block(rounded);
        /* Keep the oldest block last so reset can keep it. */
        fresh->next = b;
        a->head = fresh;
        b = fresh;
    }
    void *p = b->data + b->used;
    b->used += rounded;
    a->used += rounded;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_slicedup(struct arena *a, struct slice s)
{
    return arena_strndup(a, s.ptr, s.len);
}
