-- 003_report_list_index.sql - the per-domain report list pages without a sort.
--
-- The API lists a domain's aggregate reports newest first (report_day DESC,
-- id DESC) with a keyset cursor. On a partitioned table MariaDB does not use
-- the implicit primary-key suffix of a secondary index for ordering, so the
-- key (tenant_id, policy_domain, report_day) made it sort every report of
-- the domain in range; with id spelt out the page is a backward range read
-- that stops at the limit (storage/queries.c, query_read_reports).
-- Two statements, each rerunnable: in one ALTER, ADD KEY IF NOT EXISTS can
-- see the key the same statement drops and skip the add.
ALTER TABLE aggregate_reports DROP INDEX IF EXISTS aggregate_reports_domain;
ALTER TABLE aggregate_reports
    ADD KEY IF NOT EXISTS aggregate_reports_domain (tenant_id, policy_domain, report_day, id);
