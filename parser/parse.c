/*
 * parse.c - the pipeline from raw bytes to reports.
 *
 * Input is a tree of nodes, each one a stream of bytes whose kind is
 * sniffed from its first bytes: a gzip node inflates into a child node, a
 * zip node gives one child per member, a mail node one child per MIME
 * leaf, and the leaves are XML (streamed into the SAX2 aggregate parser),
 * JSON (TLS-RPT) or ARF fields. Streamed kinds (gzip, xml) never hold
 * more than a chunk; the others (zip, mail, json, arf) are small by
 * nature and are collected under a cap first, because their libraries
 * want the whole object.
 *
 * A node that fails reports once to the sink's abort (with file, part and
 * reason), then ignores the rest of its bytes; its siblings go on. A
 * transient error (the sink's database is down) stops the whole input.
 *
 * The bulk of a big input is the XML of a plain file or of its gzip, and
 * libxml2 parses it faster when it pulls the bytes than when they are
 * pushed (a 220 MB report: about a fifth of the time). So when the first
 * bytes of a file show XML, or gzip/zlib (nested too) whose first
 * decompressed bytes show XML, the same nodes are run the other way round
 * (the pull path below): libxml2 asks for bytes, the inflaters decode on
 * demand, cutting their slices as node_feed() would. Everything else is
 * pushed. The push path stays the reference: what stands of a pull is a
 * delivered report or the sink's refusal; any other failure (broken XML, a
 * limit, a gzip cut short) is parsed again by push, and the sink does not
 * get twice what the pull handed it already (run_input). A pipe is always
 * pushed: it cannot be read again.
 */
#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/limits.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "parser/aggregate.h"
#include "parser/failure.h"
#include "parser/tlsrpt.h"
#include "parser/unpack.h"
#include "lib/banned.h"

#define SNIFF_BYTES 512
#define READ_CHUNK (256 * 1024)
/* Input looked at, at most, to decide whether the pull path takes it (and
 * the decompressed bytes looked at per level): enough for any real gzip
 * header, small next to the reads. */
#define PROBE_BYTES (64 * 1024)

/* What a node is inside; decides which kinds count as reports. */
enum node_context { IN_FILE, IN_CONTAINER, IN_MAIL };

struct parse_run {
    const struct parse_options *opts;
    struct report_sink *user_sink;
    struct report_sink sink;        /* forwards to user_sink, counting */
    struct parse_stats *stats;
    const char *file;
    enum dmarcd_err first_err;
    bool stop;                      /* a transient error: give up the input */
    bool report_open;               /* an aggregate report was begun */
    uint64_t reports_done;          /* reports delivered completely */
    uint64_t decompressed;          /* bytes produced by all decompressors */
    /* aggregate begin/records handed on, and how many of them a pull that is
     * redone by push (see run_input) makes again, not to be handed on twice */
    bool agg_begun;
    uint64_t agg_records;
    bool skip_begin;
    uint64_t skip_records;
};

struct node {
    struct parse_run *run;
    char *label;                    /* part path shown in sources; NULL at top */
    int depth;                      /* containers above this node */
    enum node_context context;
    bool decided, failed, ignored;
    bool pulled;                    /* parsed to its end by the pull path */
    enum content_kind kind;
    struct strbuf head;             /* first bytes, until the kind is known */
    struct strbuf whole;            /* collected content of buffered kinds */
    struct inflater *inflater;
    struct node *child;             /* the inflater's output */
    struct agg_parser *agg;
    struct report_source src;
};

static enum dmarcd_err node_feed(struct node *n, const char *data, size_t len);
static enum dmarcd_err node_finish(struct node *n);

/* ---- the forwarding sink: counts reports, remembers open ones ---- */

static enum dmarcd_err fwd_agg_begin(void *ctx, const struct report_source *src,
                                     const struct agg_report *r)
{
    struct parse_run *run = ctx;
    if (run->skip_begin) {
        run->skip_begin = false;
        return DMARCD_OK;
    }
    run->report_open = true;
    enum dmarcd_err rc = run->user_sink->ops->agg_begin(run->user_sink->ctx, src, r);
    run->agg_begun = !rc;
    return rc;
}

static enum dmarcd_err fwd_agg_record(void *ctx, const struct agg_record *rec)
{
    struct parse_run *run = ctx;
    if (run->skip_records) {
        run->skip_records--;
        return DMARCD_OK;
    }
    enum dmarcd_err rc = run->user_sink->ops->agg_record(run->user_sink->ctx, rec);
    run->agg_records += !rc;
    return rc;
}

static enum dmarcd_err fwd_agg_end(void *ctx, const struct agg_report *r,
                                   const struct agg_totals *t, const struct report_warnings *w)
{
    struct parse_run *run = ctx;
    enum dmarcd_err rc = run->user_sink->ops->agg_end(run->user_sink->ctx, r, t, w);
    if (!rc) {
        run->report_open = false;
        run->reports_done++;
    }
    return rc;
}

static enum dmarcd_err fwd_failure(void *ctx, const struct report_source *src,
                                   const struct failure_report *f, const struct report_warnings *w)
{
    struct parse_run *run = ctx;
    enum dmarcd_err rc = run->user_sink->ops->failure(run->user_sink->ctx, src, f, w);
    run->reports_done += rc == DMARCD_OK;
    return rc;
}

