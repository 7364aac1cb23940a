//! tessera-axum's token extraction and verification on a protected route and on the refresh
//! route: any `Cookie`, `Authorization`, `anti-csrf`, `rid` or `st-auth-mode` header gets a 200,
//! a 401 or a 4xx, never a 500 or a panic, and only a genuine token is let in. The input is split
//! on NUL bytes into those header values; `@AT@`, `@RT@` and `@CSRF@` in it stand for a genuine
//! session's access token, refresh token and anti-CSRF token, so the fuzzer can reach past the
//! signature check.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{HeaderValue, Request};
use axum::routing::get;
use axum::Router;
use libfuzzer_sys::fuzz_target;
use tessera_axum::{Session, SessionLayerConfig, Tessera, TokenReissueLayer};
use tessera_core::testing::MemoryStore;
use tessera_core::{NewSession, SessionConfig, Sessions};
use tower::ServiceExt;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    app: Router,
    access_token: String,
    refresh_token: String,
    anti_csrf: String,
}

async fn me(session: Session) -> String {
    session.user_id().to_owned()
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let sessions = Sessions::new(MemoryStore::default(), SessionConfig::default());
        let created = runtime
            .block_on(sessions.create_new_session(NewSession::new("fuzz-user").anti_csrf(true)))
            .expect("a session");
        let tessera = Tessera::new(sessions, SessionLayerConfig::default());
        let app = Router::new()
            .route("/api/me", get(me))
            .merge(tessera.router())
            .layer(TokenReissueLayer)
            .with_state(tessera);
        Fixture {
            runtime,
            app,
            access_token: created.access_token.token.expose().to_owned(),
            refresh_token: created.refresh_token.token.expose().to_owned(),
            anti_csrf: created
                .anti_csrf_token
                .map(|t| t.expose().to_owned())
                .unwrap_or_default(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut fields = data.split(|b| *b == 0);
    let mut next = || {
        let field = String::from_utf8_lossy(fields.next().unwrap_or_default())
            .replace("@AT@", &f.access_token)
            .replace("@RT@", &f.refresh_token)
            .replace("@CSRF@", &f.anti_csrf);
        HeaderValue::from_str(&field).ok()
    };
    let (cookie, authorization, anti_csrf, rid, auth_mode) =
        (next(), next(), next(), next(), next());
    for (method, path) in [("GET", "/api/me"), ("POST", "/auth/session/refresh")] {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in [
            ("cookie", &cookie),
            ("authorization", &authorization),
            ("anti-csrf", &anti_csrf),
            ("rid", &rid),
            ("st-auth-mode", &auth_mode),
        ] {
            if let Some(value) = value {
                request = request.header(name, value.clone());
            }
        }
        let Ok(request) = request.body(Body::empty()) else {
            return;
        };
        let response = f
            .runtime
            .block_on(f.app.clone().oneshot(request))
            .expect("infallible");
        let status = response.status();
        assert!(!status.is_server_error(), "{status} for input {data:?}");
        if status.is_success() && path == "/api/me" {
            let body = f
                .runtime
                .block_on(axum::body::to_bytes(response.into_body(), 1024))
                .expect("a body");
            assert_eq!(&body[..], b"fuzz-user");
        }
    }
});
