//! `tessera config check`: load and validate the configuration, print what is in effect; and
//! `tessera config keys`: every key there is.

use serde_json::{json, Map, Value};

use super::report::Report;
use crate::config::{ServerConfig, CONFIG_KEYS};

/// Every config key, its default and its meaning.
pub fn config_keys() -> Report {
    Report::table(
        &["KEY", "DEFAULT", "MEANING"],
        CONFIG_KEYS
            .iter()
            .map(|key| {
                vec![
                    key.key.to_owned(),
                    key.default.to_owned(),
                    key.meaning.replace('`', ""),
                ]
            })
            .collect(),
        Value::Array(
            CONFIG_KEYS
                .iter()
                .map(|key| json!({"key": key.key, "default": key.default, "meaning": key.meaning}))
                .collect(),
        ),
    )
}

/// The effective settings of a configuration that loaded (loading is what validates it: a bad key
/// never gets here, it is an error naming the key).
pub fn config_check(config: &ServerConfig) -> Report {
    let settings = config.effective_settings();
    let json = settings
        .iter()
        .map(|(key, value)| ((*key).to_owned(), Value::String(value.clone())))
        .collect::<Map<_, _>>();
    Report::table(
        &["KEY", "VALUE"],
        settings
            .into_iter()
            .map(|(key, value)| vec![key.to_owned(), value])
            .collect(),
        Value::Object(json),
    )
}
