/*
 * xalloc.h - allocation that never returns NULL.
 *
 * Out of memory is not something a worker can handle sensibly, so it aborts
 * with a message; hostile input can never get here because every buffer that
 * grows with input is capped first (limits.h). Sizes are overflow-checked.
 */
#ifndef DMARCD_XALLOC_H
#define DMARCD_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t nmemb, size_t size) __attribute__((malloc, returns_nonnull));
void *xrealloc(void *ptr, size_t size) __attribute__((returns_nonnull));
/* realloc for an array of nmemb elements of size bytes, overflow-checked. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size) __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
char *xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));

/* Abort the process with a message: for broken invariants, never for input. */
_Noreturn void dmarcd_die(const char *what);

#endif
