//! The PostgreSQL store.

/// The channel revocations are announced on, as a literal for the statement that announces them.
/// The payload is the announcing schema, so a server wakes only for the schema (app) it reads.
macro_rules! revocation_channel {
    () => {
        "tessera_revocations"
    };
}

/// The statements, parameters numbered in the order they appear (so both dialects bind alike).
mod statements {
    pub(super) const INSERT_APP: &str =
        "INSERT INTO apps (app_id, config, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    pub(super) const UPDATE_APP: &str = "UPDATE apps SET config = $1 WHERE app_id = $2";
    pub(super) const SELECT_APPS: &str =
        "SELECT app_id, config, created_at FROM apps ORDER BY app_id";
    pub(super) const DELETE_APP: &str = "DELETE FROM apps WHERE app_id = $1";
    pub(super) const INSERT_TENANT: &str =
        "INSERT INTO tenants (tenant_id, config, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    pub(super) const UPDATE_TENANT: &str = "UPDATE tenants SET config = $1 WHERE tenant_id = $2";
    pub(super) const SELECT_TENANT: &str =
        "SELECT tenant_id, config, created_at FROM tenants WHERE tenant_id = $1";
    pub(super) const SELECT_TENANTS: &str =
        "SELECT tenant_id, config, created_at FROM tenants ORDER BY tenant_id";
    pub(super) const DELETE_TENANT: &str = "DELETE FROM tenants WHERE tenant_id = $1";
    pub(super) const TENANT_HANDLES: &str =
        "SELECT handle FROM sessions WHERE tenant_id = $1 ORDER BY handle FOR UPDATE";
    pub(super) const MIGRATIONS_TABLE_EXISTS: &str =
        "SELECT CAST(CASE WHEN to_regclass('_sqlx_migrations') IS NULL THEN 0 ELSE 1 END AS INT8)";
    pub(super) const APPLIED_SCHEMA_VERSION: &str =
        "SELECT MAX(version) FROM _sqlx_migrations WHERE success";
    pub(super) const SELECT_LIVE_SESSION: &str =
        "SELECT handle, user_id, tenant_id, created_at, expires_at, session_data, access_token_payload, use_static_key, device_key FROM sessions WHERE handle = $1 AND expires_at > $2";
    pub(super) const SELECT_TOKEN: &str =
        "SELECT hash2, session_handle, presented_hash2, issued_at, dead_since, anti_csrf_hash, killed_by FROM refresh_tokens WHERE hash2 = $1";
    pub(super) const SELECT_TOKEN_FOR_UPDATE: &str =
        "SELECT hash2, session_handle, presented_hash2, issued_at, dead_since, anti_csrf_hash, killed_by FROM refresh_tokens WHERE hash2 = $1 FOR UPDATE";
    pub(super) const SELECT_TOKEN_SESSION_FOR_UPDATE: &str =
        "SELECT handle, user_id, tenant_id, created_at, expires_at, session_data, access_token_payload, use_static_key, device_key FROM sessions WHERE handle = (SELECT session_handle FROM refresh_tokens WHERE hash2 = $1) FOR UPDATE";
    pub(super) const INSERT_SESSION: &str =
        "INSERT INTO sessions (handle, user_id, tenant_id, created_at, expires_at, session_data, access_token_payload, use_static_key, device_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    pub(super) const INSERT_TOKEN: &str =
        "INSERT INTO refresh_tokens (hash2, session_handle, presented_hash2, issued_at, dead_since, anti_csrf_hash) VALUES ($1, $2, $3, $4, $5, $6)";
    pub(super) const MARK_DEAD: &str =
        "UPDATE refresh_tokens SET dead_since = $1, killed_by = $2 WHERE session_handle = $3 AND dead_since IS NULL AND hash2 <> $4 AND (issued_at < $5 OR hash2 = $6)";
    pub(super) const SELECT_SESSION_TOKENS: &str =
        "SELECT hash2, session_handle, presented_hash2, issued_at, dead_since, anti_csrf_hash, killed_by FROM refresh_tokens WHERE session_handle = $1";
    pub(super) const INSERT_THEFT: &str =
        "INSERT INTO theft_reports (session_handle, user_id, tenant_id, session_created_at, detected_at, kind, presented_hash2, dead_since, grace_us, newest_hash2, newest_issued_at, revoked, tokens) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
    pub(super) const SELECT_THEFTS: &str =
        "SELECT id, session_handle, user_id, tenant_id, session_created_at, detected_at, kind, presented_hash2, dead_since, grace_us, newest_hash2, newest_issued_at, revoked, tokens FROM theft_reports WHERE user_id = COALESCE($1, user_id) AND session_handle = COALESCE($2, session_handle) AND id < COALESCE($3, 9223372036854775807) ORDER BY id DESC LIMIT $4";
    pub(super) const DELETE_OLD_THEFTS: &str = "DELETE FROM theft_reports WHERE detected_at < $1";
    /// A presented token with its session and the session's version, in one read.
    pub(super) const SELECT_PRESENTED: &str =
        "SELECT s.handle, s.user_id, s.tenant_id, s.created_at, s.expires_at, s.session_data, s.access_token_payload, s.use_static_key, s.device_key, t.hash2, t.session_handle, t.presented_hash2, t.issued_at, t.dead_since, t.anti_csrf_hash, t.killed_by, s.version FROM refresh_tokens t JOIN sessions s ON s.handle = t.session_handle WHERE t.hash2 = $1";
    pub(super) const BUMP_VERSION: &str =
        "UPDATE sessions SET version = version + 1 WHERE handle = $1";
    pub(super) const EXTEND_SESSION: &str =
        "UPDATE sessions SET version = version + 1, expires_at = $1 WHERE handle = $2";
    /// Tells listening servers that this schema's revocation log grew (see
    /// `listen_for_revocations`).
    pub(super) const ANNOUNCE_REVOCATIONS: Option<&str> = Some(concat!(
        "SELECT pg_notify('",
        revocation_channel!(),
        "', current_schema())"
    ));
    pub(super) const LOG_REVOCATION: &str =
        "INSERT INTO revocations (session_handle, revoked_at) VALUES ($1, $2)";
    pub(super) const REVOCATIONS: &str =
        "SELECT seq, session_handle, revoked_at FROM revocations WHERE seq > $1 AND revoked_at >= $2 ORDER BY seq LIMIT $3";
    pub(super) const DELETE_OLD_REVOCATIONS: &str = "DELETE FROM revocations WHERE revoked_at < $1";
    pub(super) const DELETE_SESSION: &str = "DELETE FROM sessions WHERE handle = $1";
    pub(super) const SESSION_HANDLES: &str =
        "SELECT handle FROM sessions WHERE handle > $1 ORDER BY handle LIMIT $2";
    pub(super) const USER_HANDLES: &str =
        "SELECT handle FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY handle";
    pub(super) const USER_HANDLES_IN_TENANT: &str =
        "SELECT handle FROM sessions WHERE user_id = $1 AND tenant_id = $2 AND expires_at > $3 ORDER BY handle";
    pub(super) const UPDATE_SESSION_DATA: &str =
        "UPDATE sessions SET version = version + 1, session_data = $1 WHERE handle = $2 AND expires_at > $3";
    pub(super) const BIND_DEVICE: &str =
        "UPDATE sessions SET version = version + 1, device_key = $1 WHERE handle = $2 AND expires_at > $3 AND device_key IS NULL";
    pub(super) const UPDATE_PAYLOAD: &str =
        "UPDATE sessions SET version = version + 1, access_token_payload = $1 WHERE handle = $2 AND expires_at > $3";
    pub(super) const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= $1";
    pub(super) const SIGNING_KEYS: &str =
        "SELECT kid, slot, algorithm, private_key, created_at, expires_at FROM signing_keys WHERE expires_at IS NULL OR expires_at > $1 ORDER BY created_at DESC";
    pub(super) const INSERT_SIGNING_KEY: &str =
        "INSERT INTO signing_keys (kid, slot, algorithm, private_key, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
    pub(super) const DELETE_EXPIRED_SIGNING_KEYS: &str =
        "DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND expires_at <= $1";
}

