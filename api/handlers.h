/*
 * handlers.h - the handlers of the route table (router.c), grouped by file:
 *   auth.c       session (login, who am I, logout)
 *   h_data.c     domains, overview, sources, time series, reports, failure
 *                reports, TLS reports
 *   h_admin.c    uploads, tokens, users, settings, audit log, operator
 *   h_system.c   health, readiness, metrics, the OpenAPI document, static
 *                web files
 * Each runs after the dispatcher has done what its route asks (router.h)
 * and replies exactly once.
 */
#ifndef DMARCD_API_HANDLERS_H
#define DMARCD_API_HANDLERS_H

#include "api/http.h"

void api_h_login(struct api_call *c);
void api_h_whoami(struct api_call *c);
void api_h_logout(struct api_call *c);

void api_h_domains_list(struct api_call *c);
void api_h_domains_add(struct api_call *c);
void api_h_domains_remove(struct api_call *c);
void api_h_overview(struct api_call *c);
void api_h_sources(struct api_call *c);
void api_h_timeseries(struct api_call *c);
void api_h_reports(struct api_call *c);
void api_h_report(struct api_call *c);
void api_h_report_raw(struct api_call *c);
void api_h_failures(struct api_call *c);
void api_h_failure(struct api_call *c);
void api_h_failure_sample(struct api_call *c);
void api_h_tls_reports(struct api_call *c);

void api_h_upload(struct api_call *c);
void api_h_tokens_list(struct api_call *c);
void api_h_tokens_create(struct api_call *c);
void api_h_tokens_revoke(struct api_call *c);
void api_h_users_list(struct api_call *c);
void api_h_users_add(struct api_call *c);
void api_h_users_update(struct api_call *c);
void api_h_users_remove(struct api_call *c);
void api_h_settings_get(struct api_call *c);
void api_h_settings_put(struct api_call *c);
void api_h_audit(struct api_call *c);
void api_h_operator_tenants(struct api_call *c);

void api_h_healthz(struct api_call *c);
void api_h_readyz(struct api_call *c);
void api_h_metrics(struct api_call *c);
void api_h_openapi(struct api_call *c);
/* GET / and every path outside /api/ that no route matched. */
void api_h_static(struct api_call *c);

/* The user's active tenants as [{"name", "role"}] (auth.c, for whoami and login). */
enum dmarcd_err api_tenants_json(struct api_call *c, uint32_t user_id, json_t **out);

#endif
