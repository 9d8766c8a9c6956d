/*
 * cmd_config.c - `dmarcd config check` and `dmarcd config sample`.
 *
 * check loads the configuration exactly as every other command does and
 * prints each key's effective value (secrets masked) and where it came
 * from, then every problem with the key, the bad value and what is
 * allowed. It validates syntax and readability only; it does not claim the
 * database or Redis answer (the commands that use them say so when not).
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "lib/config.h"
#include "lib/strbuf.h"
#include "lib/banned.h"

static const char *source_name(const struct config_value *v)
{
    switch (v->source) {
    case CONFIG_FROM_ENV:
        return v->via_file ? "environment (_FILE)" : "environment";
    case CONFIG_FROM_FILE:
        return v->via_file ? "config file (_file)" : "config file";
    case CONFIG_FROM_DEFAULT:
        break;
    }
    return "default";
}

static int config_check(struct cmd_ctx *ctx)
{
    struct config cfg;
    struct config_problems probs;
    struct strbuf shown;

    config_init(&cfg);
    config_problems_init(&probs);
    strbuf_init(&shown, 0);
    enum dmarcd_err rc = config_load(&cfg, ctx->config_path, ctx->envp, &probs);

    printf("config file: %s\n", cfg.file ? cfg.file : "(none)");
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        config_describe_value(&cfg, (enum config_key)i, &shown);
        printf("  %-16s = %-40s  [%s]\n", config_key_name((enum config_key)i), shown.buf,
               cfg.values[i].text ? source_name(&cfg.values[i]) : "unset");
    }
    config_problems_print(&probs, stdout);
    size_t fatal = config_problems_fatal(&probs);
    if (rc)
        printf("configuration invalid: %zu error(s)\n", fatal);
    else
        printf("configuration valid (%zu warning(s)); reachability of the database and "
               "Redis is not checked here\n",
               probs.count - fatal);

    strbuf_release(&shown);
    config_problems_release(&probs);
    config_release(&cfg);
    return rc ? EXIT_USAGE : EXIT_OK;
}

int cmd_config(struct cmd_ctx *ctx, int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            ctx->config_path = argv[++i];
        } else {
            fprintf(stderr, "dmarcd config: unknown option %s\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (i + 1 == argc && strcmp(argv[i], "check") == 0)
        return config_check(ctx);
    if (i + 1 == argc && strcmp(argv[i], "sample") == 0) {
        config_write_sample(stdout);
        return EXIT_OK;
    }
    cmd_print_usage(&cmd_config_def, stderr);
    return EXIT_USAGE;
}

const struct command cmd_config_def = {
    .name = "config",
    .summary = "check the configuration, or print a documented sample",
    .usage = "usage: dmarcd [--config FILE] config check\n"
             "       dmarcd config sample\n"
             "\n"
             "check   reads the config file (--config FILE or DMARCD_CONFIG) and the\n"
             "        environment (DMARCD_<KEY>, DMARCD_<KEY>_FILE), prints every key's\n"
             "        effective value (passwords masked) and source, and names each bad\n"
             "        key with its value and what is allowed. Exit 0 valid, 2 invalid.\n"
             "sample  prints a config file documenting every key and its default.\n",
    .run = cmd_config,
};
