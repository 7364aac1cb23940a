//! The HTTP contract of `docs/protocol.md`, driven through the router as the frontend SDK
//! would drive it: status codes, bodies, cookie attributes, both transports, all anti-CSRF modes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use cookie::time::OffsetDateTime;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;
use tessera_axum::{
    AntiCsrfMode, Error, HtmlRefresh, SameSite, Session, SessionLayerConfig, Tessera,
    TokenReissueLayer,
};
use tessera_core::testing::MemoryStore;
use tessera_core::{ManualClock, SessionConfig, Sessions, Timestamp};

mod support;
use support::{Client, Resp};

const START_MS: i64 = 1_800_000_000_000;
const ACCESS_VALIDITY: Duration = Duration::from_secs(10);
const REFRESH_VALIDITY: Duration = Duration::from_secs(3600);

struct App {
    router: Router,
    clock: Arc<ManualClock>,
}

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

async fn optional(session: Option<Session>) -> String {
    session.map_or_else(|| "visitor".to_owned(), |s| s.user_id().to_owned())
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

/// An engine on a fresh in-memory store whose clock the test moves.
fn engine() -> (Sessions, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(START_MS)));
    let engine_config = SessionConfig {
        access_token_validity: ACCESS_VALIDITY,
        refresh_token_validity: REFRESH_VALIDITY,
        ..SessionConfig::default()
    };
    let sessions = Sessions::with_clock(
        Arc::new(MemoryStore::default()),
        engine_config,
        clock.clone(),
    );
    (sessions, clock)
}

fn app(config: SessionLayerConfig) -> App {
    let (sessions, clock) = engine();
    let tessera = Tessera::new(sessions, config);
    let router = Router::new()
        .route("/login", post(login))
        .route("/api/me", get(me).post(me))
        .route("/api/optional", get(optional))
        .route("/api/data", post(data))
        .route("/api/payload", post(payload))
        .route("/api/claim", get(claim))
        .merge(tessera.router())
        .with_state(tessera);
    App { router, clock }
}

impl App {
    async fn send(&self, request: axum::http::request::Builder) -> Resp {
        support::send(&self.router, request).await
    }

    async fn login(&self, header_mode: bool) -> (Client, Resp) {
        support::login(&self.router, header_mode).await
    }

    fn expire_access_token(&self) {
        self.clock.advance(ACCESS_VALIDITY + Duration::from_secs(1));
    }
}

fn default_app() -> App {
    app(SessionLayerConfig::default())
}

fn millis_to_datetime(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap()
}

// ---- session creation ----

#[tokio::test]
async fn login_in_cookie_mode_sets_both_cookies_and_a_front_token() {
    let app = default_app();
    let (client, resp) = app.login(false).await;

    let access = resp.cookie("sAccessToken");
    assert_eq!(access.path(), Some("/"));
    assert_eq!(access.http_only(), Some(true));
    assert_eq!(access.same_site(), Some(cookie::SameSite::Lax));
    assert_eq!(access.secure(), None, "no Secure on http by default");
    assert_eq!(access.domain(), None);
    assert_eq!(
        access.expires_datetime(),
        Some(millis_to_datetime(START_MS) + cookie::time::Duration::days(365))
    );

    let refresh = resp.cookie("sRefreshToken");
    assert_eq!(refresh.path(), Some("/auth/session/refresh"));
    assert_eq!(refresh.http_only(), Some(true));
    assert_eq!(refresh.same_site(), Some(cookie::SameSite::Lax));
    assert_eq!(
        refresh.expires_datetime(),
        Some(millis_to_datetime(
            START_MS + REFRESH_VALIDITY.as_millis() as i64
        ))
    );

    let front = resp.front_token();
    assert_eq!(front["uid"], "alice");
    assert_eq!(front["ate"], START_MS + ACCESS_VALIDITY.as_millis() as i64);
    assert_eq!(front["up"]["iat"], START_MS / 1000);
    assert_eq!(front["up"]["exp"], front["ate"].as_i64().unwrap() / 1000);
    assert_eq!(front["up"]["sub"], "alice");
    assert_eq!(front["up"]["role"], "admin");

    assert_eq!(resp.header("st-access-token"), None);
    assert_eq!(
        resp.header("anti-csrf"),
        None,
        "no anti-csrf without ViaToken"
    );
    let exposed = resp.header("access-control-expose-headers").unwrap();
    for name in [
        "front-token",
        "anti-csrf",
        "st-access-token",
        "st-refresh-token",
    ] {
        assert!(exposed.contains(name), "{name} exposed");
    }
    assert!(!client.access.is_empty() && !client.refresh.is_empty());
}

