-- Sessions, the lineage of their refresh tokens, and shared signing keys (same schema as SQLite).
CREATE TABLE sessions (
    handle               TEXT PRIMARY KEY,
    user_id              TEXT NOT NULL,
    tenant_id            TEXT NOT NULL,
    current_hash2        TEXT NOT NULL,
    rotated_at           BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    expires_at           BIGINT NOT NULL,
    session_data         TEXT NOT NULL,
    access_token_payload TEXT NOT NULL,
    use_static_key       BOOLEAN NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id, tenant_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE refresh_tokens (
    hash2           TEXT PRIMARY KEY,
    session_handle  TEXT NOT NULL REFERENCES sessions (handle) ON DELETE CASCADE,
    parent_hash2    TEXT,
    presented_hash2 TEXT,
    issued_at       BIGINT NOT NULL,
    committed_at    BIGINT,
    superseded_at   BIGINT,
    anti_csrf_hash  TEXT
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_handle);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    slot        TEXT NOT NULL UNIQUE,
    algorithm   TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT
);
CREATE INDEX signing_keys_by_expiry ON signing_keys (expires_at);