static enum dmarcd_err fwd_tlsrpt(void *ctx, const struct report_source *src,
                                  const struct tls_report *t, const struct report_warnings *w)
{
    struct parse_run *run = ctx;
    enum dmarcd_err rc = run->user_sink->ops->tlsrpt(run->user_sink->ctx, src, t, w);
    run->reports_done += rc == DMARCD_OK;
    return rc;
}

static void fwd_abort(void *ctx, const struct report_source *src, enum dmarcd_err err,
                      const char *detail)
{
    struct parse_run *run = ctx;
    run->report_open = false;
    run->user_sink->ops->abort(run->user_sink->ctx, src, err, detail);
}

static const struct report_sink_ops forward_ops = {
    .name = "forward",
    .agg_begin = fwd_agg_begin,
    .agg_record = fwd_agg_record,
    .agg_end = fwd_agg_end,
    .failure = fwd_failure,
    .tlsrpt = fwd_tlsrpt,
    .abort = fwd_abort,
};

/* ---- nodes ---- */

static struct node *node_new(struct parse_run *run, const char *label, int depth,
                             enum node_context context)
{
    struct node *n = xcalloc(1, sizeof(*n));
    n->run = run;
    n->label = label ? xstrdup(label) : NULL;
    n->depth = depth;
    n->context = context;
    strbuf_init(&n->head, SNIFF_BYTES * 2);
    strbuf_init(&n->whole, DMARCD_MAX_MESSAGE_BYTES);
    n->src.file = run->file;
    n->src.part = n->label;
    return n;
}

static void node_free(struct node *n)
{
    if (!n)
        return;
    inflater_free(n->inflater);
    node_free(n->child);
    agg_parser_free(n->agg);
    strbuf_release(&n->head);
    strbuf_release(&n->whole);
    free(n->label);
    free(n);
}

/* Builds "parent > what" (or just "what" at the top). */
static char *child_label(const struct node *parent, const char *what)
{
    struct strbuf sb;
    strbuf_init(&sb, 0);
    if (parent->label)
        strbuf_addf(&sb, "%s > ", parent->label);
    strbuf_addstr(&sb, what);
    return strbuf_detach(&sb, NULL);
}

/*
 * Records a failed part: tells the sink, remembers the first error of the
 * input, stops everything on a transient error. Returns err.
 */
static enum dmarcd_err run_fail(struct parse_run *run, const struct report_source *src,
                                enum dmarcd_err err, const char *detail)
{
    run->stats->failed++;
    if (!run->first_err)
        run->first_err = err;
    if (dmarcd_err_is_transient(err))
        run->stop = true;
    run->sink.ops->abort(run->sink.ctx, src, err, detail);
    return err;
}

/* A node fails once; later errors from the same node are not reported again. */
static enum dmarcd_err node_fail(struct node *n, enum dmarcd_err err, const char *detail)
{
    if (n->failed)
        return err;
    n->failed = true;
    return run_fail(n->run, &n->src, err, detail);
}

/* In a mail, parts that are not reports (bodies, logos) are simply skipped. */
static bool not_report_is_ignorable(const struct node *n, enum dmarcd_err err)
{
    return n->context == IN_MAIL && err == DMARCD_E_NOT_REPORT && !n->run->report_open;
}

/* ---- streamed kinds: gzip/zlib and xml ---- */

static enum dmarcd_err child_emit(void *ctx, const void *data, size_t len)
{
    struct node *n = ctx;
    struct parse_run *run = n->run;
    run->decompressed += len;
    if (run->decompressed > DMARCD_MAX_DECOMPRESSED_BYTES)
        return node_fail(n, DMARCD_E_TOO_BIG, "decompressed data of this input passes the limit");
    if (!n->child) {
        if (n->depth + 1 > DMARCD_MAX_NESTING)
            return node_fail(n, DMARCD_E_TOO_DEEP, "compressed data nested too deep");
        char *label = child_label(n, n->kind == CONTENT_GZIP ? "gunzip" : "inflate");
        n->child = node_new(run, label, n->depth + 1, IN_CONTAINER);
        free(label);
    }
    enum dmarcd_err rc = node_feed(n->child, data, len);
    return n->child->failed ? (rc ? rc : DMARCD_E_INTERNAL) : rc;
}

static enum dmarcd_err inflate_feed(struct node *n, const char *data, size_t len)
{
    if (!n->inflater)
        n->inflater = inflater_new();
    enum dmarcd_err rc = inflater_feed(n->inflater, data, len, child_emit, n);
    if (rc && !(n->child && n->child->failed) && !n->failed)
        return node_fail(n, rc, inflater_detail(n->inflater)[0] ? inflater_detail(n->inflater) : NULL);
    if (rc)
        n->failed = true;
    return rc;
}

static enum dmarcd_err inflate_finish(struct node *n)
{
    enum dmarcd_err rc = inflater_finish(n->inflater, child_emit, n);
    if (rc) {
        if (!(n->child && n->child->failed))
            node_fail(n, rc, inflater_detail(n->inflater)[0] ? inflater_detail(n->inflater)
                                                             : "compressed stream ends too early");
        return rc;
    }
    if (!n->child) {
        char *label = child_label(n, "gunzip");
        n->child = node_new(n->run, label, n->depth + 1, IN_CONTAINER);
        free(label);
    }
    return node_finish(n->child);
}

