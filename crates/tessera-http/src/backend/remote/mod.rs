//! [`RemoteSessions`]: a standalone `tessera` server (crate `tessera-server`) as the back end,
//! over its SuperTokens Core Driver Interface 5.4 HTTP API.
//!
//! Access tokens are verified here, against the server's JWKS, with tessera-core's own
//! [`JwksVerifier`](tessera_core::JwksVerifier): protected routes make no request to the server
//! unless `check_database` is on. Everything else (create, refresh, revoke, data) is a request.

mod device;
mod http;
mod jwks;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Map, Value};
use tessera_core::{
    AccessToken, AntiCsrfToken, Clock, KeyKind, NewSession, RefreshOptions, RefreshToken,
    RegeneratedAccessToken, RevocationRecord, Revocations, SessionError, SessionTokens,
    SystemClock, Timestamp, VerifiedSession, VerifyOptions, DEFAULT_TENANT,
};

use self::http::Http;
use self::jwks::JwksCache;
use self::wire::{data_object, into_tokens, malformed, session, summary, ReplyExt};
use tessera_cdi::{CreateSessionRequest, RefreshRequest, RegenerateRequest, VerifyRequest};
use tessera_core::rotation::ANTI_CSRF_REFUSED;

/// Entries the server sends per `GET /tessera/revocations` answer at most.
const REVOCATIONS_PER_PAGE: usize = 10_000;
/// How long a revoked session is remembered here when the server does not say.
const REVOCATION_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// Where the server is and how to talk to it.
///
/// Plain `http://` works out of the box. For `https://`, enable a TLS feature of reqwest 0.12 in
/// your application (`reqwest = { version = "0.12", features = ["rustls-tls"] }`); Cargo then
/// builds this crate's client with it.
#[derive(Clone)]
pub struct RemoteConfig {
    url: String,
    api_key: Option<String>,
    timeout: Duration,
    jwks_refetch_interval: Duration,
    jwks_max_age: Duration,
}

impl std::fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = reqwest::Url::parse(&self.url)
            .map_or_else(|_| "[not a URL]".to_owned(), |url| http::redacted(&url));
        f.debug_struct("RemoteConfig")
            .field("url", &url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .field("jwks_refetch_interval", &self.jwks_refetch_interval)
            .field("jwks_max_age", &self.jwks_max_age)
            .finish()
    }
}

impl RemoteConfig {
    /// The server's base URL, e.g. `http://127.0.0.1:3567`. A 10 s timeout, no API key, the
    /// JWKS read again at most once a second for unknown key ids and at least once an hour.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            api_key: None,
            timeout: Duration::from_secs(10),
            jwks_refetch_interval: Duration::from_secs(1),
            jwks_max_age: Duration::from_secs(3600),
        }
    }

    /// Sends this `api-key` (one of the server's `api_keys`).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Gives up on a request after this long (a server error for the caller).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest the server's keys are trusted without reading them again (default one hour;
    /// the server's own `Cache-Control: max-age` is followed when shorter). Keys the server
    /// retires stop verifying here within this time.
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    /// The least time between two JWKS reads caused by unknown key ids.
    pub fn jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.jwks_refetch_interval = interval;
        self
    }
}

/// A `tessera` server as the session back end. Cheap to clone (one `Arc`); clones share the
/// HTTP connection pool and the key cache.
///
/// Mapping of the server's answers: `UNAUTHORISED` is [`SessionError::Unauthorised`] (tokens
/// cleared, except for a refresh refused for its anti-CSRF token, as the engine does),
/// `TRY_REFRESH_TOKEN` is `TryRefreshToken`, `TOKEN_THEFT_DETECTED` is `TokenTheftDetected`; an
/// unreachable server, a timeout or a 5xx is `General(GeneralError::Remote)`, a 400 is
/// `General(GeneralError::InvalidArgument)`.
#[derive(Clone)]
pub struct RemoteSessions {
    inner: Arc<Inner>,
}

struct Inner {
    http: Http,
    jwks: JwksCache,
    /// Sessions the server revoked, read from its revocation log by the follower.
    revocations: Revocations,
}

impl std::fmt::Debug for RemoteSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSessions")
            .field("url", &self.inner.http.display_base())
            .finish_non_exhaustive()
    }
}

