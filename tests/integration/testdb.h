/*
 * testdb.h - a throwaway, migrated database for the integration tests of
 * the inbox and the queue.
 *
 *   if (testdb_env_missing()) return 77;          ctest: skipped
 *   rc = testdb_create("inbox", &st);             dmarc_test_<tag>_<pid>_<random>
 *   ... tests on st ...
 *   testdb_drop();                                closes st and drops the database
 *
 * The database is created with the credentials of DMARCD_DATABASE_URL
 * (the services' user may create databases named dmarc%) and migrated
 * without partition maintenance.
 */
#ifndef DMARCD_TESTS_TESTDB_H
#define DMARCD_TESTS_TESTDB_H

#include <stdbool.h>

#include "storage/store.h"

/* True (after printing why) when DMARCD_DATABASE_URL is unset. */
bool testdb_env_missing(void);

/* Creates, migrates and connects; 0 on success, -1 (printed why) otherwise. */
int testdb_create(const char *tag, struct store **st);

/* Opens one more connection to the test database; 0 on success. */
int testdb_connect(struct store **st);

/* Closes the connection testdb_create gave and drops the database. */
void testdb_drop(void);

#endif
