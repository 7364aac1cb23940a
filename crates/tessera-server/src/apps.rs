//! Apps: `/appid-<app>/…` addresses an app other than `public`, with its own sessions, tenants and
//! signing keys in a store of its own (`tessera_store::open_app`). The registry of apps lives in
//! the public app's store, so every server over the same database knows the same apps; each
//! server opens an app's store the first time a request names it. An app's `coreConfig` may set
//! its own token lifetimes, key rotation and grace window.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use serde_json::{Map, Value};
use tessera_core::{AppRecord, GeneralError, ObservedStore, SessionConfig, SessionError, Sessions};
use tessera_store::{SchemaPolicy, StoreConfig};
use tokio::sync::Mutex;

use crate::error::ApiError;
use crate::state::AppState;

/// The app that needs no prefix and always exists.
pub const PUBLIC_APP: &str = "public";

/// How stale this server's view of the registry may get: an app created or deleted through
/// another server is known here within this.
const REGISTRY_REFRESH: Duration = Duration::from_secs(1);

/// The apps this server serves.
pub struct Apps {
    public: Sessions,
    store: StoreConfig,
    session: SessionConfig,
    schema: SchemaPolicy,
    expiry_sweep_interval: Duration,
    state: Mutex<Registry>,
}

/// An app's configuration as registered (what `PUT /recipe/multitenancy/app/v2` was given).
type AppConfig = Map<String, Value>;

#[derive(Default)]
struct Registry {
    /// Registered apps and their configurations, as last read, and when.
    known: Option<(Instant, BTreeMap<String, AppConfig>)>,
    /// Engines of apps opened here, the configuration each was opened with, and their
    /// background tasks.
    opened: HashMap<String, OpenedApp>,
}