static enum dmarcd_err xml_feed(struct node *n, const char *data, size_t len)
{
    if (!n->agg)
        n->agg = agg_parser_new(&n->src, n->run->opts, &n->run->sink);
    enum dmarcd_err rc = agg_parser_feed(n->agg, data, len);
    if (rc) {
        if (not_report_is_ignorable(n, rc)) {
            n->ignored = true;
            return DMARCD_OK;
        }
        return node_fail(n, rc, agg_parser_detail(n->agg));
    }
    return DMARCD_OK;
}

static enum dmarcd_err xml_finish(struct node *n)
{
    enum dmarcd_err rc = agg_parser_finish(n->agg);
    if (rc) {
        if (not_report_is_ignorable(n, rc)) {
            n->ignored = true;
            return DMARCD_OK;
        }
        return node_fail(n, rc, agg_parser_detail(n->agg));
    }
    return DMARCD_OK;
}

/* ---- buffered kinds: zip, json, arf fields ---- */

struct zip_walk {
    struct node *parent;
    struct node *member;
};

static enum dmarcd_err zip_member_begin(void *ctx, const char *name, int64_t declared_size)
{
    struct zip_walk *zw = ctx;
    struct strbuf what;
    (void)declared_size;
    strbuf_init(&what, 0);
    strbuf_addf(&what, "zip member %s", name[0] ? name : "(unnamed)");
    char *label = child_label(zw->parent, what.buf);
    zw->member = node_new(zw->parent->run, label, zw->parent->depth + 1, IN_CONTAINER);
    free(label);
    strbuf_release(&what);
    return DMARCD_OK;
}

static enum dmarcd_err zip_member_data(void *ctx, const void *data, size_t len)
{
    struct zip_walk *zw = ctx;
    struct parse_run *run = zw->parent->run;
    run->decompressed += len;
    if (run->decompressed > DMARCD_MAX_DECOMPRESSED_BYTES)
        return node_fail(zw->member, DMARCD_E_TOO_BIG,
                         "decompressed data of this input passes the limit");
    enum dmarcd_err rc = node_feed(zw->member, data, len);
    return run->stop ? rc : (zw->member->failed ? DMARCD_E_NOT_FOUND : DMARCD_OK);
}

static enum dmarcd_err zip_member_end(void *ctx)
{
    struct zip_walk *zw = ctx;
    enum dmarcd_err rc = zw->member->failed ? DMARCD_OK : node_finish(zw->member);
    node_free(zw->member);
    zw->member = NULL;
    return zw->parent->run->stop ? rc : DMARCD_OK;
}

/* A begun member stopped (bad data, a limit): report it once, drop its node. */
static void zip_member_abort(void *ctx, enum dmarcd_err err, const char *detail)
{
    struct zip_walk *zw = ctx;
    if (!zw->member->failed && err != DMARCD_E_NOT_FOUND)
        node_fail(zw->member, err, detail && detail[0] ? detail : NULL);
    node_free(zw->member);
    zw->member = NULL;
}

static enum dmarcd_err zip_finish(struct node *n)
{
    static const struct zip_callbacks cb = {
        .member_begin = zip_member_begin,
        .member_data = zip_member_data,
        .member_end = zip_member_end,
        .member_abort = zip_member_abort,
    };
    struct zip_walk zw = { .parent = n, .member = NULL };
    struct strbuf detail;
    uint64_t failed_before = n->run->stats->failed;
    strbuf_init(&detail, 0);
    enum dmarcd_err rc = zip_unpack(n->whole.buf, n->whole.len, &cb, &zw, &detail);
    /* Member errors were reported by their nodes; report archive-level ones. */
    if (rc && rc != DMARCD_E_NOT_FOUND && !n->run->stop && n->run->stats->failed == failed_before) {
        node_fail(n, rc, detail.len ? detail.buf : NULL);
    }
    strbuf_release(&detail);
    return rc == DMARCD_E_NOT_FOUND ? DMARCD_OK : rc;
}

static enum dmarcd_err json_finish(struct node *n)
{
    struct strbuf detail;
    strbuf_init(&detail, 0);
    enum dmarcd_err rc = tlsrpt_parse(n->whole.buf, n->whole.len, &n->src, n->run->opts,
                                      &n->run->sink, &detail);
    if (rc && not_report_is_ignorable(n, rc))
        n->ignored = true;
    else if (rc)
        node_fail(n, rc, detail.len ? detail.buf : NULL);
    strbuf_release(&detail);
    return n->ignored ? DMARCD_OK : rc;
}

static enum dmarcd_err arf_finish(struct node *n)
{
    struct strbuf detail;
    strbuf_init(&detail, 0);
    enum dmarcd_err rc = failure_fields_parse(n->whole.buf, n->whole.len, &n->src, n->run->opts,
                                              &n->run->sink, &detail);
    if (rc)
        node_fail(n, rc, detail.len ? detail.buf : NULL);
    strbuf_release(&detail);
    return rc;
}

/* ---- mail: walk the MIME tree with GMime ---- */

struct mail_walk {
    struct node *mail;
    int parts;
    enum dmarcd_err rc;
};

static void mail_walk_object(struct mail_walk *mw, GMimeObject *obj, const char *number,
                             int depth);

