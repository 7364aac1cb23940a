//! Access tokens in SuperTokens' first two layouts (V1, V2), for SDKs of protocol versions before
//! 2.21: a fixed header, standard (padded) base64 instead of base64url, RS256 over
//! `header.payload`, no key id (verifiers try every key), times in milliseconds and the custom
//! claims under `userData`.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{sign_segments, MAX_ACCESS_TOKEN_LEN};
use crate::claims::AccessTokenClaims;
use crate::config::SigningAlgorithm;
use crate::error::GeneralError;
use crate::keys::SigningKey;
use crate::token_version::AccessTokenVersion;
use crate::types::DEFAULT_TENANT;

/// `base64({"alg":"RS256","typ":"JWT","version":"1"})`, byte for byte as SDKs compare it.
pub(crate) const V1_HEADER: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIxIn0=";
/// The same with version 2.
pub(crate) const V2_HEADER: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIyIn0=";

/// The layout a token's header names, if it is one of the two legacy headers.
pub(crate) fn version_of(token: &str) -> Option<AccessTokenVersion> {
    let header = token.split('.').next()?;
    match header {
        V1_HEADER => Some(AccessTokenVersion::V1),
        V2_HEADER => Some(AccessTokenVersion::V2),
        _ => None,
    }
}

/// The claims as the legacy layouts carry them, in the order SuperTokens wrote them.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyClaims {
    session_handle: String,
    user_id: String,
    refresh_token_hash1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent_refresh_token_hash1: Option<String>,
    user_data: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    anti_csrf_token: Option<String>,
    /// Milliseconds.
    expiry_time: i64,
    /// Milliseconds.
    time_created: i64,
}

/// Signs `claims` in a legacy layout with an RSA `key`.
pub(crate) fn encode(
    key: &SigningKey,
    claims: &AccessTokenClaims,
    version: AccessTokenVersion,
) -> Result<String, GeneralError> {
    if key.algorithm != SigningAlgorithm::Rs256 {
        return Err(GeneralError::Key(
            "access tokens for protocol versions before 2.21 need RS256 signing keys",
        ));
    }
    let header = match version {
        AccessTokenVersion::V1 => V1_HEADER,
        _ => V2_HEADER,
    };
    let legacy = LegacyClaims {
        session_handle: claims.session_handle.clone(),
        user_id: claims.user_id.clone(),
        refresh_token_hash1: claims.refresh_token_hash1.clone(),
        parent_refresh_token_hash1: claims.parent_refresh_token_hash1.clone(),
        user_data: claims.payload.clone(),
        anti_csrf_token: claims.anti_csrf_token.clone(),
        expiry_time: claims.exp.saturating_mul(1000),
        time_created: claims.iat.saturating_mul(1000),
    };
    let body = serde_json::to_vec(&legacy).map_err(|error| {
        GeneralError::InvalidArgument(format!("unserialisable claims: {error}"))
    })?;
    sign_segments(key, header, &body, &STANDARD)
}

/// Verifies a legacy token against `keys` (it names none, so each RSA key is tried) and reads its
/// claims; the key that signed it comes back with them.
pub(crate) fn verify<'k>(
    token: &str,
    keys: impl IntoIterator<Item = &'k std::sync::Arc<SigningKey>>,
) -> Result<(AccessTokenClaims, &'k std::sync::Arc<SigningKey>), &'static str> {
    if token.len() > MAX_ACCESS_TOKEN_LEN {
        return Err("access token too long");
    }
    let (signing_input, signature) = token.rsplit_once('.').ok_or("malformed access token")?;
    let (_, payload) = signing_input
        .split_once('.')
        .ok_or("malformed access token")?;
    let signature = STANDARD
        .decode(signature)
        .map_err(|_| "malformed access token signature")?;
    let key = keys
        .into_iter()
        .filter(|key| key.algorithm == SigningAlgorithm::Rs256)
        .find(|key| {
            key.verifying_key()
                .verify(signing_input.as_bytes(), &signature)
        })
        .ok_or("access token signature is invalid")?;
    // SuperTokens read payloads in either base64 alphabet.
    let body = STANDARD
        .decode(payload)
        .or_else(|_| URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')))
        .map_err(|_| "malformed access token body")?;
    let legacy: LegacyClaims =
        serde_json::from_slice(&body).map_err(|_| "access token claims missing or mistyped")?;
    Ok((
        AccessTokenClaims {
            recipe_user_id: legacy.user_id.clone(),
            user_id: legacy.user_id,
            exp: legacy.expiry_time.div_euclid(1000),
            iat: legacy.time_created.div_euclid(1000),
            session_handle: legacy.session_handle,
            refresh_token_hash1: legacy.refresh_token_hash1,
            parent_refresh_token_hash1: legacy.parent_refresh_token_hash1,
            anti_csrf_token: legacy.anti_csrf_token,
            tenant_id: DEFAULT_TENANT.to_owned(),
            payload: legacy.user_data,
            version: version_of(token).unwrap_or(AccessTokenVersion::V2),
        },
        key,
    ))
}
