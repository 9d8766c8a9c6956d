/*
 * testdb.c - throwaway test databases (see testdb.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "lib/url.h"
#include "storage/migrate.h"
#include "storage/stmt.h"
#include "testdb.h"
#include "lib/banned.h"

static struct db_url admin_url;
static struct store *admin;
static struct store *main_store;
static char dbname[80];

bool testdb_env_missing(void)
{
    const char *text = getenv("DMARCD_DATABASE_URL");
    if (text && *text)
        return false;
    printf("DMARCD_DATABASE_URL unset: skipped (scripts/test.sh starts a database)\n");
    return true;
}

/* Runs `VERB `name`` ... as the URL's user, e.g. "CREATE DATABASE", name. */
static int run_admin(const char *verb, const char *name, const char *tail)
{
    struct strbuf sql;
    strbuf_init(&sql, 0);
    (void)strbuf_addf(&sql, "%s `%s`%s", verb, name, tail);
    enum dmarcd_err rc = store_exec_sql(admin, sql.buf);
    strbuf_release(&sql);
    return rc ? -1 : 0;
}

static int migrate(struct store *st)
{
    struct migrate_options o;
    struct migrate_result r;
    struct strbuf why;
    strbuf_init(&why, 0);
    migrate_options_default(&o);
    o.partitions = false;
    enum dmarcd_err rc = migrate_run(st, &o, &r, &why);
    if (rc)
        fprintf(stderr, "testdb: migrate failed: %s\n", why.buf);
    strbuf_release(&why);
    return rc ? -1 : 0;
}

int testdb_create(const char *tag, struct store **st)
{
    const char *text = getenv("DMARCD_DATABASE_URL");
    unsigned rnd = 0;
    *st = NULL;
    if (!text || db_url_parse(text, &admin_url, NULL) || store_open(&admin_url, &admin)) {
        fprintf(stderr, "testdb: cannot connect with DMARCD_DATABASE_URL\n");
        return -1;
    }
    if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
        rnd = (unsigned)getpid() * 2654435761u;
    snprintf(dbname, sizeof(dbname), "dmarc_test_%s_%ld_%08x", tag, (long)getpid(), rnd);
    if (run_admin("CREATE DATABASE", dbname, " CHARACTER SET utf8mb4") ||
        testdb_connect(&main_store) || migrate(main_store)) {
        testdb_drop();
        return -1;
    }
    *st = main_store;
    return 0;
}

int testdb_connect(struct store **st)
{
    struct db_url url = admin_url;
    url.database = dbname;
    return store_open(&url, st) ? -1 : 0;
}

void testdb_drop(void)
{
    store_close(main_store);
    main_store = NULL;
    if (admin && dbname[0] && run_admin("DROP DATABASE IF EXISTS", dbname, ""))
        fprintf(stderr, "testdb: could not drop %s\n", dbname);
    store_close(admin);
    admin = NULL;
    db_url_release(&admin_url);
}
