//! What the two sqlx stores (PostgreSQL, MySQL/MariaDB) share: their pools, error mapping, retries,
//! the row mappings of the columns they read alike, and the shape of a presentation.
//!
//! A presentation of a refresh token reads the token with its session and the session's version
//! in one statement, decides ([`rotation::plan`](tessera_core::rotation::plan)), and writes the
//! plan in one statement (PostgreSQL) or one batch (MySQL) that first increments the version it
//! read, under the session's row lock: if another change came in between, nothing is written and
//! the presentation is read and decided again. Every change to a session or its tokens
//! increments the version, so presentations of one session are serialised across every process
//! sharing the database, in two round trips. A theft, and a presentation overtaken too often,
//! take the session's row lock for the whole transaction instead (`SELECT … FOR UPDATE`).

pub(crate) mod rows;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tessera_core::{PresentOutcome, StoreError};
use tokio::sync::Notify;

/// Word from the database that another process logged a revocation (what
/// `RevocationLog::revocation_signal` hands the engine), and the task that listens for it. The task
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
pub(crate) async fn retry_on_conflict<T, Run, Outcome>(
    mut attempt_once: Run,
) -> Result<T, StoreError>
where
    Run: FnMut() -> Outcome,
    Outcome: Future<Output = Result<T, sqlx::Error>>,
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

/// The pool options both stores connect with: `pool_size` connections (at least one), a bounded
/// wait for one, and no ping before each use (a round trip on every call): only a connection idle
/// for a while is checked first, as HikariCP does.
pub(crate) fn pool_options<Database: sqlx::Database>(
    pool_size: u32,
) -> sqlx::pool::PoolOptions<Database> {
    sqlx::pool::PoolOptions::new()
        .max_connections(pool_size.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IDLE_AFTER {
                    sqlx::Connection::ping(connection).await?;
                }
                Ok(true)
            })
        })
}

/// What one optimistic attempt at a presentation came to.
pub(crate) enum Attempt {
    /// Decided and written.
    Done(PresentOutcome),
    /// Another change to the session came between the read and the write: read again.
    Overtaken,
    /// A theft (or a value the optimistic write cannot carry): the locked transaction.
    Locked,
}

/// A presentation: optimistic attempts (read, decide, guarded write) while they are overtaken,
/// up to [`OPTIMISTIC_ATTEMPTS`], then the locked transaction, which always decides.
pub(crate) async fn present<Optimistic, OptimisticOutcome, Locked, LockedOutcome>(
    mut optimistic: Optimistic,
    locked: Locked,
) -> Result<PresentOutcome, StoreError>
where
    Optimistic: FnMut() -> OptimisticOutcome,
    OptimisticOutcome: Future<Output = Result<Attempt, sqlx::Error>>,
    Locked: FnMut() -> LockedOutcome,
    LockedOutcome: Future<Output = Result<PresentOutcome, sqlx::Error>>,
{
    for _ in 0..OPTIMISTIC_ATTEMPTS {
        match optimistic().await {
            Ok(Attempt::Done(outcome)) => return Ok(outcome),
            Ok(Attempt::Overtaken) => continue,
            Ok(Attempt::Locked) => break,
            // The database undid the write to break a deadlock (MySQL's gap locks between
            // neighbouring sessions' token rows): nothing was written.
            Err(error) if is_conflict(&error) => continue,
            Err(error) => return Err(store_error(error)),
        }
    }
    retry_on_conflict(locked).await
}
