/*
 * cmd_token.c - `dmarcd token create|list|revoke`: personal API tokens from
 * the command line (storage/sessions.h), for scripts and for the first
 * token of a new tenant.
 *
 * `create` prints the token alone on standard output (so a script can
 * capture it) and what it is on standard error: it is shown this once and
 * only its SHA-256 is stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cmd.h"
#include "lib/slice.h"
#include "lib/strbuf.h"
#include "storage/sessions.h"
#include "storage/tenants.h"
#include "storage/users.h"
#include "lib/banned.h"

#define ACTOR "cli"

static int usage_error(const char *what)
{
    if (what)
        fprintf(stderr, "dmarcd token: %s\n", what);
    cmd_print_usage(&cmd_token_def, stderr);
    return EXIT_USAGE;
}

struct create_opts {
    const char *name;
    const char *expires;
    const char *scope;
};

/* Takes the options off argv; -1 to go on, else an exit status. */
static int create_options(int *argc, char **argv, struct create_opts *o)
{
    static const char *const names[] = { "--name", "--expires", "--scope" };
    const char **slots[] = { &o->name, &o->expires, &o->scope };
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        bool taken = false;
        for (size_t k = 0; k < 3 && !taken; k++) {
            size_t n = strlen(names[k]);
            if (strcmp(argv[i], names[k]) == 0 && i + 1 < *argc) {
                *slots[k] = argv[++i];
                taken = true;
            } else if (strncmp(argv[i], names[k], n) == 0 && argv[i][n] == '=') {
                *slots[k] = argv[i] + n + 1;
                taken = true;
            }
        }
        if (taken)
            continue;
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "dmarcd token: unknown option %s\n", argv[i]);
            return EXIT_USAGE;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    return -1;
}

/* The member's id in tenant; an exit status. */
static int find_member(struct store *st, const char *who, const char *email, uint32_t tenant_id,
                       const char *tenant, uint32_t *user_id)
{
    struct user_account acct;
    enum user_role role;
    enum dmarcd_err rc = user_find(st, email, &acct);
    if (!rc)
        rc = user_role_get(st, tenant_id, acct.id, &role);
    if (!rc)
        *user_id = acct.id;
    user_account_release(&acct);
    if (rc == DMARCD_E_NOT_FOUND) {
        fprintf(stderr, "%s: %s is not a member of %s (see `dmarcd user add`)\n", who, email,
                tenant);
        return EXIT_PARTIAL;
    }
    return rc ? cmd_store_failed(who, rc, st, NULL) : EXIT_OK;
}

static int token_create_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *who = "dmarcd token create";
    struct create_opts o = { .name = "", .expires = NULL, .scope = "read" };
    struct strbuf email, why;
    struct store *st = NULL;
    struct token_new tok;
    uint32_t tenant_id = 0, user_id = 0;
    int64_t days = 0;
    int status = create_options(&argc, argv, &o);
    if (status >= 0)
        return status;
    if (argc != 2)
        return usage_error("token create: expected TENANT EMAIL");
    if (o.expires && (!slice_to_i64(slice_from_cstr(o.expires), &days) || days < 1 ||
                      days > TOKEN_EXPIRES_MAX_DAYS)) {
        fprintf(stderr, "%s: --expires takes 1 to %d days\n", who, TOKEN_EXPIRES_MAX_DAYS);
        return EXIT_USAGE;
    }
    if (strcmp(o.scope, "read") != 0 && strcmp(o.scope, "write") != 0)
        return usage_error("token create: --scope is read or write");
    if (!tenant_name_valid(argv[0])) {
        fprintf(stderr, "%s: invalid tenant name \"%.80s\"\n", who, argv[0]);
        return EXIT_USAGE;
    }
    strbuf_init(&email, 0);
    strbuf_init(&why, 0);
    memset(&tok, 0, sizeof(tok));
    if (user_email_normalise(argv[1], &email, &why)) {
        fprintf(stderr, "%s: %s\n", who, why.buf);
        status = EXIT_USAGE;
        goto out;
    }
    status = cmd_open_store(ctx, who, NULL, &st);
    if (!status)
        status = cmd_find_tenant(st, who, argv[0], &tenant_id);
    if (!status)
        status = find_member(st, who, email.buf, tenant_id, argv[0], &user_id);
    if (status)
        goto out;
    enum dmarcd_err rc = token_create(st, tenant_id, user_id, o.name,
                                      strcmp(o.scope, "write") == 0, (unsigned)days, ACTOR, &tok,
                                      &why);
    if (rc) {
        status = rc == DMARCD_E_INVALID ? EXIT_USAGE : cmd_store_failed(who, rc, st, &why);
        if (rc == DMARCD_E_INVALID)
            fprintf(stderr, "%s: %s\n", who, why.buf);
        goto out;
    }
    printf("%s\n", tok.token);
    fflush(stdout);
    fprintf(stderr, "token %llu for %s in %s, scope %s, %s%s%s; shown once, store it now\n",
            (unsigned long long)tok.id, email.buf, argv[0], o.scope,
            days ? "expires in " : "no expiry", days ? o.expires : "", days ? " days" : "");
