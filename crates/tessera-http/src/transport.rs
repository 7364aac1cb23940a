//! How tokens travel: cookies or the header mode, reading them from requests and writing (or
//! clearing) them on responses exactly as `docs/protocol.md` describes.

use cookie::time::{Duration as CookieDuration, OffsetDateTime};
use cookie::{Cookie, Expiration};
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderName, HeaderValue};
use tessera_core::{AccessToken, AntiCsrfToken, Issued, RefreshToken};

use crate::config::{AntiCsrfMode, SameSite, SessionLayerConfig};
use crate::fault::Fault;
use crate::front_token;
use crate::request::{RequestHeader, RequestHeaders, ANTI_CSRF_HEADER};

/// The access-token cookie.
pub const ACCESS_TOKEN_COOKIE: &str = "sAccessToken";
/// The refresh-token cookie, sent only to the refresh route.
pub const REFRESH_TOKEN_COOKIE: &str = "sRefreshToken";
/// The pre-2022 SDKs' session marker (CDI ≤ 2.20, path `/`). A browser still holding one is
/// asked to refresh, and the cookie is removed, so it moves to today's cookies.
pub const LEGACY_ID_REFRESH_TOKEN_COOKIE: &str = "sIdRefreshToken";
/// Header-mode access token (response).
pub const ACCESS_TOKEN_HEADER: &str = "st-access-token";
/// Header-mode refresh token (response).
pub const REFRESH_TOKEN_HEADER: &str = "st-refresh-token";
/// The frontend's view of the session (response); `remove` logs the frontend out.
pub const FRONT_TOKEN_HEADER: &str = "front-token";

/// Cross-origin frontends can read only the response headers they are told they may.
const EXPOSED: &str = "front-token, anti-csrf, st-access-token, st-refresh-token";

/// Where a request's tokens came from, and so where new ones go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `sAccessToken` / `sRefreshToken` HttpOnly cookies.
    Cookie,
    /// `Authorization: Bearer` in, `st-access-token` / `st-refresh-token` out.
    Header,
}

impl Transport {
    /// The transport for a new session: header mode only when the client asks for it, as the
    /// frontend SDK sends `st-auth-mode` on every request and cookies are its default.
    pub fn requested(headers: &impl RequestHeaders) -> Self {
        match headers.header(RequestHeader::AuthMode) {
            Some(b"header") => Self::Header,
            _ => Self::Cookie,
        }
    }
}

/// Which token stores a clear must empty: the request's transport when known, otherwise both,
/// so that a frontend in either mode forgets its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClearScope {
    Only(Transport),
    Both,
}

/// A token read from a request, with where it came from.
pub(crate) struct Presented {
    pub token: String,
    pub transport: Transport,
}

/// The request's token: the `Authorization: Bearer` one (header mode) or the named cookie. When
/// both are present the SDK's `st-auth-mode` decides, so that an app's own `Authorization` header
/// does not shadow a cookie session; without it the bearer token wins, as the SDK sends one only
/// in header mode.
pub(crate) fn read_token(headers: &impl RequestHeaders, cookie_name: &str) -> Option<Presented> {
    read_tokens(headers, cookie_name).presented
}

/// A request's token (as [`read_token`] chooses it) and whether the request still carries the
/// legacy `sIdRefreshToken` cookie, from one pass over its cookies.
pub(crate) struct RequestTokens {
    pub presented: Option<Presented>,
    pub legacy: bool,
}

