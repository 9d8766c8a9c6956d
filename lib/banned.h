/*
 * banned.h - libc calls dmarcd never uses, poisoned at compile time.
 *
 * Include it LAST in every .c file, after all system headers (poisoning an
 * identifier that a later system header mentions would break that header).
 * Use instead: strbuf (lib/strbuf.h) or snprintf with a checked result for
 * formatting, memcpy with a known length for copying, strtok_r-free parsing
 * over struct slice. A ctest lint (tests/lint) checks every .c includes this.
 */
#ifndef DMARCD_BANNED_H
#define DMARCD_BANNED_H

#pragma GCC poison strcpy strcat strncpy strncat sprintf vsprintf gets
#pragma GCC poison strtok asctime ctime gmtime localtime tmpnam mktemp
#pragma GCC poison atoi atol atoll

#endif