#[tokio::test]
async fn login_without_auth_mode_uses_cookies() {
    let app = default_app();
    let resp = app
        .send(Request::builder().method(Method::POST).uri("/login"))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.cookies().len(), 2);
}

#[tokio::test]
async fn login_in_header_mode_sends_token_headers_and_no_cookies() {
    let app = default_app();
    let (client, resp) = app.login(true).await;
    assert!(resp.cookies().is_empty());
    assert!(client.access.split('.').count() == 3);
    assert!(!client.refresh.is_empty());
    assert_eq!(resp.front_token()["uid"], "alice");
}

// ---- protected routes ----

#[tokio::test]
async fn valid_session_reaches_the_handler_in_both_transports() {
    let app = default_app();
    for header_mode in [false, true] {
        let (client, _) = app.login(header_mode).await;
        for method in [Method::GET, Method::POST] {
            let resp = app.send(client.request(method, "/api/me")).await;
            assert_eq!(resp.status, StatusCode::OK);
            assert_eq!(resp.body["user"], "alice");
            assert_eq!(resp.body["payload"]["role"], "admin");
        }
    }
}

#[tokio::test]
async fn missing_token_is_unauthorised_without_clearing() {
    let app = default_app();
    let resp = app.send(Request::builder().uri("/api/me")).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "unauthorised"}));
    resp.assert_not_cleared();
}

#[tokio::test]
async fn expired_token_asks_for_refresh_and_keeps_tokens() {
    let app = default_app();
    for header_mode in [false, true] {
        let (client, _) = app.login(header_mode).await;
        app.expire_access_token();
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
        assert_eq!(resp.body, json!({"message": "try refresh token"}));
        resp.assert_not_cleared();
    }
}

#[tokio::test]
async fn legacy_status_440_for_expired_sessions() {
    let app = app(SessionLayerConfig::default()
        .with_session_expired_status(StatusCode::from_u16(440).unwrap()));
    let (client, _) = app.login(false).await;
    app.expire_access_token();
    let resp = app.send(client.request(Method::GET, "/api/me")).await;
    assert_eq!(resp.status.as_u16(), 440);
    assert_eq!(resp.body, json!({"message": "try refresh token"}));
}

/// The legacy status applies to every answer the frontend acts on, as supertokens-node does: an
/// SDK configured for 440 treats a 401 as an ordinary error and would never sign out.
#[tokio::test]
async fn legacy_status_440_for_unauthorised_and_theft() {
    let app = app(SessionLayerConfig::default()
        .with_session_expired_status(StatusCode::from_u16(440).unwrap()));
    let resp = app.send(Request::builder().uri("/api/me")).await;
    assert_eq!(resp.status.as_u16(), 440, "no access token");
    assert_eq!(resp.body, json!({"message": "unauthorised"}));
    let probe = Request::builder()
        .method(Method::POST)
        .uri("/auth/session/refresh")
        .header("rid", "session");
    let resp = app.send(probe).await;
    assert_eq!(resp.status.as_u16(), 440, "first-visit refresh probe");
    assert_eq!(resp.body, json!({"message": "unauthorised"}));
    resp.assert_cookies_cleared("/auth/session/refresh");
    let resp = app
        .send(Request::builder().method(Method::POST).uri("/auth/signout"))
        .await;
    assert_eq!(resp.status.as_u16(), 440, "sign-out without a session");

    let (mut client, _) = app.login(false).await;
    let stolen = client.clone();
    let resp = app
        .send(client.request(Method::POST, "/auth/session/refresh"))
        .await;
    client.absorb(&resp);
    let resp = app.send(client.request(Method::GET, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::OK);
    app.clock.advance(Duration::from_secs(31));
    let resp = app
        .send(stolen.request(Method::POST, "/auth/session/refresh"))
        .await;
    assert_eq!(resp.status.as_u16(), 440, "theft");
    assert_eq!(resp.body, json!({"message": "token theft detected"}));
    resp.assert_cookies_cleared("/auth/session/refresh");
    let resp = app
        .send(client.request(Method::POST, "/auth/session/refresh"))
        .await;
    assert_eq!(resp.status.as_u16(), 440, "the revoked session's refresh");
}

#[tokio::test]
async fn forged_access_token_asks_for_refresh() {
    let app = default_app();
    let resp = app
        .send(
            Request::builder()
                .uri("/api/me")
                .header("cookie", "sAccessToken=not.a.jwt"),
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "try refresh token"}));
}

