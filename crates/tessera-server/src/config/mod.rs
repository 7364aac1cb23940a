//! Server configuration: a YAML file whose keys follow SuperTokens core's `config.yaml`, each
//! overridable by a `TESSERA_<KEY>` environment variable.
//!
//! Units are SuperTokens' own, so an existing core config carries over: seconds for
//! `access_token_validity`, minutes for `refresh_token_validity`, hours for the signing-key interval.
//! Unknown keys in the file and bad values stop start-up, naming the key, because a typo that silently falls
//! back to a default (say, a 100-day refresh token) is worse than a server that does not start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_norway::Value;
use tessera_core::{SessionConfig, StaleRevocations};
use tessera_store::StoreConfig;
use thiserror::Error;

mod help;
mod keys;

pub use help::{markdown_table, serve_help};
use keys::{config_key, EnvValue, FileConfig, StaleRevocationsKey};
pub use keys::{ConfigKey, CONFIG_KEYS};

/// Prefix of the environment variables that override file keys.
pub const ENV_PREFIX: &str = "TESSERA_";

/// Environment variables with the prefix that are not config keys (they are read by the CLI).
const NON_KEY_ENV: [&str; 3] = ["TESSERA_CONFIG", "TESSERA_LOG", "TESSERA_LOG_FORMAT"];

/// Why the configuration could not be loaded.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not YAML, or a key is unknown or has a bad value.
    #[error("config file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// The parser's message (it names the key and line).
        message: String,
    },
    /// An environment override has a bad value.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable.
        var: String,
        /// Why its value is rejected.
        message: String,
    },
    /// A value parsed but is out of range.
    #[error("config key `{key}`: {message}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// Why.
        message: String,
    },
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Interface to listen on (default `127.0.0.1`: nothing outside the machine can reach the
    /// server until it is configured to).
    pub host: String,
    /// TCP port (default 3567, SuperTokens core's).
    pub port: u16,
    /// Accepted `api-key` values; empty means no key is required.
    pub api_keys: Vec<String>,
    /// Engine settings.
    pub session: SessionConfig,
    /// Where sessions live.
    pub store: StoreConfig,
    /// Largest request body accepted (default 1 MiB; CDI bodies are a few KiB).
    pub max_body_bytes: usize,
    /// How often expired sessions and keys are deleted.
    pub expiry_sweep_interval: Duration,
    /// Limits on connections, so that slow or hostile clients cannot exhaust the server.
    pub connections: ConnectionLimits,
    /// How long a shutdown waits for requests in flight before dropping them.
    pub shutdown_timeout: Duration,
    /// Whether `serve` (and the operator commands) bring the schema up to date when they open
    /// the store; when off they refuse an outdated schema and `tessera migrate` updates it.
    pub migrate_on_start: bool,
    /// The admin page's sign-in key; the page at `/admin` is served only when it is set.
    pub admin_key: Option<String>,
}

/// How long clients may take and how many may be connected at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time a connection has to send a complete request head, counted from when it opens or
    /// finishes its previous request: closes half-open connections and idle keep-alive ones.
    pub header_read_timeout: Duration,
    /// Time a request has to send its whole body.
    pub body_read_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog until one closes.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
        }
    }
}

