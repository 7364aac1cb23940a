//! One configuration type for every store, and [`open`] to turn it into a store.

use std::path::PathBuf;
use std::sync::Arc;

use crate::schema::{SchemaPolicy, SchemaVersions};
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

/// The longest app id: room for a UUID, which supertokens-node's own tests use, and more.
pub const MAX_APP_ID_LEN: usize = 64;

/// Checks an app id: 1–64 lowercase ASCII letters, digits or `-` (it names a file, a schema or
/// a database, so it must map to one without collisions).
pub fn check_app_id(app_id: &str) -> Result<(), StoreError> {
    let valid = !app_id.is_empty()
        && app_id.len() <= MAX_APP_ID_LEN
        && app_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(StoreError::Database(format!(
            "invalid app id {:?}: 1 to {MAX_APP_ID_LEN} lowercase letters, digits or '-'",
            app_id.chars().take(64).collect::<String>()
        )))
    }
}

/// The longest schema (PostgreSQL, 63 bytes) or database (MySQL, 64) name both servers take.
#[cfg(any(feature = "postgres", feature = "mysql", test))]
const MAX_IDENTIFIER_LEN: usize = 63;

/// The name an app's own schema or database takes: `<prefix>_app_<id>` with `-` as `_` (which
/// app ids cannot hold). When that is longer than the databases allow, `<prefix>_apph_` and a
/// digest of the id instead: still one name per id, and never one a short id maps to.
#[cfg(any(feature = "postgres", feature = "mysql", test))]
fn app_identifier(prefix: &str, app_id: &str) -> String {
    let plain = format!("{prefix}_app_{}", app_id.replace('-', "_"));
    if plain.len() <= MAX_IDENTIFIER_LEN {
        return plain;
    }
    let digest = tessera_core::sha256_hex(app_id.as_bytes());
    format!("{prefix}_apph_{}", &digest[..20])
}

/// Opens the store of app `app_id` (not `public`, whose store is `config` itself). Each app keeps
/// its sessions, tenants and signing keys apart: in its own SQLite file beside the configured one
/// (`tessera.db` → `tessera.app-<id>.db`), its own PostgreSQL schema (`tessera_app_<id>` in the
/// configured database) or its own MySQL database (`<database>_app_<id>`), created if missing.
pub async fn open_app(
    config: &StoreConfig,
    app_id: &str,
    schema: SchemaPolicy,
) -> Result<Arc<dyn SessionStore>, StoreError> {
    check_app_id(app_id)?;
    let app_config = match config {
        StoreConfig::Sqlite { path } => {
            let stem = path
                .file_stem()
                .map_or_else(|| "tessera".into(), |s| s.to_string_lossy().into_owned());
            let name = match path.extension() {
                Some(ext) => format!("{stem}.app-{app_id}.{}", ext.to_string_lossy()),
                None => format!("{stem}.app-{app_id}"),
            };
            StoreConfig::Sqlite {
                path: path.with_file_name(name),
            }
        }
        StoreConfig::Url { url, pool_size } => StoreConfig::Url {
            url: app_database_url(url, app_id).await?,
            pool_size: *pool_size,
        },
    };
    Ok(open_with(&app_config, schema).await?.0)
}

/// The URL of an app's own schema (PostgreSQL) or database (MySQL), created if missing.
async fn app_database_url(url: &str, app_id: &str) -> Result<String, StoreError> {
    let scheme = url.split("://").next().unwrap_or_default();
    match scheme {
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => {
            let (app_url, schema) = postgres_app_url(url, app_id)?;
            let admin = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await
                .map_err(crate::sqlx_shared::store_error)?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
            )))
            .execute(&admin)
            .await
            .map_err(crate::sqlx_shared::store_error)?;
            admin.close().await;
            Ok(app_url)
        }
        #[cfg(feature = "mysql")]
        "mysql" | "mariadb" => {
            let rest = &url[scheme.len() + 3..];
            let (authority, path) = rest.split_once('/').ok_or_else(|| {
                StoreError::Database("apps need a database name in database_url".to_owned())
            })?;
            let (database, query) = match path.split_once('?') {
                Some((database, query)) => (database, Some(query)),
                None => (path, None),
            };
            if database.is_empty() {
                return Err(StoreError::Database(
                    "apps need a database name in database_url".to_owned(),
                ));
            }
            let app_database = app_identifier(database, app_id);
            let admin = sqlx::mysql::MySqlPoolOptions::new()
                .max_connections(1)
                .connect(&format!("mysql://{rest}"))
                .await
                .map_err(crate::sqlx_shared::store_error)?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE IF NOT EXISTS `{app_database}`"
            )))
            .execute(&admin)
            .await
            .map_err(crate::sqlx_shared::store_error)?;
            admin.close().await;
            Ok(match query {
                Some(query) => format!("{scheme}://{authority}/{app_database}?{query}"),
                None => format!("{scheme}://{authority}/{app_database}"),
            })
        }
        _ => {
            let _ = app_id;
            Err(StoreError::Database(format!(
                "unsupported store URL scheme `{scheme}` (this build supports: {})",
                supported_schemes()
            )))
        }
    }
}

