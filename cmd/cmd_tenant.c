/*
 * cmd_tenant.c - `dmarcd tenant add|list|cancel|policy|rewrap` and `dmarcd
 * domain add|list`: the operator's tools for customer organisations, the
 * policy domains they own (storage/tenants.h), how their failure reports
 * are kept (storage/forensic.h) and the rotation of the master key that
 * wraps their data keys (storage/keys.h).
 *
 * Names, tiers and domains are checked before connecting, so a typo is a
 * usage error (exit 2) even without a database; what only the database can
 * tell (a duplicate, a domain owned by another tenant, an unknown tenant)
 * is exit 1. Every change is audited with actor "cli". Lists print aligned
 * columns with a header line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "lib/strbuf.h"
#include "storage/audit.h"
#include "storage/forensic.h"
#include "storage/keys.h"
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

/* ---- failure-report policy (storage/forensic.h) and key rotation ---- */

struct policy_args {
    const char *name, *policy, *key_file, *redaction;
    int armor;                  /* -1 unchanged */
    bool apply_existing;
};

/* Options of `tenant policy`; -1 to go on, else an exit status. */
static int policy_parse(int argc, char **argv, struct policy_args *a)
{
    const char *who = "dmarcd tenant policy";
    int pos = 0;
    memset(a, 0, sizeof(*a));
    a->armor = -1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--pgp-key") == 0 && i + 1 < argc) {
            a->key_file = argv[++i];
        } else if (strncmp(argv[i], "--pgp-key=", 10) == 0) {
            a->key_file = argv[i] + 10;
        } else if (strcmp(argv[i], "--redact") == 0 && i + 1 < argc) {
            a->redaction = argv[++i];
        } else if (strncmp(argv[i], "--redact=", 9) == 0) {
            a->redaction = argv[i] + 9;
        } else if (strcmp(argv[i], "--armor") == 0) {
            a->armor = 1;
        } else if (strcmp(argv[i], "--binary") == 0) {
            a->armor = 0;
        } else if (strcmp(argv[i], "--apply-existing") == 0) {
            a->apply_existing = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "%s: unknown option %s\n", who, argv[i]);
            return EXIT_USAGE;
        } else if (pos == 0) {
            a->name = argv[i];
            pos++;
        } else if (pos == 1) {
            a->policy = argv[i];
            pos++;
        } else {
            return usage_error(&cmd_tenant_def, "dmarcd tenant policy: expected NAME POLICY");
        }
    }
    enum forensic_policy p;
    enum forensic_redaction r;
    if (pos != 2)
        return usage_error(&cmd_tenant_def, "dmarcd tenant policy: expected NAME POLICY");
    if (!tenant_name_valid(a->name)) {
        fprintf(stderr, "%s: invalid tenant name \"%.80s\"\n", who, a->name);
        return EXIT_USAGE;
    }
    if (!forensic_policy_parse(a->policy, &p)) {
        fprintf(stderr, "%s: invalid policy \"%.40s\": encrypted, pgp, none or none-drop\n", who,
                a->policy);
        return EXIT_USAGE;
    }
    if (a->redaction && !forensic_redaction_parse(a->redaction, &r)) {
        fprintf(stderr, "%s: invalid redaction \"%.40s\": mask, hash or off\n", who,
                a->redaction);
        return EXIT_USAGE;
    }
    if ((a->key_file || a->armor >= 0) && p != FORENSIC_PGP) {
        fprintf(stderr, "%s: --pgp-key, --armor and --binary go with the pgp policy\n", who);
        return EXIT_USAGE;
    }
    return -1;
}

