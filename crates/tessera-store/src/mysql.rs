//! The MySQL / MariaDB store: its statements and its transactions. A presentation reads the token
//! with its session and writes an accepted plan as one text batch (see [`write_accepted`]), so a
//! refresh costs two round trips (see [`crate::sqlx_shared`]). MySQL cannot push, so other
//! servers learn of revocations at their next poll.

/// The statements.
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
    pub(super) const USER_SESSIONS: &str =
        "SELECT handle, user_id, tenant_id, created_at, expires_at, session_data, access_token_payload, use_static_key, device_key FROM sessions WHERE user_id = ? AND tenant_id = COALESCE(?, tenant_id) AND expires_at > ? ORDER BY created_at, handle";
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

use async_trait::async_trait;
use serde_json::{Map, Value};
use tessera_core::rotation::{self, Kill, Write};
use tessera_core::{
    duration_micros, AppRecord, PresentOutcome, Presentation, RefreshTokenRecord, RevocationLog,
    RevocationRecord, SessionRecord, SessionRecords, SigningKeyStore, StoreError, StoredSigningKey,
    TenantRecord, TenantRegistry, TheftQuery, TheftReport, Timestamp,
};

use crate::sqlx_shared::rows::{self, Columns};
use crate::sqlx_shared::{encode_json, pool_options, present, store_error, Attempt};

type Pool = sqlx::Pool<sqlx::MySql>;
type Transaction = sqlx::Transaction<'static, sqlx::MySql>;

/// A [`SessionStore`](tessera_core::SessionStore) in MySQL or MariaDB (InnoDB), for several Tessera processes sharing one
/// database.
///
/// Give Tessera its own database: its tables are `sessions`, `refresh_tokens` and
/// `signing_keys`.
#[derive(Clone, Debug)]
pub struct MySqlStore {
    pool: Pool,
    schema: crate::SchemaVersions,
}

impl MySqlStore {
    /// Connects a pool of `pool_size` connections and brings the schema up to date.
    pub async fn connect(url: &str, pool_size: u32) -> Result<Self, StoreError> {
        Self::connect_with(url, pool_size, crate::SchemaPolicy::Migrate).await
    }

    /// Connects a pool, migrating the schema or requiring it current as `schema` says.
    pub async fn connect_with(
        url: &str,
        pool_size: u32,
        schema: crate::SchemaPolicy,
    ) -> Result<Self, StoreError> {
        let pool = pool_options(pool_size)
            .connect(url)
            .await
            .map_err(store_error)?;
        Self::from_pool_with(pool, schema).await
    }

    /// Uses an existing pool, bringing the schema up to date.
    pub async fn from_pool(pool: Pool) -> Result<Self, StoreError> {
        Self::from_pool_with(pool, crate::SchemaPolicy::Migrate).await
    }

    /// Uses an existing pool, migrating the schema or requiring it current.
    pub async fn from_pool_with(
        pool: Pool,
        schema: crate::SchemaPolicy,
    ) -> Result<Self, StoreError> {
        let migrator = sqlx::migrate!("migrations/mysql");
        let expected = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let found = applied_version(&pool).await?;
        crate::schema::admit(found, expected, schema)?;
        migrator
            .run(&pool)
            .await
            .map_err(|error| StoreError::Migration(error.to_string()))?;
        Ok(Self {
            pool,
            schema: crate::SchemaVersions {
                found,
                now: expected,
            },
        })
    }

    /// The schema version found at connect and the version now.
    pub fn schema_versions(&self) -> crate::SchemaVersions {
        self.schema
    }

