//! Several OS processes over one PostgreSQL or MySQL database (the test binary re-runs itself as
//! the child processes; `child_entry` does nothing unless `TESSERA_CHILD_MODE` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly
#![cfg(any(feature = "postgres", feature = "mysql"))]

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;

use sqlx::Executor;
use tessera_core::{
    AccessToken, Clock, ManualClock, NewSession, RefreshToken, SessionConfig, Sessions,
    SystemClock, Timestamp, VerifyOptions,
};

const PROCESSES: usize = 2;
const TASKS_PER_PROCESS: usize = 4;
const REFRESHES_PER_TASK: usize = 25;

/// The shared cookie jar: one row in the test's own schema or database.
#[derive(Clone)]
enum Jar {
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

impl Jar {
    async fn connect(url: &str) -> Self {
        if url.starts_with("postgres") {
            Self::Postgres(sqlx::PgPool::connect(url).await.unwrap())
        } else {
            Self::MySql(sqlx::MySqlPool::connect(url).await.unwrap())
        }
    }

    async fn create(&self, token: &str) {
        match self {
            Self::Postgres(pool) => {
                pool.execute("CREATE TABLE test_jar (id INT PRIMARY KEY, token TEXT NOT NULL)")
                    .await
                    .unwrap();
                sqlx::query("INSERT INTO test_jar VALUES (1, $1)")
                    .bind(token)
                    .execute(pool)
                    .await
                    .unwrap();
            }
            Self::MySql(pool) => {
                pool.execute("CREATE TABLE test_jar (id INT PRIMARY KEY, token TEXT NOT NULL)")
                    .await
                    .unwrap();
                sqlx::query("INSERT INTO test_jar VALUES (1, ?)")
                    .bind(token)
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
    }

    async fn get(&self) -> String {
        match self {
            Self::Postgres(pool) => sqlx::query_scalar("SELECT token FROM test_jar WHERE id = 1")
                .fetch_one(pool)
                .await
                .unwrap(),
            Self::MySql(pool) => sqlx::query_scalar("SELECT token FROM test_jar WHERE id = 1")
                .fetch_one(pool)
                .await
                .unwrap(),
        }
    }

    async fn set(&self, token: &str) {
        match self {
            Self::Postgres(pool) => {
                sqlx::query("UPDATE test_jar SET token = $1 WHERE id = 1")
                    .bind(token)
                    .execute(pool)
                    .await
                    .unwrap();
            }
            Self::MySql(pool) => {
                sqlx::query("UPDATE test_jar SET token = ? WHERE id = 1")
                    .bind(token)
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
    }

    /// (hash2, presented_hash2) of the session's tokens, and its total token count.
    async fn lineage(&self, handle: &str) -> (common::Lineage, i64) {
        let sql_committed =
            "SELECT hash2, presented_hash2 FROM refresh_tokens WHERE session_handle = {}";
        let sql_count = "SELECT COUNT(*) FROM refresh_tokens WHERE session_handle = {}";
        match self {
            Self::Postgres(pool) => {
                let rows: Vec<(String, Option<String>)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql_committed.replace("{}", "$1")))
                        .bind(handle)
                        .fetch_all(pool)
                        .await
                        .unwrap();
                let count: i64 =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(sql_count.replace("{}", "$1")))
                        .bind(handle)
                        .fetch_one(pool)
                        .await
                        .unwrap();
                (rows.into_iter().collect(), count)
            }
            Self::MySql(pool) => {
                let rows: Vec<(String, Option<String>)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql_committed.replace("{}", "?")))
                        .bind(handle)
                        .fetch_all(pool)
                        .await
                        .unwrap();
                let count: i64 =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(sql_count.replace("{}", "?")))
                        .bind(handle)
                        .fetch_one(pool)
                        .await
                        .unwrap();
                (rows.into_iter().collect(), count)
            }
        }
    }
}

async fn open(url: &str, clock: Arc<dyn Clock>) -> Sessions {
    let store = tessera_store::open(&tessera_store::StoreConfig::from_url(url, 8))
        .await
        .unwrap();
    Sessions::with_clock(store, SessionConfig::default(), clock)
}

