//! The server's YAML config and `TESSERA_*` overrides: any text is a config or a clear error,
//! never a panic. The first line of the input is taken as one environment override.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_server::config::ServerConfig;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let env = first.split_once('=').map(|(k, v)| {
        (
            format!("TESSERA_{}", k.trim().to_ascii_uppercase()),
            v.to_owned(),
        )
    });
    if let Err(error) = ServerConfig::from_yaml(rest, env.clone()) {
        assert!(!error.to_string().is_empty());
    }
    let _ = ServerConfig::from_yaml(&text, Vec::new());
});
