/*
 * retention.h - `dmarcd retention`: how long data is kept, and the purge
 * of cancelled tenants (DESIGN.md "Retention").
 *
 * One run, measured from a day `today` (normally the current UTC day):
 *
 *   purge      every tenant cancelled more than RETENTION_PURGE_GRACE_S
 *              ago (whatever `today` says): all its rows in every table
 *              with a tenant_id column, its data keys and blobs included,
 *              the accounts that belonged to it alone (not platform
 *              operators) with their rows, and finally its tenants row.
 *              The grace lets a report routed just before the cancel
 *              commit first, so nothing can be written after the purge.
 *   partition  whole monthly partitions of the report tables that lie
 *              entirely before the longest tier horizon: every tenant's
 *              rows in them have expired, so ALTER TABLE ... DROP
 *              PARTITION removes them at the cost of a metadata change
 *              (row counts are the server's estimates).
 *   horizon    per remaining tenant, rows of every table with tenant_id and
 *              report_day columns whose report_day is before today minus
 *              the tier's months (basic and basic-plus 3, advanced 12,
 *              enterprise 24 by default); rows pointing at other rows
 *              (records, roll-ups, blobs) go before the rows they point at.
 *   inbox      raw messages received before today minus inbox_days, once
 *              processed (done or quarantined; pending ones stay).
 *   quarantine rows created before today minus quarantine_days.
 *   audit      audit_log and retention_log rows before today minus audit_days.
 *
 * Every delete is `DELETE ... LIMIT batch_rows` repeated, each its own
 * short transaction on a key that starts with the tenant (or the date), so
 * no run holds locks the API waits on for long. The steps are idempotent:
 * running twice deletes nothing the second time, and a run cut short is
 * completed by the next. Runs exclude each other with GET_LOCK: a second
 * run while one is going changes nothing and says so (result.busy). A dry
 * run counts what would go and changes nothing (no lock, no log rows).
 *
 * What went is reported through opts.report, one event per table and
 * step, and kept in retention_log (ids, table names, counts, dates:
 * nothing personal), one row per step and tenant.
 */
#ifndef DMARCD_STORAGE_RETENTION_H
#define DMARCD_STORAGE_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "storage/store.h"

/* A cancelled tenant is purged this long after its cancellation at the
 * earliest: in-flight reports routed before the cancel have committed. */
#define RETENTION_PURGE_GRACE_S 3600

enum retention_tier { RETENTION_BASIC, RETENTION_BASIC_PLUS, RETENTION_ADVANCED,
                      RETENTION_ENTERPRISE, RETENTION_TIERS };

struct retention_event {
    /* "purge" | "partition" | "horizon" | "inbox" | "quarantine" | "audit" */
    const char *action;
    uint32_t tenant_id;         /* 0: not per tenant */
    const char *tenant;         /* its name, or NULL */
    const char *tier;           /* or NULL */
    const char *cutoff;         /* "YYYY-MM-DD": rows before it; NULL for a purge */
    const char *table;
    const char *partition;      /* the dropped partition, or NULL */
    uint64_t rows;
    bool estimate;              /* rows is the server's estimate (partitions) */
};

struct retention_options {
    unsigned months[RETENTION_TIERS];
    unsigned inbox_days, quarantine_days, audit_days;
    unsigned batch_rows;
    char today[11];             /* "YYYY-MM-DD" */
    bool dry_run;
    bool drop_partitions;
    void (*report)(void *ctx, const struct retention_event *e);   /* may be NULL */
    void *ctx;
};

struct retention_result {
    /* Rows removed by batches; a dry run counts every row that would go,
     * those of partitions to be dropped included. */
    uint64_t rows;
    uint64_t partition_rows;    /* in dropped partitions: the server's estimate */
    uint64_t tenants_purged;
    uint64_t partitions_dropped;
    bool busy;                  /* another run holds the lock: nothing done */
};

/* Horizons 3/3/12/24 months, inbox 7 days, quarantine 90, audit 365,
 * batches of 5000, today the current UTC day, partitions dropped. */
void retention_options_default(struct retention_options *o);

/* "basic" .. "enterprise"; false for anything else. */
bool retention_tier_parse(const char *name, enum retention_tier *out);

/*
 * today minus months and days ("YYYY-MM-DD"; a day past the end of the
 * shorter month becomes its last day: 2025-05-31 minus 3 months is
 * 2025-02-28). DMARCD_E_INVALID when today is not a valid date.
 */
enum dmarcd_err retention_cutoff(const char *today, unsigned months, unsigned days,
                                 char out[11]) DMARCD_MUST_CHECK;

enum dmarcd_err retention_run(struct store *st, const struct retention_options *o,
                              struct retention_result *result,
                              struct strbuf *why) DMARCD_MUST_CHECK;

#endif
