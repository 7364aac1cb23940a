//! What both demos (axum's, in this directory, and actix-web's in `crates/tessera-actix`) share:
//! the settings read from the environment, the page and the SDK bundle it loads, the session back
//! end and the session layer's settings. Each demo serves the same page at the same paths, so
//! the same browser suites run against either.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use tessera_core::{SessionConfig, Sessions};
use tessera_http::http::StatusCode;
use tessera_http::{AntiCsrfMode, Backend, DeviceBindingConfig, HtmlRefresh, SessionLayerConfig};
use tessera_store::SqliteStore;

/// The demo's one password, for any user name.
pub const PASSWORD: &str = "tessera-demo";
/// Where the page loads the frontend SDK from.
pub const SDK_PATH: &str = "/sdk/website.js";
const PAGE: &str = include_str!("page.html");

/// Everything the demo reads from its environment.
pub struct Settings {
    pub port: u16,
    pub database: PathBuf,
    pub access_token_validity: Duration,
    pub grace_period: Duration,
    pub expired_status: StatusCode,
    pub anti_csrf: AntiCsrfMode,
    pub check_database: bool,
    pub sdk_bundle_dir: PathBuf,
    /// A `tessera` server to use instead of the embedded engine, with its API key.
    pub remote: Option<(String, Option<String>)>,
    /// Origins admitted cross-origin.
    pub cors_origins: Vec<String>,
    /// Device binding, with the bound cookie's lifetime; HTTPS when on.
    pub device_binding: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
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
    pub fn from_env() -> Result<Self, SettingsError> {
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
                // Each demo's crate sits beside tessera-axum, whose demo directory has the npm
                // packages.
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../tessera-axum/examples/demo/node_modules/supertokens-web-js/bundle"),
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
                                .then(|| o.to_owned())
                        })
                        .collect()
                },
            )?,
        })
    }
}

/// The SDK's `supertokensWebsite` bundle, named `website.<hash>.js` in the npm package.
pub fn read_sdk_bundle(dir: &Path) -> Result<String, String> {
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
pub async fn backend(settings: &Settings) -> Result<Backend, Box<dyn std::error::Error>> {
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
    let mut config = tessera_http::RemoteConfig::new(url);
    if let Some(key) = api_key {
        config = config.api_key(key);
    }
    Ok(tessera_http::RemoteSessions::connect(config).await?.into())
}

#[cfg(not(feature = "remote"))]
async fn remote_backend(
    _url: &str,
    _api_key: Option<&str>,
) -> Result<Backend, Box<dyn std::error::Error>> {
    Err("TESSERA_URL needs the remote back end: run the demo with `--features remote`".into())
}

/// The session layer's settings for these settings: the session-expired status, anti-CSRF mode,
/// store checks, the HTML refresh page and, when on, device binding (which needs HTTPS).
pub fn layer_config(settings: &Settings) -> SessionLayerConfig {
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
    layer
}

/// The page, with its settings written in.
pub fn page(settings: &Settings, layer: &SessionLayerConfig) -> String {
    let config = page_config(settings, layer);
    // JSON is a JavaScript literal; an escaped `<` cannot close the script element.
    let config = config.to_string().replace('<', "\\u003c");
    PAGE.replace("/*CONFIG*/{}", &config)
}

/// Escapes text for HTML.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /api/feed`'s answer for a verified session; `None` when the store read behind it failed
/// (said on stderr).
pub async fn feed(
    tessera: &tessera_http::Tessera,
    session: &tessera_http::Session,
) -> Option<Value> {
    let user = session.user_id();
    // One store read, for the page to show whether the session is bound to this browser's key.
    let device_key = match tessera.backend().device_thumbprint(session.handle()).await {
        Ok(key) => key,
        Err(error) => {
            eprintln!("tessera demo: reading the session's device key failed: {error}");
            return None;
        }
    };
    Some(json!({
        "userId": user,
        "sessionHandle": session.handle(),
        "deviceKey": device_key,
        "items": [
            format!("Welcome back, {user}."),
            "This came from GET /api/feed, behind the Session extractor.".to_owned(),
        ],
    }))
}

/// `GET /home`, a server-rendered page behind the session: with an expired access token the
/// layer answers its refresh-and-reload page instead (`HtmlRefresh`).
pub fn home_page(session: &tessera_http::Session) -> String {
    let user = html_escape(session.user_id());
    format!(
        "<!doctype html><meta charset=utf-8><title>Home</title>\
         <h1 id=greeting>Hello, {user}</h1><p><a href=\"/\">Back to the app</a></p>"
    )
}