impl RemoteSessions {
    /// A client for the server at `config`'s URL. Makes no request: the keys are read on first
    /// use. Fails only for a URL that is not `http(s)://`.
    pub fn new(config: RemoteConfig) -> Result<Self, SessionError> {
        Ok(Self {
            inner: Arc::new(Inner {
                http: Http::new(&config)?,
                jwks: JwksCache::new(config.jwks_refetch_interval, config.jwks_max_age),
                revocations: Revocations::new(),
            }),
        })
    }

    /// [`new`](Self::new), then reads the server's keys, so that a wrong URL or a server that is
    /// down shows at start-up rather than on the first request.
    pub async fn connect(config: RemoteConfig) -> Result<Self, SessionError> {
        let remote = Self::new(config)?;
        remote.inner.jwks.load(&remote.inner.http).await?;
        Ok(remote)
    }

    fn http(&self) -> &Http {
        &self.inner.http
    }

    /// Creates a session. `NewSession::anti_csrf` unset means no anti-CSRF token (CDI has no
    /// server default); session data must be a JSON object or `null`.
    pub async fn create_new_session(&self, new: NewSession) -> Result<SessionTokens, SessionError> {
        let data = data_object(new.session_data)?;
        let segments = [new.tenant_id.as_str(), "recipe", "session"];
        let body = CreateSessionRequest {
            user_id: new.user_id,
            user_data_in_jwt: new.access_token_payload,
            user_data_in_database: data,
            enable_anti_csrf: Some(new.anti_csrf.unwrap_or(false)),
            use_dynamic_signing_key: new.key_kind.map(|kind| kind == KeyKind::Dynamic),
        };
        into_tokens(
            self.http()
                .call(Method::POST, &segments, &[], Some(&body))
                .await?
                .ok()?,
        )
    }

    /// [`get_session`](Self::get_session) when it can finish without awaiting: the keys held
    /// verify the token and the server need not be asked. `None` means call `get_session`.
    pub fn get_session_now(
        &self,
        access_token: &AccessToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        options: VerifyOptions,
    ) -> Option<Result<VerifiedSession, SessionError>> {
        let verified = self.inner.jwks.verify_now(
            access_token,
            anti_csrf_token,
            options.do_anti_csrf_check,
        )?;
        match verified.and_then(|verified| self.check_revoked(&verified).map(|()| verified)) {
            Ok(verified) if needs_server(&verified, options) => None,
            done => Some(done),
        }
    }

    /// A session revoked here (this process follows the server's revocations) is refused
    /// without asking the server.
    fn check_revoked(&self, verified: &VerifiedSession) -> Result<(), SessionError> {
        if self.inner.revocations.is_revoked(&verified.handle) {
            return Err(SessionError::Unauthorised {
                clear_tokens: true,
                reason: "session revoked",
            });
        }
        Ok(())
    }

    /// Verifies the access token locally (signature against the cached JWKS, expiry, anti-CSRF).
    /// With `check_database` the server then confirms the session still exists, and hands over
    /// a re-signed token when its payload changed.
    pub async fn get_session(
        &self,
        access_token: &AccessToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        options: VerifyOptions,
    ) -> Result<VerifiedSession, SessionError> {
        let mut verified = self
            .inner
            .jwks
            .verify(
                self.http(),
                access_token,
                anti_csrf_token,
                options.do_anti_csrf_check,
            )
            .await?;
        self.check_revoked(&verified)?;
        if !needs_server(&verified, options) {
            return Ok(verified);
        }
        // The anti-CSRF token was checked above; the server need not see it.
        let body = VerifyRequest {
            access_token: access_token.expose().to_owned(),
            anti_csrf_token: None,
            do_anti_csrf_check: false,
            enable_anti_csrf: Some(false),
            check_database: options.check_database,
        };
        let segments = ["recipe", "session", "verify"];
        let mut reply = self
            .http()
            .call(Method::POST, &segments, &[], Some(&body))
            .await?
            .ok()?;
        let session = session(&mut reply)?;
        if let Some(payload) = session.user_data_in_jwt {
            verified.claims_mut().access_token_payload = payload;
        }
        verified.new_access_token = reply.access_token.take().map(wire::access);
        if verified.new_access_token.is_some() {
            verified.claims_mut().parent_refresh_token_hash1 = None;
        }
        Ok(verified)
    }