super::sqlx_store! {
    /// A [`SessionStore`] in PostgreSQL, for several Tessera processes sharing one database.
    ///
    /// Give Tessera its own database or schema (`?options=-c%20search_path%3Dtessera` in the URL):
    /// its tables are `sessions`, `refresh_tokens` and `signing_keys`.
    store: PostgresStore,
    database: sqlx::Postgres,
    pool_options: sqlx::postgres::PgPoolOptions,
    sql: statements,
    migrator: sqlx::migrate!("migrations/postgres"),
    listen: listen_for_revocations,
    write_accepted: write_accepted,
}

const REVOCATION_CHANNEL: &str = revocation_channel!();

/// Listens for revocations other processes log in this schema, so that the engine's follower
/// reads them at once. Without it (the database refused `LISTEN`) polling alone carries them.
async fn listen_for_revocations(
    pool: &sqlx::PgPool,
) -> Option<std::sync::Arc<super::RevocationListener>> {
    match start_listening(pool).await {
        Ok(listener) => Some(std::sync::Arc::new(listener)),
        Err(error) => {
            tracing::warn!(
                %error,
                "cannot LISTEN for revocations: other servers' revocations arrive at the next poll"
            );
            None
        }
    }
}

async fn start_listening(pool: &sqlx::PgPool) -> Result<super::RevocationListener, sqlx::Error> {
    let schema: Option<String> = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(pool)
        .await?;
    let schema = schema.unwrap_or_default();
    // A connection of its own rather than one of the pool's, which it would hold for good.
    let own = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(super::ACQUIRE_TIMEOUT)
        .connect_with((*pool.connect_options()).clone())
        .await?;
    let mut listener = sqlx::postgres::PgListener::connect_with(&own).await?;
    listener.ignore_pool_close_event(true);
    listener.listen(REVOCATION_CHANNEL).await?;
    let signal = std::sync::Arc::new(tokio::sync::Notify::new());
    let task = tokio::spawn({
        let signal = std::sync::Arc::clone(&signal);
        async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => {
                        if notification.payload() == schema {
                            signal.notify_one();
                        }
                    }
                    // The connection dropped and is being opened again: announcements made
                    // meanwhile are lost, so the follower reads the log now.
                    Ok(None) => signal.notify_one(),
                    Err(error) => {
                        tracing::debug!(%error, "revocation listener reconnecting");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        }
    });
    Ok(super::RevocationListener { signal, task })
}

