/*
 * audit.c - audit log rows (see audit.h). The timestamp is the server's
 * UTC clock with microseconds so rows written in one second keep order.
 */
#include <jansson.h>
#include <stdlib.h>

#include "lib/xalloc.h"
#include "storage/audit.h"
#include "storage/stmt.h"
#include "lib/banned.h"

static const char AUDIT_SQL[] =
    "INSERT INTO audit_log (tenant_id, actor, action, target, detail, at)"
    " VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6))";

enum dmarcd_err store_audit_add(struct store *st, uint32_t tenant_id, const char *actor,
                                const char *action, const char *target, const char *detail_json)
{
    struct store_stmt *s = NULL;
    enum dmarcd_err rc = store_stmt_prepare(st, AUDIT_SQL, &s);
    if (rc)
        goto out;
    if (tenant_id)
        store_bind_u64(s, 0, tenant_id);
    else
        store_bind_null(s, 0);
    store_bind_str(s, 1, actor);
    store_bind_str(s, 2, action);
    store_bind_str(s, 3, target);
    store_bind_str(s, 4, detail_json);
    rc = store_stmt_exec(s);
out:
    store_stmt_free(s);
    return rc;
}

char *store_audit_detail(const char *const *pairs)
{
    json_t *obj = json_object();
    if (!obj)
        dmarcd_die("json_object: out of memory");
    for (; pairs[0]; pairs += 2) {
        if (pairs[1])
            json_object_set_new(obj, pairs[0], json_string(pairs[1]));
    }
    char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(obj);
    if (!text)
        dmarcd_die("json_dumps: out of memory");
    return text;
}
