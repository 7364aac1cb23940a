//! The MySQL / MariaDB store.

/// The statements, parameters in the order they appear (so both dialects bind alike).
mod statements {
    pub(super) const INSERT_APP: &str =
        "INSERT IGNORE INTO apps (app_id, config, created_at) VALUES (?, ?, ?)";
    pub(super) const UPDATE_APP: &str = "UPDATE apps SET config = ? WHERE app_id = ?";
    pub(super) const SELECT_APPS: &str =
        "SELECT app_id, config, created_at FROM apps ORDER BY app_id";
    pub(super) const DELETE_APP: &str = "DELETE FROM apps WHERE app_id = ?";
    pub(super) const INSERT_TENANT: &str =
        "INSERT IGNORE INTO tenants (tenant_id, config, created_at) VALUES (?, ?, ?)";
    pub(super) const UPDATE_TENANT: &str = "UPDATE tenants SET config = ? WHERE tenant_id = ?";
    pub(super) const SELECT_TENANT: &str =
        "SELECT tenant_id, config, created_at FROM tenants WHERE tenant_id = ?";
    pub(super) const SELECT_TENANTS: &str =
        "SELECT tenant_id, config, created_at FROM tenants ORDER BY tenant_id";
    pub(super) const DELETE_TENANT: &str = "DELETE FROM tenants WHERE tenant_id = ?";
    pub(super) const TENANT_HANDLES: &str =
        "SELECT handle FROM sessions WHERE tenant_id = ? ORDER BY handle FOR UPDATE";
    pub(super) const MIGRATIONS_TABLE_EXISTS: &str =
        "SELECT CAST(COUNT(*) AS SIGNED) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '_sqlx_migrations'";
    pub(super) const APPLIED_SCHEMA_VERSION: &str =
        "SELECT CAST(MAX(version) AS SIGNED) FROM _sqlx_migrations WHERE success";
    pub(super) const SELECT_LIVE_SESSION: &str =
        "SELECT handle, user_id, tenant_id, created_at, expires_at, session_data, access_token_payload, use_static_key, device_key FROM sessions WHERE handle = ? AND expires_at > ?";
    pub(super) const SELECT_TOKEN: &str =
        "SELECT hash2, session_handle, presented_hash2, issued_at, dead_since, anti_csrf_hash, killed_by FROM refresh_tokens WHERE hash2 = ?";
    pub(super) const SELECT_TOKEN_FOR_UPDATE: &str =
        "SELECT hash2, session_handle, presented_hash2, issued_at, dead_since, anti_csrf_hash, killed_by FROM refresh_tokens WHERE hash2 = ? FOR UPDATE";
    pub(super) const SELECT_TOKEN_SESSION_FOR_UPDATE: &str =
        "SELECT handle, user_id, tenant_id, created_at, expires_at, session_data, access_token_payload, use_static_key, device_key FROM sessions WHERE handle = (SELECT session_handle FROM refresh_tokens WHERE hash2 = ?) FOR UPDATE";
    pub(super) const INSERT_SESSION: &str =
        "INSERT INTO sessions (handle, user_id, tenant_id, created_at, expires_at, session_data, access_token_payload, use_static_key, device_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    pub(super) const INSERT_TOKEN: &str =
        "INSERT INTO refresh_tokens (hash2, session_handle, presented_hash2, issued_at, dead_since, anti_csrf_hash) VALUES (?, ?, ?, ?, ?, ?)";
    pub(super) const MARK_DEAD: &str =
        "UPDATE refresh_tokens SET dead_since = ?, killed_by = ? WHERE session_handle = ? AND dead_since IS NULL AND hash2 <> ? AND (issued_at < ? OR hash2 = ?)";
    pub(super) const SELECT_SESSION_TOKENS: &str =
        "SELECT hash2, session_handle, presented_hash2, issued_at, dead_since, anti_csrf_hash, killed_by FROM refresh_tokens WHERE session_handle = ?";
    pub(super) const INSERT_THEFT: &str =
        "INSERT INTO theft_reports (session_handle, user_id, tenant_id, session_created_at, detected_at, kind, presented_hash2, dead_since, grace_us, newest_hash2, newest_issued_at, revoked, tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    pub(super) const SELECT_THEFTS: &str =
        "SELECT id, session_handle, user_id, tenant_id, session_created_at, detected_at, kind, presented_hash2, dead_since, grace_us, newest_hash2, newest_issued_at, revoked, tokens FROM theft_reports WHERE user_id = COALESCE(?, user_id) AND session_handle = COALESCE(?, session_handle) AND id < COALESCE(?, 9223372036854775807) ORDER BY id DESC LIMIT ?";
    pub(super) const DELETE_OLD_THEFTS: &str = "DELETE FROM theft_reports WHERE detected_at < ?";
    pub(super) const EXTEND_SESSION: &str = "UPDATE sessions SET expires_at = ? WHERE handle = ?";
    /// MySQL cannot push: other servers read new revocations at their next poll.
    pub(super) const ANNOUNCE_REVOCATIONS: Option<&str> = None;
    pub(super) const LOG_REVOCATION: &str =
        "INSERT INTO revocations (session_handle, revoked_at) VALUES (?, ?)";
    pub(super) const REVOCATIONS: &str =
        "SELECT seq, session_handle, revoked_at FROM revocations WHERE seq > ? AND revoked_at >= ? ORDER BY seq LIMIT ?";
    pub(super) const DELETE_OLD_REVOCATIONS: &str = "DELETE FROM revocations WHERE revoked_at < ?";
    pub(super) const DELETE_SESSION: &str = "DELETE FROM sessions WHERE handle = ?";
    pub(super) const SESSION_HANDLES: &str =
        "SELECT handle FROM sessions WHERE handle > ? ORDER BY handle LIMIT ?";
    pub(super) const USER_HANDLES: &str =
        "SELECT handle FROM sessions WHERE user_id = ? AND expires_at > ? ORDER BY handle";
    pub(super) const USER_HANDLES_IN_TENANT: &str =
        "SELECT handle FROM sessions WHERE user_id = ? AND tenant_id = ? AND expires_at > ? ORDER BY handle";
    pub(super) const UPDATE_SESSION_DATA: &str =
        "UPDATE sessions SET session_data = ? WHERE handle = ? AND expires_at > ?";
    pub(super) const BIND_DEVICE: &str =
        "UPDATE sessions SET device_key = ? WHERE handle = ? AND expires_at > ? AND device_key IS NULL";
    pub(super) const UPDATE_PAYLOAD: &str =
        "UPDATE sessions SET access_token_payload = ? WHERE handle = ? AND expires_at > ?";
    pub(super) const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= ?";
    pub(super) const SIGNING_KEYS: &str =
        "SELECT kid, slot, algorithm, private_key, created_at, expires_at FROM signing_keys WHERE expires_at IS NULL OR expires_at > ? ORDER BY created_at DESC";
    pub(super) const INSERT_SIGNING_KEY: &str =
        "INSERT IGNORE INTO signing_keys (kid, slot, algorithm, private_key, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)";
    pub(super) const DELETE_EXPIRED_SIGNING_KEYS: &str =
        "DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND expires_at <= ?";
}

super::sqlx_store! {
    /// A [`SessionStore`] in MySQL or MariaDB (InnoDB), for several Tessera processes sharing one
    /// database.
    ///
    /// Give Tessera its own database: its tables are `sessions`, `refresh_tokens` and
    /// `signing_keys`.
    store: MySqlStore,
    database: sqlx::MySql,
    pool_options: sqlx::mysql::MySqlPoolOptions,
    sql: statements,
    migrator: sqlx::migrate!("migrations/mysql"),
    listen: super::no_listener,
}
