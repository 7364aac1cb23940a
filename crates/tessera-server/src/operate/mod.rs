//! Operator commands: `tessera sessions …`, `tessera thefts …`, `tessera keys …`, `tessera
//! config check` and `tessera migrate`. They work on the configured database directly, without a running server,
//! through the same engine the server uses, so a revocation made here reaches running servers
//! through the revocation log like any other.
//!
//! Each command returns a [`Report`]: a table for people, or the same data as JSON (`--json`).

mod config_check;
mod keys;
mod progress;
mod report;
mod sessions;
mod thefts;

use std::path::Path;

use tessera_core::{SessionError, Sessions, StoreError};
use tessera_store::SchemaPolicy;
use thiserror::Error;

use crate::config::{ConfigError, ServerConfig};

pub use config_check::{config_check, config_keys};
pub use keys::{keys_list, keys_rotate};
pub(crate) use report::time;
pub use report::Report;
pub use sessions::{sessions_list, sessions_revoke, sessions_show, sessions_sweep, RevokeTarget};
pub use thefts::thefts_list;

/// Why an operator command failed.
#[derive(Debug, Error)]
pub enum OperateError {
    /// The configuration is invalid (the message names the key).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be opened or migrated.
    #[error("session store: {0}")]
    Store(#[from] StoreError),
    /// The engine refused or failed.
    #[error("{0}")]
    Session(#[from] SessionError),
    /// No app has this id.
    #[error("no app {0} (create it with PUT /recipe/multitenancy/app/v2)")]
    NoSuchApp(String),
    /// No session has this handle (or it has expired).
    #[error("no live session with handle {0}")]
    NoSuchSession(String),
    /// The command was given nothing to act on.
    #[error("{0}")]
    Usage(&'static str),
}

impl OperateError {
    /// The process exit status: 2 for configuration and usage errors, 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) | Self::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// Loads the configuration as `serve` does: the file, then `TESSERA_*` overrides.
pub fn load_config(path: Option<&Path>) -> Result<ServerConfig, OperateError> {
    Ok(ServerConfig::load(path, std::env::vars())?)
}

/// The engine over the configured store, or over app `app`'s store (which must be registered).
/// The schema is migrated only if the configuration lets servers migrate at start
/// (`migrate_on_start`); otherwise it must already be current.
pub async fn engine(config: &ServerConfig, app: Option<&str>) -> Result<Sessions, OperateError> {
    let policy = if config.migrate_on_start {
        SchemaPolicy::Migrate
    } else {
        SchemaPolicy::RequireCurrent
    };
    let (store, _) = tessera_store::open_with(&config.store, policy).await?;
    let store = match app {
        None | Some(crate::apps::PUBLIC_APP) => store,
        Some(app) => {
            let registered = store.apps().await?.iter().any(|a| a.app_id == app);
            if !registered {
                return Err(OperateError::NoSuchApp(app.to_owned()));
            }
            tessera_store::open_app(&config.store, app, policy).await?
        }
    };
    Ok(Sessions::with_clock(
        store,
        config.session.clone(),
        std::sync::Arc::new(tessera_core::SystemClock),
    ))
}

/// `tessera migrate`: brings the schema up to date, whatever `migrate_on_start` says.
pub async fn migrate(config: &ServerConfig) -> Result<Report, OperateError> {
    let spinner = progress::spinner("migrating the session store");
    let versions = tessera_store::migrate(&config.store).await;
    spinner.finish_and_clear();
    let versions = versions?;
    let summary = if versions.found == versions.now {
        format!("schema already at version {}", versions.now)
    } else {
        format!(
            "schema migrated from version {} to {}",
            versions.found, versions.now
        )
    };
    Ok(Report::message(
        summary,
        serde_json::json!({"schema_version_found": versions.found, "schema_version": versions.now}),
    ))
}
