//! Request bodies of the session endpoints.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST /<tenant>/recipe/session`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionRequest {
    /// The user.
    pub user_id: String,
    /// Custom access-token claims.
    #[serde(rename = "userDataInJWT")]
    pub user_data_in_jwt: Map<String, Value>,
    /// Server-side session data.
    pub user_data_in_database: Map<String, Value>,
    /// Whether the session gets an anti-CSRF token; absent before CDI 2.6 (the server's
    /// setting decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_anti_csrf: Option<bool>,
    /// Absent means dynamic (rotating) signing keys, as in SuperTokens core.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_dynamic_signing_key: Option<bool>,
}

/// `POST /recipe/session/verify`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyRequest {
    /// The access token.
    pub access_token: String,
    /// The anti-CSRF token the request carried, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anti_csrf_token: Option<String>,
    /// Whether to check it (with `enable_anti_csrf`).
    pub do_anti_csrf_check: bool,
    /// Whether the deployment uses anti-CSRF tokens at all; absent before CDI 2.6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_anti_csrf: Option<bool>,
    /// Whether to confirm in the store that the session still exists; absent (no) before 2.21.
    #[serde(default)]
    pub check_database: bool,
}

/// `POST /recipe/session/refresh`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    /// The refresh token.
    pub refresh_token: String,
    /// The anti-CSRF token the request carried, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anti_csrf_token: Option<String>,
    /// Whether the deployment uses anti-CSRF tokens; absent before CDI 2.6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_anti_csrf: Option<bool>,
    /// The key family the SDK now uses (from CDI 3.0): the new access token is signed by it, and
    /// verifications that replace that token keep it. Absent: the session's own family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_dynamic_signing_key: Option<bool>,
}

/// `POST /recipe/session/regenerate`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegenerateRequest {
    /// The access token to re-sign.
    pub access_token: String,
    /// New custom claims, if they change.
    #[serde(rename = "userDataInJWT", skip_serializing_if = "Option::is_none")]
    pub user_data_in_jwt: Option<Map<String, Value>>,
}

/// Tessera's device-binding endpoints (`POST /tessera/device/challenge`, `…/bind`,
/// `…/refresh`): the session's current refresh token and, except for a challenge, the device's
/// proof (a compact JWS).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRequest {
    /// The refresh token the browser presented.
    pub refresh_token: String,
    /// The `Secure-Session-Response` proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
}

/// Tessera's `POST /tessera/session/ended`: an access token (expired or not) whose session may
/// have ended.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndedRequest {
    /// The access token the client last held.
    pub access_token: String,
}
