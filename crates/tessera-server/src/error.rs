//! The HTTP layer's error type: transport-level failures that are not session outcomes.
//!
//! Session outcomes (`UNAUTHORISED`, `TRY_REFRESH_TOKEN`, `TOKEN_THEFT_DETECTED`) are HTTP 200 with
//! a `status` string, as the SDKs expect; see `wire`. Everything here is a 4xx for bad input or a
//! 5xx for a real fault, with a JSON body `{"message": …}`. Both SDKs treat any non-200 as an
//! error and only put the body text into their exception message, so JSON works for them and is
//! easier for everyone else to read than SuperTokens core's plain text.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tessera_core::{GeneralError, SessionError, StoreError};
use thiserror::Error;

/// A request that cannot be answered with a session outcome.
#[derive(Debug, Error)]
pub enum ApiError {
    /// The body or query is malformed, misses a field or has a wrong type.
    #[error("{0}")]
    BadRequest(String),
    /// The session's access tokens would be longer than verification accepts (the engine's
    /// message, and its figures as data).
    #[error("{}", GeneralError::TokenTooLarge { length: *length, limit: *limit })]
    TokenTooLarge {
        /// The length the token would have had.
        length: usize,
        /// The longest token verification accepts.
        limit: usize,
    },
    /// The path names a tenant that was not created.
    #[error("AppId or tenantId not found: tenant `{0}` does not exist")]
    UnknownTenant(String),
    /// The path names an app that was not created.
    #[error("AppId or tenantId not found: app `{0}` does not exist")]
    UnknownApp(String),
    /// `api-key` missing or wrong.
    #[error("Invalid API key")]
    InvalidApiKey,
    /// The body is larger than `max_body_bytes`.
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// The body did not arrive in time.
    #[error("request body not received within {} s", .0.as_secs())]
    BodyTimeout(std::time::Duration),
    /// No such route.
    #[error("not found: {0}")]
    NotFound(String),
    /// The route exists but not with this method.
    #[error("method {0} not allowed here")]
    MethodNotAllowed(String),
    /// The database cannot be reached; worth retrying.
    #[error("session store unavailable")]
    Unavailable,
    /// Anything else that is the server's fault. The detail is logged, not sent.
    #[error("internal server error")]
    Internal,
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_)
            | Self::UnknownTenant(_)
            | Self::UnknownApp(_)
            | Self::TokenTooLarge { .. } => StatusCode::BAD_REQUEST,
            Self::InvalidApiKey => StatusCode::UNAUTHORIZED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Maps an engine error that has no CDI `status` of its own. Callers handle the session
    /// outcomes first; anything reaching here is a fault or a bad argument.
    pub fn from_engine(error: SessionError) -> Self {
        match error {
            SessionError::General(GeneralError::InvalidArgument(message)) => {
                Self::BadRequest(message)
            }
            SessionError::General(GeneralError::TokenTooLarge { length, limit }) => {
                Self::TokenTooLarge { length, limit }
            }
            SessionError::General(GeneralError::Store(StoreError::Unavailable(detail))) => {
                tracing::error!(%detail, "session store unavailable");
                metrics::counter!("tessera_errors_total", "kind" => "store_unavailable")
                    .increment(1);
                Self::Unavailable
            }
            other => {
                tracing::error!(error = %other, "request failed");
                metrics::counter!("tessera_errors_total", "kind" => "internal").increment(1);
                Self::Internal
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "message": self.to_string() }));
        match self {
            // The rest of the body may never come: close the connection instead of draining it.
            Self::BodyTimeout(_) => (
                self.status(),
                [(axum::http::header::CONNECTION, "close")],
                body,
            )
                .into_response(),
            // Carried as data as well, so that a remote back end can return the typed error.
            Self::TokenTooLarge { length, limit } => {
                let body = Json(json!({
                    "message": self.to_string(),
                    "tokenTooLarge": { "length": length, "limit": limit },
                }));
                (self.status(), body).into_response()
            }
            _ => (self.status(), body).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_unavailable_is_503_and_other_faults_500() {
        let unavailable = SessionError::General(GeneralError::Store(StoreError::Unavailable(
            "connection refused".to_owned(),
        )));
        assert_eq!(
            ApiError::from_engine(unavailable).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let corrupt = SessionError::General(GeneralError::Store(StoreError::Corrupt(
            "bad row".to_owned(),
        )));
        let error = ApiError::from_engine(corrupt);
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        // The detail is logged, never sent.
        assert!(!error.to_string().contains("bad row"));
        let invalid = SessionError::General(GeneralError::InvalidArgument("sub".to_owned()));
        assert_eq!(
            ApiError::from_engine(invalid).status(),
            StatusCode::BAD_REQUEST
        );
    }
}
