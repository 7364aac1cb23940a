//! Device-bound sessions over HTTP: the browser side of W3C Device Bound Session Credentials
//! (DBSC) as Chromium speaks it, over the back end's device binding.
//!
//! - Sign-in offers registration: `Secure-Session-Registration: (ES256 RS256);path=…;challenge=…`.
//! - `POST {refresh}/device/register` (the browser, with `Secure-Session-Response: <proof>`):
//!   binds the session to the key, re-sets the access-token cookie with the bound lifetime and
//!   answers the session's DBSC configuration: the access-token cookie is the bound credential,
//!   `{refresh}/device` renews it.
//! - `POST {refresh}/device` (the browser, with `Sec-Secure-Session-Id`): without a proof, 403 and
//!   a challenge for the refresh token it carries; with one, a rotation of both tokens. A session
//!   that is gone, revoked or stolen answers `"continue": false`, which ends it in the browser.
//!
//! Both paths sit under the refresh path, so the refresh-token cookie authenticates them as it
//! does the SDK's own refresh. The frontend SDK does not see these requests, so their answers also
//! set its `sFrontToken` cookie to the new access token's front token.

use cookie::time::OffsetDateTime;
use cookie::{Cookie, Expiration};
use http::header::{ACCESS_CONTROL_EXPOSE_HEADERS, CACHE_CONTROL, RETRY_AFTER, SET_COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{json, Value};
use tessera_core::{
    AccessToken, DeviceError, Issued, RefreshOptions, RefreshToken, SessionError, SessionTokens,
    VerifyOptions,
};

use crate::config::{SameSite, SessionLayerConfig};
use crate::error::Error;
use crate::fault::Fault;
use crate::front_token;
use crate::reply::{self, Reply};
use crate::request::{RequestHeader, RequestHeaders};
use crate::state::Tessera;
use crate::transport::{
    bound_cookie_expiry, clear_headers, read_token, session_cookie, token_headers, value,
    ClearScope, NewTokens, SessionHeaders, Transport, ACCESS_TOKEN_COOKIE, REFRESH_TOKEN_COOKIE,
};

/// Response header that offers registration.
pub const REGISTRATION_HEADER: &str = "secure-session-registration";
/// Response header carrying a challenge for the next proof.
pub const CHALLENGE_HEADER: &str = "secure-session-challenge";
/// The frontend SDK's cookie holding the front token.
const FRONT_TOKEN_COOKIE: &str = "sFrontToken";

/// The registration header for a session just created, with its first refresh token.
pub(crate) async fn registration_offer(
    tessera: &Tessera,
    session_handle: &str,
    refresh_token: &RefreshToken,
) -> Result<HeaderValue, SessionError> {
    let challenge = tessera
        .backend()
        .device_challenge_for(session_handle, refresh_token)
        .await?;
    let offer = format!(
        "(ES256 RS256);path=\"{}\";challenge=\"{challenge}\"",
        tessera.config().device_registration_path(),
    );
    HeaderValue::from_str(&offer)
        .map_err(|_| tessera_core::GeneralError::Key("challenge is not a header value").into())
}

/// `POST {refresh}/device/register`.
pub async fn register(tessera: &Tessera, headers: &impl RequestHeaders) -> Reply {
    let config = tessera.config();
    let Some(refresh_token) = refresh_cookie(headers) else {
        return refusal(StatusCode::UNAUTHORIZED, "no refresh token");
    };
    let Some(proof) = proof(headers) else {
        return refusal(StatusCode::BAD_REQUEST, "no Secure-Session-Response proof");
    };
    let binding = match tessera.backend().bind_device(&refresh_token, &proof).await {
        Ok(binding) => binding,
        Err(DeviceError::Session(SessionError::General(error))) => {
            tracing::error!(%error, "device registration failed");
            return refusal(StatusCode::INTERNAL_SERVER_ERROR, "session store failed");
        }
        Err(error) => {
            tracing::info!(%error, "device registration refused");
            return refusal(StatusCode::BAD_REQUEST, "device registration refused");
        }
    };
    let mut response_headers = HeaderMap::new();
    // The access token of the sign-in becomes the bound credential: the same token, with the
    // bound cookie's lifetime.
    if let Some(access) = access_cookie(headers) {
        let verified = tessera
            .backend()
            .get_session(&access, None, VerifyOptions::default())
            .await;
        if let Ok(mut verified) = verified {
            let (token, expiry) = match verified.new_access_token.take() {
                Some(reissued) => (reissued.token, reissued.expiry),
                None => (access, verified.access_token_expiry),
            };
            if let Err(kind) =
                set_bound_cookie(&mut response_headers, config, token.expose(), expiry)
            {
                return Error::new(kind, config).reply();
            }
        }
    }
    add_challenge(
        tessera,
        &mut response_headers,
        &refresh_token,
        &binding.session_handle,
    )
    .await;
    answer(
        response_headers,
        session_config(config, &binding.session_handle),
    )
}

/// `POST {refresh}/device`.
pub async fn refresh(tessera: &Tessera, headers: &impl RequestHeaders) -> Reply {
    let config = tessera.config();
    let Some(session_id) = unquoted(headers, RequestHeader::SecureSessionId) else {
        return refusal(StatusCode::BAD_REQUEST, "no Sec-Secure-Session-Id");
    };
    let Some(refresh_token) = refresh_cookie(headers) else {
        return end(&session_id, None);
    };
    let Some(proof) = proof(headers) else {
        return challenge(tessera, &refresh_token, &session_id).await;
    };
    match tessera
        .backend()
        .refresh_bound_session(&refresh_token, &proof, RefreshOptions::default())
        .await
    {
        Ok(tokens) => renewed(tessera, tokens).await,
        Err(DeviceError::Challenge(_)) => challenge(tessera, &refresh_token, &session_id).await,
        Err(DeviceError::Session(SessionError::General(error))) => {
            // A transient fault: the browser keeps its session and tries again later.
            tracing::error!(%error, "device refresh failed");
            refusal(StatusCode::INTERNAL_SERVER_ERROR, "session store failed")
        }
        Err(DeviceError::Session(SessionError::TokenTheftDetected { session_handle, .. })) => {
            tracing::info!(%session_handle, "device refresh found token theft");
            end(&session_id, Some(config))
        }
        Err(error) => {
            tracing::info!(%error, "device refresh refused");
            end(&session_id, Some(config))
        }
    }
}

/// 403 with a challenge for the refresh token presented, when it belongs to the bound session
/// the browser names; `"continue": false` for any other.
async fn challenge(tessera: &Tessera, refresh_token: &RefreshToken, session_id: &str) -> Reply {
    match tessera.backend().device_challenge(refresh_token).await {
        Ok(challenge) if challenge.bound && challenge.session_handle == session_id => {
            let mut headers = HeaderMap::new();
            if let Ok(header) = challenge_header(&challenge.challenge, session_id) {
                headers.insert(HeaderName::from_static(CHALLENGE_HEADER), header);
            }
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            reply::empty(StatusCode::FORBIDDEN, headers)
        }
        // The cookie jar holds another session now (signed out and in again): the browser's
        // bound session is over, the cookies are not.
        Ok(_) => end(session_id, None),
        Err(SessionError::General(error)) => {
            tracing::error!(%error, "device challenge failed");
            refusal(StatusCode::INTERNAL_SERVER_ERROR, "session store failed")
        }
        Err(_) => end(session_id, Some(tessera.config())),
    }
}

/// The answer to a proven refresh: every token cookie, the bound one with its lifetime, the SDK's
/// front token, the next challenge, and the session's configuration again.
async fn renewed(tessera: &Tessera, tokens: SessionTokens) -> Reply {
    let config = tessera.config();
    let mut headers = match token_headers(config, Transport::Cookie, &NewTokens::from(&tokens)) {
        Ok(headers) => headers.into_headers(),
        Err(kind) => return Error::new(kind, config).reply(),
    };
    // token_headers wrote the access-token cookie with the bound lifetime (binding is on).
    let access = &tokens.access_token;
    if let Err(fault) = set_front_token_cookie(&mut headers, &tokens.session.user_id, access) {
        return Error::new(fault, config).reply();
    }
    let handle = tokens.session.handle.clone();
    add_challenge(tessera, &mut headers, &tokens.refresh_token.token, &handle).await;
    answer(headers, session_config(config, &handle))
}

/// Answers a plain refresh (the frontend SDK's, without a proof) of a bound session that comes
/// with the session's valid access token: nothing is renewed, and the SDK gets the front token
/// of the token it holds. That is the device itself, whose SDK refreshed while the browser had
/// just renewed the cookie through DBSC; a copy of the cookie jar holds a valid access token
/// only until it expires, and gains nothing here. `None` for every other request, which the
/// usual refresh then handles (a bound session's refresh token without a proof is theft).
pub(crate) async fn refresh_without_renewal(
    tessera: &Tessera,
    headers: &impl RequestHeaders,
) -> Option<SessionHeaders> {
    let config = tessera.config();
    config.device_binding()?;
    let access = access_cookie(headers)?;
    let backend = tessera.backend();
    let mut verified = backend
        .get_session(&access, None, VerifyOptions::default())
        .await
        .ok()?;
    backend.device_thumbprint(&verified.handle).await.ok()??;
    let mut response = HeaderMap::new();
    // A token minted by a device refresh and not yet used comes back re-minted by this first
    // use (as on any protected route); the browser gets it as the bound cookie.
    let (token, expiry) = match verified.new_access_token.take() {
        Some(reissued) => {
            set_bound_cookie(
                &mut response,
                config,
                reissued.token.expose(),
                reissued.expiry,
            )
            .ok()?;
            (reissued.token, reissued.expiry)
        }
        None => (access, verified.access_token_expiry),
    };
    let front = front_token::build(&verified.user_id, &token, expiry).ok()?;
    response.insert(
        HeaderName::from_static(crate::transport::FRONT_TOKEN_HEADER),
        value(&front).ok()?,
    );
    response.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("front-token"),
    );
    Some(SessionHeaders::from_headers(response))
}

