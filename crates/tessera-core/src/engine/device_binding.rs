//! Binding sessions to devices and refreshing bound sessions (the proofs themselves are read in
//! [`device`](crate::device)).
//!
//! Every step is authenticated by the session's current refresh token, which the browser sends
//! with its requests to the refresh path: a challenge names that token, a registration binds the
//! session it belongs to, and a renewal rotates it. Challenges are keyed by a secret derived from
//! the static signing key, so every process over the store recognises every other's.

use std::time::Duration;

use thiserror::Error;

use super::{check_refresh_token_shape, Sessions};
use crate::config::KeyKind;
use crate::device::{
    verify_registration, verify_renewal, ChallengeError, Challenges, DeviceKey, ProofError,
};
use crate::error::{GeneralError, SessionError, StoreError};
use crate::secret::{hash2_from_hash1, refresh_token_hash1, RefreshToken};
use crate::store::{DeviceProof, RefreshTokenRecord, SessionRecord};
use crate::time::Timestamp;
use crate::types::{RefreshOptions, SessionTokens};

/// How long a challenge can be answered: time for a browser to sign and send, too short to
/// stockpile proofs for later.
pub const DEVICE_CHALLENGE_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// A challenge for a device proof, and the session it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceChallenge {
    /// The session the refresh token belongs to; the browser's name for its bound session.
    pub session_handle: String,
    /// The value the proof must carry as its `jti`.
    pub challenge: String,
    /// Whether the session is bound to a device already.
    pub bound: bool,
}

/// A session bound to a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceBinding {
    /// The session.
    pub session_handle: String,
    /// The device key's RFC 7638 thumbprint.
    pub thumbprint: String,
}

/// Why a device registration or a bound refresh did not succeed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The proof answered a challenge that is stale, used, or not this token's: the client
    /// should be handed a fresh challenge and try again.
    #[error(transparent)]
    Challenge(#[from] ChallengeError),
    /// The proof itself is unacceptable (malformed, wrong algorithm, wrong key, bad signature).
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The session refused it (unknown or expired token, theft, revoked) or the store failed.
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl From<StoreError> for DeviceError {
    fn from(error: StoreError) -> Self {
        Self::Session(error.into())
    }
}

impl Sessions {
    /// A challenge for a proof about the session whose refresh token this is.
    pub async fn device_challenge(
        &self,
        refresh_token: &RefreshToken,
    ) -> Result<DeviceChallenge, SessionError> {
        check_refresh_token_shape(refresh_token)?;
        let now = self.now();
        let (token, session) = self.token_and_session(refresh_token, now).await?;
        let challenge = self
            .challenges(now)
            .await?
            .issue(&session.handle, &token.hash2, now);
        Ok(DeviceChallenge {
            session_handle: session.handle,
            challenge,
            bound: session.device_key.is_some(),
        })
    }

    /// A challenge for the session `session_handle` whose current refresh token is `refresh_token`,
    /// for a caller that has just received both (a sign-in, a renewal): no store read. A pair
    /// that does not belong together yields a challenge no proof can answer.
    pub async fn device_challenge_for(
        &self,
        session_handle: &str,
        refresh_token: &RefreshToken,
    ) -> Result<String, SessionError> {
        let now = self.now();
        let hash2 = hash2_from_hash1(&refresh_token_hash1(refresh_token));
        Ok(self
            .challenges(now)
            .await?
            .issue(session_handle, &hash2, now))
    }

    /// Binds the session whose refresh token this is to the key that signed `proof`, a
    /// registration proof answering a challenge issued for that token. Registering the same key
    /// again succeeds (a retried request); a session bound to another key stays bound to it.
    pub async fn bind_device(
        &self,
        refresh_token: &RefreshToken,
        proof: &str,
    ) -> Result<DeviceBinding, DeviceError> {
        check_refresh_token_shape(refresh_token)?;
        let (key, claims) = verify_registration(proof)?;
        let now = self.now();
        let (token, session) = self.token_and_session(refresh_token, now).await?;
        self.challenges(now)
            .await?
            .check(&claims.challenge, &session.handle, &token.hash2, now)?;
        let stored = key.to_stored();
        let binding = DeviceBinding {
            session_handle: session.handle.clone(),
            thumbprint: key.thumbprint().to_owned(),
        };
        let bound_now = match session.device_key {
            Some(bound) => bound,
            None => {
                let store = &self.inner.store;
                if store.bind_device(&session.handle, &stored, now).await? {
                    tracing::info!(session_handle = %session.handle, thumbprint = %binding.thumbprint, "session bound to a device");
                    return Ok(binding);
                }
                // Another request bound it first, or the session ended meanwhile.
                store
                    .session(&session.handle, now)
                    .await?
                    .and_then(|session| session.device_key)
                    .ok_or(SessionError::unauthorised("session does not exist"))?
            }
        };
        if bound_now == stored {
            Ok(binding)
        } else {
            Err(SessionError::Unauthorised {
                clear_tokens: false,
                reason: "the session is bound to another device",
            }
            .into())
        }
    }

    /// Refreshes a bound session with a renewal proof from its device, answering a challenge
    /// issued for this refresh token. No anti-CSRF token is asked for: the browser sends this
    /// request on its own, and the proof is what a forged request cannot carry.
    pub async fn refresh_bound_session(
        &self,
        refresh_token: &RefreshToken,
        proof: &str,
        options: RefreshOptions,
    ) -> Result<SessionTokens, DeviceError> {
        check_refresh_token_shape(refresh_token)?;
        let now = self.now();
        let (token, session) = self.token_and_session(refresh_token, now).await?;
        let stored = session.device_key.ok_or(SessionError::unauthorised(
            "the session is not bound to a device",
        ))?;
        let key = DeviceKey::from_stored(&stored).map_err(|_| {
            SessionError::from(GeneralError::Store(StoreError::Corrupt(
                "a session's device key cannot be read".into(),
            )))
        })?;
        let claims = verify_renewal(proof, &key)?;
        self.challenges(now)
            .await?
            .check(&claims.challenge, &session.handle, &token.hash2, now)?;
        let options = RefreshOptions {
            check_anti_csrf: false,
            ..options
        };
        Ok(self
            .rotate(
                refresh_token,
                None,
                options,
                DeviceProof::Verified { device_key: stored },
            )
            .await?)
    }

    /// The stored refresh token and its live session.
    async fn token_and_session(
        &self,
        refresh_token: &RefreshToken,
        now: Timestamp,
    ) -> Result<(RefreshTokenRecord, SessionRecord), SessionError> {
        let store = &self.inner.store;
        let hash2 = hash2_from_hash1(&refresh_token_hash1(refresh_token));
        let token = store
            .refresh_token(&hash2)
            .await?
            .ok_or(SessionError::unauthorised("unknown refresh token"))?;
        let session = store
            .session(&token.session_handle, now)
            .await?
            .ok_or(SessionError::unauthorised("session does not exist"))?;
        Ok((token, session))
    }

    async fn challenges(&self, now: Timestamp) -> Result<Challenges, SessionError> {
        let key = self
            .inner
            .keys
            .signing_key(&*self.inner.store, KeyKind::Static, now)
            .await?;
        Ok(Challenges::new(
            &key.derived_secret,
            DEVICE_CHALLENGE_LIFETIME,
        ))
    }
}