    /// The connection pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn begin(&self) -> Result<Transaction, StoreError> {
        self.pool.begin().await.map_err(store_error)
    }

    /// Runs a deletion of what expired or aged out before `bound` (in the unit of the column it
    /// compares with); returns how many rows went.
    async fn delete_before(&self, statement: &'static str, bound: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(statement)
            .bind(bound)
            .execute(&self.pool)
            .await
            .map_err(store_error)?
            .rows_affected())
    }

    /// Sets one column of a live session (`statement` binds the value, the handle, now); false if
    /// there is no such live session, or the statement's condition refused it.
    async fn update_live(
        &self,
        statement: &'static str,
        value: &str,
        handle: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(statement)
            .bind(value)
            .bind(handle)
            .bind(now.as_millis())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    /// Inserts a `(id, config, created_at)` row (tenants, apps) unless its id is taken,
    /// else replaces its config; returns whether it was inserted. `statements` are the
    /// insert-if-absent and the config update.
    async fn insert_or_update(
        &self,
        [insert, update]: [&'static str; 2],
        id: &str,
        config: &str,
        created_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let created = sqlx::query(insert)
            .bind(id)
            .bind(config)
            .bind(created_at.as_millis())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?
            .rows_affected()
            > 0;
        if !created {
            sqlx::query(update)
                .bind(config)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(created)
    }
}

impl MySqlStore {
    /// A presentation in two round trips: the token and its session in one read, the
    /// plan's writes in one guarded write (see [`present`]).
    async fn try_present_optimistically(
        &self,
        presentation: &Presentation,
    ) -> Result<Attempt, sqlx::Error> {
        // One connection for the read and the write: two round trips, no ping between.
        let mut connection = self.pool.acquire().await?;
        let row = sqlx::query(statements::SELECT_PRESENTED)
            .bind(&presentation.presented_hash2)
            .fetch_optional(&mut *connection)
            .await?;
        // The join finds no row for an unknown token; a token without its session row
        // cannot exist (its foreign key deletes it with the session).
        let Some(row) = row else {
            return Ok(Attempt::Done(PresentOutcome::UNKNOWN_TOKEN));
        };
        let session = rows::session(&row)?;
        let presented = rows::token(&row, rows::PRESENTED_TOKEN_COLUMN)?;
        let version = row.number(rows::PRESENTED_VERSION_COLUMN)?;
        let plan = rotation::plan(&session, &presented, presentation);
        match &plan {
            rotation::Plan::Reject { .. } => Ok(Attempt::Done(plan.outcome(&session))),
            rotation::Plan::Theft { .. } => Ok(Attempt::Locked),
            rotation::Plan::Accept(acceptance) => {
                match write_accepted(&mut connection, &session.handle, version, acceptance).await? {
                    Some(true) => Ok(Attempt::Done(plan.outcome(&session))),
                    Some(false) => Ok(Attempt::Overtaken),
                    None => Ok(Attempt::Locked),
                }
            }
        }
    }

    /// One attempt at a presentation's locked transaction.
    async fn try_present(
        &self,
        presentation: &Presentation,
    ) -> Result<PresentOutcome, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // The presented token's session, locked: presentations of one session are
        // serialised.
        let session = locked_session(
            &mut tx,
            statements::SELECT_TOKEN_SESSION_FOR_UPDATE,
            &presentation.presented_hash2,
        )
        .await?;
        let presented = locked_token(&mut tx, &presentation.presented_hash2).await?;
        // The same answers as the other stores, which read the token first: no token is
        // an unknown token, a token without its session row is no session.
        let (session, presented) = match (session, presented) {
            (Some(session), Some(presented)) => (session, presented),
            (_, None) => return Ok(PresentOutcome::UNKNOWN_TOKEN),
            (None, Some(_)) => return Ok(PresentOutcome::NO_SESSION),
        };
        let plan = rotation::plan(&session, &presented, presentation);
        for write in plan.writes(&session) {
            match write {
                Write::RecordTheft { kind, revoked } => {
                    let tokens = session_tokens(&mut *tx, &session.handle).await?;
                    let report = rotation::theft_report(
                        &session,
                        &presented,
                        &tokens,
                        presentation,
                        kind,
                        revoked,
                    );
                    insert_theft(&mut tx, &report).await?;
                }
                Write::RevokeSession { handle } => {
                    revoke_in(
                        &mut tx,
                        &[handle.to_owned()],
                        presentation.now.whole_millis(),
                    )
                    .await?;
                }
                Write::MarkDead(kill) => mark_dead(&mut tx, kill).await?,
                Write::InsertToken(child) => insert_token(&mut tx, child).await?,
                Write::ExtendSession { handle, expires_at } => {
                    sqlx::query(statements::EXTEND_SESSION)
                        .bind(expires_at.as_millis())
                        .bind(handle)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        if matches!(plan, rotation::Plan::Accept(_)) {
            // Optimistic writers of this session must see that it changed.
            sqlx::query(statements::BUMP_VERSION)
                .bind(&session.handle)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(plan.outcome(&session))
    }
}

/// Every token row of a session.
async fn session_tokens<'e, E>(
    executor: E,
    handle: &str,
) -> Result<Vec<RefreshTokenRecord>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::MySql>,
{
    sqlx::query(statements::SELECT_SESSION_TOKENS)
        .bind(handle)
        .fetch_all(executor)
        .await?
        .iter()
        .map(|row| rows::token(row, 0))
        .collect()
}

async fn insert_theft(tx: &mut Transaction, report: &TheftReport) -> Result<(), sqlx::Error> {
    let tokens = serde_json::to_string(&report.tokens)
        .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    sqlx::query(statements::INSERT_THEFT)
        .bind(&report.session_handle)
        .bind(&report.user_id)
        .bind(&report.tenant_id)
        .bind(report.session_created_at.as_millis())
        .bind(report.detected_at.as_micros())
        .bind(report.kind.as_str())
        .bind(&report.presented_hash2)
        .bind(report.dead_since.map(Timestamp::as_micros))
        .bind(duration_micros(report.grace))
        .bind(&report.newest_hash2)
        .bind(report.newest_issued_at.map(Timestamp::as_micros))
        .bind(report.revoked)
        .bind(tokens)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The newest schema version applied (0 when sqlx's migration table does not exist yet).
async fn applied_version(pool: &Pool) -> Result<i64, StoreError> {
    let tables: i64 = sqlx::query_scalar(statements::MIGRATIONS_TABLE_EXISTS)
        .fetch_one(pool)
        .await
        .map_err(store_error)?;
    if tables == 0 {
        return Ok(0);
    }
    let version: Option<i64> = sqlx::query_scalar(statements::APPLIED_SCHEMA_VERSION)
        .fetch_one(pool)
        .await
        .map_err(store_error)?;
    Ok(version.unwrap_or(0))
}

/// Reads and locks a session row with `statement`, which selects it by `key` (its handle,
/// or one of its refresh tokens' hash).
async fn locked_session(
    tx: &mut Transaction,
    statement: &'static str,
    key: &str,
) -> Result<Option<SessionRecord>, sqlx::Error> {
    sqlx::query(statement)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(rows::session)
        .transpose()
}

/// Reads a token under its session's lock. A locking read returns the newest committed
/// row even under MySQL's REPEATABLE READ, whose plain reads would see the snapshot taken
/// at the transaction's first read.
async fn locked_token(
    tx: &mut Transaction,
    hash2: &str,
) -> Result<Option<RefreshTokenRecord>, sqlx::Error> {
    sqlx::query(statements::SELECT_TOKEN_FOR_UPDATE)
        .bind(hash2)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(|row| rows::token(row, 0))
        .transpose()
}

async fn insert_token(tx: &mut Transaction, token: &RefreshTokenRecord) -> Result<(), sqlx::Error> {
    sqlx::query(statements::INSERT_TOKEN)
        .bind(&token.hash2)
        .bind(&token.session_handle)
        .bind(&token.presented_hash2)
        .bind(token.issued_at.as_micros())
        .bind(token.dead_since.map(Timestamp::as_micros))
        .bind(&token.anti_csrf_hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// [`Kill::applies_to`] as one statement.
async fn mark_dead(tx: &mut Transaction, kill: &Kill) -> Result<(), sqlx::Error> {
    sqlx::query(statements::MARK_DEAD)
        .bind(kill.at.as_micros())
        .bind(&kill.used)
        .bind(&kill.session_handle)
        .bind(&kill.used)
        .bind(kill.minted_before.as_micros())
        .bind(&kill.parent)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes sessions and logs each one that existed as revoked at `revoked_at`.
async fn revoke_in(
    tx: &mut Transaction,
    handles: &[String],
    revoked_at: Timestamp,
) -> Result<Vec<String>, sqlx::Error> {
    let mut removed = Vec::new();
    for handle in handles {
        let result = sqlx::query(statements::DELETE_SESSION)
            .bind(handle)
            .execute(&mut **tx)
            .await?;
        if result.rows_affected() > 0 {
            sqlx::query(statements::LOG_REVOCATION)
                .bind(handle)
                .bind(revoked_at.as_millis())
                .execute(&mut **tx)
                .await?;
            removed.push(handle.clone());
        }
    }
    // MySQL cannot push: other servers read new revocations at their next poll.
    Ok(removed)
}

async fn user_handles<'e, E>(
    executor: E,
    tenant_id: Option<&str>,
    user_id: &str,
    live_at: Timestamp,
) -> Result<Vec<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::MySql>,
{
    match tenant_id {
        Some(tenant_id) => {
            sqlx::query_scalar(statements::USER_HANDLES_IN_TENANT)
                .bind(user_id)
                .bind(tenant_id)
                .bind(live_at.as_millis())
                .fetch_all(executor)
                .await
        }
        None => {
            sqlx::query_scalar(statements::USER_HANDLES)
                .bind(user_id)
                .bind(live_at.as_millis())
                .fetch_all(executor)
                .await
        }
    }
}

#[async_trait]
impl SessionRecords for MySqlStore {
    async fn create_session(
        &self,
        session: SessionRecord,
        first_token: RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        let data = encode_json(&session.session_data)?;
        let payload = encode_json(&session.access_token_payload)?;
        let mut tx = self.begin().await?;
        sqlx::query(statements::INSERT_SESSION)
            .bind(&session.handle)
            .bind(&session.user_id)
            .bind(&session.tenant_id)
            .bind(session.created_at.as_millis())
            .bind(session.expires_at.as_millis())
            .bind(data)
            .bind(payload)
            .bind(session.use_static_key)
            .bind(&session.device_key)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        insert_token(&mut tx, &first_token)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }

    async fn session(
        &self,
        handle: &str,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(statements::SELECT_LIVE_SESSION)
            .bind(handle)
            .bind(now.as_millis())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref()
            .map(rows::session)
            .transpose()
            .map_err(store_error)
    }

    async fn refresh_token(&self, hash2: &str) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let row = sqlx::query(statements::SELECT_TOKEN)
            .bind(hash2)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref()
            .map(|row| rows::token(row, 0))
            .transpose()
            .map_err(store_error)
    }

    async fn session_tokens(&self, handle: &str) -> Result<Vec<RefreshTokenRecord>, StoreError> {
        session_tokens(&self.pool, handle)
            .await
            .map_err(store_error)
    }

    async fn theft_reports(&self, query: &TheftQuery) -> Result<Vec<TheftReport>, StoreError> {
        sqlx::query(statements::SELECT_THEFTS)
            .bind(&query.user_id)
            .bind(&query.session_handle)
            .bind(query.before_id)
            .bind(i64::from(query.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?
            .iter()
            .map(rows::theft)
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(store_error)
    }

    async fn delete_old_theft_reports(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.delete_before(statements::DELETE_OLD_THEFTS, before.as_micros())
            .await
    }

    async fn present(&self, presentation: Presentation) -> Result<PresentOutcome, StoreError> {
        present(
            || self.try_present_optimistically(&presentation),
            || self.try_present(&presentation),
        )
        .await
    }

    async fn session_handles(&self, after: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(statements::SESSION_HANDLES)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)
    }

    async fn session_handles_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        user_handles(&self.pool, tenant_id, user_id, now)
            .await
            .map_err(store_error)
    }

    async fn sessions_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        sqlx::query(statements::USER_SESSIONS)
            .bind(user_id)
            .bind(tenant_id)
            .bind(now.as_millis())
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?
            .iter()
            .map(rows::session)
            .collect::<Result<_, _>>()
            .map_err(store_error)
    }

    async fn bind_device(
        &self,
        handle: &str,
        device_key: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.update_live(statements::BIND_DEVICE, device_key, handle, now)
            .await
    }

    async fn update_session_data(
        &self,
        handle: &str,
        data: &Value,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.update_live(
            statements::UPDATE_SESSION_DATA,
            &encode_json(data)?,
            handle,
            now,
        )
        .await
    }

    async fn update_access_token_payload(
        &self,
        handle: &str,
        payload: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.update_live(
            statements::UPDATE_PAYLOAD,
            &encode_json(payload)?,
            handle,
            now,
        )
        .await
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.delete_before(statements::DELETE_EXPIRED_SESSIONS, now.as_millis())
            .await
    }
}

#[async_trait]
impl RevocationLog for MySqlStore {
    async fn revoke_sessions(
        &self,
        handles: &[String],
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.begin().await?;
        let removed = revoke_in(&mut tx, handles, now)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(removed)
    }

    async fn revoke_sessions_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.begin().await?;
        let handles = user_handles(&mut *tx, tenant_id, user_id, Timestamp::MIN)
            .await
            .map_err(store_error)?;
        let removed = revoke_in(&mut tx, &handles, now)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(removed)
    }

    async fn revocations(
        &self,
        after: i64,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<RevocationRecord>, StoreError> {
        let rows = sqlx::query(statements::REVOCATIONS)
            .bind(after)
            .bind(since.as_millis())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter()
            .map(rows::revocation)
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(store_error)
    }

    async fn delete_old_revocations(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.delete_before(statements::DELETE_OLD_REVOCATIONS, before.as_millis())
            .await
    }
}

#[async_trait]
impl SigningKeyStore for MySqlStore {
    async fn signing_keys(&self, now: Timestamp) -> Result<Vec<StoredSigningKey>, StoreError> {
        let rows = sqlx::query(statements::SIGNING_KEYS)
            .bind(now.as_millis())
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter()
            .map(rows::signing_key)
            .collect::<Result<_, _>>()
            .map_err(store_error)
    }

    async fn insert_signing_key(&self, key: &StoredSigningKey) -> Result<bool, StoreError> {
        let result = sqlx::query(statements::INSERT_SIGNING_KEY)
            .bind(&key.kid)
            .bind(&key.slot)
            .bind(&key.algorithm)
            .bind(&key.private_key)
            .bind(key.created_at.as_millis())
            .bind(key.expires_at.map(Timestamp::as_millis))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn delete_expired_signing_keys(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.delete_before(statements::DELETE_EXPIRED_SIGNING_KEYS, now.as_millis())
            .await
    }
}

#[async_trait]
impl TenantRegistry for MySqlStore {
    async fn put_tenant(&self, tenant: &TenantRecord) -> Result<bool, StoreError> {
        let config = encode_json(&tenant.config)?;
        self.insert_or_update(
            [statements::INSERT_TENANT, statements::UPDATE_TENANT],
            &tenant.tenant_id,
            &config,
            tenant.created_at,
        )
        .await
    }

    async fn tenant(&self, tenant_id: &str) -> Result<Option<TenantRecord>, StoreError> {
        let row = sqlx::query(statements::SELECT_TENANT)
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref()
            .map(rows::tenant)
            .transpose()
            .map_err(store_error)
    }

    async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        let rows = sqlx::query(statements::SELECT_TENANTS)
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter()
            .map(rows::tenant)
            .collect::<Result<_, _>>()
            .map_err(store_error)
    }

    async fn delete_tenant(
        &self,
        tenant_id: &str,
        now: Timestamp,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let mut tx = self.begin().await?;
        let existed = sqlx::query(statements::DELETE_TENANT)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?
            .rows_affected()
            > 0;
        if !existed {
            return Ok(None);
        }
        let handles: Vec<String> = sqlx::query_scalar(statements::TENANT_HANDLES)
            .bind(tenant_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(store_error)?;
        let removed = revoke_in(&mut tx, &handles, now)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(Some(removed))
    }

    async fn put_app(&self, app: &AppRecord) -> Result<bool, StoreError> {
        let config = encode_json(&app.config)?;
        self.insert_or_update(
            [statements::INSERT_APP, statements::UPDATE_APP],
            &app.app_id,
            &config,
            app.created_at,
        )
        .await
    }

    async fn apps(&self) -> Result<Vec<AppRecord>, StoreError> {
        let rows = sqlx::query(statements::SELECT_APPS)
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter()
            .map(rows::app)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(store_error)
    }

    async fn delete_app(&self, app_id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query(statements::DELETE_APP)
            .bind(app_id)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }
}

/// The writes of an accepted presentation ([`Acceptance`](tessera_core::rotation::Acceptance)), made only if the session's version is
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
        .map_or_else(|| "NULL".to_owned(), |at| at.as_millis().to_string());
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
        at = kill.at.as_micros(),
        minted_before = kill.minted_before.as_micros(),
    );
    if let Some(child) = &acceptance.child {
        batch.push_str(&format!(
            "INSERT INTO refresh_tokens (hash2, session_handle, presented_hash2, issued_at, \
             dead_since, anti_csrf_hash) SELECT {hash2}, {handle}, {presented}, {issued_at}, NULL, \
             {anti_csrf} FROM DUAL WHERE @tessera_guard = 1;",
            hash2 = literal(&child.hash2)?,
            presented = optional_literal(child.presented_hash2.as_deref())?,
            issued_at = child.issued_at.as_micros(),
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
