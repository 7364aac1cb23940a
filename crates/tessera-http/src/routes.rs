//! The two routes the frontend SDK calls by itself, `POST {base}/session/refresh` and
//! `POST {base}/signout`, and the device-binding routes, as whole answers each framework's
//! adapter mounts at the paths the configuration names.

use http::StatusCode;
use serde_json::json;
use tessera_core::{AntiCsrfToken, RefreshOptions, RefreshToken};

use crate::config::AntiCsrfMode;
use crate::error::{Error, ErrorKind};
use crate::reissue::{merge_reissued, ReissueSlot};
use crate::reply::{self, Reply};
use crate::request::{RequestHeader, RequestHeaders};
use crate::state::Tessera;
use crate::transport::{
    clear_legacy_cookie, has_legacy_cookie, read_token, token_headers, ClearScope, NewTokens,
    SessionHeaders, Transport, REFRESH_TOKEN_COOKIE,
};
use crate::verify::{RequestView, Session};

impl Tessera {
    /// `POST {base}/session/refresh`: rotates the refresh token. Every failure answers the
    /// session-expired status, which the SDK reads as "logged out"; a 5xx would make it probe
    /// again before every request.
    pub async fn refresh(&self, headers: &impl RequestHeaders) -> Reply {
        refresh(self, headers).await
    }

    /// `POST {base}/signout`: revokes the request's session. An expired access token earns "try
    /// refresh" first (the SDK refreshes and retries), so sign-out always revokes the session the
    /// client actually holds.
    pub async fn sign_out(&self, headers: &impl RequestHeaders) -> Reply {
        // Verification may leave headers for the response (a leftover legacy cookie's removal).
        let slot = ReissueSlot::default();
        let request = RequestView {
            is_get: false,
            headers,
            reissue: Some(&slot),
        };
        let mut answer = match self.verify_request(request).await {
            Ok(Some(session)) => signout(session).await.unwrap_or_else(|e| e.reply()),
            Ok(None) => self.no_access_token().reply(),
            Err(e) => e.reply(),
        };
        if let Some(left) = slot.take() {
            merge_reissued(answer.headers_mut(), &left);
        }
        answer
    }

    /// `POST {refresh}/device/register`: binds the session to the browser's key.
    pub async fn register_device(&self, headers: &impl RequestHeaders) -> Reply {
        crate::device::register(self, headers).await
    }

    /// `POST {refresh}/device`: the browser's renewal of its bound session.
    pub async fn refresh_device(&self, headers: &impl RequestHeaders) -> Reply {
        crate::device::refresh(self, headers).await
    }
}

/// Rotates the refresh token. Every failure answers 401, which the SDK reads as "logged out";
/// a 5xx would make it probe again before every request.
async fn refresh(tessera: &Tessera, headers: &impl RequestHeaders) -> Reply {
    // Whatever the outcome, a leftover pre-2022 marker cookie goes.
    let legacy = has_legacy_cookie(headers).then(|| clear_legacy_cookie(tessera.config()));
    if let Some(later) = crate::device::skipped_renewal(tessera, headers).await {
        return later;
    }
    match rotate(tessera, headers).await {
        Ok(mut new_tokens) => {
            if let Some(clear) = legacy {
                new_tokens.extend(clear);
            }
            reply::json(StatusCode::OK, new_tokens.into_headers(), &json!({}))
        }
        Err(mut e) => {
            if e.clears_tokens() {
                if let Some(why) = crate::signed_out::why_signed_out(tessera, headers).await {
                    e = e.with_headers(why);
                }
            }
            match legacy {
                Some(clear) => e.with_headers(clear).reply(),
                None => e.reply(),
            }
        }
    }
}

async fn rotate(tessera: &Tessera, headers: &impl RequestHeaders) -> Result<SessionHeaders, Error> {
    let config = tessera.config();
    let Some(presented) = read_token(headers, REFRESH_TOKEN_COOKIE) else {
        // Includes a fresh browser's first probe: the SDK must learn there is no session, in
        // whichever mode it runs.
        return Err(Error::clearing(
            ErrorKind::Unauthorised("no refresh token"),
            config,
            ClearScope::Both,
        ));
    };
    let transport = presented.transport;
    let cookie_mode = transport == Transport::Cookie;
    if cookie_mode {
        if let Some(unchanged) = crate::device::refresh_without_renewal(tessera, headers).await {
            return Ok(unchanged);
        }
    }
    let mode = config.anti_csrf();
    if cookie_mode
        && mode == AntiCsrfMode::ViaCustomHeader
        && headers.header(RequestHeader::Rid).is_none()
    {
        // A forged cross-site request must not be able to log the user out: keep the tokens.
        return Err(Error::new(
            ErrorKind::Unauthorised("missing rid header"),
            config,
        ));
    }
    let anti_csrf = headers
        .header_str(RequestHeader::AntiCsrf)
        .map(AntiCsrfToken::new);
    let options = RefreshOptions {
        check_anti_csrf: cookie_mode && mode == AntiCsrfMode::ViaToken,
        ..RefreshOptions::default()
    };
    let tokens = tessera
        .backend()
        .refresh_session_with(
            &RefreshToken::new(presented.token),
            anti_csrf.as_ref(),
            options,
        )
        .await
        .map_err(|e| match e {
            // The refresh route has no "try again": anything but success is a lost session.
            tessera_core::SessionError::TryRefreshToken { reason } => Error::clearing(
                ErrorKind::Unauthorised(reason),
                config,
                ClearScope::Only(transport),
            ),
            other => Error::from_engine(other, config, ClearScope::Only(transport)),
        })?;
    token_headers(config, transport, &NewTokens::from(&tokens))
        .map_err(|kind| Error::new(kind, config))
}

async fn signout(session: Session) -> Result<Reply, Error> {
    let clear = session.revoke().await?;
    Ok(reply::json(
        StatusCode::OK,
        clear.into_headers(),
        &json!({"status": "OK"}),
    ))
}
