//! What this layer reads of a request, whatever framework delivered it: the method and a few
//! headers. Frameworks keep headers in their own maps (axum in `http` 1's, actix-web in its own
//! over `http` 0.2's), so each adapter implements [`RequestHeaders`] for its map and nothing here
//! copies a request.

use http::header::{ACCEPT, AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderName};

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
            Self::AuthMode => crate::transport::AUTH_MODE_HEADER,
            Self::AntiCsrf => crate::transport::ANTI_CSRF_HEADER,
            Self::Rid => crate::transport::RID_HEADER,
            Self::SecFetchMode => "sec-fetch-mode",
            Self::Accept => "accept",
            Self::SecureSessionId => crate::device::SESSION_ID_HEADER,
            Self::SecureSessionResponse => crate::device::RESPONSE_HEADER,
            Self::SecureSessionSkipped => crate::device::SKIPPED_HEADER,
        }
    }

    /// The name as an `http` 1 header name, parsed once for the whole process.
    pub fn http_name(self) -> &'static HeaderName {
        // Statics, not `HeaderName::from_static` calls: those would check the name on every
        // request.
        static COOKIE_NAME: HeaderName = COOKIE;
        static AUTHORIZATION_NAME: HeaderName = AUTHORIZATION;
        static AUTH_MODE: HeaderName = HeaderName::from_static(RequestHeader::AuthMode.name());
        static ANTI_CSRF: HeaderName = HeaderName::from_static(RequestHeader::AntiCsrf.name());
        static RID: HeaderName = HeaderName::from_static(RequestHeader::Rid.name());
        static SEC_FETCH_MODE: HeaderName =
            HeaderName::from_static(RequestHeader::SecFetchMode.name());
        static ACCEPT_NAME: HeaderName = ACCEPT;
        static SECURE_SESSION_ID: HeaderName =
            HeaderName::from_static(RequestHeader::SecureSessionId.name());
        static SECURE_SESSION_RESPONSE: HeaderName =
            HeaderName::from_static(RequestHeader::SecureSessionResponse.name());
        static SECURE_SESSION_SKIPPED: HeaderName =
            HeaderName::from_static(RequestHeader::SecureSessionSkipped.name());
        match self {
            Self::Cookie => &COOKIE_NAME,
            Self::Authorization => &AUTHORIZATION_NAME,
            Self::AuthMode => &AUTH_MODE,
            Self::AntiCsrf => &ANTI_CSRF,
            Self::Rid => &RID,
            Self::SecFetchMode => &SEC_FETCH_MODE,
            Self::Accept => &ACCEPT_NAME,
            Self::SecureSessionId => &SECURE_SESSION_ID,
            Self::SecureSessionResponse => &SECURE_SESSION_RESPONSE,
            Self::SecureSessionSkipped => &SECURE_SESSION_SKIPPED,
        }
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
