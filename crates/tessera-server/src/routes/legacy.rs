//! What the protocol versions before 2.21 add to the session endpoints: `/handshake`, the keys
//! SDKs verify access tokens with in create and verify replies, the `idRefreshToken`, the cookie
//! attributes each token carried before 2.4, and the calls those drivers make that newer ones do
//! not (`DELETE /session`, reading session data and the payload). What differs per version is
//! decided by [`CdiVersion`]; this module only fills the fields in.

use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tessera_cdi::{CdiVersion, CookieJson, PublicKeyJson, SessionReply, TokenJson};
use tessera_core::{SessionError, Sessions};

use crate::error::ApiError;
use crate::extract::AppSessions;
use crate::extract::{Cdi, JsonBody, QueryParams};

/// The cookie settings the drivers before 2.4 were told, as SuperTokens core's defaults: the
/// access token on every path, the refresh token only on the refresh API's, on `localhost`
/// (the 1.0 drivers need a domain), not `Secure` (the drivers of that time ran on plain-HTTP
/// development set-ups by default), `SameSite=Lax`.
const ACCESS_TOKEN_PATH: &str = "/";
const REFRESH_TOKEN_PATH: &str = "/refresh";
const COOKIE_DOMAIN: &str = "localhost";
const COOKIE_SAME_SITE: &str = "lax";
/// The status the drivers of 2.0 to 2.3 answered "try refresh token" with.
const SESSION_EXPIRED_STATUS: u16 = 401;

/// Which reply a decoration is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// A new session: keys, `idRefreshToken`, cookie attributes.
    Create,
    /// Refreshed tokens: `idRefreshToken` and cookie attributes, no keys.
    Refresh,
    /// A verification: keys, and cookie attributes on a re-minted access token.
    Verify,
}

/// Adds what `version` expects to an `OK` reply (and to a verification's `TRY_REFRESH_TOKEN`
/// from 2.7, which hands the keys over too). Newer versions get the reply unchanged.
pub async fn decorate(
    reply: &mut SessionReply,
    version: CdiVersion,
    sessions: &Sessions,
    kind: Reply,
) -> Result<(), ApiError> {
    if !version.has_handshake() {
        return Ok(());
    }
    let wants_keys = match reply.status {
        tessera_cdi::Status::Ok => kind != Reply::Refresh,
        tessera_cdi::Status::TryRefreshToken => {
            kind == Reply::Verify && version.try_refresh_has_keys()
        }
        _ => false,
    };
    if wants_keys {
        let keys = Keys::read(sessions).await?;
        reply.jwt_signing_public_key = Some(keys.current.public_key.clone());
        reply.jwt_signing_public_key_expiry_time = Some(keys.current.expiry_time);
        if version.has_key_list() {
            reply.jwt_signing_public_key_list = Some(keys.list);
        }
    }
    if kind != Reply::Verify {
        if let Some(refresh) = &reply.refresh_token {
            reply.id_refresh_token = Some(TokenJson {
                token: uuid::Uuid::new_v4().to_string(),
                expiry: refresh.expiry,
                created_time: refresh.created_time,
                cookie: None,
            });
        }
    }
    if version.has_cookie_fields() {
        let cookie = |path: &str| CookieJson {
            cookie_path: path.to_owned(),
            cookie_secure: false,
            domain: COOKIE_DOMAIN.to_owned(),
            same_site: version.has_same_site().then(|| COOKIE_SAME_SITE.to_owned()),
        };
        if let Some(token) = &mut reply.access_token {
            token.cookie = Some(cookie(ACCESS_TOKEN_PATH));
        }
        if let Some(token) = &mut reply.refresh_token {
            token.cookie = Some(cookie(REFRESH_TOKEN_PATH));
        }
        if let Some(token) = &mut reply.id_refresh_token {
            token.cookie = Some(cookie(ACCESS_TOKEN_PATH));
        }
    }
    Ok(())
}

/// The keys as the handshake-era SDKs read them.
struct Keys {
    current: PublicKeyJson,
    list: Vec<PublicKeyJson>,
}

impl Keys {
    async fn read(sessions: &Sessions) -> Result<Self, ApiError> {
        let list: Vec<PublicKeyJson> = sessions
            .legacy_public_keys()
            .await
            .map_err(ApiError::from_engine)?
            .into_iter()
            .map(|key| PublicKeyJson {
                public_key: key.public_key,
                expiry_time: key.expires_at.as_millis(),
                created_at: key.created_at.as_millis(),
            })
            .collect();
        let current = list.first().cloned().ok_or_else(|| {
            ApiError::BadRequest(
                "protocol versions before 2.21 need RS256 signing keys (signing_algorithm)"
                    .to_owned(),
            )
        })?;
        Ok(Self { current, list })
    }
}