impl ServerConfig {
    /// Reads `path` (if given), applies `TESSERA_*` overrides from `env`, and validates.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let keys = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                parse_mapping(&text, path)?
            }
            None => BTreeMap::new(),
        };
        Self::from_keys(keys, path, env)
    }

    /// Like [`load`](Self::load) with the file's text given directly (errors name `<text>` as the
    /// file).
    pub fn from_yaml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let path = Path::new("<text>");
        Self::from_keys(parse_mapping(text, path)?, Some(path), env)
    }

    fn from_keys(
        mut keys: BTreeMap<String, Value>,
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        // Check each file key on its own so that the error names it (serde's messages for a
        // whole mapping give the type but not the key).
        for (key, value) in &keys {
            from_map(BTreeMap::from([(key.clone(), value.clone())])).map_err(|message| {
                ConfigError::File {
                    path: path.map(Path::to_path_buf).unwrap_or_default(),
                    message: format!("key `{key}`: {message}"),
                }
            })?;
        }
        for (var, raw) in env {
            let Some(key) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if NON_KEY_ENV.contains(&var.as_str()) {
                continue;
            }
            let key = key.to_ascii_lowercase();
            if config_key(&key).is_none() {
                tracing::warn!(%var, "ignoring environment variable: not a Tessera config key");
                continue;
            }
            let value = env_value(&key, &raw);
            // Check the one value on its own so that the error names the variable.
            let single = BTreeMap::from([(key.clone(), value.clone())]);
            from_map(single).map_err(|message| ConfigError::Env {
                var: var.clone(),
                message,
            })?;
            keys.insert(key, value);
        }
        let file = from_map(keys).map_err(|message| ConfigError::File {
            path: path.map(Path::to_path_buf).unwrap_or_default(),
            message,
        })?;
        Self::from_file_config(file)
    }

    fn from_file_config(file: FileConfig) -> Result<Self, ConfigError> {
        let defaults = SessionConfig::default();
        let positive = |key: &'static str, value: Option<u64>| match value {
            Some(0) => Err(ConfigError::Invalid {
                key,
                message: "must be greater than 0".to_owned(),
            }),
            other => Ok(other),
        };
        let session = SessionConfig {
            access_token_validity: positive("access_token_validity", file.access_token_validity)?
                .map_or(defaults.access_token_validity, Duration::from_secs),
            refresh_token_validity: positive(
                "refresh_token_validity",
                file.refresh_token_validity,
            )?
            .map_or(defaults.refresh_token_validity, |m| {
                Duration::from_secs(m.saturating_mul(60))
            }),
            signing_key_update_interval: positive(
                "access_token_dynamic_signing_key_update_interval",
                file.access_token_dynamic_signing_key_update_interval,
            )?
            .map_or(defaults.signing_key_update_interval, |h| {
                Duration::from_secs(h.saturating_mul(3600))
            }),
            refresh_token_rotation_grace_period: file.refresh_token_rotation_grace_period.map_or(
                defaults.refresh_token_rotation_grace_period,
                Duration::from_secs,
            ),
            verified_token_cache_entries: file
                .verified_token_cache_entries
                .unwrap_or(defaults.verified_token_cache_entries),
            revocation_poll_interval: positive(
                "revocation_poll_interval_ms",
                file.revocation_poll_interval_ms,
            )?
            .map_or(defaults.revocation_poll_interval, Duration::from_millis),
            stale_revocations: match file.stale_revocations {
                None => defaults.stale_revocations,
                Some(StaleRevocationsKey::CheckStore) => StaleRevocations::CheckStore,
                Some(StaleRevocationsKey::KeepVerifying) => StaleRevocations::KeepVerifying,
            },
            theft_report_retention: file
                .theft_report_retention_days
                .map_or(defaults.theft_report_retention, |days| {
                    Duration::from_secs(days.saturating_mul(86_400))
                }),
            ..defaults
        };
        let pool_size = match file.database_pool_size {
            Some(0) => {
                return Err(ConfigError::Invalid {
                    key: "database_pool_size",
                    message: "must be greater than 0".to_owned(),
                })
            }
            Some(n) => n,
            None => 10,
        };
        let store = match (file.database_url, file.sqlite_path) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    key: "database_url",
                    message: "set either database_url or sqlite_path, not both".to_owned(),
                })
            }
            (Some(url), None) => StoreConfig::from_url(&url, pool_size),
            (None, Some(path)) => StoreConfig::Sqlite { path },
            (None, None) => StoreConfig::default(),
        };
        let api_keys = file.api_keys.unwrap_or_default().0;
        if let Some(bad) = api_keys
            .iter()
            .find(|k| k.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(ConfigError::Invalid {
                key: "api_keys",
                message: format!(
                    "an API key contains whitespace ({} characters long)",
                    bad.len()
                ),
            });
        }
        let max_body_bytes = match file.max_body_bytes {
            Some(0) => {
                return Err(ConfigError::Invalid {
                    key: "max_body_bytes",
                    message: "must be greater than 0".to_owned(),
                })
            }
            Some(n) => n,
            None => 1024 * 1024,
        };
        let expiry_sweep_interval = positive("expiry_sweep_interval", file.expiry_sweep_interval)?
            .map_or(Duration::from_secs(60), Duration::from_secs);
        let default_limits = ConnectionLimits::default();
        let connections = ConnectionLimits {
            header_read_timeout: positive("header_read_timeout", file.header_read_timeout)?
                .map_or(default_limits.header_read_timeout, Duration::from_secs),
            body_read_timeout: positive("body_read_timeout", file.body_read_timeout)?
                .map_or(default_limits.body_read_timeout, Duration::from_secs),
            max_connections: match file.max_connections {
                Some(0) => {
                    return Err(ConfigError::Invalid {
                        key: "max_connections",
                        message: "must be greater than 0".to_owned(),
                    })
                }
                Some(n) => n,
                None => default_limits.max_connections,
            },
        };
        let shutdown_timeout = file
            .shutdown_timeout
            .map_or(Duration::from_secs(30), Duration::from_secs);
        let host = file.host.unwrap_or_else(|| "127.0.0.1".to_owned());
        if host.trim().is_empty() {
            return Err(ConfigError::Invalid {
                key: "host",
                message: "must not be empty".to_owned(),
            });
        }
        let admin_key = admin_key(file.admin_key, &api_keys)?;
        Ok(Self {
            host,
            port: file.port.unwrap_or(3567),
            api_keys,
            session,
            store,
            max_body_bytes,
            expiry_sweep_interval,
            connections,
            shutdown_timeout,
            migrate_on_start: file.migrate_on_start.unwrap_or(true),
            admin_key,
        })
    }

    /// Every setting in effect, as `(config key, value)` in the file's units, with secrets
    /// masked: API keys are counted, never shown, and a database URL loses its password.
    pub fn effective_settings(&self) -> Vec<(&'static str, String)> {
        let session = &self.session;
        let mut settings = vec![
            ("host", self.host.clone()),
            ("port", self.port.to_string()),
            (
                "api_keys",
                match self.api_keys.len() {
                    0 => "none (no API key required)".to_owned(),
                    1 => "1 key (masked)".to_owned(),
                    n => format!("{n} keys (masked)"),
                },
            ),
            (
                "access_token_validity",
                session.access_token_validity.as_secs().to_string(),
            ),
            (
                "refresh_token_validity",
                (session.refresh_token_validity.as_secs() / 60).to_string(),
            ),
            (
                "access_token_dynamic_signing_key_update_interval",
                (session.signing_key_update_interval.as_secs() / 3600).to_string(),
            ),
            (
                "refresh_token_rotation_grace_period",
                session
                    .refresh_token_rotation_grace_period
                    .as_secs()
                    .to_string(),
            ),
        ];
        match &self.store {
            StoreConfig::Sqlite { path } => {
                settings.push(("sqlite_path", path.display().to_string()));
            }
            StoreConfig::Url { url, pool_size } => {
                settings.push(("database_url", mask_url_password(url)));
                settings.push(("database_pool_size", pool_size.to_string()));
            }
        }
        settings.extend([
            ("migrate_on_start", self.migrate_on_start.to_string()),
            (
                "admin_key",
                match self.admin_key {
                    Some(_) => "set (masked): the admin page is on at /admin",
                    None => "none (the admin page is off)",
                }
                .to_owned(),
            ),
            ("max_body_bytes", self.max_body_bytes.to_string()),
            (
                "expiry_sweep_interval",
                self.expiry_sweep_interval.as_secs().to_string(),
            ),
            (
                "header_read_timeout",
                self.connections.header_read_timeout.as_secs().to_string(),
            ),
            (
                "body_read_timeout",
                self.connections.body_read_timeout.as_secs().to_string(),
            ),
            (
                "max_connections",
                self.connections.max_connections.to_string(),
            ),
            (
                "shutdown_timeout",
                self.shutdown_timeout.as_secs().to_string(),
            ),
            (
                "verified_token_cache_entries",
                session.verified_token_cache_entries.to_string(),
            ),
            (
                "revocation_poll_interval_ms",
                session.revocation_poll_interval.as_millis().to_string(),
            ),
            (
                "stale_revocations",
                match session.stale_revocations {
                    StaleRevocations::CheckStore => "check_store",
                    StaleRevocations::KeepVerifying => "keep_verifying",
                }
                .to_owned(),
            ),
            (
                "theft_report_retention_days",
                (session.theft_report_retention.as_secs() / 86_400).to_string(),
            ),
        ]);
        settings
    }
}

