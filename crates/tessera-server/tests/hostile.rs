//! Hostile clients against the real `tessera` binary: half-open connections, stalled bodies, more
//! connections than the cap, SIGTERM while requests are half sent, and oversized tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod common;

use std::time::{Duration, Instant};

use common::Server;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// Half a request head, then nothing.
const HALF_HEAD: &[u8] = b"GET /hello HTTP/1.1\r\nHo";

/// A full head announcing 100 body bytes, then one byte.
fn half_body(address: &str) -> Vec<u8> {
    format!(
        "POST /recipe/session HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         content-length: 100\r\n\r\n{{"
    )
    .into_bytes()
}

async fn open_with(address: &str, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Everything the server sends until it closes the connection (bounded, so a server that never
/// closes fails the test instead of hanging it).
async fn until_closed(mut stream: TcpStream, within: Duration) -> Vec<u8> {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut answer)).await;
    // A reset also means closed; only the timeout is a failure.
    assert!(read.is_ok(), "the server never closed the connection");
    answer
}

fn metric(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn metrics(server: &Server) -> String {
    let (_, body) = server.get("/metrics").await;
    body.as_str().unwrap().to_owned()
}

/// Thousands of connections that send half a request and stop: a normal client is still answered
/// within a second, and the timeouts close every one of them (head-stalled ones silently or with
/// 408, body-stalled ones with 408).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_flood_is_closed_by_the_timeouts() {
    const FLOOD: usize = 3000;
    let server = Server::start("header_read_timeout: 3\nbody_read_timeout: 3\n").await;
    let address = server.address();
    let body_stall = half_body(&address);
    let mut held = Vec::with_capacity(FLOOD);
    for i in 0..FLOOD {
        let bytes = if i % 2 == 0 { HALF_HEAD } else { &body_stall };
        held.push(open_with(&address, bytes).await);
    }
    let fresh = reqwest::Client::new();
    let answered = tokio::time::timeout(
        Duration::from_secs(1),
        fresh.get(format!("{}/hello", server.url)).send(),
    )
    .await
    .expect("a normal client was not answered within a second")
    .unwrap();
    assert_eq!(answered.status(), 200);
    let mut closing = JoinSet::new();
    for (i, stream) in held.into_iter().enumerate() {
        closing.spawn(async move { (i, until_closed(stream, Duration::from_secs(60)).await) });
    }
    while let Some(closed) = closing.join_next().await {
        let (i, answer) = closed.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        if i % 2 == 0 {
            assert!(
                answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
                "{answer}"
            );
        } else {
            assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
            assert!(answer.contains("request body not received"), "{answer}");
        }
    }
    let metrics = metrics(&server).await;
    assert!(
        metric(&metrics, "tessera_connection_timeouts_total") >= (FLOOD / 2) as f64,
        "{metrics}"
    );
    // Only the connection asking for the metrics is left.
    assert!(
        metric(&metrics, "tessera_open_connections") <= 2.0,
        "{metrics}"
    );
}

/// Past `max_connections`, a new connection waits to be accepted until one closes; it is not
/// served early and is not refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    const CAP: usize = 20;
    let before_start = Instant::now();
    let server = Server::start(&format!("max_connections: {CAP}\nheader_read_timeout: 3\n")).await;
    let address = server.address();
    // Every slot is taken: by these idle connections (and the start-up check's pooled one).
    let mut held = Vec::new();
    for _ in 0..CAP {
        held.push(TcpStream::connect(&address).await.unwrap());
    }
    let fresh = reqwest::Client::new();
    let answered = tokio::time::timeout(
        Duration::from_secs(30),
        fresh.get(format!("{}/hello", server.url)).send(),
    )
    .await
    .expect("the waiting connection was never served")
    .unwrap();
    assert_eq!(answered.status(), 200);
    // No slot can free before an idle connection's 3 s header timeout, which started after
    // `before_start`: a server without the cap would have answered at once.
    assert!(
        before_start.elapsed() >= Duration::from_secs(3),
        "answered after {:?}, before any slot could free",
        before_start.elapsed()
    );
    for stream in held {
        until_closed(stream, Duration::from_secs(30)).await;
    }
}

/// SIGTERM with half a request head open: the connection is dropped at once and the process
/// exits, long before the 60 s timeouts would have closed it.
#[tokio::test]
async fn sigterm_drops_a_half_sent_head() {
    let mut server =
        Server::start("header_read_timeout: 60\nbody_read_timeout: 60\nshutdown_timeout: 60\n")
            .await;
    let address = server.address();
    let stalled = open_with(&address, HALF_HEAD).await;
    // Make sure the server has accepted it and is reading its head.
    let (status, _) = server.get("/hello").await;
    assert_eq!(status, 200);
    server.send_sigterm();
    // `wait_exit` fails the test if the process is still running after 10 s.
    assert!(server.wait_exit().success());
    assert!(until_closed(stalled, Duration::from_secs(5))
        .await
        .is_empty());
}

