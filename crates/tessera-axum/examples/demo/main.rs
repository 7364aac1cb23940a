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
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tessera_axum::{
    cors_layer, AntiCsrfMode, Backend, DeviceBindingConfig, Error, HtmlRefresh, Session,
    SessionLayerConfig, Tessera, TokenReissueLayer,
};

mod tls;
use tessera_core::{constant_time_eq, SessionConfig, Sessions};
use tessera_store::SqliteStore;

const PASSWORD: &str = "tessera-demo";
const PAGE: &str = include_str!("page.html");
const SDK_PATH: &str = "/sdk/website.js";

/// Everything the demo reads from its environment.
struct Settings {
    port: u16,
    database: PathBuf,
    access_token_validity: Duration,
    grace_period: Duration,
    expired_status: StatusCode,
    anti_csrf: AntiCsrfMode,
    check_database: bool,
    sdk_bundle_dir: PathBuf,
    /// A `tessera` server to use instead of the embedded engine, with its API key.
    remote: Option<(String, Option<String>)>,
    /// Origins admitted cross-origin.
    cors_origins: Vec<HeaderValue>,
    /// Device binding, with the bound cookie's lifetime; HTTPS when on.
    device_binding: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
enum SettingsError {
    #[error("{name}={value:?} is not valid: {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

fn env_or<T>(
    name: &'static str,
    default: T,
    expected: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, SettingsError> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(value) => parse(value.trim()).ok_or(SettingsError::Invalid {
            name,
            value,
            expected,
        }),
    }
}

impl Settings {
    fn from_env() -> Result<Self, SettingsError> {
        let seconds = |s: &str| s.parse::<u64>().ok().map(Duration::from_secs);
        let device_binding = env_or("DEVICE_BINDING", false, "true or false", |s| s.parse().ok())?;
        let bound_cookie_lifetime = env_or(
            "BOUND_COOKIE_LIFETIME",
            Duration::from_secs(600),
            "whole seconds, at least 1",
            |s| seconds(s).filter(|d| !d.is_zero()),
        )?;
        // A bound cookie lives no longer than its token: with binding, tokens live as long.
        let default_validity = if device_binding {
            bound_cookie_lifetime
        } else {
            Duration::from_secs(30)
        };
        Ok(Self {
            device_binding: device_binding.then_some(bound_cookie_lifetime),
            port: env_or("PORT", 3000, "a port number", |s| s.parse().ok())?,
            database: env_or(
                "DATABASE",
                PathBuf::from("tessera-demo.db"),
                "a file path",
                |s| Some(PathBuf::from(s)),
            )?,
            access_token_validity: env_or(
                "ACCESS_TOKEN_VALIDITY",
                default_validity,
                "whole seconds, at least 1",
                |s| seconds(s).filter(|d| !d.is_zero()),
            )?,
            grace_period: env_or(
                "REFRESH_GRACE_PERIOD",
                Duration::from_secs(30),
                "whole seconds",
                seconds,
            )?,
            expired_status: env_or(
                "SESSION_EXPIRED_STATUS",
                StatusCode::UNAUTHORIZED,
                "401 or 440",
                |s| match s {
                    "401" => Some(StatusCode::UNAUTHORIZED),
                    "440" => StatusCode::from_u16(440).ok(),
                    _ => None,
                },
            )?,
            anti_csrf: env_or(
                "ANTI_CSRF",
                AntiCsrfMode::None,
                "none, via-token or via-custom-header",
                |s| match s {
                    "none" => Some(AntiCsrfMode::None),
                    "via-token" => Some(AntiCsrfMode::ViaToken),
                    "via-custom-header" => Some(AntiCsrfMode::ViaCustomHeader),
                    _ => None,
                },
            )?,
            check_database: env_or("CHECK_DATABASE", true, "true or false", |s| s.parse().ok())?,
            sdk_bundle_dir: env_or(
                "SDK_BUNDLE_DIR",
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("examples/demo/node_modules/supertokens-web-js/bundle"),
                "a directory",
                |s| Some(PathBuf::from(s)),
            )?,
            remote: std::env::var("TESSERA_URL")
                .ok()
                .map(|url| (url, std::env::var("TESSERA_API_KEY").ok())),
            cors_origins: env_or(
                "CORS_ORIGINS",
                Vec::new(),
                "comma-separated http(s) origins",
                |s| {
                    s.split(',')
                        .map(str::trim)
                        .filter(|o| !o.is_empty())
                        .map(|o| {
                            (o.starts_with("http://") || o.starts_with("https://"))
                                .then(|| HeaderValue::from_str(o).ok())
                                .flatten()
                        })
                        .collect()
                },
            )?,
        })
    }
}

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
    let user = session.user_id();
    // One store read, for the page to show whether the session is bound to this browser's key.
    let device_key = demo
        .tessera
        .backend()
        .device_thumbprint(session.handle())
        .await
        .map_err(|error| {
            eprintln!("tessera demo: reading the session's device key failed: {error}");
            StatusCode::INTERNAL_SERVER_ERROR
        })?;
    Ok(Json(json!({
        "userId": user,
        "sessionHandle": session.handle(),
        "deviceKey": device_key,
        "items": [
            format!("Welcome back, {user}."),
            "This came from GET /api/feed, behind the Session extractor.".to_owned(),
        ],
    })))
}