pub(crate) fn read_tokens(headers: &impl RequestHeaders, cookie_name: &str) -> RequestTokens {
    let mut cookie = None;
    let mut legacy = false;
    for (name, value) in request_cookies(headers) {
        if value.is_empty() {
            continue;
        }
        if name == LEGACY_ID_REFRESH_TOKEN_COOKIE.as_bytes() {
            legacy = true;
        } else if cookie.is_none() && name == cookie_name.as_bytes() {
            // Only the value taken must be UTF-8: another app's cookie with non-ASCII bytes on
            // the same domain must not hide the session. Checked with SIMD: std's check of an
            // 800-byte token cost a tenth of a protected request.
            cookie = simdutf8::basic::from_utf8(value).ok();
        }
    }
    let from_cookie = |token: &str| Presented {
        token: token.to_owned(),
        transport: Transport::Cookie,
    };
    let from_bearer = |token: String| Presented {
        token,
        transport: Transport::Header,
    };
    // The header token wins unless the client asked for cookies; the `st-auth-mode` header
    // matters only when the request carries both, so only then is it looked up.
    let presented = match (bearer(headers), cookie) {
        (Some(bearer), Some(cookie)) => match headers.header(RequestHeader::AuthMode) {
            Some(b"cookie") => Some(from_cookie(cookie)),
            _ => Some(from_bearer(bearer)),
        },
        (Some(bearer), None) => Some(from_bearer(bearer)),
        (None, cookie) => cookie.map(from_cookie),
    };
    RequestTokens { presented, legacy }
}

fn bearer(headers: &impl RequestHeaders) -> Option<String> {
    let value = headers.header_str(RequestHeader::Authorization)?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The `name=value` pairs of the request's `Cookie` headers, names and values trimmed.
///
/// Scanned by hand rather than parsed with the `cookie` crate: every protected request reads
/// one cookie out of a header holding an 800-byte token, and parsing each pair into a `Cookie`,
/// after checking the whole header is text, cost more instructions than the cached verification
/// itself. The rules are the same: pairs split on `;` (found with SIMD), a pair without `=`
/// skipped, whitespace around names and values trimmed, no decoding.
fn request_cookies(headers: &impl RequestHeaders) -> impl Iterator<Item = (&[u8], &[u8])> {
    headers
        .header_values(RequestHeader::Cookie)
        .flat_map(cookie_pairs)
}

fn cookie_pairs(header: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = Some(header);
    std::iter::from_fn(move || loop {
        let current = rest?;
        let end = memchr::memchr(b';', current).unwrap_or(current.len());
        rest = current.get(end + 1..);
        let pair = &current[..end];
        if let Some(eq) = memchr::memchr(b'=', pair) {
            return Some((pair[..eq].trim_ascii(), pair[eq + 1..].trim_ascii()));
        }
    })
}

/// Whether the request still carries the legacy `sIdRefreshToken` cookie.
pub(crate) fn has_legacy_cookie(headers: &impl RequestHeaders) -> bool {
    request_cookies(headers)
        .any(|(name, value)| name == LEGACY_ID_REFRESH_TOKEN_COOKIE.as_bytes() && !value.is_empty())
}

/// Removes the legacy `sIdRefreshToken` cookie (it lived on path `/`): the host-only one and,
/// with a cookie domain configured, the one on that domain, since old backends set either.
pub(crate) fn clear_legacy_cookie(config: &SessionLayerConfig) -> SessionHeaders {
    let mut headers = HeaderMap::new();
    let removal = |domain: Option<&str>| {
        let mut cookie = Cookie::build((LEGACY_ID_REFRESH_TOKEN_COOKIE, ""))
            .path("/")
            .http_only(true)
            .expires(Expiration::DateTime(OffsetDateTime::UNIX_EPOCH));
        if let Some(domain) = domain {
            cookie = cookie.domain(domain.to_owned());
        }
        HeaderValue::from_str(&cookie.build().to_string()).ok()
    };
    for domain in std::iter::once(None).chain(config.cookie_domain().map(Some)) {
        if let Some(value) = removal(domain) {
            headers.append(SET_COOKIE, value);
        }
    }
    SessionHeaders(headers)
}

/// Response headers that hand tokens to the client or take them away. Each adapter adds them to
/// its framework's response; Set-Cookie values are appended, never replacing the app's own.
#[derive(Debug, Clone, Default)]
#[must_use = "the tokens reach the client only if these headers are part of the response"]
pub struct SessionHeaders(HeaderMap);

impl SessionHeaders {
    /// The headers themselves.
    pub fn headers(&self) -> &HeaderMap {
        &self.0
    }

    /// Takes the headers out.
    pub fn into_headers(self) -> HeaderMap {
        self.0
    }

    pub(crate) fn from_headers(headers: HeaderMap) -> Self {
        Self(headers)
    }

    pub(crate) fn insert_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.0.insert(name, value);
    }

    /// Adds `other`'s headers (Set-Cookie lines accumulate; a later single value wins).
    pub fn extend(&mut self, other: SessionHeaders) {
        let mut last = None;
        for (name, value) in other.0 {
            let Some(name) = name.or(last.take()) else {
                continue;
            };
            if name == SET_COOKIE {
                self.0.append(name.clone(), value);
            } else {
                self.0.insert(name.clone(), value);
            }
            last = Some(name);
        }
    }
}