/// A body still arriving at SIGTERM is given its read timeout (here 2 s) and answered 408; the
/// process then exits without waiting for the 60 s shutdown deadline.
#[tokio::test]
async fn sigterm_bounds_a_stalled_body_by_its_timeout() {
    let mut server = Server::start("body_read_timeout: 2\nshutdown_timeout: 60\n").await;
    let stalled = body_being_read(&server.address()).await;
    server.send_sigterm();
    assert!(server.wait_exit().success());
    let answer = until_closed(stalled, Duration::from_secs(5)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

/// A request whose handler is reading its body: the server has said "100 Continue" (it does so
/// when the handler first asks for the body), and has one byte of the 100 announced.
async fn body_being_read(address: &str) -> TcpStream {
    let head = format!(
        "POST /recipe/session HTTP/1.1\r\nhost: {address}\r\ncontent-length: 100\r\n\
         expect: 100-continue\r\n\r\n"
    );
    let mut stream = open_with(address, head.as_bytes()).await;
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        interim.push(stream.read_u8().await.unwrap());
    }
    assert!(interim.starts_with(b"HTTP/1.1 100"), "{interim:?}");
    stream.write_all(b"{").await.unwrap();
    stream
}

/// A request that outlives the shutdown deadline is dropped and the process exits anyway.
#[tokio::test]
async fn shutdown_deadline_drops_what_is_left() {
    let mut server = Server::start("body_read_timeout: 600\nshutdown_timeout: 1\n").await;
    let address = server.address();
    let _stalled = body_being_read(&address).await;
    server.send_sigterm();
    assert!(server.wait_exit().success());
    let log = server.log();
    assert!(log.contains("shutdown deadline passed"), "{log}");
}

/// The server never mints an access token its own verify would refuse: oversized user ids and
/// payloads are refused up front with a 400 that names the limit, and nothing is created.
#[tokio::test]
async fn oversized_tokens_are_refused_up_front() {
    let server = Server::start("").await;
    // A user id longer than the stores hold (the probe's 6 000 characters) is refused as such.
    let long_user = "u".repeat(6000);
    let (status, body) = server
        .post(
            "/public/recipe/session",
            json!({"userId": long_user, "userDataInJWT": {}, "userDataInDatabase": {},
                   "enableAntiCsrf": false}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("512"), "{body}");
    let (_, handles) = server
        .get(&format!("/recipe/session/user?userId={long_user}"))
        .await;
    assert_eq!(handles["sessionHandles"], json!([]), "{handles}");
    // A payload that would make the token too long to verify is refused naming the limit.
    let limit = tessera_core::MAX_ACCESS_TOKEN_LEN;
    let (status, body) = server
        .post(
            "/public/recipe/session",
            json!({"userId": "big", "userDataInJWT": {"filler": "x".repeat(limit)},
                   "userDataInDatabase": {}, "enableAntiCsrf": false}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&limit.to_string()),
        "{body}"
    );
    assert_eq!(body["tokenTooLarge"]["limit"], json!(limit));
    let (_, handles) = server.get("/recipe/session/user?userId=big").await;
    assert_eq!(handles["sessionHandles"], json!([]), "{handles}");

    let created = server.create("u", json!({"a": 1})).await;
    let handle = created["session"]["handle"].as_str().unwrap();
    let huge: Value = json!({ "filler": "x".repeat(limit) });
    let (status, body) = server
        .put(
            "/recipe/jwt/data",
            json!({"sessionHandle": handle, "userDataInJWT": huge}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let access = created["accessToken"]["token"].as_str().unwrap();
    let (status, body) = server
        .post(
            "/recipe/session/regenerate",
            json!({"accessToken": access, "userDataInJWT": huge}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // The session is unchanged and still verifies.
    let (_, info) = server
        .get(&format!("/recipe/session?sessionHandle={handle}"))
        .await;
    assert_eq!(info["userDataInJWT"], json!({"a": 1}), "{info}");
    let (_, verified) = server
        .post(
            "/recipe/session/verify",
            json!({"accessToken": access, "doAntiCsrfCheck": false, "enableAntiCsrf": false,
                   "checkDatabase": false}),
        )
        .await;
    assert_eq!(verified["status"], "OK", "{verified}");
}

/// `--log-format json` writes one JSON object per line, for log pipelines.
#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let mut server = Server::start_full("", None, "info", &["--log-format", "json"]).await;
    assert!(server.terminate().success());
    let log = server.log();
    let mut lines = 0;
    for line in log.lines() {
        let parsed: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(parsed["fields"]["message"].is_string(), "{line}");
        lines += 1;
    }
    assert!(lines >= 2, "{log}");
    assert!(log.contains("tessera listening"), "{log}");
}