#[tokio::test]
async fn optional_session() {
    let app = default_app();
    let resp = app.send(Request::builder().uri("/api/optional")).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body, json!("visitor"));
    let (client, _) = app.login(false).await;
    let resp = app.send(client.request(Method::GET, "/api/optional")).await;
    assert_eq!(resp.body, json!("alice"));
    app.expire_access_token();
    let resp = app.send(client.request(Method::GET, "/api/optional")).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "try refresh token"}));
}

#[tokio::test]
async fn invalid_claim_is_403_with_the_errors() {
    let app = default_app();
    let (client, _) = app.login(false).await;
    let resp = app.send(client.request(Method::GET, "/api/claim")).await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    assert_eq!(
        resp.body,
        json!({"message": "invalid claim", "claimValidationErrors": [{"id": "st-ev", "reason": "wrong value"}]})
    );
    resp.assert_not_cleared();
}

#[tokio::test]
async fn session_data_round_trip() {
    let app = default_app();
    let (client, _) = app.login(false).await;
    let resp = app.send(client.request(Method::POST, "/api/data")).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body, json!({"before": {"n": 1}, "after": {"n": 2}}));
}

#[tokio::test]
async fn payload_update_reissues_the_access_token() {
    let app = default_app();
    for header_mode in [false, true] {
        let (mut client, login) = app.login(header_mode).await;
        let resp = app.send(client.request(Method::POST, "/api/payload")).await;
        assert_eq!(resp.status, StatusCode::OK);
        assert_eq!(resp.body["role"], "reader");
        let front = resp.front_token();
        assert_eq!(front["up"]["role"], "reader");
        assert_eq!(front["ate"], login.front_token()["ate"], "same expiry");
        let new_access = if header_mode {
            assert!(
                resp.header("st-refresh-token").is_none(),
                "refresh token untouched"
            );
            resp.header("st-access-token").unwrap().to_owned()
        } else {
            assert_eq!(resp.cookies().len(), 1, "only the access cookie changes");
            resp.cookie("sAccessToken").value().to_owned()
        };
        client.access = new_access;
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.body["payload"]["role"], "reader");
    }
}

// ---- refresh ----

#[tokio::test]
async fn refresh_rotates_tokens_in_cookie_mode() {
    let app = default_app();
    let (mut client, _) = app.login(false).await;
    app.expire_access_token();
    let old = client.clone();
    let resp = app
        .send(client.request(Method::POST, "/auth/session/refresh"))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body, json!({}));
    let refresh = resp.cookie("sRefreshToken");
    assert_eq!(refresh.path(), Some("/auth/session/refresh"));
    assert_eq!(refresh.http_only(), Some(true));
    assert_eq!(resp.cookie("sAccessToken").path(), Some("/"));
    assert_eq!(resp.front_token()["uid"], "alice");
    client.absorb(&resp);
    assert_ne!(client.access, old.access);
    assert_ne!(client.refresh, old.refresh);
    let resp = app.send(client.request(Method::GET, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::OK);
}

#[tokio::test]
async fn refresh_rotates_tokens_in_header_mode() {
    let app = default_app();
    let (mut client, _) = app.login(true).await;
    app.expire_access_token();
    let resp = app
        .send(client.request(Method::POST, "/auth/session/refresh"))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert!(resp.cookies().is_empty());
    assert!(resp.front_token()["ate"].as_i64().unwrap() > START_MS);
    client.absorb(&resp);
    let resp = app.send(client.request(Method::POST, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::OK);
}

#[tokio::test]
async fn first_visit_refresh_probe_is_401_and_clears() {
    let app = default_app();
    let resp = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/auth/session/refresh")
                .header("rid", "session")
                .header("fdi-version", "4.1"),
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "unauthorised"}));
    resp.assert_cookies_cleared("/auth/session/refresh");
    resp.assert_headers_cleared();
}

#[tokio::test]
async fn unknown_refresh_token_is_401_and_clears() {
    let app = default_app();
    let resp = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/auth/session/refresh")
                .header("cookie", "sRefreshToken=bogus"),
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "unauthorised"}));
    resp.assert_cookies_cleared("/auth/session/refresh");
    assert_eq!(
        resp.header("st-access-token"),
        None,
        "cookie mode clears cookies only"
    );

    let resp = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/auth/session/refresh")
                .header("authorization", "Bearer bogus"),
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    resp.assert_headers_cleared();
    assert!(resp.cookies().is_empty(), "header mode clears headers only");
}

