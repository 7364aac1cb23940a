//! The HTTP contract of the axum integration (`docs/protocol.md`), run the same over every back
//! end: the engine on an in-memory store, the engine on a SQLite file, and a remote `tessera`
//! server. These are the contract's clock-free parts; `protocol.rs` drives expiry, grace windows
//! and the anti-CSRF modes through the in-memory engine with a clock it moves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::any::Any;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use tessera_axum::{Backend, Error, Session, SessionLayerConfig, Tessera};
use tessera_core::{SessionConfig, Sessions};

mod support;
use support::{Client, Resp};

async fn login(State(t): State<Tessera>, headers: HeaderMap) -> Result<impl IntoResponse, Error> {
    let mut payload = Map::new();
    payload.insert("role".into(), json!("admin"));
    let tokens = t
        .create_new_session(&headers, "alice", payload, json!({"n": 1}))
        .await?;
    Ok((tokens, Json(json!({"status": "OK"}))))
}

async fn me(session: Session) -> Json<Value> {
    Json(json!({"user": session.user_id(), "payload": session.access_token_payload()}))
}

async fn data(session: Session) -> Result<Json<Value>, Error> {
    let before = session.session_data().await?;
    session.update_session_data(json!({"n": 2})).await?;
    let after = session.session_data().await?;
    Ok(Json(json!({"before": before, "after": after})))
}

async fn payload(mut session: Session) -> Result<impl IntoResponse, Error> {
    let mut claims = Map::new();
    claims.insert("role".into(), json!("reader"));
    let headers = session.update_access_token_payload(claims).await?;
    Ok((headers, Json(json!(session.access_token_payload()))))
}

async fn claim(State(t): State<Tessera>, _session: Session) -> Error {
    t.invalid_claim(vec![json!({"id": "st-ev", "reason": "wrong value"})])
}

/// Engine settings for every back end: no grace window, so a replay is theft at once.
fn settings() -> SessionConfig {
    SessionConfig {
        refresh_token_rotation_grace_period: Duration::ZERO,
        ..SessionConfig::default()
    }
}

/// The app over one back end, and whatever must live as long as it (a temp dir, a server).
struct App {
    router: Router,
    _keep: Box<dyn Any + Send>,
}

fn app_over(backend: impl Into<Backend>, keep: Box<dyn Any + Send>) -> App {
    let tessera = Tessera::new(backend, SessionLayerConfig::default());
    let app = Router::new()
        .route("/login", post(login))
        .route("/api/me", get(me).post(me))
        .route("/api/data", post(data))
        .route("/api/payload", post(payload))
        .route("/api/claim", get(claim));
    App {
        router: tessera.install(app),
        _keep: keep,
    }
}

async fn memory() -> App {
    let store = tessera_core::testing::MemoryStore::default();
    app_over(Sessions::new(store, settings()), Box::new(()))
}

async fn sqlite() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::SqliteStore::open(dir.path().join("contract.db"))
        .await
        .unwrap();
    app_over(Sessions::new(store, settings()), Box::new(dir))
}

#[cfg(feature = "remote")]
async fn remote() -> App {
    let server = tessera_testkit::Server::start("refresh_token_rotation_grace_period: 0\n").await;
    let remote =
        tessera_axum::RemoteSessions::connect(tessera_axum::RemoteConfig::new(&server.url))
            .await
            .unwrap();
    app_over(remote, Box::new(server))
}

impl App {
    async fn send(&self, request: axum::http::request::Builder) -> Resp {
        support::send(&self.router, request).await
    }

    async fn login(&self, header_mode: bool) -> (Client, Resp) {
        support::login(&self.router, header_mode).await
    }

    async fn refresh(&self, client: &mut Client) -> Resp {
        let resp = self
            .send(client.request(Method::POST, "/auth/session/refresh"))
            .await;
        client.absorb_any(&resp);
        resp
    }
}

