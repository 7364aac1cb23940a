//! The database goes away mid-run and comes back. A TCP proxy between the store and the real
//! server cuts every connection and refuses new ones while "down", so the shared server other
//! tests use is never stopped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly
#![cfg(any(feature = "postgres", feature = "mysql"))]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tessera_core::{
    GeneralError, NewSession, SessionConfig, SessionError, Sessions, StoreError, SystemClock,
    VerifyOptions,
};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Forwards to `target` until cut; while cut, closes every connection it holds or accepts.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let (accept_up, accept_generation) = (Arc::clone(&up), generation.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused, as far as the client can tell
                }
                let target = target.clone();
                let mut cut = accept_generation.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Self {
            port,
            up,
            generation,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn is_general(result: &Result<impl std::fmt::Debug, SessionError>) -> bool {
    matches!(
        result,
        Err(SessionError::General(GeneralError::Store(
            StoreError::Unavailable(_) | StoreError::Database(_)
        )))
    )
}

async fn outage_and_recovery(url: &str) {
    let (_, target) = common::through_proxy(url, 0);
    let proxy = Proxy::start(target).await;
    let (proxied, _) = common::through_proxy(url, proxy.port);
    let store = tessera_store::open(&tessera_store::StoreConfig::from_url(&proxied, 4))
        .await
        .unwrap();
    let sessions = Sessions::with_clock(store, SessionConfig::default(), Arc::new(SystemClock));
    let before = sessions
        .create_new_session(NewSession::new("outage-user"))
        .await
        .unwrap();

    proxy.cut();
    let created = sessions
        .create_new_session(NewSession::new("outage-user"))
        .await;
    assert!(is_general(&created), "{created:?}");
    let refreshed = sessions
        .refresh_session(&before.refresh_token.token, None)
        .await;
    assert!(is_general(&refreshed), "{refreshed:?}");
    let strict = VerifyOptions {
        check_database: true,
        ..VerifyOptions::default()
    };
    let checked = sessions
        .get_session(&before.access_token.token, None, strict)
        .await;
    assert!(is_general(&checked), "{checked:?}");
    // Stateless verification does not need the database at all.
    sessions
        .get_session(&before.access_token.token, None, VerifyOptions::default())
        .await
        .unwrap();

    proxy.restore();
    // No restart: the same engine works again, and nothing was half-written during the outage.
    let handles = sessions
        .get_all_session_handles_for_user("outage-user", None)
        .await
        .unwrap();
    assert_eq!(handles, vec![before.session.handle.clone()]);
    let refreshed = sessions
        .refresh_session(&before.refresh_token.token, None)
        .await
        .unwrap();
    sessions
        .get_session(&refreshed.access_token.token, None, strict)
        .await
        .unwrap();
    sessions
        .create_new_session(NewSession::new("outage-user"))
        .await
        .unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_gives_general_errors_then_recovers() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let (_store, scratch) = common::postgres_store_typed().await.unwrap();
    let url = common::postgres_url_in_schema(&url, scratch.name());
    outage_and_recovery(&url).await;
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_outage_gives_general_errors_then_recovers() {
    let Some(url) = common::mysql_url() else {
        return;
    };
    let (_store, scratch) = common::mysql_store_typed().await.unwrap();
    outage_and_recovery(&common::mysql_url_for(&url, scratch.name())).await;
}
