//! The same flow on the embedded SQLite store, as a deployed app runs it: login, protected call,
//! refresh, signout, and the revoked refresh token refused.

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
    let app = Router::new()
        .route("/login", post(login))
        .route("/api/me", get(me))
        .merge(tessera.router())
        .with_state(tessera);

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