fn child(mode: &str, url: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env("TESSERA_CHILD_MODE", mode)
        .env("TESSERA_CHILD_URL", url)
        .env_remove("TESSERA_REQUIRE_DATABASES")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn child_entry() {
    let Ok(mode) = std::env::var("TESSERA_CHILD_MODE") else {
        return;
    };
    let url = std::env::var("TESSERA_CHILD_URL").unwrap();
    match mode.as_str() {
        "hammer" => {
            let sessions = open(&url, Arc::new(SystemClock)).await;
            let jar = Jar::connect(&url).await;
            let tasks: Vec<_> = (0..TASKS_PER_PROCESS)
                .map(|_| {
                    let (sessions, jar) = (sessions.clone(), jar.clone());
                    tokio::spawn(async move {
                        for round in 0..REFRESHES_PER_TASK {
                            let token = RefreshToken::new(jar.get().await);
                            let tokens = sessions
                                .refresh_session(&token, None)
                                .await
                                .map_err(|e| format!("refresh: {e:?}"))?;
                            jar.set(tokens.refresh_token.token.expose()).await;
                            if round % 5 == 0 {
                                let strict = VerifyOptions {
                                    check_database: true,
                                    ..VerifyOptions::default()
                                };
                                sessions
                                    .get_session(&tokens.access_token.token, None, strict)
                                    .await
                                    .map_err(|e| format!("verify: {e:?}"))?;
                            }
                        }
                        Ok::<(), String>(())
                    })
                })
                .collect();
            for task in tasks {
                if let Err(error) = task.await.unwrap() {
                    println!("ERROR {error}");
                    std::process::exit(1);
                }
            }
            println!("DONE");
        }
        "create-at" => {
            let now: i64 = std::env::var("TESSERA_CHILD_NOW").unwrap().parse().unwrap();
            let sessions = open(
                &url,
                Arc::new(ManualClock::new(Timestamp::from_millis(now))),
            )
            .await;
            let created = sessions
                .create_new_session(NewSession::new("racer"))
                .await
                .unwrap();
            println!("TOKEN {}", created.access_token.token.expose());
        }
        other => panic!("unknown child mode {other}"),
    }
}

async fn scratch_urls() -> Vec<(String, common::Scratch)> {
    let mut urls = Vec::new();
    #[cfg(feature = "postgres")]
    if let Some(url) = common::postgres_url() {
        let (_, scratch) = common::postgres_store_typed().await.unwrap();
        // The store made the schema; rebuild its URL for the children.
        urls.push((
            common::postgres_url_in_schema(&url, scratch.name()),
            scratch,
        ));
    }
    #[cfg(feature = "mysql")]
    if let Some(url) = common::mysql_url() {
        let (_, scratch) = common::mysql_store_typed().await.unwrap();
        let database = scratch.name().to_owned();
        urls.push((common::mysql_url_for(&url, &database), scratch));
    }
    urls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_refreshing_one_session() {
    for (url, _scratch) in scratch_urls().await {
        let sessions = open(&url, Arc::new(SystemClock)).await;
        let created = sessions
            .create_new_session(NewSession::new("shared"))
            .await
            .unwrap();
        let jar = Jar::connect(&url).await;
        jar.create(created.refresh_token.token.expose()).await;

        let children: Vec<_> = (0..PROCESSES)
            .map(|_| child("hammer", &url).spawn().unwrap())
            .collect();
        for process in children {
            let output = process.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success() && stdout.contains("DONE"),
                "a process was refused or failed on {url}:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }

        let (lineage, rows) = jar.lineage(&created.session.handle).await;
        let refreshes = PROCESSES * TASKS_PER_PROCESS * REFRESHES_PER_TASK;
        assert_eq!(
            rows as usize,
            1 + refreshes,
            "lost or duplicated refresh on {url}"
        );
        common::assert_one_tree(&lineage);
        // The jar's final token still works.
        sessions
            .refresh_session(&RefreshToken::new(jar.get().await), None)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_due_for_rotation_create_one_key() {
    for (url, _scratch) in scratch_urls().await {
        let now = common::START;
        let children: Vec<_> = (0..PROCESSES)
            .map(|_| {
                child("create-at", &url)
                    .env("TESSERA_CHILD_NOW", now.as_millis().to_string())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut tokens = Vec::new();
        for process in children {
            let output = process.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let stdout = String::from_utf8(output.stdout).unwrap();
            let token = stdout
                .lines()
                .find_map(|line| line.split_once("TOKEN ").map(|(_, token)| token.to_owned()))
                .expect("the child printed its access token");
            tokens.push(AccessToken::new(token));
        }
        let verifier = open(&url, Arc::new(ManualClock::new(now))).await;
        let keys = verifier.store().signing_keys(now).await.unwrap();
        assert_eq!(keys.len(), 1, "{url}: {keys:?}");
        for token in &tokens {
            verifier
                .get_session(token, None, VerifyOptions::default())
                .await
                .expect("token signed by the one stored key");
        }
    }
}

/// PostgreSQL tells the other servers of a revocation as it commits: their store's signal fires,
/// so their followers read the log at once rather than at the next poll.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_announces_revocations_to_the_other_servers() {
    use tessera_core::RevocationLog;
    let Some(url) = common::postgres_url() else {
        return;
    };
    let (first, scratch) = common::postgres_store_typed().await.unwrap();
    let schema_url = common::postgres_url_in_schema(&url, scratch.name());
    let second = tessera_store::PostgresStore::connect(&schema_url, 2)
        .await
        .unwrap();
    let told = second
        .revocation_signal()
        .expect("PostgreSQL announces revocations");
    let sessions = Sessions::new(first, SessionConfig::default());
    let created = sessions
        .create_new_session(NewSession::new("ann"))
        .await
        .unwrap();
    assert!(sessions
        .revoke_session(&created.session.handle)
        .await
        .unwrap());
    tokio::time::timeout(std::time::Duration::from_secs(5), told.notified())
        .await
        .expect("the other server was not told of the revocation");
}
