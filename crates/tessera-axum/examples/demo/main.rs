//! Tessera's demo: a login form, a protected "home feed" API and sign-out, on one page that uses
//! the unmodified SuperTokens frontend SDK (supertokens-web-js's `supertokensWebsite` bundle,
//! installed from npm) to refresh sessions by itself.
//!
//! ```text
//! npm ci --prefix crates/tessera-axum/examples/demo
//! cargo run -p tessera-axum --example demo
//! ```
//!
//! Then open <http://127.0.0.1:3000>, sign in with any user name and the password `tessera-demo`.
//!
//! Settings, all optional, from the environment:
//! - `PORT` (3000); the demo listens on 127.0.0.1 only.
//! - `DATABASE`: the SQLite file (`tessera-demo.db` in the working directory).
//! - `ACCESS_TOKEN_VALIDITY`: seconds (30, short so that refreshes show).
//! - `REFRESH_GRACE_PERIOD`: seconds a rotated refresh token stays usable for racing tabs (30).
//! - `SESSION_EXPIRED_STATUS`: 401, or 440 as in the 2020 SDKs; the page tells the SDK.
//! - `ANTI_CSRF`: `none` (default for this same-origin, SameSite=Lax app), `via-token` or
//!   `via-custom-header`.
//! - `CHECK_DATABASE`: `true` (default) makes sign-out and theft revocation take effect on the
//!   next API call; `false` verifies access tokens without the store.
//! - `SDK_BUNDLE_DIR`: where supertokens-web-js's `bundle/` is (this example's `node_modules`).
//! - `TESSERA_URL` (and `TESSERA_API_KEY`): keep sessions in a standalone `tessera` server instead
//!   of the embedded SQLite file; access tokens are still verified here, against its JWKS. Needs
//!   the `remote` feature: `cargo run -p tessera-axum --features remote --example demo`. The
//!   token lifetimes are then the server's, and `DATABASE`, `ACCESS_TOKEN_VALIDITY` and
//!   `REFRESH_GRACE_PERIOD` are not used.
//!
//! - `DEVICE_BINDING`: `true` offers device-bound sessions (DBSC) to browsers that support them,
//!   and serves the demo over HTTPS with a self-signed certificate made at start (its SPKI hash is
//!   printed, for `chromium --ignore-certificate-errors-spki-list`); default `false`.
//! - `BOUND_COOKIE_LIFETIME`: seconds the bound access-token cookie lives before the browser
//!   renews it with its key (600). With device binding, `ACCESS_TOKEN_VALIDITY` defaults to it.
//!
//! - `CORS_ORIGINS`: comma-separated origins (e.g. `http://localhost:3000`) whose pages may call
//!   this API from another origin; the page takes `?api=<this server's origin>` to do so.
//!
//! The page takes `?transfer=header` to run the SDK in header mode instead of cookies.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;
use tessera_axum::{cors_layer, Error, Session, Tessera, TokenReissueLayer};
use tessera_core::constant_time_eq;

mod shared;
mod tls;
use shared::{Settings, PASSWORD, SDK_PATH};

/// The app's state: the session layer plus what the page needs.
#[derive(Clone)]
struct Demo {
    tessera: Tessera,
    page: Arc<str>,
    sdk: Arc<str>,
}

impl axum::extract::FromRef<Demo> for Tessera {
    fn from_ref(demo: &Demo) -> Tessera {
        demo.tessera.clone()
    }
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login(
    State(demo): State<Demo>,
    headers: HeaderMap,
    Json(login): Json<Login>,
) -> Result<Response, Error> {
    let username = login.username.trim();
    // The demo's whole user database: any name, one shared password.
    if username.is_empty() || !constant_time_eq(&login.password, PASSWORD) {
        let body = json!({"status": "WRONG_CREDENTIALS_ERROR"});
        return Ok((StatusCode::OK, Json(body)).into_response());
    }
    let mut payload = Map::new();
    payload.insert("name".to_owned(), Value::from(username));
    let tokens = demo
        .tessera
        .create_new_session(&headers, username, payload, json!({"logins": 1}))
        .await?;
    Ok((tokens, Json(json!({"status": "OK", "userId": username}))).into_response())
}

async fn feed(State(demo): State<Demo>, session: Session) -> Result<Json<Value>, StatusCode> {
    shared::feed(&demo.tessera, &session)
        .await
        .map(Json)
        .ok_or(StatusCode::INTERNAL_SERVER_ERROR)
}

async fn home(session: Session) -> Html<String> {
    Html(shared::home_page(&session))
}

async fn serve_page(State(demo): State<Demo>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Html(demo.page.to_string()),
    )
}

async fn serve_sdk(State(demo): State<Demo>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        demo.sdk.to_string(),
    )
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    let sdk = shared::read_sdk_bundle(&settings.sdk_bundle_dir)?;
    let backend = shared::backend(&settings).await?;
    let layer = shared::layer_config(&settings);
    let page = shared::page(&settings, &layer);
    let tessera = Tessera::new(backend, layer);
    let demo = Demo {
        tessera: tessera.clone(),
        page: page.into(),
        sdk: sdk.into(),
    };
    let cors_origins: Vec<HeaderValue> = settings
        .cors_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    let app = Router::new()
        .route("/", get(serve_page))
        .route(SDK_PATH, get(serve_sdk))
        .route("/login", post(login))
        .route("/api/feed", get(feed))
        .route("/home", get(home))
        .merge(tessera.router())
        // With CHECK_DATABASE, claims changed on the server reach the page on its next call.
        .layer(TokenReissueLayer)
        .with_state(demo);
    // Outermost, so that preflights are answered before any extractor runs.
    let app = if cors_origins.is_empty() {
        app
    } else {
        app.layer(cors_layer(cors_origins))
    };
    if settings.device_binding.is_some() {
        return serve_https(settings.port, app).await;
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", settings.port)).await?;
    // Tests start the demo on port 0 and read the address from this line.
    println!(
        "tessera demo listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Serves over HTTPS with a certificate made now, printing its address and SPKI hash.
async fn serve_https(port: u16, app: Router) -> Result<(), Box<dyn std::error::Error>> {
    let tls = tls::self_signed()?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    let address = listener.local_addr()?;
    println!(
        "tessera demo listening on https://{address} (certificate SPKI SHA-256: {})",
        tls.spki_sha256
    );
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stopping.graceful_shutdown(Some(Duration::from_secs(5)));
    });
    let mut config = tls.config;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let config = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config));
    axum_server::from_tcp_rustls(listener, config)
        .handle(handle)
        .serve(app.into_make_service())
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera demo: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
