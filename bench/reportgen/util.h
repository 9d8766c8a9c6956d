/*
 * util.h - tiny helpers shared by dmarcd-reportgen's files.
 *
 * Out of memory and internal formatting overflows are program bugs or a dead
 * machine, never caused by input, so these helpers abort with a message
 * instead of returning errors the callers would have to thread through.
 */
#ifndef REPORTGEN_UTIL_H
#define REPORTGEN_UTIL_H

#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#define RG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define RG_NORETURN     __attribute__((noreturn))
#else
#define RG_PRINTF(f, a)
#define RG_NORETURN
#endif

#define RG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Prints "dmarcd-reportgen: <message>" on stderr and aborts. */
RG_NORETURN void rg_die(const char *fmt, ...) RG_PRINTF(1, 2);

/* malloc/realloc that never return NULL. */
void *rg_xmalloc(size_t n);
void *rg_xrealloc(void *p, size_t n);

/* snprintf into a fixed buffer; truncation is a bug and aborts. */
void rg_fmt(char *dst, size_t size, const char *fmt, ...) RG_PRINTF(3, 4);

#endif
