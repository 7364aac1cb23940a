//! The [`Session`] extractor: a handler that takes `Session` is protected; one that takes
//! [`MaybeSession`] serves both visitors and signed-in users.

use std::future::{ready, Future, Ready};
use std::pin::Pin;

use actix_utils::future::Either;
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use serde_json::{Map, Value};
use tessera_http::{ReissueSlot, RequestView};

use crate::error::Error;
use crate::headers::SessionHeaders;
use crate::request::ActixHeaders;
use crate::state::Tessera;

/// A verified session. Verification reads only the signed access token, never the store, so
/// protected routes cost no database round trip; the data methods do touch the store. What it
/// says of the session (`user_id`, `handle`, `tenant_id`, `access_token_payload`, `transport`)
/// is the neutral [`tessera_http::Session`]'s, reached through `Deref`; the calls that answer
/// with this framework's errors and headers are its own.
#[derive(Debug)]
pub struct Session(tessera_http::Session);

impl std::ops::Deref for Session {
    type Target = tessera_http::Session;

    fn deref(&self) -> &tessera_http::Session {
        &self.0
    }
}

impl Session {
    /// The session's server-side data (reads the store).
    pub async fn session_data(&self) -> Result<Value, Error> {
        Ok(self.0.session_data().await?)
    }

    /// Replaces the session's server-side data.
    pub async fn update_session_data(&self, data: Value) -> Result<(), Error> {
        Ok(self.0.update_session_data(data).await?)
    }

    /// Replaces the custom claims and re-signs the access token (same expiry). The client sees
    /// the change only through the returned headers (new token and `front-token`), so put them
    /// on the response.
    pub async fn update_access_token_payload(
        &mut self,
        payload: Map<String, Value>,
    ) -> Result<SessionHeaders, Error> {
        Ok(self.0.update_access_token_payload(payload).await?.into())
    }

    /// Revokes the session and returns the headers that make the client forget it.
    pub async fn revoke(&self) -> Result<SessionHeaders, Error> {
        Ok(self.0.revoke().await?.into())
    }
}

/// A session if the request carries an access token, `None` for a visitor. A request with a bad
/// or expired token is still rejected, so the frontend refreshes instead of silently losing the
/// session (actix-web's own `Option<Session>` would turn every rejection into `None`).
#[derive(Debug)]
pub struct MaybeSession(pub Option<Session>);

/// An extractor's future: ready at once on the hot path (a token verified before, nothing to ask
/// the store), boxed only when verification awaits.
type Verification<T> = Either<
    Ready<Result<T, actix_web::Error>>,
    Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>,
>;

/// The app's Tessera, or the error that says it was not installed.
fn installed(request: &HttpRequest) -> Result<&Tessera, actix_web::Error> {
    match request.app_data::<web::Data<Tessera>>() {
        Some(tessera) => Ok(tessera),
        None => Err(actix_web::error::ErrorInternalServerError(
            "tessera_actix::Tessera is not installed: App::new().configure(tessera.configure())",
        )),
    }
}

/// What verification found: a session, none (a visitor), or the answer to refuse with.
type Outcome = Result<Option<tessera_http::Session>, tessera_http::Error>;

/// Verifies the request's access token (`Ok(None)` when it carries none) and hands the outcome
/// to `then`: at once when verification awaits nothing, else in a boxed future.
fn verify<T: 'static>(
    request: &HttpRequest,
    then: fn(&Tessera, Outcome) -> Result<T, actix_web::Error>,
) -> Verification<T> {
    let tessera = match installed(request) {
        Ok(tessera) => tessera,
        Err(e) => return Either::left(ready(Err(e))),
    };
    let is_get = request.method() == Method::GET;
    let done = {
        let extensions = request.extensions();
        let view = RequestView {
            is_get,
            headers: &ActixHeaders(request.headers()),
            reissue: extensions.get::<ReissueSlot>(),
        };
        tessera.layer().verify_request_now(view)
    };
    if let Some(done) = done {
        return Either::left(ready(then(tessera, done)));
    }
    let (tessera, request) = (tessera.clone(), request.clone());
    Either::right(Box::pin(async move {
        // Cloned out of the extensions, so that no borrow of them is held across the await.
        let slot = request.extensions().get::<ReissueSlot>().cloned();
        let view = RequestView {
            is_get,
            headers: &ActixHeaders(request.headers()),
            reissue: slot.as_ref(),
        };
        let outcome = tessera.layer().verify_request(view).await;
        then(&tessera, outcome)
    }))
}

impl FromRequest for Session {
    type Error = actix_web::Error;
    type Future = Verification<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        verify(request, |tessera, outcome| match outcome {
            Ok(Some(session)) => Ok(Session(session)),
            Ok(None) => Err(Error::from(tessera.layer().no_access_token()).into()),
            Err(e) => Err(Error::from(e).into()),
        })
    }
}

impl FromRequest for MaybeSession {
    type Error = actix_web::Error;
    type Future = Verification<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        verify(request, |_, outcome| match outcome {
            Ok(session) => Ok(Self(session.map(Session))),
            Err(e) => Err(Error::from(e).into()),
        })
    }
}
