//! Round trips to the database per refresh and per first use of a refreshed access token, counted
//! on the wire: a TCP proxy between the store and the real server records each burst the client
//! sends after the server has answered (one round trip). A refresh must take at most 3, a first
//! use at most 2, on PostgreSQL and on MySQL.
//!
//! sqlx pings a connection when it returns to the pool, after the caller has its answer; such a
//! ping (PostgreSQL's lone `Sync`, MySQL's `COM_PING`) is not counted. A ping *before* the first
//! statement of a call would be on the call's path: the test fails if one appears there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly
#![cfg(any(feature = "postgres", feature = "mysql"))]

mod common;

use std::sync::{Arc, Mutex};

use tessera_core::{NewSession, SessionConfig, Sessions, SystemClock, VerifyOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the client sent in one round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Only a ping.
    Ping,
    /// Anything else: statements.
    Statements,
}

/// PostgreSQL's ping: a `Sync` message on its own.
const POSTGRES_PING: &[u8] = b"S\0\0\0\x04";
/// MySQL's ping: a one-byte packet, sequence 0, `COM_PING`.
const MYSQL_PING: &[u8] = &[1, 0, 0, 0, 0x0e];

/// Every turn of every connection through the proxy, in order.
#[derive(Default)]
struct Wire {
    turns: Vec<Turn>,
}

/// Forwards to `target`, recording turns.
async fn counting_proxy(target: String) -> (u16, Arc<Mutex<Wire>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let wire = Arc::new(Mutex::new(Wire::default()));
    let recorded = Arc::clone(&wire);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = TcpStream::connect(&target).await.unwrap();
            let (mut client_read, mut client_write) = client.into_split();
            let (mut server_read, mut server_write) = server.into_split();
            // Whether the server has spoken since the client last did: the client's next bytes
            // start a new turn.
            let answered = Arc::new(Mutex::new(true));
            let (wire, client_answered) = (Arc::clone(&recorded), Arc::clone(&answered));
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                let mut current: Option<usize> = None;
                loop {
                    let read = match client_read.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(read) => read,
                    };
                    let bytes = &buffer[..read];
                    {
                        let mut wire = wire.lock().unwrap();
                        let new_turn =
                            std::mem::replace(&mut *client_answered.lock().unwrap(), false);
                        if new_turn || current.is_none() {
                            let kind = if bytes == POSTGRES_PING || bytes == MYSQL_PING {
                                Turn::Ping
                            } else {
                                Turn::Statements
                            };
                            wire.turns.push(kind);
                            current = Some(wire.turns.len() - 1);
                        } else if let Some(index) = current {
                            // More of the same burst: no longer a lone ping.
                            wire.turns[index] = Turn::Statements;
                        }
                    }
                    if server_write.write_all(bytes).await.is_err() {
                        break;
                    }
                }
            });
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                loop {
                    let read = match server_read.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(read) => read,
                    };
                    *answered.lock().unwrap() = true;
                    if client_write.write_all(&buffer[..read]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, wire)
}

/// The statement round trips `work` makes, after checking that no ping came before them.
async fn statement_turns<F: std::future::Future<Output = ()>>(
    wire: &Mutex<Wire>,
    label: &str,
    work: F,
) -> usize {
    let before = wire.lock().unwrap().turns.len();
    work.await;
    let turns = wire.lock().unwrap().turns[before..].to_vec();
    let first_statement = turns
        .iter()
        .position(|turn| *turn == Turn::Statements)
        .unwrap_or(turns.len());
    assert!(
        turns[..first_statement].is_empty(),
        "{label}: a ping before the first statement: {turns:?}"
    );
    let statements = turns.iter().filter(|t| **t == Turn::Statements).count();
    eprintln!("{label}: {statements} round trips ({turns:?})");
    statements
}

/// A store over the proxy and a way to wait until its one connection is back in the pool (so the
/// ping sqlx sends on release is over before a count starts).
trait Counted: tessera_core::SessionStore + Clone + 'static {
    fn idle_connections(&self) -> usize;
}

