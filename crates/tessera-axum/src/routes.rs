//! The routes the frontend SDK (and, with device binding, the browser) calls by itself, mounted
//! at the configured paths: `POST {base}/session/refresh` and `POST {base}/signout`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use crate::state::Tessera;

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
                .route(&config.device_registration_path(), post(register_device))
                .route(&config.device_refresh_path(), post(refresh_device));
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

async fn refresh(State(tessera): State<Tessera>, headers: HeaderMap) -> Response {
    tessera.layer().refresh(&headers).await.into_response()
}

async fn signout(State(tessera): State<Tessera>, headers: HeaderMap) -> Response {
    tessera.layer().sign_out(&headers).await.into_response()
}

async fn register_device(State(tessera): State<Tessera>, headers: HeaderMap) -> Response {
    tessera
        .layer()
        .register_device(&headers)
        .await
        .into_response()
}

async fn refresh_device(State(tessera): State<Tessera>, headers: HeaderMap) -> Response {
    tessera
        .layer()
        .refresh_device(&headers)
        .await
        .into_response()
}
