//! Delivering an access token minted during verification: the first verification of a refreshed
//! access token hands back one without `parentRefreshTokenHash1` (later verifications then stay
//! off the store), and with `check_database` a session whose claims changed on the server (a role
//! granted from an admin tool, say) gets a new access token on its next request. An extractor
//! cannot touch the response, so it leaves the token's headers in a slot this layer put in the
//! request, and the layer adds them to the response.

use axum::http::header::{ACCESS_CONTROL_EXPOSE_HEADERS, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

use crate::transport::{SessionHeaders, FRONT_TOKEN_HEADER};

/// Where the extractor leaves headers for the response.
#[derive(Clone, Default)]
pub(crate) struct ReissueSlot(Arc<Mutex<Option<SessionHeaders>>>);

impl ReissueSlot {
    /// Adds headers for the response (a re-minted token, a legacy cookie's removal).
    pub(crate) fn put(&self, headers: SessionHeaders) {
        if let Ok(mut slot) = self.0.lock() {
            match slot.as_mut() {
                Some(held) => held.extend(headers),
                None => *slot = Some(headers),
            }
        }
    }

    fn take(&self) -> Option<SessionHeaders> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// Adds to responses the access token that verification re-minted: after the first
/// verification of a refreshed token, or because the session's claims changed (with
/// [`check_database`](crate::SessionLayerConfig::with_check_database)). Apply it to the routes that
/// take a [`Session`](crate::Session): `router.layer(TokenReissueLayer)`. Without it those tokens
/// are dropped: every request with a refreshed token then goes to the store until the next
/// refresh, and the client sees changed claims only after its next refresh.
///
/// A response that already hands out or clears tokens (sign-out, a payload update) wins: its
/// headers are left as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenReissueLayer;

impl<S> Layer<S> for TokenReissueLayer {
    type Service = TokenReissue<S>;

    fn layer(&self, inner: S) -> TokenReissue<S> {
        TokenReissue { inner }
    }
}

/// The service of [`TokenReissueLayer`].
#[derive(Debug, Clone)]
pub struct TokenReissue<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TokenReissue<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResBody>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let slot = ReissueSlot::default();
        request.extensions_mut().insert(slot.clone());
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            if let Some(reissued) = slot.take() {
                if !response.headers().contains_key(FRONT_TOKEN_HEADER) {
                    for (name, value) in reissued.headers() {
                        append(response.headers_mut(), name, value);
                    }
                }
            }
            Ok(response)
        })
    }
}

fn append(headers: &mut HeaderMap, name: &HeaderName, value: &HeaderValue) {
    if name == SET_COOKIE {
        // A list: the app's own cookies stay.
        headers.append(name.clone(), value.clone());
    } else if name == ACCESS_CONTROL_EXPOSE_HEADERS && headers.contains_key(name) {
        // The app may expose its own headers; a cross-origin page must still read ours.
        let merged = headers
            .get(name)
            .and_then(|existing| existing.to_str().ok())
            .map(|existing| format!("{existing}, {}", value.to_str().unwrap_or_default()));
        if let Some(merged) = merged.and_then(|m| HeaderValue::from_str(&m).ok()) {
            headers.insert(name.clone(), merged);
        }
    } else {
        headers.insert(name.clone(), value.clone());
    }
}