/// The shortest admin key accepted: the admin page can revoke every session, so its key must not
/// be guessable by trying.
const MIN_ADMIN_KEY_LEN: usize = 16;

fn admin_key(key: Option<String>, api_keys: &[String]) -> Result<Option<String>, ConfigError> {
    let Some(key) = key else {
        return Ok(None);
    };
    let invalid = |message: &str| ConfigError::Invalid {
        key: "admin_key",
        message: message.to_owned(),
    };
    if key.chars().count() < MIN_ADMIN_KEY_LEN {
        return Err(invalid("must be at least 16 characters long"));
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("must not contain whitespace"));
    }
    if api_keys.contains(&key) {
        return Err(invalid("must differ from every API key"));
    }
    Ok(Some(key))
}

/// A connection URL with its password (in the user-info part, or a `password=` parameter)
/// replaced by `****`.
fn mask_url_password(url: &str) -> String {
    let mut masked = url.to_owned();
    if let Some(scheme_end) = masked.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = masked[authority_start..]
            .find(['/', '?', '#'])
            .map_or(masked.len(), |i| authority_start + i);
        if let Some(at) = masked[authority_start..authority_end].rfind('@') {
            let user_info = authority_start..authority_start + at;
            if let Some(colon) = masked[user_info.clone()].find(':') {
                masked.replace_range(user_info.start + colon + 1..user_info.end, "****");
            }
        }
    }
    if let Some(query_start) = masked.find('?') {
        let (base, query) = masked.split_at(query_start + 1);
        let query = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=****"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        masked = format!("{base}{query}");
    }
    masked
}

