-- 001_core.sql - tenants and everything around them that is not report data:
-- domains, users and API tokens, the raw-message inbox, quarantine, audit log.
--
-- Rules for every migration (docs/storage.md explains them):
--   * one statement per `;`, no DELIMITER, no stored programs;
--   * idempotent: CREATE TABLE IF NOT EXISTS, ADD COLUMN IF NOT EXISTS, ...
--     (DDL auto-commits in MariaDB, so a run cut short is simply re-run);
--   * InnoDB, utf8mb4 with utf8mb4_bin (the code lower-cases names, domains
--     and e-mail addresses before storing them), ROW_FORMAT=DYNAMIC;
--   * every table has a primary key (Galera), every per-tenant table starts
--     its keys with tenant_id;
--   * our own timestamps are DATETIME in UTC (store_open sets time_zone);
--     instants copied from reports are BIGINT seconds since the epoch.
--   * never edit an applied file: add the next number instead.

CREATE TABLE IF NOT EXISTS tenants (
    id              INT UNSIGNED NOT NULL AUTO_INCREMENT,
    name            VARCHAR(63) NOT NULL,
    tier            ENUM('basic', 'basic-plus', 'advanced', 'enterprise') NOT NULL DEFAULT 'basic',
    status          ENUM('active', 'cancelled') NOT NULL DEFAULT 'active',
    forensic_policy ENUM('encrypted', 'pgp', 'none', 'none-drop') NOT NULL DEFAULT 'encrypted',
    created_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    cancelled_at    DATETIME NULL,
    PRIMARY KEY (id),
    UNIQUE KEY tenants_name (name),
    KEY tenants_status (status, cancelled_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

-- A policy domain belongs to exactly one tenant: the UNIQUE key on domain
-- alone (not on tenant_id, domain) is what enforces it.
CREATE TABLE IF NOT EXISTS tenant_domains (
    id              INT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id       INT UNSIGNED NOT NULL,
    domain          VARCHAR(253) NOT NULL,
    created_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE KEY tenant_domains_domain (domain),
    KEY tenant_domains_tenant (tenant_id, domain),
    CONSTRAINT tenant_domains_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

-- People. One account per e-mail address, members of one or more tenants
-- with a role in each (user_tenants). password_hash is a libsodium
-- crypto_pwhash_str string; totp_secret is encrypted with the tenant data key.
CREATE TABLE IF NOT EXISTS users (
    id              INT UNSIGNED NOT NULL AUTO_INCREMENT,
    email           VARCHAR(254) NOT NULL,
    password_hash   VARCHAR(255) NULL,
    totp_secret     VARBINARY(255) NULL,
    status          ENUM('active', 'disabled') NOT NULL DEFAULT 'active',
    created_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_login_at   DATETIME NULL,
    PRIMARY KEY (id),
    UNIQUE KEY users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

CREATE TABLE IF NOT EXISTS user_tenants (
    tenant_id       INT UNSIGNED NOT NULL,
    user_id         INT UNSIGNED NOT NULL,
    role            ENUM('owner', 'admin', 'analyst', 'viewer') NOT NULL,
    created_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, user_id),
    KEY user_tenants_user (user_id),
    CONSTRAINT user_tenants_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT user_tenants_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

-- API tokens: only the SHA-256 of the (high-entropy, random) token is kept;
-- token_prefix is its first characters, shown in lists to tell tokens apart.
CREATE TABLE IF NOT EXISTS api_tokens (
    id              INT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id       INT UNSIGNED NOT NULL,
    user_id         INT UNSIGNED NULL,
    name            VARCHAR(255) NOT NULL DEFAULT '',
    token_hash      BINARY(32) NOT NULL,
    token_prefix    VARCHAR(16) NOT NULL DEFAULT '',
    scopes          VARCHAR(255) NOT NULL DEFAULT 'read',
    created_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at      DATETIME NULL,
    revoked_at      DATETIME NULL,
    last_used_at    DATETIME NULL,
    PRIMARY KEY (id),
    UNIQUE KEY api_tokens_hash (token_hash),
    KEY api_tokens_tenant (tenant_id, created_at),
    CONSTRAINT api_tokens_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT api_tokens_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

-- Raw messages, committed before the sender is acknowledged. tenant_id is
-- NULL until the message has been routed (a report names its domain only
-- inside). sha256 is over the raw bytes and makes a redelivery a no-op.
-- No foreign keys on data tables: they are emptied by retention in
-- batches and must not depend on tenants rows (tenant purge, sharding).
CREATE TABLE IF NOT EXISTS inbox (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id       INT UNSIGNED NULL,
    sha256          BINARY(32) NOT NULL,
    source          ENUM('imap', 'smtp', 'import', 'upload') NOT NULL,
    origin          VARCHAR(255) NULL,
    state           ENUM('pending', 'processing', 'done', 'quarantined') NOT NULL DEFAULT 'pending',
    attempts        SMALLINT UNSIGNED NOT NULL DEFAULT 0,
    last_error      VARCHAR(255) NULL,
    received_at     DATETIME(3) NOT NULL,
    updated_at      DATETIME(3) NOT NULL,
    raw_size        INT UNSIGNED NOT NULL,
    compression     ENUM('none', 'zlib') NOT NULL DEFAULT 'zlib',
    compressed      LONGBLOB NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY inbox_sha256 (sha256),
    KEY inbox_state (state, updated_at),
    KEY inbox_tenant (tenant_id, received_at),
    KEY inbox_received (received_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

-- One row per part that could not be stored, with a reason a person can
-- read. error_code is dmarcd_err_code() ("xml", "too_big", ...).
CREATE TABLE IF NOT EXISTS quarantine (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id       INT UNSIGNED NULL,
    inbox_id        BIGINT UNSIGNED NULL,
    file            VARCHAR(255) NULL,
    part            VARCHAR(255) NULL,
    error_code      VARCHAR(32) NOT NULL,
    reason          TEXT NOT NULL,
    created_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    KEY quarantine_tenant (tenant_id, created_at),
    KEY quarantine_inbox (inbox_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

-- Who changed what. tenant_id NULL for changes outside any tenant.
CREATE TABLE IF NOT EXISTS audit_log (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id       INT UNSIGNED NULL,
    actor           VARCHAR(255) NOT NULL,
    action          VARCHAR(64) NOT NULL,
    target          VARCHAR(255) NULL,
    detail          JSON NULL,
    at              DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    KEY audit_log_tenant (tenant_id, at),
    KEY audit_log_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;