/* The key file's text, at most PGP_KEY_MAX_BYTES (+1 to tell it is longer). */
static int read_key_file(const char *path, struct strbuf *out)
{
    FILE *f = fopen(path, "rb");
    char buf[8192];
    size_t n;
    if (!f) {
        fprintf(stderr, "dmarcd tenant policy: %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && out->len <= PGP_KEY_MAX_BYTES)
        (void)strbuf_add(out, buf, n);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) {
        fprintf(stderr, "dmarcd tenant policy: %s: read error\n", path);
        return EXIT_USAGE;
    }
    return -1;
}

static void print_policy(const char *name, const struct forensic_settings_result *r,
                         bool uploaded)
{
    printf("tenant %s: failure reports %s", name, r->policy);
    if (strcmp(r->policy, "pgp") == 0) {
        printf(" to OpenPGP key %s", r->fingerprint);
        if (uploaded) {
            char day[16] = "never";
            time_t t = (time_t)r->key.expires;
            struct tm tm;
            if (r->key.expires && gmtime_r(&t, &tm))
                strftime(day, sizeof(day), "%Y-%m-%d", &tm);
            printf(" (%s, expires %s)", r->key.algo, day);
        }
        printf(", %s", r->pgp_armor ? "ascii-armored" : "binary");
    }
    printf("; redaction %s; applies to new reports\n", r->redaction);
}

static int apply_existing(struct cmd_ctx *ctx, struct store *st, const char *name,
                          bool need_keys)
{
    const char *who = "dmarcd tenant policy";
    struct keyring *keys = NULL;
    struct forensic_apply_counts c;
    struct strbuf why;
    int status = cmd_load_keys(ctx, who, need_keys, &keys, NULL);
    if (status)
        return status;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = forensic_apply_existing(st, keys, name, ACTOR, &c, &why);
    if (rc) {
        status = cmd_store_failed(who, rc, st, &why);
    } else {
        printf("tenant %s: existing failure reports: %llu re-encrypted to the OpenPGP key, "
               "%llu samples destroyed, %llu reports destroyed",
               name, (unsigned long long)c.reencrypted, (unsigned long long)c.samples_destroyed,
               (unsigned long long)c.reports_destroyed);
        if (c.left)
            printf(", %llu left as they are (OpenPGP-encrypted: dmarcd cannot read them)",
                   (unsigned long long)c.left);
        printf("\n");
    }
    strbuf_release(&why);
    keyring_free(keys);
    return status;
}

static int tenant_policy_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *who = "dmarcd tenant policy";
    struct policy_args a;
    struct strbuf key, why;
    struct store *st = NULL;
    struct forensic_settings_result res;
    int status = policy_parse(argc, argv, &a);
    if (status >= 0)
        return status;
    strbuf_init(&key, 0);
    strbuf_init(&why, 0);
    memset(&res, 0, sizeof(res));
    if (a.key_file && (status = read_key_file(a.key_file, &key)) >= 0)
        goto out;
    status = cmd_open_store(ctx, who, NULL, &st);
    if (status)
        goto out;
    struct forensic_settings in = { .policy = a.policy, .pgp_key = a.key_file ? key.buf : NULL,
                                    .pgp_key_len = key.len, .pgp_armor = a.armor,
                                    .redaction = a.redaction };
    enum dmarcd_err rc = forensic_set_policy(st, a.name, &in, ACTOR, &res, &why);
    if (rc) {
        status = cmd_store_failed(who, rc, st, &why);
        goto out;
    }
    print_policy(a.name, &res, a.key_file != NULL);
    if (a.apply_existing)
        status = apply_existing(ctx, st, a.name, strcmp(a.policy, "pgp") == 0);
out:
    forensic_settings_result_release(&res);
    store_close(st);
    strbuf_release(&why);
    strbuf_release(&key);
    return status;
}

