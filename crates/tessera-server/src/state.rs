//! What every handler shares.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tessera_core::Sessions;

use crate::admin_guard::AdminKey;
use crate::apps::Apps;

/// Handler state: the engine, the accepted API keys and the metrics registry. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
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
}
