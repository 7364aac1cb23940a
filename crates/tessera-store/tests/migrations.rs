//! A SQLite file written by the first schema (millisecond rotation times, committed/superseded
//! tokens) opens under today's: its times become microseconds, its moved-past tokens stay dead,
//! and its live token keeps working.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod common;

use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection};
use tessera_core::{
    hash2_from_hash1, refresh_token_hash1, Clock, ManualClock, RefreshToken, SessionConfig,
    SessionError, SessionRecords, SessionStore, Sessions,
};

const FIRST_SCHEMA: &str = include_str!("../migrations/sqlite/0001_init.sql");

fn hash2(token: &str) -> String {
    hash2_from_hash1(&refresh_token_hash1(&RefreshToken::new(token)))
}

#[tokio::test]
async fn a_first_schema_database_upgrades_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tessera.db");
    let now = common::START;
    // The first schema kept refresh-token times in milliseconds.
    let now_ms = now.as_millis();
    {
        let db = Connection::open(&path).unwrap();
        db.execute_batch(FIRST_SCHEMA).unwrap();
        db.execute_batch(
            "CREATE TABLE tessera_migrations (version INTEGER PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL);
             INSERT INTO tessera_migrations VALUES (1, 0);",
        )
        .unwrap();
        db.execute(
            "INSERT INTO sessions VALUES ('s1', 'alice', 'public', ?1, ?2, ?2, ?3, '{}', '{}', 0)",
            params![hash2("current"), now_ms - 60_000, now_ms + 86_400_000],
        )
        .unwrap();
        // `old` was moved past (superseded) a minute ago; `current` is the committed token.
        db.execute(
            "INSERT INTO refresh_tokens VALUES (?1, 's1', NULL, NULL, ?2, ?2, ?3, NULL)",
            params![hash2("old"), now_ms - 120_000, now_ms - 60_000],
        )
        .unwrap();
        db.execute(
            "INSERT INTO refresh_tokens VALUES (?1, 's1', ?2, ?2, ?3, ?3, NULL, NULL)",
            params![hash2("current"), hash2("old"), now_ms - 60_000],
        )
        .unwrap();
    }

    let store = tessera_store::SqliteStore::open(&path).await.unwrap();
    let old = store.refresh_token(&hash2("old")).await.unwrap().unwrap();
    assert_eq!(
        old.issued_at,
        now - Duration::from_secs(120),
        "milliseconds became microseconds"
    );
    assert_eq!(old.dead_since, Some(now - Duration::from_secs(60)));
    let current = store
        .refresh_token(&hash2("current"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.presented_hash2, Some(hash2("old")));
    assert_eq!(current.dead_since, None);

    let clock = Arc::new(ManualClock::new(now));
    let sessions = Sessions::with_clock(
        Arc::new(store) as Arc<dyn SessionStore>,
        SessionConfig::default(),
        Arc::clone(&clock) as Arc<dyn Clock>,
    );
    let refreshed = sessions
        .refresh_session(&RefreshToken::new("current"), None)
        .await
        .expect("the live token still refreshes");
    assert_eq!(refreshed.session.user_id, "alice");
    clock.advance(Duration::from_secs(1));
    let replay = sessions
        .refresh_session(&RefreshToken::new("old"), None)
        .await;
    assert!(
        matches!(replay, Err(SessionError::TokenTheftDetected { ref session_handle, .. }) if session_handle == "s1"),
        "{replay:?}"
    );
}