/// Answers the SDK's refresh of a bound session that the browser says it could not renew
/// (`Secure-Session-Skipped`): 503, to try again later, with nothing renewed and no theft
/// reported. The browser still holds the key; the next renewal it manages goes through. A copy
/// of the jar elsewhere gains nothing by sending the header: it is not renewed either. `None`
/// for every other request.
pub(crate) async fn skipped_renewal(
    tessera: &Tessera,
    headers: &impl RequestHeaders,
) -> Option<Reply> {
    tessera.config().device_binding()?;
    headers.header(RequestHeader::SecureSessionSkipped)?;
    let refresh_token = refresh_cookie(headers)?;
    let challenge = tessera
        .backend()
        .device_challenge(&refresh_token)
        .await
        .ok()?;
    if !challenge.bound {
        return None;
    }
    tracing::info!(
        session_handle = %challenge.session_handle,
        "refresh of a bound session the browser could not renew: try again later"
    );
    let mut response = refusal(
        StatusCode::SERVICE_UNAVAILABLE,
        "the browser could not renew its device-bound session; try again later",
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("5"));
    Some(response)
}

/// `{"session_identifier": …, "continue": false}`: the browser ends its bound session. With
/// `clear`, the session's cookies go too (it was revoked or stolen).
fn end(session_id: &str, clear: Option<&SessionLayerConfig>) -> Reply {
    let mut headers = match clear {
        Some(config) => clear_headers(config, ClearScope::Only(Transport::Cookie)).into_headers(),
        None => HeaderMap::new(),
    };
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    reply::json(
        StatusCode::OK,
        headers,
        &json!({"session_identifier": session_id, "continue": false}),
    )
}

