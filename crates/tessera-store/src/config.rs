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

/// Opens the configured store, running its migrations.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn SessionStore>, StoreError> {
    match config {
        #[cfg(feature = "sqlite")]
        StoreConfig::Sqlite { path } => Ok(Arc::new(crate::SqliteStore::open(path).await?)),
        #[cfg(not(feature = "sqlite"))]
        StoreConfig::Sqlite { .. } => Err(StoreError::Database(
            "this build has no SQLite support (feature `sqlite`)".to_owned(),
        )),
        StoreConfig::Url { url, pool_size } => {
            let scheme = url.split("://").next().unwrap_or_default();
            match scheme {
                #[cfg(feature = "postgres")]
                "postgres" | "postgresql" => Ok(Arc::new(
                    crate::PostgresStore::connect(url, *pool_size).await?,
                )),
                #[cfg(feature = "mysql")]
                "mysql" | "mariadb" => {
                    // sqlx names the protocol `mysql` for both servers.
                    let url = format!("mysql://{}", &url[scheme.len() + 3..]);
                    Ok(Arc::new(
                        crate::MySqlStore::connect(&url, *pool_size).await?,
                    ))
                }
                _ => {
                    let _ = pool_size;
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
