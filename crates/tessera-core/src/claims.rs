//! Access-token claims in the SuperTokens v5 layout (`docs/protocol.md`).

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::GeneralError;
use crate::secret::AntiCsrfToken;
use crate::time::Timestamp;
use crate::token_version::AccessTokenVersion;
use crate::types::SessionClaims;

/// Claim names Tessera sets itself; a custom payload may not use them. `iss` is not among them: the
/// SuperTokens backend SDKs put their API domain there in every session's payload.
pub const RESERVED_CLAIMS: [&str; 9] = [
    "sub",
    "exp",
    "iat",
    "sessionHandle",
    "refreshTokenHash1",
    "parentRefreshTokenHash1",
    "antiCsrfToken",
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
    /// `H(refresh token)` of the token refreshed to mint this one; null on a session's first
    /// access token and on one handed back by a first verification. While it is set, verifiers
    /// present the refresh token to the store on verification (see `rotation`).
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
    /// Custom claims, at the top level of the token.
    #[serde(flatten)]
    pub payload: Map<String, Value>,
    /// The layout the token was read from (not a claim: its header says it).
    #[serde(skip)]
    pub version: AccessTokenVersion,
}

impl AccessTokenClaims {
    /// Reads claims from a decoded token body; `None` if a required claim is missing or mistyped.
    /// The layout's claims must all be there: a V5 token without `rsub` is refused.
    pub(crate) fn from_slice(body: &[u8], version: AccessTokenVersion) -> Option<Self> {
        let claims = serde_json::from_slice::<WireClaims>(body).ok()?;
        if (version.has_tenant() && !claims.has_tenant)
            || (version.has_recipe_user() && !claims.has_recipe_user)
        {
            return None;
        }
        claims
            .claims
            .map(|claims| AccessTokenClaims { version, ..claims })
    }
}

impl From<AccessTokenClaims> for SessionClaims {
    fn from(claims: AccessTokenClaims) -> Self {
        SessionClaims {
            handle: claims.session_handle,
            user_id: claims.user_id,
            tenant_id: claims.tenant_id,
            access_token_payload: claims.payload,
            access_token_expiry: Timestamp::from_secs(claims.exp),
            refresh_token_hash1: claims.refresh_token_hash1,
            parent_refresh_token_hash1: claims.parent_refresh_token_hash1,
            anti_csrf_token: claims.anti_csrf_token.map(AntiCsrfToken::new),
            token_version: claims.version,
        }
    }
}

/// Claims as read off the wire: the reserved ones straight into fields, the rest into the payload,
/// without building an intermediate map of everything (the verify hot path).
struct WireClaims {
    claims: Option<AccessTokenClaims>,
    has_tenant: bool,
    has_recipe_user: bool,
}

impl<'de> Deserialize<'de> for WireClaims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(WireClaimsVisitor)
    }
}

struct WireClaimsVisitor;

impl<'de> Visitor<'de> for WireClaimsVisitor {
    type Value = WireClaims;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON object of access-token claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireClaims, A::Error> {
        let (mut sub, mut exp, mut iat, mut handle, mut hash1, mut tenant, mut rsub) =
            (None, None, None, None, None, None, None);
        let (mut parent, mut anti_csrf) = (None, None);
        let mut payload = Map::new();
        let mut mistyped = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            // A duplicate or mistyped reserved claim makes the token invalid, not an error of the
            // parser: keep reading, then refuse.
            match key.as_ref() {
                "sub" => mistyped |= sub.replace(map.next_value::<Value>()?).is_some(),
                "exp" => mistyped |= exp.replace(map.next_value::<Value>()?).is_some(),
                "iat" => mistyped |= iat.replace(map.next_value::<Value>()?).is_some(),
                "sessionHandle" => mistyped |= handle.replace(map.next_value::<Value>()?).is_some(),
                "refreshTokenHash1" => {
                    mistyped |= hash1.replace(map.next_value::<Value>()?).is_some()
                }
                "tId" => mistyped |= tenant.replace(map.next_value::<Value>()?).is_some(),
                "rsub" => mistyped |= rsub.replace(map.next_value::<Value>()?).is_some(),
                "parentRefreshTokenHash1" => {
                    mistyped |= parent.replace(map.next_value::<Value>()?).is_some()
                }
                "antiCsrfToken" => {
                    mistyped |= anti_csrf.replace(map.next_value::<Value>()?).is_some()
                }
                _ => {
                    payload.insert(key.into_owned(), map.next_value()?);
                }
            }
        }
        let (has_tenant, has_recipe_user) = (tenant.is_some(), rsub.is_some());
        if mistyped {
            return Ok(WireClaims {
                claims: None,
                has_tenant,
                has_recipe_user,
            });
        }
        let text = |value: Option<Value>| match value {
            Some(Value::String(text)) => Some(text),
            _ => None,
        };
        let nullable = |value: Option<Value>| match value {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(text)) => Some(Some(text)),
            Some(_) => None,
        };
        let number = |value: Option<Value>| value.and_then(|v| v.as_i64());
        // Layouts before V4 carry no tenant and before V5 no recipe user (the user then).
        let rsub = rsub.or_else(|| sub.clone());
        let claims = (|| {
            Some(AccessTokenClaims {
                user_id: text(sub)?,
                exp: number(exp)?,
                iat: number(iat)?,
                session_handle: text(handle)?,
                refresh_token_hash1: text(hash1)?,
                parent_refresh_token_hash1: nullable(parent)?,
                anti_csrf_token: nullable(anti_csrf)?,
                tenant_id: match tenant {
                    None => crate::types::DEFAULT_TENANT.to_owned(),
                    tenant => text(tenant)?,
                },
                recipe_user_id: text(rsub)?,
                payload,
                version: AccessTokenVersion::V5,
            })
        })();
        Ok(WireClaims {
            claims,
            has_tenant,
            has_recipe_user,
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
            // SuperTokens core's words, which the SDKs pass on and their tests look for.
            "The user payload contains protected field: the access-token payload uses the \
             reserved claim name `{name}`"
        ))),
        None => Ok(()),
    }
}