/// The writes of an accepted presentation ([`Acceptance`]) as one statement, made only if the
/// session's version is still `version` (the statement increments it, taking the session's row
/// lock): the tokens the use marks dead, the child of a refresh, the session's new expiry.
/// `Some(false)` when another change to the session came first.
pub(super) async fn write_accepted(
    connection: &mut sqlx::pool::PoolConnection<sqlx::Postgres>,
    handle: &str,
    version: i64,
    acceptance: &tessera_core::rotation::Acceptance,
) -> Result<Option<bool>, sqlx::Error> {
    let kill = &acceptance.kill;
    let child = acceptance.child.as_ref();
    let guarded: i64 = sqlx::query_scalar(WRITE_ACCEPTED)
        .bind(acceptance.extend_to)
        .bind(handle)
        .bind(version)
        .bind(kill.at)
        .bind(&kill.used)
        .bind(kill.minted_before)
        .bind(&kill.parent)
        .bind(child.map(|child| &child.hash2))
        .bind(child.and_then(|child| child.presented_hash2.as_ref()))
        .bind(child.map(|child| child.issued_at))
        .bind(child.and_then(|child| child.anti_csrf_hash.as_ref()))
        .fetch_one(&mut **connection)
        .await?;
    Ok(Some(guarded == 1))
}

/// The session's row is updated first (`guard`): its lock serialises writers of one session, and
/// in READ COMMITTED a concurrent committed change makes the version check fail rather than be
/// overwritten. Every change to a session or its tokens increments the version, so when the guard
/// passes nothing changed since the read this plan was made from.
const WRITE_ACCEPTED: &str = "WITH guard AS (\
    UPDATE sessions SET version = version + 1, expires_at = COALESCE($1::BIGINT, expires_at) \
    WHERE handle = $2 AND version = $3 RETURNING handle\
), dead AS (\
    UPDATE refresh_tokens SET dead_since = $4, killed_by = $5 \
    WHERE session_handle = (SELECT handle FROM guard) AND dead_since IS NULL AND hash2 <> $5 \
    AND (issued_at < $6 OR hash2 = $7)\
), child AS (\
    INSERT INTO refresh_tokens (hash2, session_handle, presented_hash2, issued_at, dead_since, anti_csrf_hash) \
    SELECT $8::TEXT, handle, $9, $10::BIGINT, NULL, $11 FROM guard WHERE $8::TEXT IS NOT NULL\
) SELECT COUNT(*) FROM guard";
