/*
 * cmd.h - the subcommands of the dmarcd binary, git-builtin style.
 *
 * main.c owns the command table: it parses the global options, finds the
 * command and calls its run() with the remaining arguments (argv[0] is the
 * command name). A command returns a process exit status per the CLI
 * contract: 0 success, 1 some input failed, 2 usage/configuration,
 * 3 a service unreachable. Only commands that work are in the table.
 */
#ifndef DMARCD_CMD_H
#define DMARCD_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "lib/config.h"
#include "storage/forensic.h"
#include "storage/store.h"

struct cmd_ctx {
    const char *config_path;    /* --config FILE, or NULL */
    char *const *envp;          /* the environment config is read from */
};

struct command {
    const char *name;
    const char *summary;        /* one line for `dmarcd help` */
    const char *usage;          /* full text for `dmarcd help NAME` */
    int (*run)(struct cmd_ctx *ctx, int argc, char **argv);
};

/* Exit statuses of the CLI contract. */
enum { EXIT_OK = 0, EXIT_PARTIAL = 1, EXIT_USAGE = 2, EXIT_UNAVAILABLE = 3 };

/* Prints the command's usage text to out. */
void cmd_print_usage(const struct command *cmd, FILE *out);

/* True when argv holds -h or --help: the caller prints its usage and exits 0. */
int cmd_wants_help(int argc, char **argv);

/*
 * Loads and validates the configuration for a command; on any fatal
 * problem prints them all to stderr and returns non-zero (exit status 2).
 */
int cmd_load_config(struct cmd_ctx *ctx, struct config *cfg);

/*
 * Loads the configuration, requires database_url on behalf of `who`
 * ("dmarcd migrate") and connects with opts (NULL: defaults). On failure
 * prints why to stderr and returns the exit status (2 configuration,
 * 3 unreachable, 1 other); *out is set only on EXIT_OK.
 */
int cmd_open_store(struct cmd_ctx *ctx, const char *who, const struct store_options *opts,
                   struct store **out);

/*
 * The id of the active tenant named `name` (cmd_user.c); on failure prints
 * why, prefixed with `who`, and returns the exit status.
 */
int cmd_find_tenant(struct store *st, const char *who, const char *name, uint32_t *id);

/*
 * The master keys of master_key_file and master_key_previous_file
 * (storage/keys.h) and pgp_fallback (may be NULL) from the configuration
 * (keyring.c). Without master_key_file: a configuration error when
 * required, else *keys is NULL. On failure prints why, prefixed with who,
 * and returns the exit status; keyring_free(*keys) when done.
 */
int cmd_load_keys(struct cmd_ctx *ctx, const char *who, bool required, struct keyring **keys,
                  enum forensic_fallback *fallback);

/* Exit status and one line on stderr for a failed storage call. */
int cmd_store_failed(const char *who, enum dmarcd_err rc, const struct store *st,
                     const struct strbuf *why);

/*
 * Walks one PATH argument (walk.c): a file is handed to file(); a
 * directory is walked recursively in name order, not through symlinked
 * directories. Paths that cannot be read print `WHO: PATH: reason` on
 * stderr and set failed. file() may set stop to end the walk.
 */
struct stat;
struct cmd_walk {
    const char *who;            /* "dmarcd parse": prefixes error lines */
    void (*file)(struct cmd_walk *w, const char *path, const struct stat *st);
    void *ctx;                  /* the command's state, for file() */
    bool failed;
    bool stop;
};
void cmd_walk(struct cmd_walk *w, const char *path);

int cmd_version(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_config(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_parse(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_migrate(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_tenant(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_domain(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_import(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_queue(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_imap(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_retention(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_smtp(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_user(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_token(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_api(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_worker(struct cmd_ctx *ctx, int argc, char **argv);

extern const struct command cmd_version_def;
extern const struct command cmd_config_def;
extern const struct command cmd_parse_def;
extern const struct command cmd_migrate_def;
extern const struct command cmd_tenant_def;
extern const struct command cmd_domain_def;
extern const struct command cmd_import_def;
extern const struct command cmd_queue_def;
extern const struct command cmd_imap_def;
extern const struct command cmd_retention_def;
extern const struct command cmd_smtp_def;
extern const struct command cmd_user_def;
extern const struct command cmd_token_def;
extern const struct command cmd_api_def;
extern const struct command cmd_worker_def;

#endif