fn parse_mapping(text: &str, path: &Path) -> Result<BTreeMap<String, Value>, ConfigError> {
    let file_error = |message: String| ConfigError::File {
        path: path.to_path_buf(),
        message,
    };
    let value: Value = serde_norway::from_str(text).map_err(|e| file_error(e.to_string()))?;
    match value {
        // An empty file (or one holding only comments) means "all defaults".
        Value::Null => Ok(BTreeMap::new()),
        Value::Mapping(mapping) => mapping
            .into_iter()
            .map(|(k, v)| match k {
                Value::String(k) => Ok((k, v)),
                other => Err(file_error(format!("keys must be strings, found {other:?}"))),
            })
            .collect(),
        _ => Err(file_error(
            "expected a mapping of keys to values at the top level".to_owned(),
        )),
    }
}

/// An environment value as YAML would read it, except for keys that are always strings (a
/// database URL or path must not turn into a number or a boolean).
fn env_value(key: &str, raw: &str) -> Value {
    match config_key(key).map(|key| key.env) {
        Some(EnvValue::Yaml) => {
            serde_norway::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
        }
        Some(EnvValue::Text) | None => Value::String(raw.to_owned()),
    }
}

fn from_map(keys: BTreeMap<String, Value>) -> Result<FileConfig, String> {
    let mapping = keys
        .into_iter()
        .map(|(k, v)| (Value::String(k), v))
        .collect();
    serde_norway::from_value(Value::Mapping(mapping)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_key_is_a_field_of_the_file() {
        for key in CONFIG_KEYS.iter().map(|key| key.key) {
            let single = BTreeMap::from([(key.to_owned(), Value::Null)]);
            if let Err(message) = from_map(single) {
                assert!(!message.contains("unknown field"), "{key}: {message}");
            }
        }
        let unknown = BTreeMap::from([("no_such_key".to_owned(), Value::Null)]);
        assert!(from_map(unknown).unwrap_err().contains("unknown field"));
    }

    #[test]
    fn effective_settings_name_every_key_once_and_mask_secrets() {
        let sqlite =
            ServerConfig::from_yaml("api_keys: \"first-secret,second-secret\"\n", []).unwrap();
        let url = ServerConfig::from_yaml(
            "database_url: \"postgresql://tessera:hunter22@db:5432/sessions?sslmode=require&password=other\"\n",
            [],
        )
        .unwrap();
        let mut shown: Vec<&str> = sqlite
            .effective_settings()
            .iter()
            .chain(url.effective_settings().iter())
            .map(|(key, _)| *key)
            .collect();
        shown.sort_unstable();
        shown.dedup();
        let mut keys: Vec<&str> = CONFIG_KEYS.iter().map(|key| key.key).collect();
        keys.sort_unstable();
        assert_eq!(shown, keys, "effective_settings and CONFIG_KEYS disagree");
        let text = format!(
            "{:?}{:?}",
            sqlite.effective_settings(),
            url.effective_settings()
        );
        for secret in ["first-secret", "second-secret", "hunter22", "other"] {
            assert!(!text.contains(secret), "{secret} shown in {text}");
        }
        assert!(
            text.contains(
                "postgresql://tessera:****@db:5432/sessions?sslmode=require&password=****"
            ),
            "{text}"
        );
        assert!(text.contains("2 keys (masked)"), "{text}");
    }

    #[test]
    fn urls_without_passwords_are_left_alone() {
        for url in [
            "mysql://root@127.0.0.1:3306/test",
            "postgres://db/x?sslmode=disable",
            "postgres://a:b@c",
        ] {
            let masked = mask_url_password(url);
            assert_eq!(masked == url, !url.contains(":b@"), "{url} -> {masked}");
        }
        assert_eq!(mask_url_password("postgres://a:b@c"), "postgres://a:****@c");
        assert_eq!(
            mask_url_password("postgres://a:p@ss@c/d"),
            "postgres://a:****@c/d"
        );
    }

    fn load_str(yaml: &str, env: &[(&str, &str)]) -> Result<ServerConfig, ConfigError> {
        let dir = tempfile::tempdir().map_err(|source| ConfigError::Read {
            path: PathBuf::new(),
            source,
        })?;
        let path = dir.path().join("tessera.yaml");
        std::fs::write(&path, yaml).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        ServerConfig::load(
            Some(&path),
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    #[test]
    fn defaults_follow_supertokens() -> Result<(), ConfigError> {
        let config = ServerConfig::load(None, Vec::new())?;
        assert_eq!(config.port, 3567);
        assert_eq!(config.host, "127.0.0.1");
        assert!(config.api_keys.is_empty());
        assert_eq!(config.store, StoreConfig::default());
        assert_eq!(
            config.session.refresh_token_validity,
            Duration::from_secs(144_000 * 60)
        );
        assert_eq!(config.connections, ConnectionLimits::default());
        assert_eq!(config.shutdown_timeout, Duration::from_secs(30));
        Ok(())
    }

    #[test]
    fn connection_limits_are_settable() -> Result<(), ConfigError> {
        let config = load_str(
            "header_read_timeout: 3\nbody_read_timeout: 4\nshutdown_timeout: 0\n",
            &[("TESSERA_MAX_CONNECTIONS", "7")],
        )?;
        assert_eq!(
            config.connections,
            ConnectionLimits {
                header_read_timeout: Duration::from_secs(3),
                body_read_timeout: Duration::from_secs(4),
                max_connections: 7,
            }
        );
        assert_eq!(config.shutdown_timeout, Duration::ZERO);
        let error = load_str("max_connections: 0\n", &[])
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(error.contains("max_connections"), "{error}");
        Ok(())
    }

    #[test]
    fn units_are_supertokens_units() -> Result<(), ConfigError> {
        let config = load_str(
            "access_token_validity: 60\nrefresh_token_validity: 10\n\
             access_token_dynamic_signing_key_update_interval: 2\n\
             refresh_token_rotation_grace_period: 1\napi_keys: \"k1, k2\"\n",
            &[],
        )?;
        assert_eq!(
            config.session.access_token_validity,
            Duration::from_secs(60)
        );
        assert_eq!(
            config.session.refresh_token_validity,
            Duration::from_secs(600)
        );
        assert_eq!(
            config.session.signing_key_update_interval,
            Duration::from_secs(7200)
        );
        assert_eq!(
            config.session.refresh_token_rotation_grace_period,
            Duration::from_secs(1)
        );
        assert_eq!(config.api_keys, ["k1", "k2"]);
        Ok(())
    }

    #[test]
    fn env_overrides_file() -> Result<(), ConfigError> {
        let config = load_str(
            "port: 4000\napi_keys: [a, b]\n",
            &[
                ("TESSERA_PORT", "5000"),
                ("TESSERA_SQLITE_PATH", "/tmp/x.db"),
            ],
        )?;
        assert_eq!(config.port, 5000);
        assert_eq!(config.api_keys, ["a", "b"]);
        assert_eq!(
            config.store,
            StoreConfig::Sqlite {
                path: PathBuf::from("/tmp/x.db")
            }
        );
        Ok(())
    }

    #[test]
    fn unknown_key_is_named() {
        let error = load_str("prot: 1\n", &[])
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(error.contains("prot"), "{error}");
    }

    #[test]
    fn bad_value_is_named() {
        let error = load_str("port: abc\n", &[])
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(error.contains("port"), "{error}");
        let error = load_str("", &[("TESSERA_ACCESS_TOKEN_VALIDITY", "soon")])
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(error.contains("TESSERA_ACCESS_TOKEN_VALIDITY"), "{error}");
        let error = load_str("access_token_validity: 0\n", &[])
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(error.contains("access_token_validity"), "{error}");
    }
}