#[cfg(feature = "postgres")]
impl Counted for tessera_store::PostgresStore {
    fn idle_connections(&self) -> usize {
        self.pool().num_idle()
    }
}

#[cfg(feature = "mysql")]
impl Counted for tessera_store::MySqlStore {
    fn idle_connections(&self) -> usize {
        self.pool().num_idle()
    }
}

/// Waits (at most 5 s) until the store's connection is idle in its pool.
async fn settled(store: &impl Counted) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.idle_connections() < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the connection never came back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

async fn count_round_trips<S: Counted>(
    database: &str,
    connect: impl std::future::Future<Output = S>,
    wire: Arc<Mutex<Wire>>,
) {
    // One connection, so every call after the warm-up finds its statements prepared.
    let store = connect.await;
    let sessions = Sessions::with_clock(
        Arc::new(store.clone()),
        SessionConfig::default(),
        Arc::new(SystemClock),
    );
    let created = sessions
        .create_new_session(NewSession::new("counted"))
        .await
        .unwrap();
    // Warm up: the first execution of each statement on a connection also prepares it.
    let warm = sessions
        .refresh_session(&created.refresh_token.token, None)
        .await
        .unwrap();
    sessions
        .get_session(&warm.access_token.token, None, VerifyOptions::default())
        .await
        .unwrap();

    settled(&store).await;
    let mut refreshed = None;
    let refresh = statement_turns(&wire, &format!("{database} refresh"), async {
        refreshed = Some(
            sessions
                .refresh_session(&warm.refresh_token.token, None)
                .await
                .unwrap(),
        );
    })
    .await;
    let refreshed = refreshed.unwrap();
    settled(&store).await;
    let first_use = statement_turns(&wire, &format!("{database} first use"), async {
        let verified = sessions
            .get_session(
                &refreshed.access_token.token,
                None,
                VerifyOptions::default(),
            )
            .await
            .unwrap();
        assert!(
            verified.new_access_token.is_some(),
            "a first use goes to the store"
        );
    })
    .await;
    assert!(
        refresh <= 3,
        "{database}: a refresh took {refresh} round trips"
    );
    assert!(
        first_use <= 2,
        "{database}: a first use took {first_use} round trips"
    );
    assert!(refresh >= 1 && first_use >= 1, "the proxy saw the calls");
}

/// The proxy, and the URL that reaches the database through it without TLS (so the proxy can
/// tell a ping from a statement).
async fn proxied(url: &str, no_tls: &str) -> (String, Arc<Mutex<Wire>>) {
    let (_, target) = common::through_proxy(url, 0);
    let (port, wire) = counting_proxy(target).await;
    let (proxied, _) = common::through_proxy(url, port);
    let separator = if proxied.contains('?') { '&' } else { '?' };
    (format!("{proxied}{separator}{no_tls}"), wire)
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refresh_and_first_use_round_trips() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let (_store, scratch) = common::postgres_store_typed().await.unwrap();
    let url = common::postgres_url_in_schema(&url, scratch.name());
    let (proxied, wire) = proxied(&url, "sslmode=disable").await;
    let connect = async {
        tessera_store::PostgresStore::connect(&proxied, 1)
            .await
            .unwrap()
    };
    count_round_trips("PostgreSQL", connect, wire).await;
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_refresh_and_first_use_round_trips() {
    let Some(url) = common::mysql_url() else {
        return;
    };
    let (_store, scratch) = common::mysql_store_typed().await.unwrap();
    let url = common::mysql_url_for(&url, scratch.name());
    let (proxied, wire) = proxied(&url, "ssl-mode=DISABLED").await;
    let connect = async {
        tessera_store::MySqlStore::connect(&proxied, 1)
            .await
            .unwrap()
    };
    count_round_trips("MySQL", connect, wire).await;
}
