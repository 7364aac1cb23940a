//! The engine's error type: the four outcomes of the 2020 SuperTokens libraries, kept by name.

use thiserror::Error;

/// Why a session call did not succeed.
///
/// HTTP layers map these one to one: `TryRefreshToken` to the session-expired status (tokens kept),
/// `Unauthorised` to 401 (tokens cleared when `clear_tokens`), `TokenTheftDetected` to 401 with the
/// session already revoked, and `General` to a server error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The access token is missing, expired, badly signed or failed the anti-CSRF check.
    /// The client should call the refresh endpoint and retry.
    #[error("try refresh token: {reason}")]
    TryRefreshToken {
        /// Why, for logs and error bodies. Never contains a token.
        reason: &'static str,
    },
    /// There is no valid session; the user must sign in again.
    #[error("unauthorised: {reason}")]
    Unauthorised {
        /// Whether the client should drop the tokens it holds.
        clear_tokens: bool,
        /// Why, for logs and error bodies. Never contains a token.
        reason: &'static str,
    },
    /// A rotated refresh token was presented again: the session has been revoked.
    #[error("token theft detected for session {session_handle}")]
    TokenTheftDetected {
        /// The user whose session was stolen.
        user_id: String,
        /// The revoked session.
        session_handle: String,
    },
    /// Anything else: a storage fault, a corrupt key. Never carries a secret.
    #[error(transparent)]
    General(#[from] GeneralError),
}

impl SessionError {
    pub(crate) fn try_refresh(reason: &'static str) -> Self {
        Self::TryRefreshToken { reason }
    }

    pub(crate) fn unauthorised(reason: &'static str) -> Self {
        Self::Unauthorised {
            clear_tokens: true,
            reason,
        }
    }
}

/// Faults that are nobody's input: storage, key material, bad arguments from the calling code.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum GeneralError {
    /// The session store failed.
    #[error("session store: {0}")]
    Store(#[from] StoreError),
    /// A signing key could not be created, parsed or used.
    #[error("signing key: {0}")]
    Key(&'static str),
    /// The caller passed something the engine cannot accept (for example a reserved claim name).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The access token for this session would be longer than verification accepts, because of
    /// a long user id or a large access-token payload. Nothing was created or changed.
    #[error(
        "the access token would be {length} characters long, over the limit of {limit} that \
         verification accepts: shorten the user id or the access-token payload"
    )]
    TokenTooLarge {
        /// The length the token would have had.
        length: usize,
        /// [`MAX_ACCESS_TOKEN_LEN`](crate::MAX_ACCESS_TOKEN_LEN).
        limit: usize,
    },
    /// A remote Tessera server could not be reached or answered with an error. Never carries a
    /// token.
    #[error("session server: {0}")]
    Remote(String),
}

impl From<StoreError> for SessionError {
    fn from(error: StoreError) -> Self {
        Self::General(GeneralError::Store(error))
    }
}

/// What a [`SessionStore`](crate::SessionStore) reports when it fails.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be reached (connection refused, pool timed out). Worth retrying later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database answered with an error.
    #[error("database error: {0}")]
    Database(String),
    /// A stored value could not be decoded.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// Schema migration failed at start-up.
    #[error("migration failed: {0}")]
    Migration(String),
}