fn answer(mut headers: HeaderMap, body: Value) -> Reply {
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    reply::json(StatusCode::OK, headers, &body)
}

fn refusal(status: StatusCode, message: &'static str) -> Reply {
    reply::json(status, HeaderMap::new(), &json!({"message": message}))
}

/// The session's DBSC configuration: the access-token cookie is the bound credential, renewed
/// at the device-refresh path, for every path of this origin.
fn session_config(config: &SessionLayerConfig, session_handle: &str) -> Value {
    json!({
        "session_identifier": session_handle,
        "refresh_url": config.device_refresh_path(),
        "scope": {"include_site": false},
        "credentials": [{
            "type": "cookie",
            "name": ACCESS_TOKEN_COOKIE,
            "attributes": bound_cookie_attributes(config),
        }],
    })
}

/// The attributes of the bound cookie as the browser must find them (name, domain, path,
/// flags; not the expiry).
fn bound_cookie_attributes(config: &SessionLayerConfig) -> String {
    let mut attributes = vec!["Path=/".to_owned()];
    if let Some(domain) = config.cookie_domain() {
        attributes.push(format!("Domain={domain}"));
    }
    if config.cookie_secure() {
        attributes.push("Secure".to_owned());
    }
    attributes.push("HttpOnly".to_owned());
    attributes.push(
        match config.same_site() {
            SameSite::Lax => "SameSite=Lax",
            SameSite::Strict => "SameSite=Strict",
            SameSite::None => "SameSite=None",
        }
        .to_owned(),
    );
    attributes.join("; ")
}