/// What [`token_headers`] writes.
pub(crate) struct NewTokens<'a> {
    pub user_id: &'a str,
    pub access_token: &'a Issued<AccessToken>,
    /// `None` when only the access token changed (payload update).
    pub refresh_token: Option<&'a Issued<RefreshToken>>,
    pub anti_csrf: Option<&'a AntiCsrfToken>,
}

impl<'a> From<&'a tessera_core::SessionTokens> for NewTokens<'a> {
    /// Both tokens of a new or refreshed session.
    fn from(tokens: &'a tessera_core::SessionTokens) -> Self {
        Self {
            user_id: &tokens.session.user_id,
            access_token: &tokens.access_token,
            refresh_token: Some(&tokens.refresh_token),
            anti_csrf: tokens.anti_csrf_token.as_ref(),
        }
    }
}

/// With device binding, an access-token cookie expires with its token or the bound lifetime,
/// whichever comes first: its expiry is what makes the browser renew it through its key. Every
/// access-token cookie then expires so (a sign-in's, a refresh's, one re-minted on first use or
/// for a new payload): one that outlived its token would reach the server expired, and the SDK's
/// refresh that follows, without a proof, would be taken for a copy's.
pub(crate) fn bound_cookie_expiry(
    config: &SessionLayerConfig,
    token_expiry: tessera_core::Timestamp,
) -> Result<OffsetDateTime, Fault> {
    let lifetime = config
        .device_binding()
        .map(|binding| binding.cookie_lifetime())
        .unwrap_or_default();
    let lifetime = CookieDuration::try_from(lifetime)
        .map_err(|_| Fault("bound cookie lifetime out of range"))?;
    Ok((OffsetDateTime::now_utc() + lifetime).min(at_time(token_expiry)?))
}

/// node keeps the access-token cookie for a year and lets the JWT's own `exp` decide validity, so
/// an expired token still reaches the server and earns a "try refresh" instead of "unauthorised".
const ACCESS_COOKIE_LIFETIME: CookieDuration = CookieDuration::days(365);