/* Runs one decoded MIME leaf through a child node. */
static void mail_leaf(struct mail_walk *mw, GMimePart *part, const char *number, int depth)
{
    GMimeContentType *type = g_mime_object_get_content_type(GMIME_OBJECT(part));
    if (type && g_mime_content_type_is_type(type, "text", "html"))
        return; /* bodies of the report mail itself */
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    if (!content)
        return;
    GMimeStream *mem = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(content, mem);
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));

    const char *filename = g_mime_part_get_filename(part);
    struct strbuf what;
    strbuf_init(&what, 0);
    strbuf_addf(&what, "part %s", number);
    if (filename)
        strbuf_addf(&what, " (%s)", filename);
    char *label = child_label(mw->mail, what.buf);
    struct node *leaf = node_new(mw->mail->run, label, depth, IN_MAIL);
    enum dmarcd_err rc = node_feed(leaf, (const char *)bytes->data, bytes->len);
    if (!rc && !leaf->failed)
        rc = node_finish(leaf);
    if (rc && !mw->rc && !leaf->ignored)
        mw->rc = rc;
    node_free(leaf);
    free(label);
    strbuf_release(&what);
    g_object_unref(mem);
}

static void mail_walk_message(struct mail_walk *mw, GMimeMessage *msg, const char *number,
                              int depth)
{
    if (failure_message_is_report(msg)) {
        struct strbuf what, detail;
        strbuf_init(&what, 0);
        strbuf_init(&detail, 0);
        if (number[0])
            strbuf_addf(&what, "part %s", number);
        char *label = what.len ? child_label(mw->mail, what.buf)
                               : (mw->mail->label ? xstrdup(mw->mail->label) : NULL);
        struct report_source src = { .file = mw->mail->run->file, .part = label };
        enum dmarcd_err rc = failure_message_parse(msg, &src, mw->mail->run->opts,
                                                   &mw->mail->run->sink, &detail);
        if (rc) {
            run_fail(mw->mail->run, &src, rc, detail.len ? detail.buf : NULL);
            if (!mw->rc)
                mw->rc = rc;
        }
        free(label);
        strbuf_release(&what);
        strbuf_release(&detail);
        return;
    }
    GMimeObject *body = g_mime_message_get_mime_part(msg);
    if (body)
        mail_walk_object(mw, body, number, depth);
}

/* "1", "2.1", ...: IMAP-style part numbers, readable in error messages. */
static char *part_number(const char *parent, int index)
{
    struct strbuf sb;
    strbuf_init(&sb, 0);
    if (parent[0])
        strbuf_addf(&sb, "%s.%d", parent, index);
    else
        strbuf_addf(&sb, "%d", index);
    return strbuf_detach(&sb, NULL);
}

static void mail_walk_object(struct mail_walk *mw, GMimeObject *obj, const char *number,
                             int depth)
{
    if (mw->mail->run->stop || mw->rc == DMARCD_E_TOO_DEEP || mw->rc == DMARCD_E_TOO_MANY)
        return;
    if (depth > DMARCD_MAX_MIME_DEPTH || ++mw->parts > DMARCD_MAX_MIME_PARTS) {
        enum dmarcd_err rc = depth > DMARCD_MAX_MIME_DEPTH ? DMARCD_E_TOO_DEEP : DMARCD_E_TOO_MANY;
        node_fail(mw->mail, rc, rc == DMARCD_E_TOO_DEEP ? "mime parts nested too deep"
                                                        : "too many mime parts");
        mw->rc = rc;
        return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int count = g_mime_multipart_get_count(mp);
        for (int i = 0; i < count; i++) {
            char *num = part_number(number, i + 1);
            mail_walk_object(mw, g_mime_multipart_get_part(mp, i), num, depth + 1);
            free(num);
        }
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        char *num = number[0] ? xstrdup(number) : part_number(number, 1);
        if (inner)
            mail_walk_message(mw, inner, num, depth + 1);
        free(num);
    } else if (GMIME_IS_PART(obj)) {
        char *num = number[0] ? xstrdup(number) : part_number(number, 1);
        mail_leaf(mw, GMIME_PART(obj), num, depth + 1);
        free(num);
    }
}

/* Skips an mbox "From " envelope line, which is not a header. */
static struct slice strip_mbox_line(struct slice s)
{
    if (slice_starts_with(s, "From ")) {
        const char *nl = memchr(s.ptr, '\n', s.len);
        if (nl)
            return slice_make(nl + 1, s.len - (size_t)(nl + 1 - s.ptr));
    }
    return s;
}

