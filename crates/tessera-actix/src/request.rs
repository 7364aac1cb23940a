//! actix-web's header map, read by the neutral layer.

use actix_web::http::header::HeaderMap;
use tessera_http::{RequestHeader, RequestHeaders};

/// actix-web keeps its own header map (over `http` 0.2's names and values); this reads it in
/// place, so verifying a request copies nothing.
pub(crate) struct ActixHeaders<'a>(pub(crate) &'a HeaderMap);

impl RequestHeaders for ActixHeaders<'_> {
    fn header(&self, header: RequestHeader) -> Option<&[u8]> {
        self.0.get(header.name()).map(|value| value.as_bytes())
    }

    fn header_values(&self, header: RequestHeader) -> impl Iterator<Item = &[u8]> {
        self.0.get_all(header.name()).map(|value| value.as_bytes())
    }
}
