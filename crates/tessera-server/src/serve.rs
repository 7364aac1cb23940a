//! Start-up and shutdown: open the store, build the engine, serve until a signal.

use std::io::Write;
use std::sync::Arc;

use tessera_core::{ObservedStore, Sessions, StoreError};
use thiserror::Error;

use crate::admin_guard::AdminKey;
use crate::apps::Apps;
use crate::config::ServerConfig;
use crate::routes;
use crate::state::ServerState;

/// Why the server stopped with an error.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The store could not be opened (or migrated).
    #[error("cannot open the session store: {0}")]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// host:port.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the server until SIGTERM or Ctrl-C, reading the time from `clock` (every app's engine
/// reads the same one).
pub async fn run(
    config: ServerConfig,
    clock: Arc<dyn tessera_core::Clock>,
) -> Result<(), ServeError> {
    let schema = if config.migrate_on_start {
        tessera_store::SchemaPolicy::Migrate
    } else {
        tessera_store::SchemaPolicy::RequireCurrent
    };
    let (store, _) = tessera_store::open_with(&config.store, schema).await?;
    // Every call to the database is counted by operation in /metrics.
    let store = Arc::new(ObservedStore::new(store, |operation| {
        metrics::counter!("tessera_store_calls_total", "operation" => operation).increment(1);
    }));
    let sessions = Sessions::with_clock(store, config.session.clone(), clock);
    let sweeper = sessions.spawn_expiry_sweeper(config.expiry_sweep_interval);
    // Sessions revoked through other servers over the same database are refused here within the
    // poll interval.
    let follower = sessions.spawn_revocation_follower();
    let metrics = crate::observe::install_recorder();
    let upkeep = metrics.clone().map(crate::observe::spawn_upkeep);
    let apps = Arc::new(Apps::new(
        sessions.clone(),
        config.store.clone(),
        config.session.clone(),
        schema,
        config.expiry_sweep_interval,
    ));
    let state = ServerState {
        activity: Arc::new(crate::activity::ActivityLog::new(Arc::clone(
            sessions.clock(),
        ))),
        sessions,
        apps,
        api_keys: Arc::new(config.api_keys.clone()),
        metrics,
        admin_key: config
            .admin_key
            .as_deref()
            .map(|key| Arc::new(AdminKey::new(key))),
    };
    let body_rules = routes::BodyRules {
        max_bytes: config.max_body_bytes,
        read_timeout: Some(config.connections.body_read_timeout),
    };
    let app = routes::router(state, body_rules);
    let address = format!("{}:{}", config.host, config.port);
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|source| ServeError::Bind {
            address: address.clone(),
            source,
        })?;
    let local = listener.local_addr()?;
    tracing::info!(
        %local,
        api_key_required = !config.api_keys.is_empty(),
        store = store_kind(&config),
        "tessera listening"
    );
    // One line on stdout so that scripts and tests can learn the port when it was 0.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "tessera listening on http://{local}");
    let _ = stdout.flush();
    crate::connections::serve(
        listener,
        app,
        config.connections,
        crate::shutdown::signal(),
        config.shutdown_timeout,
    )
    .await;
    sweeper.abort();
    follower.abort();
    if let Some(upkeep) = upkeep {
        upkeep.abort();
    }
    tracing::info!("tessera stopped");
    Ok(())
}

fn store_kind(config: &ServerConfig) -> &'static str {
    match config.store {
        tessera_store::StoreConfig::Sqlite { .. } => "sqlite",
        tessera_store::StoreConfig::Url { .. } => "url",
    }
}