static enum dmarcd_err mail_finish(struct node *n)
{
    struct slice bytes = strip_mbox_line(strbuf_slice(&n->whole));
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(bytes.ptr, bytes.len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    struct mail_walk mw = { .mail = n, .parts = 0, .rc = DMARCD_OK };
    uint64_t before = n->run->reports_done, failed_before = n->run->stats->failed;

    if (!msg) {
        node_fail(n, DMARCD_E_MIME, "not a readable mail message");
    } else {
        mail_walk_message(&mw, msg, "", n->depth);
        if (n->run->reports_done == before && n->run->stats->failed == failed_before)
            node_fail(n, DMARCD_E_NOT_REPORT, "no report found in the message");
        g_object_unref(msg);
    }
    g_object_unref(parser);
    g_object_unref(stream);
    return n->failed ? (mw.rc ? mw.rc : n->run->first_err) : DMARCD_OK;
}

/* ---- dispatch ---- */

static bool kind_is_buffered(enum content_kind kind)
{
    return kind == CONTENT_ZIP || kind == CONTENT_MAIL || kind == CONTENT_JSON ||
           kind == CONTENT_ARF_FIELDS;
}

/* Kinds that are no report here: skipped in mail, errors elsewhere. */
static bool kind_is_ignorable(const struct node *n, enum content_kind kind)
{
    if (n->context != IN_MAIL)
        return false;
    return kind == CONTENT_EMPTY || kind == CONTENT_UNKNOWN || kind == CONTENT_MAIL;
}

/* Routes bytes to the consumer of the node's (decided) kind. */
static enum dmarcd_err node_consume(struct node *n, const char *data, size_t len)
{
    if (n->failed || n->ignored || !len)
        return DMARCD_OK;
    switch (n->kind) {
    case CONTENT_GZIP:
    case CONTENT_ZLIB:
        return inflate_feed(n, data, len);
    case CONTENT_XML:
        return xml_feed(n, data, len);
    case CONTENT_ZIP:
    case CONTENT_MAIL:
    case CONTENT_JSON:
    case CONTENT_ARF_FIELDS: {
        size_t cap = n->kind == CONTENT_JSON ? DMARCD_MAX_JSON_BYTES : DMARCD_MAX_MESSAGE_BYTES;
        if (n->whole.len + len > cap || strbuf_add(&n->whole, data, len))
            return node_fail(n, DMARCD_E_TOO_BIG, "part larger than the size limit");
        return DMARCD_OK;
    }
    case CONTENT_EMPTY:
    case CONTENT_UNKNOWN:
        return DMARCD_OK; /* judged at finish from the head bytes */
    }
    return DMARCD_OK;
}

static enum dmarcd_err node_decide(struct node *n)
{
    n->decided = true;
    n->kind = content_sniff(n->head.buf, n->head.len);
    if (kind_is_ignorable(n, n->kind))
        n->ignored = true;
    if (n->kind == CONTENT_XML || kind_is_buffered(n->kind) || n->kind == CONTENT_GZIP ||
        n->kind == CONTENT_ZLIB)
        return node_consume(n, n->head.buf, n->head.len);
    return DMARCD_OK;
}

static enum dmarcd_err node_feed(struct node *n, const char *data, size_t len)
{
    if (n->run->stop)
        return DMARCD_E_TEMPORARY;
    if (!len)
        return DMARCD_OK; /* an empty part may come with a NULL pointer */
    if (!n->decided) {
        size_t take = SNIFF_BYTES - n->head.len < len ? SNIFF_BYTES - n->head.len : len;
        strbuf_add(&n->head, data, take);
        data += take;
        len -= take;
        if (n->head.len < SNIFF_BYTES)
            return DMARCD_OK;
        enum dmarcd_err rc = node_decide(n);
        if (rc)
            return rc;
    }
    return node_consume(n, data, len);
}

/* Content that is no report: the known "unused" placeholder, or unrecognised. */
static enum dmarcd_err unknown_finish(struct node *n)
{
    struct slice head = slice_trim(strbuf_slice(&n->head));
    if (n->kind == CONTENT_EMPTY)
        return node_fail(n, DMARCD_E_NOT_REPORT, "empty input");
    if (slice_eq_cstr(head, "unused"))
        return node_fail(n, DMARCD_E_EMPTY_REPORT,
                         "content is the placeholder text \"unused\" (a known reporter bug)");
    return node_fail(n, DMARCD_E_NOT_REPORT,
                     "content is neither xml, json, gzip, zip, mail nor a failure report");
}

static enum dmarcd_err node_finish(struct node *n)
{
    if (!n->decided) {
        enum dmarcd_err rc = node_decide(n);
        if (rc)
            return rc;
    }
    if (n->failed || n->ignored || n->run->stop)
        return n->failed ? n->run->first_err : DMARCD_OK;
    switch (n->kind) {
    case CONTENT_GZIP:
    case CONTENT_ZLIB:
        return inflate_finish(n);
    case CONTENT_XML:
        return xml_finish(n);
    case CONTENT_ZIP:
        return zip_finish(n);
    case CONTENT_MAIL:
        return mail_finish(n);
    case CONTENT_JSON:
        return json_finish(n);
    case CONTENT_ARF_FIELDS:
        return arf_finish(n);
    case CONTENT_EMPTY:
    case CONTENT_UNKNOWN:
        return unknown_finish(n);
    }
    return DMARCD_OK;
}

/* ---- the input: chunks as read, replayable after a look ahead ---- */

struct input {
    struct parse_run *run;
    int fd;                     /* -1: `data` is the whole input */
    off_t start;                /* where fd was at first; -1 if it cannot seek back */
    const char *data;
    size_t len, off;            /* of `data` */
    char *buf;                  /* reads from fd: PROBE_BYTES + READ_CHUNK */
    size_t ahead;               /* bytes of buf read by input_peek, not yet handed out */
    bool eof;
    int read_errno;             /* a failed read(), replayed in its place */
};

static void input_init(struct input *in, struct parse_run *run, int fd, const char *data,
                       size_t len)
{
    memset(in, 0, sizeof(*in));
    in->run = run;
    in->fd = fd;
    in->data = data;
    in->len = len;
    in->start = -1;
    if (fd >= 0) {
        struct stat st;
        in->buf = xmalloc(PROBE_BYTES + READ_CHUNK);
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
            in->start = lseek(fd, 0, SEEK_CUR);
    }
}

/* Back to the start, to parse again: false if the input cannot go back. */
static bool input_rewind(struct input *in)
{
    if (in->fd >= 0) {
        if (in->start < 0 || lseek(in->fd, in->start, SEEK_SET) != in->start) {
            in->read_errno = in->start < 0 ? ESPIPE : errno;
            return false;
        }
        in->eof = false;
        in->ahead = 0;
        in->read_errno = 0;
    }
    in->off = 0;
    return true;
}

static void input_release(struct input *in)
{
    free(in->buf);
}

/* One read(2) of up to cap bytes into dst: *got 0 at the end, false on error. */
static bool input_read(struct input *in, char *dst, size_t cap, size_t *got)
{
    ssize_t n;
    do
        n = read(in->fd, dst, cap);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        in->read_errno = errno;
        return false;
    }
    *got = (size_t)n;
    in->eof = n == 0;
    in->run->stats->bytes_in += (uint64_t)n;
    return true;
}

