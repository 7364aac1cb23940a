//! Storage back ends for the Tessera session engine.
//!
//! - [`SqliteStore`] (feature `sqlite`, default): the embedded store, one file.
//!
//! Every store runs the same conformance suite (`tests/conformance.rs`).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![warn(missing_docs)]

#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
