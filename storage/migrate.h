/*
 * migrate.h - applying the numbered SQL files of schema/ to a database.
 *
 * The files are compiled into the binary (migrations_data.c is generated
 * by CMake from schema/NNN_name.sql), so a container image needs nothing
 * but dmarcd. migrate_run():
 *
 *   1. takes the MariaDB named lock "dmarcd_migrate:<database>" (GET_LOCK,
 *      per server) so that concurrent runs (several pods starting at once)
 *      queue up behind one another instead of racing;
 *   2. creates schema_migrations if missing and reads what was applied;
 *   3. refuses to go on when an applied migration's file changed since
 *      (sha256 differs, the file is named), when the database is newer than
 *      the binary, or when the recorded versions are not 1..N;
 *   4. applies each pending file up to the target, one statement at a time
 *      (DDL auto-commits in MariaDB: each file is written idempotently and
 *      recorded right after its last statement succeeds, so a run cut short
 *      is finished by the next one);
 *   5. adds monthly partitions ahead of time (partitions.h);
 *   6. releases the lock.
 *
 * A second run finds nothing to do and says so.
 */
#ifndef DMARCD_STORAGE_MIGRATE_H
#define DMARCD_STORAGE_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"
#include "lib/slice.h"
#include "lib/strbuf.h"
#include "storage/store.h"

struct migration {
    unsigned version;           /* 1, 2, ... from the NNN_ prefix */
    const char *name;           /* "001_core.sql" */
    const char *sql;            /* the file's bytes, NUL-terminated */
    size_t len;
};

/* Generated: every schema/NNN_*.sql in version order, versions 1..count. */
extern const struct migration migrate_files[];
extern const size_t migrate_files_count;

/* The highest version this binary knows. */
unsigned migrate_latest(void);

struct migrate_options {
    unsigned target;            /* stop after this version; 0: the latest */
    unsigned lock_timeout_s;    /* how long to wait for another run's lock */
    bool partitions;            /* run partition maintenance at the end */
    /* Called before and after each file is applied (done false, then true
     * with the seconds it took); may be NULL. */
    void (*progress)(void *ctx, const struct migration *m, bool done, double seconds);
    void *progress_ctx;
};

void migrate_options_default(struct migrate_options *opts);

struct migrate_result {
    unsigned before;            /* schema version found */
    unsigned after;             /* schema version left */
    unsigned applied;           /* files applied by this run */
    unsigned partitions_added;
    bool waited;                /* another run held the lock first */
};

/*
 * Returns DMARCD_OK, DMARCD_E_DB_UNAVAILABLE / DMARCD_E_DB (database),
 * DMARCD_E_TIMEOUT (lock not obtained), DMARCD_E_USAGE (target unknown or
 * behind the database), DMARCD_E_INVALID (a changed or unknown applied
 * migration); why says which, naming the file.
 */
enum dmarcd_err migrate_run(struct store *st, const struct migrate_options *opts,
                            struct migrate_result *res, struct strbuf *why) DMARCD_MUST_CHECK;

/*
 * Statement splitter used on the files: takes the next statement off the
 * front of *rest (text up to a `;` outside quotes and comments), without
 * the `;` and surrounding whitespace. False when only whitespace and
 * comments remain. Quotes ('', "", ``) and comments (-- , #, / * * /) are
 * skipped over; DELIMITER and stored programs are not supported.
 */
bool migrate_next_statement(struct slice *rest, struct slice *stmt);

#endif
