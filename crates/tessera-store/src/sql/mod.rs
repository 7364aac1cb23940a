//! PostgreSQL and MySQL/MariaDB stores, on sqlx. One implementation (the `sqlx_store!` macro)
//! instantiated per dialect: the transactions and rules are the same, only the SQL text differs.
//!
//! A presentation of a refresh token reads the token with its session and the session's version
//! in one statement, decides ([`rotation::plan`](tessera_core::rotation::plan)), and writes the
//! plan in one statement (PostgreSQL) or one batch (MySQL) that first increments the version it
//! read, under the session's row lock: if another change came in between, nothing is written and
//! the presentation is read and decided again. Every change to a session or its tokens
//! increments the version, so presentations of one session are serialised across every process
//! sharing the database, in two round trips. A theft, and a presentation overtaken too often,
//! take the session's row lock for the whole transaction instead (`SELECT … FOR UPDATE`).

#[cfg(feature = "mysql")]
pub(crate) mod mysql;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;

use std::sync::Arc;
use std::time::Duration;

use tessera_core::StoreError;
use tokio::sync::Notify;

/// Word from the database that another process logged a revocation (what
/// `SessionStore::revocation_signal` hands the engine), and the task that listens for it. The task
/// stops with the last clone of the store.
#[derive(Debug)]
pub(crate) struct RevocationListener {
    pub(crate) signal: Arc<Notify>,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

impl Drop for RevocationListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// For databases that cannot push: the follower polls.
#[cfg(feature = "mysql")]
pub(crate) async fn no_listener<DB: sqlx::Database>(
    _: &sqlx::Pool<DB>,
) -> Option<Arc<RevocationListener>> {
    None
}

/// How long a call waits for a pooled connection before reporting the database unavailable.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Maps sqlx's errors onto the store's: connection-level faults are `Unavailable` (worth retrying
/// later), undecodable rows `Corrupt`, the rest `Database`.
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => StoreError::Unavailable(error.to_string()),
        sqlx::Error::Database(database) if is_shutdown(database.code().as_deref()) => {
            StoreError::Unavailable(error.to_string())
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. } => StoreError::Corrupt(error.to_string()),
        _ => StoreError::Database(error.to_string()),
    }
}

/// Server-side codes meaning "the server is going away or not ready", not "your query is wrong":
/// PostgreSQL admin shutdown / crash shutdown / cannot connect now / too many connections, and
/// MySQL's shutdown-in-progress and too-many-connections.
fn is_shutdown(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("57P01" | "57P02" | "57P03" | "53300" | "1053" | "1040" | "08S01")
    )
}

/// How many times a presentation is read and decided again when another change to its session
/// came between its read and its write, before it takes the session's lock instead (which always
/// succeeds: a session refreshed from many tabs at once still makes progress).
pub(crate) const OPTIMISTIC_ATTEMPTS: usize = 4;

/// A pooled connection idle for longer than this is pinged before use; one used more recently is
/// trusted, so a busy server spends no round trip on pings.
pub(crate) const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// How many times a transaction aborted by a deadlock or serialisation failure is run again. The
/// decision inside is a pure function of what the transaction reads, so a rerun is safe.
pub(crate) const CONFLICT_ATTEMPTS: usize = 3;

/// Whether the database aborted the transaction to resolve a conflict (SQLSTATE 40001:
/// serialisation failure, and MySQL's deadlock; 40P01: PostgreSQL's deadlock).
pub(crate) fn is_conflict(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(database) => {
            matches!(database.code().as_deref(), Some("40001" | "40P01"))
        }
        _ => false,
    }
}

/// Runs one transaction attempt, again when the database aborted it to resolve a conflict (the
/// decision inside is a pure function of what the attempt reads, so a rerun is safe).
pub(crate) async fn retry_on_conflict<T, Attempt, Outcome>(
    mut attempt_once: Attempt,
) -> Result<T, StoreError>
where
    Attempt: FnMut() -> Outcome,
    Outcome: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut attempt = 1;
    loop {
        match attempt_once().await {
            Err(error) if is_conflict(&error) && attempt < CONFLICT_ATTEMPTS => attempt += 1,
            result => return result.map_err(store_error),
        }
    }
}

pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str(text).map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

pub(crate) fn encode_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::Corrupt(error.to_string()))
}

/// Generates a store type over one sqlx database from a module of SQL constants.
macro_rules! sqlx_store {
    (
        $(#[$doc:meta])*
        store: $store:ident,
        database: $database:ty,
        pool_options: $pool_options:ty,
        sql: $sql:ident,
        migrator: $migrator:expr,
        listen: $listen:path,
        write_accepted: $write_accepted:path $(,)?
    ) => {
        use async_trait::async_trait;
        use serde_json::{Map, Value};
        use sqlx::Row;
        use tessera_core::rotation::{self, Kill, Write};
        use tessera_core::{
            PresentOutcome, Presentation, RefreshTokenRecord, RevocationRecord, SessionRecord,
            AppRecord, SessionStore, StoreError, StoredSigningKey, TenantRecord, TheftKind,
            TheftQuery, TheftReport, UnixMicros, UnixMillis,
        };

        use super::{decode_json, encode_json, retry_on_conflict, store_error, ACQUIRE_TIMEOUT};

        type Pool = sqlx::Pool<$database>;
        type DbRow = <$database as sqlx::Database>::Row;
        type Transaction = sqlx::Transaction<'static, $database>;

        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $store {
            pool: Pool,
            schema: crate::SchemaVersions,
            revocations_pushed: Option<std::sync::Arc<super::RevocationListener>>,
        }

        impl $store {
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
                let pool = <$pool_options>::new()
                    .max_connections(pool_size.max(1))
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    // No ping before each use (a round trip on every call); only a connection
                    // idle for a while is checked first, as HikariCP does.
                    .test_before_acquire(false)
                    .before_acquire(|connection, meta| {
                        Box::pin(async move {
                            if meta.idle_for > super::PING_IDLE_AFTER {
                                sqlx::Connection::ping(connection).await?;
                            }
                            Ok(true)
                        })
                    })
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
                let migrator = $migrator;
                let expected = migrator.iter().map(|m| m.version).max().unwrap_or(0);
                let found = applied_version(&pool).await?;
                if found > expected
                    || (schema == crate::SchemaPolicy::RequireCurrent && found != expected)
                {
                    return Err(crate::schema::schema_mismatch(found, expected));
                }
                migrator
                    .run(&pool)
                    .await
                    .map_err(|error| StoreError::Migration(error.to_string()))?;
                let revocations_pushed = $listen(&pool).await;
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

            /// Inserts a `(id, config, created_at)` row (tenants, apps) unless its id is taken,
            /// else replaces its config; returns whether it was inserted. `statements` are the
            /// insert-if-absent and the config update.
            async fn insert_or_update(
                &self,
                [insert, update]: [&'static str; 2],
                id: &str,
                config: &str,
                created_at: UnixMillis,
            ) -> Result<bool, StoreError> {
                let mut tx = self.begin().await?;
                let created = sqlx::query(insert)
                    .bind(id)
                    .bind(config)
                    .bind(created_at)
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

        /// What one optimistic attempt at a presentation came to.
        enum Attempt {
            /// Decided and written.
            Done(PresentOutcome),
            /// Another change to the session came between the read and the write: read again.
            Overtaken,
            /// A theft (or a value the optimistic write cannot carry): the locked transaction.
            Locked,
        }

        impl $store {
            /// A presentation in two round trips: the token and its session in one read, the
            /// plan's writes in one guarded write (see [`super::OPTIMISTIC_ATTEMPTS`]).
            async fn try_present_optimistically(
                &self,
                presentation: &Presentation,
            ) -> Result<Attempt, sqlx::Error> {
                // One connection for the read and the write: two round trips, no ping between.
                let mut connection = self.pool.acquire().await?;
                let row = sqlx::query($sql::SELECT_PRESENTED)
                    .bind(&presentation.presented_hash2)
                    .fetch_optional(&mut *connection)
                    .await?;
                // The join finds no row for an unknown token; a token without its session row
                // cannot exist (its foreign key deletes it with the session).
                let Some(row) = row else {
                    return Ok(Attempt::Done(PresentOutcome::UNKNOWN_TOKEN));
                };
                let session = session_from_row(&row)?;
                let presented = presented_token_from_row(&row)?;
                let version: i64 = row.try_get(16)?;
                let plan = rotation::plan(&session, &presented, presentation);
                match &plan {
                    rotation::Plan::Reject { .. } => Ok(Attempt::Done(plan.outcome(&session))),
                    rotation::Plan::Theft { .. } => Ok(Attempt::Locked),
                    rotation::Plan::Accept(acceptance) => {
                        match $write_accepted(&mut connection, &session.handle, version, acceptance)
                            .await?
                        {
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
                    $sql::SELECT_TOKEN_SESSION_FOR_UPDATE,
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
                                presentation.now.div_euclid(1000),
                            )
                            .await?;
                        }
                        Write::MarkDead(kill) => mark_dead(&mut tx, kill).await?,
                        Write::InsertToken(child) => insert_token(&mut tx, child).await?,
                        Write::ExtendSession { handle, expires_at } => {
                            sqlx::query($sql::EXTEND_SESSION)
                                .bind(expires_at)
                                .bind(handle)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                }
                if matches!(plan, rotation::Plan::Accept(_)) {
                    // Optimistic writers of this session must see that it changed.
                    sqlx::query($sql::BUMP_VERSION)
                        .bind(&session.handle)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(plan.outcome(&session))
            }
        }

        fn session_from_row(row: &DbRow) -> Result<SessionRecord, sqlx::Error> {
            Ok(SessionRecord {
                handle: row.try_get(0)?,
                user_id: row.try_get(1)?,
                tenant_id: row.try_get(2)?,
                created_at: row.try_get(3)?,
                expires_at: row.try_get(4)?,
                session_data: decode_json(row.try_get(5)?)?,
                access_token_payload: decode_json(row.try_get(6)?)?,
                use_static_key: row.try_get(7)?,
                device_key: row.try_get(8)?,
            })
        }

        fn token_from_row(row: &DbRow) -> Result<RefreshTokenRecord, sqlx::Error> {
            Ok(RefreshTokenRecord {
                hash2: row.try_get(0)?,
                session_handle: row.try_get(1)?,
                presented_hash2: row.try_get(2)?,
                issued_at: row.try_get(3)?,
                dead_since: row.try_get(4)?,
                anti_csrf_hash: row.try_get(5)?,
                killed_by: row.try_get(6)?,
            })
        }

        fn theft_from_row(row: &DbRow) -> Result<TheftReport, sqlx::Error> {
            let kind: String = row.try_get(6)?;
            Ok(TheftReport {
                id: row.try_get(0)?,
                session_handle: row.try_get(1)?,
                user_id: row.try_get(2)?,
                tenant_id: row.try_get(3)?,
                session_created_at: row.try_get(4)?,
                detected_at: row.try_get(5)?,
                kind: TheftKind::parse(&kind).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unknown theft kind {kind:?}").into())
                })?,
                presented_hash2: row.try_get(7)?,
                dead_since: row.try_get(8)?,
                grace_us: row.try_get(9)?,
                newest_hash2: row.try_get(10)?,
                newest_issued_at: row.try_get(11)?,
                revoked: row.try_get(12)?,
                tokens: decode_json(row.try_get(13)?)?,
            })
        }

        /// Every token row of a session.
        async fn session_tokens<'e, E>(
            executor: E,
            handle: &str,
        ) -> Result<Vec<RefreshTokenRecord>, sqlx::Error>
        where
            E: sqlx::Executor<'e, Database = $database>,
        {
            sqlx::query($sql::SELECT_SESSION_TOKENS)
                .bind(handle)
                .fetch_all(executor)
                .await?
                .iter()
                .map(token_from_row)
                .collect()
        }

        async fn insert_theft(
            tx: &mut Transaction,
            report: &TheftReport,
        ) -> Result<(), sqlx::Error> {
            let tokens = serde_json::to_string(&report.tokens)
                .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
            sqlx::query($sql::INSERT_THEFT)
                .bind(&report.session_handle)
                .bind(&report.user_id)
                .bind(&report.tenant_id)
                .bind(report.session_created_at)
                .bind(report.detected_at)
                .bind(report.kind.as_str())
                .bind(&report.presented_hash2)
                .bind(report.dead_since)
                .bind(report.grace_us)
                .bind(&report.newest_hash2)
                .bind(report.newest_issued_at)
                .bind(report.revoked)
                .bind(tokens)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// The token columns of [`$sql::SELECT_PRESENTED`], after the session's.
        fn presented_token_from_row(row: &DbRow) -> Result<RefreshTokenRecord, sqlx::Error> {
            Ok(RefreshTokenRecord {
                hash2: row.try_get(9)?,
                session_handle: row.try_get(10)?,
                presented_hash2: row.try_get(11)?,
                issued_at: row.try_get(12)?,
                dead_since: row.try_get(13)?,
                anti_csrf_hash: row.try_get(14)?,
                killed_by: row.try_get(15)?,
            })
        }

        fn tenant_from_row(row: &DbRow) -> Result<TenantRecord, sqlx::Error> {
            Ok(TenantRecord {
                tenant_id: row.try_get(0)?,
                config: decode_json(row.try_get(1)?)?,
                created_at: row.try_get(2)?,
            })
        }

        fn key_from_row(row: &DbRow) -> Result<StoredSigningKey, sqlx::Error> {
            Ok(StoredSigningKey {
                kid: row.try_get(0)?,
                slot: row.try_get(1)?,
                algorithm: row.try_get(2)?,
                private_key: row.try_get(3)?,
                created_at: row.try_get(4)?,
                expires_at: row.try_get(5)?,
            })
        }

        /// The newest schema version applied (0 when sqlx's migration table does not exist yet).
        async fn applied_version(pool: &Pool) -> Result<i64, StoreError> {
            let tables: i64 = sqlx::query_scalar($sql::MIGRATIONS_TABLE_EXISTS)
                .fetch_one(pool)
                .await
                .map_err(store_error)?;
            if tables == 0 {
                return Ok(0);
            }
            let version: Option<i64> = sqlx::query_scalar($sql::APPLIED_SCHEMA_VERSION)
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
                .map(session_from_row)
                .transpose()
        }

        /// Reads a token under its session's lock. A locking read returns the newest committed
        /// row even under MySQL's REPEATABLE READ, whose plain reads would see the snapshot taken
        /// at the transaction's first read.
        async fn locked_token(
            tx: &mut Transaction,
            hash2: &str,
        ) -> Result<Option<RefreshTokenRecord>, sqlx::Error> {
            sqlx::query($sql::SELECT_TOKEN_FOR_UPDATE)
                .bind(hash2)
                .fetch_optional(&mut **tx)
                .await?
                .as_ref()
                .map(token_from_row)
                .transpose()
        }

        async fn insert_token(
            tx: &mut Transaction,
            token: &RefreshTokenRecord,
        ) -> Result<(), sqlx::Error> {
            sqlx::query($sql::INSERT_TOKEN)
                .bind(&token.hash2)
                .bind(&token.session_handle)
                .bind(&token.presented_hash2)
                .bind(token.issued_at)
                .bind(token.dead_since)
                .bind(&token.anti_csrf_hash)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// [`Kill::applies_to`] as one statement.
        async fn mark_dead(tx: &mut Transaction, kill: &Kill) -> Result<(), sqlx::Error> {
            sqlx::query($sql::MARK_DEAD)
                .bind(kill.at)
                .bind(&kill.used)
                .bind(&kill.session_handle)
                .bind(&kill.used)
                .bind(kill.minted_before)
                .bind(&kill.parent)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// Deletes sessions and logs each one that existed as revoked at `revoked_at`.
        async fn revoke_in(
            tx: &mut Transaction,
            handles: &[String],
            revoked_at: UnixMillis,
        ) -> Result<Vec<String>, sqlx::Error> {
            let mut removed = Vec::new();
            for handle in handles {
                let result = sqlx::query($sql::DELETE_SESSION)
                    .bind(handle)
                    .execute(&mut **tx)
                    .await?;
                if result.rows_affected() > 0 {
                    sqlx::query($sql::LOG_REVOCATION)
                        .bind(handle)
                        .bind(revoked_at)
                        .execute(&mut **tx)
                        .await?;
                    removed.push(handle.clone());
                }
            }
            // Announced with the transaction: the database delivers it at commit, or never.
            if let (false, Some(announce)) = (removed.is_empty(), $sql::ANNOUNCE_REVOCATIONS) {
                sqlx::query(announce).execute(&mut **tx).await?;
            }
            Ok(removed)
        }

        async fn user_handles<'e, E>(
            executor: E,
            tenant_id: Option<&str>,
            user_id: &str,
            live_at: UnixMillis,
        ) -> Result<Vec<String>, sqlx::Error>
        where
            E: sqlx::Executor<'e, Database = $database>,
        {
            match tenant_id {
                Some(tenant_id) => {
                    sqlx::query_scalar($sql::USER_HANDLES_IN_TENANT)
                        .bind(user_id)
                        .bind(tenant_id)
                        .bind(live_at)
                        .fetch_all(executor)
                        .await
                }
                None => {
                    sqlx::query_scalar($sql::USER_HANDLES)
                        .bind(user_id)
                        .bind(live_at)
                        .fetch_all(executor)
                        .await
                }
            }
        }

        #[async_trait]
        impl SessionStore for $store {
            fn revocation_signal(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
                self.revocations_pushed
                    .as_ref()
                    .map(|listener| std::sync::Arc::clone(&listener.signal))
            }

            async fn create_session(
                &self,
                session: SessionRecord,
                first_token: RefreshTokenRecord,
            ) -> Result<(), StoreError> {
                let data = encode_json(&session.session_data)?;
                let payload = encode_json(&session.access_token_payload)?;
                let mut tx = self.begin().await?;
                sqlx::query($sql::INSERT_SESSION)
                    .bind(&session.handle)
                    .bind(&session.user_id)
                    .bind(&session.tenant_id)
                    .bind(session.created_at)
                    .bind(session.expires_at)
                    .bind(data)
                    .bind(payload)
                    .bind(session.use_static_key)
                    .bind(&session.device_key)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                insert_token(&mut tx, &first_token).await.map_err(store_error)?;
                tx.commit().await.map_err(store_error)
            }

            async fn session(
                &self,
                handle: &str,
                now: UnixMillis,
            ) -> Result<Option<SessionRecord>, StoreError> {
                let row = sqlx::query($sql::SELECT_LIVE_SESSION)
                    .bind(handle)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(store_error)?;
                row.as_ref()
                    .map(session_from_row)
                    .transpose()
                    .map_err(store_error)
            }

            async fn refresh_token(
                &self,
                hash2: &str,
            ) -> Result<Option<RefreshTokenRecord>, StoreError> {
                let row = sqlx::query($sql::SELECT_TOKEN)
                    .bind(hash2)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(store_error)?;
                row.as_ref()
                    .map(token_from_row)
                    .transpose()
                    .map_err(store_error)
            }

            async fn session_tokens(
                &self,
                handle: &str,
            ) -> Result<Vec<RefreshTokenRecord>, StoreError> {
                session_tokens(&self.pool, handle).await.map_err(store_error)
            }

            async fn theft_reports(
                &self,
                query: &TheftQuery,
            ) -> Result<Vec<TheftReport>, StoreError> {
                sqlx::query($sql::SELECT_THEFTS)
                    .bind(&query.user_id)
                    .bind(&query.session_handle)
                    .bind(query.before_id)
                    .bind(i64::from(query.limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?
                    .iter()
                    .map(theft_from_row)
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(store_error)
            }

            async fn delete_old_theft_reports(&self, before: UnixMicros) -> Result<u64, StoreError> {
                Ok(sqlx::query($sql::DELETE_OLD_THEFTS)
                    .bind(before)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?
                    .rows_affected())
            }

            async fn present(
                &self,
                presentation: Presentation,
            ) -> Result<PresentOutcome, StoreError> {
                for _ in 0..super::OPTIMISTIC_ATTEMPTS {
                    match self.try_present_optimistically(&presentation).await {
                        Ok(Attempt::Done(outcome)) => return Ok(outcome),
                        Ok(Attempt::Overtaken) => continue,
                        Ok(Attempt::Locked) => break,
                        // The database undid the write to break a deadlock (MySQL's gap locks
                        // between neighbouring sessions' token rows): nothing was written.
                        Err(error) if super::is_conflict(&error) => continue,
                        Err(error) => return Err(store_error(error)),
                    }
                }
                retry_on_conflict(|| self.try_present(&presentation)).await
            }

            async fn revoke_sessions(
                &self,
                handles: &[String],
                now: UnixMillis,
            ) -> Result<Vec<String>, StoreError> {
                let mut tx = self.begin().await?;
                let removed = revoke_in(&mut tx, handles, now).await.map_err(store_error)?;
                tx.commit().await.map_err(store_error)?;
                Ok(removed)
            }

            async fn session_handles(
                &self,
                after: &str,
                limit: u32,
            ) -> Result<Vec<String>, StoreError> {
                sqlx::query_scalar($sql::SESSION_HANDLES)
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)
            }

            async fn revoke_sessions_for_user(
                &self,
                tenant_id: Option<&str>,
                user_id: &str,
                now: UnixMillis,
            ) -> Result<Vec<String>, StoreError> {
                let mut tx = self.begin().await?;
                let handles = user_handles(&mut *tx, tenant_id, user_id, UnixMillis::MIN)
                    .await
                    .map_err(store_error)?;
                let removed = revoke_in(&mut tx, &handles, now).await.map_err(store_error)?;
                tx.commit().await.map_err(store_error)?;
                Ok(removed)
            }

            async fn revocations(
                &self,
                after: i64,
                since: UnixMillis,
                limit: u32,
            ) -> Result<Vec<RevocationRecord>, StoreError> {
                let rows = sqlx::query($sql::REVOCATIONS)
                    .bind(after)
                    .bind(since)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                rows.iter()
                    .map(|row| {
                        Ok(RevocationRecord {
                            seq: row.try_get(0)?,
                            session_handle: row.try_get(1)?,
                            revoked_at: row.try_get(2)?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(store_error)
            }

            async fn delete_old_revocations(&self, before: UnixMillis) -> Result<u64, StoreError> {
                let result = sqlx::query($sql::DELETE_OLD_REVOCATIONS)
                    .bind(before)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                Ok(result.rows_affected())
            }

            async fn session_handles_for_user(
                &self,
                tenant_id: Option<&str>,
                user_id: &str,
                now: UnixMillis,
            ) -> Result<Vec<String>, StoreError> {
                user_handles(&self.pool, tenant_id, user_id, now)
                    .await
                    .map_err(store_error)
            }

            async fn bind_device(
                &self,
                handle: &str,
                device_key: &str,
                now: UnixMillis,
            ) -> Result<bool, StoreError> {
                let result = sqlx::query($sql::BIND_DEVICE)
                    .bind(device_key)
                    .bind(handle)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                Ok(result.rows_affected() > 0)
            }

            async fn update_session_data(
                &self,
                handle: &str,
                data: &Value,
                now: UnixMillis,
            ) -> Result<bool, StoreError> {
                let result = sqlx::query($sql::UPDATE_SESSION_DATA)
                    .bind(encode_json(data)?)
                    .bind(handle)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                Ok(result.rows_affected() > 0)
            }

            async fn update_access_token_payload(
                &self,
                handle: &str,
                payload: &Map<String, Value>,
                now: UnixMillis,
            ) -> Result<bool, StoreError> {
                let result = sqlx::query($sql::UPDATE_PAYLOAD)
                    .bind(encode_json(payload)?)
                    .bind(handle)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                Ok(result.rows_affected() > 0)
            }

            async fn delete_expired_sessions(&self, now: UnixMillis) -> Result<u64, StoreError> {
                let result = sqlx::query($sql::DELETE_EXPIRED_SESSIONS)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                Ok(result.rows_affected())
            }

            async fn signing_keys(
                &self,
                now: UnixMillis,
            ) -> Result<Vec<StoredSigningKey>, StoreError> {
                let rows = sqlx::query($sql::SIGNING_KEYS)
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                rows.iter()
                    .map(key_from_row)
                    .collect::<Result<_, _>>()
                    .map_err(store_error)
            }

            async fn insert_signing_key(&self, key: &StoredSigningKey) -> Result<bool, StoreError> {
                let result = sqlx::query($sql::INSERT_SIGNING_KEY)
                    .bind(&key.kid)
                    .bind(&key.slot)
                    .bind(&key.algorithm)
                    .bind(&key.private_key)
                    .bind(key.created_at)
                    .bind(key.expires_at)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                Ok(result.rows_affected() > 0)
            }

            async fn delete_expired_signing_keys(
                &self,
                now: UnixMillis,
            ) -> Result<u64, StoreError> {
                let result = sqlx::query($sql::DELETE_EXPIRED_SIGNING_KEYS)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                Ok(result.rows_affected())
            }

            async fn put_tenant(&self, tenant: &TenantRecord) -> Result<bool, StoreError> {
                let config = encode_json(&tenant.config)?;
                self.insert_or_update(
                    [$sql::INSERT_TENANT, $sql::UPDATE_TENANT],
                    &tenant.tenant_id,
                    &config,
                    tenant.created_at,
                )
                .await
            }

            async fn tenant(&self, tenant_id: &str) -> Result<Option<TenantRecord>, StoreError> {
                let row = sqlx::query($sql::SELECT_TENANT)
                    .bind(tenant_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(store_error)?;
                row.as_ref()
                    .map(tenant_from_row)
                    .transpose()
                    .map_err(store_error)
            }

            async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
                let rows = sqlx::query($sql::SELECT_TENANTS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                rows.iter()
                    .map(tenant_from_row)
                    .collect::<Result<_, _>>()
                    .map_err(store_error)
            }

            async fn delete_tenant(
                &self,
                tenant_id: &str,
                now: UnixMillis,
            ) -> Result<Option<Vec<String>>, StoreError> {
                let mut tx = self.begin().await?;
                let existed = sqlx::query($sql::DELETE_TENANT)
                    .bind(tenant_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?
                    .rows_affected()
                    > 0;
                if !existed {
                    return Ok(None);
                }
                let handles: Vec<String> = sqlx::query_scalar($sql::TENANT_HANDLES)
                    .bind(tenant_id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(store_error)?;
                let removed = revoke_in(&mut tx, &handles, now).await.map_err(store_error)?;
                tx.commit().await.map_err(store_error)?;
                Ok(Some(removed))
            }

            async fn put_app(&self, app: &AppRecord) -> Result<bool, StoreError> {
                let config = encode_json(&app.config)?;
                self.insert_or_update(
                    [$sql::INSERT_APP, $sql::UPDATE_APP],
                    &app.app_id,
                    &config,
                    app.created_at,
                )
                .await
            }

            async fn apps(&self) -> Result<Vec<AppRecord>, StoreError> {
                let rows = sqlx::query($sql::SELECT_APPS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                rows.iter()
                    .map(|row| {
                        Ok(AppRecord {
                            app_id: row.try_get(0)?,
                            config: decode_json(row.try_get(1)?)?,
                            created_at: row.try_get(2)?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(store_error)
            }

            async fn delete_app(&self, app_id: &str) -> Result<bool, StoreError> {
                let result = sqlx::query($sql::DELETE_APP)
                    .bind(app_id)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                Ok(result.rows_affected() > 0)
            }
        }
    };
}

pub(crate) use sqlx_store;
