//! Access-token claims in the SuperTokens v5 layout (`spec.md` §2).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::GeneralError;

/// Claim names Tessera sets itself; a custom payload may not use them.
pub const RESERVED_CLAIMS: [&str; 10] = [
    "sub",
    "exp",
    "iat",
    "sessionHandle",
    "refreshTokenHash1",
    "parentRefreshTokenHash1",
    "antiCsrfToken",
    "iss",
    "tId",
    "rsub",
];

/// The claims of a Tessera access token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessTokenClaims {
    /// The user id.
    #[serde(rename = "sub")]
    pub user_id: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// The session's handle.
    #[serde(rename = "sessionHandle")]
    pub session_handle: String,
    /// `H(refresh token)` of the refresh token minted with this access token.
    #[serde(rename = "refreshTokenHash1")]
    pub refresh_token_hash1: String,
    /// Always null: Tessera verifies without the database, so it never asks a verifier to commit a
    /// parent (see `rotation`).
    #[serde(rename = "parentRefreshTokenHash1")]
    pub parent_refresh_token_hash1: Option<String>,
    /// The anti-CSRF token, when the session uses one.
    #[serde(rename = "antiCsrfToken")]
    pub anti_csrf_token: Option<String>,
    /// Tenant id.
    #[serde(rename = "tId")]
    pub tenant_id: String,
    /// Recipe user id (the user id, until account linking exists).
    #[serde(rename = "rsub")]
    pub recipe_user_id: String,
    /// Issuer, when configured.
    #[serde(rename = "iss", skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Custom claims, at the top level of the token.
    #[serde(flatten)]
    pub payload: Map<String, Value>,
}

impl AccessTokenClaims {
    /// Reads claims from a decoded token body; `None` if a required claim is missing or mistyped.
    pub(crate) fn from_json(mut object: Map<String, Value>) -> Option<Self> {
        let mut string = |name: &str| match object.remove(name) {
            Some(Value::String(value)) => Some(value),
            _ => None,
        };
        let user_id = string("sub")?;
        let session_handle = string("sessionHandle")?;
        let refresh_token_hash1 = string("refreshTokenHash1")?;
        let tenant_id = string("tId")?;
        let recipe_user_id = string("rsub")?;
        let mut nullable = |name: &str| match object.remove(name) {
            Some(Value::String(value)) => Some(Some(value)),
            Some(Value::Null) | None => Some(None),
            Some(_) => None,
        };
        let parent_refresh_token_hash1 = nullable("parentRefreshTokenHash1")?;
        let anti_csrf_token = nullable("antiCsrfToken")?;
        let issuer = nullable("iss")?;
        let exp = object.remove("exp")?.as_i64()?;
        let iat = object.remove("iat")?.as_i64()?;
        Some(Self {
            user_id,
            exp,
            iat,
            session_handle,
            refresh_token_hash1,
            parent_refresh_token_hash1,
            anti_csrf_token,
            tenant_id,
            recipe_user_id,
            issuer,
            payload: object,
        })
    }
}

/// Refuses a custom payload that would overwrite a claim Tessera sets.
pub fn check_custom_payload(payload: &Map<String, Value>) -> Result<(), GeneralError> {
    match RESERVED_CLAIMS
        .iter()
        .find(|name| payload.contains_key(**name))
    {
        Some(name) => Err(GeneralError::InvalidArgument(format!(
            "the access-token payload uses the reserved claim name `{name}`"
        ))),
        None => Ok(()),
    }
}
