-- 002_reports.sql - report data: aggregate reports and their records, daily
-- roll-ups, failure-report metadata, SMTP TLS reports.
--
-- The four big tables (aggregate_reports, aggregate_records, daily_rollups,
-- failure_reports) are RANGE COLUMNS partitioned by month on report_day.
-- They are created with the MAXVALUE catch-all `p_max` only; `dmarcd
-- migrate` (and later `dmarcd retention`) splits p_max into monthly
-- partitions pYYYYMM ("report_day before the 1st of the month after
-- YYYYMM") for the past 24 and next 3 months, so expiring a month is
-- ALTER TABLE ... DROP PARTITION. Consequences (docs/storage.md):
--   * no foreign keys; report rows are tied together by (tenant_id,
--     report_day, id) and the code, in one transaction per report;
--   * every unique key includes report_day. report_day is a function of
--     the report's own date range, so UNIQUE (tenant_id, report_key,
--     report_day) is as strong as UNIQUE (tenant_id, report_key).
-- The TLS tables are small (one row per receiver, policy and day) and not
-- partitioned, but have the same key shape so they can be later.
--
-- Source addresses are INET6; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d),
-- converted in storage/inet.c on the way in and out.

-- report_key = SHA-256 over (org_name, report_id, policy domain, begin, end)
-- as defined by store_report_key() in storage/report_key.c.
-- report_day = UTC day of the middle of [date_begin, date_end].
CREATE TABLE IF NOT EXISTS aggregate_reports (
    id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id           INT UNSIGNED NOT NULL,
    report_day          DATE NOT NULL,
    report_key          BINARY(32) NOT NULL,
    policy_domain       VARCHAR(253) NOT NULL,
    org_name            VARCHAR(255) NULL,
    email               VARCHAR(255) NULL,
    extra_contact_info  VARCHAR(1024) NULL,
    report_id           VARCHAR(255) NULL,
    date_begin          BIGINT NOT NULL,
    date_end            BIGINT NOT NULL,
    adkim               ENUM('r', 's') NULL,
    aspf                ENUM('r', 's') NULL,
    p                   ENUM('none', 'quarantine', 'reject') NULL,
    sp                  ENUM('none', 'quarantine', 'reject') NULL,
    np                  ENUM('none', 'quarantine', 'reject') NULL,
    pct                 TINYINT UNSIGNED NULL,
    fo                  VARCHAR(32) NULL,
    testing             ENUM('n', 'y') NULL,
    discovery_method    ENUM('psl', 'treewalk') NULL,
    format              ENUM('rfc7489', 'rfc9990', 'draft') NOT NULL,
    version             VARCHAR(16) NULL,
    generator           VARCHAR(255) NULL,
    errors              JSON NULL,
    warnings            JSON NULL,
    warnings_dropped    INT UNSIGNED NOT NULL DEFAULT 0,
    record_count        INT UNSIGNED NOT NULL DEFAULT 0,
    skipped_records     INT UNSIGNED NOT NULL DEFAULT 0,
    message_count       BIGINT UNSIGNED NOT NULL DEFAULT 0,
    inbox_id            BIGINT UNSIGNED NULL,
    source_file         VARCHAR(255) NULL,
    source_part         VARCHAR(255) NULL,
    created_at          DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, report_day, id),
    KEY aggregate_reports_id (id),
    UNIQUE KEY aggregate_reports_key (tenant_id, report_key, report_day),
    KEY aggregate_reports_domain (tenant_id, policy_domain, report_day),
    KEY aggregate_reports_inbox (inbox_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC
PARTITION BY RANGE COLUMNS (report_day) (PARTITION p_max VALUES LESS THAN (MAXVALUE));

-- One row per <record>: the ~10 billion row table. The clustered key keeps
-- a report's records together (drill-down into one report is one range
-- read); the second key serves drill-down into one source. Anything
-- per domain or per day is answered from daily_rollups instead.
-- Enumerations are NULL when absent or not one of the known values (the
-- report's warnings keep the raw word). auth_results holds the raw SPF/DKIM
-- results exactly as `dmarcd parse` prints them:
--   {"dkim":[{"domain","selector","result","human_result"}],
--    "spf":[{"domain","scope","result","human_result"}]}
-- reasons: [{"type","comment"}].
CREATE TABLE IF NOT EXISTS aggregate_records (
    tenant_id           INT UNSIGNED NOT NULL,
    report_day          DATE NOT NULL,
    report_id           BIGINT UNSIGNED NOT NULL,
    record_no           INT UNSIGNED NOT NULL,
    source_ip           INET6 NOT NULL,
    message_count       BIGINT UNSIGNED NOT NULL,
    disposition         ENUM('none', 'quarantine', 'reject', 'pass') NULL,
    dkim                ENUM('pass', 'fail') NULL,
    spf                 ENUM('pass', 'fail') NULL,
    reasons             JSON NULL,
    header_from         VARCHAR(253) NULL,
    envelope_from       VARCHAR(255) NULL,
    envelope_to         VARCHAR(255) NULL,
    auth_results        JSON NULL,
    PRIMARY KEY (tenant_id, report_day, report_id, record_no),
    KEY aggregate_records_source (tenant_id, source_ip, report_day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC
PARTITION BY RANGE COLUMNS (report_day) (PARTITION p_max VALUES LESS THAN (MAXVALUE));

-- What every dashboard reads. Written with INSERT ... ON DUPLICATE KEY
-- UPDATE messages = messages + VALUES(messages), records = records + 1 in
-- the report's transaction. Key columns cannot be NULL: an absent or
-- unknown verdict is 'unknown', an absent header_from is ''.
-- `domain` is the report's policy domain.
CREATE TABLE IF NOT EXISTS daily_rollups (
    tenant_id           INT UNSIGNED NOT NULL,
    domain              VARCHAR(253) NOT NULL,
    report_day          DATE NOT NULL,
    source_ip           INET6 NOT NULL,
    header_from         VARCHAR(253) NOT NULL DEFAULT '',
    disposition         ENUM('none', 'quarantine', 'reject', 'pass', 'unknown') NOT NULL,
    dkim                ENUM('pass', 'fail', 'unknown') NOT NULL,
    spf                 ENUM('pass', 'fail', 'unknown') NOT NULL,
    messages            BIGINT UNSIGNED NOT NULL DEFAULT 0,
    records             BIGINT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, domain, report_day, source_ip, header_from, disposition, dkim, spf),
    KEY daily_rollups_source (tenant_id, source_ip, report_day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC
PARTITION BY RANGE COLUMNS (report_day) (PARTITION p_max VALUES LESS THAN (MAXVALUE));

-- Failure (ARF) reports: non-personal metadata only, in clear. The
-- message sample (headers, body, addresses) is stored per the tenant's
-- forensic_policy by a later migration, never here.
-- report_day = UTC day of arrival_time, or of receipt when unparsable.
-- report_key = SHA-256 of the feedback report part (redelivery dedupe).
CREATE TABLE IF NOT EXISTS failure_reports (
    id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id           INT UNSIGNED NOT NULL,
    report_day          DATE NOT NULL,
    report_key          BINARY(32) NOT NULL,
    reported_domain     VARCHAR(253) NULL,
    source_ip           INET6 NULL,
    source_port         SMALLINT UNSIGNED NULL,
    arrival_time        BIGINT NULL,
    feedback_type       VARCHAR(32) NULL,
    auth_failure        VARCHAR(128) NULL,
    identity_alignment  VARCHAR(32) NULL,
    delivery_result     ENUM('delivered', 'spam', 'policy', 'reject', 'other') NULL,
    dkim_domain         VARCHAR(253) NULL,
    dkim_selector       VARCHAR(255) NULL,
    spf_dns             VARCHAR(1024) NULL,
    reporting_mta       VARCHAR(255) NULL,
    user_agent          VARCHAR(255) NULL,
    incidents           INT UNSIGNED NULL,
    arf                 BOOLEAN NOT NULL DEFAULT TRUE,
    sample_kind         ENUM('none', 'headers', 'message') NOT NULL DEFAULT 'none',
    warnings            JSON NULL,
    inbox_id            BIGINT UNSIGNED NULL,
    source_file         VARCHAR(255) NULL,
    source_part         VARCHAR(255) NULL,
    created_at          DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, report_day, id),
    KEY failure_reports_id (id),
    UNIQUE KEY failure_reports_key (tenant_id, report_key, report_day),
    KEY failure_reports_domain (tenant_id, reported_domain, report_day),
    KEY failure_reports_source (tenant_id, source_ip, report_day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC
PARTITION BY RANGE COLUMNS (report_day) (PARTITION p_max VALUES LESS THAN (MAXVALUE));

-- SMTP TLS reports (RFC 8460). report_key as for aggregate reports over
-- (organization_name, report_id, begin, end).
CREATE TABLE IF NOT EXISTS tls_reports (
    id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id           INT UNSIGNED NOT NULL,
    report_day          DATE NOT NULL,
    report_key          BINARY(32) NOT NULL,
    organization_name   VARCHAR(255) NULL,
    report_id           VARCHAR(255) NULL,
    contact_info        VARCHAR(1024) NULL,
    date_begin          BIGINT NOT NULL,
    date_end            BIGINT NOT NULL,
    policy_count        INT UNSIGNED NOT NULL DEFAULT 0,
    successful_sessions BIGINT UNSIGNED NOT NULL DEFAULT 0,
    failed_sessions     BIGINT UNSIGNED NOT NULL DEFAULT 0,
    warnings            JSON NULL,
    inbox_id            BIGINT UNSIGNED NULL,
    source_file         VARCHAR(255) NULL,
    source_part         VARCHAR(255) NULL,
    created_at          DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, report_day, id),
    KEY tls_reports_id (id),
    UNIQUE KEY tls_reports_key (tenant_id, report_key, report_day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

CREATE TABLE IF NOT EXISTS tls_policies (
    tenant_id           INT UNSIGNED NOT NULL,
    report_day          DATE NOT NULL,
    tls_report_id       BIGINT UNSIGNED NOT NULL,
    policy_no           SMALLINT UNSIGNED NOT NULL,
    policy_type         ENUM('sts', 'tlsa', 'no-policy-found') NULL,
    policy_domain       VARCHAR(253) NULL,
    policy_strings      JSON NULL,
    mx_hosts            JSON NULL,
    successful_sessions BIGINT UNSIGNED NOT NULL DEFAULT 0,
    failed_sessions     BIGINT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, report_day, tls_report_id, policy_no),
    KEY tls_policies_domain (tenant_id, policy_domain, report_day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

CREATE TABLE IF NOT EXISTS tls_failures (
    tenant_id              INT UNSIGNED NOT NULL,
    report_day             DATE NOT NULL,
    tls_report_id          BIGINT UNSIGNED NOT NULL,
    policy_no              SMALLINT UNSIGNED NOT NULL,
    detail_no              SMALLINT UNSIGNED NOT NULL,
    result_type            VARCHAR(64) NULL,
    sending_mta_ip         INET6 NULL,
    receiving_mx_hostname  VARCHAR(255) NULL,
    receiving_mx_helo      VARCHAR(255) NULL,
    receiving_ip           INET6 NULL,
    failed_session_count   BIGINT UNSIGNED NOT NULL DEFAULT 0,
    failure_reason_code    VARCHAR(255) NULL,
    additional_information VARCHAR(1024) NULL,
    PRIMARY KEY (tenant_id, report_day, tls_report_id, policy_no, detail_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;