/// `POST /handshake` (to 2.3) and `POST /recipe/handshake` (2.4 to 2.20): the signing key and
/// the session settings the driver runs with.
pub async fn handshake(
    AppSessions(sessions): AppSessions,
    Cdi(version): Cdi,
) -> Result<Json<Value>, ApiError> {
    if !version.has_handshake() {
        return Err(ApiError::NotFound(
            "/handshake (gone since CDI 2.21: SDKs verify with /.well-known/jwks.json)".to_owned(),
        ));
    }
    let keys = Keys::read(&sessions).await?;
    let config = sessions.config();
    let mut reply = json!({
        "status": "OK",
        "jwtSigningPublicKey": keys.current.public_key,
        "jwtSigningPublicKeyExpiryTime": keys.current.expiry_time,
        // Verification reads the store only for a refreshed token's first use; revocation
        // reaches other servers' verifications within a second, not through the drivers.
        "accessTokenBlacklistingEnabled": false,
    });
    let Value::Object(fields) = &mut reply else {
        return Err(ApiError::Internal);
    };
    if version.handshake_has_anti_csrf() {
        fields.insert("enableAntiCsrf".to_owned(), json!(config.anti_csrf));
    }
    if version.handshake_has_validities() {
        fields.insert(
            "accessTokenValidity".to_owned(),
            json!(millis(config.access_token_validity)),
        );
        fields.insert(
            "refreshTokenValidity".to_owned(),
            json!(millis(config.refresh_token_validity)),
        );
    } else {
        fields.insert("cookieDomain".to_owned(), json!(COOKIE_DOMAIN));
        fields.insert("cookieSecure".to_owned(), json!(false));
        fields.insert("accessTokenPath".to_owned(), json!(ACCESS_TOKEN_PATH));
        fields.insert("refreshTokenPath".to_owned(), json!(REFRESH_TOKEN_PATH));
        if version.has_same_site() {
            fields.insert("cookieSameSite".to_owned(), json!(COOKIE_SAME_SITE));
            fields.insert("idRefreshTokenPath".to_owned(), json!(ACCESS_TOKEN_PATH));
            fields.insert(
                "sessionExpiredStatusCode".to_owned(),
                json!(SESSION_EXPIRED_STATUS),
            );
        }
    }
    if version.has_key_list() {
        fields.insert("jwtSigningPublicKeyList".to_owned(), json!(keys.list));
    }
    Ok(Json(reply))
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteRequest {
    user_id: Option<String>,
    session_handle: Option<String>,
    session_handles: Option<Vec<String>>,
}

/// `DELETE /session` (CDI 1.0): exactly one of `userId`, `sessionHandle`, `sessionHandles` →
/// `{status, numberOfSessionsRevoked}`.
pub async fn delete(
    AppSessions(sessions): AppSessions,
    JsonBody(body): JsonBody<DeleteRequest>,
) -> Result<Json<SessionReply>, ApiError> {
    let revoked = match (body.user_id, body.session_handle, body.session_handles) {
        (Some(user_id), None, None) => sessions.revoke_all_sessions_for_user(&user_id, None).await,
        (None, Some(handle), None) => sessions.revoke_multiple_sessions(&[handle]).await,
        (None, None, Some(handles)) => sessions.revoke_multiple_sessions(&handles).await,
        _ => {
            return Err(ApiError::BadRequest(
                "use exactly one of userId, sessionHandle or sessionHandles".to_owned(),
            ))
        }
    }
    .map_err(ApiError::from_engine)?;
    tracing::info!(revoked = revoked.len(), "sessions revoked");
    Ok(Json(SessionReply {
        number_of_sessions_revoked: Some(revoked.len()),
        ..SessionReply::default()
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandleQuery {
    session_handle: String,
}

/// `GET /recipe/session/data?sessionHandle=…` (and `/session/data` before 2.4).
pub async fn session_data(
    AppSessions(sessions): AppSessions,
    QueryParams(query): QueryParams<HandleQuery>,
) -> Result<Json<SessionReply>, ApiError> {
    match sessions.get_session_info(&query.session_handle).await {
        Ok(info) => Ok(Json(SessionReply {
            user_data_in_database: Some(info.session_data),
            ..SessionReply::default()
        })),
        Err(error) => refused(error),
    }
}

/// `GET /recipe/jwt/data?sessionHandle=…` (and `/jwt/data` before 2.4): the stored payload.
pub async fn access_token_payload(
    AppSessions(sessions): AppSessions,
    QueryParams(query): QueryParams<HandleQuery>,
) -> Result<Json<Value>, ApiError> {
    match sessions.get_session_info(&query.session_handle).await {
        Ok(info) => Ok(Json(
            json!({"status": "OK", "userDataInJWT": Value::Object(info.access_token_payload)}),
        )),
        Err(error) => refused(error).map(|Json(reply)| Json(json!(reply))),
    }
}

fn refused(error: SessionError) -> Result<Json<SessionReply>, ApiError> {
    match error {
        SessionError::Unauthorised { .. } => {
            Ok(Json(SessionReply::refused("Session does not exist.", true)))
        }
        error => Err(ApiError::from_engine(error)),
    }
}
