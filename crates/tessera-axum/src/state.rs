//! [`Tessera`]: the session back end and the HTTP settings, shared by the extractor, the routes
//! and login handlers.

use axum::http::HeaderMap;
use serde_json::{Map, Value};
use tessera_core::NewSession;
use tessera_http::{Backend, SessionLayerConfig};

use crate::error::Error;
use crate::headers::SessionHeaders;

/// The session back end plus the HTTP settings. Cheap to clone (one `Arc`); use it as the router
/// state, or as part of yours with `FromRef`.
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
    /// mode. Return them as a response part: `Ok((headers, Json(body)))`.
    pub async fn create_new_session(
        &self,
        request_headers: &HeaderMap,
        user_id: impl Into<String>,
        access_token_payload: Map<String, Value>,
        session_data: Value,
    ) -> Result<SessionHeaders, Error> {
        Ok(self
            .0
            .create_new_session(request_headers, user_id, access_token_payload, session_data)
            .await?
            .into())
    }

    /// [`create_new_session`](Self::create_new_session) from a [`NewSession`] builder: for a
    /// session in a tenant chosen per request (an app serving several tenants takes it from the
    /// path, a subdomain or the login form), or a static signing key. Whether the session gets an
    /// anti-CSRF token follows this layer's [`AntiCsrfMode`](crate::AntiCsrfMode).
    ///
    /// ```no_run
    /// use axum::{extract::{Path, State}, http::HeaderMap, response::IntoResponse, Json};
    /// use serde_json::json;
    /// use tessera_axum::{Error, Tessera};
    /// use tessera_core::NewSession;
    ///
    /// // `.route("/{tenant}/login", post(login))`
    /// async fn login(
    ///     State(tessera): State<Tessera>,
    ///     Path(tenant): Path<String>,
    ///     headers: HeaderMap,
    /// ) -> Result<impl IntoResponse, Error> {
    ///     // Check the user's credentials for this tenant here.
    ///     let new = NewSession::new("alice").tenant_id(tenant);
    ///     let tokens = tessera.start_session(&headers, new).await?;
    ///     Ok((tokens, Json(json!({"status": "OK"}))))
    /// }
    /// ```
    pub async fn start_session(
        &self,
        request_headers: &HeaderMap,
        new: NewSession,
    ) -> Result<SessionHeaders, Error> {
        Ok(self.0.start_session(request_headers, new).await?.into())
    }
}
