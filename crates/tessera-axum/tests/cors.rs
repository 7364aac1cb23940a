//! CORS for a cross-origin website: exact origin, credentials, the SDK's headers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use tessera_axum::cors_layer;
use tower::ServiceExt;

fn app() -> Router {
    Router::new()
        .route("/api/me", get(|| async { "ok" }).post(|| async { "ok" }))
        .layer(cors_layer([HeaderValue::from_static("http://app.example")]))
}

#[tokio::test]
async fn preflight_from_the_website_is_allowed_with_credentials() {
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/me")
        .header("origin", "http://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "rid,st-auth-mode,anti-csrf",
        )
        .body(Body::empty())
        .unwrap();
    let resp = app().oneshot(request).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "http://app.example");
    assert_eq!(h["access-control-allow-credentials"], "true");
    let allowed = h["access-control-allow-headers"].to_str().unwrap();
    for name in [
        "rid",
        "fdi-version",
        "anti-csrf",
        "authorization",
        "st-auth-mode",
    ] {
        assert!(allowed.contains(name), "{name} allowed");
    }
}

#[tokio::test]
async fn responses_expose_the_session_headers() {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/me")
        .header("origin", "http://app.example")
        .body(Body::empty())
        .unwrap();
    let resp = app().oneshot(request).await.unwrap();
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "http://app.example");
    let exposed = h["access-control-expose-headers"].to_str().unwrap();
    for name in [
        "front-token",
        "anti-csrf",
        "st-access-token",
        "st-refresh-token",
    ] {
        assert!(exposed.contains(name), "{name} exposed");
    }
}

#[tokio::test]
async fn other_origins_get_no_cors_headers() {
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/me")
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .unwrap();
    let resp = app().oneshot(request).await.unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}
