//! The embedded SQLite store: one file, WAL journal, migrations run at open.
//!
//! rusqlite rather than sqlx: a primary-key lookup costs about 6 µs through rusqlite against about
//! 165 µs through sqlx's SQLite driver on the reference machine. Calls run on the calling worker
//! (see [`SqliteStore::call`]).

mod rows;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::{Map, Value};
use tessera_core::rotation::{self, Kill, Write};
use tessera_core::{
    duration_micros, AppRecord, PresentOutcome, Presentation, RefreshTokenRecord, RevocationLog,
    RevocationRecord, SessionRecord, SessionRecords, SigningKeyStore, StoreError, StoredSigningKey,
    TenantRecord, TenantRegistry, TheftQuery, TheftReport, Timestamp,
};

use crate::schema::{SchemaPolicy, SchemaVersions};
use rows::{
    app_from_row, json_text, key_from_row, session_from_row, tenant_from_row, theft_from_row,
    token_from_row, SESSION_COLUMNS, THEFT_COLUMNS, TOKEN_COLUMNS,
};

/// How long a writer waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`SessionStore`](tessera_core::SessionStore) in a SQLite file.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use tessera_core::{NewSession, SessionConfig, Sessions};
/// use tessera_store::SqliteStore;
///
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::open(dir.path().join("tessera.db")).await?;
/// let sessions = Sessions::new(store, SessionConfig::default());
/// let created = sessions.create_new_session(NewSession::new("alice")).await?;
/// assert_eq!(created.session.user_id, "alice");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    path: PathBuf,
    schema: SchemaVersions,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SchemaPolicy::Migrate).await
    }

    /// Opens the database file, migrating its schema or requiring it current as `schema` says.
    pub async fn open_with(
        path: impl AsRef<Path>,
        schema: SchemaPolicy,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let opened = path.clone();
        let (connection, schema) =
            tokio::task::spawn_blocking(move || open_connection(&opened, schema))
                .await
                .map_err(|error| StoreError::Database(format!("open task failed: {error}")))??;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            path,
            schema,
        })
    }

    /// The schema version found at open and the version now.
    pub fn schema_versions(&self) -> SchemaVersions {
        self.schema
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` on the connection.
    ///
    /// The work runs on the calling thread: handing it to tokio's blocking pool cost a refresh
    /// about a third of its throughput in thread wake-ups on the reference machine
    /// (`BENCHMARKS.md`). On a multi-threaded runtime `block_in_place` first hands this worker's
    /// other tasks to another thread, so a statement waiting on another process's write lock
    /// stalls nothing else; a current-thread runtime has no other thread to hand them to.
    async fn call<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, rusqlite::Error>,
    {
        let run = || {
            let mut guard = lock(&self.connection);
            work(&mut guard).map_err(store_error)
        };
        match tokio::runtime::Handle::try_current().map(|handle| handle.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(run),
            _ => run(),
        }
    }
}

fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave a half-done transaction behind: rusqlite rolls
    // back on drop. The connection is still usable.
    connection
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn open_connection(
    path: &Path,
    schema: SchemaPolicy,
) -> Result<(Connection, SchemaVersions), StoreError> {
    let mut connection = Connection::open(path).map_err(store_error)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(store_error)?;
    // WAL with synchronous=NORMAL: a committed transaction is in the WAL file before commit
    // returns, so it survives the process being killed (not a power cut mid-checkpoint).
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .map_err(store_error)?;
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(store_error)?;
    connection
        .pragma_update(None, "foreign_keys", "ON")
        .map_err(store_error)?;
    let versions = schema::prepare(&mut connection, schema)?;
    Ok((connection, versions))
}

fn store_error(error: rusqlite::Error) -> StoreError {
    use rusqlite::ffi::ErrorCode;
    match &error {
        rusqlite::Error::SqliteFailure(code, _)
            if matches!(
                code.code,
                ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    | ErrorCode::CannotOpen
                    | ErrorCode::DiskFull
            ) =>
        {
            StoreError::Unavailable(error.to_string())
        }
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::Corrupt(error.to_string()),
        _ => StoreError::Database(error.to_string()),
    }
}

fn select_session(
    connection: &Connection,
    handle: &str,
) -> Result<Option<SessionRecord>, rusqlite::Error> {
    connection
        .prepare_cached(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE handle = ?1"
        ))?
        .query_row([handle], session_from_row)
        .optional()
}

fn select_token(
    connection: &Connection,
    hash2: &str,
) -> Result<Option<RefreshTokenRecord>, rusqlite::Error> {
    connection
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM refresh_tokens WHERE hash2 = ?1"
        ))?
        .query_row([hash2], token_from_row)
        .optional()
}

fn insert_token(
    connection: &Connection,
    token: &RefreshTokenRecord,
) -> Result<(), rusqlite::Error> {
    connection
        .prepare_cached(
            "INSERT INTO refresh_tokens (hash2, session_handle, presented_hash2, issued_at, \
             dead_since, anti_csrf_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            token.hash2,
            token.session_handle,
            token.presented_hash2,
            token.issued_at.as_micros(),
            token.dead_since.map(Timestamp::as_micros),
            token.anti_csrf_hash,
        ])?;
    Ok(())
}

/// [`Kill::applies_to`] as one statement.
fn mark_dead(connection: &Connection, kill: &Kill) -> Result<(), rusqlite::Error> {
    connection
        .prepare_cached(
            "UPDATE refresh_tokens SET dead_since = ?5, killed_by = ?2 WHERE session_handle = ?1 \
             AND dead_since IS NULL AND hash2 <> ?2 AND (issued_at < ?4 OR hash2 = ?3)",
        )?
        .execute(params![
            kill.session_handle,
            kill.used,
            kill.parent,
            kill.minted_before.as_micros(),
            kill.at.as_micros()
        ])?;
    Ok(())
}

fn select_session_tokens(
    connection: &Connection,
    handle: &str,
) -> Result<Vec<RefreshTokenRecord>, rusqlite::Error> {
    connection
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM refresh_tokens WHERE session_handle = ?1"
        ))?
        .query_map([handle], token_from_row)?
        .collect()
}

/// Stores a theft's report; its id comes from the table's AUTOINCREMENT, so it is never reused.
fn insert_theft(connection: &Connection, report: &TheftReport) -> Result<(), rusqlite::Error> {
    let tokens = serde_json::to_string(&report.tokens)
        .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
    connection
        .prepare_cached(
            "INSERT INTO theft_reports (session_handle, user_id, tenant_id, session_created_at, \
             detected_at, kind, presented_hash2, dead_since, grace_us, newest_hash2, \
             newest_issued_at, revoked, tokens) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            report.session_handle,
            report.user_id,
            report.tenant_id,
            report.session_created_at.as_millis(),
            report.detected_at.as_micros(),
            report.kind.as_str(),
            report.presented_hash2,
            report.dead_since.map(Timestamp::as_micros),
            duration_micros(report.grace),
            report.newest_hash2,
            report.newest_issued_at.map(Timestamp::as_micros),
            report.revoked,
            tokens,
        ])?;
    Ok(())
}

fn extend_session(
    connection: &Connection,
    handle: &str,
    expires_at: Timestamp,
) -> Result<(), rusqlite::Error> {
    connection
        .prepare_cached("UPDATE sessions SET expires_at = ?2 WHERE handle = ?1")?
        .execute(params![handle, expires_at.as_millis()])?;
    Ok(())
}

/// Deletes sessions and logs each one that existed as revoked at `revoked_at`.
fn revoke_sessions(
    connection: &Connection,
    handles: &[String],
    revoked_at: Timestamp,
) -> Result<Vec<String>, rusqlite::Error> {
    let mut delete = connection.prepare_cached("DELETE FROM sessions WHERE handle = ?1")?;
    let mut log = connection
        .prepare_cached("INSERT INTO revocations (session_handle, revoked_at) VALUES (?1, ?2)")?;
    let mut removed = Vec::new();
    for handle in handles {
        if delete.execute([handle])? > 0 {
            log.execute(params![handle, revoked_at.as_millis()])?;
            removed.push(handle.clone());
        }
    }
    Ok(removed)
}

/// Inserts an `(id, config, created_at)` row (tenants, apps) unless its id is taken, else
/// replaces its config, in one write transaction; returns whether it was inserted. The update
/// statement binds the id as `?1` and the config as `?2`.
fn insert_or_update(
    connection: &mut Connection,
    [insert, update]: [&str; 2],
    (id, config, created_at): (String, String, Timestamp),
) -> Result<bool, rusqlite::Error> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let created =
        tx.prepare_cached(insert)?
            .execute(params![id, config, created_at.as_millis()])?
            > 0;
    if !created {
        tx.prepare_cached(update)?.execute(params![id, config])?;
    }
    tx.commit()?;
    Ok(created)
}

fn user_handles(
    connection: &Connection,
    tenant_id: Option<&str>,
    user_id: &str,
    live_at: Option<Timestamp>,
) -> Result<Vec<String>, rusqlite::Error> {
    let mut statement = connection.prepare_cached(
        "SELECT handle FROM sessions WHERE user_id = ?1 AND (?2 IS NULL OR tenant_id = ?2) \
         AND (?3 IS NULL OR expires_at > ?3) ORDER BY handle",
    )?;
    let handles = statement
        .query_map(
            params![user_id, tenant_id, live_at.map(Timestamp::as_millis)],
            |row| row.get(0),
        )?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(handles)
}

#[async_trait]
impl SessionRecords for SqliteStore {
    async fn create_session(
        &self,
        session: SessionRecord,
        first_token: RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        let data = json_text(&session.session_data)?;
        let payload = json_text(&session.access_token_payload)?;
        self.call(move |connection| {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached(
                "INSERT INTO sessions (handle, user_id, tenant_id, created_at, expires_at, \
                 session_data, access_token_payload, use_static_key, device_key) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                session.handle,
                session.user_id,
                session.tenant_id,
                session.created_at.as_millis(),
                session.expires_at.as_millis(),
                data,
                payload,
                session.use_static_key,
                session.device_key,
            ])?;
            insert_token(&tx, &first_token)?;
            tx.commit()
        })
        .await
    }

    async fn session(
        &self,
        handle: &str,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let handle = handle.to_owned();
        self.call(move |connection| {
            Ok(select_session(connection, &handle)?.filter(|s| s.expires_at > now))
        })
        .await
    }

    async fn refresh_token(&self, hash2: &str) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let hash2 = hash2.to_owned();
        self.call(move |connection| select_token(connection, &hash2))
            .await
    }

    async fn session_tokens(&self, handle: &str) -> Result<Vec<RefreshTokenRecord>, StoreError> {
        let handle = handle.to_owned();
        self.call(move |connection| select_session_tokens(connection, &handle))
            .await
    }

    async fn theft_reports(&self, query: &TheftQuery) -> Result<Vec<TheftReport>, StoreError> {
        let query = query.clone();
        self.call(move |connection| {
            connection
                .prepare_cached(&format!(
                    "SELECT {THEFT_COLUMNS} FROM theft_reports WHERE (?1 IS NULL OR user_id = ?1) \
                     AND (?2 IS NULL OR session_handle = ?2) AND (?3 IS NULL OR id < ?3) \
                     ORDER BY id DESC LIMIT ?4"
                ))?
                .query_map(
                    params![
                        query.user_id,
                        query.session_handle,
                        query.before_id,
                        query.limit
                    ],
                    theft_from_row,
                )?
                .collect()
        })
        .await
    }

    async fn delete_old_theft_reports(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.call(move |connection| {
            let deleted = connection
                .prepare_cached("DELETE FROM theft_reports WHERE detected_at < ?1")?
                .execute([before.as_micros()])?;
            Ok(deleted as u64)
        })
        .await
    }

    async fn present(&self, presentation: Presentation) -> Result<PresentOutcome, StoreError> {
        self.call(move |connection| {
            // IMMEDIATE takes the database write lock up front: presentations are serialised
            // across every connection and process using this file.
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(presented) = select_token(&tx, &presentation.presented_hash2)? else {
                return Ok(PresentOutcome::UNKNOWN_TOKEN);
            };
            let Some(session) = select_session(&tx, &presented.session_handle)? else {
                return Ok(PresentOutcome::NO_SESSION);
            };
            let plan = rotation::plan(&session, &presented, &presentation);
            for write in plan.writes(&session) {
                match write {
                    Write::RecordTheft { kind, revoked } => {
                        let tokens = select_session_tokens(&tx, &session.handle)?;
                        let report = rotation::theft_report(
                            &session,
                            &presented,
                            &tokens,
                            &presentation,
                            kind,
                            revoked,
                        );
                        insert_theft(&tx, &report)?;
                    }
                    Write::RevokeSession { handle } => {
                        revoke_sessions(
                            &tx,
                            &[handle.to_owned()],
                            presentation.now.whole_millis(),
                        )?;
                    }
                    Write::MarkDead(kill) => mark_dead(&tx, kill)?,
                    Write::InsertToken(child) => insert_token(&tx, child)?,
                    Write::ExtendSession { handle, expires_at } => {
                        extend_session(&tx, handle, expires_at)?;
                    }
                }
            }
            tx.commit()?;
            Ok(plan.outcome(&session))
        })
        .await
    }

    async fn session_handles(&self, after: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        let after = after.to_owned();
        self.call(move |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT handle FROM sessions WHERE handle > ?1 ORDER BY handle LIMIT ?2",
            )?;
            let handles = statement
                .query_map(rusqlite::params![after, limit], |row| row.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(handles)
        })
        .await
    }

    async fn session_handles_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let tenant_id = tenant_id.map(str::to_owned);
        let user_id = user_id.to_owned();
        self.call(move |connection| {
            user_handles(connection, tenant_id.as_deref(), &user_id, Some(now))
        })
        .await
    }

    async fn sessions_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let tenant_id = tenant_id.map(str::to_owned);
        let user_id = user_id.to_owned();
        self.call(move |connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = ?1 \
                 AND (?2 IS NULL OR tenant_id = ?2) AND expires_at > ?3 \
                 ORDER BY created_at, handle"
            ))?;
            let sessions = statement
                .query_map(
                    params![user_id, tenant_id, now.as_millis()],
                    session_from_row,
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(sessions)
        })
        .await
    }

    async fn bind_device(
        &self,
        handle: &str,
        device_key: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let handle = handle.to_owned();
        let device_key = device_key.to_owned();
        self.call(move |connection| {
            let changed = connection
                .prepare_cached(
                    "UPDATE sessions SET device_key = ?2 \
                     WHERE handle = ?1 AND expires_at > ?3 AND device_key IS NULL",
                )?
                .execute(params![handle, device_key, now.as_millis()])?;
            Ok(changed > 0)
        })
        .await
    }

    async fn update_session_data(
        &self,
        handle: &str,
        data: &Value,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let handle = handle.to_owned();
        let data = json_text(data)?;
        self.call(move |connection| {
            let changed = connection
                .prepare_cached(
                    "UPDATE sessions SET session_data = ?2 WHERE handle = ?1 AND expires_at > ?3",
                )?
                .execute(params![handle, data, now.as_millis()])?;
            Ok(changed > 0)
        })
        .await
    }

    async fn update_access_token_payload(
        &self,
        handle: &str,
        payload: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let handle = handle.to_owned();
        let payload = json_text(payload)?;
        self.call(move |connection| {
            let changed = connection
                .prepare_cached(
                    "UPDATE sessions SET access_token_payload = ?2 WHERE handle = ?1 AND expires_at > ?3",
                )?
                .execute(params![handle, payload, now.as_millis()])?;
            Ok(changed > 0)
        })
        .await
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.call(move |connection| {
            let removed = connection
                .prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")?
                .execute([now.as_millis()])?;
            Ok(removed as u64)
        })
        .await
    }
}

#[async_trait]
impl RevocationLog for SqliteStore {
    async fn revoke_sessions(
        &self,
        handles: &[String],
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let handles = handles.to_vec();
        self.call(move |connection| {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let removed = revoke_sessions(&tx, &handles, now)?;
            tx.commit()?;
            Ok(removed)
        })
        .await
    }

    async fn revoke_sessions_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let tenant_id = tenant_id.map(str::to_owned);
        let user_id = user_id.to_owned();
        self.call(move |connection| {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let handles = user_handles(&tx, tenant_id.as_deref(), &user_id, None)?;
            let removed = revoke_sessions(&tx, &handles, now)?;
            tx.commit()?;
            Ok(removed)
        })
        .await
    }

    async fn revocations(
        &self,
        after: i64,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<RevocationRecord>, StoreError> {
        self.call(move |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT seq, session_handle, revoked_at FROM revocations \
                 WHERE seq > ?1 AND revoked_at >= ?2 ORDER BY seq LIMIT ?3",
            )?;
            let records = statement
                .query_map(params![after, since.as_millis(), limit], |row| {
                    Ok(RevocationRecord {
                        seq: row.get(0)?,
                        session_handle: row.get(1)?,
                        revoked_at: rows::millis(row, 2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(records)
        })
        .await
    }

    async fn delete_old_revocations(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.call(move |connection| {
            let removed = connection
                .prepare_cached("DELETE FROM revocations WHERE revoked_at < ?1")?
                .execute([before.as_millis()])?;
            Ok(removed as u64)
        })
        .await
    }
}

#[async_trait]
impl SigningKeyStore for SqliteStore {
    async fn signing_keys(&self, now: Timestamp) -> Result<Vec<StoredSigningKey>, StoreError> {
        self.call(move |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT kid, slot, algorithm, private_key, created_at, expires_at FROM signing_keys \
                 WHERE expires_at IS NULL OR expires_at > ?1 ORDER BY created_at DESC",
            )?;
            let keys = statement
                .query_map([now.as_millis()], key_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(keys)
        })
        .await
    }

    async fn insert_signing_key(&self, key: &StoredSigningKey) -> Result<bool, StoreError> {
        let key = key.clone();
        self.call(move |connection| {
            let inserted = connection
                .prepare_cached(
                    "INSERT INTO signing_keys (kid, slot, algorithm, private_key, created_at, expires_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                )?
                .execute(params![
                    key.kid,
                    key.slot,
                    key.algorithm,
                    key.private_key,
                    key.created_at.as_millis(),
                    key.expires_at.map(Timestamp::as_millis)
                ])?;
            Ok(inserted > 0)
        })
        .await
    }

    async fn delete_expired_signing_keys(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.call(move |connection| {
            let removed = connection
                .prepare_cached(
                    "DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND expires_at <= ?1",
                )?
                .execute([now.as_millis()])?;
            Ok(removed as u64)
        })
        .await
    }
}

#[async_trait]
impl TenantRegistry for SqliteStore {
    async fn put_tenant(&self, tenant: &TenantRecord) -> Result<bool, StoreError> {
        let config = json_text(&Value::Object(tenant.config.clone()))?;
        let row = (tenant.tenant_id.clone(), config, tenant.created_at);
        self.call(move |connection| {
            insert_or_update(
                connection,
                [
                    "INSERT OR IGNORE INTO tenants (tenant_id, config, created_at) VALUES (?1, ?2, ?3)",
                    "UPDATE tenants SET config = ?2 WHERE tenant_id = ?1",
                ],
                row,
            )
        })
        .await
    }

    async fn tenant(&self, tenant_id: &str) -> Result<Option<TenantRecord>, StoreError> {
        let tenant_id = tenant_id.to_owned();
        self.call(move |connection| {
            connection
                .prepare_cached(
                    "SELECT tenant_id, config, created_at FROM tenants WHERE tenant_id = ?1",
                )?
                .query_row([tenant_id], tenant_from_row)
                .optional()
        })
        .await
    }

    async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        self.call(move |connection| {
            connection
                .prepare_cached(
                    "SELECT tenant_id, config, created_at FROM tenants ORDER BY tenant_id",
                )?
                .query_map([], tenant_from_row)?
                .collect()
        })
        .await
    }

    async fn delete_tenant(
        &self,
        tenant_id: &str,
        now: Timestamp,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let tenant_id = tenant_id.to_owned();
        self.call(move |connection| {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existed = tx
                .prepare_cached("DELETE FROM tenants WHERE tenant_id = ?1")?
                .execute([&tenant_id])?
                > 0;
            if !existed {
                return Ok(None);
            }
            let handles = tx
                .prepare_cached("SELECT handle FROM sessions WHERE tenant_id = ?1 ORDER BY handle")?
                .query_map([&tenant_id], |row| row.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            let removed = revoke_sessions(&tx, &handles, now)?;
            tx.commit()?;
            Ok(Some(removed))
        })
        .await
    }

    async fn put_app(&self, app: &AppRecord) -> Result<bool, StoreError> {
        let config = json_text(&Value::Object(app.config.clone()))?;
        let row = (app.app_id.clone(), config, app.created_at);
        self.call(move |connection| {
            insert_or_update(
                connection,
                [
                    "INSERT OR IGNORE INTO apps (app_id, config, created_at) VALUES (?1, ?2, ?3)",
                    "UPDATE apps SET config = ?2 WHERE app_id = ?1",
                ],
                row,
            )
        })
        .await
    }

    async fn apps(&self) -> Result<Vec<AppRecord>, StoreError> {
        self.call(move |connection| {
            connection
                .prepare_cached("SELECT app_id, config, created_at FROM apps ORDER BY app_id")?
                .query_map([], app_from_row)?
                .collect()
        })
        .await
    }

    async fn delete_app(&self, app_id: &str) -> Result<bool, StoreError> {
        let app_id = app_id.to_owned();
        self.call(move |connection| {
            Ok(connection
                .prepare_cached("DELETE FROM apps WHERE app_id = ?1")?
                .execute([app_id])?
                > 0)
        })
        .await
    }
}
