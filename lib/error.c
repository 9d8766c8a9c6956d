/*
 * error.c - names, messages and the transient/permanent split for
 * enum dmarcd_err, all generated from the one table in error.h so the three
 * can never disagree.
 */
#include "error.h"

#include <stddef.h>

#include "banned.h"

struct err_info {
    const char *code;
    const char *message;
    bool transient;
};

static const struct err_info err_table[DMARCD_ERR_COUNT] = {
#define DMARCD_ERR_INFO(name, c, t, m) [name] = { .code = c, .message = m, .transient = t },
    DMARCD_ERRORS(DMARCD_ERR_INFO)
#undef DMARCD_ERR_INFO
};

static const struct err_info *err_lookup(enum dmarcd_err err)
{
    if ((unsigned)err >= DMARCD_ERR_COUNT)
        return NULL;
    return &err_table[err];
}

const char *dmarcd_strerror(enum dmarcd_err err)
{
    const struct err_info *info = err_lookup(err);
    return info ? info->message : "unknown error";
}

const char *dmarcd_err_code(enum dmarcd_err err)
{
    const struct err_info *info = err_lookup(err);
    return info ? info->code : "unknown";
}

bool dmarcd_err_is_transient(enum dmarcd_err err)
{
    const struct err_info *info = err_lookup(err);
    return info ? info->transient : false;
}

int dmarcd_err_exit_status(enum dmarcd_err err)
{
    switch (err) {
    case DMARCD_OK:
        return 0;
    case DMARCD_E_USAGE:
    case DMARCD_E_CONFIG:
        return 2;
    case DMARCD_E_DB_UNAVAILABLE:
    case DMARCD_E_QUEUE_UNAVAILABLE:
        return 3;
    default:
        return 1;
    }
}
