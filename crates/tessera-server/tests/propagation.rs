//! Revocation reaches every server over the same database within a second: two `tessera serve`
//! processes, a session revoked through one, its access token refused by the other (which never
//! read the store for it, counted through its `/metrics`: it verifies statelessly and follows the
//! revocation log). On SQLite,
//! PostgreSQL and MariaDB; the revoke-to-refusal latencies are printed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::Server;
use serde_json::{json, Value};

const ROUNDS: usize = 15;
/// The promise: with the default 250 ms poll interval, a revocation is refused everywhere within
/// a second (the rest of the second is headroom for a slow query on a loaded database).
const BOUND: Duration = Duration::from_secs(1);

async fn verify(server: &Server, access_token: &str) -> Value {
    server.verify(access_token, false).await
}

/// `tessera_store_calls_total` by operation, read off a server's `/metrics`.
async fn store_calls(server: &Server) -> BTreeMap<String, u64> {
    let (_, metrics) = server.get("/metrics").await;
    let metrics = metrics.as_str().unwrap().to_owned();
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("tessera_store_calls_total{operation=\""))
        .map(|rest| {
            let (operation, count) = rest.split_once("\"} ").unwrap();
            (operation.to_owned(), count.trim().parse().unwrap())
        })
        .collect()
}

/// Verifications on B are answered from memory: many of them make no store call, while B's
/// revocation follower keeps polling (the only reads B makes, a few a second whatever the load).
async fn verifications_stay_off_the_store(b: &Server, access_token: &str) {
    const VERIFICATIONS: u64 = 300;
    let before = store_calls(b).await;
    for _ in 0..VERIFICATIONS {
        assert_eq!(verify(b, access_token).await["status"], "OK");
    }
    let after = store_calls(b).await;
    // The counters are there to be read: B loaded A's signing key from the store to verify the
    // token the first time.
    assert!(
        after.get("signing_keys").is_some_and(|&calls| calls > 0),
        "no store calls counted on B: {after:?}"
    );
    let delta = |operation: &str| {
        after.get(operation).copied().unwrap_or(0) - before.get(operation).copied().unwrap_or(0)
    };
    for operation in ["session", "present", "refresh_token"] {
        assert_eq!(delta(operation), 0, "{operation}: {before:?} -> {after:?}");
    }
    let total: u64 = after.keys().map(|operation| delta(operation)).sum();
    assert!(
        total < VERIFICATIONS / 10,
        "{VERIFICATIONS} verifications made {total} store calls: {before:?} -> {after:?}"
    );
}

async fn propagation(store_yaml: &str, label: &str) {
    let a = Server::start(store_yaml).await;
    let b = Server::start(store_yaml).await;
    let warm = a.create(&format!("{label}-warm"), json!({})).await;
    let warm_access = warm["accessToken"]["token"].as_str().unwrap();
    assert_eq!(verify(&b, warm_access).await["status"], "OK");
    verifications_stay_off_the_store(&b, warm_access).await;
    let mut latencies = Vec::new();
    for round in 0..ROUNDS {
        let created = a.create(&format!("{label}-{round}"), json!({})).await;
        let access = created["accessToken"]["token"].as_str().unwrap();
        let handle = created["session"]["handle"].as_str().unwrap();
        assert_eq!(verify(&b, access).await["status"], "OK");
        // Revoke at a random point of B's poll cycle: rounds that each end at one of B's polls
        // would otherwise all measure the same phase. (A pause, not a synchronisation.)
        tokio::time::sleep(Duration::from_millis(rand::random_range(0..250))).await;
        let (status, removed) = a
            .post(
                "/recipe/session/remove",
                json!({"sessionHandles": [handle]}),
            )
            .await;
        assert_eq!(status, 200, "{removed}");
        let revoked_at = Instant::now();
        // The revoking server refuses at once.
        assert_eq!(verify(&a, access).await["status"], "UNAUTHORISED");
        // The other refuses within the bound. Checked every few milliseconds, each check a real
        // verification: a check loop without pause would load B (and, with three of these tests
        // at once, the whole machine) with thousands of requests a second, measuring that load.
        let mut checks = tokio::time::interval(Duration::from_millis(5));
        loop {
            checks.tick().await;
            let answer = verify(&b, access).await;
            if answer["status"] == "UNAUTHORISED" {
                break;
            }
            assert_eq!(answer["status"], "OK", "{answer}");
            assert!(
                revoked_at.elapsed() < BOUND,
                "{label}: server B still accepted a revoked session after {:?}",
                revoked_at.elapsed()
            );
        }
        latencies.push(revoked_at.elapsed());
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "{label}: revoke on A to refusal on B over {ROUNDS} rounds: p50 {:.0} ms, max {:.0} ms",
        ms(latencies[ROUNDS / 2]),
        ms(latencies[ROUNDS - 1])
    );
    let (_, metrics) = b.get("/metrics").await;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains(&format!("tessera_revoked_sessions_held {ROUNDS}")),
        "{metrics}"
    );
    assert!(metrics.contains("tessera_revocations_stale 0"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_reaches_another_sqlite_server_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    propagation(&format!("sqlite_path: {}\n", db.display()), "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_reaches_another_postgres_server_within_a_second() {
    let Some(scratch) = common::PostgresScratch::create("tessera_prop").await else {
        return;
    };
    propagation(&scratch.config_yaml, "postgres").await;
    scratch.drop().await;
}

/// PostgreSQL announces a revocation as it commits (`NOTIFY`), and the other server reads the log
/// at once: with its poll set to a minute it still refuses within the bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_announces_revocations_without_waiting_for_a_poll() {
    let Some(scratch) = common::PostgresScratch::create("tessera_push").await else {
        return;
    };
    let yaml = format!(
        "{}revocation_poll_interval_ms: 60000\n",
        scratch.config_yaml
    );
    propagation(&yaml, "postgres, one-minute poll").await;
    scratch.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_reaches_another_mysql_server_within_a_second() {
    let Some(scratch) = common::MySqlScratch::create("tessera_prop").await else {
        return;
    };
    propagation(&scratch.config_yaml, "mysql").await;
    scratch.drop().await;
}
