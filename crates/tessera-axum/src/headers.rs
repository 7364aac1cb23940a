//! [`SessionHeaders`] as an axum response part.

use std::convert::Infallible;

use axum::http::HeaderMap;
use axum::response::{IntoResponseParts, ResponseParts};

/// Response headers that hand tokens to the client or take them away. Use as a response part:
/// `(session_headers, Json(body))`. Set-Cookie values are appended, never replacing the app's own.
#[derive(Debug, Clone, Default)]
#[must_use = "the tokens reach the client only if these headers are part of the response"]
pub struct SessionHeaders(tessera_http::SessionHeaders);

impl SessionHeaders {
    /// The headers themselves.
    pub fn headers(&self) -> &HeaderMap {
        self.0.headers()
    }

    /// Takes the headers out.
    pub fn into_headers(self) -> HeaderMap {
        self.0.into_headers()
    }
}

impl From<tessera_http::SessionHeaders> for SessionHeaders {
    fn from(headers: tessera_http::SessionHeaders) -> Self {
        Self(headers)
    }
}

impl IntoResponseParts for SessionHeaders {
    type Error = Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Infallible> {
        for (name, value) in self.0.headers() {
            res.headers_mut().append(name.clone(), value.clone());
        }
        Ok(res)
    }
}