pub(crate) fn token_headers(
    config: &SessionLayerConfig,
    transport: Transport,
    tokens: &NewTokens<'_>,
) -> Result<SessionHeaders, Fault> {
    let mut headers = HeaderMap::new();
    let access = tokens.access_token;
    match transport {
        Transport::Cookie => {
            let expires = match config.device_binding() {
                Some(_) => bound_cookie_expiry(config, access.expiry)?,
                None => at_time(access.created_at)?
                    .checked_add(ACCESS_COOKIE_LIFETIME)
                    .ok_or(Fault("access token creation time out of range"))?,
            };
            let cookie = session_cookie(
                config,
                ACCESS_TOKEN_COOKIE,
                access.token.expose(),
                "/",
                expires,
            );
            headers.append(SET_COOKIE, value(&cookie.to_string())?);
            if let Some(refresh) = tokens.refresh_token {
                let cookie = session_cookie(
                    config,
                    REFRESH_TOKEN_COOKIE,
                    refresh.token.expose(),
                    &config.refresh_path(),
                    at_time(refresh.expiry)?,
                );
                headers.append(SET_COOKIE, value(&cookie.to_string())?);
            }
        }
        Transport::Header => {
            headers.insert(
                HeaderName::from_static(ACCESS_TOKEN_HEADER),
                value(access.token.expose())?,
            );
            if let Some(refresh) = tokens.refresh_token {
                headers.insert(
                    HeaderName::from_static(REFRESH_TOKEN_HEADER),
                    value(refresh.token.expose())?,
                );
            }
        }
    }
    let front = front_token::build(tokens.user_id, &access.token, access.expiry)?;
    headers.insert(HeaderName::from_static(FRONT_TOKEN_HEADER), value(&front)?);
    if config.anti_csrf() == AntiCsrfMode::ViaToken {
        if let Some(anti_csrf) = tokens.anti_csrf {
            headers.insert(
                HeaderName::from_static(ANTI_CSRF_HEADER),
                value(anti_csrf.expose())?,
            );
        }
    }
    expose(&mut headers);
    Ok(SessionHeaders(headers))
}

/// The headers that make the frontend drop its session: empty cookies expired in 1970 with the
/// same Path and flags (a cookie is only replaced by one with the same name, domain and path),
/// empty header-mode tokens, and `front-token: remove`.
pub(crate) fn clear_headers(config: &SessionLayerConfig, scope: ClearScope) -> SessionHeaders {
    let mut headers = HeaderMap::new();
    if matches!(
        scope,
        ClearScope::Only(Transport::Cookie) | ClearScope::Both
    ) {
        let refresh_path = config.refresh_path();
        for (name, path) in [
            (ACCESS_TOKEN_COOKIE, "/"),
            (REFRESH_TOKEN_COOKIE, refresh_path.as_str()),
        ] {
            let cookie = session_cookie(config, name, "", path, OffsetDateTime::UNIX_EPOCH);
            if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
                headers.append(SET_COOKIE, v);
            }
        }
    }
    if matches!(
        scope,
        ClearScope::Only(Transport::Header) | ClearScope::Both
    ) {
        headers.insert(
            HeaderName::from_static(ACCESS_TOKEN_HEADER),
            HeaderValue::from_static(""),
        );
        headers.insert(
            HeaderName::from_static(REFRESH_TOKEN_HEADER),
            HeaderValue::from_static(""),
        );
    }
    headers.insert(
        HeaderName::from_static(FRONT_TOKEN_HEADER),
        HeaderValue::from_static("remove"),
    );
    expose(&mut headers);
    SessionHeaders(headers)
}

fn expose(headers: &mut HeaderMap) {
    headers.insert(
        http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
}

pub(crate) fn session_cookie<'a>(
    config: &SessionLayerConfig,
    name: &'a str,
    value: &'a str,
    path: &str,
    expires: OffsetDateTime,
) -> Cookie<'a> {
    let same_site = match config.same_site() {
        SameSite::Lax => cookie::SameSite::Lax,
        SameSite::Strict => cookie::SameSite::Strict,
        SameSite::None => cookie::SameSite::None,
    };
    let mut builder = Cookie::build((name, value))
        .path(path.to_owned())
        .http_only(true)
        .same_site(same_site)
        .secure(config.cookie_secure())
        .expires(Expiration::DateTime(expires));
    if let Some(domain) = config.cookie_domain() {
        builder = builder.domain(domain.to_owned());
    }
    builder.build()
}

/// A cookie's expiry, to the second.
pub(crate) fn at_time(at: tessera_core::Timestamp) -> Result<OffsetDateTime, Fault> {
    OffsetDateTime::from_unix_timestamp(at.as_secs())
        .map_err(|_| Fault("token expiry out of range"))
}

