//! The [`Session`] extractor: a handler that takes `Session` is protected, one that takes
//! `Option<Session>` serves both visitors and signed-in users.

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use serde_json::{Map, Value};
use tessera_http::{ReissueSlot, RequestView};

use crate::error::Error;
use crate::headers::SessionHeaders;
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
    /// in the response.
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

/// What verification reads of the request.
fn view(parts: &Parts) -> RequestView<'_, HeaderMap> {
    RequestView {
        is_get: parts.method == Method::GET,
        headers: &parts.headers,
        reissue: parts.extensions.get::<ReissueSlot>(),
    }
}

impl<S> FromRequestParts<S> for Session
where
    Tessera: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let tessera = Tessera::from_ref(state);
        match tessera.layer().verify_request(view(parts)).await? {
            Some(session) => Ok(Session(session)),
            // No token is not a broken session: nothing to clear.
            None => Err(tessera.layer().no_access_token().into()),
        }
    }
}

/// A request without an access token is a visitor (`None`); a request with a bad or expired one
/// is still rejected, so the frontend refreshes instead of silently losing the session.
impl<S> OptionalFromRequestParts<S> for Session
where
    Tessera: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Error> {
        let tessera = Tessera::from_ref(state);
        Ok(tessera
            .layer()
            .verify_request(view(parts))
            .await?
            .map(Session))
    }
}
