//! [`TokenReissueLayer`]: the middleware that hands the client an access token re-minted during
//! verification. The `Session` extractor cannot touch the response, so it leaves the token's
//! headers in a [`ReissueSlot`] this layer put in the request, and the layer adds them to the
//! response.

use axum::http::{Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tessera_http::{merge_reissued, ReissueSlot};
use tower_layer::Layer;
use tower_service::Service;

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
                merge_reissued(response.headers_mut(), &reissued);
            }
            Ok(response)
        })
    }
}
