//! Starting sessions in login handlers: the tokens handed to the client, and with device binding
//! the browser's invitation to bind the session to its key.

use serde_json::{Map, Value};
use tessera_core::NewSession;

use crate::config::AntiCsrfMode;
use crate::error::Error;
use crate::request::RequestHeaders;
use crate::state::Tessera;
use crate::transport::{token_headers, ClearScope, NewTokens, SessionHeaders, Transport};

impl Tessera {
    /// Starts a session for `user_id` in a login handler and returns the headers that hand its
    /// tokens to the client: cookies, or `st-access-token`/`st-refresh-token` when the request
    /// says `st-auth-mode: header`; always a `front-token`; an `anti-csrf` header in `ViaToken`
    /// mode. Each adapter puts them on its framework's response.
    pub async fn create_new_session(
        &self,
        request_headers: &impl RequestHeaders,
        user_id: impl Into<String>,
        access_token_payload: Map<String, Value>,
        session_data: Value,
    ) -> Result<SessionHeaders, Error> {
        let new = NewSession::new(user_id)
            .access_token_payload(access_token_payload)
            .session_data(session_data);
        self.start_session(request_headers, new).await
    }

    /// [`create_new_session`](Self::create_new_session) from a [`NewSession`] builder: for a
    /// session in a tenant chosen per request (an app serving several tenants takes it from the
    /// path, a subdomain or the login form), or a static signing key. Whether the session gets an
    /// anti-CSRF token follows this layer's [`AntiCsrfMode`].
    pub async fn start_session(
        &self,
        request_headers: &impl RequestHeaders,
        new: NewSession,
    ) -> Result<SessionHeaders, Error> {
        let config = self.config();
        let new = new.anti_csrf(config.anti_csrf() == AntiCsrfMode::ViaToken);
        let transport = Transport::requested(request_headers);
        let tokens = self
            .backend()
            .create_new_session(new)
            .await
            .map_err(|e| Error::from_engine(e, config, ClearScope::Only(transport)))?;
        let mut headers = token_headers(config, transport, &NewTokens::from(&tokens))
            .map_err(|kind| Error::new(kind, config))?;
        // Device binding rotates tokens where the SDK cannot see it, so it is offered only where
        // the SDK does not hold a copy of a rotating secret (the anti-CSRF token).
        if config.device_binding().is_some()
            && transport == Transport::Cookie
            && config.anti_csrf() != AntiCsrfMode::ViaToken
        {
            let offer = crate::device::registration_offer(
                self,
                &tokens.session.handle,
                &tokens.refresh_token.token,
            )
            .await
            .map_err(|e| Error::from_engine(e, config, ClearScope::Only(transport)))?;
            headers.insert_header(
                http::HeaderName::from_static(crate::device::REGISTRATION_HEADER),
                offer,
            );
        }
        Ok(headers)
    }
}
