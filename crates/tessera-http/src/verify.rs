//! Verifying a request's session: what each framework's `Session` extractor runs, and the
//! [`Session`] it yields, with the calls a handler makes on it.

use std::future::Future;

use serde_json::{Map, Value};
use tessera_core::{AccessToken, AntiCsrfToken, Issued, VerifiedSession, VerifyOptions};

use crate::config::{AntiCsrfMode, SessionLayerConfig};
use crate::error::{Error, ErrorKind};
use crate::html_refresh::is_page_navigation;
use crate::reissue::ReissueSlot;
use crate::request::{RequestHeader, RequestHeaders};
use crate::state::Tessera;
use crate::transport::{
    clear_headers, clear_legacy_cookie, read_tokens, token_headers, ClearScope, NewTokens,
    Presented, RequestTokens, SessionHeaders, Transport, ACCESS_TOKEN_COOKIE,
};

/// A verified session. Verification reads only the signed access token, never the store, so
/// protected routes cost no database round trip; the data methods do touch the store.
#[derive(Debug)]
pub struct Session {
    tessera: Tessera,
    verified: VerifiedSession,
    access_token: AccessToken,
    transport: Transport,
}

impl Session {
    /// The user the session belongs to.
    pub fn user_id(&self) -> &str {
        &self.verified.user_id
    }

    /// The session's handle (stable across refreshes).
    pub fn handle(&self) -> &str {
        &self.verified.handle
    }

    /// The tenant.
    pub fn tenant_id(&self) -> &str {
        &self.verified.tenant_id
    }

    /// The custom claims of the access token.
    pub fn access_token_payload(&self) -> &Map<String, Value> {
        &self.verified.access_token_payload
    }

    /// Where the tokens came from; new tokens and clears go the same way.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The session's server-side data (reads the store).
    pub async fn session_data(&self) -> Result<Value, Error> {
        self.tessera
            .backend()
            .get_session_data(self.handle())
            .await
            .map_err(|e| self.engine_error(e))
    }

    /// Replaces the session's server-side data.
    pub async fn update_session_data(&self, data: Value) -> Result<(), Error> {
        self.tessera
            .backend()
            .update_session_data(self.handle(), data)
            .await
            .map_err(|e| self.engine_error(e))
    }

    /// Replaces the custom claims and re-signs the access token (same expiry). The client sees
    /// the change only through the returned headers (new token and `front-token`), so put them
    /// in the response.
    pub async fn update_access_token_payload(
        &mut self,
        payload: Map<String, Value>,
    ) -> Result<SessionHeaders, Error> {
        let config = self.tessera.config();
        let regenerated = self
            .tessera
            .backend()
            .regenerate_access_token(&self.access_token, Some(payload))
            .await
            .map_err(|e| self.engine_error(e))?;
        let Some(access_token) = regenerated.access_token else {
            return Err(Error::new(
                ErrorKind::TryRefreshToken("access token expired"),
                config,
            ));
        };
        let headers = token_headers(
            config,
            self.transport,
            &NewTokens {
                user_id: &regenerated.session.user_id,
                access_token: &access_token,
                refresh_token: None,
                anti_csrf: self.verified.anti_csrf_token.as_ref(),
            },
        )
        .map_err(|kind| Error::new(kind, config))?;
        self.verified.claims_mut().access_token_payload = regenerated.session.access_token_payload;
        self.access_token = access_token.token;
        Ok(headers)
    }

    /// Revokes the session and returns the headers that make the client forget it.
    pub async fn revoke(&self) -> Result<SessionHeaders, Error> {
        self.tessera
            .backend()
            .revoke_session(self.handle())
            .await
            .map_err(|e| self.engine_error(e))?;
        Ok(clear_headers(
            self.tessera.config(),
            ClearScope::Only(self.transport),
        ))
    }

    fn engine_error(&self, err: tessera_core::SessionError) -> Error {
        Error::from_engine(err, self.tessera.config(), ClearScope::Only(self.transport))
    }
}

