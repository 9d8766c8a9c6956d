/*
 * sink_db.h - the MariaDB sink: what the parser finds, stored in the
 * report tables of schema/002_reports.sql.
 *
 * A struct report_sink_ops (parser/sink.h) over one store. Each report is
 * one transaction, so a reader (and a process killed at any instant) sees
 * a report whole or not at all:
 *
 *   aggregate  agg_begin: report key and day, tenant (a fixed one, or the
 *              longest registered suffix of the policy domain), BEGIN,
 *              INSERT the aggregate_reports row. A duplicate key means the
 *              report is already stored: ROLLBACK, its records are
 *              skipped, it counts as a duplicate.
 *              agg_record: the record joins a batch (bulk.h) that is
 *              inserted every `batch_records` records (by a helper
 *              thread, while the parser goes on), and is summed into the
 *              report's roll-ups (rollup.h).
 *              agg_end: the last batch, the header's totals and warnings
 *              (UPDATE), the roll-ups (INSERT ... ON DUPLICATE KEY UPDATE
 *              adding, in key order), COMMIT.
 *   failure    one transaction: the INSERT of non-personal metadata into
 *              failure_reports (no addresses, subject or sample text) and,
 *              per the tenant's forensic policy, the encrypted blob of
 *              everything else into failure_samples (storage/forensic.h);
 *              nothing at all under none-drop (counted as dropped). Routed
 *              by the first reported domain that belongs to a tenant.
 *   tlsrpt     tls_reports + tls_policies + tls_failures in one
 *              transaction; routed by the first policy's domain.
 *
 * A report whose domain belongs to no tenant, or whose dates fall outside
 * MariaDB's DATE years, is not stored: it gets a quarantine row (counted
 * as quarantined). A part the parser or the database refused is rolled
 * back and gets a quarantine row (counted as failed). A quarantine row
 * carries the report's tenant when it is known (with a fixed tenant,
 * always). Quarantine rows are written once per (inbox row, tenant, file,
 * part, code, reason), so importing the same input again, or a worker
 * reading the same inbox message again, adds nothing.
 *
 * Transient errors (database unreachable, deadlock, lock wait timeout)
 * are not quarantined: the report is rolled back, the parser stops the
 * input, and sink_db_transient() tells the caller to read the whole input
 * again (after sink_db_input_retry(); and, when the store is broken,
 * sink_db_set_store() with a new connection). That is safe because
 * storing is idempotent: reports committed before the error come back as
 * duplicates, and the sink remembers them so the counters still count
 * them once, as stored.
 *
 * Failure-report identity (report_key, "dmarcd-arf-v1"): SHA-256 over a
 * length-prefixed encoding of every field of the feedback report the
 * parser returns (feedback type, user agent, version, envelope id,
 * original mail from and rcpt to, arrival date as sent, reporting MTA,
 * source IP and port, incidents, reported domains and URIs, auth
 * failure, identity alignment, authentication results, delivery result,
 * DKIM domain, identity and selector, SPF DNS) and of the sample's header
 * block (its Message-ID tells two failures of one sender apart). Only the
 * hash is kept. report_day is the UTC day of the arrival date, or of the
 * input's receipt time when the report has none (sink_db_input_begin).
 *
 * TLS-report identity: store_report_key(organization_name, report_id,
 * no domain, begin, end), per the schema.
 *
 *   struct sink_db_counters counts;
 *   struct sink_db *sink = sink_db_new(st, &opts);
 *   struct report_sink rs = sink_db_as_report_sink(sink);
 *   sink_db_input_begin(sink, mtime);
 *   rc = report_parse_file(path, &popts, &rs, &stats);
 *   if (sink_db_transient(sink)) { ... sink_db_input_retry(sink); parse again ... }
 *   sink_db_free(sink);
 *
 * One sink per store, per thread. Every pointer handed to the callbacks is
 * borrowed for the call, as the parser promises; the sink copies what it
 * keeps.
 */
#ifndef DMARCD_STORAGE_SINK_DB_H
#define DMARCD_STORAGE_SINK_DB_H

#include <stdint.h>

