//! CDI 5.4 response shapes (`docs/protocol.md`), built from engine types.
//!
//! Absent tokens are omitted rather than `null` (the SDKs test for presence), and the `session`
//! object always has all five keys, because supertokens-python indexes each of them.

use serde::Serialize;
use serde_json::{Map, Value};
use tessera_core::{AccessToken, Issued, RefreshToken, SessionSummary, SessionTokens};

/// `session` in create / verify / refresh / regenerate replies.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionJson {
    handle: String,
    user_id: String,
    recipe_user_id: String,
    #[serde(rename = "userDataInJWT")]
    user_data_in_jwt: Map<String, Value>,
    tenant_id: String,
}

impl SessionJson {
    /// The five-key object. Without account linking the recipe user id is the user id.
    pub fn new(
        handle: String,
        user_id: String,
        tenant_id: String,
        payload: Map<String, Value>,
    ) -> Self {
        Self {
            handle,
            recipe_user_id: user_id.clone(),
            user_id,
            user_data_in_jwt: payload,
            tenant_id,
        }
    }
}

impl From<SessionSummary> for SessionJson {
    fn from(s: SessionSummary) -> Self {
        Self::new(s.handle, s.user_id, s.tenant_id, s.access_token_payload)
    }
}

/// `session` in a `TOKEN_THEFT_DETECTED` reply: who was affected.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TheftSessionJson {
    /// The revoked session.
    pub handle: String,
    /// Its user.
    pub user_id: String,
    /// Same as `user_id` until account linking exists.
    pub recipe_user_id: String,
}

impl TheftSessionJson {
    /// The revoked session and its user.
    pub fn new(user_id: String, session_handle: String) -> Self {
        Self {
            handle: session_handle,
            recipe_user_id: user_id.clone(),
            user_id,
        }
    }
}

/// `{token, expiry, createdTime}`, times in epoch milliseconds.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenJson {
    token: String,
    expiry: i64,
    created_time: i64,
}

impl TokenJson {
    /// An access token. SuperTokens truncates both times to whole seconds for JWTs (they come
    /// from `iat`/`exp`), and the SDKs compare them with the token's claims.
    pub fn access(issued: Issued<AccessToken>) -> Self {
        Self {
            token: issued.token.into_inner(),
            expiry: issued.expiry,
            created_time: issued.created_at - issued.created_at.rem_euclid(1000),
        }
    }

    /// A refresh token.
    pub fn refresh(issued: Issued<RefreshToken>) -> Self {
        Self {
            token: issued.token.into_inner(),
            expiry: issued.expiry,
            created_time: issued.created_at,
        }
    }
}

/// The `OK` reply of create and refresh.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTokensJson {
    status: &'static str,
    session: SessionJson,
    access_token: TokenJson,
    refresh_token: TokenJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    anti_csrf_token: Option<String>,
}

impl From<SessionTokens> for NewTokensJson {
    fn from(tokens: SessionTokens) -> Self {
        Self {
            status: "OK",
            session: tokens.session.into(),
            access_token: TokenJson::access(tokens.access_token),
            refresh_token: TokenJson::refresh(tokens.refresh_token),
            anti_csrf_token: tokens.anti_csrf_token.map(|t| t.into_inner()),
        }
    }
}

/// `{"status":"OK","session":…,"accessToken"?:…}` of verify and regenerate.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionOkJson {
    status: &'static str,
    session: SessionJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token: Option<TokenJson>,
}

impl SessionOkJson {
    /// An `OK` reply, with a new access token when one was minted.
    pub fn new(session: SessionJson, access_token: Option<Issued<AccessToken>>) -> Self {
        Self {
            status: "OK",
            session,
            access_token: access_token.map(TokenJson::access),
        }
    }
}

/// `{"status": <status>, "message": <why>}`: `UNAUTHORISED` or `TRY_REFRESH_TOKEN`. An
/// `UNAUTHORISED` that leaves the client's tokens valid (a refresh without its anti-CSRF token,
/// which a forged cross-site request would be) also says `"keepTokens": true`: a field the
/// SuperTokens SDKs ignore and Tessera's remote back end reads, so no client has to match the
/// message text.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusMessageJson {
    status: &'static str,
    message: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    keep_tokens: bool,
}

impl StatusMessageJson {
    /// No valid session; the client should forget its tokens.
    pub fn unauthorised(message: &'static str) -> Self {
        Self {
            status: "UNAUTHORISED",
            message,
            keep_tokens: false,
        }
    }

    /// The engine's refusal, saying whether the client's tokens stay valid.
    pub fn refused(message: &'static str, clear_tokens: bool) -> Self {
        Self {
            keep_tokens: !clear_tokens,
            ..Self::unauthorised(message)
        }
    }

    /// The access token cannot be used; refresh.
    pub fn try_refresh(message: &'static str) -> Self {
        Self {
            status: "TRY_REFRESH_TOKEN",
            message,
            keep_tokens: false,
        }
    }
}

/// A reply that is only `{"status": "OK"}`.
pub fn ok() -> Value {
    serde_json::json!({ "status": "OK" })
}
