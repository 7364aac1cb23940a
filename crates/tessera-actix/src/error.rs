//! [`Error`]: a failed session request as an actix-web error response (the exact answers the
//! frontend SDK reacts to are written by `tessera-http`).

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder, ResponseError};

pub use tessera_http::ErrorKind;

/// A failed session request. Implements [`ResponseError`], so handlers can use `?` and return
/// `Result<_, tessera_actix::Error>`, and [`Responder`], so a handler can answer with one.
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

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.reply().status().as_u16())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        crate::response::from_reply(self.0.reply())
    }
}

impl Responder for Error {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        self.error_response()
    }
}
