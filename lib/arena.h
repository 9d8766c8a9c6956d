/*
 * arena.h - a bump allocator for short-lived parser strings.
 *
 * The parser copies the text of one record into an arena, hands the record
 * to its sink, then arena_reset()s: memory use stays that of the largest
 * record, not of the report. Allocations are 8-byte aligned and live until
 * the next reset/release. The arena has a budget (from limits.h): an
 * allocation past it returns NULL and the caller reports DMARCD_E_TOO_BIG,
 * so hostile input cannot exhaust memory through it.
 *
 *   struct arena a; arena_init(&a, DMARCD_MAX_RECORD_BYTES);
 *   char *s = arena_strndup(&a, text, len); if (!s) return DMARCD_E_TOO_BIG;
 *   ... arena_reset(&a); ... arena_release(&a);
 */
#ifndef DMARCD_ARENA_H
#define DMARCD_ARENA_H

#include <stddef.h>

#include "slice.h"

struct arena_block;

struct arena {
    struct arena_block *head;   /* block being filled; older ones follow */
    size_t used;                /* bytes handed out since the last reset */
    size_t budget;              /* most bytes handed out between resets */
};

void arena_init(struct arena *a, size_t budget);
void arena_release(struct arena *a);
/* Forgets every allocation; keeps the first block for reuse. */
void arena_reset(struct arena *a);

void *arena_alloc(struct arena *a, size_t size);
/* A NUL-terminated copy of len bytes of s, or NULL past the budget. */
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_slicedup(struct arena *a, struct slice s);

#endif