#[tokio::test]
async fn replayed_refresh_token_is_theft_and_revokes() {
    let app = default_app();
    for header_mode in [false, true] {
        let (mut client, _) = app.login(header_mode).await;
        let first = client.clone();
        let resp = app
            .send(client.request(Method::POST, "/auth/session/refresh"))
            .await;
        assert_eq!(resp.status, StatusCode::OK);
        client.absorb(&resp);
        // The child is used, then the grace period passes.
        let resp = app
            .send(client.request(Method::POST, "/auth/session/refresh"))
            .await;
        assert_eq!(resp.status, StatusCode::OK);
        client.absorb(&resp);
        app.clock.advance(Duration::from_secs(31));

        let resp = app
            .send(first.request(Method::POST, "/auth/session/refresh"))
            .await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
        assert_eq!(resp.body, json!({"message": "token theft detected"}));
        if header_mode {
            resp.assert_headers_cleared();
        } else {
            resp.assert_cookies_cleared("/auth/session/refresh");
        }

        // The session is gone for the honest holder too.
        let resp = app
            .send(client.request(Method::POST, "/auth/session/refresh"))
            .await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
        assert_eq!(resp.body, json!({"message": "unauthorised"}));
    }
}

// ---- signout ----

#[tokio::test]
async fn signout_revokes_and_clears() {
    let app = default_app();
    for header_mode in [false, true] {
        let (client, _) = app.login(header_mode).await;
        let resp = app
            .send(client.request(Method::POST, "/auth/signout"))
            .await;
        assert_eq!(resp.status, StatusCode::OK);
        assert_eq!(resp.body, json!({"status": "OK"}));
        if header_mode {
            resp.assert_headers_cleared();
            assert!(resp.cookies().is_empty());
        } else {
            resp.assert_cookies_cleared("/auth/session/refresh");
            assert_eq!(resp.header("st-access-token"), None);
        }
        let resp = app
            .send(client.request(Method::POST, "/auth/session/refresh"))
            .await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "revoked");
    }
}

#[tokio::test]
async fn signout_with_expired_token_asks_for_refresh() {
    let app = default_app();
    let (client, _) = app.login(false).await;
    app.expire_access_token();
    let resp = app
        .send(client.request(Method::POST, "/auth/signout"))
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "try refresh token"}));
    resp.assert_not_cleared();
}

#[tokio::test]
async fn signout_without_token_is_unauthorised() {
    let app = default_app();
    let resp = app
        .send(Request::builder().method(Method::POST).uri("/auth/signout"))
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "unauthorised"}));
}

// ---- anti-CSRF modes ----

#[tokio::test]
async fn via_token_mode() {
    let app = app(SessionLayerConfig::default().with_anti_csrf(AntiCsrfMode::ViaToken));
    let (mut client, login) = app.login(false).await;
    let token = login
        .header("anti-csrf")
        .expect("anti-csrf on login")
        .to_owned();

    // GET is exempt; non-GET needs the matching header.
    let resp = app.send(client.request(Method::GET, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::OK);
    let resp = app.send(client.request(Method::POST, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "try refresh token"}));
    resp.assert_not_cleared();
    let resp = app
        .send(
            client
                .request(Method::POST, "/api/me")
                .header("anti-csrf", "wrong"),
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    let resp = app
        .send(
            client
                .request(Method::POST, "/api/me")
                .header("anti-csrf", &token),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK);

    // Refresh needs it too, and hands out a new one.
    let resp = app
        .send(
            client
                .request(Method::POST, "/auth/session/refresh")
                .header("anti-csrf", &token),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    let new_token = resp.header("anti-csrf").expect("new anti-csrf").to_owned();
    client.absorb(&resp);
    let resp = app
        .send(
            client
                .request(Method::POST, "/api/me")
                .header("anti-csrf", &new_token),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    let resp = app
        .send(client.request(Method::POST, "/auth/session/refresh"))
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "unauthorised"}));
    // A forged cross-site refresh cannot sign the user out (SuperTokens node #141).
    resp.assert_not_cleared();
    let resp = app
        .send(
            client
                .request(Method::POST, "/api/me")
                .header("anti-csrf", &new_token),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK);
}

