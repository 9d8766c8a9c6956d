/*
 * log.h - one line per event, `key=value`, on stderr (or a chosen stream).
 *
 *   log_info("report stored", LOG_STR("file", path), LOG_INT("records", n));
 *
 * prints
 *
 *   ts=2026-11-23T13:40:00Z level=info msg="report stored" file=a.xml records=12
 *
 * The level is checked before any field is built, so disabled debug lines
 * cost one comparison. Values are quoted and escaped by the logger (control
 * bytes as \xNN, long values cut at DMARCD_MAX_LOG_VALUE_BYTES), so input
 * can never forge a line. Secrets and failure-report contents are never
 * passed here: there is deliberately no way to log a config value
 * generically (see config_describe_value() for the masked form).
 */
#ifndef DMARCD_LOG_H
#define DMARCD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "slice.h"

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

enum log_field_type { LOG_FIELD_END, LOG_FIELD_STR, LOG_FIELD_SLICE, LOG_FIELD_INT,
                      LOG_FIELD_UINT, LOG_FIELD_DOUBLE, LOG_FIELD_ERR };

struct log_field {
    const char *key;
    enum log_field_type type;
    union {
        const char *s;
        struct slice sl;
        int64_t i;
        uint64_t u;
        double d;
        enum dmarcd_err err;
    } v;
};

#define LOG_STR(k, val) ((struct log_field){ .key = (k), .type = LOG_FIELD_STR, .v.s = (val) })
#define LOG_SLICE(k, val) ((struct log_field){ .key = (k), .type = LOG_FIELD_SLICE, .v.sl = (val) })
#define LOG_INT(k, val) ((struct log_field){ .key = (k), .type = LOG_FIELD_INT, .v.i = (int64_t)(val) })
#define LOG_UINT(k, val) ((struct log_field){ .key = (k), .type = LOG_FIELD_UINT, .v.u = (uint64_t)(val) })
#define LOG_DOUBLE(k, val) ((struct log_field){ .key = (k), .type = LOG_FIELD_DOUBLE, .v.d = (val) })
/* Logs both error=<code> and reason="<sentence>". */
#define LOG_ERR(val) ((struct log_field){ .key = "error", .type = LOG_FIELD_ERR, .v.err = (val) })

/* Process-wide settings; call before starting threads. Default: info, stderr. */
void log_set_level(enum log_level level);
void log_set_stream(FILE *stream);
bool log_enabled(enum log_level level);

/* "debug" | "info" | "warn" | "error" (case-insensitive). */
bool log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

/* Writes one line; n is the number of fields. Use the macros below. */
void log_emit(enum log_level level, const char *msg, const struct log_field *fields, size_t n);

/* The leading END entry lets the field list be empty: { END, } is valid C. */
#define LOG_AT_(lvl, msg, ...)                                                      \
    do {                                                                            \
        if (log_enabled(lvl)) {                                                     \
            const struct log_field log_fields_[] = { { .type = LOG_FIELD_END },     \
                                                     __VA_ARGS__ };                 \
            log_emit(lvl, msg, log_fields_ + 1,                                     \
                     sizeof(log_fields_) / sizeof(log_fields_[0]) - 1);             \
        }                                                                           \
    } while (0)

/* log_info("msg") or log_info("msg", LOG_STR(...), LOG_INT(...)). */
#define log_debug(msg, ...) LOG_AT_(LOG_LEVEL_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) LOG_AT_(LOG_LEVEL_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) LOG_AT_(LOG_LEVEL_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) LOG_AT_(LOG_LEVEL_ERROR, msg, __VA_ARGS__)

#endif
