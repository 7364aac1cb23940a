//! Apps: `/appid-<app>/…` addresses an app other than `public`, with its own sessions, tenants and
//! signing keys in a store of its own (`tessera_store::open_app`). The registry of apps lives in
//! the public app's store, so every server over the same database knows the same apps; each
//! server opens an app's store the first time a request names it. An app's `coreConfig` may set
//! its own token lifetimes, key rotation and grace window.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use serde_json::{Map, Value};
use tessera_core::{
    AppRecord, GeneralError, ObservedStore, SessionConfig, SessionError, Sessions, Timestamp,
};
use tessera_store::{SchemaPolicy, StoreConfig};
use tokio::sync::Mutex;

/// The app that needs no prefix and always exists.
pub const PUBLIC_APP: &str = "public";

/// How stale this server's view of the registry may get: an app created or deleted through
/// another server is known here within this (plus the one registry read under way).
const REGISTRY_REFRESH: Duration = Duration::from_secs(1);

/// The apps this server serves.
///
/// Requests read an immutable view of the registry without waiting on one another. Whatever is
/// slow (reading the registry, opening an app's store and migrating it) happens under
/// `updating`, which builds the next view: requests for apps already open never wait on it, so
/// an app whose database is slow or down cannot stall the others.
pub struct Apps {
    public: Sessions,
    store: StoreConfig,
    session: SessionConfig,
    schema: SchemaPolicy,
    expiry_sweep_interval: Duration,
    view: ArcSwap<View>,
    updating: Mutex<()>,
}

/// An app's configuration as registered (what `PUT /recipe/multitenancy/app/v2` was given).
type AppConfig = Map<String, Value>;

/// The registry as last read, and the engines opened from it.
#[derive(Clone, Default)]
struct View {
    /// When the registry was read; `None` until the first read, and after a change made here.
    read_at: Option<Instant>,
    registered: BTreeMap<String, AppConfig>,
    /// Engines of registered apps opened here, each with the configuration it was opened with
    /// (an app whose configuration changed is dropped at the next read and opened again).
    opened: HashMap<String, Arc<OpenedApp>>,
}

impl View {
    fn is_fresh(&self) -> bool {
        self.read_at
            .is_some_and(|read| read.elapsed() < REGISTRY_REFRESH)
    }

