/*
 * tenants.h - tenants (customer organisations) and the policy domains they
 * own, and routing a report's domain to its tenant.
 *
 * Every change writes an audit_log row in the same transaction, with the
 * actor given by the caller ("cli" for the command line). Functions that
 * can fail for a reason a person should read fill `why` (a strbuf the
 * caller owns) with one sentence; the error code says what kind:
 *   DMARCD_E_INVALID    a bad name, domain or tier, or a duplicate
 *   DMARCD_E_NOT_FOUND  no such tenant
 *   DMARCD_E_DB*        the database (see store.h)
 *
 * Names: [a-z0-9][a-z0-9-]{0,62}. Domains: lower-cased, trailing dot
 * dropped, at least two labels of [a-z0-9-] (1-63 characters, no leading or
 * trailing '-'; IDNs in their xn-- form), 253 characters at most. A domain
 * belongs to exactly one tenant.
 */
#ifndef DMARCD_STORAGE_TENANTS_H
#define DMARCD_STORAGE_TENANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "storage/store.h"

#define TENANT_NAME_MAX 63
#define TENANT_DOMAIN_MAX 253

struct tenant_info {
    uint32_t id;
    char *name;
    char *tier;
    char *status;               /* "active" | "cancelled" */
    char *forensic_policy;
    char *created_at;           /* "YYYY-MM-DD HH:MM:SS" UTC */
    char *cancelled_at;         /* "" when active */
    uint64_t domains;
};

struct tenant_infos {
    struct tenant_info *items;
    size_t count;
};

struct tenant_domain_info {
    char *domain;
    char *tenant;
    char *tenant_status;
    char *created_at;
};

struct tenant_domain_infos {
    struct tenant_domain_info *items;
    size_t count;
};

void tenant_infos_release(struct tenant_infos *list);
void tenant_domain_infos_release(struct tenant_domain_infos *list);

bool tenant_name_valid(const char *name);
/* "basic" | "basic-plus" | "advanced" | "enterprise" */
bool tenant_tier_valid(const char *tier);
/* Validates and normalises (lower case, no trailing dot) into out. */
enum dmarcd_err tenant_domain_normalise(const char *domain, struct strbuf *out,
                                        struct strbuf *why) DMARCD_MUST_CHECK;

/* tier NULL: "basic". *id (may be NULL) receives the new tenant's id. */
enum dmarcd_err tenant_add(struct store *st, const char *name, const char *tier,
                           const char *actor, uint32_t *id, struct strbuf *why) DMARCD_MUST_CHECK;
enum dmarcd_err tenant_list(struct store *st, struct tenant_infos *out) DMARCD_MUST_CHECK;
/* Marks the tenant cancelled (its data is purged later by retention).
 * Cancelling a cancelled tenant changes nothing and sets *already. */
enum dmarcd_err tenant_cancel(struct store *st, const char *name, const char *actor,
                              bool *already, struct strbuf *why) DMARCD_MUST_CHECK;

/* The normalised domain is written to `added` (may be NULL). */
enum dmarcd_err tenant_domain_add(struct store *st, const char *tenant, const char *domain,
                                  const char *actor, struct strbuf *added,
                                  struct strbuf *why) DMARCD_MUST_CHECK;
/* tenant NULL: every tenant's domains. */
enum dmarcd_err tenant_domain_list(struct store *st, const char *tenant,
                                   struct tenant_domain_infos *out,
                                   struct strbuf *why) DMARCD_MUST_CHECK;

/*
 * The active tenant owning domain: the longest registered domain equal to
 * it or a parent of it on a label boundary (mail.example.com matches
 * example.com; badexample.com does not). DMARCD_E_UNKNOWN_DOMAIN when none
 * (also for a domain that is not a valid name, and for domains of
 * cancelled tenants, whose data is being destroyed).
 */
enum dmarcd_err store_route_domain(struct store *st, const char *domain,
                                   uint32_t *tenant_id) DMARCD_MUST_CHECK;

#endif
