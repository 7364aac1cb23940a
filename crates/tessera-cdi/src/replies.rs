//! Replies of the session endpoints: one envelope, each endpoint filling the fields it sends.
//! Absent fields are omitted rather than `null`: the SDKs test for presence.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `status` of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Done.
    #[default]
    Ok,
    /// No valid session (see [`SessionReply::keep_tokens`]).
    Unauthorised,
    /// The access token cannot be used; refresh.
    TryRefreshToken,
    /// A refresh presented a token the client had moved past; the session is revoked.
    TokenTheftDetected,
    /// A status this version does not know.
    #[serde(other)]
    Unknown,
}

/// `session` in a reply: all five keys in create / verify / refresh / regenerate replies
/// (supertokens-python indexes each of them); `handle`, `userId` and `recipeUserId` only when it
/// names the session a theft revoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionJson {
    /// The session handle.
    pub handle: String,
    /// The user.
    pub user_id: String,
    /// Same as `user_id` until account linking exists.
    pub recipe_user_id: String,
    /// The access-token claims.
    #[serde(rename = "userDataInJWT", skip_serializing_if = "Option::is_none")]
    pub user_data_in_jwt: Option<Map<String, Value>>,
    /// The tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

impl SessionJson {
    /// The five-key object of a session.
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
            user_data_in_jwt: Some(payload),
            tenant_id: Some(tenant_id),
        }
    }

    /// The session a theft revoked, and its user.
    pub fn revoked_by_theft(user_id: String, session_handle: String) -> Self {
        Self {
            handle: session_handle,
            recipe_user_id: user_id.clone(),
            user_id,
            user_data_in_jwt: None,
            tenant_id: None,
        }
    }
}

/// `{token, expiry, createdTime}`, times in epoch milliseconds; before CDI 2.4 also the
/// attributes of the cookie the driver sets.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenJson {
    /// The token.
    pub token: String,
    /// When it expires.
    pub expiry: i64,
    /// When it was created.
    pub created_time: i64,
    /// The cookie's attributes (CDI before 2.4).
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<CookieJson>,
}

/// The cookie attributes CDI before 2.4 put on each token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CookieJson {
    /// The cookie's path.
    pub cookie_path: String,
    /// Whether the cookie is `Secure`.
    pub cookie_secure: bool,
    /// The cookie's domain.
    pub domain: String,
    /// `SameSite` (CDI 2.0 to 2.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_site: Option<String>,
}

/// One entry of `jwtSigningPublicKeyList` (CDI 2.9 to 2.20).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyJson {
    /// X.509 SubjectPublicKeyInfo DER, standard base64.
    pub public_key: String,
    /// Until when the SDK may use it, epoch milliseconds.
    pub expiry_time: i64,
    /// When it was made, epoch milliseconds.
    pub created_at: i64,
}

/// One entry of `GET /tessera/revocations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevocationJson {
    /// Its position in the log.
    pub seq: i64,
    /// The revoked session.
    pub session_handle: String,
    /// When, in epoch milliseconds.
    pub revoked_at: i64,
}

/// What Tessera's device-binding endpoints say about a session's device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceJson {
    /// The session.
    pub session_handle: String,
    /// Whether it is bound to a device.
    pub bound: bool,
    /// `POST /tessera/device/challenge`: a challenge for the refresh token presented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// The bound key's RFC 7638 thumbprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
}

/// Why a device proof was refused, beside an `UNAUTHORISED` that keeps the tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceRefusal {
    /// The challenge is stale, used or another token's: ask for a fresh one.
    Challenge,
    /// The proof is malformed, of a refused algorithm or key, or badly signed.
    Proof,
}

