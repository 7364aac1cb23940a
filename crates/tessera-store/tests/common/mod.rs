//! Shared test harness: an engine over a store, with a clock the test moves.
#![allow(dead_code)]

pub mod suite;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tessera_core::{
    Clock, ManualClock, ObservedStore, SessionConfig, SessionStore, Sessions, Timestamp,
};

/// 2026-01-01T00:00:00Z, far from any rotation-slot boundary of the default interval.
pub const START: Timestamp = Timestamp::from_millis(1_767_225_600_000 + 3_600_000);

/// An engine, its store (counting calls) and its clock.
pub struct Harness {
    pub sessions: Sessions,
    /// The store as the engine sees it: calls through it are counted.
    pub store: Arc<dyn SessionStore>,
    pub clock: Arc<ManualClock>,
    counts: Arc<Counts>,
}

/// Store calls made through a harness.
#[derive(Default)]
struct Counts {
    /// Every kind except reads of the revocation log (a follower makes those on a timer).
    calls: AtomicU64,
    revocation_reads: AtomicU64,
}

impl Harness {
    pub fn new(store: Arc<dyn SessionStore>, config: SessionConfig) -> Self {
        let clock = Arc::new(ManualClock::new(START));
        let counts = Arc::new(Counts::default());
        let counted = Arc::clone(&counts);
        let store: Arc<dyn SessionStore> = Arc::new(ObservedStore::new(store, move |operation| {
            let counter = match operation {
                "revocations" => &counted.revocation_reads,
                _ => &counted.calls,
            };
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        let sessions = Sessions::with_clock(
            Arc::clone(&store),
            config,
            Arc::clone(&clock) as Arc<dyn Clock>,
        );
        Self {
            sessions,
            store,
            clock,
            counts,
        }
    }

    /// A second engine (as another server process would be) over the same store and clock.
    pub fn sibling(&self, config: SessionConfig) -> Sessions {
        Sessions::with_clock(
            Arc::clone(&self.store),
            config,
            Arc::clone(&self.clock) as Arc<dyn Clock>,
        )
    }

    /// Store calls of every kind except reads of the revocation log, so far.
    pub fn calls(&self) -> u64 {
        self.counts.calls.load(Ordering::SeqCst)
    }

    /// Reads of the revocation log so far.
    pub fn revocation_reads(&self) -> u64 {
        self.counts.revocation_reads.load(Ordering::SeqCst)
    }
}

/// A fresh SQLite file in its own temporary directory (kept alive by the returned guard).
pub async fn sqlite_store() -> (Arc<dyn SessionStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = tessera_store::SqliteStore::open(dir.path().join("tessera.db"))
        .await
        .expect("open SQLite store");
    (Arc::new(store), dir)
}

/// Keeps a per-test database or schema alive; drops it when the test ends.
pub struct Scratch {
    name: String,
    drop_sql: String,
    admin_url: String,
}

impl Scratch {
    /// The schema or database name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let (sql, url) = (self.drop_sql.clone(), self.admin_url.clone());
        // Drop runs inside the test's runtime, which cannot block on another: use a thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                use sqlx::Executor;
                if url.starts_with("postgres") {
                    if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                        let _ = pool.execute(sqlx::AssertSqlSafe(sql)).await;
                    }
                } else if let Ok(pool) = sqlx::MySqlPool::connect(&url).await {
                    let _ = pool.execute(sqlx::AssertSqlSafe(sql)).await;
                }
            });
        })
        .join();
    }
}

/// Says once per test binary, on the real stderr (libtest captures `eprintln!`), that a store's
/// tests were skipped and why. With `TESSERA_REQUIRE_DATABASES` set (CI), skipping is a failure.
pub fn skip(store: &str, variable: &str) {
    use std::io::Write;
    use std::sync::Mutex;
    static SAID: Mutex<Vec<String>> = Mutex::new(Vec::new());
    if std::env::var_os("TESSERA_REQUIRE_DATABASES").is_some() {
        panic!("{variable} is not set, and TESSERA_REQUIRE_DATABASES forbids skipping the {store} tests");
    }
    let mut said = SAID
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !said.iter().any(|s| s == store) {
        said.push(store.to_owned());
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: the {store} tests in this binary did not run: {variable} is not set"
        );
    }
}

fn scratch_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "tessera_t{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default()
    )
}

