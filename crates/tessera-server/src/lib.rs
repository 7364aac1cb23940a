//! Tessera's standalone session server as a library: the `tessera` binary is a thin `main` over
//! it, and tests and fuzz targets build the same router in-process.
//!
//! It speaks SuperTokens' Core Driver Interface (CDI 5.4), so supertokens-node 24 and
//! supertokens-python 0.31 can use it in place of SuperTokens core, unchanged. Sessions are kept
//! by `tessera-core` in a store from `tessera-store` (an SQLite file by default).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = tessera_server::config::ServerConfig::load(None, std::env::vars())?;
//! tessera_server::serve::run(config, std::sync::Arc::new(tessera_core::SystemClock)).await?;
//! # Ok(())
//! # }
//! ```

pub mod activity;
pub mod admin;
mod admin_guard;
pub mod apps;
mod auth;
pub mod cli;
pub mod config;
mod connections;
mod error;
mod extract;
mod observe;
pub mod operate;
pub mod picture;
pub mod routes;
pub mod serve;
mod shutdown;
pub mod state;
mod tenant;
mod wire;
