//! One configuration type for every store, and [`open`] to turn it into a store.

use std::path::PathBuf;
use std::sync::Arc;

use tessera_core::{SessionStore, StoreError};

/// Where sessions are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// The embedded SQLite store in a file (default `./tessera.db`).
    Sqlite {
        /// The database file; created with its schema if missing.
        path: PathBuf,
    },
    /// A shared database for several Tessera processes: `postgresql://…` or `mysql://…`.
    Url {
        /// The connection URL.
        url: String,
        /// Connections in the pool.
        pool_size: u32,
    },
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self::Sqlite {
            path: PathBuf::from("tessera.db"),
        }
    }
}

impl StoreConfig {
    /// A config from a connection string: `postgresql://…`, `postgres://…`, `mysql://…`,
    /// `mariadb://…`, `sqlite://PATH`, or a plain file path for SQLite.
    pub fn from_url(url: &str, pool_size: u32) -> Self {
        match url.strip_prefix("sqlite://") {
            Some(path) => Self::Sqlite {
                path: PathBuf::from(path),
            },
            None if url.contains("://") => Self::Url {
                url: url.to_owned(),
                pool_size,
            },
            None => Self::Sqlite {
                path: PathBuf::from(url),
            },
        }
    }
}

/// What opening a store does about its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaPolicy {
    /// Bring the schema up to date (creating it in an empty database).
    #[default]
    Migrate,
    /// Refuse to open unless the schema is exactly what this build expects: for operators who
    /// migrate in a separate step (`tessera migrate`) and never let a server alter the schema.
    RequireCurrent,
}

/// A store's schema version before and after it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaVersions {
    /// The version found (0 for an empty database).
    pub found: i64,
    /// The version now, which is this build's.
    pub now: i64,
}

/// The error for a database whose schema is not the one this build expects.
pub(crate) fn schema_mismatch(found: i64, expected: i64) -> StoreError {
    if found > expected {
        StoreError::Migration(format!(
            "the database is at schema version {found}, newer than this build knows ({expected})"
        ))
    } else {
        StoreError::Migration(format!(
            "the database is at schema version {found} and this build needs {expected}: migrate it first (`tessera migrate`)"
        ))
    }
}

/// Opens the configured store, running its migrations.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn SessionStore>, StoreError> {
    Ok(open_with(config, SchemaPolicy::Migrate).await?.0)
}

/// Brings the configured store's schema up to date; returns the versions before and after.
pub async fn migrate(config: &StoreConfig) -> Result<SchemaVersions, StoreError> {
    Ok(open_with(config, SchemaPolicy::Migrate).await?.1)
}

/// Opens the configured store with a chosen schema policy; also returns its schema versions.
pub async fn open_with(
    config: &StoreConfig,
    schema: SchemaPolicy,
) -> Result<(Arc<dyn SessionStore>, SchemaVersions), StoreError> {
    match config {
        #[cfg(feature = "sqlite")]
        StoreConfig::Sqlite { path } => {
            let store = crate::SqliteStore::open_with(path, schema).await?;
            let versions = store.schema_versions();
            Ok((Arc::new(store), versions))
        }
        #[cfg(not(feature = "sqlite"))]
        StoreConfig::Sqlite { .. } => Err(StoreError::Database(
            "this build has no SQLite support (feature `sqlite`)".to_owned(),
        )),
        StoreConfig::Url { url, pool_size } => {
            let scheme = url.split("://").next().unwrap_or_default();
            match scheme {
                #[cfg(feature = "postgres")]
                "postgres" | "postgresql" => {
                    let store = crate::PostgresStore::connect_with(url, *pool_size, schema).await?;
                    let versions = store.schema_versions();
                    Ok((Arc::new(store), versions))
                }
                #[cfg(feature = "mysql")]
                "mysql" | "mariadb" => {
                    // sqlx names the protocol `mysql` for both servers.
                    let url = format!("mysql://{}", &url[scheme.len() + 3..]);
                    let store = crate::MySqlStore::connect_with(&url, *pool_size, schema).await?;
                    let versions = store.schema_versions();
                    Ok((Arc::new(store), versions))
                }
                _ => {
                    let _ = (pool_size, schema);
                    Err(StoreError::Database(format!(
                        "unsupported store URL scheme `{scheme}` (this build supports: {})",
                        supported_schemes()
                    )))
                }
            }
        }
    }
}

fn supported_schemes() -> &'static str {
    match (cfg!(feature = "postgres"), cfg!(feature = "mysql")) {
        (true, true) => "postgresql, mysql, mariadb, sqlite",
        (true, false) => "postgresql, sqlite",
        (false, true) => "mysql, mariadb, sqlite",
        (false, false) => "sqlite",
    }
}
