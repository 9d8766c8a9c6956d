/*
 * cmd_user.c - `dmarcd user add|list|remove|operator`: the operator's tools
 * for the people who use the REST API and the dashboard (storage/users.h).
 *
 * A new account's password is read from standard input (one line, so
 * `printf '%s\n' "$pw" | dmarcd user add ...` works; at a terminal it is
 * asked for without echo), checked against the password policy and hashed
 * with Argon2id before any transaction opens. It never appears in argv,
 * where other users of the machine could read it. Every change is audited
 * with actor "cli".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cmd.h"
#include "lib/strbuf.h"
#include "storage/tenants.h"
#include "storage/users.h"
#include "lib/banned.h"

#define ACTOR "cli"

int cmd_find_tenant(struct store *st, const char *who, const char *name, uint32_t *id)
{
    struct tenant_infos list;
    enum dmarcd_err rc = tenant_list(st, &list);
    if (rc)
        return cmd_store_failed(who, rc, st, NULL);
    int status = EXIT_PARTIAL;
    size_t i = 0;
    while (i < list.count && strcmp(list.items[i].name, name) != 0)
        i++;
    if (i == list.count) {
        fprintf(stderr, "%s: no tenant named %s (see `dmarcd tenant list`)\n", who, name);
    } else if (strcmp(list.items[i].status, "active") != 0) {
        fprintf(stderr, "%s: tenant %s is %s\n", who, name, list.items[i].status);
    } else {
        *id = list.items[i].id;
        status = EXIT_OK;
    }
    tenant_infos_release(&list);
    return status;
}

static int usage_error(const char *what)
{
    if (what)
        fprintf(stderr, "dmarcd user: %s\n", what);
    cmd_print_usage(&cmd_user_def, stderr);
    return EXIT_USAGE;
}

/*
 * One line of standard input into pw (without its line end); with a
 * terminal, prompts on stderr with echo off. false when there is none.
 */
