/*
 * log.c - key=value line writer. Each line is built in a local buffer and
 * written with one fputs under the stream lock, so lines from worker
 * threads never interleave. Values are escaped here, in one place, so no
 * caller can forget and no input can inject a fake line or field.
 */
#include "log.h"

#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "limits.h"
#include "strbuf.h"
#include "banned.h"

static _Atomic int log_min_level = LOG_LEVEL_INFO;
static FILE *_Atomic log_stream;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level)
{
    atomic_store(&log_min_level, (int)level);
}

void log_set_stream(FILE *stream)
{
    atomic_store(&log_stream, stream);
}

bool log_enabled(enum log_level level)
{
    return (int)level >= atomic_load_explicit(&log_min_level, memory_order_relaxed);
}

bool log_level_parse(const char *name, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

const char *log_level_name(enum log_level level)
{
    if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
        return "unknown";
    return level_names[level];
}

static bool needs_quotes(struct slice v)
{
    if (v.len == 0)
        return true;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
            return true;
    }
    return false;
}

/* Appends v quoted when needed; bytes outside printable ASCII become \xNN. */
static void append_value(struct strbuf *line, struct slice v)
{
    static const char hex[] = "0123456789abcdef";
    bool quote = needs_quotes(v);
    bool cut = v.len > DMARCD_MAX_LOG_VALUE_BYTES;
    size_t n = cut ? DMARCD_MAX_LOG_VALUE_BYTES : v.len;
    enum dmarcd_err rc = DMARCD_OK;

    if (quote)
        rc |= strbuf_addch(line, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v.ptr[i];
        if (c == '"' || c == '\\') {
            rc |= strbuf_addch(line, '\\');
            rc |= strbuf_addch(line, (char)c);
        } else if (c < ' ' || c >= 0x7f) {
            char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
            rc |= strbuf_add(line, esc, sizeof(esc));
        } else {
            rc |= strbuf_addch(line, (char)c);
        }
    }
    if (cut)
        rc |= strbuf_addstr(line, "...");
    if (quote)
        rc |= strbuf_addch(line, '"');
    (void)rc; /* the line buffer is uncapped: appends cannot fail */
}

static void append_field(struct strbuf *line, const struct log_field *f)
{
    char num[64];
    struct slice v;

    switch (f->type) {
    case LOG_FIELD_STR:
        v = slice_from_cstr(f->v.s ? f->v.s : "(null)");
        break;
    case LOG_FIELD_SLICE:
        v = f->v.sl;
        break;
    case LOG_FIELD_INT:
        v = slice_make(num, (size_t)snprintf(num, sizeof(num), "%lld", (long long)f->v.i));
        break;
    case LOG_FIELD_UINT:
        v = slice_make(num, (size_t)snprintf(num, sizeof(num), "%llu", (unsigned long long)f->v.u));
        break;
    case LOG_FIELD_DOUBLE:
        v = slice_make(num, (size_t)snprintf(num, sizeof(num), "%.6g", f->v.d));
        break;
    case LOG_FIELD_ERR:
        if (strbuf_addstr(line, " error=") == DMARCD_OK)
            append_value(line, slice_from_cstr(dmarcd_err_code(f->v.err)));
        if (strbuf_addstr(line, " reason=") == DMARCD_OK)
            append_value(line, slice_from_cstr(dmarcd_strerror(f->v.err)));
        return;
    case LOG_FIELD_END:
    default:
        return;
    }
    if (strbuf_addch(line, ' ') || strbuf_addstr(line, f->key) || strbuf_addch(line, '='))
        return;
    append_value(line, v);
}

static void append_timestamp(struct strbuf *line)
{
    struct timespec now;
    struct tm tm;
    char ts[32];

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    (void)strbuf_addstr(line, "ts=");
    (void)strbuf_add(line, ts, n);
    (void)strbuf_addf(line, ".%03ldZ", now.tv_nsec / 1000000L);
}

void log_emit(enum log_level level, const char *msg, const struct log_field *fields, size_t n)
{
    struct strbuf line;
    FILE *out = atomic_load(&log_stream);

    strbuf_init(&line, STRBUF_NO_CAP);
    append_timestamp(&line);
    (void)strbuf_addf(&line, " level=%s msg=", log_level_name(level));
    append_value(&line, slice_from_cstr(msg));
    for (size_t i = 0; i < n; i++)
        append_field(&line, &fields[i]);
    (void)strbuf_addch(&line, '\n');
    fputs(line.buf, out ? out : stderr);
    fflush(out ? out : stderr);
    strbuf_release(&line);
}
