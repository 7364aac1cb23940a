//! Device-bound sessions over HTTP, as Chromium drives them (registration, 403 challenge,
//! proven refresh, `"continue": false`), over the engine and over a `tessera` server. The
//! browser's part is played with tessera-core's `TestDevice`; `scripts/test.sh` runs the same
//! flows in Chromium itself (`examples/demo/browser-tests.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::any::Any;

use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use tessera_axum::{Backend, DeviceBindingConfig, Error, Session, SessionLayerConfig, Tessera};
use tessera_core::testing::TestDevice;
use tessera_core::{SessionConfig, Sessions};

mod support;
use support::Resp;

async fn login(State(t): State<Tessera>, headers: HeaderMap) -> Result<impl IntoResponse, Error> {
    let tokens = t
        .create_new_session(&headers, "alice", Map::new(), json!({}))
        .await?;
    Ok((tokens, Json(json!({"status": "OK"}))))
}

async fn me(session: Session) -> Json<Value> {
    Json(json!({"user": session.user_id(), "handle": session.handle()}))
}

async fn revoke(State(t): State<Tessera>, session: Session) -> Result<Json<Value>, Error> {
    t.backend()
        .revoke_session(session.handle())
        .await
        .map_err(|e| t.invalid_claim(vec![json!(e.to_string())]))?;
    Ok(Json(json!({"revoked": true})))
}

struct App {
    router: Router,
    _keep: Box<dyn Any + Send>,
}

fn app_over(backend: impl Into<Backend>, keep: Box<dyn Any + Send>) -> App {
    let config = SessionLayerConfig::default()
        .with_cookie_secure(true)
        .with_device_binding(DeviceBindingConfig::default());
    let tessera = Tessera::new(backend, config);
    let app = Router::new()
        .route("/login", post(login))
        .route("/api/me", get(me))
        .route("/api/revoke", post(revoke));
    App {
        router: tessera.install(app),
        _keep: keep,
    }
}

async fn engine() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::SqliteStore::open(dir.path().join("device.db"))
        .await
        .unwrap();
    app_over(
        Sessions::new(store, SessionConfig::default()),
        Box::new(dir),
    )
}

#[cfg(feature = "remote")]
async fn remote() -> App {
    let server = tessera_testkit::Server::start("").await;
    let remote =
        tessera_axum::RemoteSessions::connect(tessera_axum::RemoteConfig::new(&server.url))
            .await
            .unwrap();
    app_over(remote, Box::new(server))
}

/// A browser's cookie jar, as far as these routes use it.
#[derive(Clone, Default)]
struct Jar {
    access: String,
    refresh: String,
    front: Option<String>,
}

impl Jar {
    fn absorb(&mut self, resp: &Resp) {
        if let Some(c) = resp.find_cookie("sAccessToken") {
            self.access = c.value().to_owned();
        }
        if let Some(c) = resp.find_cookie("sRefreshToken") {
            self.refresh = c.value().to_owned();
        }
        if let Some(c) = resp.find_cookie("sFrontToken") {
            self.front = Some(c.value().to_owned());
        }
    }

    fn cookies(&self) -> String {
        format!(
            "sAccessToken={}; sRefreshToken={}",
            self.access, self.refresh
        )
    }
}