struct OpenedApp {
    sessions: Sessions,
    config: AppConfig,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for OpenedApp {
    fn drop(&mut self) {
        self.tasks.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

impl Apps {
    /// The apps over the public app's engine and the configuration other apps' stores derive from.
    pub fn new(
        public: Sessions,
        store: StoreConfig,
        session: SessionConfig,
        schema: SchemaPolicy,
        expiry_sweep_interval: Duration,
    ) -> Self {
        Self {
            public,
            store,
            session,
            schema,
            expiry_sweep_interval,
            state: Mutex::new(Registry::default()),
        }
    }

    /// The engine of app `app_id`, opening its store on first use (and again when its settings
    /// changed); `None` if no such app.
    pub async fn engine(&self, app_id: &str) -> Result<Option<Sessions>, SessionError> {
        if app_id == PUBLIC_APP {
            return Ok(Some(self.public.clone()));
        }
        let mut registry = self.state.lock().await;
        let Some(config) = self.registered(&mut registry, app_id).await? else {
            registry.opened.remove(app_id);
            return Ok(None);
        };
        if let Some(opened) = registry.opened.get(app_id) {
            if opened.config == config {
                return Ok(Some(opened.sessions.clone()));
            }
        }
        let sessions = self.open(app_id, &config).await?;
        let tasks = vec![
            sessions.spawn_revocation_follower(),
            sessions.spawn_expiry_sweeper(self.expiry_sweep_interval),
        ];
        registry.opened.insert(
            app_id.to_owned(),
            OpenedApp {
                sessions: sessions.clone(),
                config,
                tasks,
            },
        );
        tracing::info!(app_id, "app opened");
        Ok(Some(sessions))
    }

    /// The app's registered configuration, from a view of the registry at most a second old.
    async fn registered(
        &self,
        registry: &mut Registry,
        app_id: &str,
    ) -> Result<Option<AppConfig>, SessionError> {
        let fresh = registry
            .known
            .as_ref()
            .is_some_and(|(read, _)| read.elapsed() < REGISTRY_REFRESH);
        if !fresh {
            let apps = self.public.store().apps().await?;
            let apps = apps
                .into_iter()
                .map(|app| (app.app_id, app.config))
                .collect();
            registry.known = Some((Instant::now(), apps));
        }
        Ok(registry
            .known
            .as_ref()
            .and_then(|(_, apps)| apps.get(app_id).cloned()))
    }

    async fn open(&self, app_id: &str, config: &AppConfig) -> Result<Sessions, SessionError> {
        let settings = app_settings(&self.session, config)?;
        let store = tessera_store::open_app(&self.store, app_id, self.schema)
            .await
            .map_err(GeneralError::Store)?;
        let store = Arc::new(ObservedStore::new(store, |operation| {
            metrics::counter!("tessera_store_calls_total", "operation" => operation).increment(1);
        }));
        Ok(Sessions::with_clock(
            store,
            settings,
            Arc::new(tessera_core::SystemClock),
        ))
    }

    /// Registers an app (creating its store now, so a bad database or setting shows here) or
    /// replaces its configuration; returns whether it was created.
    pub async fn create_or_update(
        &self,
        app_id: &str,
        config: AppConfig,
    ) -> Result<bool, SessionError> {
        if app_id == PUBLIC_APP {
            return Ok(false);
        }
        tessera_store::check_app_id(app_id)
            .map_err(|error| GeneralError::InvalidArgument(error.to_string()))?;
        self.open(app_id, &config).await?;
        let created = self
            .public
            .store()
            .put_app(&AppRecord {
                app_id: app_id.to_owned(),
                config,
                created_at: now_ms(),
            })
            .await?;
        self.state.lock().await.known = None;
        Ok(created)
    }

    /// Every app, `public` first.
    pub async fn list(&self) -> Result<Vec<AppRecord>, SessionError> {
        let mut apps = vec![AppRecord {
            app_id: PUBLIC_APP.to_owned(),
            config: Map::new(),
            created_at: 0,
        }];
        apps.extend(self.public.store().apps().await?);
        Ok(apps)
    }

    /// Removes an app: requests naming it are refused from then on (within a second on other
    /// servers), so its sessions can no longer refresh. Its data stays in its store.
    pub async fn delete(&self, app_id: &str) -> Result<bool, SessionError> {
        if app_id == PUBLIC_APP {
            return Err(GeneralError::InvalidArgument(
                "the public app cannot be deleted".to_owned(),
            )
            .into());
        }
        let existed = self.public.store().delete_app(app_id).await?;
        let mut registry = self.state.lock().await;
        registry.known = None;
        registry.opened.remove(app_id);
        Ok(existed)
    }
}

/// The session settings of an app: the server's, with the keys of its `coreConfig` that
/// SuperTokens core takes per app, in the config file's units: `access_token_validity`
/// (seconds), `refresh_token_validity` (minutes),
/// `access_token_dynamic_signing_key_update_interval` (hours) and
/// `refresh_token_rotation_grace_period` (seconds). Other `coreConfig` keys concern other
/// recipes and are kept but not used.
fn app_settings(server: &SessionConfig, config: &AppConfig) -> Result<SessionConfig, SessionError> {
    let mut settings = server.clone();
    let Some(core) = config.get("coreConfig") else {
        return Ok(settings);
    };
    let core = core
        .as_object()
        .ok_or_else(|| invalid("coreConfig must be an object"))?;
    let number = |key: &str, zero_ok: bool| -> Result<Option<u64>, SessionError> {
        match core.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => match value.as_u64() {
                Some(0) if !zero_ok => {
                    Err(invalid(&format!("coreConfig.{key} must be greater than 0")))
                }
                Some(n) => Ok(Some(n)),
                None => Err(invalid(&format!("coreConfig.{key} must be a whole number"))),
            },
        }
    };
    if let Some(seconds) = number("access_token_validity", false)? {
        settings.access_token_validity = Duration::from_secs(seconds);
    }
    if let Some(minutes) = number("refresh_token_validity", false)? {
        settings.refresh_token_validity = Duration::from_secs(minutes.saturating_mul(60));
    }
    if let Some(hours) = number("access_token_dynamic_signing_key_update_interval", false)? {
        settings.signing_key_update_interval = Duration::from_secs(hours.saturating_mul(3600));
    }
    if let Some(seconds) = number("refresh_token_rotation_grace_period", true)? {
        settings.refresh_token_rotation_grace_period = Duration::from_secs(seconds);
    }
    Ok(settings)
}

fn invalid(message: &str) -> SessionError {
    GeneralError::InvalidArgument(message.to_owned()).into()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The engine of the app a request is addressed to: `/appid-<app>/…`, else `public`. An unknown
/// app is refused with 400, as SuperTokens core does.
pub struct AppSessions(pub Sessions);

impl FromRequestParts<AppState> for AppSessions {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let app = match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => params
                .iter()
                .find(|(name, _)| *name == "app")
                .map(|(_, value)| value.to_ascii_lowercase()),
            Err(_) => None,
        };
        let Some(app) = app else {
            return Ok(Self(state.sessions.clone()));
        };
        match state.apps.engine(&app).await {
            Ok(Some(sessions)) => Ok(Self(sessions)),
            Ok(None) => Err(ApiError::UnknownApp(app.chars().take(64).collect())),
            Err(error) => Err(ApiError::from_engine(error)),
        }
    }
}
