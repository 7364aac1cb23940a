//! Tests across OS processes on one SQLite file. The test binary re-runs itself as the child
//! process (`child_entry`, which does nothing unless `TESSERA_CHILD_MODE` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use tessera_core::{
    Clock, ManualClock, NewSession, RefreshToken, SessionConfig, Sessions, SigningKeyStore,
    Timestamp,
};

fn child(mode: &str, db: &std::path::Path) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env("TESSERA_CHILD_MODE", mode)
        .env("TESSERA_CHILD_DB", db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

fn engine(store: tessera_store::SqliteStore, now: Option<i64>) -> Sessions {
    let clock: Arc<dyn Clock> = match now {
        Some(now) => Arc::new(ManualClock::new(Timestamp::from_millis(now))),
        None => Arc::new(tessera_core::SystemClock),
    };
    Sessions::with_clock(Arc::new(store), SessionConfig::default(), clock)
}

/// The child side: runs only when spawned by one of the tests below.
#[tokio::test]
async fn child_entry() {
    let Ok(mode) = std::env::var("TESSERA_CHILD_MODE") else {
        return;
    };
    let db = std::env::var("TESSERA_CHILD_DB").unwrap();
    let store = tessera_store::SqliteStore::open(db).await.unwrap();
    match mode.as_str() {
        "refresh-loop" => {
            let sessions = engine(store, None);
            let mut token = RefreshToken::new(std::env::var("TESSERA_CHILD_TOKEN").unwrap());
            // Bounded: the parent kills this process long before the loop ends.
            for _ in 0..100_000 {
                token = sessions
                    .refresh_session(&token, None)
                    .await
                    .unwrap()
                    .refresh_token
                    .token;
                // Printed only after the refresh returned.
                println!("RT {}", token.expose());
            }
        }
        "create-at" => {
            let now: i64 = std::env::var("TESSERA_CHILD_NOW").unwrap().parse().unwrap();
            let sessions = engine(store, Some(now));
            let created = sessions
                .create_new_session(NewSession::new("racer"))
                .await
                .unwrap();
            println!("TOKEN {}", created.access_token.token.expose());
        }
        other => panic!("unknown child mode {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returned_refresh_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tessera.db");
    let sessions = engine(tessera_store::SqliteStore::open(&db).await.unwrap(), None);
    let created = sessions
        .create_new_session(NewSession::new("crash"))
        .await
        .unwrap();

    let mut process = child("refresh-loop", &db)
        .env("TESSERA_CHILD_TOKEN", created.refresh_token.token.expose())
        .spawn()
        .unwrap();
    let stdout = process.stdout.take().unwrap();
    let mut last = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        // libtest prints "test child_entry ... " with no newline before the child's first line.
        if let Some((_, token)) = line.split_once("RT ") {
            last = Some(token.to_owned());
            if created.refresh_token.token.expose() != token && rand_stop() {
                break;
            }
        }
    }
    // SIGKILL: no destructors, no flush, no checkpoint.
    process.kill().unwrap();
    process.wait().unwrap();
    let last = RefreshToken::new(last.expect("the child refreshed at least once"));

    let reopened = engine(tessera_store::SqliteStore::open(&db).await.unwrap(), None);
    let after = reopened.refresh_session(&last, None).await;
    assert!(
        after.is_ok(),
        "the last token the killed process handed out does not work: {after:?}"
    );
}

/// Stops after a varying number of refreshes so the kill lands at different points of the loop.
fn rand_stop() -> bool {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEEN: AtomicU32 = AtomicU32::new(0);
    let seen = SEEN.fetch_add(1, Ordering::Relaxed);
    seen >= 40 + (std::process::id() % 60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_due_for_rotation_create_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tessera.db");
    let store = tessera_store::SqliteStore::open(&db).await.unwrap();
    let now = common::START;
    // Both processes see a rotation slot with no key and race to create it.
    let children: Vec<_> = (0..2)
        .map(|_| {
            child("create-at", &db)
                .env("TESSERA_CHILD_NOW", now.as_millis().to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut tokens = Vec::new();
    for process in children {
        let output = process.wait_with_output().unwrap();
        assert!(output.status.success());
        let stdout = String::from_utf8(output.stdout).unwrap();
        let token = stdout
            .lines()
            .find_map(|line| line.split_once("TOKEN ").map(|(_, token)| token))
            .expect("the child printed its access token")
            .to_owned();
        tokens.push(tessera_core::AccessToken::new(token));
    }
    let keys = store.signing_keys(now).await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    // Each process signed with the one stored key, not with a candidate it generated and lost.
    let verifier = engine(store, Some(now.as_millis()));
    for token in &tokens {
        verifier
            .get_session(token, None, tessera_core::VerifyOptions::default())
            .await
            .expect("token signed by the stored key");
    }
}
