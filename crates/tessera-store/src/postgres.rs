//! The PostgreSQL store: its statements, its transactions, and the `LISTEN`/`NOTIFY` channel that
//! wakes other servers when a session is revoked. A presentation reads the token with its session
//! and writes an accepted plan as one statement (a chain of data-modifying `WITH` queries), so a
//! refresh costs two round trips (see [`crate::sqlx_shared`]).

/// The channel revocations are announced on, as a literal for the statement that announces them.
/// The payload is the announcing schema, so a server wakes only for the schema (app) it reads.
macro_rules! revocation_channel {
    () => {
        "tessera_revocations"
    };
}

/// The statements.
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
    pub(super) const ANNOUNCE_REVOCATIONS: &str = concat!(
        "SELECT pg_notify('",
        revocation_channel!(),
        "', current_schema())"
    );
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
    pub(super) const USER_SESSIONS: &str =
        "SELECT handle, user_id, tenant_id, created_at, expires_at, session_data, access_token_payload, use_static_key, device_key FROM sessions WHERE user_id = $1 AND tenant_id = COALESCE($2, tenant_id) AND expires_at > $3 ORDER BY created_at, handle";
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

type Pool = sqlx::Pool<sqlx::Postgres>;
type Transaction = sqlx::Transaction<'static, sqlx::Postgres>;

/// A [`SessionStore`](tessera_core::SessionStore) in PostgreSQL, for several Tessera processes sharing one database.
///
/// Give Tessera its own database or schema (`?options=-c%20search_path%3Dtessera` in the URL):
/// its tables are `sessions`, `refresh_tokens` and `signing_keys`.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: Pool,
    schema: crate::SchemaVersions,
    revocations_pushed: Option<std::sync::Arc<crate::sqlx_shared::RevocationListener>>,
}

impl PostgresStore {
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
        let migrator = sqlx::migrate!("migrations/postgres");
        let expected = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let found = applied_version(&pool).await?;
        crate::schema::admit(found, expected, schema)?;
        migrator
            .run(&pool)
            .await
            .map_err(|error| StoreError::Migration(error.to_string()))?;
        let revocations_pushed = listen_for_revocations(&pool).await;
        Ok(Self {
            pool,
            schema: crate::SchemaVersions {
                found,
                now: expected,
            },
            revocations_pushed,
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

impl PostgresStore {
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
                if write_accepted(&mut connection, &session.handle, version, acceptance).await? {
                    Ok(Attempt::Done(plan.outcome(&session)))
                } else {
                    Ok(Attempt::Overtaken)
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
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
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

/// Reads a token under its session's lock.
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
    // Announced with the transaction: the database delivers it at commit, or never.
    if !removed.is_empty() {
        sqlx::query(statements::ANNOUNCE_REVOCATIONS)
            .execute(&mut **tx)
            .await?;
    }
    Ok(removed)
}

async fn user_handles<'e, E>(
    executor: E,
    tenant_id: Option<&str>,
    user_id: &str,
    live_at: Timestamp,
) -> Result<Vec<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
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
impl SessionRecords for PostgresStore {
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
impl RevocationLog for PostgresStore {
    fn revocation_signal(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        self.revocations_pushed
            .as_ref()
            .map(|listener| std::sync::Arc::clone(&listener.signal))
    }

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
impl SigningKeyStore for PostgresStore {
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
impl TenantRegistry for PostgresStore {
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

const REVOCATION_CHANNEL: &str = revocation_channel!();

/// Listens for revocations other processes log in this schema, so that the engine's follower
/// reads them at once. Without it (the database refused `LISTEN`) polling alone carries them.
async fn listen_for_revocations(
    pool: &sqlx::PgPool,
) -> Option<std::sync::Arc<crate::sqlx_shared::RevocationListener>> {
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

async fn start_listening(
    pool: &sqlx::PgPool,
) -> Result<crate::sqlx_shared::RevocationListener, sqlx::Error> {
    let schema: Option<String> = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(pool)
        .await?;
    let schema = schema.unwrap_or_default();
    // A connection of its own rather than one of the pool's, which it would hold for good.
    let own = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(crate::sqlx_shared::ACQUIRE_TIMEOUT)
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
    Ok(crate::sqlx_shared::RevocationListener { signal, task })
}

/// The writes of an accepted presentation ([`Acceptance`](tessera_core::rotation::Acceptance)) as one statement, made only if the
/// session's version is still `version` (the statement increments it, taking the session's row
/// lock): the tokens the use marks dead, the child of a refresh, the session's new expiry.
/// False when another change to the session came first.
pub(super) async fn write_accepted(
    connection: &mut sqlx::pool::PoolConnection<sqlx::Postgres>,
    handle: &str,
    version: i64,
    acceptance: &tessera_core::rotation::Acceptance,
) -> Result<bool, sqlx::Error> {
    let kill = &acceptance.kill;
    let child = acceptance.child.as_ref();
    let guarded: i64 = sqlx::query_scalar(WRITE_ACCEPTED)
        .bind(acceptance.extend_to.map(Timestamp::as_millis))
        .bind(handle)
        .bind(version)
        .bind(kill.at.as_micros())
        .bind(&kill.used)
        .bind(kill.minted_before.as_micros())
        .bind(&kill.parent)
        .bind(child.map(|child| &child.hash2))
        .bind(child.and_then(|child| child.presented_hash2.as_ref()))
        .bind(child.map(|child| child.issued_at.as_micros()))
        .bind(child.and_then(|child| child.anti_csrf_hash.as_ref()))
        .fetch_one(&mut **connection)
        .await?;
    Ok(guarded == 1)
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
