/*
 * main.c - entry point of the dmarcd binary: global options, the command
 * table, help. Each command lives in its own cmd_*.c file; adding one is a
 * line in the table below, and only working commands are listed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/url.h"
#include "lib/banned.h"

static int cmd_help(struct cmd_ctx *ctx, int argc, char **argv);

static const struct command cmd_help_def = {
    .name = "help",
    .summary = "show the commands, or one command's usage",
    .usage = "usage: dmarcd help [COMMAND]\n"
             "\n"
             "Without COMMAND, lists every command. With one, prints its usage\n"
             "(the same as `dmarcd COMMAND --help`).\n",
    .run = cmd_help,
};

static const struct command *const commands[] = {
    &cmd_help_def,
    &cmd_version_def,
    &cmd_config_def,
    &cmd_parse_def,
    &cmd_migrate_def,
    &cmd_tenant_def,
    &cmd_domain_def,
    &cmd_user_def,
    &cmd_token_def,
    &cmd_import_def,
    &cmd_worker_def,
    &cmd_queue_def,
    &cmd_smtp_def,
    &cmd_imap_def,
    &cmd_api_def,
    &cmd_retention_def,
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    }
    return NULL;
}

static void print_overview(FILE *out)
{
    fputs("usage: dmarcd [--config FILE] COMMAND [ARGS]\n"
          "\n"
          "dmarcd receives DMARC aggregate and failure reports and SMTP TLS reports,\n"
          "stores them per customer organisation and serves them to dashboards.\n"
          "\n"
          "commands:\n",
          out);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fputs("\n"
          "global options:\n"
          "  --config FILE  read settings from FILE (or set DMARCD_CONFIG); the\n"
          "                 environment (DMARCD_<KEY>) overrides the file\n"
          "\n"
          "`dmarcd help COMMAND` or `dmarcd COMMAND --help` describes a command.\n"
          "exit status: 0 ok, 1 some input failed, 2 usage or configuration error,\n"
          "3 a service (database, Redis) unreachable.\n",
          out);
}

void cmd_print_usage(const struct command *cmd, FILE *out)
{
    fputs(cmd->usage, out);
}

int cmd_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

static int cmd_help(struct cmd_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    if (argc > 2) {
        cmd_print_usage(&cmd_help_def, stderr);
        return EXIT_USAGE;
    }
    if (argc == 2 && strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "-h") != 0) {
        const struct command *cmd = find_command(argv[1]);
        if (!cmd) {
            fprintf(stderr, "dmarcd: no such command: %s (see `dmarcd help`)\n", argv[1]);
            return EXIT_USAGE;
        }
        cmd_print_usage(cmd, stdout);
        return EXIT_OK;
    }
    print_overview(stdout);
    return EXIT_OK;
}

int cmd_load_config(struct cmd_ctx *ctx, struct config *cfg)
{
    struct config_problems probs;
    config_problems_init(&probs);
    enum dmarcd_err rc = config_load(cfg, ctx->config_path, ctx->envp, &probs);
    log_set_level(config_get_log_level(cfg));
    if (rc) {
        config_problems_print(&probs, stderr);
        fprintf(stderr, "dmarcd: configuration invalid: %zu error(s); run `dmarcd config check`\n",
                config_problems_fatal(&probs));
    }
    config_problems_release(&probs);
    return rc ? EXIT_USAGE : EXIT_OK;
}

static int require_database(struct config *cfg, const char *who)
{
    struct config_problems probs;
    config_problems_init(&probs);
    enum dmarcd_err rc = config_require(cfg, CONFIG_DATABASE_URL, who, &probs);
    if (rc)
        config_problems_print(&probs, stderr);
    config_problems_release(&probs);
    return rc ? EXIT_USAGE : EXIT_OK;
}

int cmd_open_store(struct cmd_ctx *ctx, const char *who, const struct store_options *opts,
                   struct store **out)
{
    struct config cfg;
    struct db_url url = { 0 };
    struct strbuf why, shown;
    struct store_options defaults;
    const char *text = NULL;
    *out = NULL;
    config_init(&cfg);
    strbuf_init(&why, 0);
    strbuf_init(&shown, 0);
    int status = cmd_load_config(ctx, &cfg);
    if (!status)
        status = require_database(&cfg, who);
    if (status)
        goto out;
    text = config_get_str(&cfg, CONFIG_DATABASE_URL);
    url_mask_password(text, &shown);
    if (db_url_parse(text, &url, &why)) {
        fprintf(stderr, "%s: database_url %s: %s\n", who, shown.buf, why.buf);
        status = EXIT_USAGE;
        goto out;
    }
    if (!opts) {
        store_options_default(&defaults);
        opts = &defaults;
    }
    enum dmarcd_err rc = store_open_opts(&url, opts, out, &why);
    if (rc) {
        fprintf(stderr, "%s: %s at %s: %s\n", who,
                rc == DMARCD_E_DB_UNAVAILABLE ? "database unreachable"
                                              : "cannot use the database",
                shown.buf, why.buf);
        status = dmarcd_err_exit_status(rc);
    }
out:
    db_url_release(&url);
    strbuf_release(&shown);
    strbuf_release(&why);
    config_release(&cfg);
    return status;
}

int cmd_store_failed(const char *who, enum dmarcd_err rc, const struct store *st,
                     const struct strbuf *why)
{
    if (why && why->len)
        fprintf(stderr, "%s: %s\n", who, why->buf);
    else
        fprintf(stderr, "%s: %s%s%s\n", who, dmarcd_strerror(rc),
                st && store_last_error(st)[0] ? ": " : "", st ? store_last_error(st) : "");
    return dmarcd_err_exit_status(rc);
}

/*
 * Takes the global options off the front of argv: --config FILE and
 * --config=FILE. Returns the index of the command name, -1 on error,
 * -2 when the user asked for help, -3 for --version.
 */
static int parse_global_options(int argc, char **argv, struct cmd_ctx *ctx)
{
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            ctx->config_path = argv[i + 1];
            i += 2;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            ctx->config_path = argv[i] + 9;
            i++;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return -2;
        } else if (strcmp(argv[i], "--version") == 0) {
            return -3;
        } else {
            fprintf(stderr, "dmarcd: unknown option %s\n", argv[i]);
            return -1;
        }
    }
    return i;
}

int main(int argc, char **argv)
{
    struct cmd_ctx ctx = { .config_path = NULL, .envp = environ };

    int first = parse_global_options(argc, argv, &ctx);
    if (first == -2) {
        print_overview(stdout);
        return EXIT_OK;
    }
    if (first == -3)
        return cmd_version(&ctx, 1, argv);
    if (first < 0 || first >= argc) {
        print_overview(stderr);
        return EXIT_USAGE;
    }
    const struct command *cmd = find_command(argv[first]);
    if (!cmd) {
        fprintf(stderr, "dmarcd: no such command: %s (see `dmarcd help`)\n", argv[first]);
        return EXIT_USAGE;
    }
    int sub_argc = argc - first;
    char **sub_argv = argv + first;
    if (cmd != &cmd_help_def && cmd_wants_help(sub_argc, sub_argv)) {
        cmd_print_usage(cmd, stdout);
        return EXIT_OK;
    }
    return cmd->run(&ctx, sub_argc, sub_argv);
}