    /// Rotates both tokens. `options.check_anti_csrf` is sent as CDI's `enableAntiCsrf`, which
    /// is what `tessera-server` checks the anti-CSRF token by.
    pub async fn refresh_session_with(
        &self,
        refresh_token: &RefreshToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        options: RefreshOptions,
    ) -> Result<SessionTokens, SessionError> {
        let body = RefreshRequest {
            refresh_token: refresh_token.expose().to_owned(),
            anti_csrf_token: anti_csrf_token.map(|t| t.expose().to_owned()),
            enable_anti_csrf: Some(options.check_anti_csrf),
            use_dynamic_signing_key: options.key_kind.map(|kind| kind == KeyKind::Dynamic),
        };
        let segments = ["recipe", "session", "refresh"];
        let reply = self
            .http()
            .call(Method::POST, &segments, &[], Some(&body))
            .await?;
        match reply.ok() {
            // A refresh without the anti-CSRF token that was asked for is what a forged
            // cross-site request looks like: whatever words the server found for its refusal,
            // it must not sign the user out (node #141).
            Err(SessionError::Unauthorised { .. })
                if options.check_anti_csrf && anti_csrf_token.is_none() =>
            {
                Err(SessionError::Unauthorised {
                    clear_tokens: false,
                    reason: ANTI_CSRF_REFUSED,
                })
            }
            reply => into_tokens(self.noting_theft(reply)?),
        }
    }

    /// Passes a reply on; when it reports a theft, that session is refused here from now on, as
    /// the engine refuses the sessions it revokes itself (access tokens are verified in this
    /// process, which would otherwise learn of it only from the revocation log).
    fn noting_theft<T>(&self, result: Result<T, SessionError>) -> Result<T, SessionError> {
        if let Err(SessionError::TokenTheftDetected { session_handle, .. }) = &result {
            self.inner
                .revocations
                .add(std::slice::from_ref(session_handle), SystemClock.now());
        }
        result
    }

    /// Revokes one session; false if it did not exist. Refused here at once, and by other
    /// processes within their revocation poll interval.
    pub async fn revoke_session(&self, session_handle: &str) -> Result<bool, SessionError> {
        let body = json!({ "sessionHandles": [session_handle] });
        let revoked = self.remove(DEFAULT_TENANT, &body).await?;
        Ok(!revoked.is_empty())
    }

    /// Reads the server's revocation log (`GET /tessera/revocations`, Tessera's own endpoint)
    /// every `interval` until the returned handle is aborted, so that sessions revoked through
    /// any server or back end are refused by this process's local verification within
    /// `interval`. Failures are logged once per outage.
    pub fn spawn_revocation_follower(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        self.inner.revocations.start_following();
        let remote = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                ticks.tick().await;
                match remote.follow_revocations().await {
                    Ok(_) if failing => {
                        tracing::info!("the server's revocation log is readable again");
                        failing = false;
                    }
                    Ok(_) => {}
                    Err(error) if !failing => {
                        tracing::warn!(
                            %error,
                            "cannot read the server's revocation log: sessions revoked elsewhere \
                             are not refused here until it can be read"
                        );
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
        })
    }

    /// Reads the server's revocation-log entries this process has not seen (what the follower
    /// does each poll); returns how many were read.
    pub async fn follow_revocations(&self) -> Result<usize, SessionError> {
        let now = SystemClock.now();
        let (newest, oldest_gap) = self.inner.revocations.read_from(now);
        let mut read = 0;
        let mut after = newest;
        let mut keep_since = now - REVOCATION_MEMORY;
        loop {
            let (batch, server_keep_since) = self.revocation_log(after).await?;
            keep_since = server_keep_since.unwrap_or(keep_since);
            read += batch.len();
            let full = batch.len() >= REVOCATIONS_PER_PAGE;
            let last = batch.last().map(|r| r.seq);
            self.inner.revocations.apply(&batch, now);
            match last {
                Some(last) if full => after = last,
                _ => break,
            }
        }
        if let Some(gap_after) = oldest_gap {
            let (batch, _) = self.revocation_log(gap_after).await?;
            self.inner.revocations.apply(&batch, now);
        }
        // The server says from when on revocations still matter (its access-token validity).
        self.inner.revocations.prune(keep_since);
        Ok(read)
    }

    async fn revocation_log(
        &self,
        after: i64,
    ) -> Result<(Vec<RevocationRecord>, Option<Timestamp>), SessionError> {
        let after = after.to_string();
        let reply = self
            .http()
            .call(
                Method::GET,
                &["tessera", "revocations"],
                &[("after", after.as_str())],
                None::<&Value>,
            )
            .await?
            .ok()?;
        let records = reply
            .revocations
            .ok_or_else(|| malformed("no revocations"))?
            .into_iter()
            .map(|r| RevocationRecord {
                seq: r.seq,
                session_handle: r.session_handle,
                revoked_at: Timestamp::from_millis(r.revoked_at),
            })
            .collect();
        Ok((records, reply.keep_since.map(Timestamp::from_millis)))
    }