/// A PostgreSQL store in a schema of its own, or `None` (after saying so) without a database.
#[cfg(feature = "postgres")]
pub async fn postgres_store() -> Option<(Arc<dyn SessionStore>, Scratch)> {
    let (store, scratch) = postgres_store_typed().await?;
    Some((Arc::new(store), scratch))
}

#[cfg(feature = "postgres")]
pub async fn postgres_store_typed() -> Option<(tessera_store::PostgresStore, Scratch)> {
    let url = postgres_url()?;
    let schema = scratch_name();
    let store_url = postgres_schema_url(&url, &schema).await;
    let store = tessera_store::PostgresStore::connect(&store_url, 4)
        .await
        .expect("connect to PostgreSQL");
    Some((
        store,
        Scratch {
            drop_sql: format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
            name: schema,
            admin_url: url,
        },
    ))
}

#[cfg(feature = "postgres")]
pub fn postgres_url() -> Option<String> {
    match std::env::var("TESSERA_TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            skip("PostgreSQL", "TESSERA_TEST_POSTGRES_URL");
            None
        }
    }
}

/// `url` with its connections' `search_path` set to `schema`.
#[cfg(feature = "postgres")]
pub fn postgres_url_in_schema(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

/// `url` with its host and port replaced by `127.0.0.1:port` (a proxy's); and the replaced
/// `host:port`.
pub fn through_proxy(url: &str, port: u16) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (credentials, host_port) = match authority.rsplit_once('@') {
        Some((credentials, host_port)) => (format!("{credentials}@"), host_port),
        None => (String::new(), authority),
    };
    (
        format!("{scheme}://{credentials}127.0.0.1:{port}/{path}"),
        host_port.to_owned(),
    )
}

/// Creates `schema` and returns a URL whose connections use it.
#[cfg(feature = "postgres")]
pub async fn postgres_schema_url(url: &str, schema: &str) -> String {
    use sqlx::Executor;
    let admin = sqlx::PgPool::connect(url)
        .await
        .expect("connect to PostgreSQL");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await
        .expect("create schema");
    admin.close().await;
    postgres_url_in_schema(url, schema)
}

/// A MySQL/MariaDB store in a database of its own, or `None` (after saying so) without one.
#[cfg(feature = "mysql")]
pub async fn mysql_store() -> Option<(Arc<dyn SessionStore>, Scratch)> {
    let (store, scratch) = mysql_store_typed().await?;
    Some((Arc::new(store), scratch))
}

#[cfg(feature = "mysql")]
pub async fn mysql_store_typed() -> Option<(tessera_store::MySqlStore, Scratch)> {
    let url = mysql_url()?;
    let database = scratch_name();
    let store_url = mysql_database_url(&url, &database).await;
    let store = tessera_store::MySqlStore::connect(&store_url, 4)
        .await
        .expect("connect to MySQL");
    Some((
        store,
        Scratch {
            drop_sql: format!("DROP DATABASE IF EXISTS {database}"),
            name: database,
            admin_url: url,
        },
    ))
}

#[cfg(feature = "mysql")]
pub fn mysql_url() -> Option<String> {
    match std::env::var("TESSERA_TEST_MYSQL_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            skip("MySQL", "TESSERA_TEST_MYSQL_URL");
            None
        }
    }
}

/// Creates `database` and returns a URL that connects to it.
#[cfg(feature = "mysql")]
pub async fn mysql_database_url(url: &str, database: &str) -> String {
    use sqlx::Executor;
    let admin = sqlx::MySqlPool::connect(url)
        .await
        .expect("connect to MySQL");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .await
        .expect("create database");
    admin.close().await;
    mysql_url_for(url, database)
}

/// `url` with its database replaced by `database`.
#[cfg(feature = "mysql")]
pub fn mysql_url_for(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let server = match base.rsplit_once('/') {
        Some((server, _)) if server.contains("://") && server.len() > "mysql://".len() => server,
        _ => base,
    };
    format!("{server}/{database}{query}")
}

/// A session's tokens: hash2 → the token presented to obtain it.
pub type Lineage = std::collections::HashMap<String, Option<String>>;

/// Asserts that a session's tokens form one tree: exactly one first token, and every other token
/// was obtained by presenting a token of the same session.
pub fn assert_one_tree(lineage: &Lineage) {
    let roots = lineage.values().filter(|parent| parent.is_none()).count();
    assert_eq!(roots, 1, "a session has exactly one first token");
    for (token, parent) in lineage {
        if let Some(parent) = parent {
            assert!(
                lineage.contains_key(parent),
                "token {token} hangs off {parent}, which is not a token of the session"
            );
        }
    }
}
