//! CORS for a website on another origin than the API (`docs/protocol.md`): the SDK sends
//! credentials, so the origin must be echoed exactly (never `*`), credentials allowed, the SDK's
//! request headers allowed and its response headers exposed. Same-origin apps need none of this.

use axum::http::{HeaderName, HeaderValue, Method};
use tessera_http::{SDK_REQUEST_HEADERS, SDK_RESPONSE_HEADERS};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// A CORS layer admitting exactly `origins` (e.g. `http://localhost:3000`), with credentials.
/// Add it outermost so that preflights are answered before the session extractor runs.
pub fn cors_layer(origins: impl IntoIterator<Item = HeaderValue>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers(SDK_REQUEST_HEADERS.map(HeaderName::from_static))
        .expose_headers(SDK_RESPONSE_HEADERS.map(HeaderName::from_static))
}
