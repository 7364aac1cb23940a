//! The two routes the frontend SDK calls by itself: `POST {base}/session/refresh` and
//! `POST {base}/signout`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use tessera_core::{AntiCsrfToken, RefreshOptions, RefreshToken};

use crate::config::AntiCsrfMode;
use crate::error::{Error, ErrorKind};
use crate::extractor::Session;
use crate::state::Tessera;
use crate::transport::{
    clear_legacy_cookie, has_legacy_cookie, header_str, read_token, token_headers, ClearScope,
    NewTokens, SessionHeaders, Transport, ANTI_CSRF, REFRESH_TOKEN_COOKIE, RID,
};

impl Tessera {
    /// The refresh and signout routes under the configured base path, ready to `merge` into the
    /// app's router whatever its state type.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let config = self.config();
        let mut router = Router::new()
            .route(&config.refresh_path(), post(refresh))
            .route(&config.signout_path(), post(signout));
        if config.device_binding().is_some() {
            router = router
                .route(
                    &config.device_registration_path(),
                    post(crate::device::register),
                )
                .route(&config.device_refresh_path(), post(crate::device::refresh));
        }
        router.with_state(self.clone())
    }

    /// Finishes an app in one call: adds the refresh and sign-out routes ([`router`](Self::router)),
    /// the [`TokenReissueLayer`](crate::TokenReissueLayer) that delivers access tokens re-minted
    /// during verification, and this state. With it none of the three can be forgotten:
    /// `axum::serve(listener, tessera.install(app))`.
    pub fn install(self, app: Router<Tessera>) -> Router {
        app.merge(self.router())
            .layer(crate::TokenReissueLayer)
            .with_state(self)
    }
}

/// Rotates the refresh token. Every failure answers 401, which the SDK reads as "logged out";
/// a 5xx would make it probe again before every request.
async fn refresh(State(tessera): State<Tessera>, headers: HeaderMap) -> Response {
    // Whatever the outcome, a leftover pre-2022 marker cookie goes.
    let legacy = has_legacy_cookie(&headers).then(|| clear_legacy_cookie(tessera.config()));
    if let Some(later) = crate::device::skipped_renewal(&tessera, &headers).await {
        return later;
    }
    match rotate(&tessera, &headers).await {
        Ok(new_tokens) => (new_tokens, legacy, Json(json!({}))).into_response(),
        Err(mut e) => {
            if e.clears_tokens() {
                if let Some(why) = crate::signed_out::why_signed_out(&tessera, &headers).await {
                    e = e.with_headers(why);
                }
            }
            match legacy {
                Some(clear) => e.with_headers(clear).into_response(),
                None => e.into_response(),
            }
        }
    }
}

async fn rotate(tessera: &Tessera, headers: &HeaderMap) -> Result<SessionHeaders, Error> {
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
    if cookie_mode && mode == AntiCsrfMode::ViaCustomHeader && headers.get(RID).is_none() {
        // A forged cross-site request must not be able to log the user out: keep the tokens.
        return Err(Error::new(
            ErrorKind::Unauthorised("missing rid header"),
            config,
        ));
    }
    let anti_csrf = header_str(headers, ANTI_CSRF).map(AntiCsrfToken::new);
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

/// Revokes the session. An expired access token earns "try refresh" first (the SDK refreshes and
/// retries), so signout always revokes the session the client actually holds.
async fn signout(session: Session) -> Result<impl IntoResponse, Error> {
    let clear = session.revoke().await?;
    Ok((clear, Json(json!({"status": "OK"}))))
}
