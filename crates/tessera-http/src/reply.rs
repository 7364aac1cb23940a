//! [`Reply`]: a whole response this layer writes itself (the refresh and sign-out routes, the
//! device-binding routes, a rejected request), as an `http` response any adapter can send.

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::Value;

/// A response with a text body (JSON or HTML, or empty), headers and status.
pub type Reply = Response<String>;

/// A JSON answer.
pub(crate) fn json(status: StatusCode, headers: HeaderMap, body: &Value) -> Reply {
    with_body(
        status,
        headers,
        body.to_string(),
        Some(HeaderValue::from_static("application/json")),
    )
}

/// An HTML page.
pub(crate) fn html(status: StatusCode, headers: HeaderMap, page: String) -> Reply {
    with_body(
        status,
        headers,
        page,
        Some(HeaderValue::from_static("text/html; charset=utf-8")),
    )
}

/// Status and headers only.
pub(crate) fn empty(status: StatusCode, headers: HeaderMap) -> Reply {
    with_body(status, headers, String::new(), None)
}

fn with_body(
    status: StatusCode,
    headers: HeaderMap,
    body: String,
    content_type: Option<HeaderValue>,
) -> Reply {
    let mut reply = Response::new(body);
    *reply.status_mut() = status;
    *reply.headers_mut() = headers;
    if let Some(content_type) = content_type {
        reply.headers_mut().insert(CONTENT_TYPE, content_type);
    }
    reply
}