    /// The answer this view holds for `app_id`, if it holds one: unknown, or an engine.
    fn lookup(&self, app_id: &str) -> Option<Option<Sessions>> {
        if !self.registered.contains_key(app_id) {
            return Some(None);
        }
        let opened = self.opened.get(app_id)?;
        Some(Some(opened.sessions.clone()))
    }
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
            view: ArcSwap::from_pointee(View::default()),
            updating: Mutex::new(()),
        }
    }

    /// The engine of app `app_id`, opening its store on first use (and again when its settings
    /// changed); `None` if no such app.
    pub async fn engine(&self, app_id: &str) -> Result<Option<Sessions>, SessionError> {
        if app_id == PUBLIC_APP {
            return Ok(Some(self.public.clone()));
        }
        // The view is let go before any wait: only the answer or the lock leaves this block.
        let locked = {
            let view = self.view.load();
            if view.is_fresh() {
                if let Some(answer) = view.lookup(app_id) {
                    return Ok(answer);
                }
                None
            } else {
                match self.updating.try_lock() {
                    Ok(updating) => Some(updating),
                    // Someone is reading the registry: an app open here keeps serving from the
                    // view of a second ago rather than queueing behind that read.
                    Err(_) => match view.opened.get(app_id) {
                        Some(opened) => return Ok(Some(opened.sessions.clone())),
                        None => None,
                    },
                }
            }
        };
        let updating = match locked {
            Some(updating) => updating,
            None => self.updating.lock().await,
        };
        let mut view = View::clone(&self.view.load());
        if !view.is_fresh() {
            self.read_registry(&mut view).await?;
        }
        let answer = match view.lookup(app_id) {
            Some(answer) => answer,
            None => {
                let config = view.registered.get(app_id).cloned().unwrap_or_default();
                let opened = self.open_running(app_id, config).await?;
                let sessions = opened.sessions.clone();
                view.opened.insert(app_id.to_owned(), Arc::new(opened));
                Some(sessions)
            }
        };
        self.view.store(Arc::new(view));
        drop(updating);
        Ok(answer)
    }

    /// Reads the registry into `view`, dropping the engines of apps removed or reconfigured.
    async fn read_registry(&self, view: &mut View) -> Result<(), SessionError> {
        let registered: BTreeMap<String, AppConfig> = self
            .public
            .store()
            .apps()
            .await?
            .into_iter()
            .map(|app| (app.app_id, app.config))
            .collect();
        view.opened
            .retain(|app_id, opened| registered.get(app_id) == Some(&opened.config));
        view.registered = registered;
        view.read_at = Some(Instant::now());
        Ok(())
    }

    /// Opens the app's store with its background tasks (revocation follower, expiry sweeper).
    async fn open_running(
        &self,
        app_id: &str,
        config: AppConfig,
    ) -> Result<OpenedApp, SessionError> {
        let sessions = self.open(app_id, &config).await?;
        let tasks = vec![
            sessions.spawn_revocation_follower(),
            sessions.spawn_expiry_sweeper(self.expiry_sweep_interval),
        ];
        tracing::info!(app_id, "app opened");
        Ok(OpenedApp {
            sessions,
            config,
            tasks,
        })
    }

    async fn open(&self, app_id: &str, config: &AppConfig) -> Result<Sessions, SessionError> {
        let settings = app_settings(&self.session, config)?;
        let store = tessera_store::open_app(&self.store, app_id, self.schema)
            .await
            .map_err(GeneralError::Store)?;
        let store = Arc::new(ObservedStore::new(store, |operation| {
            metrics::counter!("tessera_store_calls_total", "operation" => operation).increment(1);
        }));
        // Every app's engine reads the public engine's clock: one clock for the process.
        Ok(Sessions::with_clock(
            store,
            settings,
            Arc::clone(self.public.clock()),
        ))
    }

    /// Changes the view under the update lock (changes made here show at once, not a second on).
    async fn change_view(&self, change: impl FnOnce(&mut View)) {
        let _updating = self.updating.lock().await;
        let mut view = View::clone(&self.view.load());
        change(&mut view);
        self.view.store(Arc::new(view));
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
        let sessions = self.open(app_id, &config).await?;
        let registered = self
            .public
            .store()
            .apps()
            .await?
            .iter()
            .any(|app| app.app_id == app_id);
        if !registered {
            // An app removed before under this id left its store behind: its sessions were
            // revoked then, but ones a server created while it had not yet noticed the removal
            // must not come back with the new app.
            sessions.revoke_every_session().await?;
            // Keys of both families from the start, as SuperTokens core makes an app.
            sessions.prepare_signing_keys().await?;
        }
        let created = self
            .public
            .store()
            .put_app(&AppRecord {
                app_id: app_id.to_owned(),
                config,
                created_at: self.public.clock().now(),
            })
            .await?;
        self.change_view(|view| view.read_at = None).await;
        Ok(created)
    }

    /// The API keys an app's `coreConfig.api_keys` sets (comma-separated, as in SuperTokens'
    /// config), empty when it sets none or the app is unknown.
    pub async fn api_keys(&self, app_id: &str) -> Result<Vec<String>, SessionError> {
        if app_id == PUBLIC_APP || self.engine(app_id).await?.is_none() {
            return Ok(Vec::new());
        }
        let view = self.view.load();
        let keys = view
            .registered
            .get(app_id)
            .and_then(|config| config.get("coreConfig"))
            .and_then(|core| core.get("api_keys"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        Ok(keys
            .split(',')
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// Every app, `public` first.
    pub async fn list(&self) -> Result<Vec<AppRecord>, SessionError> {
        let mut apps = vec![AppRecord {
            app_id: PUBLIC_APP.to_owned(),
            config: Map::new(),
            created_at: Timestamp::EPOCH,
        }];
        apps.extend(self.public.store().apps().await?);
        Ok(apps)
    }

    /// Removes an app: requests naming it are refused from then on (within a second on other
    /// servers), and every session in it is revoked, so none comes back if an app is created
    /// again under the same id. The store itself (its signing keys, tenants and revocation log)
    /// stays.
    pub async fn delete(&self, app_id: &str) -> Result<bool, SessionError> {
        if app_id == PUBLIC_APP {
            return Err(GeneralError::InvalidArgument(
                "the public app cannot be deleted".to_owned(),
            )
            .into());
        }
        let sessions = self.engine(app_id).await?;
        let existed = self.public.store().delete_app(app_id).await?;
        if let Some(sessions) = sessions {
            let revoked = sessions.revoke_every_session().await?;
            tracing::info!(app_id, revoked, "app removed and its sessions revoked");
        }
        self.change_view(|view| {
            view.read_at = None;
            view.registered.remove(app_id);
            view.opened.remove(app_id);
        })
        .await;
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
    // SuperTokens core reads these as numbers and also takes them as strings ("60") or as
    // fractions ("0.001" hours, which supertokens-node's own tests use): so does Tessera.
    let duration = |key: &str, unit: &str, unit_secs: f64, zero_ok: bool| {
        let value = match core.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(value) => value,
        };
        let amount = match value {
            Value::Number(n) => n.as_f64(),
            Value::String(text) => text.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| invalid(&format!("coreConfig.{key} must be a number of {unit}")))?;
        if amount == 0.0 && !zero_ok {
            return Err(invalid(&format!("coreConfig.{key} must be greater than 0")));
        }
        Duration::try_from_secs_f64(amount * unit_secs)
            .map(Some)
            .map_err(|_| invalid(&format!("coreConfig.{key} is too large")))
    };
    if let Some(validity) = duration("access_token_validity", "seconds", 1.0, false)? {
        settings.access_token_validity = validity;
    }
    if let Some(validity) = duration("refresh_token_validity", "minutes", 60.0, false)? {
        settings.refresh_token_validity = validity;
    }
    if let Some(interval) = duration(
        "access_token_dynamic_signing_key_update_interval",
        "hours",
        3600.0,
        false,
    )? {
        settings.signing_key_update_interval = interval;
    }
    if let Some(grace) = duration("refresh_token_rotation_grace_period", "seconds", 1.0, true)? {
        settings.refresh_token_rotation_grace_period = grace;
    }
    Ok(settings)
}

fn invalid(message: &str) -> SessionError {
    GeneralError::InvalidArgument(message.to_owned()).into()
}

#[cfg(test)]
mod tests {
    use std::sync::{Condvar, Mutex as StdMutex};

    use super::*;

    /// A gate the test closes to hold the public store's registry reads (`apps`) until it opens
    /// it again; a held read blocks its thread, as a database that does not answer would.
    #[derive(Default)]
    struct Gate {
        closed: StdMutex<bool>,
        opened: Condvar,
    }

    impl Gate {
        fn set(&self, closed: bool) {
            *self.closed.lock().unwrap() = closed;
            self.opened.notify_all();
        }

        fn pass(&self) {
            let closed = self.closed.lock().unwrap();
            drop(self.opened.wait_while(closed, |closed| *closed).unwrap());
        }
    }

    async fn apps(dir: &std::path::Path, gate: Arc<Gate>) -> Apps {
        let store = StoreConfig::Sqlite {
            path: dir.join("tessera.db"),
        };
        let public = tessera_store::open(&store).await.unwrap();
        let public = ObservedStore::new(public, move |operation| {
            if operation == "apps" {
                gate.pass();
            }
        });
        Apps::new(
            Sessions::new(public, SessionConfig::default()),
            store,
            SessionConfig::default(),
            SchemaPolicy::Migrate,
            Duration::from_secs(3600),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn an_open_app_is_served_while_the_registry_read_hangs() {
        let dir = tempfile::tempdir().unwrap();
        let gate = Arc::new(Gate::default());
        let apps = Arc::new(apps(dir.path(), Arc::clone(&gate)).await);
        apps.create_or_update("open", Map::new()).await.unwrap();
        assert!(apps.engine("open").await.unwrap().is_some());

        // A new app makes the view stale; the next request for it reads the registry, which hangs.
        apps.create_or_update("new", Map::new()).await.unwrap();
        gate.set(true);
        let reading = tokio::spawn({
            let apps = Arc::clone(&apps);
            async move { apps.engine("new").await }
        });
        while apps.updating.try_lock().is_ok() {
            tokio::task::yield_now().await;
        }

        let served = tokio::time::timeout(Duration::from_secs(5), apps.engine("open")).await;
        let still_reading = !reading.is_finished();
        gate.set(false);
        assert!(
            matches!(served, Ok(Ok(Some(_)))),
            "the open app waited for the registry read"
        );
        assert!(still_reading, "the registry read was not held");
        assert!(
            reading.await.unwrap().unwrap().is_some(),
            "the new app opens"
        );
        assert!(apps.engine("missing").await.unwrap().is_none());
    }

    #[test]
    fn core_config_takes_numbers_strings_and_fractions_as_the_core_does() {
        let server = SessionConfig::default();
        let settings = |core: serde_json::Value| {
            let config = serde_json::json!({ "coreConfig": core });
            app_settings(&server, config.as_object().unwrap())
        };
        let read = settings(serde_json::json!({
            "access_token_validity": "2",
            "refresh_token_validity": 1.5,
            "access_token_dynamic_signing_key_update_interval": "0.001",
            "refresh_token_rotation_grace_period": 0,
        }))
        .unwrap();
        assert_eq!(read.access_token_validity, Duration::from_secs(2));
        assert_eq!(read.refresh_token_validity, Duration::from_secs(90));
        assert_eq!(
            read.signing_key_update_interval,
            Duration::from_millis(3600)
        );
        assert_eq!(read.refresh_token_rotation_grace_period, Duration::ZERO);
        for bad in [
            serde_json::json!({"access_token_validity": 0}),
            serde_json::json!({"access_token_validity": "0"}),
            serde_json::json!({"refresh_token_validity": "soon"}),
            serde_json::json!({"refresh_token_validity": -1}),
            serde_json::json!({"refresh_token_validity": true}),
            serde_json::json!({"access_token_validity": 1e300}),
        ] {
            assert!(settings(bad.clone()).is_err(), "{bad} was taken");
        }
    }

    #[tokio::test]
    async fn a_removed_app_is_refused_at_once_and_a_reconfigured_one_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let apps = apps(dir.path(), Arc::default()).await;
        apps.create_or_update("one", Map::new()).await.unwrap();
        let before = apps.engine("one").await.unwrap().unwrap();
        assert_eq!(
            before.config().access_token_validity,
            SessionConfig::default().access_token_validity
        );
        let config = serde_json::json!({"coreConfig": {"access_token_validity": 60}});
        let config = config.as_object().unwrap().clone();
        apps.create_or_update("one", config).await.unwrap();
        let after = apps.engine("one").await.unwrap().unwrap();
        assert_eq!(
            after.config().access_token_validity,
            Duration::from_secs(60)
        );

        assert!(apps.delete("one").await.unwrap());
        assert!(apps.engine("one").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn sessions_of_a_removed_app_do_not_come_back_with_an_app_of_the_same_id() {
        use tessera_core::{NewSession, RefreshOptions};
        let dir = tempfile::tempdir().unwrap();
        let apps = apps(dir.path(), Arc::default()).await;
        apps.create_or_update("shop", Map::new()).await.unwrap();
        let shop = apps.engine("shop").await.unwrap().unwrap();
        let created = shop
            .create_new_session(NewSession::new("ann"))
            .await
            .unwrap();
        // A server that had not yet noticed the removal creates a session after it: opened
        // here on the app's store directly, as that server's engine would be.
        let stale = apps.open("shop", &Map::new()).await.unwrap();

        assert!(apps.delete("shop").await.unwrap());
        let late = stale
            .create_new_session(NewSession::new("bob"))
            .await
            .unwrap();
        let refreshed = stale
            .refresh_session_with(
                &created.refresh_token.token,
                None,
                RefreshOptions::default(),
            )
            .await;
        assert!(refreshed.is_err(), "a removed app's session refreshed");

        apps.create_or_update("shop", Map::new()).await.unwrap();
        let again = apps.engine("shop").await.unwrap().unwrap();
        for (old, who) in [(&created, "ann"), (&late, "bob")] {
            let refreshed = again
                .refresh_session_with(&old.refresh_token.token, None, RefreshOptions::default())
                .await;
            assert!(
                refreshed.is_err(),
                "{who}'s session came back with the new app"
            );
        }
    }
}