/// The reply of a session endpoint.
#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionReply {
    /// What happened.
    pub status: Status,
    /// Why, for refusals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Tessera's addition to `UNAUTHORISED`: the client's tokens stay valid (a refresh without
    /// its anti-CSRF token, which a forged cross-site request would be). The SDKs ignore it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_tokens: bool,
    /// The session (create, verify, refresh, regenerate), or the one a theft revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionJson>,
    /// A new access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<TokenJson>,
    /// A new refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<TokenJson>,
    /// A new anti-CSRF token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anti_csrf_token: Option<String>,
    /// Tessera's addition to an `UNAUTHORISED` verify: the first verification of a refreshed
    /// access token found theft and this session was revoked (CDI's verify has no theft status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_theft_detected: Option<SessionJson>,
    /// `POST /recipe/session/remove`: the sessions revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_handles_revoked: Option<Vec<String>>,
    /// `GET /recipe/session/user`: a user's session handles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_handles: Option<Vec<String>>,
    /// `GET /recipe/session`: the session's server-side data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data_in_database: Option<Value>,
    /// CDI before 2.21: the token of the `sIdRefreshToken` cookie, which tells the frontend a
    /// session exists (a fresh random value with each create and refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_refresh_token: Option<TokenJson>,
    /// CDI before 2.21: the key SDKs verify access tokens with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_signing_public_key: Option<String>,
    /// CDI before 2.21: until when that key may be used, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_signing_public_key_expiry_time: Option<i64>,
    /// CDI 2.9 to 2.20: every key that verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_signing_public_key_list: Option<Vec<PublicKeyJson>>,
    /// CDI 1.0's `DELETE /session`: how many sessions it revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_sessions_revoked: Option<usize>,
    /// `GET /tessera/revocations`: the log after the asked position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocations: Option<Vec<RevocationJson>>,
    /// With `revocations`: entries revoked before this may be forgotten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_since: Option<i64>,
    /// Tessera's device-binding endpoints: the session's device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceJson>,
    /// With an `UNAUTHORISED` of a device-binding endpoint: what about the proof was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_refused: Option<DeviceRefusal>,
    /// Tessera's `POST /tessera/session/ended`: whether the access token's session was ended
    /// by a detected theft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by_theft: Option<bool>,
}

impl SessionReply {
    /// `UNAUTHORISED`, saying whether the client's tokens stay valid.
    pub fn refused(message: &str, clear_tokens: bool) -> Self {
        Self {
            status: Status::Unauthorised,
            message: Some(message.to_owned()),
            keep_tokens: !clear_tokens,
            ..Self::default()
        }
    }

    /// `TRY_REFRESH_TOKEN`.
    pub fn try_refresh(message: &str) -> Self {
        Self {
            status: Status::TryRefreshToken,
            message: Some(message.to_owned()),
            ..Self::default()
        }
    }

    /// The reply to a presentation that found theft: `TOKEN_THEFT_DETECTED` naming the session
    /// from a refresh, `UNAUTHORISED` with `tokenTheftDetected` from a verify.
    pub fn theft(revoked: SessionJson, from_verify: bool) -> Self {
        if from_verify {
            Self {
                status: Status::Unauthorised,
                message: Some("token theft detected".to_owned()),
                token_theft_detected: Some(revoked),
                ..Self::default()
            }
        } else {
            Self {
                status: Status::TokenTheftDetected,
                session: Some(revoked),
                ..Self::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_omit_what_they_do_not_carry() {
        let theft =
            SessionReply::theft(SessionJson::revoked_by_theft("u".into(), "h".into()), false);
        assert_eq!(
            serde_json::to_value(&theft).unwrap(),
            json!({"status": "TOKEN_THEFT_DETECTED",
                   "session": {"handle": "h", "userId": "u", "recipeUserId": "u"}})
        );
        let ok = SessionReply {
            session: Some(SessionJson::new(
                "h".into(),
                "u".into(),
                "public".into(),
                Map::new(),
            )),
            ..SessionReply::default()
        };
        assert_eq!(
            serde_json::to_value(&ok).unwrap(),
            json!({"status": "OK", "session": {"handle": "h", "userId": "u", "recipeUserId": "u",
                   "userDataInJWT": {}, "tenantId": "public"}})
        );
        let unknown: SessionReply =
            serde_json::from_value(json!({"status": "SOMETHING_NEW", "extra": 1})).unwrap();
        assert_eq!(unknown.status, Status::Unknown);
    }
}
