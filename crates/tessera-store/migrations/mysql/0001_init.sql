-- Sessions, the lineage of their refresh tokens, and shared signing keys (same schema as SQLite).
-- Identifiers use binary collations: MySQL's default collation is case-insensitive, which would
-- make `Alice` and `alice` one user.
CREATE TABLE sessions (
    handle               VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    user_id              VARCHAR(512) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    tenant_id            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    current_hash2        CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    rotated_at           BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    expires_at           BIGINT NOT NULL,
    session_data         LONGTEXT CHARACTER SET utf8mb4 NOT NULL,
    access_token_payload LONGTEXT CHARACTER SET utf8mb4 NOT NULL,
    use_static_key       BOOLEAN NOT NULL,
    INDEX sessions_by_user (user_id, tenant_id),
    INDEX sessions_by_expiry (expires_at)
) ENGINE = InnoDB;

CREATE TABLE refresh_tokens (
    hash2           CHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    session_handle  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    parent_hash2    CHAR(64) CHARACTER SET ascii COLLATE ascii_bin,
    presented_hash2 CHAR(64) CHARACTER SET ascii COLLATE ascii_bin,
    issued_at       BIGINT NOT NULL,
    committed_at    BIGINT,
    superseded_at   BIGINT,
    anti_csrf_hash  CHAR(64) CHARACTER SET ascii COLLATE ascii_bin,
    INDEX refresh_tokens_by_session (session_handle),
    CONSTRAINT refresh_tokens_session FOREIGN KEY (session_handle)
        REFERENCES sessions (handle) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE signing_keys (
    kid         VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    slot        VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL UNIQUE,
    algorithm   VARCHAR(16) CHARACTER SET ascii NOT NULL,
    private_key TEXT CHARACTER SET ascii NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    INDEX signing_keys_by_expiry (expires_at)
) ENGINE = InnoDB;
