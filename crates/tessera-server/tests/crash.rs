//! Crash safety: several clients refresh their own sessions, the server is killed with SIGKILL at
//! a random moment, and a new server starts on the same database. Every client's last
//! acknowledged refresh token must still refresh (a refresh the server committed but never
//! answered leaves its parent usable), the chain must go on from there, and nobody may be told
//! "theft". On SQLite and on PostgreSQL.
//!
//! The moment of the kill is drawn from a fresh seed each run; `TESSERA_CRASH_SEED` replays one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod common;

use std::sync::Arc;

use common::Server;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::sync::watch;

const CLIENTS: usize = 6;

/// A client's view: its session handle and the newest refresh token the server acknowledged.
struct ClientState {
    handle: String,
    refresh_token: String,
}

async fn refresh(client: &reqwest::Client, url: &str, token: &str) -> Result<Value, String> {
    let response = client
        .post(format!("{url}/recipe/session/refresh"))
        .header("cdi-version", "5.4")
        .json(&json!({"refreshToken": token, "enableAntiCsrf": false}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    response.json::<Value>().await.map_err(|e| e.to_string())
}

async fn verify(client: &reqwest::Client, url: &str, access_token: &str) -> Result<Value, String> {
    let response = client
        .post(format!("{url}/recipe/session/verify"))
        .header("cdi-version", "5.4")
        .json(
            &json!({"accessToken": access_token, "doAntiCsrfCheck": false,
                      "enableAntiCsrf": false, "checkDatabase": false}),
        )
        .send()
        .await
        .map_err(|e| e.to_string())?;
    response.json::<Value>().await.map_err(|e| e.to_string())
}

/// Refreshes (and verifies each new access token, which commits it) until the server goes away;
/// returns the last acknowledged state.
async fn client_loop(
    url: String,
    mut state: ClientState,
    acknowledged: Arc<watch::Sender<usize>>,
) -> ClientState {
    let client = reqwest::Client::new();
    loop {
        let refreshed = match refresh(&client, &url, &state.refresh_token).await {
            Ok(body) => body,
            Err(_) => return state,
        };
        assert_eq!(refreshed["status"], "OK", "before the crash: {refreshed}");
        state.refresh_token = refreshed["refreshToken"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
        acknowledged.send_modify(|n| *n += 1);
        let access = refreshed["accessToken"]["token"].as_str().unwrap();
        match verify(&client, &url, access).await {
            Ok(body) => assert_eq!(body["status"], "OK", "before the crash: {body}"),
            Err(_) => return state,
        }
    }
}

async fn crash_and_restart(database_yaml: &str) {
    let seed = std::env::var("TESSERA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let kill_after = rand::rngs::StdRng::seed_from_u64(seed).random_range(20..400);
    eprintln!("crash test: TESSERA_CRASH_SEED={seed} (kill after {kill_after} refreshes)");

    let mut server = Server::start(database_yaml).await;
    let mut states = Vec::new();
    for i in 0..CLIENTS {
        let created = server.create(&format!("crash-user-{i}"), json!({})).await;
        states.push(ClientState {
            handle: created["session"]["handle"].as_str().unwrap().to_owned(),
            refresh_token: created["refreshToken"]["token"]
                .as_str()
                .unwrap()
                .to_owned(),
        });
    }
    let acknowledged = Arc::new(watch::Sender::new(0_usize));
    let mut progress = acknowledged.subscribe();
    let clients: Vec<_> = states
        .into_iter()
        .map(|state| {
            let acknowledged = Arc::clone(&acknowledged);
            tokio::spawn(client_loop(server.url.clone(), state, acknowledged))
        })
        .collect();
    tokio::time::timeout(
        std::time::Duration::from_secs(120),
        progress.wait_for(|n| *n >= kill_after),
    )
    .await
    .expect("clients made no progress")
    .unwrap();
    server.kill();
    let mut finals = Vec::new();
    for client in clients {
        finals.push(client.await.unwrap());
    }

    server.restart().await;
    let client = reqwest::Client::new();
    for state in finals {
        let refreshed = refresh(&client, &server.url, &state.refresh_token)
            .await
            .unwrap();
        assert_eq!(
            refreshed["status"], "OK",
            "seed {seed}: the last acknowledged refresh token of {} failed: {refreshed}",
            state.handle
        );
        assert_eq!(refreshed["session"]["handle"], state.handle.as_str());
        let access = refreshed["accessToken"]["token"].as_str().unwrap();
        let verified = verify(&client, &server.url, access).await.unwrap();
        assert_eq!(verified["status"], "OK", "seed {seed}: {verified}");
        let next = refreshed["refreshToken"]["token"].as_str().unwrap();
        let again = refresh(&client, &server.url, next).await.unwrap();
        assert_eq!(again["status"], "OK", "seed {seed}: {again}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_sqlite_server_keeps_every_acknowledged_refresh() {
    crash_and_restart("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_postgres_server_keeps_every_acknowledged_refresh() {
    let Some(scratch) = common::PostgresScratch::create("tessera_crash").await else {
        return;
    };
    crash_and_restart(&scratch.config_yaml).await;
    scratch.drop().await;
}
