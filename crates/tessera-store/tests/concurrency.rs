//! 64 tasks refreshing one session at once on one SQLite file, with no lock between them: each task
//! reads the shared cookie jar, refreshes, and writes the jar back, like tabs sharing cookies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod common;

use std::sync::Arc;

use rusqlite::Connection;
use tessera_core::{NewSession, RefreshToken, SessionConfig, Sessions};
use tokio::sync::Mutex;

const TASKS: usize = 64;
const REFRESHES_PER_TASK: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_tabs_refreshing_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tessera.db");
    let store = tessera_store::SqliteStore::open(&path).await.unwrap();
    let sessions = Sessions::new(store, SessionConfig::default());
    let created = sessions
        .create_new_session(NewSession::new("many-tabs"))
        .await
        .unwrap();
    let handle = created.session.handle.clone();
    let jar = Arc::new(Mutex::new(created.refresh_token.token));
    let start = Arc::new(tokio::sync::Barrier::new(TASKS));

    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let sessions = sessions.clone();
            let jar = Arc::clone(&jar);
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                let mut refreshed = 0;
                for _ in 0..REFRESHES_PER_TASK {
                    let token: RefreshToken = jar.lock().await.clone();
                    let tokens = sessions.refresh_session(&token, None).await?;
                    *jar.lock().await = tokens.refresh_token.token;
                    refreshed += 1;
                }
                Ok::<usize, tessera_core::SessionError>(refreshed)
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task
            .await
            .expect("no panic")
            .expect("no honest tab is refused");
    }
    assert_eq!(total, TASKS * REFRESHES_PER_TASK);

    // The jar's final token still works.
    let last = jar.lock().await.clone();
    sessions.refresh_session(&last, None).await.unwrap();
    let total = total + 1;

    let db = Connection::open(&path).unwrap();
    let rows: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM refresh_tokens WHERE session_handle = ?1",
            [&handle],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(
        rows as usize,
        1 + total,
        "every refresh stored exactly one token"
    );

    // Every token was obtained by presenting one of the session, and the jar's last token is
    // not marked dead.
    let mut statement = db
        .prepare("SELECT hash2, presented_hash2 FROM refresh_tokens WHERE session_handle = ?1")
        .unwrap();
    let lineage: common::Lineage = statement
        .query_map([&handle], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    common::assert_one_tree(&lineage);
    let dead: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM refresh_tokens WHERE session_handle = ?1 AND dead_since IS NOT NULL",
            [&handle],
            |row| row.get(0),
        )
        .unwrap();
    assert!(dead > 0, "the storm marked nothing dead");
    eprintln!("{TASKS} tasks, {total} refreshes, {dead} tokens moved past, no theft");
}