pub(crate) fn value(s: &str) -> Result<HeaderValue, Fault> {
    HeaderValue::from_str(s).map_err(|_| Fault("token is not a valid header value"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::AUTH_MODE_HEADER;
    use http::header::{AUTHORIZATION, COOKIE};

    #[test]
    fn reads_bearer_before_cookie() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("a=1; sAccessToken=c"));
        let p = read_token(&h, ACCESS_TOKEN_COOKIE).map(|p| (p.token, p.transport));
        assert_eq!(p, Some(("c".to_owned(), Transport::Cookie)));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        let p = read_token(&h, ACCESS_TOKEN_COOKIE).map(|p| (p.token, p.transport));
        assert_eq!(p, Some(("b".to_owned(), Transport::Header)));
        h.insert(AUTH_MODE_HEADER, HeaderValue::from_static("cookie"));
        let p = read_token(&h, ACCESS_TOKEN_COOKIE).map(|p| (p.token, p.transport));
        assert_eq!(p, Some(("c".to_owned(), Transport::Cookie)));
        h.remove(COOKIE);
        let p = read_token(&h, ACCESS_TOKEN_COOKIE).map(|p| (p.token, p.transport));
        assert_eq!(p, Some(("b".to_owned(), Transport::Header)));
    }

    fn cookie(headers: &[&[u8]], name: &str) -> Option<String> {
        let mut h = HeaderMap::new();
        for header in headers {
            h.append(COOKIE, HeaderValue::from_bytes(header).unwrap());
        }
        read_token(&h, name).map(|presented| presented.token)
    }

    #[test]
    fn cookies_are_read_as_the_cookie_crate_splits_them() {
        let both = |header: &str, name: &str| {
            let ours = cookie(&[header.as_bytes()], name);
            let theirs = Cookie::split_parse(header)
                .filter_map(Result::ok)
                .find(|c| c.name() == name && !c.value().is_empty())
                .map(|c| c.value().to_owned());
            assert_eq!(ours, theirs, "{header:?} {name}");
            ours
        };
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln-_";
        let header = format!("theme=dark; sAccessToken={token}; sFrontToken=x");
        assert_eq!(both(&header, "sAccessToken").as_deref(), Some(token));
        assert_eq!(both(&header, "theme").as_deref(), Some("dark"));
        assert_eq!(both(&header, "sFrontToken").as_deref(), Some("x"));
        for (header, name) in [
            ("  sAccessToken =  a.b.c  ;x=1", "sAccessToken"),
            ("sAccessToken=; sAccessToken=second", "sAccessToken"),
            ("xsAccessToken=no; sAccessTokenX=no", "sAccessToken"),
            ("novalue; sAccessToken=yes", "sAccessToken"),
            ("padded=YQ==; other=1", "padded"),
            ("a=1;;; ;b=2;", "b"),
            ("", "sAccessToken"),
            (";", "sAccessToken"),
            ("sAccessToken", "sAccessToken"),
            ("=x; sAccessToken=y", "sAccessToken"),
            ("sAccessToken=\"quoted\"", "sAccessToken"),
        ] {
            both(header, name);
        }
    }

    #[test]
    fn another_cookie_with_non_ascii_bytes_does_not_hide_the_session() {
        let header: &[u8] = b"name=Ren\xc3\xa9e; sAccessToken=a.b.c; raw=\xff";
        assert_eq!(cookie(&[header], "sAccessToken").as_deref(), Some("a.b.c"));
        assert_eq!(cookie(&[header], "raw"), None, "not UTF-8");
        assert_eq!(
            cookie(&[b"a=1", b"sAccessToken=t"], "sAccessToken").as_deref(),
            Some("t")
        );
    }

    #[test]
    fn empty_cookie_is_no_token() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("sAccessToken="));
        assert!(read_token(&h, ACCESS_TOKEN_COOKIE).is_none());
    }
}
