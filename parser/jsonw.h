/*
 * jsonw.h - a streaming JSON writer for the parser's output sinks.
 *
 * jansson builds whole documents in memory; `dmarcd parse` must print a
 * 300k-record report in constant memory and at close to parsing speed, so
 * the sinks write JSON token by token through this small writer instead.
 * It tracks nesting and commas, escapes every string (control bytes as
 * \u00XX, invalid UTF-8 replaced by U+FFFD so the output is always valid
 * JSON), and skips NULL string values so absent fields are omitted.
 *
 *   struct jsonw w; jsonw_init(&w, stdout);
 *   jsonw_object_begin(&w, NULL);
 *   jsonw_string(&w, "kind", "aggregate");
 *   jsonw_int(&w, "count", 3);
 *   jsonw_object_end(&w);
 *   jsonw_newline(&w);
 */
#ifndef DMARCD_PARSER_JSONW_H
#define DMARCD_PARSER_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSONW_MAX_DEPTH 32
#define JSONW_BUFFER_BYTES (16 * 1024)

/* Output is buffered here and handed to `out` when the buffer fills, when
 * a top-level value or line ends, and on jsonw_flush(); write errors show
 * as ferror(out). */
struct jsonw {
    FILE *out;
    size_t len;                 /* bytes in buf */
    char buf[JSONW_BUFFER_BYTES];
    int depth;
    bool need_comma[JSONW_MAX_DEPTH + 1];
};

void jsonw_init(struct jsonw *w, FILE *out);

/* key is NULL inside arrays and at the top level. */
void jsonw_object_begin(struct jsonw *w, const char *key);
void jsonw_object_end(struct jsonw *w);
void jsonw_array_begin(struct jsonw *w, const char *key);
void jsonw_array_end(struct jsonw *w);

/* A NULL value writes nothing (the member is omitted). */
void jsonw_string(struct jsonw *w, const char *key, const char *value);
void jsonw_string_len(struct jsonw *w, const char *key, const char *value, size_t len);
void jsonw_int(struct jsonw *w, const char *key, int64_t value);
void jsonw_uint(struct jsonw *w, const char *key, uint64_t value);
void jsonw_bool(struct jsonw *w, const char *key, bool value);

/* Writes a newline at the top level (ndjson), and flushes. */
void jsonw_newline(struct jsonw *w);
/* Hands what is buffered to the stream (before writing to it directly). */
void jsonw_flush(struct jsonw *w);
/* Escapes s as a JSON string body (no quotes) to out. */
void jsonw_escape(FILE *out, const char *s, size_t len);

#endif
