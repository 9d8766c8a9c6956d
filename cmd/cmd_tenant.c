/*
 * cmd_tenant.c - `dmarcd tenant add|list|cancel` and `dmarcd domain
 * add|list`: the operator's tools for customer organisations and the
 * policy domains they own (storage/tenants.h).
 *
 * Names, tiers and domains are checked before connecting, so a typo is a
 * usage error (exit 2) even without a database; what only the database can
 * tell (a duplicate, a domain owned by another tenant, an unknown tenant)
 * is exit 1. Every change is audited with actor "cli". Lists print aligned
 * columns with a header line.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "lib/strbuf.h"
#include "storage/store.h"
#include "storage/tenants.h"
#include "lib/banned.h"

#define ACTOR "cli"
#define MAX_COLS 8

/* ---- aligned columns ---- */

struct table {
    size_t ncols;
    const char *head[MAX_COLS];
    size_t width[MAX_COLS];
};

static void table_init(struct table *t, size_t ncols, const char *const *head)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    for (size_t i = 0; i < ncols; i++) {
        t->head[i] = head[i];
        t->width[i] = strlen(head[i]);
    }
}

static void table_measure(struct table *t, const char *const *cells)
{
    for (size_t i = 0; i < t->ncols; i++) {
        size_t n = strlen(cells[i]);
        if (n > t->width[i])
            t->width[i] = n;
    }
}

static void table_row(const struct table *t, const char *const *cells)
{
    for (size_t i = 0; i < t->ncols; i++) {
        if (i + 1 == t->ncols)
            printf("%s\n", cells[i]);
        else
            printf("%-*s  ", (int)t->width[i], cells[i]);
    }
}

/* ---- argument helpers ---- */

/* Moves `--tier T` / `--tier=T` out of argv; returns -1 ok, else exit status. */
static int take_tier(int *argc, char **argv, const char **tier, const char *who)
{
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--tier") == 0 && i + 1 < *argc) {
            *tier = argv[++i];
        } else if (strncmp(argv[i], "--tier=", 7) == 0) {
            *tier = argv[i] + 7;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "%s: unknown option %s\n", who, argv[i]);
            return EXIT_USAGE;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    return -1;
}

static int reject_options(int argc, char **argv, const char *who)
{
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "%s: unknown option %s\n", who, argv[i]);
            return EXIT_USAGE;
        }
    }
    return -1;
}

static int usage_error(const struct command *cmd, const char *what)
{
    if (what)
        fprintf(stderr, "%s\n", what);
    cmd_print_usage(cmd, stderr);
    return EXIT_USAGE;
}

/* ---- tenant ---- */

static int tenant_add_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *who = "dmarcd tenant add", *tier = "basic";
    struct strbuf why;
    struct store *st = NULL;
    uint32_t id = 0;
    int status = take_tier(&argc, argv, &tier, who);
    if (status >= 0)
        return status;
    if (argc != 1)
        return usage_error(&cmd_tenant_def, "dmarcd tenant add: expected one NAME");
    if (!tenant_name_valid(argv[0])) {
        fprintf(stderr, "%s: invalid tenant name \"%.80s\": 1 to 63 characters of a-z, 0-9 "
                        "and '-', starting with a letter or digit\n", who, argv[0]);
        return EXIT_USAGE;
    }
    if (!tenant_tier_valid(tier)) {
        fprintf(stderr, "%s: invalid tier \"%.40s\": basic, basic-plus, advanced or "
                        "enterprise\n", who, tier);
        return EXIT_USAGE;
    }
    status = cmd_open_store(ctx, who, NULL, &st);
    if (status)
        return status;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = tenant_add(st, argv[0], tier, ACTOR, &id, &why);
    if (rc)
        status = cmd_store_failed(who, rc, st, &why);
    else
        printf("tenant %s added (id %u, tier %s)\n", argv[0], (unsigned)id, tier);
    strbuf_release(&why);
    store_close(st);
    return status;
}

