//! [`Backend`]: where sessions live. The engine in this process ([`Sessions`], over an embedded
//! SQLite file or any store), or with the `remote` feature a standalone `tessera` server
//! ([`RemoteSessions`]). Either way the calls and their results are tessera-core's, so the
//! extractor, the routes and the error mapping do not know which one they talk to.

#[cfg(feature = "remote")]
pub(crate) mod remote;

use serde_json::{Map, Value};
use tessera_core::{
    AccessToken, AntiCsrfToken, DeviceBinding, DeviceChallenge, DeviceError, NewSession,
    RefreshOptions, RefreshToken, RegeneratedAccessToken, SessionError, SessionTokens, Sessions,
    VerifiedSession, VerifyOptions,
};

#[cfg(feature = "remote")]
pub use remote::{RemoteConfig, RemoteSessions};

/// Forwards a call to whichever back end this is; both take the same arguments.
macro_rules! dispatch {
    ($backend:ident . $method:ident ( $($arg:expr),* )) => {
        match $backend {
            Self::Local(sessions) => sessions.$method($($arg),*).await,
            #[cfg(feature = "remote")]
            Self::Remote(remote) => remote.$method($($arg),*).await,
        }
    };
}

/// The session back end behind [`Tessera`](crate::Tessera). Build one with `From`:
/// `Backend::from(sessions)` or, with the `remote` feature, `Backend::from(remote_sessions)`.
///
/// Non-exhaustive because the `remote` variant exists only with its feature.
#[derive(Clone)]
#[non_exhaustive]
pub enum Backend {
    /// The engine in this process.
    Local(Sessions),
    /// A `tessera` server over HTTP; access tokens are verified here against its JWKS.
    #[cfg(feature = "remote")]
    Remote(RemoteSessions),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(_) => f.write_str("Backend::Local"),
            #[cfg(feature = "remote")]
            Self::Remote(remote) => f.debug_tuple("Backend::Remote").field(remote).finish(),
        }
    }
}

impl From<Sessions> for Backend {
    fn from(sessions: Sessions) -> Self {
        Self::Local(sessions)
    }
}

#[cfg(feature = "remote")]
impl From<RemoteSessions> for Backend {
    fn from(remote: RemoteSessions) -> Self {
        Self::Remote(remote)
    }
}

impl Backend {
    /// The in-process engine, when that is the back end.
    pub fn sessions(&self) -> Option<&Sessions> {
        match self {
            Self::Local(sessions) => Some(sessions),
            #[cfg(feature = "remote")]
            Self::Remote(_) => None,
        }
    }

    /// Creates a session and its first tokens.
    pub async fn create_new_session(&self, new: NewSession) -> Result<SessionTokens, SessionError> {
        dispatch!(self.create_new_session(new))
    }

    /// Verifies an access token. Without `check_database` neither back end makes a network or
    /// store call for a token signed by a known key.
    pub async fn get_session(
        &self,
        access_token: &AccessToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        options: VerifyOptions,
    ) -> Result<VerifiedSession, SessionError> {
        dispatch!(self.get_session(access_token, anti_csrf_token, options))
    }

    /// [`get_session`](Self::get_session) when it can finish without awaiting (a token verified
    /// before, nothing to ask the store or the server); `None` means call `get_session`.
    pub fn get_session_now(
        &self,
        access_token: &AccessToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        options: VerifyOptions,
    ) -> Option<Result<VerifiedSession, SessionError>> {
        match self {
            Self::Local(sessions) => {
                sessions.get_session_now(access_token, anti_csrf_token, options)
            }
            #[cfg(feature = "remote")]
            Self::Remote(remote) => remote.get_session_now(access_token, anti_csrf_token, options),
        }
    }

    /// Rotates both tokens; a replayed rotated refresh token is `TokenTheftDetected`.
    pub async fn refresh_session_with(
        &self,
        refresh_token: &RefreshToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        options: RefreshOptions,
    ) -> Result<SessionTokens, SessionError> {
        dispatch!(self.refresh_session_with(refresh_token, anti_csrf_token, options))
    }