/// A `(name, value)` parameter of a structured header.
fn param(header: &str, name: &str) -> String {
    let start = header.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let rest = &header[start..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The challenge of `Secure-Session-Challenge: "<c>";id="<sid>"`, checking the id.
fn challenge_of(resp: &Resp, session_id: &str) -> String {
    let header = resp.header("secure-session-challenge").unwrap();
    assert_eq!(param(header, "id"), session_id);
    let rest = header.strip_prefix('"').unwrap();
    rest[..rest.find('"').unwrap()].to_owned()
}

impl App {
    async fn send(&self, request: axum::http::request::Builder) -> Resp {
        support::send(&self.router, request).await
    }

    async fn post(&self, path: &str, jar: &Jar, headers: &[(&str, &str)]) -> Resp {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("cookie", jar.cookies());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    async fn me(&self, jar: &Jar) -> Resp {
        let request = Request::builder()
            .uri("/api/me")
            .header("cookie", format!("sAccessToken={}", jar.access));
        self.send(request).await
    }

    /// Signs in and registers `device` as the browser does; the jar and the session id.
    async fn sign_in_bound(&self, device: &TestDevice) -> (Jar, String) {
        let resp = self
            .send(Request::builder().method(Method::POST).uri("/login"))
            .await;
        assert_eq!(resp.status, StatusCode::OK);
        let offer = resp
            .header("secure-session-registration")
            .unwrap()
            .to_owned();
        assert!(offer.starts_with("(ES256 RS256);"), "{offer}");
        let path = param(&offer, "path");
        assert_eq!(path, "/auth/session/refresh/device/register");
        let mut jar = Jar::default();
        jar.absorb(&resp);
        let proof = device.registration(&param(&offer, "challenge")).unwrap();
        let resp = self
            .post(&path, &jar, &[("secure-session-response", &proof)])
            .await;
        assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
        let session_id = resp.body["session_identifier"].as_str().unwrap().to_owned();
        assert_eq!(resp.body["refresh_url"], "/auth/session/refresh/device");
        assert_eq!(resp.body["scope"]["include_site"], false);
        assert_eq!(
            resp.body["credentials"],
            json!([{"type": "cookie", "name": "sAccessToken",
                    "attributes": "Path=/; Secure; HttpOnly; SameSite=Lax"}])
        );
        // The sign-in's access token, now with the bound cookie's lifetime (minutes, not a year).
        let bound = resp.cookie("sAccessToken");
        assert_eq!(bound.value(), jar.access);
        let expires = bound.expires_datetime().unwrap();
        let left = expires - cookie::time::OffsetDateTime::now_utc();
        assert!(left <= cookie::time::Duration::minutes(10), "{left}");
        assert!(left > cookie::time::Duration::minutes(5), "{left}");
        challenge_of(&resp, &session_id);
        (jar, session_id)
    }

    /// The browser's refresh: first without a proof (403 and a challenge), then with one.
    async fn device_refresh(&self, device: &TestDevice, jar: &mut Jar, session_id: &str) -> Resp {
        let path = "/auth/session/refresh/device";
        let resp = self
            .post(path, jar, &[("sec-secure-session-id", session_id)])
            .await;
        if resp.status != StatusCode::FORBIDDEN {
            return resp;
        }
        let proof = device.renewal(&challenge_of(&resp, session_id)).unwrap();
        let resp = self
            .post(
                path,
                jar,
                &[
                    ("sec-secure-session-id", session_id),
                    ("secure-session-response", &proof),
                ],
            )
            .await;
        jar.absorb(&resp);
        resp
    }
}

async fn a_registered_device_renews_its_session_and_nothing_else_can(app: App) {
    let device = TestDevice::es256().unwrap();
    let (mut jar, session_id) = app.sign_in_bound(&device).await;
    let me = app.me(&jar).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["handle"], session_id);
    let copy = jar.clone();
    for _ in 0..3 {
        let before = jar.clone();
        let resp = app.device_refresh(&device, &mut jar, &session_id).await;
        assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
        assert_eq!(resp.body["session_identifier"], session_id);
        assert_ne!(jar.access, before.access);
        assert_ne!(jar.refresh, before.refresh);
        // The frontend SDK reads the new token's front token from its cookie.
        let front = jar.front.clone().unwrap();
        assert_eq!(front, resp.header("front-token").unwrap());
        challenge_of(&resp, &session_id);
        // The renewed token's first use re-mints it without its parent's name; the cookie that
        // carries it keeps the bound lifetime, or it would outlive its token and the SDK's
        // refresh after it would be taken for a copy's.
        let first_use = app.me(&jar).await;
        assert_eq!(first_use.status, StatusCode::OK);
        let reminted = first_use.cookie("sAccessToken");
        let left = reminted.expires_datetime().unwrap() - cookie::time::OffsetDateTime::now_utc();
        assert!(left <= cookie::time::Duration::minutes(10), "{left}");
        jar.absorb(&first_use);
        assert_eq!(app.me(&jar).await.status, StatusCode::OK);
    }
    // A proof from another key, or a proof replayed after the refresh it answered: refused.
    let intruder = TestDevice::es256().unwrap();
    let resp = app
        .post(
            "/auth/session/refresh/device",
            &jar,
            &[("sec-secure-session-id", &session_id)],
        )
        .await;
    let challenge = challenge_of(&resp, &session_id);
    let forged = intruder.renewal(&challenge).unwrap();
    let resp = app
        .post(
            "/auth/session/refresh/device",
            &jar,
            &[
                ("sec-secure-session-id", &session_id),
                ("secure-session-response", &forged),
            ],
        )
        .await;
    assert_eq!(resp.body["continue"], false, "{:?}", resp.body);
    // The copied jar (taken at sign-in, its tokens long rotated) refreshes as the SDK would:
    // theft, and the session is over for the device too.
    let mut thief = copy;
    thief.access.clear();
    let resp = app.post("/auth/session/refresh", &thief, &[]).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "token theft detected"}));
    let resp = app.device_refresh(&device, &mut jar, &session_id).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(
        resp.body,
        json!({"session_identifier": session_id, "continue": false})
    );
    assert!(resp.clears());
}

async fn a_copy_of_a_fresh_jar_is_theft_at_its_first_refresh(app: App) {
    let device = TestDevice::es256().unwrap();
    let (jar, session_id) = app.sign_in_bound(&device).await;
    // The copy holds the current refresh token: without the key, refreshing it is theft at once,
    // not a rotation that would give the thief a branch of its own.
    let mut thief = jar.clone();
    thief.access.clear();
    let resp = app.post("/auth/session/refresh", &thief, &[]).await;
    assert_eq!(resp.body, json!({"message": "token theft detected"}));
    assert_eq!(app.me(&jar).await.status, StatusCode::UNAUTHORIZED);
    let mut jar = jar;
    let resp = app.device_refresh(&device, &mut jar, &session_id).await;
    assert_eq!(resp.body["continue"], false);
}

