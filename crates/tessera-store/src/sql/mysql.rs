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
    /// A presented token with its session and the session's version, in one read.
    pub(super) const SELECT_PRESENTED: &str =
        "SELECT s.handle, s.user_id, s.tenant_id, s.created_at, s.expires_at, s.session_data, s.access_token_payload, s.use_static_key, s.device_key, t.hash2, t.session_handle, t.presented_hash2, t.issued_at, t.dead_since, t.anti_csrf_hash, t.killed_by, s.version FROM refresh_tokens t JOIN sessions s ON s.handle = t.session_handle WHERE t.hash2 = ?";
    pub(super) const BUMP_VERSION: &str =
        "UPDATE sessions SET version = version + 1 WHERE handle = ?";
    pub(super) const EXTEND_SESSION: &str =
        "UPDATE sessions SET version = version + 1, expires_at = ? WHERE handle = ?";
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
        "UPDATE sessions SET version = version + 1, session_data = ? WHERE handle = ? AND expires_at > ?";
    pub(super) const BIND_DEVICE: &str =
        "UPDATE sessions SET version = version + 1, device_key = ? WHERE handle = ? AND expires_at > ? AND device_key IS NULL";
    pub(super) const UPDATE_PAYLOAD: &str =
        "UPDATE sessions SET version = version + 1, access_token_payload = ? WHERE handle = ? AND expires_at > ?";
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
    write_accepted: write_accepted,
}

/// The writes of an accepted presentation ([`Acceptance`]), made only if the session's version is
/// still `version` (incremented on the way): the tokens the use marks dead, the child of a
/// refresh, the session's new expiry. `Some(false)` when another change to the session came
/// first; `None` when a value cannot be written as a literal (the caller takes the locked path).
///
/// MySQL has no statements that modify several tables with a result to chain on, and a prepared
/// statement holds one statement, so this is one text batch: a transaction whose guard (the
/// session's `UPDATE`, which takes its row lock) decides whether the rest writes anything. One
/// round trip instead of five. Its values are written as literals, and only values Tessera made
/// itself (hex hashes, UUID handles, numbers) are ever written so: anything else is refused.
pub(super) async fn write_accepted(
    connection: &mut sqlx::pool::PoolConnection<sqlx::MySql>,
    handle: &str,
    version: i64,
    acceptance: &tessera_core::rotation::Acceptance,
) -> Result<Option<bool>, sqlx::Error> {
    let Some(batch) = accepted_batch(handle, version, acceptance) else {
        return Ok(None);
    };
    match sqlx::raw_sql(sqlx::AssertSqlSafe(batch))
        .fetch_all(&mut **connection)
        .await
    {
        Ok(rows) => {
            let guarded: Option<i64> = match rows.last() {
                Some(row) => sqlx::Row::try_get(row, 0)?,
                None => None,
            };
            Ok(Some(guarded == Some(1)))
        }
        Err(error) => {
            // A batch stopped midway leaves its transaction open on the connection.
            if sqlx::raw_sql("ROLLBACK")
                .execute(&mut **connection)
                .await
                .is_err()
            {
                connection.close_on_drop();
            }
            Err(error)
        }
    }
}

fn accepted_batch(
    handle: &str,
    version: i64,
    acceptance: &tessera_core::rotation::Acceptance,
) -> Option<String> {
    let kill = &acceptance.kill;
    let handle = literal(handle)?;
    let used = literal(&kill.used)?;
    let parent = optional_literal(kill.parent.as_deref())?;
    let extend = acceptance
        .extend_to
        .map_or_else(|| "NULL".to_owned(), |at| at.to_string());
    // READ COMMITTED: the guard is the session's version, not gap locks, and without them
    // neighbouring sessions' writes do not deadlock on each other's token rows.
    let mut batch = format!(
        "SET TRANSACTION ISOLATION LEVEL READ COMMITTED;START TRANSACTION;\
         UPDATE sessions SET version = version + 1, expires_at = COALESCE({extend}, expires_at) \
         WHERE handle = {handle} AND version = {version};\
         SET @tessera_guard = ROW_COUNT();\
         UPDATE refresh_tokens SET dead_since = {at}, killed_by = {used} \
         WHERE @tessera_guard = 1 AND session_handle = {handle} AND dead_since IS NULL \
         AND hash2 <> {used} AND (issued_at < {minted_before} OR hash2 = {parent});",
        at = kill.at,
        minted_before = kill.minted_before,
    );
    if let Some(child) = &acceptance.child {
        batch.push_str(&format!(
            "INSERT INTO refresh_tokens (hash2, session_handle, presented_hash2, issued_at, \
             dead_since, anti_csrf_hash) SELECT {hash2}, {handle}, {presented}, {issued_at}, NULL, \
             {anti_csrf} FROM DUAL WHERE @tessera_guard = 1;",
            hash2 = literal(&child.hash2)?,
            presented = optional_literal(child.presented_hash2.as_deref())?,
            issued_at = child.issued_at,
            anti_csrf = optional_literal(child.anti_csrf_hash.as_deref())?,
        ));
    }
    batch.push_str("COMMIT;SELECT @tessera_guard;");
    Some(batch)
}

/// `'text'` for text Tessera made itself (hex digits, UUIDs: letters, digits, `-`, `_`); `None`
/// for anything else, which is never written into SQL text.
fn literal(text: &str) -> Option<String> {
    let plain = !text.is_empty()
        && text.len() <= 128
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    plain.then(|| format!("'{text}'"))
}

fn optional_literal(text: Option<&str>) -> Option<String> {
    match text {
        Some(text) => literal(text),
        None => Some("NULL".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::literal;

    #[test]
    fn only_plain_values_become_literals() {
        assert_eq!(literal("ab12-CD_3").as_deref(), Some("'ab12-CD_3'"));
        for refused in ["", "a'b", "a b", "a;b", "a\\b", "é", &"a".repeat(129)] {
            assert_eq!(literal(refused), None, "{refused:?}");
        }
    }
}