/// A server-rendered page behind the session: with an expired access token the layer answers
/// its refresh-and-reload page instead (`HtmlRefresh`).
async fn home(session: Session) -> Html<String> {
    let user = html_escape(session.user_id());
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Home</title>\
         <h1 id=greeting>Hello, {user}</h1><p><a href=\"/\">Back to the app</a></p>"
    ))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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

/// The SDK's `supertokensWebsite` bundle, named `website.<hash>.js` in the npm package.
fn read_sdk_bundle(dir: &Path) -> Result<String, String> {
    let hint = "install it with `npm ci --prefix crates/tessera-axum/examples/demo`";
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the SDK bundle directory {dir:?} ({e}); {hint}"))?;
    let bundle = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("website.") && name.ends_with(".js"))
        })
        .ok_or_else(|| format!("no website.*.js in {dir:?}; {hint}"))?;
    std::fs::read_to_string(&bundle).map_err(|e| format!("cannot read {bundle:?}: {e}"))
}

fn page_config(settings: &Settings, layer: &SessionLayerConfig) -> Value {
    let backend = match &settings.remote {
        // Only the host: a URL may carry credentials, and the page is public.
        Some((url, _)) => match url::Url::parse(url) {
            Ok(url) => format!(
                "a tessera server ({})",
                url.host_str().unwrap_or("unknown host")
            ),
            Err(_) => "a tessera server".to_owned(),
        },
        None => format!(
            "SQLite, access tokens valid for {} s",
            settings.access_token_validity.as_secs()
        ),
    };
    json!({
        "apiBasePath": layer.api_base_path(),
        "sessionExpiredStatusCode": settings.expired_status.as_u16(),
        "backend": backend,
        "deviceBinding": settings.device_binding.is_some(),
    })
}

/// The embedded engine on a SQLite file, or the `tessera` server named by `TESSERA_URL`.
async fn backend(settings: &Settings) -> Result<Backend, Box<dyn std::error::Error>> {
    if let Some((url, api_key)) = &settings.remote {
        return remote_backend(url, api_key.as_deref()).await;
    }
    let engine_config = SessionConfig {
        access_token_validity: settings.access_token_validity,
        refresh_token_rotation_grace_period: settings.grace_period,
        ..SessionConfig::default()
    };
    let store = SqliteStore::open(&settings.database).await?;
    let sessions = Sessions::new(store, engine_config);
    // The task lives as long as the runtime, which is as long as the demo.
    drop(sessions.spawn_expiry_sweeper(Duration::from_secs(600)));
    Ok(sessions.into())
}

#[cfg(feature = "remote")]
async fn remote_backend(
    url: &str,
    api_key: Option<&str>,
) -> Result<Backend, Box<dyn std::error::Error>> {
    let mut config = tessera_axum::RemoteConfig::new(url);
    if let Some(key) = api_key {
        config = config.api_key(key);
    }
    Ok(tessera_axum::RemoteSessions::connect(config).await?.into())
}

#[cfg(not(feature = "remote"))]
async fn remote_backend(
    _url: &str,
    _api_key: Option<&str>,
) -> Result<Backend, Box<dyn std::error::Error>> {
    Err("TESSERA_URL needs the remote back end: \
         cargo run -p tessera-axum --features remote --example demo"
        .into())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    let sdk = read_sdk_bundle(&settings.sdk_bundle_dir)?;
    let backend = backend(&settings).await?;
    let mut layer = SessionLayerConfig::default()
        .with_session_expired_status(settings.expired_status)
        .with_anti_csrf(settings.anti_csrf)
        .with_check_database(settings.check_database)
        .with_html_refresh(HtmlRefresh::new(SDK_PATH, "/"));
    if let Some(lifetime) = settings.device_binding {
        layer = layer
            .with_cookie_secure(true)
            .with_device_binding(DeviceBindingConfig::default().with_cookie_lifetime(lifetime));
    }
    let config = page_config(&settings, &layer);
    // JSON is a JavaScript literal; an escaped `<` cannot close the script element.
    let config = config.to_string().replace('<', "\\u003c");
    let page = PAGE.replace("/*CONFIG*/{}", &config);
    let tessera = Tessera::new(backend, layer);
    let demo = Demo {
        tessera: tessera.clone(),
        page: page.into(),
        sdk: sdk.into(),
    };
    let cors_origins = settings.cors_origins.clone();
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
    let tls = tls::self_signed().await?;
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
    axum_server::from_tcp_rustls(listener, tls.config)
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