async fn login_hands_out_tokens_in_both_transports(app: App) {
    let (_, cookies) = app.login(false).await;
    let refresh = cookies.cookie("sRefreshToken");
    assert_eq!(refresh.path(), Some("/auth/session/refresh"));
    assert_eq!(refresh.http_only(), Some(true));
    assert_eq!(cookies.cookie("sAccessToken").path(), Some("/"));
    assert_eq!(cookies.front_token()["uid"], "alice");
    assert_eq!(cookies.front_token()["up"]["role"], "admin");
    let (client, headers) = app.login(true).await;
    assert!(headers.find_cookie("sAccessToken").is_none());
    assert!(!client.access.is_empty() && !client.refresh.is_empty());
    assert_eq!(headers.front_token()["uid"], "alice");
}

async fn only_a_valid_access_token_reaches_the_handler(app: App) {
    for header_mode in [false, true] {
        let (client, _) = app.login(header_mode).await;
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
        assert_eq!(resp.body["user"], "alice");
        assert_eq!(resp.body["payload"]["role"], "admin");
    }
    let none = app.send(Request::builder().uri("/api/me")).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.body, json!({"message": "unauthorised"}));
    assert!(!none.clears());
    let (mut forged, _) = app.login(false).await;
    forged.access.push('x');
    let resp = app.send(forged.request(Method::GET, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "try refresh token"}));
    assert!(!resp.clears());
}

async fn refresh_rotates_both_tokens_and_the_new_ones_work(app: App) {
    for header_mode in [false, true] {
        let (mut client, _) = app.login(header_mode).await;
        let old = client.clone();
        let resp = app.refresh(&mut client).await;
        assert_eq!(resp.status, StatusCode::OK);
        assert_ne!(client.access, old.access);
        assert_ne!(client.refresh, old.refresh);
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
        client.absorb_any(&resp);
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
    }
}

async fn a_refresh_token_replayed_after_its_child_was_used_is_theft(app: App) {
    for header_mode in [false, true] {
        let (mut client, _) = app.login(header_mode).await;
        let parent = client.clone();
        assert_eq!(app.refresh(&mut client).await.status, StatusCode::OK);
        // The client uses the refreshed access token: it has moved past the parent.
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
        client.absorb_any(&resp);
        let resp = app
            .send(parent.request(Method::POST, "/auth/session/refresh"))
            .await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
        assert_eq!(resp.body, json!({"message": "token theft detected"}));
        assert!(resp.clears());
        // The session is revoked for the honest holder too.
        let resp = app.refresh(&mut client).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    }
}

