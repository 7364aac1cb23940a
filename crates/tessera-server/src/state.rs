//! What every handler shares.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tessera_core::Sessions;

use crate::activity::ActivityLog;
use crate::admin_guard::AdminKey;
use crate::apps::Apps;

/// What every handler of the server shares (not to be confused with a SuperTokens *app*, which
/// has its own engine in [`apps`](crate::apps)): the public app's engine, the accepted API keys,
/// the metrics registry, the other apps and the admin key. Cheap to clone.
#[derive(Clone)]
pub struct ServerState {
    /// The session engine.
    pub sessions: Sessions,
    /// Accepted `api-key` values; empty means none is required.
    pub api_keys: Arc<Vec<String>>,
    /// Renders `/metrics`.
    pub metrics: Option<PrometheusHandle>,
    /// Apps other than `public` (whose engine is `sessions`).
    pub apps: Arc<Apps>,
    /// The admin page's key; `None` turns the page off.
    pub admin_key: Option<Arc<AdminKey>>,
    /// What this process counted per app over the last hour, for the admin page.
    pub activity: Arc<ActivityLog>,
}
