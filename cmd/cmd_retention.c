/*
 * cmd_retention.c - `dmarcd retention [--dry-run] [--now YYYY-MM-DD]`: one
 * pass of storage/retention.h, run on a schedule (the Helm chart's
 * CronJob) and safe to run by hand at any time.
 *
 * Horizons and batch size come from the configuration table (lib/config.h,
 * retention_*). Every table a step removed rows from prints one line;
 * the last line sums up. --now moves the day horizons are measured from
 * (checks and tests); the purge of cancelled tenants follows the clock.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "lib/config.h"
#include "lib/strbuf.h"
#include "storage/retention.h"
#include "storage/store.h"
#include "lib/banned.h"

#define WHO "dmarcd retention"

static void on_event(void *ctx, const struct retention_event *e)
{
    bool dry = *(const bool *)ctx;
    const char *verb = dry ? "would go" : "removed";
    if (strcmp(e->action, "purge") == 0)
        printf("purge      tenant %s (id %u, cancelled): %s: %llu rows %s\n", e->tenant,
               (unsigned)e->tenant_id, e->table, (unsigned long long)e->rows, verb);
    else if (strcmp(e->action, "partition") == 0)
        printf("partition  %s %s (every row before %s): about %llu rows %s\n", e->table,
               e->partition, e->cutoff, (unsigned long long)e->rows,
               dry ? "would be dropped" : "dropped");
    else if (strcmp(e->action, "horizon") == 0)
        printf("horizon    tenant %s (id %u, %s, before %s): %s: %llu rows %s\n", e->tenant,
               (unsigned)e->tenant_id, e->tier, e->cutoff, e->table, (unsigned long long)e->rows,
               verb);
    else
        printf("%-10s before %s: %s: %llu rows %s\n", e->action, e->cutoff, e->table,
               (unsigned long long)e->rows, verb);
}

/* Horizons and batch size from the configuration; an exit status on failure. */
static int load_options(struct cmd_ctx *ctx, struct retention_options *o)
{
    struct config cfg;
    config_init(&cfg);
    int status = cmd_load_config(ctx, &cfg);
    if (!status) {
        o->months[RETENTION_BASIC] = (unsigned)config_get_int(&cfg, CONFIG_RETENTION_BASIC_MONTHS);
        o->months[RETENTION_BASIC_PLUS] =
            (unsigned)config_get_int(&cfg, CONFIG_RETENTION_BASIC_PLUS_MONTHS);
        o->months[RETENTION_ADVANCED] =
            (unsigned)config_get_int(&cfg, CONFIG_RETENTION_ADVANCED_MONTHS);
        o->months[RETENTION_ENTERPRISE] =
            (unsigned)config_get_int(&cfg, CONFIG_RETENTION_ENTERPRISE_MONTHS);
        o->inbox_days = (unsigned)config_get_int(&cfg, CONFIG_RETENTION_INBOX_DAYS);
        o->quarantine_days = (unsigned)config_get_int(&cfg, CONFIG_RETENTION_QUARANTINE_DAYS);
        o->audit_days = (unsigned)config_get_int(&cfg, CONFIG_RETENTION_AUDIT_DAYS);
        o->batch_rows = (unsigned)config_get_int(&cfg, CONFIG_RETENTION_BATCH_ROWS);
    }
    config_release(&cfg);
    return status;
}

static int parse_args(int argc, char **argv, struct retention_options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *now = NULL;
        if (strcmp(argv[i], "--dry-run") == 0) {
            o->dry_run = true;
        } else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
            now = argv[++i];
        } else if (strncmp(argv[i], "--now=", 6) == 0) {
            now = argv[i] + 6;
        } else {
            fprintf(stderr, WHO ": unexpected argument %s\n", argv[i]);
            cmd_print_usage(&cmd_retention_def, stderr);
            return EXIT_USAGE;
        }
        char check[11];
        if (now && (strlen(now) != 10 || retention_cutoff(now, 0, 0, check))) {
            fprintf(stderr, WHO ": --now %.40s: expected a date YYYY-MM-DD\n", now);
            return EXIT_USAGE;
        }
        if (now)
            memcpy(o->today, now, 11);
    }
    return -1;
}

int cmd_retention(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct retention_options o;
    struct retention_result res;
    struct store *st = NULL;
    struct strbuf why;
    retention_options_default(&o);
    int status = parse_args(argc, argv, &o);
    if (status >= 0)
        return status;
    if ((status = load_options(ctx, &o)) || (status = cmd_open_store(ctx, WHO, NULL, &st)))
        return status;
    o.report = on_event;
    o.ctx = &o.dry_run;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = retention_run(st, &o, &res, &why);
    if (rc) {
        fflush(stdout);
        status = cmd_store_failed(WHO, rc, st, &why);
    } else if (res.busy) {
        printf("retention: another run holds the lock: nothing done\n");
    } else {
        printf("retention%s as of %s: %llu rows %s, %llu tenants purged, %llu partitions %s "
               "(about %llu rows)\n",
               o.dry_run ? " (dry run, nothing changed)" : "", o.today,
               (unsigned long long)res.rows, o.dry_run ? "would go" : "removed",
               (unsigned long long)res.tenants_purged, (unsigned long long)res.partitions_dropped,
               o.dry_run ? "would be dropped" : "dropped",
               (unsigned long long)res.partition_rows);
    }
    strbuf_release(&why);
    store_close(st);
    return status;
}

const struct command cmd_retention_def = {
    .name = "retention",
    .summary = "remove data past its tier's horizon; purge cancelled tenants",
    .usage = "usage: dmarcd [--config FILE] retention [--dry-run] [--now YYYY-MM-DD]\n"
             "\n"
             "Removes what dmarcd no longer keeps, in short batches (safe while the API\n"
             "and workers run; run it daily):\n"
             "  - tenants cancelled more than an hour ago: every row of theirs in every\n"
             "    table, their data keys, and accounts that belonged to them alone;\n"
             "  - reports, records, roll-ups, failure reports and their samples, and TLS\n"
             "    reports older than the tenant's tier allows (retention_basic_months 3,\n"
             "    retention_basic_plus_months 3, retention_advanced_months 12,\n"
             "    retention_enterprise_months 24); monthly partitions older than the\n"
             "    longest horizon are dropped whole;\n"
             "  - processed raw messages older than retention_inbox_days (7), quarantine\n"
             "    rows older than retention_quarantine_days (90), audit-log rows older\n"
             "    than retention_audit_days (365).\n"
             "Prints one line per table and step and a summary; what was removed is also\n"
             "kept in the retention_log table (ids and counts only). Two runs at once are\n"
             "harmless: the second does nothing.\n"
             "\n"
             "  --dry-run        count what would go; change nothing\n"
             "  --now DATE       measure horizons from DATE (YYYY-MM-DD, UTC) instead of today\n"
             "\n"
             "exit status: 0 ok, 1 a database error, 2 usage or configuration,\n"
             "3 database unreachable.\n",
    .run = cmd_retention,
};
