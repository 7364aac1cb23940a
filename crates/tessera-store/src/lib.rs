//! Storage back ends for the Tessera session engine.
//!
//! - [`SqliteStore`] (feature `sqlite`, default): the embedded store, one file.
//!
//! Every store runs the same conformance suite (`tests/conformance.rs`).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![warn(missing_docs)]

mod config;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use config::{open, StoreConfig};

#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
