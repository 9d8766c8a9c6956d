/*
 * audit.h - the audit log: one row per change a person or tool made.
 *
 * Written in the same transaction as the change it describes, so the log
 * and the data cannot disagree. detail is a JSON object built by the
 * caller with store_audit_detail() (values escaped by jansson), or NULL.
 */
#ifndef DMARCD_STORAGE_AUDIT_H
#define DMARCD_STORAGE_AUDIT_H

#include <stdint.h>

#include "lib/error.h"
#include "storage/store.h"

/* tenant_id 0: a change outside any tenant. */
enum dmarcd_err store_audit_add(struct store *st, uint32_t tenant_id, const char *actor,
                                const char *action, const char *target,
                                const char *detail_json) DMARCD_MUST_CHECK;

/* {"k1":"v1","k2":"v2",...} from NULL-terminated key, value pairs; NULL
 * values are skipped. Heap string, free() it. */
char *store_audit_detail(const char *const *pairs);

#endif
