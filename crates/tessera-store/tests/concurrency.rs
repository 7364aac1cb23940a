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

/// 16 clients, each refreshing its own session 32 times, all at once: neighbouring sessions'
/// writes must not fail each other (the stores' locks are per session; MySQL's gap locks once
/// made them deadlock).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_sessions_refreshing_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::SqliteStore::open(dir.path().join("tessera.db"))
        .await
        .unwrap();
    many_sessions(Arc::new(store)).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_sessions_refreshing_at_once_on_postgres() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let (_store, scratch) = common::postgres_store_typed().await.unwrap();
    let url = common::postgres_url_in_schema(&url, scratch.name());
    // As many connections as clients: every write of every session at once.
    let store = tessera_store::PostgresStore::connect(&url, 16)
        .await
        .unwrap();
    many_sessions(Arc::new(store)).await;
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_sessions_refreshing_at_once_on_mysql() {
    let Some(url) = common::mysql_url() else {
        return;
    };
    let (_store, scratch) = common::mysql_store_typed().await.unwrap();
    let url = common::mysql_url_for(&url, scratch.name());
    // As many connections as clients: every write of every session at once.
    let store = tessera_store::MySqlStore::connect(&url, 16).await.unwrap();
    many_sessions(Arc::new(store)).await;
}

async fn many_sessions(store: Arc<dyn SessionStore>) {
    const SESSIONS: usize = 16;
    const REFRESHES: usize = 64;
    let sessions = Sessions::with_clock(
        store,
        SessionConfig::default(),
        Arc::new(tessera_core::SystemClock),
    );
    let start = Arc::new(tokio::sync::Barrier::new(SESSIONS));
    let mut clients = Vec::new();
    for client in 0..SESSIONS {
        let created = sessions
            .create_new_session(NewSession::new(format!("client-{client}")))
            .await
            .unwrap();
        let (sessions, start) = (sessions.clone(), Arc::clone(&start));
        clients.push(tokio::spawn(async move {
            start.wait().await;
            let mut token = created.refresh_token.token;
            for _ in 0..REFRESHES {
                token = sessions
                    .refresh_session(&token, None)
                    .await?
                    .refresh_token
                    .token;
            }
            Ok::<(), tessera_core::SessionError>(())
        }));
    }
    for client in clients {
        client
            .await
            .expect("no panic")
            .expect("no client is refused or fails");
    }
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
