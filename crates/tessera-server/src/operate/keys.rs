//! `tessera keys list | rotate`.

use serde_json::{json, Value};
use tessera_core::{KeyKind, Sessions, SigningKeyInfo, Timestamp};

use super::report::{time, Report};
use super::OperateError;

fn kind_name(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Dynamic => "dynamic",
        KeyKind::Static => "static",
    }
}

fn key_json(key: &SigningKeyInfo) -> Value {
    json!({
        "kid": key.kid,
        "algorithm": key.algorithm,
        "kind": kind_name(key.kind),
        "created_at_ms": key.created_at.as_millis(),
        "expires_at_ms": key.expires_at.map(Timestamp::as_millis),
        "in_use": key.in_use,
    })
}

/// The signing keys that still verify tokens, newest first.
pub async fn keys_list(sessions: &Sessions) -> Result<Report, OperateError> {
    let keys = sessions.signing_keys().await?;
    let rows = keys
        .iter()
        .map(|key| {
            vec![
                key.kid.clone(),
                key.algorithm.clone(),
                kind_name(key.kind).to_owned(),
                time(key.created_at),
                key.expires_at.map_or_else(|| "never".to_owned(), time),
                if key.in_use { "yes" } else { "no" }.to_owned(),
            ]
        })
        .collect();
    Ok(Report::table(
        &["KID", "ALGORITHM", "KIND", "CREATED", "EXPIRES", "IN USE"],
        rows,
        Value::Array(keys.iter().map(key_json).collect()),
    ))
}

/// A new dynamic key that signs from now on; the old ones verify until their tokens expire.
pub async fn keys_rotate(sessions: &Sessions) -> Result<Report, OperateError> {
    let key = sessions.rotate_signing_key().await?;
    Ok(Report::message(
        format!(
            "created signing key {} ({}); running servers sign with it within a minute, and tokens signed by older keys verify until they expire",
            key.kid, key.algorithm
        ),
        key_json(&key),
    ))
}
