/*
 * aggregate.h - streaming parser of DMARC aggregate report XML (RFC 7489
 * appendix C, RFC 9990 in the urn:ietf:params:xml:ns:dmarc-2.0 namespace,
 * and the draft forms between them), built on libxml2's SAX2 push
 * interface (or its pull interface, for the bulk of an input): memory
 * depends on the largest record, not on the report.
 *
 * Used by parse.c, which feeds it the decompressed bytes of one XML
 * document in chunks of any size:
 *
 *   struct agg_parser *p = agg_parser_new(&src, &opts, &sink);
 *   rc = agg_parser_feed(p, chunk, n);   ... repeatedly ...
 *   rc = agg_parser_finish(p);           (after the last chunk)
 *     or instead of both: rc = agg_parser_pull(p, read, ctx);
 *   if (rc) report rc and agg_parser_detail(p) to the sink's abort
 *   agg_parser_free(p);
 *
 * The parser calls the sink's agg_begin (once the header is known, at the
 * first <record> or at the end), agg_record per record and agg_end; it
 * never calls abort itself. DTDs, entities and network access are refused
 * (DMARCD_E_XML_FORBIDDEN); depth, text length and record count are capped
 * (limits.h). A document whose root is not <feedback> is DMARCD_E_NOT_REPORT.
 *
 * What the sink can rely on:
 * - agg_begin comes at the first <record> (or, for a report without any,
 *   at the end) once org_name (else the email's domain, with a warning),
 *   report_id, date_range begin/end and policy_published/domain are known;
 *   missing any is DMARCD_E_BAD_REPORT naming the element. Header elements
 *   after the first <record> are ignored with a warning.
 * - format: rfc9990 when the root is in urn:ietf:params:xml:ns:dmarc-2.0;
 *   draft for the http://dmarc.org/dmarc-xml/0.2 namespace, or, with no
 *   namespace, <version>2.0</version>, draft <extension(s)>, or generator/
 *   testing/discovery_method before the first record; rfc7489 otherwise
 *   (Google's <np> alone stays rfc7489, np kept).
 * - agg_end is delivered by agg_parser_finish(), when every xml error is
 *   known; its warnings fold repeats with a count ("... (N times)").
 * - Without opts->strict, libxml2 recovers from broken markup: a report
 *   that still closes <feedback> with at least one record is delivered with
 *   "xml errors recovered: N (first: line L: ...)". Strict mode refuses any
 *   xml error, a report without records, <data_range> for <date_range> and
 *   IKEA's <xs:schema> wrapper; value normalisations apply in both modes.
 * - Any chunking of the input gives the same result.
 */
#ifndef DMARCD_PARSER_AGGREGATE_H
#define DMARCD_PARSER_AGGREGATE_H

#include <stddef.h>

#include "lib/error.h"
#include "parser/parse.h"
#include "parser/sink.h"

struct agg_parser;

/* src is copied; opts and sink must outlive the parser. */
struct agg_parser *agg_parser_new(const struct report_source *src,
                                  const struct parse_options *opts, struct report_sink *sink);
enum dmarcd_err agg_parser_feed(struct agg_parser *p, const char *data, size_t len)
    DMARCD_MUST_CHECK;
enum dmarcd_err agg_parser_finish(struct agg_parser *p) DMARCD_MUST_CHECK;
/*
 * Pull mode, for a document that is the bulk of an input (a file, or the
 * output of its gzip): instead of feed/finish, hand the parser a reader and
 * libxml2 asks for the bytes itself, which saves the push interface's cost.
 * read fills buf with up to cap bytes and sets *got (0 at the end of the
 * input); how it cuts the bytes never changes the result. Call it at most
 * once, on a fresh parser.
 *
 * The push parser stays the reference. A pull's outcome stands when the
 * report was delivered (then it is exactly what feed + finish give) or when
 * the sink refused a call. Anything else (libxml2's first complaint, whose
 * recovery differs between its pull and push parsers; a rule or limit of
 * ours; the reader's failure) stops the pull at once, and
 * agg_parser_push_instead() says so: the caller parses the same bytes again
 * with a new parser it feeds, and that parser's answer is the one to give.
 * Up to then the sink had only agg_begin and agg_record calls that the push
 * parser also makes first, in the same order (libxml2 only gets the bytes
 * push would have pushed by then); the caller passes on only the rest.
 */
typedef enum dmarcd_err (*agg_read_fn)(void *ctx, char *buf, size_t cap, size_t *got);
enum dmarcd_err agg_parser_pull(struct agg_parser *p, agg_read_fn read, void *ctx)
    DMARCD_MUST_CHECK;
/* After agg_parser_pull failed: parse the input again by feeding a new parser. */
bool agg_parser_push_instead(const struct agg_parser *p);
/* A specific sentence about the last error ("xml depth 33 > 32 at line 9"), or NULL. */
const char *agg_parser_detail(const struct agg_parser *p);
/* True once agg_end was delivered. */
bool agg_parser_completed(const struct agg_parser *p);
void agg_parser_free(struct agg_parser *p);

#endif
