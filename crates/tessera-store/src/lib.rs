//! Storage back ends for the Tessera session engine.
//!
//! - [`SqliteStore`] (feature `sqlite`, default): the embedded store, one file.
//! - `PostgresStore` (feature `postgres`) and `MySqlStore` (feature `mysql`, MySQL and MariaDB):
//!   for several Tessera processes over one database.
//!
//! Every store runs the same conformance suite (`tests/conformance.rs`).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![warn(missing_docs)]

mod config;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "mysql")]
pub use sql::mysql::MySqlStore;
#[cfg(feature = "postgres")]
pub use sql::postgres::PostgresStore;

pub use config::{
    check_app_id, migrate, open, open_app, open_with, SchemaPolicy, SchemaVersions, StoreConfig,
    MAX_APP_ID_LEN,
};

#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