/// The access-token cookie with the bound lifetime ([`bound_cookie_expiry`]).
fn set_bound_cookie(
    headers: &mut HeaderMap,
    config: &SessionLayerConfig,
    token: &str,
    token_expiry: tessera_core::Timestamp,
) -> Result<(), Fault> {
    let expires = bound_cookie_expiry(config, token_expiry)?;
    let cookie = session_cookie(config, ACCESS_TOKEN_COOKIE, token, "/", expires);
    headers.append(SET_COOKIE, value(&cookie.to_string())?);
    Ok(())
}

/// The frontend SDK's `sFrontToken` cookie, as its own script writes it (host-only, `Path=/`,
/// `SameSite=Lax`, readable by the page, never expiring), so that it sees the renewed token.
fn set_front_token_cookie(
    headers: &mut HeaderMap,
    user_id: &str,
    access: &Issued<AccessToken>,
) -> Result<(), Fault> {
    let front = front_token::build(user_id, &access.token, access.expiry)?;
    let cookie = Cookie::build((FRONT_TOKEN_COOKIE, front))
        .path("/")
        .same_site(cookie::SameSite::Lax)
        .expires(Expiration::DateTime(
            OffsetDateTime::from_unix_timestamp(253_402_300_799)
                .map_err(|_| Fault("far-future date out of range"))?,
        ))
        .build();
    headers.append(SET_COOKIE, value(&cookie.to_string())?);
    Ok(())
}

/// A challenge for the next renewal, so the browser's next refresh needs no 403 first. Best
/// effort: without it the browser asks for one.
async fn add_challenge(
    tessera: &Tessera,
    headers: &mut HeaderMap,
    refresh_token: &RefreshToken,
    session_handle: &str,
) {
    let challenge = tessera
        .backend()
        .device_challenge_for(session_handle, refresh_token)
        .await;
    if let Ok(challenge) = challenge {
        if let Ok(header) = challenge_header(&challenge, session_handle) {
            headers.insert(HeaderName::from_static(CHALLENGE_HEADER), header);
        }
    }
}

fn challenge_header(challenge: &str, session_id: &str) -> Result<HeaderValue, Fault> {
    value(&format!("\"{challenge}\";id=\"{session_id}\""))
}

fn refresh_cookie(headers: &impl RequestHeaders) -> Option<RefreshToken> {
    read_token(headers, REFRESH_TOKEN_COOKIE)
        .filter(|presented| presented.transport == Transport::Cookie)
        .map(|presented| RefreshToken::new(presented.token))
}

fn access_cookie(headers: &impl RequestHeaders) -> Option<AccessToken> {
    read_token(headers, ACCESS_TOKEN_COOKIE)
        .filter(|presented| presented.transport == Transport::Cookie)
        .map(|presented| AccessToken::new(presented.token))
}

/// The proof, as Chromium sends it (raw) or as the draft writes it (a quoted string).
fn proof(headers: &impl RequestHeaders) -> Option<String> {
    unquoted(headers, RequestHeader::SecureSessionResponse)
}

fn unquoted(headers: &impl RequestHeaders, name: RequestHeader) -> Option<String> {
    let text = headers.header_str(name)?.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(text);
    (!text.is_empty()).then(|| text.to_owned())
}