static int tenant_rewrap_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
    const char *who = "dmarcd tenant rewrap";
    struct keyring *keys = NULL;
    struct store *st = NULL;
    struct keys_rewrap_counts c;
    uint32_t tenant = 0;
    char id[KEYS_ID_HEX];
    int status = reject_options(argc, argv, who);
    if (status >= 0)
        return status;
    if (argc > 1)
        return usage_error(&cmd_tenant_def, "dmarcd tenant rewrap: expected at most a NAME");
    if (argc == 1 && !tenant_name_valid(argv[0])) {
        fprintf(stderr, "%s: invalid tenant name \"%.80s\"\n", who, argv[0]);
        return EXIT_USAGE;
    }
    if ((status = cmd_load_keys(ctx, who, true, &keys, NULL)))
        return status;
    status = cmd_open_store(ctx, who, NULL, &st);
    if (!status && argc == 1)
        status = cmd_find_tenant(st, who, argv[0], &tenant);
    if (status)
        goto out;
    enum dmarcd_err rc = keys_rewrap(st, keys, tenant, &c);
    keyring_current_id_hex(keys, id);
    if (!rc) {
        char a[24], b[24], d[24];
        snprintf(a, sizeof(a), "%llu", (unsigned long long)c.rewrapped);
        snprintf(b, sizeof(b), "%llu", (unsigned long long)c.current);
        snprintf(d, sizeof(d), "%llu", (unsigned long long)c.unknown);
        const char *pairs[] = { "master_key_id", id, "rewrapped", a, "current", b,
                                "unknown", d, NULL };
        char *detail = store_audit_detail(pairs);
        rc = store_audit_add(st, tenant, ACTOR, "keys.rewrap", argc == 1 ? argv[0] : NULL,
                             detail);
        free(detail);
    }
    if (rc) {
        status = cmd_store_failed(who, rc, st, NULL);
        goto out;
    }
    printf("rewrap: %llu data keys rewrapped under master key %s, %llu already under it\n",
           (unsigned long long)c.rewrapped, id, (unsigned long long)c.current);
    if (c.unknown) {
        fprintf(stderr, "%s: %llu data keys are wrapped by a master key that is not configured: "
                        "set master_key_previous_file to the key that wrapped them and run "
                        "again\n", who, (unsigned long long)c.unknown);
        status = EXIT_PARTIAL;
    }
out:
    store_close(st);
    keyring_free(keys);
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
    if (strcmp(argv[1], "policy") == 0)
        return tenant_policy_cmd(ctx, argc - 2, argv + 2);
    if (strcmp(argv[1], "rewrap") == 0)
        return tenant_rewrap_cmd(ctx, argc - 2, argv + 2);
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
    .summary = "add, list, cancel tenants; their failure-report policy and keys",
    .usage = "usage: dmarcd [--config FILE] tenant add NAME [--tier basic|basic-plus|advanced|enterprise]\n"
             "       dmarcd tenant list\n"
             "       dmarcd tenant cancel NAME\n"
             "       dmarcd tenant policy NAME encrypted|pgp|none|none-drop [--pgp-key FILE]\n"
             "                            [--armor|--binary] [--redact mask|hash|off]\n"
             "                            [--apply-existing]\n"
             "       dmarcd tenant rewrap [NAME]\n"
             "\n"
             "add     creates a tenant. NAME: 1-63 characters of a-z, 0-9 and '-',\n"
             "        starting with a letter or digit. The tier (default basic) sets how\n"
             "        long its data is kept. Failure reports are stored encrypted until\n"
             "        the tenant chooses another policy.\n"
             "list    prints every tenant: tier, status, failure-report policy, number of\n"
             "        domains, when it was created and cancelled (UTC).\n"
             "cancel  marks a tenant cancelled: its reports are no longer accepted and\n"
             "        its data is purged by retention. Cancelling twice changes nothing.\n"
             "policy  how the tenant's failure reports (personal data) are kept, from the\n"
             "        next report on:\n"
             "          encrypted  at rest with the tenant's data key (the default);\n"
             "                     readable through the API\n"
             "          pgp        encrypted to the tenant's OpenPGP public key (--pgp-key:\n"
             "                     ASCII-armored, from gpg --armor --export); dmarcd cannot\n"
             "                     read them. The key is refused if it is expired, revoked,\n"
             "                     cannot encrypt, is secret or is not one key. --binary\n"
             "                     stores binary OpenPGP messages instead of armored ones.\n"
             "          none       only non-personal metadata (domain, source, results)\n"
             "          none-drop  nothing at all\n"
             "        --redact: personal text left in clear metadata (warnings, part\n"
             "        names) is masked (mask, the default), hashed per tenant, or kept (off).\n"
             "        --apply-existing also brings stored reports to the policy: re-encrypts\n"
             "        them to the OpenPGP key (needs master_key_file), or destroys their\n"
             "        samples (none) or the reports (none-drop).\n"
             "rewrap  re-encrypts the data keys of NAME (or of every tenant) that\n"
             "        master_key_previous_file wrapped under master_key_file; blobs are not\n"
             "        touched. Run it after configuring a new master key, with the old one\n"
             "        as master_key_previous_file; then the old key can go.\n"
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
