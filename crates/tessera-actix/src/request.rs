//! actix-web's header map, read by the neutral layer.

use actix_web::http::header::{HeaderMap, HeaderName, ACCEPT, AUTHORIZATION, COOKIE};
use tessera_http::{RequestHeader, RequestHeaders};

/// actix-web's name for a header, parsed once for the whole process: a lookup by text would
/// check the name again on every request.
fn name(header: RequestHeader) -> &'static HeaderName {
    static COOKIE_NAME: HeaderName = COOKIE;
    static AUTHORIZATION_NAME: HeaderName = AUTHORIZATION;
    static AUTH_MODE: HeaderName = HeaderName::from_static(RequestHeader::AuthMode.name());
    static ANTI_CSRF: HeaderName = HeaderName::from_static(RequestHeader::AntiCsrf.name());
    static RID: HeaderName = HeaderName::from_static(RequestHeader::Rid.name());
    static SEC_FETCH_MODE: HeaderName = HeaderName::from_static(RequestHeader::SecFetchMode.name());
    static ACCEPT_NAME: HeaderName = ACCEPT;
    static SECURE_SESSION_ID: HeaderName =
        HeaderName::from_static(RequestHeader::SecureSessionId.name());
    static SECURE_SESSION_RESPONSE: HeaderName =
        HeaderName::from_static(RequestHeader::SecureSessionResponse.name());
    static SECURE_SESSION_SKIPPED: HeaderName =
        HeaderName::from_static(RequestHeader::SecureSessionSkipped.name());
    match header {
        RequestHeader::Cookie => &COOKIE_NAME,
        RequestHeader::Authorization => &AUTHORIZATION_NAME,
        RequestHeader::AuthMode => &AUTH_MODE,
        RequestHeader::AntiCsrf => &ANTI_CSRF,
        RequestHeader::Rid => &RID,
        RequestHeader::SecFetchMode => &SEC_FETCH_MODE,
        RequestHeader::Accept => &ACCEPT_NAME,
        RequestHeader::SecureSessionId => &SECURE_SESSION_ID,
        RequestHeader::SecureSessionResponse => &SECURE_SESSION_RESPONSE,
        RequestHeader::SecureSessionSkipped => &SECURE_SESSION_SKIPPED,
    }
}

/// actix-web keeps its own header map (over `http` 0.2's names and values); this reads it in
/// place, so verifying a request copies nothing.
pub(crate) struct ActixHeaders<'a>(pub(crate) &'a HeaderMap);

impl RequestHeaders for ActixHeaders<'_> {
    fn header(&self, header: RequestHeader) -> Option<&[u8]> {
        self.0.get(name(header)).map(|value| value.as_bytes())
    }

    fn header_values(&self, header: RequestHeader) -> impl Iterator<Item = &[u8]> {
        self.0.get_all(name(header)).map(|value| value.as_bytes())
    }
}