/// The URL of app `app_id`'s schema: the configured URL with its `search_path` (the configured
/// one, else `tessera`) suffixed `_app_<id>`, set through the `options` parameter (keeping any
/// other options); and that schema's name.
#[cfg(feature = "postgres")]
fn postgres_app_url(url: &str, app_id: &str) -> Result<(String, String), StoreError> {
    let bad = |error: url::ParseError| StoreError::Database(format!("database_url: {error}"));
    let mut parsed = url::Url::parse(url).map_err(bad)?;
    let mut pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let options = pairs
        .iter()
        .position(|(k, _)| k == "options")
        .map(|i| pairs.remove(i).1)
        .unwrap_or_default();
    // `-c search_path=foo` among other `-c` settings.
    let mut base = "tessera".to_owned();
    let mut kept = Vec::new();
    let mut words = options.split_whitespace().peekable();
    while let Some(word) = words.next() {
        if word == "-c" {
            if let Some(setting) = words.next() {
                match setting.strip_prefix("search_path=") {
                    Some(path) => base = path.to_owned(),
                    None => kept.push(format!("-c {setting}")),
                }
            }
        } else {
            kept.push(word.to_owned());
        }
    }
    if !base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(StoreError::Database(format!(
            "apps need database_url's search_path to be one plain schema name, not {base:?}"
        )));
    }
    let schema = app_identifier(&base, app_id);
    kept.push(format!("-c search_path={schema}"));
    pairs.push(("options".to_owned(), kept.join(" ")));
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    Ok((parsed.to_string(), schema))
}

#[cfg(test)]
mod identifier_tests {
    use super::{app_identifier, check_app_id, MAX_IDENTIFIER_LEN};

    #[test]
    fn long_app_ids_get_short_distinct_names() {
        let uuid = "3f2a6c1e-9b7d-4e0a-8c55-0d1f2e3a4b5c";
        check_app_id(uuid).unwrap();
        assert_eq!(app_identifier("tessera", "shop-1"), "tessera_app_shop_1");
        let long = app_identifier("a_long_configured_database_name", uuid);
        assert!(
            long.starts_with("a_long_configured_database_name_apph_"),
            "{long}"
        );
        assert!(long.len() <= MAX_IDENTIFIER_LEN);
        let other = app_identifier("a_long_configured_database_name", &uuid.replace('3', "4"));
        assert_ne!(long, other);
        assert!(check_app_id(&"a".repeat(65)).is_err());
        assert!(check_app_id("Upper").is_err());
    }
}

#[cfg(all(test, feature = "postgres"))]
mod tests {
    use super::postgres_app_url;

    #[test]
    fn an_app_schema_extends_the_configured_search_path() {
        let (url, schema) = postgres_app_url("postgres://u@h/db", "app-one").unwrap();
        assert_eq!(schema, "tessera_app_app_one");
        assert_eq!(
            url,
            "postgres://u@h/db?options=-c+search_path%3Dtessera_app_app_one"
        );
        let (url, schema) = postgres_app_url(
            "postgres://u@h/db?sslmode=disable&options=-c%20search_path%3Dmine%20-c%20statement_timeout%3D5s",
            "b",
        )
        .unwrap();
        assert_eq!(schema, "mine_app_b");
        assert!(url.contains("sslmode=disable"), "{url}");
        assert!(url.contains("statement_timeout%3D5s"), "{url}");
        assert!(url.contains("search_path%3Dmine_app_b"), "{url}");
        assert!(!url.contains("search_path%3Dmine+"), "{url}");
        assert!(postgres_app_url(
            "postgres://h/db?options=-c%20search_path%3D%22%24user%22",
            "b"
        )
        .is_err());
    }
}