#[tokio::test]
async fn via_token_mode_does_not_apply_to_header_mode() {
    let app = app(SessionLayerConfig::default().with_anti_csrf(AntiCsrfMode::ViaToken));
    let (client, _) = app.login(true).await;
    let resp = app.send(client.request(Method::POST, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::OK);
    let resp = app
        .send(client.request(Method::POST, "/auth/session/refresh"))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
}

#[tokio::test]
async fn via_custom_header_is_the_default_with_same_site_none() {
    let config = SessionLayerConfig::default()
        .with_same_site(SameSite::None)
        .with_cookie_secure(true);
    let app = app(config);
    let (client, login) = app.login(false).await;
    let access = login.cookie("sAccessToken");
    assert_eq!(access.same_site(), Some(cookie::SameSite::None));
    assert_eq!(access.secure(), Some(true));
    assert_eq!(login.header("anti-csrf"), None);

    let resp = app.send(client.request(Method::GET, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::OK, "GET needs no rid");
    let resp = app.send(client.request(Method::POST, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "try refresh token"}));
    let resp = app
        .send(
            client
                .request(Method::POST, "/api/me")
                .header("rid", "anti-csrf"),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK);

    let resp = app
        .send(client.request(Method::POST, "/auth/session/refresh"))
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "unauthorised"}));
    resp.assert_not_cleared();
    let resp = app
        .send(
            client
                .request(Method::POST, "/auth/session/refresh")
                .header("rid", "session"),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK);
}

#[tokio::test]
async fn no_anti_csrf_by_default() {
    let app = default_app();
    let (client, _) = app.login(false).await;
    let resp = app.send(client.request(Method::POST, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::OK);
    let resp = app
        .send(client.request(Method::POST, "/auth/session/refresh"))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
}

// ---- settings ----

#[tokio::test]
async fn custom_base_path_and_domain() {
    let config = SessionLayerConfig::default()
        .with_api_base_path("/api/auth/")
        .with_cookie_domain("example.com")
        .with_same_site(SameSite::Strict);
    let app = app(config);
    let (mut client, login) = app.login(false).await;
    let refresh = login.cookie("sRefreshToken");
    assert_eq!(refresh.path(), Some("/api/auth/session/refresh"));
    assert_eq!(refresh.domain(), Some("example.com"));
    assert_eq!(refresh.same_site(), Some(cookie::SameSite::Strict));
    let resp = app
        .send(client.request(Method::POST, "/api/auth/session/refresh"))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    client.absorb(&resp);
    let resp = app
        .send(client.request(Method::POST, "/api/auth/signout"))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    let cleared = resp.cookie("sRefreshToken");
    assert_eq!(cleared.path(), Some("/api/auth/session/refresh"));
    assert_eq!(cleared.domain(), Some("example.com"));
    let resp = app
        .send(client.request(Method::POST, "/auth/session/refresh"))
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND, "old path not served");
}

/// Signing out revokes the session: its access token is refused at once, by stateless
/// verification as much as with `check_database` (the engine holds the revocation in memory).
#[tokio::test]
async fn a_revoked_session_is_refused_at_once_even_without_the_database() {
    for check in [false, true] {
        let app = app(SessionLayerConfig::default().with_check_database(check));
        let (client, _) = app.login(false).await;
        assert_eq!(
            app.send(client.request(Method::GET, "/api/me"))
                .await
                .status,
            StatusCode::OK
        );
        let resp = app
            .send(client.request(Method::POST, "/auth/signout"))
            .await;
        assert_eq!(resp.status, StatusCode::OK);
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(
            resp.status,
            StatusCode::UNAUTHORIZED,
            "check_database {check}"
        );
        assert_eq!(resp.body, json!({"message": "unauthorised"}));
        resp.assert_cookies_cleared("/auth/session/refresh");
    }
}

// ---- page navigations ----

fn html_app() -> App {
    app(SessionLayerConfig::default()
        .with_html_refresh(HtmlRefresh::new("/sdk/website.js", "/login")))
}

fn navigation(client: &Client, uri: &str) -> axum::http::request::Builder {
    client
        .request(Method::GET, uri)
        .header("sec-fetch-mode", "navigate")
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
}

