//! Every config key, declared once: its name, the type its value is read as, its default as
//! written in a file, and what it means. The file parser ([`FileConfig`]), the list of keys that
//! environment variables may override, `tessera serve --help`, `tessera config keys` and the
//! settings table of `docs/server.md` all come from this one list.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// How an environment variable's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvValue {
    /// As YAML would read it (`4000` a number, `true` a boolean).
    Yaml,
    /// Always as text: a URL, path or key must never turn into a number or a boolean.
    Text,
}

/// One config key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigKey {
    /// The key, as written in the file (`TESSERA_<KEY IN CAPITALS>` in the environment).
    pub key: &'static str,
    /// Its default, as a file would write it (`none` when unset by default).
    pub default: &'static str,
    /// What it sets, with its unit.
    pub meaning: &'static str,
    /// How an environment override is read.
    pub env: EnvValue,
}

/// Declares the keys: each becomes an optional field of [`FileConfig`] and an entry of
/// [`CONFIG_KEYS`], in this order.
macro_rules! config_keys {
    ($( $key:ident : $ty:ty, $env:ident, $default:literal, $meaning:literal; )*) => {
        /// The keys a config file may contain; every one optional (defaults are applied where
        /// the configuration is built). Unknown keys are refused.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct FileConfig {
            $( pub(crate) $key: Option<$ty>, )*
        }

        /// Every config key, in the order the help and the docs list them.
        pub const CONFIG_KEYS: &[ConfigKey] = &[
            $( ConfigKey {
                key: stringify!($key),
                default: $default,
                meaning: $meaning,
                env: EnvValue::$env,
            }, )*
        ];
    };
}

config_keys! {
    host: String, Text, "127.0.0.1",
        "interface to listen on";
    port: u16, Yaml, "3567",
        "TCP port (`0`: any free port; the first stdout line names it)";
    api_keys: ApiKeys, Text, "none",
        "require one of these (comma-separated or a YAML list) in the `api-key` header";
    access_token_validity: u64, Yaml, "3600",
        "seconds";
    refresh_token_validity: u64, Yaml, "144000",
        "minutes (100 days), sliding";
    access_token_dynamic_signing_key_update_interval: u64, Yaml, "168",
        "hours between signing keys";
    refresh_token_rotation_grace_period: u64, Yaml, "30",
        "seconds";
    sqlite_path: PathBuf, Text, "./tessera.db",
        "the SQLite file";
    database_url: String, Text, "none",
        "`postgresql://…` or `mysql://…` instead of SQLite";
    database_pool_size: u32, Yaml, "10",
        "connections, with `database_url`";
    max_body_bytes: usize, Yaml, "1048576",
        "larger request bodies get 413";
    expiry_sweep_interval: u64, Yaml, "60",
        "seconds between deletions of expired sessions";
    header_read_timeout: u64, Yaml, "10",
        "seconds a connection has to send a complete request head, counted from when it opens or from its previous response";
    body_read_timeout: u64, Yaml, "10",
        "seconds a request has to send its whole body";
    max_connections: usize, Yaml, "4096",
        "connections served at once";
    shutdown_timeout: u64, Yaml, "30",
        "seconds a shutdown waits for requests in flight";
    verified_token_cache_entries: usize, Yaml, "10000",
        "access tokens remembered as verified, so the same token skips the signature check (`0`: off)";
    revocation_poll_interval_ms: u64, Yaml, "250",
        "how often the revocation log is read: a session revoked through another server is refused here within this (on PostgreSQL revocations are also announced, and read at once)";
    stale_revocations: StaleRevocationsKey, Text, "check_store",
        "when the log has not been read for longer than the access-token validity: `check_store` (each verification asks the database, failing closed) or `keep_verifying`";
    theft_report_retention_days: u64, Yaml, "30",
        "days a detected theft's report, with the picture of the robbed session's tokens, is kept";
    admin_key: String, Text, "none",
        "serve the admin page at `/admin`, signed in with this key (at least 16 characters, different from every API key); off when unset";
    migrate_on_start: bool, Yaml, "true",
        "bring the database schema up to date at start; `false` refuses to start on an outdated schema (run `tessera migrate`)";
}

/// The key with this name.
pub fn config_key(name: &str) -> Option<&'static ConfigKey> {
    CONFIG_KEYS.iter().find(|key| key.key == name)
}

/// `stale_revocations`: what verification does while the revocation log cannot be read.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StaleRevocationsKey {
    CheckStore,
    KeepVerifying,
}

/// `api_keys`: a comma-separated string (as in SuperTokens' config) or a YAML list.
#[derive(Debug, Default, Clone)]
pub(crate) struct ApiKeys(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for ApiKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeysVisitor;
        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = ApiKeys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a comma-separated string of API keys or a list of strings")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<ApiKeys, E> {
                Ok(ApiKeys(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ApiKeys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = seq.next_element::<String>()? {
                    let key = key.trim().to_owned();
                    if !key.is_empty() {
                        keys.push(key);
                    }
                }
                Ok(ApiKeys(keys))
            }
        }
        deserializer.deserialize_any(KeysVisitor)
    }
}