/// What verification reads of a request.
#[derive(Debug)]
pub struct RequestView<'a, H> {
    /// Whether the method is GET (which needs no CSRF proof, and may be a page navigation).
    pub is_get: bool,
    /// The request's headers.
    pub headers: &'a H,
    /// Where a token re-minted by this verification goes, if the adapter's middleware put a
    /// slot in the request.
    pub reissue: Option<&'a ReissueSlot>,
}

// By hand: a derive would ask the header map itself to be `Copy`.
impl<H> Clone for RequestView<'_, H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H> Copy for RequestView<'_, H> {}

impl Tessera {
    /// Verifies the request's access token; `Ok(None)` when it carries none (a visitor).
    ///
    /// A plain function returning the verification's future, not an `async fn` around it: every
    /// layer of future would be one more state machine copied on each protected request.
    pub fn verify_request<'a, H: RequestHeaders>(
        &'a self,
        request: RequestView<'a, H>,
    ) -> impl Future<Output = Result<Option<Session>, Error>> + 'a {
        verify(self, request)
    }

    /// [`verify_request`](Self::verify_request) when it can finish without awaiting, as it does
    /// for a token verified before with nothing to ask the store or the server: the hot path of
    /// every protected request. `None` means call `verify_request`. For adapters whose
    /// extractors would otherwise box a future per request (actix-web's).
    pub fn verify_request_now<H: RequestHeaders>(
        &self,
        request: RequestView<'_, H>,
    ) -> Option<Result<Option<Session>, Error>> {
        let RequestTokens { presented, legacy } = read_tokens(request.headers, ACCESS_TOKEN_COOKIE);
        let outcome = match question(self, request, presented) {
            Ok(Some(question)) => {
                let verified = self.backend().get_session_now(
                    &question.access_token,
                    question.anti_csrf.as_ref(),
                    question.options,
                )?;
                answer(self, request, question, verified).map(Some)
            }
            other => other.map(|_| None),
        };
        Some(finish(self, request, legacy, outcome))
    }

    /// The rejection of a protected route's request that carries no access token (nothing to
    /// clear: no token is not a broken session).
    pub fn no_access_token(&self) -> Error {
        Error::new(ErrorKind::Unauthorised("no access token"), self.config())
    }
}

async fn verify<H: RequestHeaders>(
    tessera: &Tessera,
    request: RequestView<'_, H>,
) -> Result<Option<Session>, Error> {
    let RequestTokens { presented, legacy } = read_tokens(request.headers, ACCESS_TOKEN_COOKIE);
    let outcome = match question(tessera, request, presented) {
        Ok(Some(question)) => {
            let backend = tessera.backend();
            let (access_token, anti_csrf) = (&question.access_token, question.anti_csrf.as_ref());
            // The hot path awaits nothing, so it builds no back-end future either.
            let verified = match backend.get_session_now(access_token, anti_csrf, question.options)
            {
                Some(verified) => verified,
                None => {
                    backend
                        .get_session(access_token, anti_csrf, question.options)
                        .await
                }
            };
            answer(tessera, request, question, verified).map(Some)
        }
        other => other.map(|_| None),
    };
    finish(tessera, request, legacy, outcome)
}

/// What the back end is asked about a request's access token.
struct Question {
    access_token: AccessToken,
    anti_csrf: Option<AntiCsrfToken>,
    options: VerifyOptions,
    transport: Transport,
}

