//! [`TokenReissue`]: the middleware that hands the client an access token re-minted during
//! verification. The `Session` extractor cannot touch the response, so it leaves the token's
//! headers in a [`ReissueSlot`] this middleware put in the request, and the middleware adds them
//! to the response.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::HttpMessage;
use tessera_http::ReissueSlot;

/// Adds to responses the access token that verification re-minted: after the first
/// verification of a refreshed token, or because the session's claims changed (with
/// [`check_database`](crate::SessionLayerConfig::with_check_database)). Wrap the routes that
/// take a [`Session`](crate::Session): `App::new().wrap(TokenReissue)`. Without it those tokens
/// are dropped: every request with a refreshed token then goes to the store until the next
/// refresh, and the client sees changed claims only after its next refresh.
///
/// A response that already hands out or clears tokens (sign-out, a payload update) wins: its
/// headers are left as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenReissue;

impl<S, B> Transform<S, ServiceRequest> for TokenReissue
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = TokenReissueService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(TokenReissueService {
            service: Rc::new(service),
        }))
    }
}

/// The service of [`TokenReissue`].
#[derive(Debug)]
pub struct TokenReissueService<S> {
    service: Rc<S>,
}

impl<S, B> Service<ServiceRequest> for TokenReissueService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<ServiceResponse<B>, actix_web::Error>>>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let slot = ReissueSlot::default();
        request.extensions_mut().insert(slot.clone());
        let response = self.service.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            if let Some(reissued) = slot.take() {
                crate::response::merge_reissued(response.headers_mut(), &reissued);
            }
            Ok(response)
        })
    }
}
