/*
 * limits.h - every cap dmarcd puts on input, in one place, with its reason.
 *
 * Reports come from strangers. Each buffer, counter or recursion that grows
 * with input is bounded by a constant here; going past one is a permanent
 * error (quarantine with the reason), never a crash or an unbounded
 * allocation. The figures leave wide headroom over what real reporters send
 * (see ../shared/SPEC-NOTES.md): the largest real Google reports are a few
 * hundred MB of XML with a few hundred thousand records.
 */
#ifndef DMARCD_LIMITS_H
#define DMARCD_LIMITS_H

#define DMARCD_KiB ((size_t)1024)
#define DMARCD_MiB (DMARCD_KiB * 1024)

/* Whole raw message or uploaded file. Big providers' report mails are a few
 * MB at most; SMTP SIZE is advertised from this. */
#define DMARCD_MAX_MESSAGE_BYTES (64 * DMARCD_MiB)

/* Total decompressed output of one message (all its parts and members). A
 * 300k-record report is ~200 MB of XML; 1 GiB allows the rare giant while
 * bounding a bomb's damage. */
#define DMARCD_MAX_DECOMPRESSED_BYTES (1024 * DMARCD_MiB)

/* Decompressed/compressed ratio past which a stream is a bomb. Report XML
 * compresses ~15-40x; gzip's best case is ~1030x. Checked once output
 * passes DMARCD_RATIO_GRACE_BYTES so tiny files with big headers pass. */
#define DMARCD_MAX_EXPANSION_RATIO 200
#define DMARCD_RATIO_GRACE_BYTES (1 * DMARCD_MiB)

/* Zip members looked at in one archive: reporters send one; a few more
 * are tolerated, thousands are an attack on our time. */
#define DMARCD_MAX_ZIP_MEMBERS 64

/* Container nesting (gzip in gzip, zip in mail in mail...). Real data nests
 * at most 3 deep (mail > zip > xml, or a test's .gz.gz). */
#define DMARCD_MAX_NESTING 8

/* MIME tree depth and part count of one message. */
#define DMARCD_MAX_MIME_DEPTH 16
#define DMARCD_MAX_MIME_PARTS 256

/* XML element depth: a report is 6 levels deep (feedback/record/
 * auth_results/dkim/domain + extensions); 32 leaves room for extensions. */
#define DMARCD_MAX_XML_DEPTH 32

/* One text value (org name, comment, human_result...). */
#define DMARCD_MAX_TEXT_BYTES (64 * DMARCD_KiB)

/* Records in one aggregate report; the largest seen are ~300k. */
#define DMARCD_MAX_RECORDS_PER_REPORT 5000000

/* DKIM / SPF / reason entries under one record (RFC 9990 suggests ~100
 * signatures at most). */
#define DMARCD_MAX_AUTH_RESULTS 256

/* Arena budget for the strings of one record or one report header. */
#define DMARCD_MAX_RECORD_BYTES (4 * DMARCD_MiB)

/* Warnings kept per report; later ones are counted, not stored. */
#define DMARCD_MAX_WARNINGS 64

/* Header/field lines of a failure report's feedback part. */
#define DMARCD_MAX_ARF_FIELDS 512

/* JSON (TLS-RPT) document size and nesting. Real TLS reports are a few KB;
 * jansson needs several times the document in memory, so the cap is small. */
#define DMARCD_MAX_JSON_BYTES (8 * DMARCD_MiB)
#define DMARCD_MAX_JSON_DEPTH 32

/* Configuration file size and a single config value. */
#define DMARCD_MAX_CONFIG_FILE_BYTES (256 * DMARCD_KiB)
#define DMARCD_MAX_CONFIG_VALUE_BYTES (8 * DMARCD_KiB)

/* One log value; longer values are cut with a marker. */
#define DMARCD_MAX_LOG_VALUE_BYTES 512

#endif
