//! What the axum integration's HTTP tests share: a response read into status, headers and JSON,
//! and a client holding tokens the way the frontend SDK does, in either transport.
#![allow(dead_code)] // Each test file uses a different part.

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use cookie::time::OffsetDateTime;
use cookie::Cookie;
use serde_json::Value;
use tower::ServiceExt;

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn cookies(&self) -> Vec<Cookie<'static>> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| Cookie::parse(v.to_str().unwrap().to_owned()).unwrap())
            .collect()
    }

    pub fn cookie(&self, name: &str) -> Cookie<'static> {
        self.cookies()
            .into_iter()
            .find(|c| c.name() == name)
            .unwrap_or_else(|| panic!("no {name} cookie"))
    }

    /// The cookie, if the response sets it.
    pub fn find_cookie(&self, name: &str) -> Option<Cookie<'static>> {
        self.cookies().into_iter().find(|c| c.name() == name)
    }

    /// Whether the response tells the client to forget its tokens (either transport).
    pub fn clears(&self) -> bool {
        self.header("front-token") == Some("remove")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn front_token(&self) -> Value {
        let raw = self.header("front-token").expect("front-token");
        serde_json::from_slice(&STANDARD.decode(raw).expect("standard base64")).unwrap()
    }

    pub fn assert_not_cleared(&self) {
        assert!(self.cookies().is_empty(), "no Set-Cookie expected");
        assert_eq!(self.header("front-token"), None);
        assert_eq!(self.header("st-access-token"), None);
    }

    pub fn assert_cookies_cleared(&self, refresh_path: &str) {
        for (name, path) in [("sAccessToken", "/"), ("sRefreshToken", refresh_path)] {
            let c = self.cookie(name);
            assert_eq!(c.value(), "", "{name} emptied");
            assert_eq!(c.path(), Some(path), "{name} path");
            assert_eq!(c.http_only(), Some(true), "{name} HttpOnly");
            assert_eq!(
                c.same_site(),
                Some(cookie::SameSite::Lax),
                "{name} SameSite"
            );
            assert_eq!(
                c.expires_datetime(),
                Some(OffsetDateTime::UNIX_EPOCH),
                "{name} expired in 1970"
            );
        }
        assert_eq!(self.header("front-token"), Some("remove"));
    }

    pub fn assert_headers_cleared(&self) {
        assert_eq!(self.header("st-access-token"), Some(""));
        assert_eq!(self.header("st-refresh-token"), Some(""));
        assert_eq!(self.header("front-token"), Some("remove"));
    }
}

/// The tokens a client holds, and how it sends them.
#[derive(Clone, Default)]
pub struct Client {
    pub access: String,
    pub refresh: String,
    pub anti_csrf: Option<String>,
    pub header_mode: bool,
}

impl Client {
    pub fn absorb(&mut self, resp: &Resp) {
        if self.header_mode {
            self.access = resp.header("st-access-token").unwrap().to_owned();
            self.refresh = resp.header("st-refresh-token").unwrap().to_owned();
        } else {
            self.access = resp.cookie("sAccessToken").value().to_owned();
            self.refresh = resp.cookie("sRefreshToken").value().to_owned();
        }
        if let Some(a) = resp.header("anti-csrf") {
            self.anti_csrf = Some(a.to_owned());
        }
    }

    /// Takes whatever tokens the response hands over, if any (a protected route hands over an
    /// access token only when verification re-minted one).
    pub fn absorb_any(&mut self, resp: &Resp) {
        if self.header_mode {
            if let Some(access) = resp.header("st-access-token") {
                self.access = access.to_owned();
            }
            if let Some(refresh) = resp.header("st-refresh-token") {
                self.refresh = refresh.to_owned();
            }
        } else {
            if let Some(access) = resp.find_cookie("sAccessToken") {
                self.access = access.value().to_owned();
            }
            if let Some(refresh) = resp.find_cookie("sRefreshToken") {
                self.refresh = refresh.value().to_owned();
            }
        }
    }

    /// A request carrying the access token (or, for the refresh route, the refresh token).
    pub fn request(&self, method: Method, uri: &str) -> axum::http::request::Builder {
        let token = if uri.ends_with("/session/refresh") {
            &self.refresh
        } else {
            &self.access
        };
        let builder = Request::builder().method(method).uri(uri);
        if self.header_mode {
            builder.header("authorization", format!("Bearer {token}"))
        } else {
            let name = if uri.ends_with("/session/refresh") {
                "sRefreshToken"
            } else {
                "sAccessToken"
            };
            builder.header("cookie", format!("other=1; {name}={token}"))
        }
    }
}

/// Sends one request through the router and reads the response.
pub async fn send(router: &Router, request: axum::http::request::Builder) -> Resp {
    let resp = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Resp {
        status,
        headers,
        body,
    }
}

/// `POST /login` in cookie or header mode; the client holding what it handed over.
pub async fn login(router: &Router, header_mode: bool) -> (Client, Resp) {
    let mode = if header_mode { "header" } else { "cookie" };
    let request = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header("st-auth-mode", mode);
    let resp = send(router, request).await;
    assert_eq!(resp.status, StatusCode::OK);
    let mut client = Client {
        header_mode,
        ..Client::default()
    };
    client.absorb(&resp);
    (client, resp)
}
