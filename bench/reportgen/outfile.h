/*
 * outfile.h - writing reports to disk: plain, gzip (zlib) and zip
 * (libarchive), byte-for-byte reproducibly.
 *
 * gzip: zlib's own header, which carries mtime 0 and no file name.
 * zip: one deflated member whose mtime the caller fixes (from the report
 * date), uid/gid 0, mode 0644. libarchive derives the DOS time field from
 * local time, so main() pins TZ=UTC before any zip is written.
 *
 * All functions return 0 on success or -1 after printing one line on
 * stderr naming the file and the cause.
 */
#ifndef REPORTGEN_OUTFILE_H
#define REPORTGEN_OUTFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ZLIB_CONST
#include <zlib.h>

/* A gzip file written incrementally; the caller owns the struct. */
struct gzout {
    FILE *fp;
    const char *path; /* borrowed, for messages */
    z_stream zs;
    int zinit;
    int err;
    uint64_t in_bytes, out_bytes;
    unsigned char obuf[64 * 1024];
};

int gzout_open(struct gzout *g, const char *path);
int gzout_write(struct gzout *g, const void *p, size_t n);
/* Finishes the stream (unless an error happened) and closes the file. */
int gzout_close(struct gzout *g);

/* Whole-buffer helpers for demo reports. */
int outfile_gzip(const char *path, const void *p, size_t n);
int outfile_zip(const char *path, const char *member, const void *p, size_t n, int64_t mtime);

/* Checked fwrite for plain streaming output; ctx is a FILE *. */
int outfile_fwrite(void *ctx, const char *p, size_t n);

#endif