    /// Revokes one session; false if it did not exist.
    pub async fn revoke_session(&self, session_handle: &str) -> Result<bool, SessionError> {
        dispatch!(self.revoke_session(session_handle))
    }

    /// Revokes every session of a user, in one tenant or (`None`) all; returns their handles.
    pub async fn revoke_all_sessions_for_user(
        &self,
        user_id: &str,
        tenant_id: Option<&str>,
    ) -> Result<Vec<String>, SessionError> {
        dispatch!(self.revoke_all_sessions_for_user(user_id, tenant_id))
    }

    /// Handles of a user's live sessions, in one tenant or (`None`) all.
    pub async fn get_all_session_handles_for_user(
        &self,
        user_id: &str,
        tenant_id: Option<&str>,
    ) -> Result<Vec<String>, SessionError> {
        dispatch!(self.get_all_session_handles_for_user(user_id, tenant_id))
    }

    /// A live session's server-side data.
    pub async fn get_session_data(&self, session_handle: &str) -> Result<Value, SessionError> {
        dispatch!(self.get_session_data(session_handle))
    }

    /// Replaces a live session's server-side data. The remote back end stores only JSON objects
    /// (CDI's `userDataInDatabase`); `null` is stored as `{}`.
    pub async fn update_session_data(
        &self,
        session_handle: &str,
        data: Value,
    ) -> Result<(), SessionError> {
        dispatch!(self.update_session_data(session_handle, data))
    }

    /// Optionally replaces the stored payload, then re-signs the presented access token with it
    /// (same expiry; none when the token has expired).
    pub async fn regenerate_access_token(
        &self,
        access_token: &AccessToken,
        new_payload: Option<Map<String, Value>>,
    ) -> Result<RegeneratedAccessToken, SessionError> {
        dispatch!(self.regenerate_access_token(access_token, new_payload))
    }

    /// A challenge for a device proof about the refresh token's session.
    pub async fn device_challenge(
        &self,
        refresh_token: &RefreshToken,
    ) -> Result<DeviceChallenge, SessionError> {
        dispatch!(self.device_challenge(refresh_token))
    }

    /// A challenge for a session and the refresh token just issued to it: no store read in the
    /// engine; the remote back end asks its server.
    pub async fn device_challenge_for(
        &self,
        session_handle: &str,
        refresh_token: &RefreshToken,
    ) -> Result<String, SessionError> {
        match self {
            Self::Local(sessions) => {
                sessions
                    .device_challenge_for(session_handle, refresh_token)
                    .await
            }
            #[cfg(feature = "remote")]
            Self::Remote(remote) => Ok(remote.device_challenge(refresh_token).await?.challenge),
        }
    }

    /// Binds the refresh token's session to the key of a registration proof.
    pub async fn bind_device(
        &self,
        refresh_token: &RefreshToken,
        proof: &str,
    ) -> Result<DeviceBinding, DeviceError> {
        dispatch!(self.bind_device(refresh_token, proof))
    }

    /// Rotates a bound session's tokens on its device's proof.
    pub async fn refresh_bound_session(
        &self,
        refresh_token: &RefreshToken,
        proof: &str,
        options: RefreshOptions,
    ) -> Result<SessionTokens, DeviceError> {
        dispatch!(self.refresh_bound_session(refresh_token, proof, options))
    }

    /// Whether the session of this access token (genuine, expired or not) was ended by a detected
    /// theft: what the refresh route tells a user it signs out.
    pub async fn ended_by_theft(&self, access_token: &AccessToken) -> Result<bool, SessionError> {
        dispatch!(self.ended_by_theft(access_token))
    }

    /// The thumbprint of the device key a live session is bound to, if it is bound.
    pub async fn device_thumbprint(
        &self,
        session_handle: &str,
    ) -> Result<Option<String>, SessionError> {
        match self {
            Self::Local(sessions) => Ok(sessions
                .get_session_info(session_handle)
                .await?
                .device_thumbprint),
            #[cfg(feature = "remote")]
            Self::Remote(remote) => remote.device_thumbprint(session_handle).await,
        }
    }
}