#[tokio::test]
async fn navigation_with_expired_token_gets_the_refresh_page() {
    let app = html_app();
    let (client, _) = app.login(false).await;
    let resp = app.send(navigation(&client, "/api/me")).await;
    assert_eq!(
        resp.status,
        StatusCode::OK,
        "a valid token is served as usual"
    );

    app.expire_access_token();
    let resp = app.send(navigation(&client, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert_eq!(
        resp.header("content-security-policy"),
        Some("frame-ancestors 'self'")
    );
    resp.assert_not_cleared();
    let page = resp.body.as_str().expect("an HTML body");
    assert!(page.contains(r#"<script src="/sdk/website.js"></script>"#));
    assert!(page.contains("attemptRefreshingSession"));
    assert!(page.contains(r#""apiBasePath":"/auth""#));
    assert!(page.contains(r#""loginUrl":"/login""#));
}

#[tokio::test]
async fn only_navigations_with_expired_tokens_get_the_refresh_page() {
    let app = html_app();
    let (client, _) = app.login(false).await;
    app.expire_access_token();
    // The SDK's own fetch: JSON, so it refreshes by itself.
    let fetch = client
        .request(Method::GET, "/api/me")
        .header("sec-fetch-mode", "cors")
        .header("accept", "*/*");
    let resp = app.send(fetch).await;
    assert_eq!(resp.body, json!({"message": "try refresh token"}));
    // No session at all is the app's business (a login redirect), not a refresh.
    let resp = app.send(navigation(&Client::default(), "/api/me")).await;
    assert_eq!(resp.body, json!({"message": "unauthorised"}));
    // Without the setting, navigations get JSON too.
    let plain = default_app();
    let (client, _) = plain.login(false).await;
    plain.expire_access_token();
    let resp = plain.send(navigation(&client, "/api/me")).await;
    assert_eq!(resp.body, json!({"message": "try refresh token"}));
}

// ---- the pre-2022 sIdRefreshToken cookie ----

fn with_legacy(req: axum::http::request::Builder) -> axum::http::request::Builder {
    req.header("cookie", "sIdRefreshToken=legacy-value")
}

fn assert_legacy_removed(resp: &Resp) {
    let legacy = resp.cookie("sIdRefreshToken");
    assert_eq!(legacy.value(), "");
    assert_eq!(legacy.path(), Some("/"));
    assert_eq!(legacy.expires_datetime(), Some(OffsetDateTime::UNIX_EPOCH));
}

#[tokio::test]
async fn leftover_legacy_cookie_without_access_token_asks_for_refresh_and_is_removed() {
    let app = default_app();
    let (mut client, _) = app.login(false).await;
    let visitor = Client::default();
    let resp = app
        .send(with_legacy(visitor.request(Method::GET, "/api/optional")))
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "try refresh token"}));
    assert_legacy_removed(&resp);
    assert_eq!(resp.header("front-token"), None, "nothing else is cleared");
    assert!(resp.cookies().iter().all(|c| c.name() == "sIdRefreshToken"));

    // The refresh route removes it too, on success...
    let resp = app
        .send(with_legacy(
            client.request(Method::POST, "/auth/session/refresh"),
        ))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_legacy_removed(&resp);
    client.absorb(&resp);
    assert_eq!(
        app.send(client.request(Method::GET, "/api/me"))
            .await
            .status,
        StatusCode::OK
    );
    // ...and on failure, beside clearing the session.
    let resp = app
        .send(with_legacy(
            visitor.request(Method::POST, "/auth/session/refresh"),
        ))
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_legacy_removed(&resp);
    resp.assert_cookies_cleared("/auth/session/refresh");
}

#[tokio::test]
async fn leftover_legacy_cookie_beside_a_valid_session_does_not_block_it() {
    // A marker this server cannot remove (set for another cookie domain) must not lock the user
    // out: the valid session is served, and the removal rides along where a layer allows.
    let app = app(SessionLayerConfig::default().with_cookie_domain("example.com"));
    let (client, _) = app.login(false).await;
    let resp = app
        .send(with_legacy(client.request(Method::GET, "/api/me")))
        .await;
    assert_eq!(resp.status, StatusCode::OK);

    let (sessions, clock) = engine();
    let tessera = Tessera::new(
        sessions,
        SessionLayerConfig::default().with_cookie_domain("example.com"),
    );
    let layered = App {
        router: Router::new()
            .route("/login", post(login))
            .route("/api/me", get(me))
            .layer(TokenReissueLayer)
            .with_state(tessera),
        clock,
    };
    let (client, _) = layered.login(false).await;
    let resp = layered
        .send(with_legacy(client.request(Method::GET, "/api/me")))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    let removals: Vec<_> = resp
        .cookies()
        .into_iter()
        .filter(|c| c.name() == "sIdRefreshToken")
        .map(|c| (c.value().to_owned(), c.domain().map(str::to_owned)))
        .collect();
    assert_eq!(
        removals,
        [
            (String::new(), None),
            (String::new(), Some("example.com".to_owned()))
        ],
        "host-only and configured-domain removals"
    );
    assert_eq!(resp.header("front-token"), None, "the session is untouched");

    // An expired token beside the marker: try refresh, with the removal.
    layered.expire_access_token();
    let resp = layered
        .send(with_legacy(client.request(Method::GET, "/api/me")))
        .await;
    assert_eq!(resp.body, json!({"message": "try refresh token"}));
    assert_legacy_removed(&resp);
}

// ---- claims changed on the server (check_database + TokenReissueLayer) ----

/// A handler that sets a cookie and exposes a header of its own.
async fn own_headers(_session: Session) -> impl IntoResponse {
    (
        [
            (header::SET_COOKIE, "theme=dark; Path=/"),
            (header::ACCESS_CONTROL_EXPOSE_HEADERS, "x-app"),
        ],
        "ok",
    )
}

fn reissue_app(with_layer: bool) -> (App, Sessions) {
    let (sessions, clock) = engine();
    let tessera = Tessera::new(
        sessions.clone(),
        SessionLayerConfig::default().with_check_database(true),
    );
    let mut router = Router::new()
        .route("/login", post(login))
        .route("/api/me", get(me))
        .route("/api/own-headers", get(own_headers))
        .route("/api/payload", post(payload))
        .merge(tessera.router());
    if with_layer {
        router = router.layer(TokenReissueLayer);
    }
    let router = router.with_state(tessera);
    (App { router, clock }, sessions)
}

/// Signs in, then changes the session's claims on the server (role=editor), as an admin tool
/// would; the client still holds the token with the old claims.
async fn signed_in_then_promoted(app: &App, sessions: &Sessions, header_mode: bool) -> Client {
    let (client, login) = app.login(header_mode).await;
    let handle = login.front_token()["up"]["sessionHandle"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut claims = Map::new();
    claims.insert("role".into(), json!("editor"));
    sessions
        .update_access_token_payload(&handle, claims)
        .await
        .unwrap();
    client
}

#[tokio::test]
async fn claims_changed_on_the_server_reach_the_client_through_the_layer() {
    for header_mode in [false, true] {
        let (app, sessions) = reissue_app(true);
        let mut client = signed_in_then_promoted(&app, &sessions, header_mode).await;

        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
        assert_eq!(
            resp.body["payload"]["role"], "editor",
            "the handler sees it"
        );
        assert_eq!(
            resp.front_token()["up"]["role"],
            "editor",
            "and so does the client"
        );
        if header_mode {
            assert!(resp.header("st-access-token").is_some());
            assert_eq!(resp.header("st-refresh-token"), None);
            client.access = resp.header("st-access-token").unwrap().to_owned();
        } else {
            assert_eq!(resp.cookies().len(), 1, "only the access-token cookie");
            client.access = resp.cookie("sAccessToken").value().to_owned();
        }

        // The new token carries the new claims: nothing more to deliver.
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
        assert_eq!(resp.body["payload"]["role"], "editor");
        resp.assert_not_cleared();
    }
}

#[tokio::test]
async fn without_the_layer_the_client_keeps_its_token_until_refresh() {
    let (app, sessions) = reissue_app(false);
    let client = signed_in_then_promoted(&app, &sessions, false).await;
    let resp = app.send(client.request(Method::GET, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body["payload"]["role"], "editor");
    resp.assert_not_cleared();
}

#[tokio::test]
async fn tokens_the_handler_issues_win_over_the_reissued_ones() {
    let (app, sessions) = reissue_app(true);
    let client = signed_in_then_promoted(&app, &sessions, false).await;
    // The handler sets role=reader itself; its token is the one the client must end up with.
    let resp = app.send(client.request(Method::POST, "/api/payload")).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.headers.get_all("front-token").iter().count(), 1);
    assert_eq!(resp.front_token()["up"]["role"], "reader");
    assert_eq!(resp.cookies().len(), 1);
}

#[tokio::test]
async fn reissued_tokens_keep_the_apps_own_cookies_and_exposed_headers() {
    let (app, sessions) = reissue_app(true);
    let client = signed_in_then_promoted(&app, &sessions, false).await;
    let resp = app
        .send(client.request(Method::GET, "/api/own-headers"))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    let mut names: Vec<_> = resp.cookies().iter().map(|c| c.name().to_owned()).collect();
    names.sort();
    assert_eq!(names, ["sAccessToken", "theme"]);
    let exposed = resp.header("access-control-expose-headers").unwrap();
    assert!(exposed.contains("x-app"), "{exposed}");
    assert!(exposed.contains("front-token"), "{exposed}");
    assert_eq!(resp.front_token()["up"]["role"], "editor");
}

// ---- commit on first use ----

/// An app with the reissue layer over an engine whose store counts calls, at grace `grace`.
fn first_use_app(grace: Duration) -> (App, Arc<MemoryStore>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(START_MS)));
    let store = Arc::new(MemoryStore::default());
    let sessions = Sessions::with_clock(
        store.clone(),
        SessionConfig {
            access_token_validity: ACCESS_VALIDITY,
            refresh_token_validity: REFRESH_VALIDITY,
            refresh_token_rotation_grace_period: grace,
            ..SessionConfig::default()
        },
        clock.clone(),
    );
    let tessera = Tessera::new(sessions, SessionLayerConfig::default());
    let router = Router::new()
        .route("/login", post(login))
        .route("/api/me", get(me))
        .merge(tessera.router())
        .layer(TokenReissueLayer)
        .with_state(tessera);
    (App { router, clock }, store)
}

/// The access token a response hands out, if any.
fn issued_access_token(resp: &Resp, header_mode: bool) -> Option<String> {
    if header_mode {
        resp.header("st-access-token").map(str::to_owned)
    } else {
        resp.cookies()
            .into_iter()
            .find(|c| c.name() == "sAccessToken")
            .map(|c| c.value().to_owned())
    }
}

fn parent_claim(access_token: &str) -> Value {
    let body = access_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .unwrap(),
    )
    .unwrap();
    claims["parentRefreshTokenHash1"].clone()
}

#[tokio::test]
async fn a_stolen_refresh_token_is_theft_at_its_replay_once_the_new_access_token_was_used() {
    for header_mode in [false, true] {
        let (app, _) = first_use_app(Duration::ZERO);
        let (mut victim, _) = app.login(header_mode).await;
        let attacker = victim.clone(); // a copy of the whole cookie jar
        let resp = app
            .send(victim.request(Method::POST, "/auth/session/refresh"))
            .await;
        assert_eq!(resp.status, StatusCode::OK);
        victim.absorb(&resp);
        // The victim loads a page: an ordinary verification, no database check configured.
        let resp = app.send(victim.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
        app.clock.advance(Duration::from_micros(1));

        let resp = app
            .send(attacker.request(Method::POST, "/auth/session/refresh"))
            .await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
        assert_eq!(resp.body, json!({"message": "token theft detected"}));
        // Revoked: the victim's own refresh token is dead too.
        let resp = app
            .send(victim.request(Method::POST, "/auth/session/refresh"))
            .await;
        assert_eq!(resp.body, json!({"message": "unauthorised"}));
    }
}

#[tokio::test]
async fn until_the_new_tokens_are_used_the_old_refresh_token_still_works() {
    // A lost refresh response looks like this: the client retries with the token it holds.
    let (app, _) = first_use_app(Duration::ZERO);
    let (victim, _) = app.login(false).await;
    let resp = app
        .send(victim.request(Method::POST, "/auth/session/refresh"))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    app.clock.advance(Duration::from_secs(5));
    let resp = app
        .send(victim.request(Method::POST, "/auth/session/refresh"))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
}

#[tokio::test]
async fn the_first_verification_hands_back_a_token_that_stays_off_the_store() {
    for header_mode in [false, true] {
        let (app, store) = first_use_app(Duration::from_secs(30));
        let (mut client, _) = app.login(header_mode).await;
        assert_eq!(parent_claim(&client.access), Value::Null, "a first token");
        let resp = app
            .send(client.request(Method::POST, "/auth/session/refresh"))
            .await;
        client.absorb(&resp);
        let refreshed = client.clone();
        assert!(
            parent_claim(&client.access).is_string(),
            "a refreshed access token names the token it replaced"
        );

        let before = store.calls();
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
        assert_eq!(store.calls(), before + 1, "the first verification commits");
        let reissued = issued_access_token(&resp, header_mode).expect("a token without the claim");
        assert_eq!(parent_claim(&reissued), Value::Null);
        assert_eq!(resp.front_token()["uid"], "alice");

        client.access = reissued;
        let before = store.calls();
        for _ in 0..3 {
            let resp = app.send(client.request(Method::GET, "/api/me")).await;
            assert_eq!(resp.status, StatusCode::OK);
            assert_eq!(issued_access_token(&resp, header_mode), None);
        }
        assert_eq!(
            store.calls(),
            before,
            "later verifications stay off the store"
        );

        // A request still carrying the refreshed token (sent before the reissue arrived) goes to
        // the store again and is served.
        let resp = app.send(refreshed.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
        assert_eq!(store.calls(), before + 1);
    }
}
