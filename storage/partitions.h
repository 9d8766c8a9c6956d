/*
 * partitions.h - monthly RANGE partitions of the big tables.
 *
 * The migrations create every time-partitioned table with one partition,
 * `p_max VALUES LESS THAN (MAXVALUE)`. store_partitions_ensure() finds
 * every RANGE COLUMNS table of the database and splits p_max into monthly
 * partitions pYYYYMM (holding report_day < the first day of the month after
 * YYYYMM) from months_back before the current month (or from the highest
 * existing partition, so there is never a gap) through months_ahead after
 * it. Splitting an empty p_max is a metadata change; rows already in p_max
 * (maintenance not run for months) are moved, which is why it runs at every
 * `dmarcd migrate` and, later, every `dmarcd retention`.
 *
 * The lowest partition also holds every older day: expiring a month is
 * ALTER TABLE ... DROP PARTITION of the lowest one once its bound is past
 * the longest retention horizon.
 */
#ifndef DMARCD_STORAGE_PARTITIONS_H
#define DMARCD_STORAGE_PARTITIONS_H

#include "lib/error.h"
#include "storage/store.h"

/* 24 months back covers the enterprise horizon for back-filled imports. */
#define STORE_PARTITION_MONTHS_BACK 24
#define STORE_PARTITION_MONTHS_AHEAD 3

/*
 * year and month (1-12) are "now" in UTC. *added is the number of
 * partitions created over all tables.
 */
enum dmarcd_err store_partitions_ensure(struct store *st, int year, int month,
                                        unsigned months_back, unsigned months_ahead,
                                        unsigned *added) DMARCD_MUST_CHECK;

/* The current UTC year and month. */
void store_partitions_now(int *year, int *month);

#endif