static void print_tenants(const struct tenant_infos *l)
{
    static const char *const head[] = { "NAME", "TIER", "STATUS", "FORENSIC", "DOMAINS",
                                        "CREATED", "CANCELLED" };
    struct table t;
    char count[24];
    if (l->count == 0) {
        printf("no tenants\n");
        return;
    }
    table_init(&t, 7, head);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            table_row(&t, head);
        for (size_t i = 0; i < l->count; i++) {
            const struct tenant_info *x = &l->items[i];
            snprintf(count, sizeof(count), "%llu", (unsigned long long)x->domains);
            const char *cells[] = { x->name, x->tier, x->status, x->forensic_policy, count,
                                    x->created_at, x->cancelled_at[0] ? x->cancelled_at : "-" };
            if (pass == 0)
                table_measure(&t, cells);
            else
                table_row(&t, cells);
        }
    }
}

static int tenant_list_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *who = "dmarcd tenant list";
    struct tenant_infos list;
    struct store *st = NULL;
    int status = reject_options(argc, argv, who);
    if (status >= 0)
        return status;
    if (argc != 0)
        return usage_error(&cmd_tenant_def, "dmarcd tenant list: takes no arguments");
    status = cmd_open_store(ctx, who, NULL, &st);
    if (status)
        return status;
    enum dmarcd_err rc = tenant_list(st, &list);
    if (rc) {
        status = cmd_store_failed(who, rc, st, NULL);
    } else {
        print_tenants(&list);
        tenant_infos_release(&list);
    }
    store_close(st);
    return status;
}

static int tenant_cancel_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *who = "dmarcd tenant cancel";
    struct store *st = NULL;
    struct strbuf why;
    bool already = false;
    int status = reject_options(argc, argv, who);
    if (status >= 0)
        return status;
    if (argc != 1)
        return usage_error(&cmd_tenant_def, "dmarcd tenant cancel: expected one NAME");
    if (!tenant_name_valid(argv[0])) {
        fprintf(stderr, "%s: invalid tenant name \"%.80s\"\n", who, argv[0]);
        return EXIT_USAGE;
    }
    status = cmd_open_store(ctx, who, NULL, &st);
    if (status)
        return status;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = tenant_cancel(st, argv[0], ACTOR, &already, &why);
    if (rc)
        status = cmd_store_failed(who, rc, st, &why);
    else if (already)
        printf("tenant %s was already cancelled\n", argv[0]);
    else
        printf("tenant %s cancelled; its data will be purged by retention\n", argv[0]);
    strbuf_release(&why);
    store_close(st);
    return status;
}

int cmd_tenant(struct cmd_ctx *ctx, int argc, char **argv)
{
    if (argc < 2)
        return usage_error(&cmd_tenant_def, NULL);
    if (strcmp(argv[1], "add") == 0)
        return tenant_add_cmd(ctx, argc - 2, argv + 2);
    if (strcmp(argv[1], "list") == 0)
        return tenant_list_cmd(ctx, argc - 2, argv + 2);
    if (strcmp(argv[1], "cancel") == 0)
        return tenant_cancel_cmd(ctx, argc - 2, argv + 2);
    fprintf(stderr, "dmarcd tenant: unknown subcommand %s\n", argv[1]);
    return usage_error(&cmd_tenant_def, NULL);
}

/* ---- domain ---- */

static int domain_add_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *who = "dmarcd domain add";
    struct store *st = NULL;
    struct strbuf why, norm;
    int status = reject_options(argc, argv, who);
    if (status >= 0)
        return status;
    if (argc != 2)
        return usage_error(&cmd_domain_def, "dmarcd domain add: expected TENANT DOMAIN");
    strbuf_init(&why, 0);
    strbuf_init(&norm, 0);
    if (!tenant_name_valid(argv[0])) {
        fprintf(stderr, "%s: invalid tenant name \"%.80s\"\n", who, argv[0]);
        status = EXIT_USAGE;
    } else if (tenant_domain_normalise(argv[1], &norm, &why)) {
        fprintf(stderr, "%s: %s\n", who, why.buf);
        status = EXIT_USAGE;
    } else {
        status = cmd_open_store(ctx, who, NULL, &st);
    }
    if (status)
        goto out;
    strbuf_reset(&norm);
    enum dmarcd_err rc = tenant_domain_add(st, argv[0], argv[1], ACTOR, &norm, &why);
    if (rc)
        status = cmd_store_failed(who, rc, st, &why);
    else
        printf("domain %s added to tenant %s\n", norm.buf, argv[0]);
out:
    strbuf_release(&norm);
    strbuf_release(&why);
    store_close(st);
    return status;
}

