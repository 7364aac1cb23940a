//! What the HTTP layer costs over the engine, measured side by side: each round times the engine
//! call and the same operation as a request through the axum router (cookie parsing, extractor,
//! response headers, front-token), back to back, so drift in machine speed hits both alike.
//! Verifications alternate in blocks of 25; refreshes one by one. Prints medians and ratios.
//!
//! Run: `cargo bench -p tessera-axum --bench layer` (`TESSERA_BENCH_ROUNDS`, default 2000).
//!
//! With `--features remote` and `TESSERA_BIN` naming a built `tessera` server, each round also
//! verifies through a router over the remote back end (a server on this machine, its keys
//! cached here): the same local signature check, so it should cost what the engine's does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use std::hint::black_box;
use std::time::Instant;
use tessera_axum::{Session, SessionLayerConfig, Tessera};
use tessera_core::{NewSession, RefreshToken, SessionConfig, Sessions, VerifyOptions};
use tower::ServiceExt;

const VERIFY_BLOCK: usize = 25;

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn timed(work: impl FnOnce()) -> f64 {
    let start = Instant::now();
    work();
    start.elapsed().as_secs_f64() * 1e6
}

async fn me(session: Session) -> String {
    session.user_id().to_owned()
}

fn cookie(response: &axum::http::Response<Body>, name: &str) -> String {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| cookie::Cookie::parse(v.to_str().ok()?.to_owned()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .expect("cookie")
}

/// A router over a `tessera` server started from `TESSERA_BIN`, and a cookie of a session it
/// created; the server lives as long as the returned child.
#[cfg(feature = "remote")]
fn remote_router(
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
) -> Option<(Router, String, std::process::Child)> {
    use std::io::BufRead;
    use tessera_axum::{RemoteConfig, RemoteSessions};

    let bin = std::env::var("TESSERA_BIN").ok()?;
    let mut child = std::process::Command::new(bin)
        .arg("serve")
        .env("TESSERA_PORT", "0")
        .env("TESSERA_SQLITE_PATH", dir.join("server.db"))
        .env_remove("TESSERA_BIN")
        .env("TESSERA_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start tessera");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the listening line");
    let url = line.trim().rsplit(' ').next().expect("url").to_owned();
    let remote = runtime
        .block_on(RemoteSessions::connect(RemoteConfig::new(url)))
        .expect("connect");
    let created = runtime
        .block_on(
            tessera_axum::Backend::from(remote.clone())
                .create_new_session(NewSession::new("bench-user")),
        )
        .expect("session");
    let cookie = format!("sAccessToken={}", created.access_token.token.expose());
    let tessera = Tessera::new(remote, SessionLayerConfig::default());
    let router = Router::new().route("/api/me", get(me)).with_state(tessera);
    Some((router, cookie, child))
}

fn main() {
    let rounds: usize = std::env::var("TESSERA_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = runtime
        .block_on(tessera_store::SqliteStore::open(
            dir.path().join("layer.db"),
        ))
        .expect("store");
    let sessions = Sessions::new(store, SessionConfig::default());
    let tessera = Tessera::new(sessions.clone(), SessionLayerConfig::default());
    let router: Router = Router::new()
        .route("/api/me", get(me))
        .merge(tessera.router())
        .with_state(tessera);

    // Two sessions, so that each side refreshes its own chain.
    let direct = runtime
        .block_on(sessions.create_new_session(NewSession::new("bench-user")))
        .expect("session");
    let via_http = runtime
        .block_on(sessions.create_new_session(NewSession::new("bench-user")))
        .expect("session");
    let access_token = direct.access_token.token.clone();
    let access_cookie = format!("sAccessToken={}", access_token.expose());
    let mut direct_refresh = direct.refresh_token.token.clone();
    let mut http_refresh = via_http.refresh_token.token.expose().to_owned();

    let verify_request = || {
        Request::builder()
            .method(Method::GET)
            .uri("/api/me")
            .header(header::COOKIE, access_cookie.as_str())
            .body(Body::empty())
            .expect("request")
    };

    #[cfg(feature = "remote")]
    let mut remote = remote_router(&runtime, dir.path());
    let mut remote_verify: Vec<f64> = Vec::new();

    let (mut engine_verify, mut http_verify, mut engine_refresh, mut http_refresh_us) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        #[cfg(feature = "remote")]
        if let Some((remote_router, remote_cookie, _)) = &remote {
            remote_verify.push(
                timed(|| {
                    for _ in 0..VERIFY_BLOCK {
                        let request = Request::builder()
                            .method(Method::GET)
                            .uri("/api/me")
                            .header(header::COOKIE, remote_cookie.as_str())
                            .body(Body::empty())
                            .expect("request");
                        let response = runtime
                            .block_on(remote_router.clone().oneshot(request))
                            .expect("response");
                        assert_eq!(response.status(), StatusCode::OK);
                        black_box(response);
                    }
                }) / VERIFY_BLOCK as f64,
            );
        }
        engine_verify.push(
            timed(|| {
                for _ in 0..VERIFY_BLOCK {
                    let verified = runtime
                        .block_on(sessions.get_session(
                            &access_token,
                            None,
                            VerifyOptions::default(),
                        ))
                        .expect("verify");
                    black_box(verified);
                }
            }) / VERIFY_BLOCK as f64,
        );
        http_verify.push(
            timed(|| {
                for _ in 0..VERIFY_BLOCK {
                    let response = runtime
                        .block_on(router.clone().oneshot(verify_request()))
                        .expect("response");
                    assert_eq!(response.status(), StatusCode::OK);
                    black_box(response);
                }
            }) / VERIFY_BLOCK as f64,
        );
        engine_refresh.push(timed(|| {
            let tokens = runtime
                .block_on(sessions.refresh_session(&direct_refresh, None))
                .expect("refresh");
            direct_refresh = tokens.refresh_token.token;
        }));
        http_refresh_us.push(timed(|| {
            let request = Request::builder()
                .method(Method::POST)
                .uri("/auth/session/refresh")
                .header(header::COOKIE, format!("sRefreshToken={http_refresh}"))
                .body(Body::empty())
                .expect("request");
            let response = runtime
                .block_on(router.clone().oneshot(request))
                .expect("response");
            assert_eq!(response.status(), StatusCode::OK);
            http_refresh = cookie(&response, "sRefreshToken");
        }));
    }
    // Keep the engine's chain and the router's alive to the end, as a real client would.
    black_box(RefreshToken::new(http_refresh));

    let ev = median(&mut engine_verify);
    let hv = median(&mut http_verify);
    let er = median(&mut engine_refresh);
    let hr = median(&mut http_refresh_us);
    println!("rounds: {rounds} (verify in blocks of {VERIFY_BLOCK})");
    println!(
        "verify   engine {ev:8.1} µs   through the router {hv:8.1} µs   ratio {:.2}×",
        hv / ev
    );
    println!(
        "refresh  engine {er:8.1} µs   through the router {hr:8.1} µs   ratio {:.2}×",
        hr / er
    );
    if !remote_verify.is_empty() {
        let rv = median(&mut remote_verify);
        println!(
            "verify   remote back end through the router {rv:8.1} µs   ratio {:.2}× the engine, {:.2}× the local router",
            rv / ev,
            rv / hv
        );
    }
    #[cfg(feature = "remote")]
    if let Some((_, _, child)) = remote.as_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
}
