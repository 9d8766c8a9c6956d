/*
 * keyring.c - the master keys and the PGP fallback from configuration, for
 * the commands that store or read failure-report blobs (cmd.h,
 * cmd_load_keys). The key files are read once per command; their content
 * never reaches a log or an error line, only their paths do.
 */
#include <stdio.h>

#include "cmd.h"
#include "lib/config.h"
#include "lib/strbuf.h"
#include "storage/keys.h"
#include "lib/banned.h"

int cmd_load_keys(struct cmd_ctx *ctx, const char *who, bool required, struct keyring **keys,
                  enum forensic_fallback *fallback)
{
    struct config cfg;
    struct strbuf why;
    *keys = NULL;
    config_init(&cfg);
    strbuf_init(&why, 0);
    int status = cmd_load_config(ctx, &cfg);
    if (status)
        goto out;
    if (fallback && !forensic_fallback_parse(config_get_str(&cfg, CONFIG_PGP_FALLBACK), fallback))
        *fallback = FORENSIC_FALLBACK_DROP;
    const char *cur = config_get_str(&cfg, CONFIG_MASTER_KEY_FILE);
    const char *prev = config_get_str(&cfg, CONFIG_MASTER_KEY_PREVIOUS_FILE);
    if (!cur || !cur[0]) {
        if (required) {
            fprintf(stderr, "%s: master_key_file is not set (DMARCD_MASTER_KEY_FILE): it names "
                            "the file of the master key that wraps the tenants' data keys\n",
                    who);
            status = EXIT_USAGE;
        } else if (prev && prev[0]) {
            fprintf(stderr, "%s: master_key_previous_file is set but master_key_file is not\n",
                    who);
            status = EXIT_USAGE;
        }
        goto out;
    }
    if (keyring_load(cur, prev, keys, &why)) {
        fprintf(stderr, "%s: %s\n", who, why.buf);
        status = EXIT_USAGE;
    }
out:
    strbuf_release(&why);
    config_release(&cfg);
    return status;
}
