/*
 * h_system.c - what is not tenant data: liveness and readiness probes,
 * Prometheus metrics, the OpenAPI document, and the dashboard's static
 * files from the web root.
 *
 * Static files: only plain names ([A-Za-z0-9._-] segments, none starting
 * with '.') under the web root are served, opened without following a
 * symlink at the last step and only when they are regular files; anything
 * else is 404. HTML is revalidated on every load (Cache-Control: no-cache)
 * so a new release shows at once; other assets are cached for an hour and
 * revalidated with an ETag made of size and modification time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/handlers.h"
#include "api/json.h"
#include "api/metrics.h"
#include "api/pool.h"
#include "storage/portal.h"
#include "lib/banned.h"

void api_h_healthz(struct api_call *c)
{
    api_reply_json(c, 200, json_pack("{s:s}", "status", "ok"));
}

void api_h_readyz(struct api_call *c)
{
    struct queue *q = NULL;
    struct queue_stats qs;
    if (atomic_load(&c->env->draining)) {
        api_reply_json(c, 503, json_pack("{s:s}", "status", "draining"));
        return;
    }
    enum dmarcd_err db = portal_ping(c->st);
    if (db)
        c->store_rc = db;
    enum dmarcd_err redis = api_pool_queue(c->env->pool, c->slot, &q);
    if (!redis)
        redis = queue_stats(q, &qs);
    bool ok = !db && !redis;
    api_reply_json(c, ok ? 200 : 503,
                   json_pack("{s:s,s:s,s:s}", "status", ok ? "ready" : "unavailable", "database",
                             db ? "unreachable" : "ok", "redis", redis ? "unreachable" : "ok"));
}

void api_h_metrics(struct api_call *c)
{
    strbuf_reset(&c->resp->body);
    api_metrics_render(c->env->metrics, c, &c->resp->body);
    c->resp->status = 200;
    snprintf(c->resp->content_type, sizeof(c->resp->content_type),
             "text/plain; version=0.0.4; charset=utf-8");
}

void api_h_openapi(struct api_call *c)
{
    strbuf_reset(&c->resp->body);
    (void)strbuf_add(&c->resp->body, c->env->openapi, c->env->openapi_len);
    c->resp->status = 200;
    snprintf(c->resp->content_type, sizeof(c->resp->content_type), "application/yaml");
}

/* ---- static files ---- */

static const struct { const char *ext; const char *type; } MIME[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" },
    { ".map", "application/json" },
    { ".webmanifest", "application/manifest+json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".jpg", "image/jpeg" },
    { ".ico", "image/x-icon" },
    { ".webp", "image/webp" },
    { ".woff2", "font/woff2" },
    { ".woff", "font/woff" },
    { ".txt", "text/plain; charset=utf-8" },
};

static const char *mime_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(MIME) / sizeof(MIME[0]); i++) {
        if (strcmp(dot, MIME[i].ext) == 0)
            return MIME[i].type;
    }
    return "application/octet-stream";
}

/* True when every segment of path is a plain name. */
static bool plain_path(const char *path)
{
    bool seg_start = true;
    for (const char *p = path; *p; p++) {
        char ch = *p;
        if (ch == '/') {
            if (seg_start && p != path)
                return false;   /* empty segment */
            seg_start = true;
            continue;
        }
        if (seg_start && ch == '.')
            return false;       /* hidden files, "." and ".." */
        seg_start = false;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return !seg_start;
}

static void not_found(struct api_call *c)
{
    api_reply_error(c, 404, "not_found", "no such file");
}

void api_h_static(struct api_call *c)
{
    const char *rel = strcmp(c->req->path, "/") == 0 ? "/index.html" : c->req->path;
    char full[4096], etag[64];
    struct stat sb;
    if (!c->env->web_root || !plain_path(rel)) {
        not_found(c);
        return;
    }
    int n = snprintf(full, sizeof(full), "%s%s", c->env->web_root, rel);
    if (n < 0 || (size_t)n >= sizeof(full)) {
        not_found(c);
        return;
    }
    int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        not_found(c);
        return;
    }
    snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)sb.st_size,
             (unsigned long long)sb.st_mtime);
    const char *type = mime_of(rel);
    bool html = strncmp(type, "text/html", 9) == 0;
    api_response_header(c->resp, "ETag", etag);
    api_response_header(c->resp, "Cache-Control", html ? "no-cache" : "public, max-age=3600");
    snprintf(c->resp->content_type, sizeof(c->resp->content_type), "%s", type);
    const char *inm = api_request_header(c->req, "If-None-Match");
    if (inm && strstr(inm, etag)) {
        close(fd);
        c->resp->status = 304;
        return;
    }
    c->resp->status = 200;
    c->resp->fd = fd;
    c->resp->fd_len = (uint64_t)sb.st_size;
}
