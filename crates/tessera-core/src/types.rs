//! The values the engine's calls take and return.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::config::KeyKind;
use crate::secret::{AccessToken, AntiCsrfToken, RefreshToken};
use crate::time::Timestamp;
use crate::token_version::AccessTokenVersion;

/// The tenant every session belongs to until multi-tenancy is used.
pub const DEFAULT_TENANT: &str = "public";

/// What to create a session with.
///
/// ```
/// use serde_json::json;
/// use tessera_core::NewSession;
///
/// let new = NewSession::new("user-42")
///     .access_token_payload(json!({"role": "admin"}).as_object().cloned().unwrap_or_default())
///     .session_data(json!({"cart": []}));
/// assert_eq!(new.user_id, "user-42");
/// ```
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The signed-in user.
    pub user_id: String,
    /// Tenant, `public` by default.
    pub tenant_id: String,
    /// Custom claims for the access token (reserved names are refused).
    pub access_token_payload: Map<String, Value>,
    /// Server-side data, never sent to the client.
    pub session_data: Value,
    /// Whether to issue an anti-CSRF token; `None` uses the engine's setting.
    pub anti_csrf: Option<bool>,
    /// Which key family signs this session's tokens; `None` uses the engine's setting.
    pub key_kind: Option<KeyKind>,
    /// The layout of the first access token (the newest by default).
    pub token_version: AccessTokenVersion,
}

impl NewSession {
    /// A session for `user_id` with an empty payload and no data.
    pub fn new(user_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            tenant_id: DEFAULT_TENANT.to_owned(),
            access_token_payload: Map::new(),
            session_data: Value::Object(Map::new()),
            anti_csrf: None,
            key_kind: None,
            token_version: AccessTokenVersion::default(),
        }
    }

    /// Sets the custom access-token claims.
    pub fn access_token_payload(mut self, payload: Map<String, Value>) -> Self {
        self.access_token_payload = payload;
        self
    }

    /// Sets the server-side session data.
    pub fn session_data(mut self, data: Value) -> Self {
        self.session_data = data;
        self
    }

    /// Sets the tenant.
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = tenant_id.into();
        self
    }

    /// Issues (or not) an anti-CSRF token, whatever the engine's default.
    pub fn anti_csrf(mut self, enabled: bool) -> Self {
        self.anti_csrf = Some(enabled);
        self
    }

    /// Chooses the key family, whatever the engine's default.
    pub fn key_kind(mut self, kind: KeyKind) -> Self {
        self.key_kind = Some(kind);
        self
    }

    /// Chooses the first access token's layout (for clients that know only an older one).
    pub fn token_version(mut self, version: AccessTokenVersion) -> Self {
        self.token_version = version;
        self
    }
}

/// Options of [`Sessions::get_session`](crate::Sessions::get_session).
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions {
    /// Require the anti-CSRF token carried by the access token (when it carries one).
    pub do_anti_csrf_check: bool,
    /// Also confirm in the store that the session still exists (catches revocation at once).
    pub check_database: bool,
}

/// Options of [`Sessions::refresh_session_with`](crate::Sessions::refresh_session_with).
#[derive(Debug, Clone, Copy)]
pub struct RefreshOptions {
    /// Require the anti-CSRF token issued with the refresh token, when it had one (default true).
    pub check_anti_csrf: bool,
    /// The layout of the new access token (the newest by default).
    pub token_version: AccessTokenVersion,
    /// The key family of the new access token, when the client asks for one other than the
    /// session's (an SDK whose `useDynamicSigningKey` setting changed); `None` keeps the
    /// session's.
    pub key_kind: Option<KeyKind>,
}

impl Default for RefreshOptions {
    fn default() -> Self {
        Self {
            check_anti_csrf: true,
            token_version: AccessTokenVersion::default(),
            key_kind: None,
        }
    }
}

/// A token handed to the client, with its lifetime.
#[derive(Debug, Clone)]
pub struct Issued<T> {
    /// The token.
    pub token: T,
    /// When it stops being accepted.
    pub expiry: Timestamp,
    /// When it was minted.
    pub created_at: Timestamp,
}

/// Who a session belongs to, as returned with new tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSummary {
    /// The session handle.
    pub handle: String,
    /// The user.
    pub user_id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The custom claims in the access token.
    pub access_token_payload: Map<String, Value>,
}

