/*
 * fixture.h - the parser tests' input files, read from tests/data/.
 *
 * fixture_read("aggregate", "rfc7489.xml", &len) returns the whole file as
 * a heap buffer (NUL-terminated, so text fixtures can be used as strings;
 * len excludes the NUL) that the caller frees. A missing fixture fails the
 * running test with its path. The files are written for these tests
 * (example domains, documentation addresses), never copied from the corpus.
 */
#ifndef DMARCD_TESTS_UNIT_FIXTURE_H
#define DMARCD_TESTS_UNIT_FIXTURE_H

#include <stddef.h>

char *fixture_read(const char *subdir, const char *name, size_t *len);

#endif