/// The back end's question for the presented token; `Ok(None)` when there is none, and an error
/// when the request fails the CSRF rules before any token is looked at.
fn question<H: RequestHeaders>(
    tessera: &Tessera,
    request: RequestView<'_, H>,
    presented: Option<Presented>,
) -> Result<Option<Question>, Error> {
    let config = tessera.config();
    let Some(presented) = presented else {
        return Ok(None);
    };
    // Browsers attach cookies to forged cross-site requests, never Authorization headers, and a
    // GET must not change state; so only non-GET cookie requests need the CSRF proof.
    let needs_csrf_proof = !request.is_get && presented.transport == Transport::Cookie;
    let mode = config.anti_csrf();
    if needs_csrf_proof
        && mode == AntiCsrfMode::ViaCustomHeader
        && request.headers.header(RequestHeader::Rid).is_none()
    {
        return Err(Error::new(
            ErrorKind::TryRefreshToken("missing rid header"),
            config,
        ));
    }
    let do_anti_csrf_check = needs_csrf_proof && mode == AntiCsrfMode::ViaToken;
    let anti_csrf = do_anti_csrf_check
        .then(|| {
            request
                .headers
                .header_str(RequestHeader::AntiCsrf)
                .map(AntiCsrfToken::new)
        })
        .flatten();
    Ok(Some(Question {
        access_token: AccessToken::new(presented.token),
        anti_csrf,
        options: VerifyOptions {
            do_anti_csrf_check,
            check_database: config.check_database(),
        },
        transport: presented.transport,
    }))
}

/// The session the back end's verification makes, or the error it is answered with; a token
/// the verification re-minted goes to the adapter's middleware.
fn answer<H: RequestHeaders>(
    tessera: &Tessera,
    request: RequestView<'_, H>,
    question: Question,
    verified: Result<VerifiedSession, tessera_core::SessionError>,
) -> Result<Session, Error> {
    let config = tessera.config();
    let verified = verified
        .map_err(|e| Error::from_engine(e, config, ClearScope::Only(question.transport)))?;
    if let Some(reissued) = &verified.new_access_token {
        deliver_reissued(
            config,
            request.reissue,
            question.transport,
            &verified,
            reissued,
        );
    }
    Ok(Session {
        tessera: tessera.clone(),
        verified,
        access_token: question.access_token,
        transport: question.transport,
    })
}

/// What the request's legacy cookie and kind change in the outcome.
fn finish<H: RequestHeaders>(
    tessera: &Tessera,
    request: RequestView<'_, H>,
    legacy: bool,
    outcome: Result<Option<Session>, Error>,
) -> Result<Option<Session>, Error> {
    let config = tessera.config();
    let outcome = match outcome {
        // A pre-2022 session holds the old marker and no access token of today's kind: the
        // refresh route issues today's cookies.
        Ok(None) if legacy => Err(Error::new(
            ErrorKind::TryRefreshToken("legacy sIdRefreshToken cookie"),
            config,
        )),
        other => other,
    };
    match outcome {
        Ok(session) => {
            // A valid session is served whatever else the browser holds: a marker this server
            // cannot remove (another cookie domain set it) must not block the user for good.
            if legacy {
                if let Some(slot) = request.reissue {
                    slot.put(clear_legacy_cookie(config));
                }
            }
            Ok(session)
        }
        Err(e) => {
            let e = if legacy {
                e.with_headers(clear_legacy_cookie(config))
            } else {
                e
            };
            Err(if is_page_navigation(request.is_get, request.headers) {
                e.for_navigation(config)
            } else {
                e
            })
        }
    }
}

/// Hands a token minted during verification (the first verification of a refreshed token, or the
/// session's claims changed) to the adapter's middleware, which puts it in the response. Without
/// it the client keeps its token until the next refresh; the handler sees the new claims either
/// way.
fn deliver_reissued(
    config: &SessionLayerConfig,
    slot: Option<&ReissueSlot>,
    transport: Transport,
    verified: &VerifiedSession,
    reissued: &Issued<AccessToken>,
) {
    let Some(slot) = slot else {
        // Still correct without the layer, but every request with a refreshed token then goes to
        // the store until the next refresh: say so once.
        static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(
                handle = %verified.handle,
                "re-minted access token not delivered: apply the token-reissue middleware to the \
                 routes that take a Session"
            );
        }
        return;
    };
    let tokens = NewTokens {
        user_id: &verified.user_id,
        access_token: reissued,
        refresh_token: None,
        anti_csrf: verified.anti_csrf_token.as_ref(),
    };
    match token_headers(config, transport, &tokens) {
        Ok(headers) => slot.put(headers),
        Err(e) => tracing::warn!(error = %e, "re-minted access token not delivered"),
    }
}
