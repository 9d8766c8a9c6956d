-- 004_api.sql - what the REST API needs beyond 001: the platform operator
-- flag, browser sessions and login throttling.
--
-- Sessions and throttling rows live in MariaDB, not in the API process, so
-- any API pod can serve any request and a lockout holds across pods.
-- Secrets are never stored in clear: a session id, its CSRF token and an
-- API token are kept as their SHA-256 (they are 256-bit random values, so
-- a plain hash is enough; passwords get Argon2id in users.password_hash).

-- The platform operator role: cross-tenant administration, separate from
-- every tenant role (an operator sees no tenant's data through it).
ALTER TABLE users ADD COLUMN IF NOT EXISTS is_operator BOOLEAN NOT NULL DEFAULT FALSE;

-- One row per signed-in browser. last_seen_at is refreshed at most once a
-- minute; a session ends at expires_at or after the idle limit, whichever
-- comes first (storage/sessions.h). Not per tenant: a user may switch
-- between the tenants they belong to within one session.
CREATE TABLE IF NOT EXISTS api_sessions (
    id_hash         BINARY(32) NOT NULL,
    user_id         INT UNSIGNED NOT NULL,
    csrf_hash       BINARY(32) NOT NULL,
    created_at      DATETIME NOT NULL,
    last_seen_at    DATETIME NOT NULL,
    expires_at      DATETIME NOT NULL,
    client_addr     VARCHAR(64) NULL,
    PRIMARY KEY (id_hash),
    KEY api_sessions_user (user_id),
    KEY api_sessions_expires (expires_at),
    CONSTRAINT api_sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

-- Failed logins per account and per client address in a fixed window.
-- subject is the SHA-256 of the lower-cased e-mail address or of the
-- address text, so the table holds no personal data in clear.
CREATE TABLE IF NOT EXISTS login_throttle (
    kind            ENUM('account', 'address') NOT NULL,
    subject         BINARY(32) NOT NULL,
    window_start    DATETIME NOT NULL,
    failures        INT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, subject),
    KEY login_throttle_window (window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

-- Tokens listed per user (GET /api/v1/tokens) and revoked with the user.
ALTER TABLE api_tokens ADD KEY IF NOT EXISTS api_tokens_user (user_id, tenant_id);