static bool read_password(struct strbuf *pw)
{
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    int c;
    if (tty) {
        fputs("password: ", stderr);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    bool any = false;
    while ((c = getchar()) != EOF && c != '\n') {
        any = true;
        if (strbuf_addch(pw, (char)c))
            break;
    }
    if (tty) {
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (pw->len && pw->buf[pw->len - 1] == '\r')
        strbuf_setlen(pw, pw->len - 1);
    return any || c == '\n';
}

/* The password for a new account, checked and hashed; an exit status. */
static int new_password_hash(const char *who, const char *email, char hash[USER_HASH_MAX])
{
    struct strbuf pw, why;
    strbuf_init(&pw, USER_PASSWORD_MAX + 1);
    strbuf_init(&why, 0);
    int status = EXIT_OK;
    if (!read_password(&pw)) {
        fprintf(stderr, "%s: a new account needs a password on standard input\n", who);
        status = EXIT_USAGE;
    } else if (user_password_acceptable(pw.buf, email, &why)) {
        fprintf(stderr, "%s: %s\n", who, why.buf);
        status = EXIT_USAGE;
    } else if (user_password_hash(pw.buf, hash)) {
        fprintf(stderr, "%s: cannot hash the password (out of memory?)\n", who);
        status = EXIT_PARTIAL;
    }
    sodium_memzero(pw.buf, pw.alloc);
    strbuf_release(&pw);
    strbuf_release(&why);
    return status;
}

/* Moves `--NAME V` / `--NAME=V` out of argv into *value; -1 ok, else an exit status. */
static int take_option(int *argc, char **argv, const char *name, const char **value,
                       const char *flag, bool *flag_set)
{
    size_t n = name ? strlen(name) : 0;
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        if (name && strcmp(argv[i], name) == 0 && i + 1 < *argc) {
            *value = argv[++i];
        } else if (name && strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') {
            *value = argv[i] + n + 1;
        } else if (flag && strcmp(argv[i], flag) == 0) {
            *flag_set = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "dmarcd user: unknown option %s\n", argv[i]);
            return EXIT_USAGE;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    return -1;
}

static int user_add_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *who = "dmarcd user add", *role_text = NULL;
    struct strbuf email, why;
    struct store *st = NULL;
    struct user_account acct;
    struct user_added added;
    enum user_role role;
    uint32_t tenant_id = 0;
    char hash[USER_HASH_MAX] = "";
    int status = take_option(&argc, argv, "--role", &role_text, NULL, NULL);
    if (status >= 0)
        return status;
    if (argc != 2)
        return usage_error("user add: expected TENANT EMAIL --role ROLE");
    if (!role_text || !user_role_parse(role_text, &role))
        return usage_error("user add: --role owner|admin|analyst|viewer is required");
    if (!tenant_name_valid(argv[0])) {
        fprintf(stderr, "%s: invalid tenant name \"%.80s\"\n", who, argv[0]);
        return EXIT_USAGE;
    }
    strbuf_init(&email, 0);
    strbuf_init(&why, 0);
    memset(&acct, 0, sizeof(acct));
    if (user_email_normalise(argv[1], &email, &why)) {
        fprintf(stderr, "%s: %s\n", who, why.buf);
        status = EXIT_USAGE;
        goto out;
    }
    status = cmd_open_store(ctx, who, NULL, &st);
    if (!status)
        status = cmd_find_tenant(st, who, argv[0], &tenant_id);
    if (status)
        goto out;
    enum dmarcd_err rc = user_find(st, email.buf, &acct);
    if (rc == DMARCD_E_NOT_FOUND) {
        status = new_password_hash(who, email.buf, hash);
        if (status)
            goto out;
        rc = DMARCD_OK;
    }
    if (!rc)
        rc = user_add(st, tenant_id, email.buf, role, hash, ACTOR, &added, &why);
    if (rc) {
        status = cmd_store_failed(who, rc, st, &why);
    } else if (added.already_member) {
        printf("%s is already a member of %s (role %s); nothing changed\n", email.buf, argv[0],
               user_role_name(added.role));
    } else {
        printf("%s %s to tenant %s as %s\n", email.buf,
               added.created ? "created and added" : "added", argv[0], user_role_name(role));
    }
out:
    sodium_memzero(hash, sizeof(hash));
    user_account_release(&acct);
    store_close(st);
    strbuf_release(&email);
    strbuf_release(&why);
    return status;
}

static int user_list_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *who = "dmarcd user list";
    struct store *st = NULL;
    struct user_members list;
    uint32_t tenant_id = 0;
    int status = take_option(&argc, argv, NULL, NULL, NULL, NULL);
    if (status >= 0)
        return status;
    if (argc != 1)
        return usage_error("user list: expected TENANT");
    if (!tenant_name_valid(argv[0])) {
        fprintf(stderr, "%s: invalid tenant name \"%.80s\"\n", who, argv[0]);
        return EXIT_USAGE;
    }
    status = cmd_open_store(ctx, who, NULL, &st);
    if (!status)
        status = cmd_find_tenant(st, who, argv[0], &tenant_id);
    if (status)
        goto out;
    enum dmarcd_err rc = user_list(st, tenant_id, &list);
    if (rc) {
        status = cmd_store_failed(who, rc, st, NULL);
        goto out;
    }
    if (list.count == 0)
        printf("no users\n");
    else
        printf("%-40s  %-8s  %-8s  %-20s  %s\n", "EMAIL", "ROLE", "STATUS", "JOINED",
               "LAST LOGIN");
    for (size_t i = 0; i < list.count; i++) {
        const struct user_member *m = &list.items[i];
        printf("%-40s  %-8s  %-8s  %-20s  %s\n", m->email, user_role_name(m->role),
               m->active ? "active" : "disabled", m->created_at,
               m->last_login_at[0] ? m->last_login_at : "-");
    }
    user_members_release(&list);
out:
    store_close(st);
    return status;
}

