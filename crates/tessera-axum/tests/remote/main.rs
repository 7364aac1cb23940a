//! The axum layer on a remote `tessera` server: the real binary, driven through an app built
//! with `Tessera::new(RemoteSessions, …)`, as the SDK would drive it. Access tokens are verified
//! in the app against the server's JWKS; the server's request counters show which calls reach it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use tessera_axum::{
    AntiCsrfMode, Error, RemoteConfig, RemoteSessions, Session, SessionLayerConfig, Tessera,
    TokenReissueLayer,
};
use tessera_core::{KeyKind, NewSession};
use tessera_testkit::Server;
use tower::ServiceExt;

const VERIFY: &str = "/recipe/session/verify";
const JWKS: &str = "/.well-known/jwks.json";

async fn login(State(t): State<Tessera>, headers: HeaderMap) -> Result<impl IntoResponse, Error> {
    let payload = json!({"plan": "free"}).as_object().cloned().unwrap();
    let tokens = t
        .create_new_session(&headers, "alice", payload, json!({"visits": 1}))
        .await?;
    Ok((tokens, Json(json!({"status": "OK"}))))
}

async fn me(session: Session) -> Json<Value> {
    Json(json!({"user": session.user_id(), "payload": session.access_token_payload()}))
}

async fn data(session: Session) -> Result<Json<Value>, Error> {
    Ok(Json(session.session_data().await?))
}

async fn set_data(session: Session, Json(body): Json<Value>) -> Result<Json<Value>, Error> {
    session.update_session_data(body).await?;
    Ok(Json(json!({"status": "OK"})))
}

async fn upgrade(mut session: Session) -> Result<impl IntoResponse, Error> {
    let payload = json!({"plan": "pro"}).as_object().cloned().unwrap();
    let headers = session.update_access_token_payload(payload).await?;
    Ok((headers, Json(json!({"status": "OK"}))))
}

fn app(tessera: Tessera) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/api/me", get(me).post(me))
        .route("/api/data", get(data).put(set_data))
        .route("/api/upgrade", post(upgrade))
        .merge(tessera.router())
        .layer(TokenReissueLayer)
        .with_state(tessera)
}

/// A cookie jar and an app: what a browser with the SDK does, minus the SDK.
#[derive(Clone)]
struct Browser {
    app: Router,
    cookies: BTreeMap<String, String>,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    fn clears(&self) -> bool {
        self.headers
            .get("front-token")
            .is_some_and(|v| v == "remove")
    }
}

