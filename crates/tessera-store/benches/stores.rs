//! Refresh throughput per store with one and two processes, and refresh latency on an empty store
//! against one holding 1 000 000 sessions. Ed25519 signing keeps the store's share of the cost
//! visible (RS256 signing alone is ~500 µs).
//!
//! Run: `cargo bench -p tessera-store --all-features --bench stores`
//! with `TESSERA_TEST_POSTGRES_URL` / `TESSERA_TEST_MYSQL_URL` set for those stores.
//! `TESSERA_BENCH_SESSIONS` (default 1 000 000) sets the size of the full store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use sqlx::Executor;
use tessera_core::{NewSession, SessionConfig, Sessions, SigningAlgorithm, SystemClock};

const TASKS: usize = 8;
const REFRESHES_PER_TASK: usize = 250;
const LATENCY_SAMPLES: usize = 2_000;

fn config() -> SessionConfig {
    SessionConfig {
        signing_algorithm: SigningAlgorithm::EdDsa,
        ..SessionConfig::default()
    }
}

async fn engine(url: &str) -> Sessions {
    let store = tessera_store::open(&tessera_store::StoreConfig::from_url(url, 16))
        .await
        .expect("open store");
    Sessions::with_clock(store, config(), Arc::new(SystemClock))
}

/// Refreshes per second of `TASKS` concurrent clients, each refreshing its own session.
async fn throughput(sessions: &Sessions) -> (usize, f64) {
    let mut starts = Vec::new();
    for _ in 0..TASKS {
        let created = sessions
            .create_new_session(NewSession::new("bench"))
            .await
            .expect("create");
        starts.push(created.refresh_token.token);
    }
    let began = Instant::now();
    let tasks: Vec<_> = starts
        .into_iter()
        .map(|mut token| {
            let sessions = sessions.clone();
            tokio::spawn(async move {
                for _ in 0..REFRESHES_PER_TASK {
                    token = sessions
                        .refresh_session(&token, None)
                        .await
                        .expect("refresh")
                        .refresh_token
                        .token;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    (TASKS * REFRESHES_PER_TASK, began.elapsed().as_secs_f64())
}

/// p50 and p99 of sequential refreshes of one session, in microseconds.
async fn latency(sessions: &Sessions) -> (f64, f64) {
    let mut token = sessions
        .create_new_session(NewSession::new("latency"))
        .await
        .expect("create")
        .refresh_token
        .token;
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for round in 0..LATENCY_SAMPLES + 200 {
        let began = Instant::now();
        token = sessions
            .refresh_session(&token, None)
            .await
            .expect("refresh")
            .refresh_token
            .token;
        if round >= 200 {
            samples.push(began.elapsed().as_secs_f64() * 1e6);
        }
    }
    samples.sort_by(f64::total_cmp);
    (
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100],
    )
}

/// Throughput of two OS processes refreshing at once (this binary re-run as children).
fn two_processes(url: &str) -> f64 {
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(std::env::current_exe().expect("exe"))
                .env("TESSERA_BENCH_CHILD", url)
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let began = Instant::now();
    let mut refreshes = 0;
    for child in children {
        let output = child.wait_with_output().expect("child");
        let text = String::from_utf8_lossy(&output.stdout);
        refreshes += text
            .lines()
            .find_map(|l| l.strip_prefix("REFRESHES "))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .expect("child reported its refreshes");
    }
    refreshes as f64 / began.elapsed().as_secs_f64()
}

/// Fills the store with `count` sessions and one token each, in the database's own bulk form
/// (naming the columns, so the bulk rows outlive schema changes that add one).
async fn fill(url: &str, count: u64) {
    const CHUNK: u64 = 100_000;
    let began = Instant::now();
    for start in (0..count).step_by(CHUNK as usize) {
        let end = (start + CHUNK).min(count);
        let statements: Vec<String> = if url.starts_with("postgres") {
            vec![
                format!("INSERT INTO sessions (handle, user_id, tenant_id, created_at, expires_at, session_data, access_token_payload, use_static_key) SELECT 'bulk-' || x, 'bulk-user-' || (x % 100000), 'public', 0, 9000000000000000, '{{}}', '{{}}', false FROM generate_series({}, {end}) AS x", start + 1),
                format!("INSERT INTO refresh_tokens (hash2, session_handle, presented_hash2, issued_at) SELECT lpad(to_hex(x), 64, '0'), 'bulk-' || x, NULL, 0 FROM generate_series({}, {end}) AS x", start + 1),
            ]
        } else if url.starts_with("mysql") {
            vec![
                format!("INSERT INTO sessions (handle, user_id, tenant_id, created_at, expires_at, session_data, access_token_payload, use_static_key) SELECT CONCAT('bulk-', seq), CONCAT('bulk-user-', seq % 100000), 'public', 0, 9000000000000000, '{{}}', '{{}}', 0 FROM seq_{}_to_{end}", start + 1),
                format!("INSERT INTO refresh_tokens (hash2, session_handle, presented_hash2, issued_at) SELECT LPAD(HEX(seq), 64, '0'), CONCAT('bulk-', seq), NULL, 0 FROM seq_{}_to_{end}", start + 1),
            ]
        } else {
            vec![
                format!("WITH RECURSIVE c(x) AS (SELECT {} UNION ALL SELECT x + 1 FROM c WHERE x < {end}) INSERT INTO sessions (handle, user_id, tenant_id, created_at, expires_at, session_data, access_token_payload, use_static_key) SELECT 'bulk-' || x, 'bulk-user-' || (x % 100000), 'public', 0, 9000000000000000, '{{}}', '{{}}', 0 FROM c", start + 1),
                format!("WITH RECURSIVE c(x) AS (SELECT {} UNION ALL SELECT x + 1 FROM c WHERE x < {end}) INSERT INTO refresh_tokens (hash2, session_handle, presented_hash2, issued_at) SELECT printf('%064x', x), 'bulk-' || x, NULL, 0 FROM c", start + 1),
            ]
        };
        for statement in statements {
            if url.starts_with("postgres") {
                let pool = sqlx::PgPool::connect(url).await.expect("connect");
                pool.execute(sqlx::AssertSqlSafe(statement))
                    .await
                    .expect("bulk insert");
            } else if url.starts_with("mysql") {
                let pool = sqlx::MySqlPool::connect(url).await.expect("connect");
                pool.execute(sqlx::AssertSqlSafe(statement))
                    .await
                    .expect("bulk insert");
            } else {
                let path = url.trim_start_matches("sqlite://");
                let db = rusqlite::Connection::open(path).expect("open");
                db.execute_batch(&statement).expect("bulk insert");
            }
        }
    }
    // Measure a steady state, not the aftermath of a bulk load: write out the load's dirty pages
    // and refresh the planner's statistics before the second latency run.
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        pool.execute("VACUUM ANALYZE").await.expect("vacuum");
        pool.execute("CHECKPOINT").await.expect("checkpoint");
    } else if url.starts_with("mysql") {
        let pool = sqlx::MySqlPool::connect(url).await.expect("connect");
        pool.execute("ANALYZE TABLE sessions, refresh_tokens")
            .await
            .expect("analyze");
    } else {
        let path = url.trim_start_matches("sqlite://");
        let db = rusqlite::Connection::open(path).expect("open");
        db.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")
            .expect("checkpoint");
    }
    eprintln!(
        "  filled {count} sessions in {:.0} s",
        began.elapsed().as_secs_f64()
    );
}

/// A fresh schema or database (or file) for one store's run; its URL.
async fn scratch(kind: &str, base: &str, dir: &std::path::Path) -> String {
    let name = format!("tessera_bench_{}", std::process::id());
    match kind {
        "PostgreSQL" => {
            let admin = sqlx::PgPool::connect(base).await.expect("connect");
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
                )))
                .await
                .expect("schema");
            let separator = if base.contains('?') { '&' } else { '?' };
            format!("{base}{separator}options=-c%20search_path%3D{name}")
        }
        "MySQL" => {
            let admin = sqlx::MySqlPool::connect(base).await.expect("connect");
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name}"
                )))
                .await
                .expect("drop");
            admin
                .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .expect("database");
            let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
            format!("{server}/{name}")
        }
        _ => format!("sqlite://{}", dir.join("bench.db").display()),
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if let Ok(url) = std::env::var("TESSERA_BENCH_CHILD") {
        let (refreshes, _) = runtime.block_on(async { throughput(&engine(&url).await).await });
        println!("REFRESHES {refreshes}");
        return;
    }
    let sessions_in_full: u64 = std::env::var("TESSERA_BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    // TESSERA_BENCH_STORES (e.g. "PostgreSQL,MySQL") limits the run to some stores.
    let wanted = std::env::var("TESSERA_BENCH_STORES").unwrap_or_default();
    let mut stores = vec![("SQLite".to_owned(), String::new())];
    if let Ok(url) = std::env::var("TESSERA_TEST_POSTGRES_URL") {
        stores.push(("PostgreSQL".to_owned(), url));
    }
    if let Ok(url) = std::env::var("TESSERA_TEST_MYSQL_URL") {
        stores.push(("MySQL".to_owned(), url));
    }
    println!("| store | refresh/s, 1 process | refresh/s, 2 processes | p50 / p99 empty (µs) | p50 / p99 with {sessions_in_full} sessions (µs) | p99 ratio |");
    println!("|---|---|---|---|---|---|");
    stores.retain(|(kind, _)| wanted.is_empty() || wanted.split(',').any(|w| w == kind));
    for (kind, base) in stores {
        let url = runtime.block_on(scratch(&kind, &base, dir.path()));
        let sessions = runtime.block_on(engine(&url));
        let (refreshes, seconds) = runtime.block_on(throughput(&sessions));
        let one = refreshes as f64 / seconds;
        let two = two_processes(&url);
        let (p50_empty, p99_empty) = runtime.block_on(latency(&sessions));
        runtime.block_on(fill(&url, sessions_in_full));
        let (p50_full, p99_full) = runtime.block_on(latency(&sessions));
        println!(
            "| {kind} | {one:.0} | {two:.0} | {p50_empty:.0} / {p99_empty:.0} | {p50_full:.0} / {p99_full:.0} | {:.2}× |",
            p99_full / p99_empty
        );
        drop(sessions);
    }
}
