//! Reading the server's CDI replies (`tessera_cdi`, the types the server writes them with) into
//! tessera-core's results.

use serde_json::{Map, Value};
use tessera_cdi::{SessionJson, SessionReply, Status, TokenJson};
use tessera_core::{
    AccessToken, AntiCsrfToken, GeneralError, Issued, RefreshToken, SessionError, SessionSummary,
    SessionTokens, Timestamp,
};

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

/// What the remote back end reads off a reply.
pub(super) trait ReplyExt: Sized {
    /// The reply when its status is `OK`; the session outcome the status names otherwise.
    fn ok(self) -> Result<SessionReply, SessionError>;
}

impl ReplyExt for SessionReply {
    fn ok(self) -> Result<SessionReply, SessionError> {
        match self.status {
            Status::Ok => Ok(self),
            Status::Unauthorised if self.token_theft_detected.is_some() => {
                Err(theft(self.token_theft_detected))
            }
            Status::Unauthorised => Err(SessionError::Unauthorised {
                clear_tokens: !self.keep_tokens,
                reason: if self.keep_tokens {
                    "the session server refused the request and kept the session"
                } else {
                    "the session server refused the session"
                },
            }),
            Status::TryRefreshToken => Err(SessionError::TryRefreshToken {
                reason: "the session server asks for a refresh",
            }),
            Status::TokenTheftDetected => Err(theft(self.session)),
            Status::Unknown => {
                Err(GeneralError::Remote("reply with an unknown status".to_owned()).into())
            }
        }
    }
}

/// The `session` of an `OK` reply.
pub(super) fn session(reply: &mut SessionReply) -> Result<SessionJson, SessionError> {
    reply
        .session
        .take()
        .ok_or_else(|| malformed("no session object"))
}

/// The engine's summary of a reply's session.
pub(super) fn summary(session: SessionJson) -> Result<SessionSummary, SessionError> {
    Ok(SessionSummary {
        handle: session.handle,
        user_id: session.user_id,
        tenant_id: session.tenant_id.ok_or_else(|| malformed("no tenantId"))?,
        access_token_payload: session
            .user_data_in_jwt
            .ok_or_else(|| malformed("no userDataInJWT"))?,
    })
}

/// A token of a reply as an access token.
pub(super) fn access(token: TokenJson) -> Issued<AccessToken> {
    Issued {
        token: AccessToken::new(token.token),
        expiry: Timestamp::from_millis(token.expiry),
        created_at: Timestamp::from_millis(token.created_time),
    }
}

/// A token of a reply as a refresh token.
pub(super) fn refresh(token: TokenJson) -> Issued<RefreshToken> {
    Issued {
        token: RefreshToken::new(token.token),
        expiry: Timestamp::from_millis(token.expiry),
        created_at: Timestamp::from_millis(token.created_time),
    }
}

/// The tokens of a create or refresh reply.
pub(super) fn into_tokens(mut reply: SessionReply) -> Result<SessionTokens, SessionError> {
    let session = summary(session(&mut reply)?)?;
    let access_token = reply
        .access_token
        .map(access)
        .ok_or_else(|| malformed("no access token"))?;
    let refresh_token = reply
        .refresh_token
        .map(refresh)
        .ok_or_else(|| malformed("no refresh token"))?;
    Ok(SessionTokens {
        session,
        access_token,
        refresh_token,
        anti_csrf_token: reply.anti_csrf_token.map(AntiCsrfToken::new),
    })
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
