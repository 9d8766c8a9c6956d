-- 005_forensic.sql - failure-report protection per tenant policy, and the
-- retention trail (docs/forensic.md).
--
-- Under the `encrypted` and `pgp` policies everything of a failure report
-- that is not in failure_reports' clear, non-personal columns travels in
-- one encrypted blob per report, in failure_samples. Under `none` there is
-- no blob; under `none-drop` not even the failure_reports row.
--
--   * tenant_keys: each tenant's data keys, wrapped (encrypted) by the
--     master key from configuration; never stored in clear. A rewrap under
--     a new master key rewrites these rows only, never the blobs.
--   * failure_samples: the blob, sealed with the tenant's data key
--     (format 'aead'), or OpenPGP-encrypted to the tenant's public key
--     ('pgp-armor' | 'pgp-binary'), which dmarcd cannot decrypt.
--   * tenants gains the uploaded OpenPGP public key and the redaction
--     setting for any personal text left in clear metadata.
--   * tenant_alerts: conditions the tenant must act on (an OpenPGP key
--     that expired or was revoked since upload).
--   * retention_log: what `dmarcd retention` removed; ids, table names,
--     counts and dates only, never report content or names of people.

-- Data keys: 32 random bytes per (tenant, key_version), stored as
-- 0x01 || 24-byte nonce || XChaCha20-Poly1305 ciphertext and tag under a
-- key derived from the master key, with the tenant id and version as
-- associated data. master_key_id (8 bytes derived from the master key)
-- says which master key wrapped the row: the current one or, during a
-- rotation, the previous one.
CREATE TABLE IF NOT EXISTS tenant_keys (
    tenant_id       INT UNSIGNED NOT NULL,
    key_version     INT UNSIGNED NOT NULL,
    master_key_id   BINARY(8) NOT NULL,
    wrapped_key     VARBINARY(128) NOT NULL,
    created_at      DATETIME NOT NULL,
    rewrapped_at    DATETIME NULL,
    PRIMARY KEY (tenant_id, key_version),
    KEY tenant_keys_master (master_key_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

-- One blob per failure report (failure_reports.id = failure_id, same
-- tenant and report_day). key_version: the data key of an 'aead' blob;
-- pgp_fingerprint: the key a 'pgp-*' blob is encrypted to. Not
-- partitioned, like the TLS tables: failure reports are few next to
-- aggregate records (most receivers send none), and retention removes
-- blobs by (tenant_id, report_day) ranges; the key already includes
-- report_day, so partitioning later is one ALTER TABLE.
CREATE TABLE IF NOT EXISTS failure_samples (
    tenant_id       INT UNSIGNED NOT NULL,
    report_day      DATE NOT NULL,
    failure_id      BIGINT UNSIGNED NOT NULL,
    format          ENUM('aead', 'pgp-armor', 'pgp-binary') NOT NULL,
    key_version     INT UNSIGNED NULL,
    pgp_fingerprint VARCHAR(64) NULL,
    sample_size     INT UNSIGNED NOT NULL,
    sample          LONGBLOB NOT NULL,
    created_at      DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, report_day, failure_id),
    KEY failure_samples_id (tenant_id, failure_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

-- The tenant's OpenPGP public key (ASCII armor, as re-exported by dmarcd
-- after validation: self-signatures only), its primary fingerprint, when
-- its encryption capability expires (NULL: never) and whether blobs are
-- ASCII-armored or binary. forensic_redaction: how personal text found in
-- clear metadata (warnings, part names) is shown: masked, replaced by a
-- keyed hash, or left as it is ('off').
ALTER TABLE tenants
    ADD COLUMN IF NOT EXISTS forensic_redaction ENUM('mask', 'hash', 'off') NOT NULL
        DEFAULT 'mask' AFTER forensic_policy,
    ADD COLUMN IF NOT EXISTS pgp_public_key MEDIUMTEXT NULL AFTER forensic_redaction,
    ADD COLUMN IF NOT EXISTS pgp_fingerprint VARCHAR(64) NULL AFTER pgp_public_key,
    ADD COLUMN IF NOT EXISTS pgp_expires_at DATETIME NULL AFTER pgp_fingerprint,
    ADD COLUMN IF NOT EXISTS pgp_format ENUM('armor', 'binary') NOT NULL DEFAULT 'armor'
        AFTER pgp_expires_at,
    ADD COLUMN IF NOT EXISTS pgp_uploaded_at DATETIME NULL AFTER pgp_format;

-- One row per open condition and kind ('pgp_key_unusable'), counted; the
-- row goes when the tenant acts (a new key, another policy).
CREATE TABLE IF NOT EXISTS tenant_alerts (
    tenant_id       INT UNSIGNED NOT NULL,
    kind            VARCHAR(64) NOT NULL,
    first_at        DATETIME NOT NULL,
    last_at         DATETIME NOT NULL,
    occurrences     BIGINT UNSIGNED NOT NULL DEFAULT 1,
    detail          JSON NULL,
    PRIMARY KEY (tenant_id, kind)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

-- The operator's trail of `dmarcd retention`: one row per step that
-- removed something, and one per purged tenant (always). detail is
-- {"table": rows, ...}. Not a per-tenant table: a tenant purge keeps it.
CREATE TABLE IF NOT EXISTS retention_log (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    run_started_at  DATETIME(3) NOT NULL,
    at              DATETIME(3) NOT NULL,
    action          ENUM('horizon', 'purge', 'inbox', 'quarantine', 'audit', 'partition')
                        NOT NULL,
    tenant_id       INT UNSIGNED NULL,
    tier            VARCHAR(16) NULL,
    cutoff          DATE NULL,
    rows_removed    BIGINT UNSIGNED NOT NULL DEFAULT 0,
    detail          JSON NULL,
    PRIMARY KEY (id),
    KEY retention_log_at (at),
    KEY retention_log_tenant (tenant_id, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;
