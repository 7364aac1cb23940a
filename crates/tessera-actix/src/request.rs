//! actix-web's header map, read by the neutral layer.

use std::sync::LazyLock;

use actix_web::http::header::{HeaderMap, HeaderName};
use tessera_http::{RequestHeader, RequestHeaders};

/// actix-web's name for a header, parsed once for the whole process: a lookup by text would
/// check the name again on every request.
fn name(header: RequestHeader) -> &'static HeaderName {
    static NAMES: LazyLock<[HeaderName; RequestHeader::ALL.len()]> =
        LazyLock::new(|| RequestHeader::ALL.map(|header| HeaderName::from_static(header.name())));
    &NAMES[header as usize]
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
