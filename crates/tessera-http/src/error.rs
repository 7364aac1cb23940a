//! Errors of the HTTP layer and the exact responses the frontend SDK reacts to
//! (`docs/protocol.md`): the status decides whether it refreshes, and `front-token: remove`
//! whether it forgets the session.

use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, X_FRAME_OPTIONS};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{json, Value};
use tessera_core::SessionError;

use crate::config::SessionLayerConfig;
use crate::reply::{self, Reply};
use crate::transport::{clear_headers, ClearScope, SessionHeaders};

/// Why a session request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The access token is expired or invalid, or the anti-CSRF check failed: the client should
    /// refresh and retry. Tokens are kept.
    #[error("try refresh token: {0}")]
    TryRefreshToken(&'static str),
    /// No valid session; the user must sign in again.
    #[error("unauthorised: {0}")]
    Unauthorised(&'static str),
    /// A rotated refresh token came back; the session has been revoked.
    #[error("token theft detected for session {session_handle}")]
    TokenTheftDetected {
        /// The user whose session was stolen.
        user_id: String,
        /// The revoked session.
        session_handle: String,
    },
    /// The session is valid but a claim the route needs is not satisfied.
    #[error("invalid claim")]
    InvalidClaim(Vec<Value>),
    /// The engine failed (storage, keys): a server error.
    #[error(transparent)]
    Engine(SessionError),
    /// A fault in this layer that no client input causes.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl From<crate::fault::Fault> for ErrorKind {
    fn from(fault: crate::fault::Fault) -> Self {
        Self::Internal(fault.0)
    }
}

/// A failed session request, carrying what its response needs: the configured session-expired
/// status, and the clear headers when the client must drop its tokens. Each framework's adapter
/// turns it into that framework's error response, through [`reply`](Self::reply).
///
/// Boxed, so that the results of verification, which every protected request moves through a
/// few functions and futures, stay the size of a session.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.kind)]
pub struct Error(Box<Failure>);

/// What an [`Error`] holds.
#[derive(Debug)]
struct Failure {
    kind: ErrorKind,
    expired_status: StatusCode,
    clear: Option<SessionHeaders>,
    /// Headers sent whatever the outcome (the leftover legacy cookie's removal).
    extra_headers: Option<SessionHeaders>,
    /// The refresh page answered instead of JSON to a page navigation.
    html: Option<String>,
}

impl Error {
    pub(crate) fn new(kind: impl Into<ErrorKind>, config: &SessionLayerConfig) -> Self {
        Self(Box::new(Failure {
            kind: kind.into(),
            expired_status: config.session_expired_status(),
            clear: None,
            extra_headers: None,
            html: None,
        }))
    }

    /// Adds headers to the response (kept apart from the clear, which only some errors carry).
    pub(crate) fn with_headers(mut self, headers: SessionHeaders) -> Self {
        match self.0.extra_headers.as_mut() {
            Some(held) => held.extend(headers),
            None => self.0.extra_headers = Some(headers),
        }
        self
    }

    /// For a page navigation: answers "try refresh token" with the configured refresh page.
    pub(crate) fn for_navigation(mut self, config: &SessionLayerConfig) -> Self {
        if let (ErrorKind::TryRefreshToken(_), Some(page)) = (&self.0.kind, config.html_refresh()) {
            self.0.html = Some(page.render(config.api_base_path(), self.0.expired_status.as_u16()));
        }
        self
    }

    pub(crate) fn clearing(
        kind: ErrorKind,
        config: &SessionLayerConfig,
        scope: ClearScope,
    ) -> Self {
        let mut error = Self::new(kind, config);
        error.0.clear = Some(clear_headers(config, scope));
        error
    }

    /// Maps an engine error: `Unauthorised{clear_tokens}` and theft clear the client's tokens in
    /// `scope`; try-refresh keeps them.
    pub(crate) fn from_engine(
        err: SessionError,
        config: &SessionLayerConfig,
        scope: ClearScope,
    ) -> Self {
        match err {
            SessionError::TryRefreshToken { reason } => {
                Self::new(ErrorKind::TryRefreshToken(reason), config)
            }
            SessionError::Unauthorised {
                clear_tokens,
                reason,
            } => {
                let kind = ErrorKind::Unauthorised(reason);
                if clear_tokens {
                    Self::clearing(kind, config, scope)
                } else {
                    Self::new(kind, config)
                }
            }
            SessionError::TokenTheftDetected {
                user_id,
                session_handle,
            } => Self::clearing(
                ErrorKind::TokenTheftDetected {
                    user_id,
                    session_handle,
                },
                config,
                scope,
            ),
            // Faults, and whatever a later engine adds: a server error.
            other => Self::new(ErrorKind::Engine(other), config),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// Whether the response tells the client to drop its tokens.
    pub fn clears_tokens(&self) -> bool {
        self.0.clear.is_some()
    }
}

impl Error {
    /// The response the frontend SDK acts on.
    pub fn reply(&self) -> Reply {
        let (status, body) = match &self.0.kind {
            ErrorKind::TryRefreshToken(_) => (
                self.0.expired_status,
                json!({"message": "try refresh token"}),
            ),
            // Every answer the frontend SDK acts on uses the configured session-expired status:
            // an SDK set up for 440 takes a 401 for an ordinary error and would not sign out.
            ErrorKind::Unauthorised(_) => {
                (self.0.expired_status, json!({"message": "unauthorised"}))
            }
            ErrorKind::TokenTheftDetected { .. } => (
                self.0.expired_status,
                json!({"message": "token theft detected"}),
            ),
            ErrorKind::InvalidClaim(errors) => (
                StatusCode::FORBIDDEN,
                json!({"message": "invalid claim", "claimValidationErrors": errors}),
            ),
            ErrorKind::Engine(_) | ErrorKind::Internal(_) => {
                // The detail goes to the log only: it may name storage internals.
                tracing::error!(error = %self.0.kind, "session request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"message": "internal error"}),
                )
            }
        };
        let mut headers = HeaderMap::new();
        for held in [&self.0.clear, &self.0.extra_headers].into_iter().flatten() {
            for (name, value) in held.headers() {
                headers.append(name.clone(), value.clone());
            }
        }
        if let Some(page) = &self.0.html {
            // Never cached in place of the page it stands for, and never run inside another
            // site's frame, where it would refresh the session on that site's say-so.
            for (name, value) in [
                (CACHE_CONTROL, "no-store"),
                (CONTENT_SECURITY_POLICY, "frame-ancestors 'self'"),
                (X_FRAME_OPTIONS, "SAMEORIGIN"),
            ] {
                headers.insert(name, HeaderValue::from_static(value));
            }
            return reply::html(status, headers, page.clone());
        }
        reply::json(status, headers, &body)
    }
}