/// A browser signed out because a theft ended its session is told why: the refresh that signs
/// it out (carrying, as browsers do, the access-token cookie too) sets `sSessionEnded=theft`, a
/// cookie the page can read. A session ended by signing out says nothing of the kind.
async fn a_browser_signed_out_by_theft_is_told_why(app: App) {
    let browser_refresh = |client: &support::Client| {
        axum::http::Request::builder()
            .method(Method::POST)
            .uri("/auth/session/refresh")
            .header(
                "cookie",
                format!(
                    "sAccessToken={}; sRefreshToken={}",
                    client.access, client.refresh
                ),
            )
    };
    let (mut victim, _) = app.login(false).await;
    let copy = victim.clone();
    assert_eq!(app.refresh(&mut victim).await.status, StatusCode::OK);
    let resp = app.send(victim.request(Method::GET, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::OK);
    victim.absorb_any(&resp);
    let resp = app
        .send(copy.request(Method::POST, "/auth/session/refresh"))
        .await;
    assert_eq!(resp.body, json!({"message": "token theft detected"}));

    let resp = app.send(browser_refresh(&victim)).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert!(resp.clears());
    let why = resp.cookie(tessera_axum::SESSION_ENDED_COOKIE);
    assert_eq!(why.value(), tessera_axum::ENDED_BY_THEFT);
    assert_ne!(
        why.http_only(),
        Some(true),
        "the page must be able to read it"
    );
    assert_eq!(why.path(), Some("/"));

    // Signed out by the user: the same kind of refresh says nothing about theft.
    let (mut honest, _) = app.login(false).await;
    let kept = honest.clone();
    let resp = app
        .send(honest.request(Method::POST, "/auth/signout"))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    honest = kept;
    let resp = app.send(browser_refresh(&honest)).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert!(resp
        .find_cookie(tessera_axum::SESSION_ENDED_COOKIE)
        .is_none());
    // A forged access-token cookie beside a dead refresh token learns nothing either.
    let forged = support::Client {
        access: "e30.e30.e30".into(),
        ..honest
    };
    let resp = app.send(browser_refresh(&forged)).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert!(resp
        .find_cookie(tessera_axum::SESSION_ENDED_COOKIE)
        .is_none());
}

async fn signout_revokes_at_once_and_clears(app: App) {
    for header_mode in [false, true] {
        let (mut client, _) = app.login(header_mode).await;
        let kept = client.clone();
        let resp = app
            .send(client.request(Method::POST, "/auth/signout"))
            .await;
        assert_eq!(resp.status, StatusCode::OK);
        assert_eq!(resp.body, json!({"status": "OK"}));
        assert!(resp.clears());
        // A copy of the tokens made before signing out is worth nothing now.
        let resp = app.send(kept.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
        client = kept;
        assert_eq!(
            app.refresh(&mut client).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

async fn session_data_and_claims_can_be_changed(app: App) {
    let (mut client, _) = app.login(false).await;
    let resp = app.send(client.request(Method::POST, "/api/data")).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body, json!({"before": {"n": 1}, "after": {"n": 2}}));
    let resp = app.send(client.request(Method::POST, "/api/payload")).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.front_token()["up"]["role"], "reader");
    client.absorb_any(&resp);
    let resp = app.send(client.request(Method::GET, "/api/me")).await;
    assert_eq!(resp.body["payload"]["role"], "reader");
}

async fn a_failed_claim_is_403_with_the_errors(app: App) {
    let (client, _) = app.login(false).await;
    let resp = app.send(client.request(Method::GET, "/api/claim")).await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    assert_eq!(resp.body["message"], "invalid claim");
    assert_eq!(resp.body["claimValidationErrors"][0]["id"], "st-ev");
}

macro_rules! contract {
    ($module:ident, $make:expr) => {
        mod $module {
            use super::*;
            contract!(@tests $make;
                login_hands_out_tokens_in_both_transports,
                only_a_valid_access_token_reaches_the_handler,
                refresh_rotates_both_tokens_and_the_new_ones_work,
                a_refresh_token_replayed_after_its_child_was_used_is_theft,
                a_browser_signed_out_by_theft_is_told_why,
                signout_revokes_at_once_and_clears,
                session_data_and_claims_can_be_changed,
                a_failed_claim_is_403_with_the_errors
            );
        }
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($make.await).await;
            }
        )*
    };
}

contract!(over_memory, memory());
contract!(over_sqlite, sqlite());
#[cfg(feature = "remote")]
contract!(over_a_tessera_server, remote());

/// Every contract test above is in the macro's list, and only those: a test left off the list
/// would run over no back end.
#[test]
fn every_contract_test_is_listed() {
    let this_file = include_str!("contract.rs");
    let start = this_file.find("contract!(@tests $make;").unwrap();
    let end = start + this_file[start..].find(");").unwrap();
    let mut listed: Vec<&str> = this_file[start..end]
        .lines()
        .skip(1)
        .map(|line| line.trim().trim_end_matches(','))
        .filter(|name| !name.is_empty())
        .collect();
    let mut defined: Vec<&str> = this_file
        .lines()
        .filter_map(|line| line.strip_prefix("async fn "))
        .filter(|rest| rest.contains("(app: App)"))
        .filter_map(|rest| rest.split('(').next())
        .collect();
    listed.sort_unstable();
    defined.sort_unstable();
    assert!(defined.len() >= 7, "{defined:?}");
    assert_eq!(listed, defined);
}
