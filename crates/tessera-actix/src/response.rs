//! The neutral layer's answers as actix-web responses. actix-web 4 builds on `http` 0.2 while the
//! neutral layer writes `http` 1 headers, so each header crosses by name and bytes; only answers
//! that hand out or clear tokens carry any.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};
use tessera_http::{Merge, Reply};

/// One `http` 1 header as actix-web's; `None` only for what `http` 1 itself would refuse.
pub(crate) fn header(
    name: &tessera_http::http::HeaderName,
    value: &tessera_http::http::HeaderValue,
) -> Option<(HeaderName, HeaderValue)> {
    Some((
        HeaderName::from_bytes(name.as_str().as_bytes()).ok()?,
        HeaderValue::from_bytes(value.as_bytes()).ok()?,
    ))
}

/// Adds headers to a response being built, each as a new line.
pub(crate) fn append_all(
    builder: &mut HttpResponseBuilder,
    headers: &tessera_http::http::HeaderMap,
) {
    for (name, value) in headers {
        if let Some(pair) = header(name, value) {
            builder.append_header(pair);
        }
    }
}

/// A whole answer of the neutral layer.
pub(crate) fn from_reply(reply: Reply) -> HttpResponse {
    let (parts, body) = reply.into_parts();
    let status =
        StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    append_all(&mut builder, &parts.headers);
    builder.body(body)
}

/// Adds reissued headers to a response the handler made, as `tessera_http::merge_reissued` does
/// for `http` responses: a response that hands out or clears tokens itself wins.
pub(crate) fn merge_reissued(headers: &mut HeaderMap, reissued: &tessera_http::SessionHeaders) {
    if headers.contains_key(tessera_http::FRONT_TOKEN_HEADER) {
        return;
    }
    for (name, value) in reissued.headers() {
        let Some((name, value)) = header(name, value) else {
            continue;
        };
        match Merge::for_header(name.as_str()) {
            Merge::Append => headers.append(name, value),
            Merge::JoinList => {
                let joined = match headers.get(&name) {
                    Some(existing) => {
                        let mut joined = existing.as_bytes().to_vec();
                        joined.extend_from_slice(b", ");
                        joined.extend_from_slice(value.as_bytes());
                        HeaderValue::from_bytes(&joined).ok()
                    }
                    None => Some(value),
                };
                if let Some(joined) = joined {
                    headers.insert(name, joined);
                }
            }
            Merge::Replace => {
                headers.insert(name, value);
            }
        }
    }
}