/// The tokens of a new or refreshed session.
#[derive(Debug, Clone)]
pub struct SessionTokens {
    /// Who it belongs to.
    pub session: SessionSummary,
    /// The new access token.
    pub access_token: Issued<AccessToken>,
    /// The new refresh token.
    pub refresh_token: Issued<RefreshToken>,
    /// The anti-CSRF token, when the session uses one.
    pub anti_csrf_token: Option<AntiCsrfToken>,
}

/// What a verified access token says of its session. The verified-token cache holds it once per
/// token and every verification of that token shares it, so a protected request copies no string.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionClaims {
    /// The session handle.
    pub handle: String,
    /// The user.
    pub user_id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The custom claims (the fresh ones from the store when a new token was minted).
    pub access_token_payload: Map<String, Value>,
    /// When the presented access token expires.
    pub access_token_expiry: Timestamp,
    /// `H(refresh token)` the access token was minted with.
    pub refresh_token_hash1: String,
    /// `H(refresh token)` of the token refreshed to mint this access token, until its first
    /// verification. A verifier that sees it must present the refresh token to the store (the
    /// engine does so itself; a process verifying with a JWKS asks its server's verify), which
    /// commits the refresh token and hands back an access token without it.
    pub parent_refresh_token_hash1: Option<String>,
    /// Whether the session uses an anti-CSRF token.
    pub anti_csrf_token: Option<AntiCsrfToken>,
    /// The presented access token's layout; a replacement keeps it.
    pub token_version: AccessTokenVersion,
}

/// A session whose access token verified: its [`SessionClaims`] (read through `Deref`, shared
/// with the verified-token cache) and, when verification minted one, a replacement token.
#[derive(Debug, Clone)]
pub struct VerifiedSession {
    claims: Arc<SessionClaims>,
    /// A replacement access token: after the first verification of a refreshed access token
    /// (without `parentRefreshTokenHash1`), or when the stored payload changed since the presented
    /// one was minted (with `check_database`).
    pub new_access_token: Option<Issued<AccessToken>>,
}

impl VerifiedSession {
    /// A verification of a token with these claims that minted nothing.
    pub fn new(claims: impl Into<Arc<SessionClaims>>) -> Self {
        Self {
            claims: claims.into(),
            new_access_token: None,
        }
    }

    /// The claims, shared.
    pub fn claims(&self) -> &Arc<SessionClaims> {
        &self.claims
    }

    /// The claims and the replacement token, taken apart: the claims are moved out when this
    /// verification holds the only reference, copied when the cache shares them.
    pub fn into_parts(self) -> (SessionClaims, Option<Issued<AccessToken>>) {
        (Arc::unwrap_or_clone(self.claims), self.new_access_token)
    }

    /// The claims to change, copied first if they are shared (as the cache's are): changes
    /// describe a replacement token and stay with this verification.
    pub fn claims_mut(&mut self) -> &mut SessionClaims {
        Arc::make_mut(&mut self.claims)
    }
}

impl std::ops::Deref for VerifiedSession {
    type Target = SessionClaims;

    fn deref(&self) -> &SessionClaims {
        &self.claims
    }
}

/// Everything stored about a session, for [`Sessions::get_session_info`](crate::Sessions::get_session_info).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    /// The session handle.
    pub handle: String,
    /// The user.
    pub user_id: String,
    /// The tenant.
    pub tenant_id: String,
    /// Server-side data.
    pub session_data: Value,
    /// Claims for access tokens minted from now on.
    pub access_token_payload: Map<String, Value>,
    /// When the session expires unless refreshed.
    pub expiry: Timestamp,
    /// When it was created.
    pub created_at: Timestamp,
    /// The RFC 7638 thumbprint of the device key the session is bound to, if it is bound.
    pub device_thumbprint: Option<String>,
}

impl SessionInfo {
    /// When the session was last refreshed, given the refresh tokens' validity: every refresh
    /// sets the expiry a full validity out, so that is the expiry less the validity (never before
    /// the session's creation).
    pub fn last_refreshed(&self, refresh_validity: std::time::Duration) -> Timestamp {
        (self.expiry - refresh_validity).max(self.created_at)
    }
}

/// The result of [`Sessions::regenerate_access_token`](crate::Sessions::regenerate_access_token).
#[derive(Debug, Clone)]
pub struct RegeneratedAccessToken {
    /// The session after the payload update.
    pub session: SessionSummary,
    /// A new token with the same expiry as the old one; `None` when the old one had expired.
    pub access_token: Option<Issued<AccessToken>>,
}
