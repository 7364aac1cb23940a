//! [`Error`]: a failed session request as an axum response (the exact answers the frontend SDK
//! reacts to are written by `tessera-http`).

use axum::response::{IntoResponse, Response};

pub use tessera_http::ErrorKind;

/// A failed session request. Implements [`IntoResponse`], so handlers can use `?`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(tessera_http::Error);

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        self.0.kind()
    }

    /// Whether the response tells the client to drop its tokens.
    pub fn clears_tokens(&self) -> bool {
        self.0.clears_tokens()
    }
}

impl From<tessera_http::Error> for Error {
    fn from(error: tessera_http::Error) -> Self {
        Self(error)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.0.reply().into_response()
    }
}