/*
 * The next chunk of the input, borrowed until the next call: len 0 at the
 * end, DMARCD_E_IO (errno in read_errno) if a read failed. The chunks are
 * the reads (READ_CHUNK each from a file; what input_peek read comes as one
 * chunk, which for a file is its first read) or READ_CHUNK slices of a
 * buffer.
 */
static enum dmarcd_err input_next(struct input *in, const char **data, size_t *len)
{
    *len = 0;
    if (in->fd < 0) {
        if (in->off == in->len)
            return DMARCD_OK;   /* data may be NULL */
        *data = in->data + in->off;
        *len = in->len - in->off < READ_CHUNK ? in->len - in->off : READ_CHUNK;
        in->off += *len;
        return DMARCD_OK;
    }
    if (in->ahead) {
        *data = in->buf;
        *len = in->ahead;
        in->ahead = 0;
        return DMARCD_OK;
    }
    if (in->read_errno)
        return DMARCD_E_IO;
    if (in->eof)
        return DMARCD_OK;
    *data = in->buf;
    return input_read(in, in->buf, READ_CHUNK, len) ? DMARCD_OK : DMARCD_E_IO;
}

/* Reads ahead (a file) until PROBE_BYTES are there, and says how much of
 * the start of the input there is to look at and whether that is all. */
static struct slice input_peek(struct input *in, bool *complete)
{
    size_t got;
    if (in->fd < 0) {
        *complete = in->len <= PROBE_BYTES;
        return slice_make(in->data, *complete ? in->len : PROBE_BYTES);
    }
    while (in->ahead < PROBE_BYTES && !in->eof &&
           input_read(in, in->buf + in->ahead, READ_CHUNK, &got))
        in->ahead += got;
    *complete = in->eof && in->ahead <= PROBE_BYTES;
    return slice_make(in->buf, in->ahead < PROBE_BYTES ? in->ahead : PROBE_BYTES);
}

/* ---- choosing the pull path: what the first bytes show ---- */

struct probe_out {
    char *buf;
    size_t len;
};

static enum dmarcd_err probe_emit(void *ctx, const void *data, size_t len)
{
    struct probe_out *po = ctx;
    size_t n = PROBE_BYTES - po->len < len ? PROBE_BYTES - po->len : len;
    memcpy(po->buf + po->len, data, n);
    po->len += n;
    return po->len == PROBE_BYTES ? DMARCD_E_TOO_BIG : DMARCD_OK;  /* enough: stop */
}

/*
 * How many gzip/zlib levels (kinds[] filled, outermost first) wrap an XML
 * document whose start shows in the bytes given, judged as node_decide()
 * would judge each level's first SNIFF_BYTES; -1 when it is not that, or
 * cannot be told from these bytes (complete: they are all there is). A
 * decompressor error is no answer: what came out before it counts. The
 * answer only decides the speed: a pull that fails is redone by push.
 */
static int probe_levels(struct slice head, bool complete, int depth,
                        enum content_kind kinds[DMARCD_MAX_NESTING])
{
    if (head.len < SNIFF_BYTES && !complete)
        return -1;
    enum content_kind kind = content_sniff(head.ptr, head.len < SNIFF_BYTES ? head.len
                                                                           : SNIFF_BYTES);
    if (kind == CONTENT_XML)
        return depth;
    if ((kind != CONTENT_GZIP && kind != CONTENT_ZLIB) || depth + 1 > DMARCD_MAX_NESTING)
        return -1;
    kinds[depth] = kind;
    struct probe_out po = { .buf = xmalloc(PROBE_BYTES), .len = 0 };
    struct inflater *z = inflater_new();
    bool ended = inflater_feed(z, head.ptr, head.len, probe_emit, &po) == DMARCD_OK &&
                 inflater_finish(z, NULL, NULL) == DMARCD_OK;
    int levels = probe_levels(slice_make(po.buf, po.len), ended, depth + 1, kinds);
    inflater_free(z);
    free(po.buf);
    return levels;
}

/* ---- the pull path: the same nodes, run the other way round ---- */

/* A gzip/zlib node decoded on demand. */
struct pull_layer {
    struct node *node;
    struct pull_layer *below;   /* NULL: the compressed bytes are the input's */
    struct pull_chain *chain;
    const char *rest;           /* what the head left of the chunk below */
    size_t rest_len;
    bool head_done, ended;
};

/* The streams below the XML. A failure there only stops the pull: the push
 * parser redoes the input and reports it (see run_input). */