static void print_domains(const struct tenant_domain_infos *l)
{
    static const char *const head[] = { "DOMAIN", "TENANT", "STATUS", "ADDED" };
    struct table t;
    if (l->count == 0) {
        printf("no domains\n");
        return;
    }
    table_init(&t, 4, head);
    for (size_t i = 0; i < l->count; i++) {
        const struct tenant_domain_info *d = &l->items[i];
        const char *cells[] = { d->domain, d->tenant, d->tenant_status, d->created_at };
        table_measure(&t, cells);
    }
    table_row(&t, head);
    for (size_t i = 0; i < l->count; i++) {
        const struct tenant_domain_info *d = &l->items[i];
        const char *cells[] = { d->domain, d->tenant, d->tenant_status, d->created_at };
        table_row(&t, cells);
    }
}

static int domain_list_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *who = "dmarcd domain list";
    struct store *st = NULL;
    struct tenant_domain_infos list;
    struct strbuf why;
    int status = reject_options(argc, argv, who);
    if (status >= 0)
        return status;
    if (argc > 1)
        return usage_error(&cmd_domain_def, "dmarcd domain list: expected at most a TENANT");
    if (argc == 1 && !tenant_name_valid(argv[0])) {
        fprintf(stderr, "%s: invalid tenant name \"%.80s\"\n", who, argv[0]);
        return EXIT_USAGE;
    }
    status = cmd_open_store(ctx, who, NULL, &st);
    if (status)
        return status;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = tenant_domain_list(st, argc == 1 ? argv[0] : NULL, &list, &why);
    if (rc) {
        status = cmd_store_failed(who, rc, st, &why);
    } else {
        print_domains(&list);
        tenant_domain_infos_release(&list);
    }
    strbuf_release(&why);
    store_close(st);
    return status;
}

int cmd_domain(struct cmd_ctx *ctx, int argc, char **argv)
{
    if (argc < 2)
        return usage_error(&cmd_domain_def, NULL);
    if (strcmp(argv[1], "add") == 0)
        return domain_add_cmd(ctx, argc - 2, argv + 2);
    if (strcmp(argv[1], "list") == 0)
        return domain_list_cmd(ctx, argc - 2, argv + 2);
    fprintf(stderr, "dmarcd domain: unknown subcommand %s\n", argv[1]);
    return usage_error(&cmd_domain_def, NULL);
}

const struct command cmd_tenant_def = {
    .name = "tenant",
    .summary = "add, list or cancel tenants (customer organisations)",
    .usage = "usage: dmarcd [--config FILE] tenant add NAME [--tier basic|basic-plus|advanced|enterprise]\n"
             "       dmarcd tenant list\n"
             "       dmarcd tenant cancel NAME\n"
             "\n"
             "add     creates a tenant. NAME: 1-63 characters of a-z, 0-9 and '-',\n"
             "        starting with a letter or digit. The tier (default basic) sets how\n"
             "        long its data is kept. Failure reports are stored encrypted until\n"
             "        the tenant chooses another policy.\n"
             "list    prints every tenant: tier, status, failure-report policy, number of\n"
             "        domains, when it was created and cancelled (UTC).\n"
             "cancel  marks a tenant cancelled: its reports are no longer accepted and\n"
             "        its data is purged by retention. Cancelling twice changes nothing.\n"
             "\n"
             "Every change is written to the audit log (actor \"cli\").\n"
             "exit status: 0 ok, 1 refused (duplicate, unknown tenant), 2 usage or\n"
             "configuration, 3 database unreachable.\n",
    .run = cmd_tenant,
};

const struct command cmd_domain_def = {
    .name = "domain",
    .summary = "add or list the policy domains a tenant owns",
    .usage = "usage: dmarcd [--config FILE] domain add TENANT DOMAIN\n"
             "       dmarcd domain list [TENANT]\n"
             "\n"
             "add   registers DOMAIN (lower-cased; IDNs in their xn-- form) for TENANT.\n"
             "      Reports for DOMAIN and its subdomains go to that tenant; a more\n"
             "      specific registered subdomain wins. A domain belongs to exactly one\n"
             "      tenant: adding one that another tenant owns is refused.\n"
             "list  prints the domains of TENANT, or of every tenant.\n"
             "\n"
             "exit status: 0 ok, 1 refused (duplicate, owned by another tenant, unknown\n"
             "tenant), 2 usage or configuration, 3 database unreachable.\n",
    .run = cmd_domain,
};
