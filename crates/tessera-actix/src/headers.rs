//! [`SessionHeaders`]: the headers that hand tokens to the client or take them away, added to an
//! actix-web response.

use actix_web::HttpResponseBuilder;

/// Response headers that hand tokens to the client or take them away. Put them on the response:
/// `Ok(tokens.respond(HttpResponse::Ok()).json(body))`. Set-Cookie lines are added, never
/// replacing the app's own.
#[derive(Debug, Clone, Default)]
#[must_use = "the tokens reach the client only if these headers are part of the response"]
pub struct SessionHeaders(tessera_http::SessionHeaders);

impl SessionHeaders {
    /// Adds the headers to a response being built and hands the builder back.
    pub fn respond(self, mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
        self.add_to(&mut builder);
        builder
    }

    /// Adds the headers to a response being built.
    pub fn add_to(&self, builder: &mut HttpResponseBuilder) {
        crate::response::append_all(builder, self.0.headers());
    }

    /// The headers, as the neutral layer wrote them (`http` 1 types).
    pub fn headers(&self) -> &tessera_http::http::HeaderMap {
        self.0.headers()
    }
}

impl From<tessera_http::SessionHeaders> for SessionHeaders {
    fn from(headers: tessera_http::SessionHeaders) -> Self {
        Self(headers)
    }
}