struct pull_chain {
    struct input *in;
    struct pull_layer layers[DMARCD_MAX_NESTING];
    int levels;
    const char *cur;            /* decompressed (or raw) bytes not yet read */
    size_t cur_len;
    bool end;
};

/* The next chunk of what lies below layer l (or below the XML: l NULL). */
static enum dmarcd_err below_next(struct pull_chain *pc, struct pull_layer *l,
                                  const char **data, size_t *len);

/* The next slice for l's inflater, cut as node_feed() cuts: the first
 * SNIFF_BYTES whole (gathered across chunks), then the rest of that chunk,
 * then chunk by chunk. len 0 at the end of l's input. */
static enum dmarcd_err layer_slice(struct pull_layer *l, const char **data, size_t *len)
{
    struct strbuf *head = &l->node->head;
    if (l->rest_len) {
        *data = l->rest;
        *len = l->rest_len;
        l->rest_len = 0;
        return DMARCD_OK;
    }
    for (;;) {
        enum dmarcd_err rc = below_next(l->chain, l->below, data, len);
        if (rc || l->head_done)
            return rc;
        if (!*len) {                /* the input ends inside the head */
            l->head_done = true;
            *data = head->buf;
            *len = head->len;
            return DMARCD_OK;
        }
        size_t take = SNIFF_BYTES - head->len < *len ? SNIFF_BYTES - head->len : *len;
        strbuf_add(head, *data, take);
        if (head->len == SNIFF_BYTES) {
            l->head_done = true;
            l->rest = *data + take;
            l->rest_len = *len - take;
            *data = head->buf;
            *len = head->len;
            return DMARCD_OK;
        }
    }
}

/* The next decompressed chunk of l, checked as child_emit() checks it;
 * len 0 once its stream and everything after it are read. */
static enum dmarcd_err layer_next(struct pull_layer *l, const char **data, size_t *len)
{
    struct parse_run *run = l->node->run;
    struct inflater *z = l->node->inflater;
    for (;;) {
        const void *out;
        size_t n;
        enum dmarcd_err rc = inflater_next(z, &out, &n);
        if (rc)
            return rc;
        if (n) {
            run->decompressed += n;
            if (run->decompressed > DMARCD_MAX_DECOMPRESSED_BYTES)
                return DMARCD_E_TOO_BIG;
            *data = out;
            *len = n;
            return DMARCD_OK;
        }
        *len = 0;
        if (l->ended)
            return DMARCD_OK;
        const char *in;
        rc = layer_slice(l, &in, &n);
        if (rc)
            return rc;
        if (n) {
            inflater_input(z, in, n);
            continue;
        }
        rc = inflater_finish(z, NULL, NULL);
        if (rc)
            return rc;
        l->ended = true;
    }
}

static enum dmarcd_err below_next(struct pull_chain *pc, struct pull_layer *l,
                                  const char **data, size_t *len)
{
    return l ? layer_next(l, data, len) : input_next(pc->in, data, len);
}

/* The aggregate parser's reader: the innermost stream, copied out (a plain
 * file, once what was looked ahead is out, is read straight into buf). */
static enum dmarcd_err pull_read(void *ctx, char *buf, size_t cap, size_t *got)
{
    struct pull_chain *pc = ctx;
    struct pull_layer *top = pc->levels ? &pc->layers[pc->levels - 1] : NULL;
    struct input *in = pc->in;
    *got = 0;
    if (!top && !pc->cur_len && in->fd >= 0 && !in->ahead && !in->eof)
        return input_read(in, buf, cap, got) ? DMARCD_OK : DMARCD_E_IO;
    while (!pc->cur_len && !pc->end) {
        enum dmarcd_err rc = below_next(pc, top, &pc->cur, &pc->cur_len);
        if (rc)
            return rc;
        pc->end = pc->cur_len == 0;
    }
    size_t n = pc->cur_len < cap ? pc->cur_len : cap;
    memcpy(buf, pc->cur, n);
    pc->cur += n;
    pc->cur_len -= n;
    *got = n;
    return DMARCD_OK;
}

/* Makes the nodes the push path would make on these bytes: one per gzip/
 * zlib level (the same labels and depths), then the XML node. */
static struct node *pull_nodes(struct pull_chain *pc, struct node *top,
                               const enum content_kind *kinds)
{
    struct node *n = top;
    for (int i = 0; i < pc->levels; i++) {
        struct pull_layer *l = &pc->layers[i];
        n->decided = true;
        n->kind = kinds[i];
        n->inflater = inflater_new();
        l->node = n;
        l->below = i ? &pc->layers[i - 1] : NULL;
        l->chain = pc;
        char *label = child_label(n, kinds[i] == CONTENT_GZIP ? "gunzip" : "inflate");
        n->child = node_new(n->run, label, n->depth + 1, IN_CONTAINER);
        free(label);
        n = n->child;
    }
    n->decided = true;
    n->kind = CONTENT_XML;
    return n;
}

/* Parses the input by pulling, `levels` decompressors deep. False when
 * the input must be parsed again by push (agg_parser_push_instead): what
 * stands of a pull is a delivered report or the sink's refusal. */
