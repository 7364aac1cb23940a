//! The CDI 5.4 JSON that `tessera-server` speaks (its `routes/session.rs` and `wire.rs`), and
//! the mapping of its `status` values onto tessera-core's results.
//!
//! Request bodies hold tokens, so none of them derives `Debug`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tessera_core::{
    AccessToken, AntiCsrfToken, GeneralError, Issued, RefreshToken, SessionError, SessionSummary,
    SessionTokens,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateBody<'a> {
    pub(super) user_id: &'a str,
    #[serde(rename = "userDataInJWT")]
    pub(super) user_data_in_jwt: &'a Map<String, Value>,
    pub(super) user_data_in_database: &'a Map<String, Value>,
    pub(super) enable_anti_csrf: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) use_dynamic_signing_key: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct VerifyBody<'a> {
    pub(super) access_token: &'a str,
    pub(super) do_anti_csrf_check: bool,
    pub(super) enable_anti_csrf: bool,
    pub(super) check_database: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RefreshBody<'a> {
    pub(super) refresh_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) anti_csrf_token: Option<&'a str>,
    pub(super) enable_anti_csrf: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RegenerateBody<'a> {
    pub(super) access_token: &'a str,
    #[serde(rename = "userDataInJWT", skip_serializing_if = "Option::is_none")]
    pub(super) user_data_in_jwt: Option<Map<String, Value>>,
}

/// Every reply shape in one: each call reads the fields its endpoint sends.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Reply {
    status: String,
    session: Option<SessionJson>,
    access_token: Option<TokenJson>,
    refresh_token: Option<TokenJson>,
    /// Tessera's addition to an `UNAUTHORISED` verify reply: the first verification of a
    /// refreshed access token found theft, and this session was revoked.
    token_theft_detected: Option<SessionJson>,
    anti_csrf_token: Option<String>,
    /// Tessera's addition to an `UNAUTHORISED` reply: the client's tokens stay valid (a refresh
    /// without its anti-CSRF token).
    keep_tokens: Option<bool>,
    pub(super) session_handles_revoked: Option<Vec<String>>,
    pub(super) session_handles: Option<Vec<String>>,
    pub(super) user_data_in_database: Option<Value>,
    /// `GET /tessera/revocations`: the server's revocation log after a position.
    pub(super) revocations: Option<Vec<RevocationJson>>,
    /// With `revocations`: entries revoked before this may be forgotten.
    pub(super) keep_since: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RevocationJson {
    pub(super) seq: i64,
    pub(super) session_handle: String,
    pub(super) revoked_at: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SessionJson {
    pub(super) handle: String,
    pub(super) user_id: String,
    tenant_id: Option<String>,
    #[serde(rename = "userDataInJWT")]
    pub(super) user_data_in_jwt: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenJson {
    token: String,
    expiry: i64,
    created_time: i64,
}

pub(super) fn malformed(what: &'static str) -> SessionError {
    GeneralError::Remote(format!("malformed reply: {what}")).into()
}

/// The theft a reply reports, naming the revoked session.
fn theft(session: Option<SessionJson>) -> SessionError {
    match session {
        Some(session) => SessionError::TokenTheftDetected {
            user_id: session.user_id,
            session_handle: session.handle,
        },
        None => malformed("theft without session"),
    }
}

impl Reply {
    /// The reply when its status is `OK`; the session outcome the status names otherwise.
    pub(super) fn ok(self) -> Result<Self, SessionError> {
        match self.status.as_str() {
            "OK" => Ok(self),
            "UNAUTHORISED" if self.token_theft_detected.is_some() => {
                Err(theft(self.token_theft_detected))
            }
            "UNAUTHORISED" => {
                let keep_tokens = self.keep_tokens == Some(true);
                Err(SessionError::Unauthorised {
                    clear_tokens: !keep_tokens,
                    reason: if keep_tokens {
                        "the session server refused the request and kept the session"
                    } else {
                        "the session server refused the session"
                    },
                })
            }
            "TRY_REFRESH_TOKEN" => Err(SessionError::TryRefreshToken {
                reason: "the session server asks for a refresh",
            }),
            "TOKEN_THEFT_DETECTED" => Err(theft(self.session)),
            _ => Err(GeneralError::Remote("reply with an unknown status".to_owned()).into()),
        }
    }

    pub(super) fn session(&mut self) -> Result<SessionJson, SessionError> {
        self.session
            .take()
            .ok_or_else(|| malformed("no session object"))
    }

    /// A freshly minted access token, when the reply carries one.
    pub(super) fn access_token(&mut self) -> Option<Issued<AccessToken>> {
        self.access_token.take().map(|t| Issued {
            token: AccessToken::new(t.token),
            expiry: t.expiry,
            created_at: t.created_time,
        })
    }

    /// The tokens of a create or refresh reply.
    pub(super) fn into_tokens(mut self) -> Result<SessionTokens, SessionError> {
        let session = self.session()?.into_summary()?;
        let access_token = self
            .access_token()
            .ok_or_else(|| malformed("no access token"))?;
        let refresh = self
            .refresh_token
            .ok_or_else(|| malformed("no refresh token"))?;
        Ok(SessionTokens {
            session,
            access_token,
            refresh_token: Issued {
                token: RefreshToken::new(refresh.token),
                expiry: refresh.expiry,
                created_at: refresh.created_time,
            },
            anti_csrf_token: self.anti_csrf_token.map(AntiCsrfToken::new),
        })
    }
}

impl SessionJson {
    pub(super) fn into_summary(self) -> Result<SessionSummary, SessionError> {
        Ok(SessionSummary {
            handle: self.handle,
            user_id: self.user_id,
            tenant_id: self.tenant_id.ok_or_else(|| malformed("no tenantId"))?,
            access_token_payload: self
                .user_data_in_jwt
                .ok_or_else(|| malformed("no userDataInJWT"))?,
        })
    }
}

/// CDI keeps session data as a JSON object; `null` (no data) becomes `{}`.
pub(super) fn data_object(data: Value) -> Result<Map<String, Value>, SessionError> {
    match data {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(GeneralError::InvalidArgument(
            "a remote session server stores session data as a JSON object".to_owned(),
        )
        .into()),
    }
}