async fn the_sdks_own_refresh_beside_the_device_renews_nothing(app: App) {
    let device = TestDevice::es256().unwrap();
    let (mut jar, session_id) = app.sign_in_bound(&device).await;
    let resp = app.device_refresh(&device, &mut jar, &session_id).await;
    assert_eq!(resp.status, StatusCode::OK);
    // The SDK refreshes too, carrying the access token the device refresh just set (unused
    // yet): it gets that token's front token, and nothing rotates.
    let resp = app.post("/auth/session/refresh", &jar, &[]).await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    assert!(resp.header("front-token").is_some());
    assert!(resp.find_cookie("sRefreshToken").is_none());
    jar.absorb(&resp);
    assert_eq!(app.me(&jar).await.status, StatusCode::OK);
    let resp = app.device_refresh(&device, &mut jar, &session_id).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body["session_identifier"], session_id);
}

async fn a_renewal_the_browser_could_not_make_is_retried_not_theft(app: App) {
    let device = TestDevice::es256().unwrap();
    let (mut jar, session_id) = app.sign_in_bound(&device).await;
    // The server failed the browser's renewal (or its signing quota was spent): the browser
    // sends the page's requests without the bound cookie, saying so, and the SDK refreshes.
    let mut without_cookie = jar.clone();
    without_cookie.access.clear();
    let skipped = format!("server_error;session_identifier=\"{session_id}\"");
    let resp = app
        .post(
            "/auth/session/refresh",
            &without_cookie,
            &[("secure-session-skipped", &skipped)],
        )
        .await;
    assert_eq!(
        resp.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        resp.body
    );
    assert_eq!(resp.header("retry-after"), Some("5"));
    assert!(resp.find_cookie("sRefreshToken").is_none());
    assert!(!resp.clears());
    // Nothing was renewed and nothing revoked: the device's next renewal goes through.
    assert_eq!(app.me(&jar).await.status, StatusCode::OK);
    let resp = app.device_refresh(&device, &mut jar, &session_id).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body["session_identifier"], session_id);
    // Without the header, the same request is a copy's: theft.
    let mut copy = jar.clone();
    copy.access.clear();
    let resp = app.post("/auth/session/refresh", &copy, &[]).await;
    assert_eq!(resp.body, json!({"message": "token theft detected"}));
}

async fn revocation_ends_the_browsers_bound_session(app: App) {
    let device = TestDevice::es256().unwrap();
    let (mut jar, session_id) = app.sign_in_bound(&device).await;
    let resp = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/revoke")
                .header("cookie", format!("sAccessToken={}", jar.access)),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    let resp = app.device_refresh(&device, &mut jar, &session_id).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body["continue"], false);
    // A browser naming a bound session the jar no longer belongs to is told it is over, too.
    let other = TestDevice::es256().unwrap();
    let (mut second, _) = app.sign_in_bound(&other).await;
    let resp = app
        .device_refresh(&other, &mut second, "an-old-session")
        .await;
    assert_eq!(
        resp.body,
        json!({"session_identifier": "an-old-session", "continue": false})
    );
    assert!(!resp.clears());
}

async fn browsers_without_dbsc_keep_unbound_sessions(app: App) {
    let resp = app
        .send(Request::builder().method(Method::POST).uri("/login"))
        .await;
    let mut jar = Jar::default();
    jar.absorb(&resp);
    // The browser ignores the offer: the SDK's refresh rotates as always.
    for _ in 0..2 {
        let resp = app.post("/auth/session/refresh", &jar, &[]).await;
        assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
        let before = jar.refresh.clone();
        jar.absorb(&resp);
        assert_ne!(jar.refresh, before);
        assert_eq!(app.me(&jar).await.status, StatusCode::OK);
    }
    // Malformed DBSC requests are clear 4xx answers.
    let resp = app.post("/auth/session/refresh/device", &jar, &[]).await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    let resp = app
        .post("/auth/session/refresh/device/register", &jar, &[])
        .await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    let resp = app
        .post(
            "/auth/session/refresh/device/register",
            &jar,
            &[("secure-session-response", "a.b.c")],
        )
        .await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
}

macro_rules! device_tests {
    ($module:ident, $open:expr) => {
        mod $module {
            use super::*;
            device_tests!(@each $open;
                a_registered_device_renews_its_session_and_nothing_else_can,
                a_copy_of_a_fresh_jar_is_theft_at_its_first_refresh,
                the_sdks_own_refresh_beside_the_device_renews_nothing,
                a_renewal_the_browser_could_not_make_is_retried_not_theft,
                revocation_ends_the_browsers_bound_session,
                browsers_without_dbsc_keep_unbound_sessions
            );
        }
    };
    (@each $open:expr; $($name:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                super::$name($open.await).await;
            }
        )*
    };
}

device_tests!(over_the_engine, engine());
#[cfg(feature = "remote")]
device_tests!(over_a_tessera_server, remote());
