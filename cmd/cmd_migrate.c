/*
 * cmd_migrate.c - `dmarcd migrate`: brings the database schema up to date
 * with the migrations compiled into this binary (storage/migrate.h).
 *
 * Safe to run twice (the second run says the schema is up to date) and
 * concurrently (Kubernetes may start it from several pods: the runs queue
 * on a MariaDB named lock). `--to VERSION` stops early, for staged
 * upgrades and for the tests that upgrade from every earlier version;
 * `--list` prints what the binary carries without touching a database.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "lib/slice.h"
#include "lib/strbuf.h"
#include "storage/migrate.h"
#include "storage/store.h"
#include "lib/banned.h"

#define WHO "dmarcd migrate"

struct migrate_args {
    unsigned target;
    unsigned lock_timeout_s;
    bool list;
};

static bool parse_uint(const char *text, unsigned max, unsigned *out)
{
    int64_t v;
    if (!slice_to_i64(slice_from_cstr(text), &v) || v < 0 || v > (int64_t)max)
        return false;
    *out = (unsigned)v;
    return true;
}

/* Returns -1 when the arguments are fine, else the exit status. */
static int parse_args(int argc, char **argv, struct migrate_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--list") == 0) {
            a->list = true;
            continue;
        }
        bool to = strcmp(arg, "--to") == 0, lock = strcmp(arg, "--lock-timeout") == 0;
        if ((to || lock) && !val) {
            fprintf(stderr, WHO ": %s needs a value\n", arg);
            return EXIT_USAGE;
        }
        if (to && (!parse_uint(val, 999, &a->target) || a->target == 0)) {
            fprintf(stderr, WHO ": --to wants a migration version from 1 to %u, not \"%s\"\n",
                    migrate_latest(), val);
            return EXIT_USAGE;
        }
        if (lock && !parse_uint(val, 86400, &a->lock_timeout_s)) {
            fprintf(stderr, WHO ": --lock-timeout wants seconds from 0 to 86400, not \"%s\"\n",
                    val);
            return EXIT_USAGE;
        }
        if (!to && !lock) {
            fprintf(stderr, WHO ": unknown argument %s\n", arg);
            cmd_print_usage(&cmd_migrate_def, stderr);
            return EXIT_USAGE;
        }
        i++;
    }
    return -1;
}

static void print_list(void)
{
    for (size_t i = 0; i < migrate_files_count; i++) {
        const struct migration *m = &migrate_files[i];
        uint8_t digest[32];
        char hex[65];
        store_sha256(m->sql, m->len, digest);
        store_hex(digest, sizeof(digest), hex);
        printf("%u %s %s\n", m->version, m->name, hex);
    }
}

static void progress(void *ctx, const struct migration *m, bool done, double seconds)
{
    (void)ctx;
    if (done)
        printf("applied %s (%.2fs)\n", m->name, seconds);
    else
        printf("applying %s\n", m->name);
    fflush(stdout);
}

static void print_result(const struct migrate_result *r)
{
    if (r->waited)
        printf("waited for another dmarcd migrate to finish\n");
    if (r->partitions_added)
        printf("added %u monthly partition(s)\n", r->partitions_added);
    if (r->applied == 0)
        printf("schema up to date at version %u\n", r->after);
    else
        printf("schema migrated from version %u to %u (latest known: %u)\n", r->before, r->after,
               migrate_latest());
}

int cmd_migrate(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct migrate_args a = { .target = 0, .lock_timeout_s = 600, .list = false };
    int status = parse_args(argc, argv, &a);
    if (status >= 0)
        return status;
    if (a.list) {
        print_list();
        return EXIT_OK;
    }
    if (a.target > migrate_latest()) {
        fprintf(stderr, WHO ": no migration %u: this dmarcd carries versions 1 to %u\n", a.target,
                migrate_latest());
        return EXIT_USAGE;
    }

    /* No read timeout: a lock wait or a long ALTER TABLE is not a dead server. */
    struct store_options sopts;
    store_options_default(&sopts);
    sopts.read_timeout_s = 0;
    struct store *st = NULL;
    status = cmd_open_store(ctx, WHO, &sopts, &st);
    if (status)
        return status;

    struct migrate_options mopts;
    struct migrate_result res;
    struct strbuf why;
    strbuf_init(&why, 0);
    migrate_options_default(&mopts);
    mopts.target = a.target;
    mopts.lock_timeout_s = a.lock_timeout_s;
    mopts.progress = progress;
    enum dmarcd_err rc = migrate_run(st, &mopts, &res, &why);
    if (rc)
        status = cmd_store_failed(WHO, rc, st, &why);
    else
        print_result(&res);
    strbuf_release(&why);
    store_close(st);
    return status;
}

const struct command cmd_migrate_def = {
    .name = "migrate",
    .summary = "create or upgrade the database schema (safe to repeat)",
    .usage = "usage: dmarcd [--config FILE] migrate [--to VERSION] [--lock-timeout SECONDS]\n"
             "       dmarcd migrate --list\n"
             "\n"
             "Applies the numbered schema migrations compiled into this binary, in order,\n"
             "to the database DMARCD_DATABASE_URL names, records each one (version, file,\n"
             "sha256, time) in schema_migrations, then adds monthly partitions for the\n"
             "coming months. Running it again does nothing (\"schema up to date\"); runs\n"
             "started at the same time wait for one another (MariaDB lock\n"
             "dmarcd_migrate:<database>). It refuses to run when a migration that was\n"
             "already applied has changed since, naming the file.\n"
             "\n"
             "  --to VERSION          stop after migration VERSION (staged upgrades, tests)\n"
             "  --lock-timeout SECS   how long to wait for another run (default 600)\n"
             "  --list                print the migrations this binary carries and exit\n"
             "\n"
             "exit status: 0 ok, 1 a migration failed or was changed after being applied,\n"
             "2 usage or configuration (e.g. DMARCD_DATABASE_URL unset), 3 database\n"
             "unreachable.\n",
    .run = cmd_migrate,
};
