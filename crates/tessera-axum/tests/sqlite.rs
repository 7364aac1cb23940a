//! The same flow on the embedded SQLite store, as a deployed app runs it: login, protected call,
//! refresh, signout, and the revoked refresh token refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use tessera_axum::{Error, Session, SessionLayerConfig, Tessera};
use tessera_core::{SessionConfig, Sessions};
use tessera_store::SqliteStore;
use tower::ServiceExt;

async fn login(State(t): State<Tessera>, headers: HeaderMap) -> Result<impl IntoResponse, Error> {
    let tokens = t
        .create_new_session(&headers, "bob", Map::new(), Value::Null)
        .await?;
    Ok((tokens, Json(json!({"status": "OK"}))))
}

async fn me(session: Session) -> String {
    session.user_id().to_owned()
}

fn cookie_value(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| cookie::Cookie::parse(v.to_str().ok()?.to_owned()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .unwrap()
}

async fn call(app: &Router, method: Method, uri: &str, cookie: &str) -> (StatusCode, HeaderMap) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(request).await.unwrap();
    (resp.status(), resp.headers().clone())
}

#[tokio::test]
async fn full_flow_on_sqlite() {
    let path = std::env::temp_dir().join(format!("tessera-axum-{}.db", std::process::id()));
    let store = SqliteStore::open(&path).await.unwrap();
    let tessera = Tessera::new(
        Sessions::new(store, SessionConfig::default()),
        SessionLayerConfig::default(),
    );
    // `install` adds the refresh and sign-out routes, the reissue layer and the state.
    let app = tessera.install(
        Router::new()
            .route("/login", post(login))
            .route("/api/me", get(me)),
    );

    let (status, headers) = call(&app, Method::POST, "/login", "").await;
    assert_eq!(status, StatusCode::OK);
    let access = cookie_value(&headers, "sAccessToken");
    let refresh = cookie_value(&headers, "sRefreshToken");

    let (status, _) = call(
        &app,
        Method::GET,
        "/api/me",
        &format!("sAccessToken={access}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let refresh_cookie = format!("sRefreshToken={refresh}");
    let (status, headers) =
        call(&app, Method::POST, "/auth/session/refresh", &refresh_cookie).await;
    assert_eq!(status, StatusCode::OK);
    let access = cookie_value(&headers, "sAccessToken");
    let refresh = cookie_value(&headers, "sRefreshToken");
    // The first use of the refreshed access token commits the refresh and hands back a token
    // that stays off the store: delivered by the layer `install` added.
    let (status, headers) = call(
        &app,
        Method::GET,
        "/api/me",
        &format!("sAccessToken={access}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let reissued = cookie_value(&headers, "sAccessToken");
    assert_ne!(reissued, access);

    let access_cookie = format!("sAccessToken={access}");
    let (status, _) = call(&app, Method::POST, "/auth/signout", &access_cookie).await;
    assert_eq!(status, StatusCode::OK);
    let refresh_cookie = format!("sRefreshToken={refresh}");
    let (status, _) = call(&app, Method::POST, "/auth/session/refresh", &refresh_cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

async fn tenant_login(
    State(t): State<Tessera>,
    axum::extract::Path(tenant): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, Error> {
    let new = tessera_core::NewSession::new("carol").tenant_id(tenant);
    let tokens = t.start_session(&headers, new).await?;
    Ok((tokens, Json(json!({"status": "OK"}))))
}

async fn whose(session: Session) -> String {
    format!("{}@{}", session.user_id(), session.tenant_id())
}

/// An app serving several tenants takes the tenant per request (here from the path): each login
/// starts a session in its tenant, the session says which, and revoking the user in one tenant
/// leaves the other signed in.
#[tokio::test]
async fn the_tenant_is_chosen_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("tenants.db"))
        .await
        .unwrap();
    let tessera = Tessera::new(
        Sessions::new(store, SessionConfig::default()),
        SessionLayerConfig::default(),
    );
    let app = Router::new()
        .route("/{tenant}/login", post(tenant_login))
        .route("/api/whoami", get(whose))
        .with_state(tessera.clone());
    let mut cookies = Vec::new();
    for tenant in ["acme", "globex"] {
        let (status, headers) = call(&app, Method::POST, &format!("/{tenant}/login"), "").await;
        assert_eq!(status, StatusCode::OK);
        cookies.push(format!(
            "sAccessToken={}",
            cookie_value(&headers, "sAccessToken")
        ));
    }
    for (cookie, expected) in cookies.iter().zip(["carol@acme", "carol@globex"]) {
        let request = Request::builder()
            .uri("/api/whoami")
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(body, expected.as_bytes());
    }
    let backend = tessera.backend();
    let revoked = backend
        .revoke_all_sessions_for_user("carol", Some("acme"))
        .await
        .unwrap();
    assert_eq!(revoked.len(), 1);
    let (acme, _) = call(&app, Method::GET, "/api/whoami", &cookies[0]).await;
    let (globex, _) = call(&app, Method::GET, "/api/whoami", &cookies[1]).await;
    assert_eq!((acme, globex), (StatusCode::UNAUTHORIZED, StatusCode::OK));
}
