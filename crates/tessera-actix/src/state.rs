//! [`Tessera`]: the session back end and the HTTP settings, shared by the extractor, the routes
//! and login handlers.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};
use tessera_core::NewSession;
use tessera_http::{Backend, SessionLayerConfig};

use crate::error::Error;
use crate::headers::SessionHeaders;
use crate::request::ActixHeaders;
use crate::response::from_reply;

/// The session back end plus the HTTP settings. Cheap to clone (one `Arc`). [`configure`]
/// installs it as app data, so handlers take it as `web::Data<Tessera>`.
///
/// [`configure`]: Self::configure
#[derive(Clone, Debug)]
pub struct Tessera(tessera_http::Tessera);

/// The back end, the settings and the neutral layer's calls (`backend`, `sessions`, `config`)
/// are [`tessera_http::Tessera`]'s, reached through `Deref`.
impl std::ops::Deref for Tessera {
    type Target = tessera_http::Tessera;

    fn deref(&self) -> &tessera_http::Tessera {
        &self.0
    }
}

impl Tessera {
    /// Wraps a back end with HTTP settings: the in-process engine
    /// ([`Sessions`](tessera_core::Sessions)) or, with the
    /// `remote` feature, a `tessera` server ([`RemoteSessions`](crate::RemoteSessions)).
    pub fn new(backend: impl Into<Backend>, config: SessionLayerConfig) -> Self {
        Self(tessera_http::Tessera::new(backend, config))
    }

    /// The framework-neutral layer underneath.
    pub fn layer(&self) -> &tessera_http::Tessera {
        &self.0
    }

    /// A 403 "invalid claim" rejection carrying the failed claims, for routes that check claims
    /// of a valid session themselves.
    pub fn invalid_claim(&self, claim_validation_errors: Vec<Value>) -> Error {
        self.0.invalid_claim(claim_validation_errors).into()
    }

    /// Starts a session for `user_id` in a login handler and returns the headers that hand its
    /// tokens to the client: cookies, or `st-access-token`/`st-refresh-token` when the request
    /// says `st-auth-mode: header`; always a `front-token`; an `anti-csrf` header in `ViaToken`
    /// mode. Put them on the response: `Ok(tokens.respond(HttpResponse::Ok()).json(body))`.
    pub async fn create_new_session(
        &self,
        request: &HttpRequest,
        user_id: impl Into<String>,
        access_token_payload: Map<String, Value>,
        session_data: Value,
    ) -> Result<SessionHeaders, Error> {
        let headers = ActixHeaders(request.headers());
        Ok(self
            .0
            .create_new_session(&headers, user_id, access_token_payload, session_data)
            .await?
            .into())
    }

    /// [`create_new_session`](Self::create_new_session) from a [`NewSession`] builder: for a
    /// session in a tenant chosen per request, or a static signing key. Whether the session gets
    /// an anti-CSRF token follows this layer's [`AntiCsrfMode`](crate::AntiCsrfMode).
    pub async fn start_session(
        &self,
        request: &HttpRequest,
        new: NewSession,
    ) -> Result<SessionHeaders, Error> {
        let headers = ActixHeaders(request.headers());
        Ok(self.0.start_session(&headers, new).await?.into())
    }

    /// Installs this state and the routes the frontend SDK calls by itself (`POST
    /// {base}/session/refresh`, `POST {base}/signout`, and with device binding the browser's
    /// device routes) at the configured paths: `App::new().configure(tessera.configure())`.
    /// Wrap the app in [`TokenReissue`](crate::TokenReissue) too, so tokens re-minted during
    /// verification reach the client.
    pub fn configure(&self) -> impl FnOnce(&mut web::ServiceConfig) + 'static {
        let tessera = self.clone();
        move |config: &mut web::ServiceConfig| {
            let settings = tessera.config().clone();
            config
                .app_data(web::Data::new(tessera))
                .route(&settings.refresh_path(), web::post().to(refresh))
                .route(&settings.signout_path(), web::post().to(sign_out));
            if settings.device_binding().is_some() {
                config
                    .route(
                        &settings.device_registration_path(),
                        web::post().to(register_device),
                    )
                    .route(
                        &settings.device_refresh_path(),
                        web::post().to(refresh_device),
                    );
            }
        }
    }
}

async fn refresh(tessera: web::Data<Tessera>, request: HttpRequest) -> HttpResponse {
    let headers = ActixHeaders(request.headers());
    from_reply(tessera.layer().refresh(&headers).await)
}

async fn sign_out(tessera: web::Data<Tessera>, request: HttpRequest) -> HttpResponse {
    let headers = ActixHeaders(request.headers());
    from_reply(tessera.layer().sign_out(&headers).await)
}

async fn register_device(tessera: web::Data<Tessera>, request: HttpRequest) -> HttpResponse {
    let headers = ActixHeaders(request.headers());
    from_reply(tessera.layer().register_device(&headers).await)
}

async fn refresh_device(tessera: web::Data<Tessera>, request: HttpRequest) -> HttpResponse {
    let headers = ActixHeaders(request.headers());
    from_reply(tessera.layer().refresh_device(&headers).await)
}
