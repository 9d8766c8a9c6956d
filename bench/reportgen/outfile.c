/*
 * outfile.c - gzip and zip writers behind outfile.h.
 *
 * The gzip writer drives deflate() directly instead of gzopen(): it gives
 * exact byte counts for the summary line and checks every step.
 */
#include "outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "util.h"
#include "lib/banned.h"

static int gz_fail(struct gzout *g, const char *what)
{
    fprintf(stderr, "dmarcd-reportgen: %s: %s: %s\n", g->path, what,
            errno ? strerror(errno) : (g->zs.msg ? g->zs.msg : "zlib error"));
    g->err = -1;
    return -1;
}

int gzout_open(struct gzout *g, const char *path)
{
    memset(&g->zs, 0, sizeof(g->zs));
    g->path = path;
    g->zinit = 0;
    g->err = 0;
    g->in_bytes = 0;
    g->out_bytes = 0;
    errno = 0;
    g->fp = fopen(path, "wb");
    if (!g->fp)
        return gz_fail(g, "open");
    /* 15 + 16: gzip wrapper with zlib's default header (mtime 0). */
    if (deflateInit2(&g->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        fclose(g->fp);
        g->fp = NULL;
        return gz_fail(g, "deflateInit2");
    }
    g->zinit = 1;
    return 0;
}

static int gz_pump(struct gzout *g, int flush)
{
    int zrc;

    do {
        size_t have;

        g->zs.next_out = g->obuf;
        g->zs.avail_out = sizeof(g->obuf);
        zrc = deflate(&g->zs, flush);
        if (zrc == Z_STREAM_ERROR)
            return gz_fail(g, "deflate");
        have = sizeof(g->obuf) - g->zs.avail_out;
        errno = 0;
        if (have && fwrite(g->obuf, 1, have, g->fp) != have)
            return gz_fail(g, "write");
        g->out_bytes += have;
    } while (g->zs.avail_out == 0 || (flush == Z_FINISH && zrc != Z_STREAM_END));
    return 0;
}

int gzout_write(struct gzout *g, const void *p, size_t n)
{
    const unsigned char *in = p;

    if (g->err)
        return -1;
    while (n > 0) {
        /* avail_in is a uInt: feed huge buffers in slices. */
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;

        g->zs.next_in = in;
        g->zs.avail_in = chunk;
        if (gz_pump(g, Z_NO_FLUSH))
            return -1;
        in += chunk;
        n -= chunk;
        g->in_bytes += chunk;
    }
    return 0;
}

int gzout_close(struct gzout *g)
{
    int rc = g->err;

    if (!rc && g->zinit) {
        g->zs.next_in = NULL;
        g->zs.avail_in = 0;
        rc = gz_pump(g, Z_FINISH);
    }
    if (g->zinit)
        deflateEnd(&g->zs);
    g->zinit = 0;
    if (g->fp) {
        errno = 0;
        if (fclose(g->fp) != 0 && !rc)
            rc = gz_fail(g, "close");
        g->fp = NULL;
    }
    return rc ? -1 : 0;
}

int outfile_gzip(const char *path, const void *p, size_t n)
{
    struct gzout *g = rg_xmalloc(sizeof(*g));
    int rc;

    rc = gzout_open(g, path);
    if (rc)
        goto out;
    rc = gzout_write(g, p, n);
    if (gzout_close(g))
        rc = -1;
out:
    free(g);
    return rc;
}

static int zip_fail(struct archive *a, const char *path, const char *what)
{
    fprintf(stderr, "dmarcd-reportgen: %s: zip %s: %s\n", path, what,
            archive_error_string(a) ? archive_error_string(a) : "unknown error");
    return -1;
}

static struct archive_entry *zip_entry(const char *member, size_t n, int64_t mtime)
{
    struct archive_entry *e = archive_entry_new();

    if (!e)
        rg_die("out of memory creating a zip entry");
    archive_entry_set_pathname(e, member);
    archive_entry_set_size(e, (la_int64_t)n);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, (time_t)mtime, 0);
    return e;
}

int outfile_zip(const char *path, const char *member, const void *p, size_t n, int64_t mtime)
{
    struct archive *a = archive_write_new();
    struct archive_entry *e = NULL;
    int rc = -1;

    if (!a)
        rg_die("out of memory creating a zip writer");
    if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
        archive_write_add_filter_none(a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK) {
        zip_fail(a, path, "setup");
        goto out;
    }
    if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
        zip_fail(a, path, "open");
        goto out;
    }
    e = zip_entry(member, n, mtime);
    if (archive_write_header(a, e) != ARCHIVE_OK) {
        zip_fail(a, path, "header");
        goto out;
    }
    if (archive_write_data(a, p, n) != (la_ssize_t)n) {
        zip_fail(a, path, "data");
        goto out;
    }
    if (archive_write_close(a) != ARCHIVE_OK) {
        zip_fail(a, path, "close");
        goto out;
    }
    rc = 0;
out:
    archive_entry_free(e);
    archive_write_free(a);
    return rc;
}

int outfile_fwrite(void *ctx, const char *p, size_t n)
{
    FILE *fp = ctx;

    return fwrite(p, 1, n, fp) == n ? 0 : -1;
}