out:
    sodium_memzero(&tok, sizeof(tok));
    store_close(st);
    strbuf_release(&email);
    strbuf_release(&why);
    return status;
}

static int token_list_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *who = "dmarcd token list";
    struct store *st = NULL;
    struct token_infos list;
    uint32_t tenant_id = 0;
    if (argc != 1 || argv[0][0] == '-')
        return usage_error("token list: expected TENANT");
    if (!tenant_name_valid(argv[0])) {
        fprintf(stderr, "%s: invalid tenant name \"%.80s\"\n", who, argv[0]);
        return EXIT_USAGE;
    }
    int status = cmd_open_store(ctx, who, NULL, &st);
    if (!status)
        status = cmd_find_tenant(st, who, argv[0], &tenant_id);
    if (status)
        goto out;
    enum dmarcd_err rc = token_list(st, tenant_id, 0, &list);
    if (rc) {
        status = cmd_store_failed(who, rc, st, NULL);
        goto out;
    }
    if (list.count == 0)
        printf("no tokens\n");
    else
        printf("%-6s  %-12s  %-30s  %-10s  %-20s  %-20s  %s\n", "ID", "PREFIX", "USER", "SCOPE",
               "EXPIRES", "LAST USED", "STATE");
    for (size_t i = 0; i < list.count; i++) {
        const struct token_info *t = &list.items[i];
        printf("%-6llu  %-12s  %-30s  %-10s  %-20s  %-20s  %s\n", (unsigned long long)t->id,
               t->prefix, t->email, t->write ? "read,write" : "read",
               t->expires_at[0] ? t->expires_at : "never",
               t->last_used_at[0] ? t->last_used_at : "-",
               t->revoked_at[0] ? "revoked" : t->expired ? "expired" : "active");
    }
    token_infos_release(&list);
out:
    store_close(st);
    return status;
}

static int token_revoke_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *who = "dmarcd token revoke";
    struct store *st = NULL;
    uint32_t tenant_id = 0;
    int64_t id = 0;
    if (argc != 2 || argv[0][0] == '-')
        return usage_error("token revoke: expected TENANT ID");
    if (!tenant_name_valid(argv[0]) || !slice_to_i64(slice_from_cstr(argv[1]), &id) || id < 1) {
        fprintf(stderr, "%s: expected a tenant name and a token id (see `dmarcd token list`)\n",
                who);
        return EXIT_USAGE;
    }
    int status = cmd_open_store(ctx, who, NULL, &st);
    if (!status)
        status = cmd_find_tenant(st, who, argv[0], &tenant_id);
    if (status)
        goto out;
    enum dmarcd_err rc = token_revoke(st, tenant_id, (uint64_t)id, 0, ACTOR);
    if (rc == DMARCD_E_NOT_FOUND) {
        fprintf(stderr, "%s: %s has no active token %lld\n", who, argv[0], (long long)id);
        status = EXIT_PARTIAL;
    } else if (rc) {
        status = cmd_store_failed(who, rc, st, NULL);
    } else {
        printf("token %lld of %s revoked\n", (long long)id, argv[0]);
    }
out:
    store_close(st);
    return status;
}

int cmd_token(struct cmd_ctx *ctx, int argc, char **argv)
{
    if (argc < 2)
        return usage_error(NULL);
    if (strcmp(argv[1], "create") == 0)
        return token_create_cmd(ctx, argc - 2, argv + 2);
    if (strcmp(argv[1], "list") == 0)
        return token_list_cmd(ctx, argc - 2, argv + 2);
    if (strcmp(argv[1], "revoke") == 0)
        return token_revoke_cmd(ctx, argc - 2, argv + 2);
    fprintf(stderr, "dmarcd token: unknown subcommand %s\n", argv[1]);
    return usage_error(NULL);
}

const struct command cmd_token_def = {
    .name = "token",
    .summary = "create, list or revoke personal API tokens",
    .usage = "usage: dmarcd [--config FILE] token create TENANT EMAIL [--name N] [--expires DAYS]\n"
             "                                      [--scope read|write]\n"
             "       dmarcd token list TENANT\n"
             "       dmarcd token revoke TENANT ID\n"
             "\n"
             "create  prints a new API token for member EMAIL of TENANT on standard\n"
             "        output, once: only its SHA-256 is kept. Use it as\n"
             "        `Authorization: Bearer TOKEN`. It acts with the member's role in\n"
             "        TENANT; scope read (default) allows GET requests only, write also\n"
             "        changes. --expires DAYS (1-3650) sets an expiry; without it the\n"
             "        token lasts until revoked.\n"
             "list    prints the tenant's tokens (never the tokens themselves).\n"
             "revoke  revokes token ID (from `token list`) at once.\n"
             "\n"
             "Every change is written to the audit log (actor \"cli\").\n"
             "exit status: 0 ok, 1 refused (unknown tenant, not a member, no such\n"
             "token), 2 usage or configuration, 3 database unreachable.\n",
    .run = cmd_token,
};