    /// Revokes every session of a user, in one tenant or (`None`) all; returns their handles.
    pub async fn revoke_all_sessions_for_user(
        &self,
        user_id: &str,
        tenant_id: Option<&str>,
    ) -> Result<Vec<String>, SessionError> {
        let body = json!({ "userId": user_id, "revokeAcrossAllTenants": tenant_id.is_none() });
        self.remove(tenant_id.unwrap_or(DEFAULT_TENANT), &body)
            .await
    }

    async fn remove(&self, tenant_id: &str, body: &Value) -> Result<Vec<String>, SessionError> {
        let segments = [tenant_id, "recipe", "session", "remove"];
        let revoked = self
            .http()
            .call(Method::POST, &segments, &[], Some(body))
            .await?
            .ok()?
            .session_handles_revoked
            .ok_or_else(|| malformed("no sessionHandlesRevoked"))?;
        // Refused here at once, as the engine does for its own revocations: access tokens are
        // verified in this process, which would otherwise learn of these only from the log.
        self.inner.revocations.add(&revoked, SystemClock.now());
        Ok(revoked)
    }

    /// Handles of a user's live sessions, in one tenant or (`None`) all.
    pub async fn get_all_session_handles_for_user(
        &self,
        user_id: &str,
        tenant_id: Option<&str>,
    ) -> Result<Vec<String>, SessionError> {
        let across = if tenant_id.is_none() { "true" } else { "false" };
        let segments = [
            tenant_id.unwrap_or(DEFAULT_TENANT),
            "recipe",
            "session",
            "user",
        ];
        let query = [("userId", user_id), ("fetchAcrossAllTenants", across)];
        self.http()
            .call(Method::GET, &segments, &query, None::<&Value>)
            .await?
            .ok()?
            .session_handles
            .ok_or_else(|| malformed("no sessionHandles"))
    }

    /// A live session's server-side data (`GET /recipe/session`).
    pub async fn get_session_data(&self, session_handle: &str) -> Result<Value, SessionError> {
        let segments = ["recipe", "session"];
        let query = [("sessionHandle", session_handle)];
        self.http()
            .call(Method::GET, &segments, &query, None::<&Value>)
            .await?
            .ok()?
            .user_data_in_database
            .ok_or_else(|| malformed("no userDataInDatabase"))
    }

    /// Replaces a live session's server-side data: a JSON object, or `null` for `{}`.
    pub async fn update_session_data(
        &self,
        session_handle: &str,
        data: Value,
    ) -> Result<(), SessionError> {
        let body = json!({
            "sessionHandle": session_handle,
            "userDataInDatabase": data_object(data)?,
        });
        let segments = ["recipe", "session", "data"];
        self.http()
            .call(Method::PUT, &segments, &[], Some(&body))
            .await?
            .ok()?;
        Ok(())
    }

    /// Optionally replaces the stored payload, then has the server re-sign the presented access
    /// token with it (same expiry; none when the token has expired).
    pub async fn regenerate_access_token(
        &self,
        access_token: &AccessToken,
        new_payload: Option<Map<String, Value>>,
    ) -> Result<RegeneratedAccessToken, SessionError> {
        let body = RegenerateRequest {
            access_token: access_token.expose().to_owned(),
            user_data_in_jwt: new_payload,
        };
        let segments = ["recipe", "session", "regenerate"];
        let mut reply = self
            .http()
            .call(Method::POST, &segments, &[], Some(&body))
            .await?
            .ok()?;
        Ok(RegeneratedAccessToken {
            session: summary(session(&mut reply)?)?,
            access_token: reply.access_token.take().map(wire::access),
        })
    }
}

/// Whether a locally verified token must still reach the server: with `check_database`, and for
/// an access token minted by a refresh, which names the token it replaced until its first
/// verification; that verification commits the new refresh token on the server (and finds
/// theft), as supertokens-node does for the same claim.
fn needs_server(verified: &VerifiedSession, options: VerifyOptions) -> bool {
    options.check_database || verified.parent_refresh_token_hash1.is_some()
}
