//! Telling a user why they were signed out. When a refresh signs a browser out because its
//! session is gone, and the access token it still holds (checked for its signature, not its
//! expiry) names a session ended by a detected theft, the answer also sets a short-lived cookie
//! the page can read, `sSessionEnded=theft`: the app can then say "your session ended because
//! another copy of it was used" instead of a bare sign-in form. The cookie carries no secret,
//! only that cause.

use cookie::time::{Duration, OffsetDateTime};
use cookie::{Cookie, Expiration};
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue};
use tessera_core::AccessToken;

use crate::request::RequestHeaders;
use crate::state::Tessera;
use crate::transport::{read_token, SessionHeaders, Transport, ACCESS_TOKEN_COOKIE};

/// The cookie that says why the session ended.
pub const SESSION_ENDED_COOKIE: &str = "sSessionEnded";
/// Its value when a theft ended the session.
pub const ENDED_BY_THEFT: &str = "theft";
/// How long the page has to read it.
const SAYS_WHY_FOR: Duration = Duration::minutes(10);

/// The cookie saying why, if the request's access-token cookie names a session ended by theft.
/// Best effort: a back end that cannot answer only leaves the reason unsaid.
pub(crate) async fn why_signed_out(
    tessera: &Tessera,
    headers: &impl RequestHeaders,
) -> Option<SessionHeaders> {
    let presented = read_token(headers, ACCESS_TOKEN_COOKIE)?;
    if presented.transport != Transport::Cookie {
        return None;
    }
    let ended = tessera
        .backend()
        .ended_by_theft(&AccessToken::new(presented.token))
        .await;
    match ended {
        Ok(true) => {}
        Ok(false) => return None,
        Err(error) => {
            tracing::debug!(%error, "cannot tell whether the session ended by theft");
            return None;
        }
    }
    let config = tessera.config();
    let mut cookie = Cookie::build((SESSION_ENDED_COOKIE, ENDED_BY_THEFT))
        .path("/")
        .http_only(false)
        .same_site(cookie::SameSite::Lax)
        .secure(config.cookie_secure())
        .expires(Expiration::DateTime(
            OffsetDateTime::now_utc() + SAYS_WHY_FOR,
        ));
    if let Some(domain) = config.cookie_domain() {
        cookie = cookie.domain(domain.to_owned());
    }
    let value = HeaderValue::from_str(&cookie.build().to_string()).ok()?;
    let mut headers = HeaderMap::new();
    headers.append(SET_COOKIE, value);
    Some(SessionHeaders::from_headers(headers))
}