static int user_remove_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *who = "dmarcd user remove";
    struct store *st = NULL;
    struct strbuf email, why;
    struct user_account acct;
    uint32_t tenant_id = 0;
    int status = take_option(&argc, argv, NULL, NULL, NULL, NULL);
    if (status >= 0)
        return status;
    if (argc != 2)
        return usage_error("user remove: expected TENANT EMAIL");
    strbuf_init(&email, 0);
    strbuf_init(&why, 0);
    memset(&acct, 0, sizeof(acct));
    if (!tenant_name_valid(argv[0]) || user_email_normalise(argv[1], &email, &why)) {
        fprintf(stderr, "%s: %s\n", who, why.len ? why.buf : "invalid tenant name");
        status = EXIT_USAGE;
        goto out;
    }
    status = cmd_open_store(ctx, who, NULL, &st);
    if (!status)
        status = cmd_find_tenant(st, who, argv[0], &tenant_id);
    if (status)
        goto out;
    enum dmarcd_err rc = user_find(st, email.buf, &acct);
    if (!rc)
        rc = user_remove(st, tenant_id, acct.id, ACTOR, &why);
    if (rc == DMARCD_E_NOT_FOUND) {
        fprintf(stderr, "%s: %s is not a member of %s\n", who, email.buf, argv[0]);
        status = EXIT_PARTIAL;
    } else if (rc) {
        status = cmd_store_failed(who, rc, st, &why);
    } else {
        printf("%s removed from %s; their API tokens there are revoked\n", email.buf, argv[0]);
    }
out:
    user_account_release(&acct);
    store_close(st);
    strbuf_release(&email);
    strbuf_release(&why);
    return status;
}

static int user_operator_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *who = "dmarcd user operator";
    struct store *st = NULL;
    struct strbuf email, why;
    bool off = false;
    int status = take_option(&argc, argv, NULL, NULL, "--off", &off);
    if (status >= 0)
        return status;
    if (argc != 1)
        return usage_error("user operator: expected EMAIL");
    strbuf_init(&email, 0);
    strbuf_init(&why, 0);
    if (user_email_normalise(argv[0], &email, &why)) {
        fprintf(stderr, "%s: %s\n", who, why.buf);
        status = EXIT_USAGE;
        goto out;
    }
    status = cmd_open_store(ctx, who, NULL, &st);
    if (status)
        goto out;
    enum dmarcd_err rc = user_set_operator(st, email.buf, !off, ACTOR, &why);
    if (rc)
        status = cmd_store_failed(who, rc, st, &why);
    else
        printf("%s is %s a platform operator\n", email.buf, off ? "no longer" : "now");
out:
    store_close(st);
    strbuf_release(&email);
    strbuf_release(&why);
    return status;
}

int cmd_user(struct cmd_ctx *ctx, int argc, char **argv)
{
    if (argc < 2)
        return usage_error(NULL);
    if (strcmp(argv[1], "add") == 0)
        return user_add_cmd(ctx, argc - 2, argv + 2);
    if (strcmp(argv[1], "list") == 0)
        return user_list_cmd(ctx, argc - 2, argv + 2);
    if (strcmp(argv[1], "remove") == 0)
        return user_remove_cmd(ctx, argc - 2, argv + 2);
    if (strcmp(argv[1], "operator") == 0)
        return user_operator_cmd(ctx, argc - 2, argv + 2);
    fprintf(stderr, "dmarcd user: unknown subcommand %s\n", argv[1]);
    return usage_error(NULL);
}

const struct command cmd_user_def = {
    .name = "user",
    .summary = "add, list or remove the people of a tenant; platform operators",
    .usage = "usage: dmarcd [--config FILE] user add TENANT EMAIL\n"
             "                                     --role owner|admin|analyst|viewer\n"
             "       dmarcd user list TENANT\n"
             "       dmarcd user remove TENANT EMAIL\n"
             "       dmarcd user operator EMAIL [--off]\n"
             "\n"
             "add       makes EMAIL a member of TENANT with the role. A new account's\n"
             "          password is read from standard input (one line): at least 12\n"
             "          characters, not one of the commonest passwords. An existing\n"
             "          account keeps its password and joins the tenant.\n"
             "          Roles: viewer (aggregate data only), analyst (everything,\n"
             "          failure reports included), admin (also domains, settings, users\n"
             "          and uploads), owner (also owners).\n"
             "list      prints the members of TENANT with role, status and last login.\n"
             "remove    takes EMAIL out of TENANT and revokes their API tokens there; a\n"
             "          tenant keeps at least one owner.\n"
             "operator  grants (or with --off revokes) the platform operator role:\n"
             "          cross-tenant administration, no tenant's data.\n"
             "\n"
             "Every change is written to the audit log (actor \"cli\").\n"
             "exit status: 0 ok, 1 refused (unknown tenant or member, last owner),\n"
             "2 usage, configuration or an unacceptable password, 3 database unreachable.\n",
    .run = cmd_user,
};