static bool pull_run(struct node *top, struct input *in, int levels,
                     const enum content_kind *kinds, enum dmarcd_err *rc)
{
    struct pull_chain pc;
    memset(&pc, 0, sizeof(pc));
    pc.in = in;
    pc.levels = levels;
    struct node *xml = pull_nodes(&pc, top, kinds);
    xml->agg = agg_parser_new(&xml->src, top->run->opts, &top->run->sink);
    *rc = agg_parser_pull(xml->agg, pull_read, &pc);
    if (*rc && agg_parser_push_instead(xml->agg))
        return false;
    if (*rc)
        node_fail(xml, *rc, agg_parser_detail(xml->agg));
    for (struct node *n = top; n; n = n->child)
        n->pulled = true;
    return true;
}

enum pull_outcome { PULL_NOT_TRIED, PULL_DONE, PULL_REDO };

/* Pulls the input when it is (compressed) XML and can be read again. */
static enum pull_outcome pull_try(struct node *top, struct input *in, enum dmarcd_err *rc)
{
    enum content_kind kinds[DMARCD_MAX_NESTING];
    bool complete;
    if (in->fd >= 0 && in->start < 0)
        return PULL_NOT_TRIED;  /* a pipe: a redo by push would have no bytes */
    struct slice head = input_peek(in, &complete);
    int levels = probe_levels(head, complete, 0, kinds);
    if (levels < 0)
        return PULL_NOT_TRIED;
    return pull_run(top, in, levels, kinds, rc) ? PULL_DONE : PULL_REDO;
}

/* The push path: every chunk into the top node. */
static enum dmarcd_err push_input(struct node *top, struct input *in)
{
    enum dmarcd_err rc = DMARCD_OK;
    while (!rc && !top->run->stop) {
        const char *data;
        size_t len;
        if (input_next(in, &data, &len)) {
            node_fail(top, DMARCD_E_IO, strerror(in->read_errno));
            break;
        }
        if (!len)
            break;
        rc = node_feed(top, data, len);
    }
    return rc;
}

/* ---- public entry points ---- */

static void run_init(struct parse_run *run, const char *name, const struct parse_options *opts,
                     struct report_sink *sink, struct parse_stats *stats)
{
    static const struct parse_options defaults = { .strict = false };
    static bool gmime_ready;
    if (!gmime_ready) {
        g_mime_init();
        gmime_ready = true;
    }
    memset(run, 0, sizeof(*run));
    run->opts = opts ? opts : &defaults;
    run->user_sink = sink;
    run->sink = (struct report_sink){ .ops = &forward_ops, .ctx = run };
    run->stats = stats;
    run->file = name;
}

static enum dmarcd_err run_done(struct parse_run *run, struct node *top, enum dmarcd_err rc)
{
    if (!rc && !run->stop && !top->failed && !top->pulled)
        rc = node_finish(top);
    if (run->report_open) /* a report begun and never ended or aborted */
        run_fail(run, &top->src, rc ? rc : DMARCD_E_INTERNAL, "report left unfinished");
    run->stats->reports += run->reports_done;
    node_free(top);
    return run->first_err ? run->first_err : rc;
}

/*
 * One input, pulled when it is (compressed) XML, pushed otherwise. A pull
 * that turns out to need the push parser's answer (a broken document) is
 * redone from the start by push, which makes the same agg_begin and
 * agg_record calls first: those the pull already handed on are skipped.
 */
static enum dmarcd_err run_input(struct parse_run *run, struct input *in)
{
    struct node *top = node_new(run, NULL, 0, IN_FILE);
    uint64_t bytes_in = run->stats->bytes_in;
    enum dmarcd_err rc = DMARCD_OK;
    enum pull_outcome pulled = pull_try(top, in, &rc);
    if (pulled == PULL_REDO) {
        node_free(top);
        top = node_new(run, NULL, 0, IN_FILE);
        run->skip_begin = run->agg_begun;
        run->skip_records = run->agg_records;
        run->decompressed = 0;
        if (in->fd >= 0)
            run->stats->bytes_in = bytes_in;
        if (!input_rewind(in))
            node_fail(top, DMARCD_E_IO, strerror(in->read_errno));
    }
    if (pulled != PULL_DONE && !top->failed)
        rc = push_input(top, in);
    input_release(in);
    return run_done(run, top, top->failed ? DMARCD_OK : rc);
}

enum dmarcd_err report_parse_buffer(const void *data, size_t len, const char *name,
                                    const struct parse_options *opts, struct report_sink *sink,
                                    struct parse_stats *stats)
{
    struct parse_run run;
    struct input in;
    run_init(&run, name, opts, sink, stats);
    stats->bytes_in += len;
    input_init(&in, &run, -1, data, len);
    return run_input(&run, &in);
}

enum dmarcd_err report_parse_fd(int fd, const char *name, const struct parse_options *opts,
                                struct report_sink *sink, struct parse_stats *stats)
{
    struct parse_run run;
    struct input in;
    run_init(&run, name, opts, sink, stats);
    input_init(&in, &run, fd, NULL, 0);
    return run_input(&run, &in);
}

enum dmarcd_err report_parse_file(const char *path, const struct parse_options *opts,
                                  struct report_sink *sink, struct parse_stats *stats)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        struct parse_run run;
        struct report_source src = { .file = path, .part = NULL };
        run_init(&run, path, opts, sink, stats);
        return run_fail(&run, &src, errno == ENOENT ? DMARCD_E_NOT_FOUND : DMARCD_E_IO,
                        strerror(errno));
    }
    enum dmarcd_err rc = report_parse_fd(fd, path, opts, sink, stats);
    close(fd);
    return rc;
}
