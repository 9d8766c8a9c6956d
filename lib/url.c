/*
 * url.c - parsers for the database and Redis URLs and host:port pairs.
 * Hand-written because the grammar is tiny and fixed, and because a
 * general URL library would not know which parts are secret.
 */
#include "url.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s into a new heap string; false on a bad escape or NUL. */
static bool percent_decode(struct slice s, char **out)
{
    char *buf = xmalloc(s.len + 1);
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c == '%') {
            int hi = i + 2 < s.len ? hex_value(s.ptr[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(s.ptr[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0)) {
                free(buf);
                return false;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    *out = buf;
    return true;
}

/* Why the last host/port split failed, for a specific message. */
static _Thread_local const char *hostport_problem;

static bool parse_port(struct slice s, unsigned *port)
{
    int64_t v;
    if (!slice_to_i64(s, &v) || v < 1 || v > 65535 || s.len > 5) {
        hostport_problem = "the port must be a number from 1 to 65535";
        return false;
    }
    *port = (unsigned)v;
    return true;
}

static bool host_ok(struct slice h)
{
    if (h.len == 0 || h.len > 253)
        return false;
    for (size_t i = 0; i < h.len; i++) {
        char c = h.ptr[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == ':' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

/* Fills why with the specific problem, if known, then the expected form. */
static void set_why(struct strbuf *why, const char *text)
{
    if (why) {
        strbuf_reset(why);
        if (hostport_problem)
            (void)strbuf_addf(why, "%s; ", hostport_problem);
        (void)strbuf_addstr(why, text);
    }
    hostport_problem = NULL;
}

/* Splits "host[:port]" or "[v6][:port]"; port stays untouched if absent. */
static bool split_hostport(struct slice s, struct slice *host, unsigned *port, bool port_required)
{
    struct slice port_part = { 0 };
    bool have_port = false;

    hostport_problem = NULL;
    if (s.len && s.ptr[0] == '[') {
        const char *close = memchr(s.ptr, ']', s.len);
        if (!close)
            return false;
        *host = slice_make(s.ptr + 1, (size_t)(close - s.ptr - 1));
        struct slice rest = slice_make(close + 1, s.len - (size_t)(close - s.ptr) - 1);
        if (rest.len) {
            if (rest.ptr[0] != ':')
                return false;
            port_part = slice_make(rest.ptr + 1, rest.len - 1);
            have_port = true;
        }
    } else {
        const char *colon = s.len ? memchr(s.ptr, ':', s.len) : NULL;
        if (colon && memchr(colon + 1, ':', s.len - (size_t)(colon - s.ptr) - 1))
            return false; /* bare IPv6 must be bracketed */
        have_port = slice_split(s, ':', host, &port_part);
    }
    if (!host_ok(*host)) {
        hostport_problem = "the host name is empty or has characters a host name cannot have";
        return false;
    }
    if (have_port)
        return parse_port(port_part, port);
    if (port_required)
        hostport_problem = "the port is missing";
    return !port_required;
}

enum dmarcd_err hostport_parse(const char *text, char **host, unsigned *port, struct strbuf *why)
{
    struct slice h;
    if (!split_hostport(slice_from_cstr(text), &h, port, true)) {
        set_why(why, "expected host:port or [ipv6]:port with port 1-65535");
        return DMARCD_E_INVALID;
    }
    *host = xstrndup(h.ptr, h.len);
    return DMARCD_OK;
}

/* Splits "user:pass@rest" into decoded user and password; absent = NULL. */
static bool parse_userinfo(struct slice authority, struct slice *hostpart, char **user, char **password)
{
    const char *at = NULL;
    for (size_t i = authority.len; i > 0; i--) {
        if (authority.ptr[i - 1] == '@') {
            at = authority.ptr + i - 1;
            break;
        }
    }
    *user = NULL;
    *password = NULL;
    if (!at) {
        *hostpart = authority;
        return true;
    }
    struct slice info = slice_make(authority.ptr, (size_t)(at - authority.ptr));
    *hostpart = slice_make(at + 1, authority.len - info.len - 1);
    struct slice u, p;
    bool has_pass = slice_split(info, ':', &u, &p);
    if (!percent_decode(u, user))
        return false;
    if (has_pass && !percent_decode(p, password)) {
        free(*user);
        *user = NULL;
        return false;
    }
    return true;
}

static bool strip_scheme(struct slice *s, const char *const *schemes)
{
    for (; *schemes; schemes++) {
        if (slice_starts_with(*s, *schemes)) {
            size_t n = strlen(*schemes);
            *s = slice_make(s->ptr + n, s->len - n);
            return true;
        }
    }
    return false;
}

static bool db_url_query(struct slice query, struct db_url *out)
{
    while (query.len) {
        struct slice pair, key, value;
        slice_split(query, '&', &pair, &query);
        if (!slice_split(pair, '=', &key, &value))
            return false;
        char *decoded;
        if (!percent_decode(value, &decoded))
            return false;
        if (slice_eq_cstr(key, "socket") && !out->socket && decoded[0] == '/') {
            out->socket = decoded;
        } else if (slice_eq_cstr(key, "tls_ca") && !out->tls_ca && decoded[0]) {
            out->tls_ca = decoded;
        } else if (slice_eq_cstr(key, "tls") &&
                   (strcmp(decoded, "on") == 0 || strcmp(decoded, "off") == 0)) {
            out->tls = strcmp(decoded, "on") == 0;
            free(decoded);
        } else {
            free(decoded);
            return false;
        }
    }
    return true;
}

static bool db_name_ok(struct slice db)
{
    if (db.len == 0 || db.len > 64)
        return false;
    for (size_t i = 0; i < db.len; i++) {
        char c = db.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '$'))
            return false;
    }
    return true;
}

enum dmarcd_err db_url_parse(const char *text, struct db_url *out, struct strbuf *why)
{
    static const char *const schemes[] = { "mariadb://", "mysql://", NULL };
    struct slice s = slice_from_cstr(text), authority, path, query, db, hostpart;

    memset(out, 0, sizeof(*out));
    out->port = 3306;
    if (!strip_scheme(&s, schemes))
        goto bad;
    slice_split(s, '?', &s, &query);
    if (!slice_split(s, '/', &authority, &path))
        goto bad;
    db = path;
    if (!db_name_ok(db) || !parse_userinfo(authority, &hostpart, &out->user, &out->password))
        goto bad;
    struct slice host;
    if (!split_hostport(hostpart, &host, &out->port, false))
        goto bad;
    out->host = xstrndup(host.ptr, host.len);
    out->database = xstrndup(db.ptr, db.len);
    if (!out->user)
        out->user = xstrdup("");
    if (!out->password)
        out->password = xstrdup("");
    if (!db_url_query(query, out))
        goto bad;
    return DMARCD_OK;
bad:
    db_url_release(out);
    set_why(why, "expected mariadb://user:pass@host[:port]/database, optionally with "
                 "?socket=/absolute/path, tls=on|off, tls_ca=/path");
    return DMARCD_E_INVALID;
}

void db_url_release(struct db_url *url)
{
    free(url->user);
    if (url->password) {
        explicit_bzero(url->password, strlen(url->password));
        free(url->password);
    }
    free(url->host);
    free(url->database);
    free(url->socket);
    free(url->tls_ca);
    memset(url, 0, sizeof(*url));
}

enum dmarcd_err redis_url_parse(const char *text, struct redis_url *out, struct strbuf *why)
{
    static const char *const schemes[] = { "redis://", NULL };
    struct slice s = slice_from_cstr(text), authority, path, hostpart, host;

    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (!strip_scheme(&s, schemes))
        goto bad;
    bool has_path = slice_split(s, '/', &authority, &path);
    if (!parse_userinfo(authority, &hostpart, &out->user, &out->password))
        goto bad;
    if (out->user && !out->user[0]) {
        free(out->user);
        out->user = NULL;
    }
    if (!split_hostport(hostpart, &host, &out->port, false))
        goto bad;
    if (has_path && path.len) {
        int64_t db;
        if (!slice_to_i64(path, &db) || db < 0 || db > DMARCD_REDIS_MAX_DB || path.len > 3)
            goto bad;
        out->db = (unsigned)db;
    }
    out->host = xstrndup(host.ptr, host.len);
    return DMARCD_OK;
bad:
    redis_url_release(out);
    set_why(why, "expected redis://[[user]:password@]host[:port][/db] with db 0-255");
    return DMARCD_E_INVALID;
}

void redis_url_release(struct redis_url *url)
{
    free(url->user);
    if (url->password) {
        explicit_bzero(url->password, strlen(url->password));
        free(url->password);
    }
    free(url->host);
    memset(url, 0, sizeof(*url));
}

void url_mask_password(const char *url, struct strbuf *out)
{
    struct slice s = slice_from_cstr(url);
    const char *scheme_end = strstr(url, "://");
    strbuf_reset(out);
    if (!scheme_end) {
        (void)strbuf_addslice(out, s);
        return;
    }
    const char *auth = scheme_end + 3;
    size_t auth_len = strcspn(auth, "/?");
    const char *at = NULL;
    for (size_t i = auth_len; i > 0; i--) {
        if (auth[i - 1] == '@') {
            at = auth + i - 1;
            break;
        }
    }
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon) {
        (void)strbuf_addslice(out, s);
        return;
    }
    (void)strbuf_add(out, url, (size_t)(colon + 1 - url));
    (void)strbuf_addstr(out, "***");
    (void)strbuf_addstr(out, at);
}