#include "lib/error.h"
#include "parser/sink.h"
#include "storage/forensic.h"
#include "storage/store.h"

/* Records per bulk insert, unless the options say otherwise. */
#define SINK_DB_BATCH_RECORDS 1000

struct sink_db_counters {
    uint64_t files;             /* inputs begun (sink_db_input_begin) */
    uint64_t stored;            /* reports committed: aggregate, failure and TLS */
    uint64_t records;           /* aggregate records of the stored reports */
    uint64_t messages;          /* their message counts */
    uint64_t duplicates;        /* reports found already stored */
    uint64_t quarantined;       /* reports not stored: unknown domain, dates out of range */
    uint64_t failed;            /* parts refused by the parser or the database */
    uint64_t dropped;           /* failure reports discarded whole: tenant policy none-drop */
};

struct sink_db_options {
    /* Every report goes to this tenant; 0: route each by its domain. */
    uint32_t tenant_id;
    /* Records per bulk insert; 0: SINK_DB_BATCH_RECORDS. */
    unsigned batch_records;
    /* Each quarantined report and failed part, with a reason a person can
     * read; called after its quarantine row is written. May be NULL. */
    void (*problem)(void *ctx, const struct report_source *src, enum dmarcd_err err,
                    const char *reason);
    /* After each stored batch or report: counters so far and the records
     * of the report in progress. May be NULL. */
    void (*progress)(void *ctx, const struct sink_db_counters *counts, uint64_t pending_records);
    void *cb_ctx;
    /* The master keys (storage/keys.h) that seal failure-report samples of
     * tenants under the `encrypted` policy; NULL: those samples are not
     * kept (the row's warnings say so). Borrowed for the sink's life. */
    const struct keyring *keys;
    /* A sample whose tenant's OpenPGP key can no longer encrypt: dropped
     * (FORENSIC_FALLBACK_DROP, the zero value) or sealed as under
     * `encrypted`. Never stored in clear. */
    enum forensic_fallback pgp_fallback;
};

struct sink_db;

/* Statements are prepared on first use, so this cannot fail. */
struct sink_db *sink_db_new(struct store *st, const struct sink_db_options *opts);
/* Rolls back a report left open; NULL is a no-op. */
void sink_db_free(struct sink_db *s);

/*
 * Prepares every statement now (they are otherwise prepared on first
 * use): a database without the schema fails here, once, rather than on
 * every report.
 */
enum dmarcd_err sink_db_prepare(struct sink_db *s) DMARCD_MUST_CHECK;

struct report_sink sink_db_as_report_sink(struct sink_db *s);
const struct sink_db_counters *sink_db_counters(const struct sink_db *s);

/*
 * A new input (file) begins: counts it, forgets the previous input's
 * reports and transient error, and takes received_at (seconds since the
 * epoch; a file's mtime, an inbox row's receipt) as the day of failure
 * reports without an arrival date.
 */
void sink_db_input_begin(struct sink_db *s, int64_t received_at);

/*
 * The current input is inbox row inbox_id (call after sink_db_input_begin,
 * which resets it to 0: not from the inbox). The report rows and the
 * quarantine rows of this input carry the id.
 */
void sink_db_input_inbox(struct sink_db *s, uint64_t inbox_id);

/*
 * True when the current input held a failure report routed to a tenant
 * (stored, duplicate or dropped): its raw inbox copy is then deleted once
 * processed (forensic_inbox_disposition, forensic_inbox_forget).
 */
bool sink_db_input_had_failure(const struct sink_db *s);

/*
 * The current input stopped on a transient error and will be read again:
 * the counters go back to where sink_db_input_begin left them, and the
 * reports this input already committed will count as stored again rather
 * than as duplicates.
 */
void sink_db_input_retry(struct sink_db *s);

/* The transient error that stopped the current input, DMARCD_OK if none. */
enum dmarcd_err sink_db_transient(const struct sink_db *s);

/*
 * Moves the sink to another connection (after the old one broke): drops
 * the statements prepared on the old store. Call it with NULL before
 * closing the old store, then with the new one.
 */
void sink_db_set_store(struct sink_db *s, struct store *st);

#endif