impl Browser {
    fn new(app: Router) -> Self {
        Self {
            app,
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, method: Method, uri: &str, headers: &[(&str, &str)]) -> Reply {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("cookie", cookie)
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = headers
            .iter()
            .find(|(n, _)| *n == "x-test-body")
            .map_or(Body::empty(), |(_, b)| Body::from(b.to_string()));
        let response = self
            .app
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for set in headers.get_all(header::SET_COOKIE) {
            let c = cookie::Cookie::parse(set.to_str().unwrap().to_owned()).unwrap();
            if c.value().is_empty() {
                self.cookies.remove(c.name());
            } else {
                self.cookies
                    .insert(c.name().to_owned(), c.value().to_owned());
            }
        }
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn get(&mut self, uri: &str) -> Reply {
        self.send(Method::GET, uri, &[]).await
    }

    async fn post(&mut self, uri: &str) -> Reply {
        self.send(Method::POST, uri, &[("rid", "session")]).await
    }

    fn access_token(&self) -> String {
        self.cookies["sAccessToken"].clone()
    }
}

fn front_token(reply: &Reply) -> Value {
    let raw = reply.headers["front-token"].to_str().unwrap();
    serde_json::from_slice(&STANDARD.decode(raw).unwrap()).unwrap()
}

async fn remote(server: &Server) -> RemoteSessions {
    RemoteSessions::connect(RemoteConfig::new(&server.url))
        .await
        .unwrap()
}

/// The same tokens, two apps: one verifying statelessly, one with `check_database`.
fn apps(remote: &RemoteSessions, config: SessionLayerConfig) -> (Browser, Tessera, Router) {
    let tessera = Tessera::new(remote.clone(), config.clone());
    let strict = app(Tessera::new(
        remote.clone(),
        config.with_check_database(true),
    ));
    (Browser::new(app(tessera.clone())), tessera, strict)
}

#[tokio::test]
async fn login_verify_refresh_signout_through_the_server() {
    let server = Server::start("").await;
    let remote = remote(&server).await;
    let (mut browser, tessera, strict) = apps(&remote, SessionLayerConfig::default());
    assert!(tessera.sessions().is_none());
    assert_eq!(server.requests(JWKS).await, 1);

    let login = browser.post("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(front_token(&login)["uid"], "alice");
    assert_eq!(front_token(&login)["up"]["plan"], "free");
    let first_access = browser.access_token();
    let first_refresh = browser.cookies["sRefreshToken"].clone();

    for _ in 0..5 {
        let me = browser.get("/api/me").await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(
            me.body,
            json!({"user": "alice", "payload": {"plan": "free"}})
        );
    }
    // Verified here, against the cached keys: the server saw no verify and no second JWKS read.
    assert_eq!(server.requests(VERIFY).await, 0);
    assert_eq!(server.requests(JWKS).await, 1);
    let mut strict_browser = Browser {
        app: strict.clone(),
        ..browser.clone()
    };
    assert_eq!(strict_browser.get("/api/me").await.status, StatusCode::OK);
    assert_eq!(server.requests(VERIFY).await, 1);

    let refreshed = browser.post("/auth/session/refresh").await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_eq!(front_token(&refreshed)["uid"], "alice");
    assert_ne!(browser.access_token(), first_access);
    assert_ne!(browser.cookies["sRefreshToken"], first_refresh);
    assert_eq!(browser.get("/api/me").await.status, StatusCode::OK);

    let handles = tessera
        .backend()
        .get_all_session_handles_for_user("alice", None)
        .await
        .unwrap();
    assert_eq!(handles.len(), 1);

    let signed_in = browser.clone();
    let signout = browser.post("/auth/signout").await;
    assert_eq!(signout.status, StatusCode::OK);
    assert_eq!(signout.body, json!({"status": "OK"}));
    assert!(signout.clears());
    assert!(browser.cookies.is_empty());
    assert!(tessera
        .backend()
        .get_all_session_handles_for_user("alice", None)
        .await
        .unwrap()
        .is_empty());

    // The revoked session's access token is still signed and unexpired, but the sign-out went
    // through this process: it refuses the token at once, without asking the server (as the
    // engine does for its own revocations); the app that checks the database refuses it too.
    let verifies_before = server.requests(VERIFY).await;
    let mut stale = signed_in.clone();
    let refused_here = stale.get("/api/me").await;
    assert_eq!(refused_here.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused_here.message(), "unauthorised");
    assert_eq!(server.requests(VERIFY).await, verifies_before);
    let mut stale_strict = Browser {
        app: strict,
        ..signed_in
    };
    let refused = stale_strict.get("/api/me").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.message(), "unauthorised");
    assert!(refused.clears());
}

#[tokio::test]
async fn session_data_payload_and_revoking_a_user() {
    let server = Server::start("").await;
    let remote = remote(&server).await;
    let (mut browser, tessera, strict) = apps(&remote, SessionLayerConfig::default());
    browser.post("/login").await;

    assert_eq!(browser.get("/api/data").await.body, json!({"visits": 1}));
    let put = browser
        .send(
            Method::PUT,
            "/api/data",
            &[("rid", "session"), ("x-test-body", r#"{"cart": [1, 2]}"#)],
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(browser.get("/api/data").await.body, json!({"cart": [1, 2]}));

    // A new payload comes back as a new access token and front-token.
    let upgraded = browser.post("/api/upgrade").await;
    assert_eq!(upgraded.status, StatusCode::OK, "{}", upgraded.body);
    assert_eq!(front_token(&upgraded)["up"]["plan"], "pro");
    assert_eq!(browser.get("/api/me").await.body["payload"]["plan"], "pro");

    let revoked = tessera
        .backend()
        .revoke_all_sessions_for_user("alice", None)
        .await
        .unwrap();
    assert_eq!(revoked.len(), 1);
    let mut strict_browser = Browser {
        app: strict,
        ..browser.clone()
    };
    assert_eq!(
        strict_browser.get("/api/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    let refresh = browser.post("/auth/session/refresh").await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    assert!(refresh.clears());
    assert!(!tessera.backend().revoke_session(&revoked[0]).await.unwrap());
}

#[tokio::test]
async fn a_replayed_refresh_token_is_theft() {
    let server = Server::start("refresh_token_rotation_grace_period: 0\n").await;
    let remote = remote(&server).await;
    let (mut browser, _tessera, _) = apps(&remote, SessionLayerConfig::default());
    browser.post("/login").await;
    let mut thief = browser.clone();

    assert_eq!(
        browser.post("/auth/session/refresh").await.status,
        StatusCode::OK
    );
    // Refreshing with the child is a use of it: the first token is dead, and a zero grace window
    // forgives nothing (rotation times are microseconds, never repeated by one server).
    assert_eq!(
        browser.post("/auth/session/refresh").await.status,
        StatusCode::OK
    );
    let theft = thief.post("/auth/session/refresh").await;
    assert_eq!(theft.status, StatusCode::UNAUTHORIZED);
    assert_eq!(theft.message(), "token theft detected");
    assert!(theft.clears());
    // The session is gone for the legitimate holder too.
    let after = browser.post("/auth/session/refresh").await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.message(), "unauthorised");
}

/// A copy of a refreshed access token, taken before its first verification and presented after
/// the client moved on, is theft at that request: its verification reaches the server, which
/// names the revoked session to this back end.
#[tokio::test]
async fn a_stale_refreshed_access_token_is_theft_at_its_verification() {
    let server = Server::start("refresh_token_rotation_grace_period: 0\n").await;
    let remote = remote(&server).await;
    let (mut browser, _tessera, _) = apps(&remote, SessionLayerConfig::default());
    browser.post("/login").await;
    assert_eq!(
        browser.post("/auth/session/refresh").await.status,
        StatusCode::OK
    );
    let mut thief = browser.clone(); // holds the refreshed access token, never verified yet
    assert_eq!(
        browser.post("/auth/session/refresh").await.status,
        StatusCode::OK
    );
    let verifies = server.requests(VERIFY).await;
    assert_eq!(browser.get("/api/me").await.status, StatusCode::OK);
    assert_eq!(server.requests(VERIFY).await, verifies + 1, "the first use");

    let theft = thief.get("/api/me").await;
    assert_eq!(theft.status, StatusCode::UNAUTHORIZED);
    assert_eq!(theft.message(), "token theft detected");
    assert!(theft.clears());
    let after = browser.post("/auth/session/refresh").await;
    assert_eq!(after.message(), "unauthorised", "the session is revoked");
}

#[tokio::test]
async fn stateless_verification_survives_a_server_outage() {
    let mut server = Server::start("").await;
    let remote = remote(&server).await;
    let (mut browser, _tessera, strict) = apps(&remote, SessionLayerConfig::default());
    browser.post("/login").await;
    server.kill();

    assert_eq!(browser.get("/api/me").await.status, StatusCode::OK);
    let mut strict_browser = Browser {
        app: strict,
        ..browser.clone()
    };
    let checked = strict_browser.get("/api/me").await;
    assert_eq!(checked.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(checked.body, json!({"message": "internal error"}));
    // A server fault is not the client's: its tokens are kept.
    assert!(!checked.clears());
    let refresh = browser.post("/auth/session/refresh").await;
    assert_eq!(refresh.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!refresh.clears());
    assert_eq!(
        browser.post("/login").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(browser.get("/api/me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn keys_past_their_max_age_are_read_again_and_serve_through_an_outage() {
    let mut server = Server::start("").await;
    let max_age = Duration::from_millis(400);
    let remote = RemoteSessions::connect(RemoteConfig::new(&server.url).jwks_max_age(max_age))
        .await
        .unwrap();
    let read_at = Instant::now();
    let (mut browser, _tessera, _strict) = apps(&remote, SessionLayerConfig::default());
    browser.post("/login").await;
    assert_eq!(browser.get("/api/me").await.status, StatusCode::OK);
    assert_eq!(server.requests(JWKS).await, 1, "fresh keys: no read");

    sleep_until(read_at + max_age + Duration::from_millis(50)).await;
    assert_eq!(browser.get("/api/me").await.status, StatusCode::OK);
    assert_eq!(server.requests(JWKS).await, 2, "stale keys: read again");
    let reread_at = Instant::now();

    // The key endpoint goes away: stale keys keep serving for one more max-age...
    server.kill();
    sleep_until(reread_at + max_age + Duration::from_millis(50)).await;
    assert_eq!(browser.get("/api/me").await.status, StatusCode::OK);
    // ...and no longer after that: a retired key cannot verify forever.
    sleep_until(reread_at + max_age * 2 + Duration::from_millis(50)).await;
    let late = browser.get("/api/me").await;
    assert_eq!(late.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!late.clears(), "a server fault is not the client's");
}

#[tokio::test]
async fn claims_changed_on_the_server_reach_the_client_through_the_reissue_layer() {
    let server = Server::start("").await;
    let remote = remote(&server).await;
    let (mut browser, _tessera, _strict) = apps(&remote, SessionLayerConfig::default());
    let login = browser.post("/login").await;
    let handle = front_token(&login)["up"]["sessionHandle"]
        .as_str()
        .unwrap()
        .to_owned();
    // An admin tool changes the session's claims on the server (CDI `PUT /recipe/jwt/data`).
    let changed = reqwest::Client::new()
        .put(format!("{}/recipe/jwt/data", server.url))
        .header("cdi-version", "5.4")
        .json(&json!({"sessionHandle": handle, "userDataInJWT": {"plan": "pro"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);

    let checked = Tessera::new(
        remote.clone(),
        SessionLayerConfig::default().with_check_database(true),
    );
    let mut layered = Browser {
        app: app(checked).layer(TokenReissueLayer),
        ..browser.clone()
    };
    let before = layered.access_token();
    let me = layered.get("/api/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["payload"]["plan"], "pro", "the handler sees it");
    assert_eq!(
        front_token(&me)["up"]["plan"],
        "pro",
        "and so does the client"
    );
    assert_ne!(
        layered.access_token(),
        before,
        "with a new access-token cookie"
    );
    // The stateless app verifies the new token locally and sees the new claims.
    browser.cookies = layered.cookies.clone();
    assert_eq!(browser.get("/api/me").await.body["payload"]["plan"], "pro");
}

/// The token's header with another `kid`; claims and signature unchanged.
fn with_kid(token: &str, kid: &str) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    let header = json!({"alg": "RS256", "kid": kid, "typ": "JWT", "version": "5"});
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

async fn sleep_until(instant: Instant) {
    tokio::time::sleep_until(instant.into()).await;
}

#[tokio::test]
async fn unknown_kids_refetch_the_jwks_at_most_once_per_second() {
    let server = Server::start("").await;
    // Lazy: the keys are read on the first verification.
    let remote = RemoteSessions::new(RemoteConfig::new(&server.url)).unwrap();
    let (mut browser, tessera, _) = apps(&remote, SessionLayerConfig::default());
    browser.post("/login").await;
    assert_eq!(server.requests(JWKS).await, 0);
    assert_eq!(browser.get("/api/me").await.status, StatusCode::OK);
    let first_fetch = Instant::now();
    assert_eq!(server.requests(JWKS).await, 1);

    // A static key is created on the server after the keys were read: its kid is new here.
    let bob = tessera
        .backend()
        .create_new_session(NewSession::new("bob").key_kind(KeyKind::Static))
        .await
        .unwrap();
    let bearer = format!("Bearer {}", bob.access_token.token.expose());
    sleep_until(first_fetch + Duration::from_millis(1100)).await;
    let me = browser
        .send(Method::GET, "/api/me", &[("authorization", &bearer)])
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["user"], "bob");
    let second_fetch = Instant::now();
    assert_eq!(server.requests(JWKS).await, 2);

    // Forged kids sent at once: each asks for a refresh, and together they cost one read.
    let genuine = browser.access_token();
    let forged: Vec<_> = (0..30)
        .map(|i| format!("Bearer {}", with_kid(&genuine, &format!("d-forged-{i}"))))
        .collect();
    for reply in concurrently(&browser.app, forged).await {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.message(), "try refresh token");
        assert!(!reply.clears());
    }
    assert_eq!(
        server.requests(JWKS).await,
        3,
        "one read for 30 forged kids"
    );
    assert!(
        second_fetch.elapsed() >= Duration::from_secs(1),
        "and not within the interval"
    );

    // A key the server creates during a stream of forged kids still becomes known: a token
    // with an unknown kid waits for the interval to pass rather than being told to refresh.
    let carol = tessera
        .backend()
        .create_new_session(NewSession::new("carol").key_kind(KeyKind::Static))
        .await
        .unwrap();
    let carols = format!("Bearer {}", carol.access_token.token.expose());
    let storm = vec![
        format!("Bearer {}", with_kid(&genuine, "d-forged-storm")),
        carols,
    ];
    let replies = concurrently(&browser.app, storm).await;
    assert_eq!(replies[0].status, StatusCode::UNAUTHORIZED);
    assert_eq!(replies[1].status, StatusCode::OK, "{}", replies[1].body);
    assert_eq!(replies[1].body["user"], "carol");
    assert_eq!(server.requests(JWKS).await, 4);
    assert_eq!(server.requests(VERIFY).await, 0);
}

/// Sends `GET /api/me` with each Authorization value at once; the replies in the same order.
async fn concurrently(app: &Router, authorizations: Vec<String>) -> Vec<Reply> {
    let tasks: Vec<_> = authorizations
        .into_iter()
        .map(|authorization| {
            let mut browser = Browser::new(app.clone());
            tokio::spawn(async move {
                browser
                    .send(Method::GET, "/api/me", &[("authorization", &authorization)])
                    .await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}

#[tokio::test]
async fn an_expired_access_token_asks_for_a_refresh() {
    let server = Server::start("access_token_validity: 2\n").await;
    let remote = remote(&server).await;
    let (mut browser, _tessera, _) = apps(&remote, SessionLayerConfig::default());
    let login = browser.post("/login").await;
    let expiry_ms = front_token(&login)["ate"].as_i64().unwrap();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let wait = u64::try_from(expiry_ms - now_ms).unwrap_or(0) + 20;
    sleep_until(Instant::now() + Duration::from_millis(wait)).await;

    let expired = browser.get("/api/me").await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.message(), "try refresh token");
    assert!(!expired.clears());
    assert_eq!(server.requests(VERIFY).await, 0);

    assert_eq!(
        browser.post("/auth/session/refresh").await.status,
        StatusCode::OK
    );
    assert_eq!(browser.get("/api/me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn anti_csrf_via_token_is_checked_locally_and_on_refresh() {
    let server = Server::start("").await;
    let remote = remote(&server).await;
    let config = SessionLayerConfig::default().with_anti_csrf(AntiCsrfMode::ViaToken);
    let (mut browser, _tessera, _) = apps(&remote, config);
    let login = browser.post("/login").await;
    let anti_csrf = login.headers["anti-csrf"].to_str().unwrap().to_owned();

    let missing = browser.post("/api/me").await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.message(), "try refresh token");
    let wrong = browser
        .send(Method::POST, "/api/me", &[("anti-csrf", "wrong")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let right = browser
        .send(Method::POST, "/api/me", &[("anti-csrf", &anti_csrf)])
        .await;
    assert_eq!(right.status, StatusCode::OK);

    // A forged refresh lacks the token: refused, and the user stays signed in.
    let forged = browser.post("/auth/session/refresh").await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert!(!forged.clears());
    let refreshed = browser
        .send(
            Method::POST,
            "/auth/session/refresh",
            &[("anti-csrf", &anti_csrf)],
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let next = refreshed.headers["anti-csrf"].to_str().unwrap().to_owned();
    let me = browser
        .send(Method::POST, "/api/me", &[("anti-csrf", &next)])
        .await;
    assert_eq!(me.status, StatusCode::OK);
    // The refreshed access token's first verification went to the server (it commits the new
    // refresh token there); the one handed back in its place is checked here.
    assert_eq!(server.requests(VERIFY).await, 1);
    let me = browser
        .send(Method::POST, "/api/me", &[("anti-csrf", &next)])
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(server.requests(VERIFY).await, 1);
}

/// A payload too large for a verifiable token is refused by the server before anything is
/// created, and the remote back end hands the caller the same typed error as the engine.
#[tokio::test]
async fn an_oversized_session_is_refused_with_the_typed_error() {
    let server = Server::start("").await;
    let remote = remote(&server).await;
    let refused = remote
        .create_new_session(
            NewSession::new("u").access_token_payload(
                json!({"filler": "x".repeat(tessera_core::MAX_ACCESS_TOKEN_LEN)})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await;
    match refused {
        Err(tessera_core::SessionError::General(tessera_core::GeneralError::TokenTooLarge {
            length,
            limit,
        })) => {
            assert_eq!(limit, tessera_core::MAX_ACCESS_TOKEN_LEN);
            assert!(length > limit);
        }
        other => panic!("{other:?}"),
    }
}

/// A session revoked through the server by anyone (here an admin tool calling CDI) is refused by
/// the remote back end's local verification once its follower has read the server's revocation
/// log: within the poll interval, without a request per verification.
#[tokio::test]
async fn sessions_revoked_elsewhere_are_refused_within_the_poll_interval() {
    let server = Server::start("").await;
    let remote = remote(&server).await;
    let (mut browser, _tessera, _strict) = apps(&remote, SessionLayerConfig::default());
    let login = browser.post("/login").await;
    let handle = front_token(&login)["up"]["sessionHandle"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(browser.get("/api/me").await.status, StatusCode::OK);
    let interval = Duration::from_millis(200);
    let follower = remote.spawn_revocation_follower(interval);
    let removed = reqwest::Client::new()
        .post(format!("{}/recipe/session/remove", server.url))
        .header("cdi-version", "5.4")
        .json(&json!({"sessionHandles": [handle]}))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    let revoked_at = Instant::now();
    loop {
        let reply = browser.get("/api/me").await;
        if reply.status == StatusCode::UNAUTHORIZED {
            assert!(reply.clears());
            break;
        }
        assert_eq!(reply.status, StatusCode::OK);
        assert!(
            revoked_at.elapsed() < interval * 3,
            "still accepted {:?} after the revocation",
            revoked_at.elapsed()
        );
        tokio::task::yield_now().await;
    }
    follower.abort();
}
