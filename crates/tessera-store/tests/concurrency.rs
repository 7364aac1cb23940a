//! 64 tasks refreshing one session at once with no lock between them: each task reads the shared
//! cookie jar, refreshes, and writes the jar back, like tabs sharing cookies. On one SQLite file
//! (writers serialised by the database lock) and on PostgreSQL and MySQL (where presentations are
//! read, decided and written optimistically, and overtaken ones read again).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod common;

use std::sync::Arc;

use tessera_core::{NewSession, RefreshToken, SessionConfig, SessionStore, Sessions};
use tokio::sync::Mutex;

const TASKS: usize = 64;
const REFRESHES_PER_TASK: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_tabs_refreshing_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tessera.db");
    let store = tessera_store::SqliteStore::open(&path).await.unwrap();
    many_tabs(Arc::new(store)).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_tabs_refreshing_at_once_on_postgres() {
    let Some((store, _scratch)) = common::postgres_store().await else {
        return;
    };
    many_tabs(store).await;
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_tabs_refreshing_at_once_on_mysql() {
    let Some((store, _scratch)) = common::mysql_store().await else {
        return;
    };
    many_tabs(store).await;
}

async fn many_tabs(store: Arc<dyn SessionStore>) {
    let sessions = Sessions::with_clock(
        Arc::clone(&store),
        SessionConfig::default(),
        Arc::new(tessera_core::SystemClock),
    );
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

    let tokens = store.session_tokens(&handle).await.unwrap();
    assert_eq!(
        tokens.len(),
        1 + total,
        "every refresh stored exactly one token"
    );

    // Every token was obtained by presenting one of the session.
    let lineage: common::Lineage = tokens
        .iter()
        .map(|token| (token.hash2.clone(), token.presented_hash2.clone()))
        .collect();
    common::assert_one_tree(&lineage);
    let dead = tokens
        .iter()
        .filter(|token| token.dead_since.is_some())
        .count();
    assert!(dead > 0, "the storm marked nothing dead");
    eprintln!("{TASKS} tasks, {total} refreshes, {dead} tokens moved past, no theft");
}
