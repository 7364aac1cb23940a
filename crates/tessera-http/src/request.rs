//! What this layer reads of a request, whatever framework delivered it: the method and a few
//! headers. Frameworks keep headers in their own maps (axum in `http` 1's, actix-web in its own
//! over `http` 0.2's), so each adapter implements [`RequestHeaders`] for its map and nothing here
//! copies a request.

use std::sync::LazyLock;

use http::{HeaderMap, HeaderName};

/// The anti-CSRF token (both directions, `ViaToken` mode only).
pub const ANTI_CSRF_HEADER: &str = "anti-csrf";
/// The client's choice of transport for new sessions (request).
pub const AUTH_MODE_HEADER: &str = "st-auth-mode";
/// The recipe id the SDK puts on every request; `ViaCustomHeader` only checks it is present.
pub const RID_HEADER: &str = "rid";
/// Request header carrying the browser's proof.
pub const RESPONSE_HEADER: &str = "secure-session-response";
/// Request header naming the browser's bound session on a refresh.
pub const SESSION_ID_HEADER: &str = "sec-secure-session-id";
/// Request header with which the browser says it could not renew its bound session (the server
/// answered 5xx, or its signing quota is spent) and sends the request without the bound cookie.
pub const SKIPPED_HEADER: &str = "secure-session-skipped";

/// The request headers this layer reads. An enum rather than names so that each map looks them
/// up by a name it parsed once, not by text parsed on every request. Exhaustive on purpose: an
/// adapter's map must know every header the layer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestHeader {
    /// `Cookie` (every line).
    Cookie,
    /// `Authorization`: the header-mode access or refresh token.
    Authorization,
    /// `st-auth-mode`: the frontend SDK's choice of transport.
    AuthMode,
    /// `anti-csrf`: the anti-CSRF token.
    AntiCsrf,
    /// `rid`: the SDK's recipe id, the custom-header anti-CSRF proof.
    Rid,
    /// `Sec-Fetch-Mode`: whether a GET is a page navigation.
    SecFetchMode,
    /// `Accept`: a page navigation from a browser without Fetch Metadata.
    Accept,
    /// `Sec-Secure-Session-Id`: the bound session a device-binding request is about.
    SecureSessionId,
    /// `Secure-Session-Response`: a device's signed proof.
    SecureSessionResponse,
    /// `Secure-Session-Skipped`: the browser could not renew its bound session.
    SecureSessionSkipped,
}

impl RequestHeader {
    /// The header's name, lower case.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Cookie => "cookie",
            Self::Authorization => "authorization",
            Self::AuthMode => AUTH_MODE_HEADER,
            Self::AntiCsrf => ANTI_CSRF_HEADER,
            Self::Rid => RID_HEADER,
            Self::SecFetchMode => "sec-fetch-mode",
            Self::Accept => "accept",
            Self::SecureSessionId => SESSION_ID_HEADER,
            Self::SecureSessionResponse => RESPONSE_HEADER,
            Self::SecureSessionSkipped => SKIPPED_HEADER,
        }
    }

    /// Every header this layer reads, in declaration order (`header as usize` is its index),
    /// for adapters that parse each name once into their own type.
    pub const ALL: [RequestHeader; 10] = [
        Self::Cookie,
        Self::Authorization,
        Self::AuthMode,
        Self::AntiCsrf,
        Self::Rid,
        Self::SecFetchMode,
        Self::Accept,
        Self::SecureSessionId,
        Self::SecureSessionResponse,
        Self::SecureSessionSkipped,
    ];

    /// The name as an `http` 1 header name, parsed once for the whole process (a lookup by text
    /// would check the name again on every request).
    pub fn http_name(self) -> &'static HeaderName {
        static NAMES: LazyLock<[HeaderName; RequestHeader::ALL.len()]> = LazyLock::new(|| {
            RequestHeader::ALL.map(|header| HeaderName::from_static(header.name()))
        });
        &NAMES[self as usize]
    }
}

/// A request's headers as this layer reads them.
pub trait RequestHeaders {
    /// The header's first value.
    fn header(&self, header: RequestHeader) -> Option<&[u8]>;

    /// Every value of the header, in order (a request may carry several `Cookie` lines).
    fn header_values(&self, header: RequestHeader) -> impl Iterator<Item = &[u8]>;

    /// The header's first value as text, if it is text.
    fn header_str(&self, header: RequestHeader) -> Option<&str> {
        self.header(header)
            .and_then(|value| std::str::from_utf8(value).ok())
    }
}

impl RequestHeaders for HeaderMap {
    fn header(&self, header: RequestHeader) -> Option<&[u8]> {
        self.get(header.http_name()).map(|value| value.as_bytes())
    }

    fn header_values(&self, header: RequestHeader) -> impl Iterator<Item = &[u8]> {
        self.get_all(header.http_name())
            .iter()
            .map(|value| value.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adapters index their parsed names by `header as usize`: `ALL` must list every header at
    /// its own index, the last one included.
    #[test]
    fn all_lists_every_header_at_its_index() {
        for (index, header) in RequestHeader::ALL.iter().enumerate() {
            assert_eq!(*header as usize, index);
            assert_eq!(header.http_name().as_str(), header.name());
        }
        assert_eq!(
            RequestHeader::ALL.len(),
            RequestHeader::SecureSessionSkipped as usize + 1
        );
    }
}
