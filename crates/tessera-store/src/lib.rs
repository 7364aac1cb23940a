//! Storage back ends for the Tessera session engine.
//!
//! - [`SqliteStore`] (feature `sqlite`, default): the embedded store, one file.
//! - `PostgresStore` (feature `postgres`) and `MySqlStore` (feature `mysql`, MySQL and MariaDB):
//!   for several Tessera processes over one database.
//!
//! Every store runs the same conformance suite (`tests/conformance.rs`). [`open`] turns a
//! [`StoreConfig`] (a file path or a database URL) into a store:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use tessera_core::{NewSession, SessionConfig, Sessions};
//! use tessera_store::StoreConfig;
//!
//! let dir = tempfile::tempdir()?;
//! let config = StoreConfig::from_url(&dir.path().join("tessera.db").display().to_string(), 10);
//! let store = tessera_store::open(&config).await?;
//! let sessions = Sessions::with_clock(store, SessionConfig::default(), std::sync::Arc::new(tessera_core::SystemClock));
//! sessions.create_new_session(NewSession::new("alice")).await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![warn(missing_docs)]

mod config;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
mod schema;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod sqlx_shared;

#[cfg(feature = "mysql")]
pub use mysql::MySqlStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;

pub use config::{check_app_id, migrate, open, open_app, open_with, StoreConfig, MAX_APP_ID_LEN};
pub use schema::{SchemaPolicy, SchemaVersions};

#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
