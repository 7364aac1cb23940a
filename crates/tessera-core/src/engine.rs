//! [`Sessions`]: the session engine's API.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::claims::{check_custom_payload, AccessTokenClaims};
use crate::clock::{Clock, SystemClock};
use crate::config::StaleRevocations;
use crate::config::{KeyKind, SessionConfig};
use crate::device::DeviceKey;
use crate::error::{GeneralError, SessionError};
use crate::jwt::legacy as legacy_jwt;
use crate::jwt::{self, UnverifiedToken};
use crate::keys::{Jwks, KeyRing, KeyRingSettings, SigningKeyInfo};
use crate::revocations::{Revocations, SKEW_MARGIN};
use crate::rotation::RotationPolicy;
use crate::secret::{
    hash2_from_hash1, random_token, refresh_token_hash1, sha256_hex, AccessToken, AntiCsrfToken,
    RefreshToken,
};
use crate::store::{
    ChildToken, DeviceProof, PresentOutcome, Presentation, PresentationKind, RefreshTokenRecord,
    RevocationRecord, SessionRecord, SessionStore, TenantRecord,
};
use crate::tenants::{check_tenant_id, is_default_tenant};
use crate::theft::{in_issue_order, TheftQuery, TheftReport, TokenTrace};
use crate::time::Timestamp;
use crate::token_cache::{Entry as CachedToken, VerifiedTokens};
use crate::token_version::AccessTokenVersion;
use crate::types::{
    Issued, NewSession, RefreshOptions, RegeneratedAccessToken, SessionClaims, SessionInfo,
    SessionSummary, SessionTokens, VerifiedSession, VerifyOptions, DEFAULT_TENANT,
};
use crate::verify::check_claims;

/// What a verification asks the store after the token's own checks.
enum StoreStep {
    /// The first verification of a refreshed token: commit its refresh token (or find theft).
    FirstUse,
    /// The caller, or a stale view of revocations, wants the session confirmed.
    Confirm,
}

/// How long SDKs of protocol versions before 2.21 may cache the static key.
const TEN_YEARS: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// A public key as SDKs of protocol versions before 2.21 read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyPublicKey {
    /// X.509 SubjectPublicKeyInfo DER, standard base64, no PEM armour.
    pub public_key: String,
    /// When the key was made, to the millisecond.
    pub created_at: Timestamp,
    /// Until when SDKs may use it, to the millisecond.
    pub expires_at: Timestamp,
    /// Whether it is the static key.
    pub is_static: bool,
}

/// Refresh tokens carry 256 bits of randomness.
const REFRESH_TOKEN_BYTES: usize = 32;
/// The longest user id accepted, in bytes: what every store's column holds (MySQL's is 512
/// characters).
pub const MAX_USER_ID_BYTES: usize = 512;
/// Anything longer than this cannot be a refresh token Tessera issued.
const MAX_REFRESH_TOKEN_LEN: usize = 512;

mod device_binding;
pub use device_binding::{DeviceBinding, DeviceChallenge, DeviceError, DEVICE_CHALLENGE_LIFETIME};

/// The session engine. Cheap to clone; clones share the store, the key cache and the clock.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use tessera_core::{testing::MemoryStore, NewSession, SessionConfig, Sessions, VerifyOptions};
///
/// let sessions = Sessions::new(MemoryStore::default(), SessionConfig::default());
/// let created = sessions.create_new_session(NewSession::new("alice")).await?;
/// let verified = sessions
///     .get_session(&created.access_token.token, None, VerifyOptions::default())
///     .await?;
/// assert_eq!(verified.user_id, "alice");
///
/// let refreshed = sessions.refresh_session(&created.refresh_token.token, None).await?;
/// assert_ne!(refreshed.refresh_token.token, created.refresh_token.token);
/// # Ok::<(), tessera_core::SessionError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn SessionStore>,
    config: SessionConfig,
    clock: Arc<dyn Clock>,
    keys: KeyRing,
    verified: VerifiedTokens,
    revocations: Revocations,
}

/// Log entries read per query while catching up.
const REVOCATION_BATCH: u32 = 10_000;

/// What [`Sessions::revocation_status`] reports: how current this process's view of revoked
/// sessions is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevocationStatus {
    /// Time since the revocation log was last read; `None` when no follower runs (only this
    /// process's own revocations are known).
    pub lag: Option<Duration>,
    /// Revoked sessions held in memory (their access tokens may still be unexpired).
    pub revoked_sessions: usize,
    /// Whether the view is stale: not read for longer than the access-token validity.
    pub stale: bool,
}

impl Sessions {
    /// An engine over `store` reading the system clock.
    pub fn new(store: impl SessionStore, config: SessionConfig) -> Self {
        Self::with_clock(Arc::new(store), config, Arc::new(SystemClock))
    }

    /// An engine over a shared store with a chosen clock (tests pass a [`ManualClock`](crate::ManualClock)).
    pub fn with_clock(
        store: Arc<dyn SessionStore>,
        config: SessionConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let keys = KeyRing::new(KeyRingSettings {
            algorithm: config.signing_algorithm,
            interval: config
                .signing_key_update_interval
                .max(Duration::from_millis(1)),
            access_token_validity: config.access_token_validity,
            unknown_kid_reload: config.unknown_kid_reload_interval,
        });
        Self {
            inner: Arc::new(Inner {
                store,
                verified: VerifiedTokens::new(config.verified_token_cache_entries),
                revocations: Revocations::new(),
                config,
                clock,
                keys,
            }),
        }
    }

    /// The engine's settings.
    pub fn config(&self) -> &SessionConfig {
        &self.inner.config
    }

    /// The store the engine writes to.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.inner.store
    }

    /// The engine's clock: what a process that runs engines reads the time from, so that every
    /// part of it (and every test that moves a manual clock) agrees on the time.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// The time of a rotation event, to the microsecond, with its millisecond reading for
    /// expiries.
    fn now_micros(&self) -> (Timestamp, Timestamp) {
        let now = self.inner.clock.now_micros();
        (now, now.whole_millis())
    }

    fn rotation_policy(&self, check_anti_csrf: bool) -> RotationPolicy {
        let config = &self.inner.config;
        RotationPolicy {
            grace: config.refresh_token_rotation_grace_period,
            refresh_validity: config.refresh_token_validity,
            revoke_on_theft: config.revoke_on_theft,
            check_anti_csrf,
        }
    }

    /// Creates a session and its first tokens.
    pub async fn create_new_session(&self, new: NewSession) -> Result<SessionTokens, SessionError> {
        // The legacy layouts nest the custom claims under `userData`, where any name goes.
        if !new.token_version.is_legacy() {
            check_custom_payload(&new.access_token_payload)?;
        }
        if new.user_id.len() > MAX_USER_ID_BYTES {
            return Err(GeneralError::InvalidArgument(format!(
                "user id is {} bytes long; at most {MAX_USER_ID_BYTES} are accepted",
                new.user_id.len()
            ))
            .into());
        }
        let config = &self.inner.config;
        let (now_us, now) = self.now_micros();
        let refresh_token = RefreshToken::new(random_token(REFRESH_TOKEN_BYTES));
        let hash1 = refresh_token_hash1(&refresh_token);
        let anti_csrf = new
            .anti_csrf
            .unwrap_or(config.anti_csrf)
            .then(|| AntiCsrfToken::new(uuid::Uuid::new_v4().to_string()));
        let key_kind = new.key_kind.unwrap_or(config.default_key_kind);
        let record = SessionRecord {
            handle: uuid::Uuid::new_v4().to_string(),
            user_id: new.user_id,
            tenant_id: new.tenant_id,
            created_at: now,
            expires_at: now + config.refresh_token_validity,
            session_data: new.session_data,
            access_token_payload: new.access_token_payload,
            use_static_key: key_kind == KeyKind::Static,
            device_key: None,
        };
        let first_token = RefreshTokenRecord {
            hash2: hash2_from_hash1(&hash1),
            session_handle: record.handle.clone(),
            presented_hash2: None,
            issued_at: now_us,
            dead_since: None,
            killed_by: None,
            anti_csrf_hash: anti_csrf
                .as_ref()
                .map(|t| sha256_hex(t.expose().as_bytes())),
        };
        self.check_tokens_fit(&record, &record.access_token_payload, now)
            .await?;
        // Sign before writing so a key failure leaves no orphan session behind.
        let access_token = self
            .mint_access_token(
                &record,
                TokenLinks {
                    refresh_token_hash1: &hash1,
                    parent_refresh_token_hash1: None,
                    anti_csrf: anti_csrf.as_ref(),
                },
                now,
                None,
                MintAs {
                    version: new.token_version,
                    family: None,
                },
            )
            .await?;
        self.inner
            .store
            .create_session(record.clone(), first_token)
            .await?;
        tracing::debug!(session_handle = %record.handle, "session created");
        Ok(SessionTokens {
            refresh_token: Issued {
                token: refresh_token,
                expiry: record.expires_at,
                created_at: now,
            },
            session: summary(record),
            access_token,
            anti_csrf_token: anti_csrf,
        })
    }

    /// Verifies an access token. Touches the store only for the first verification of an access
    /// token minted by a refresh (it carries `parentRefreshTokenHash1`; that verification commits
    /// its refresh token and hands back a token without the claim in
    /// [`new_access_token`](VerifiedSession::new_access_token)) and with `check_database`;
    /// otherwise a token signed by a known key is checked in memory.
    pub async fn get_session(
        &self,
        access_token: &AccessToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        options: VerifyOptions,
    ) -> Result<VerifiedSession, SessionError> {
        let now = self.now();
        // The paths that await are boxed so that this future stays small: it lives inside every
        // protected request's handler future, which the router moves into a box per request, and
        // it would otherwise carry the store and signing futures' space.
        let claims = match self.cached(access_token) {
            Some(entry) => Arc::clone(&entry.claims),
            None => Box::pin(self.check_signature(access_token, now)).await?,
        };
        let verified = self.checked(claims, anti_csrf_token, options, now)?;
        let Some(step) = self.store_step(&verified, options, now) else {
            return Ok(verified);
        };
        let mint_as = self.mint_as_presented(access_token, verified.token_version);
        match step {
            StoreStep::FirstUse => Box::pin(self.first_use(verified, mint_as)).await,
            StoreStep::Confirm => Box::pin(self.confirm_in_store(verified, now, mint_as)).await,
        }
    }

    /// [`get_session`](Self::get_session) when it can finish without awaiting, the hot path of
    /// every protected request: the token was verified before and nothing needs the store.
    /// `None` means it cannot; then call `get_session`. For callers whose every await costs (a
    /// web framework that boxes each extractor's future).
    pub fn get_session_now(
        &self,
        access_token: &AccessToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        options: VerifyOptions,
    ) -> Option<Result<VerifiedSession, SessionError>> {
        let now = self.now();
        let claims = Arc::clone(&self.cached(access_token)?.claims);
        match self.checked(claims, anti_csrf_token, options, now) {
            Ok(verified) if self.store_step(&verified, options, now).is_some() => None,
            done => Some(done),
        }
    }

    /// The checks on a token whose signature holds: expiry, anti-CSRF, revocation.
    fn checked(
        &self,
        claims: Arc<SessionClaims>,
        anti_csrf_token: Option<&AntiCsrfToken>,
        options: VerifyOptions,
        now: Timestamp,
    ) -> Result<VerifiedSession, SessionError> {
        let verified = check_claims(claims, anti_csrf_token, options.do_anti_csrf_check, now)?;
        if self.inner.revocations.is_revoked(&verified.handle) {
            return Err(SessionError::unauthorised("session revoked"));
        }
        Ok(verified)
    }

    /// What a verification must still ask the store, if anything.
    fn store_step(
        &self,
        verified: &VerifiedSession,
        options: VerifyOptions,
        now: Timestamp,
    ) -> Option<StoreStep> {
        if verified.parent_refresh_token_hash1.is_some() {
            Some(StoreStep::FirstUse)
        } else if options.check_database || self.must_check_store(now) {
            Some(StoreStep::Confirm)
        } else {
            None
        }
    }

    /// A verification the caller (or a stale view of revocations) wants confirmed by the store:
    /// the session must still exist, and a token carrying an outdated payload is re-minted.
    async fn confirm_in_store(
        &self,
        verified: VerifiedSession,
        now: Timestamp,
        mint_as: MintAs,
    ) -> Result<VerifiedSession, SessionError> {
        let Some(session) = self.inner.store.session(&verified.handle, now).await? else {
            return Err(SessionError::unauthorised(
                "session does not exist or has expired",
            ));
        };
        self.with_stored_payload(verified, &session, now, mint_as)
            .await
    }

    /// The first verification of an access token minted by a refresh: presents its refresh token
    /// to the store, which commits it (the client has moved past the token it refreshed with) or
    /// finds it stale (theft), and re-mints the access token without `parentRefreshTokenHash1` so
    /// later verifications stay off the store.
    async fn first_use(
        &self,
        verified: VerifiedSession,
        mint_as: MintAs,
    ) -> Result<VerifiedSession, SessionError> {
        let (now_us, now) = self.now_micros();
        let presentation = Presentation {
            presented_hash2: hash2_from_hash1(&verified.refresh_token_hash1),
            kind: PresentationKind::AccessToken,
            now: now_us,
            policy: self.rotation_policy(false),
        };
        let session = match self.inner.store.present(presentation).await? {
            PresentOutcome::Accepted { session, .. } if session.handle == verified.handle => {
                session
            }
            PresentOutcome::Accepted { .. } => {
                return Err(SessionError::unauthorised(
                    "access token does not match its refresh token",
                ))
            }
            outcome => return Err(self.refused(outcome, now)),
        };
        self.reissue(verified, &session, now, mint_as).await
    }

    /// Re-mints the access token when the stored payload differs from the one it carries.
    async fn with_stored_payload(
        &self,
        verified: VerifiedSession,
        session: &SessionRecord,
        now: Timestamp,
        mint_as: MintAs,
    ) -> Result<VerifiedSession, SessionError> {
        if session.access_token_payload == verified.access_token_payload {
            return Ok(verified);
        }
        self.reissue(verified, session, now, mint_as).await
    }

    /// A new access token for the same refresh token, with the stored payload, a full lifetime
    /// and no `parentRefreshTokenHash1`, handed back in
    /// [`new_access_token`](VerifiedSession::new_access_token).
    async fn reissue(
        &self,
        mut verified: VerifiedSession,
        session: &SessionRecord,
        now: Timestamp,
        mint_as: MintAs,
    ) -> Result<VerifiedSession, SessionError> {
        let reissued = self
            .mint_access_token(
                session,
                TokenLinks {
                    refresh_token_hash1: &verified.refresh_token_hash1,
                    parent_refresh_token_hash1: None,
                    anti_csrf: verified.anti_csrf_token.as_ref(),
                },
                now,
                None,
                mint_as,
            )
            .await?;
        let claims = verified.claims_mut();
        claims.parent_refresh_token_hash1 = None;
        claims.access_token_payload = session.access_token_payload.clone();
        verified.new_access_token = Some(reissued);
        Ok(verified)
    }

    /// Rotates both tokens, checking the anti-CSRF token when the session has one.
    pub async fn refresh_session(
        &self,
        refresh_token: &RefreshToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
    ) -> Result<SessionTokens, SessionError> {
        self.refresh_session_with(refresh_token, anti_csrf_token, RefreshOptions::default())
            .await
    }

    /// [`refresh_session`](Self::refresh_session) with options.
    pub async fn refresh_session_with(
        &self,
        refresh_token: &RefreshToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        options: RefreshOptions,
    ) -> Result<SessionTokens, SessionError> {
        self.rotate(refresh_token, anti_csrf_token, options, DeviceProof::Absent)
            .await
    }

    /// Refreshes with what is known of the device behind the request.
    async fn rotate(
        &self,
        refresh_token: &RefreshToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        options: RefreshOptions,
        device: DeviceProof,
    ) -> Result<SessionTokens, SessionError> {
        check_refresh_token_shape(refresh_token)?;
        let (now_us, now) = self.now_micros();
        let presented_hash1 = refresh_token_hash1(refresh_token);
        let child_token = RefreshToken::new(random_token(REFRESH_TOKEN_BYTES));
        let child_hash1 = refresh_token_hash1(&child_token);
        let child_anti_csrf = AntiCsrfToken::new(uuid::Uuid::new_v4().to_string());
        let presentation = Presentation {
            presented_hash2: hash2_from_hash1(&presented_hash1),
            kind: PresentationKind::Refresh {
                anti_csrf_hash: anti_csrf_token.map(|t| sha256_hex(t.expose().as_bytes())),
                child: ChildToken {
                    hash2: hash2_from_hash1(&child_hash1),
                    anti_csrf_hash: Some(sha256_hex(child_anti_csrf.expose().as_bytes())),
                },
                device,
            },
            now: now_us,
            policy: self.rotation_policy(options.check_anti_csrf),
        };
        match self.inner.store.present(presentation).await? {
            PresentOutcome::Accepted {
                session,
                child_anti_csrf: with_anti_csrf,
            } => {
                let anti_csrf = with_anti_csrf.then_some(child_anti_csrf);
                // The new access token names the refresh token it replaces: its first
                // verification tells the store the client has moved past that one.
                let access_token = self
                    .mint_access_token(
                        &session,
                        TokenLinks {
                            refresh_token_hash1: &child_hash1,
                            parent_refresh_token_hash1: Some(&presented_hash1),
                            anti_csrf: anti_csrf.as_ref(),
                        },
                        now,
                        None,
                        MintAs {
                            version: options.token_version,
                            family: options.key_kind,
                        },
                    )
                    .await
                    .map_err(|error| match error {
                        // A legacy session whose payload cannot move to the asked layout: the
                        // client is signed out, as SuperTokens core answers it.
                        SessionError::General(GeneralError::InvalidArgument(_)) => {
                            SessionError::unauthorised(
                                "the session's access-token payload uses a claim name reserved \
                                 in the newer token layout",
                            )
                        }
                        error => error,
                    })?;
                Ok(SessionTokens {
                    refresh_token: Issued {
                        token: child_token,
                        expiry: session.expires_at,
                        created_at: now,
                    },
                    session: summary(session),
                    access_token,
                    anti_csrf_token: anti_csrf,
                })
            }
            outcome => Err(self.refused(outcome, now)),
        }
    }

    /// Revokes one session; false if it did not exist. Its access tokens are refused at once by
    /// this process, and by every process following the revocation log within its poll interval.
    pub async fn revoke_session(&self, session_handle: &str) -> Result<bool, SessionError> {
        let revoked = self
            .revoke_multiple_sessions(&[session_handle.to_owned()])
            .await?;
        Ok(!revoked.is_empty())
    }

    /// Revokes several sessions; returns the handles that existed.
    pub async fn revoke_multiple_sessions(
        &self,
        session_handles: &[String],
    ) -> Result<Vec<String>, SessionError> {
        let now = self.now();
        let revoked = self
            .inner
            .store
            .revoke_sessions(session_handles, now)
            .await?;
        self.inner.revocations.add(&revoked, now);
        Ok(revoked)
    }

    /// Revokes every session of a user, in one tenant or (`None`) all; returns their handles.
    pub async fn revoke_all_sessions_for_user(
        &self,
        user_id: &str,
        tenant_id: Option<&str>,
    ) -> Result<Vec<String>, SessionError> {
        let now = self.now();
        let revoked = self
            .inner
            .store
            .revoke_sessions_for_user(tenant_id, user_id, now)
            .await?;
        self.inner.revocations.add(&revoked, now);
        Ok(revoked)
    }

    /// Revokes every session in the store, a page at a time, and returns how many: for an app
    /// being removed (or created again under an old id), whose sessions must not outlive it.
    pub async fn revoke_every_session(&self) -> Result<usize, SessionError> {
        const PAGE: u32 = 500;
        let mut after = String::new();
        let mut revoked = 0;
        loop {
            let handles = self.inner.store.session_handles(&after, PAGE).await?;
            let Some(last) = handles.last() else {
                return Ok(revoked);
            };
            after.clone_from(last);
            revoked += self.revoke_multiple_sessions(&handles).await?.len();
        }
    }

    /// Reads the store's revocation log every
    /// [`revocation_poll_interval`](SessionConfig::revocation_poll_interval) until the returned
    /// handle is aborted, so that sessions revoked by other processes over the same store are
    /// refused here too, and at once when the store pushes word of a revocation
    /// ([`RevocationLog::revocation_signal`](crate::RevocationLog::revocation_signal)). Without it
    /// only this process's own revocations are refused before the access tokens expire. Failures
    /// are logged once per outage; see [`revocation_status`].
    ///
    /// [`revocation_status`]: Self::revocation_status
    pub fn spawn_revocation_follower(&self) -> tokio::task::JoinHandle<()> {
        self.inner.revocations.start_following();
        let sessions = self.clone();
        let pushed = sessions.inner.store.revocation_signal();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(sessions.inner.config.revocation_poll_interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                match &pushed {
                    // Wake-ups that arrive during a read leave one permit: the next read follows at
                    // once, and a burst of revocations costs one read, not one each.
                    Some(pushed) => tokio::select! {
                        _ = ticks.tick() => {}
                        () = pushed.notified() => {}
                    },
                    None => {
                        ticks.tick().await;
                    }
                }
                match sessions.follow_revocations().await {
                    Ok(_) if failing => {
                        tracing::info!("revocation log readable again");
                        failing = false;
                    }
                    Ok(_) => {}
                    Err(error) if !failing => {
                        tracing::warn!(
                            %error,
                            "cannot read the revocation log: sessions revoked by other processes \
                             are not refused here until it can be read"
                        );
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
        })
    }

    /// Reads the revocation-log entries this process has not seen yet (what the follower does
    /// each poll); returns how many were read.
    pub async fn follow_revocations(&self) -> Result<usize, SessionError> {
        let now = self.now();
        let since = self.revocations_kept_since(now);
        let (newest, oldest_gap) = self.inner.revocations.read_from(now);
        let store = &self.inner.store;
        let mut read = 0;
        let mut after = newest;
        loop {
            let batch = store.revocations(after, since, REVOCATION_BATCH).await?;
            self.inner.revocations.apply(&batch, now);
            read += batch.len();
            match batch.last() {
                Some(last) if batch.len() == REVOCATION_BATCH as usize => after = last.seq,
                _ => break,
            }
        }
        if let Some(gap_after) = oldest_gap {
            let batch = store
                .revocations(gap_after, since, REVOCATION_BATCH)
                .await?;
            self.inner.revocations.apply(&batch, now);
        }
        self.inner.revocations.prune(since);
        Ok(read)
    }

    /// Revocation-log entries after position `after` whose sessions may still have unexpired
    /// access tokens, oldest first, at most `limit`: what a process that does not read the store
    /// itself (a remote back end) follows.
    pub async fn revocation_log(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<RevocationRecord>, SessionError> {
        let since = self.revocations_kept_since(self.now());
        Ok(self.inner.store.revocations(after, since, limit).await?)
    }

    /// How current this process's view of revoked sessions is.
    pub fn revocation_status(&self) -> RevocationStatus {
        let now = self.now();
        let lag = self.inner.revocations.lag(now);
        RevocationStatus {
            lag,
            revoked_sessions: self.inner.revocations.len(),
            stale: self.revocations_stale(now),
        }
    }

    /// Sessions revoked before this time have no unexpired access token left, so nobody needs
    /// to remember them: the start of the revocation log's useful window.
    pub fn revocations_needed_since(&self) -> Timestamp {
        self.revocations_kept_since(self.now())
    }

    fn revocations_kept_since(&self, now: Timestamp) -> Timestamp {
        now - self.inner.config.access_token_validity - SKEW_MARGIN
    }

    fn revocations_stale(&self, now: Timestamp) -> bool {
        self.inner
            .revocations
            .lag(now)
            .is_some_and(|lag| lag > self.inner.config.access_token_validity)
    }

    /// Whether a verification must confirm the session in the store although the caller did not
    /// ask: the view of revocations is stale and the setting says to fail closed.
    fn must_check_store(&self, now: Timestamp) -> bool {
        self.inner.config.stale_revocations == StaleRevocations::CheckStore
            && self.revocations_stale(now)
    }

    /// The error for a presentation the store refused; a theft that revoked the session is
    /// refused here from now on.
    fn refused(&self, outcome: PresentOutcome, now: Timestamp) -> SessionError {
        if let PresentOutcome::TheftDetected { session_handle, .. } = &outcome {
            if self.inner.config.revoke_on_theft {
                self.inner
                    .revocations
                    .add(std::slice::from_ref(session_handle), now);
            }
        }
        refusal(outcome)
    }

    /// Handles of a user's live sessions, in one tenant or (`None`) all.
    pub async fn get_all_session_handles_for_user(
        &self,
        user_id: &str,
        tenant_id: Option<&str>,
    ) -> Result<Vec<String>, SessionError> {
        Ok(self
            .inner
            .store
            .session_handles_for_user(tenant_id, user_id, self.now())
            .await?)
    }

    /// Everything stored about a live session; `Unauthorised` if there is none.
    pub async fn get_session_info(
        &self,
        session_handle: &str,
    ) -> Result<SessionInfo, SessionError> {
        Ok(session_info(self.live_session(session_handle).await?))
    }

    /// Everything stored about each of a user's live sessions, in one tenant or (`None`) all,
    /// oldest first: one store read, however many sessions.
    pub async fn get_all_sessions_for_user(
        &self,
        user_id: &str,
        tenant_id: Option<&str>,
    ) -> Result<Vec<SessionInfo>, SessionError> {
        let sessions = self
            .inner
            .store
            .sessions_for_user(tenant_id, user_id, self.now())
            .await?;
        Ok(sessions.into_iter().map(session_info).collect())
    }

    /// A live session's server-side data.
    pub async fn get_session_data(&self, session_handle: &str) -> Result<Value, SessionError> {
        Ok(self.live_session(session_handle).await?.session_data)
    }

    /// Replaces a live session's server-side data.
    pub async fn update_session_data(
        &self,
        session_handle: &str,
        data: Value,
    ) -> Result<(), SessionError> {
        let updated = self
            .inner
            .store
            .update_session_data(session_handle, &data, self.now())
            .await?;
        updated
            .then_some(())
            .ok_or_else(|| SessionError::unauthorised("session does not exist or has expired"))
    }

    /// Replaces the claims that access tokens minted from now on will carry.
    pub async fn update_access_token_payload(
        &self,
        session_handle: &str,
        payload: Map<String, Value>,
    ) -> Result<(), SessionError> {
        check_custom_payload(&payload)?;
        let now = self.now();
        let session = self.live_session(session_handle).await?;
        self.check_tokens_fit(&session, &payload, now).await?;
        let updated = self
            .inner
            .store
            .update_access_token_payload(session_handle, &payload, now)
            .await?;
        updated
            .then_some(())
            .ok_or_else(|| SessionError::unauthorised("session does not exist or has expired"))
    }

    /// Optionally replaces the stored payload, then re-signs the presented access token with the
    /// stored payload and the same expiry. An expired (but genuine) token gets no new token.
    pub async fn regenerate_access_token(
        &self,
        access_token: &AccessToken,
        new_payload: Option<Map<String, Value>>,
    ) -> Result<RegeneratedAccessToken, SessionError> {
        let now = self.now();
        let claims = self.verify_signature(access_token, now).await?;
        if let Some(payload) = new_payload {
            self.update_access_token_payload(&claims.handle, payload)
                .await?;
        }
        let session = self.live_session(&claims.handle).await?;
        let expiry = claims.access_token_expiry;
        let access_token = if expiry > now {
            Some(
                self.mint_access_token(
                    &session,
                    TokenLinks {
                        refresh_token_hash1: &claims.refresh_token_hash1,
                        parent_refresh_token_hash1: claims.parent_refresh_token_hash1.as_deref(),
                        anti_csrf: claims.anti_csrf_token.as_ref(),
                    },
                    now,
                    Some(expiry),
                    self.mint_as_presented(access_token, claims.token_version),
                )
                .await?,
            )
        } else {
            None
        };
        Ok(RegeneratedAccessToken {
            session: summary(session),
            access_token,
        })
    }

    /// The public signing keys, for `/.well-known/jwks.json`.
    /// The public signing keys, for `/.well-known/jwks.json`.
    pub async fn jwks(&self) -> Result<Jwks, SessionError> {
        let inner = &self.inner;
        inner
            .keys
            .jwks(
                inner.store.as_ref(),
                inner.config.default_key_kind,
                self.now(),
            )
            .await
    }

    /// Makes sure a key of each family exists, as SuperTokens core makes both when it creates
    /// an app: SDKs that verify the legacy layouts (which name no key) then see every key the
    /// app will sign with, and the JWT recipe's static key is there from the start.
    pub async fn prepare_signing_keys(&self) -> Result<(), SessionError> {
        let inner = &self.inner;
        let now = self.now();
        for kind in [KeyKind::Dynamic, KeyKind::Static] {
            inner
                .keys
                .signing_key(inner.store.as_ref(), kind, now)
                .await?;
        }
        Ok(())
    }

    /// Signs a JWT of the app's own (SuperTokens' JWT recipe, used by the SDKs' OpenID code):
    /// `payload` with `iat`, `exp` after `validity` and, when given, `iss`, under the static or
    /// the current dynamic key, so `/.well-known/jwks.json` verifies it.
    pub async fn create_jwt(
        &self,
        mut payload: Map<String, Value>,
        validity: Duration,
        key_kind: KeyKind,
        issuer: Option<String>,
    ) -> Result<String, SessionError> {
        let now = self.now();
        let key = self
            .inner
            .keys
            .signing_key(self.inner.store.as_ref(), key_kind, now)
            .await?;
        let now_s = now.as_secs();
        let validity_s = i64::try_from(validity.as_secs()).unwrap_or(i64::MAX);
        payload.insert("iat".to_owned(), Value::from(now_s));
        payload.insert(
            "exp".to_owned(),
            Value::from(now_s.saturating_add(validity_s)),
        );
        if let Some(issuer) = issuer {
            payload.insert("iss".to_owned(), Value::from(issuer));
        }
        Ok(jwt::encode_plain(&key, &payload)?)
    }

    /// Creates a tenant or replaces its configuration; returns whether it was created. `public`
    /// always exists, so for it this only stores the configuration.
    pub async fn create_or_update_tenant(
        &self,
        tenant_id: &str,
        config: Map<String, Value>,
    ) -> Result<bool, SessionError> {
        check_tenant_id(tenant_id)?;
        let created = self
            .inner
            .store
            .put_tenant(&TenantRecord {
                tenant_id: tenant_id.to_owned(),
                config,
                created_at: self.now(),
            })
            .await?;
        Ok(created && !is_default_tenant(tenant_id))
    }

    /// The tenant with this id, if it exists (`public` always does).
    pub async fn tenant(&self, tenant_id: &str) -> Result<Option<TenantRecord>, SessionError> {
        let stored = self.inner.store.tenant(tenant_id).await?;
        Ok(match stored {
            None if is_default_tenant(tenant_id) => Some(TenantRecord {
                tenant_id: tenant_id.to_owned(),
                config: Map::new(),
                created_at: Timestamp::EPOCH,
            }),
            other => other,
        })
    }

    /// Every tenant, `public` first.
    pub async fn tenants(&self) -> Result<Vec<TenantRecord>, SessionError> {
        let mut tenants = self.inner.store.tenants().await?;
        if !tenants.iter().any(|t| is_default_tenant(&t.tenant_id)) {
            tenants.push(TenantRecord {
                tenant_id: DEFAULT_TENANT.to_owned(),
                config: Map::new(),
                created_at: Timestamp::EPOCH,
            });
        }
        tenants.sort_by(|a, b| {
            (!is_default_tenant(&a.tenant_id), &a.tenant_id)
                .cmp(&(!is_default_tenant(&b.tenant_id), &b.tenant_id))
        });
        Ok(tenants)
    }

    /// Deletes a tenant and revokes every session in it (refused here at once, and by every
    /// process following the revocation log within its poll interval); false if there was no
    /// such tenant. `public` cannot be deleted.
    pub async fn delete_tenant(&self, tenant_id: &str) -> Result<bool, SessionError> {
        if is_default_tenant(tenant_id) {
            return Err(SessionError::General(GeneralError::InvalidArgument(
                "the public tenant cannot be deleted".to_owned(),
            )));
        }
        let now = self.now();
        match self.inner.store.delete_tenant(tenant_id, now).await? {
            Some(revoked) => {
                self.inner.revocations.add(&revoked, now);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The unexpired signing keys in the store, newest first, marking those that sign now.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyInfo>, SessionError> {
        let inner = &self.inner;
        inner.keys.describe(inner.store.as_ref(), self.now()).await
    }

    /// Creates a dynamic signing key that signs new tokens from now on: in this process at once,
    /// in every other process over the same store within a minute (their next key reload). The
    /// keys it replaces keep verifying until the tokens they signed have expired.
    pub async fn rotate_signing_key(&self) -> Result<SigningKeyInfo, SessionError> {
        let inner = &self.inner;
        inner.keys.rotate(inner.store.as_ref(), self.now()).await
    }

    /// Deletes expired sessions and signing keys, revocation-log entries nobody needs any more
    /// and theft reports older than their retention; returns how many sessions went.
    pub async fn sweep_expired(&self) -> Result<u64, SessionError> {
        let now = self.now();
        let sessions = self.inner.store.delete_expired_sessions(now).await?;
        self.inner.store.delete_expired_signing_keys(now).await?;
        self.inner
            .store
            .delete_old_revocations(self.revocations_kept_since(now))
            .await?;
        self.inner
            .store
            .delete_old_theft_reports(now - self.inner.config.theft_report_retention)
            .await?;
        Ok(sessions)
    }

    /// Recorded thefts matching `query`, newest first (kept for
    /// [`SessionConfig::theft_report_retention`] after each was detected).
    pub async fn theft_reports(
        &self,
        query: &TheftQuery,
    ) -> Result<Vec<TheftReport>, SessionError> {
        Ok(self.inner.store.theft_reports(query).await?)
    }

    /// Whether the session of this access token (genuine, expired or not) was ended by a detected
    /// theft whose report is still kept: what an app tells a user signed out by it.
    pub async fn ended_by_theft(&self, access_token: &AccessToken) -> Result<bool, SessionError> {
        let claims = self.verify_signature(access_token, self.now()).await?;
        let reports = self
            .inner
            .store
            .theft_reports(&TheftQuery {
                session_handle: Some(claims.handle.clone()),
                limit: 1,
                ..TheftQuery::default()
            })
            .await?;
        Ok(reports.iter().any(|report| report.revoked))
    }

    /// A live session's refresh tokens in issue order (the first is number 1), for its
    /// picture; `Unauthorised` if there is no such live session.
    pub async fn session_tokens(
        &self,
        session_handle: &str,
    ) -> Result<Vec<TokenTrace>, SessionError> {
        self.live_session(session_handle).await?;
        let rows = self.inner.store.session_tokens(session_handle).await?;
        let mut tokens: Vec<TokenTrace> = rows.iter().map(TokenTrace::from).collect();
        in_issue_order(&mut tokens);
        Ok(tokens)
    }

    /// Runs [`sweep_expired`](Self::sweep_expired) every `period` until the returned handle is
    /// aborted or the runtime stops.
    pub fn spawn_expiry_sweeper(&self, period: Duration) -> tokio::task::JoinHandle<()> {
        let sessions = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match sessions.sweep_expired().await {
                    Ok(0) => {}
                    Ok(swept) => tracing::debug!(swept, "expired sessions deleted"),
                    Err(error) => tracing::warn!(%error, "expiry sweep failed"),
                }
            }
        })
    }

    async fn live_session(&self, session_handle: &str) -> Result<SessionRecord, SessionError> {
        self.inner
            .store
            .session(session_handle, self.now())
            .await?
            .ok_or_else(|| SessionError::unauthorised("session does not exist or has expired"))
    }

    /// Checks the signature (not the expiry) and decodes the claims, or finds them in the
    /// verified-token cache while the key that signed them is still held.
    async fn verify_signature(
        &self,
        access_token: &AccessToken,
        now: Timestamp,
    ) -> Result<Arc<SessionClaims>, SessionError> {
        match self.cached(access_token) {
            Some(entry) => Ok(Arc::clone(&entry.claims)),
            None => self.check_signature(access_token, now).await,
        }
    }

    /// The cache entry of a token verified before, while the key that signed it is still known.
    fn cached(&self, access_token: &AccessToken) -> Option<Arc<CachedToken>> {
        let inner = &self.inner;
        let entry = inner.verified.get(access_token.expose())?;
        inner.keys.knows_kid(&entry.kid).then_some(entry)
    }

    /// Minting that replaces a token this engine just verified: in its layout (`version`, read
    /// from it), as SuperTokens core re-mints, and of its key family (from the cache, where the
    /// verification left it), so an SDK that checks the family accepts the replacement.
    fn mint_as_presented(&self, access_token: &AccessToken, version: AccessTokenVersion) -> MintAs {
        let family = self
            .inner
            .verified
            .get(access_token.expose())
            .and_then(|entry| {
                [KeyKind::Static, KeyKind::Dynamic]
                    .into_iter()
                    .find(|kind| entry.kid.starts_with(kind.kid_prefix()))
            });
        MintAs { version, family }
    }

    /// Checks the signature of a token not in the cache, and remembers it.
    async fn check_signature(
        &self,
        access_token: &AccessToken,
        now: Timestamp,
    ) -> Result<Arc<SessionClaims>, SessionError> {
        let raw = access_token.expose();
        let inner = &self.inner;
        if legacy_jwt::version_of(raw).is_some() {
            return self.check_legacy_signature(raw, now).await;
        }
        let token = UnverifiedToken::parse(raw).map_err(SessionError::try_refresh)?;
        let (claims, key) = match inner.keys.key_for_encoded_header(token.encoded_header) {
            Some(key) => {
                let algorithm = key.algorithm.jose_name();
                let claims = token
                    .verify(algorithm, key.verifying_key(), AccessTokenVersion::V5)
                    .map_err(SessionError::try_refresh)?;
                (claims, key)
            }
            None => {
                let header = token.header().map_err(SessionError::try_refresh)?;
                let key = inner
                    .keys
                    .verification_key(inner.store.as_ref(), &header.kid, now)
                    .await?
                    .ok_or(SessionError::try_refresh(
                        "access token signed by an unknown key",
                    ))?;
                let claims = token
                    .verify(&header.algorithm, key.verifying_key(), header.version)
                    .map_err(SessionError::try_refresh)?;
                (claims, key)
            }
        };
        Ok(inner.verified.insert(raw, &key.kid, claims))
    }

    /// [`check_signature`](Self::check_signature) for the legacy layouts, which name no key: each
    /// held key is tried, and the keys are reloaded (rate-limited) when none verifies.
    async fn check_legacy_signature(
        &self,
        raw: &str,
        now: Timestamp,
    ) -> Result<Arc<SessionClaims>, SessionError> {
        let inner = &self.inner;
        let mut keys = inner.keys.newest_first();
        let mut verified = legacy_jwt::verify(raw, &keys).map(|(c, k)| (c, Arc::clone(k)));
        if verified.is_err()
            && inner
                .keys
                .reload_for_unknown_key(inner.store.as_ref(), now)
                .await?
        {
            keys = inner.keys.newest_first();
            verified = legacy_jwt::verify(raw, &keys).map(|(c, k)| (c, Arc::clone(k)));
        }
        let (claims, key) = verified.map_err(SessionError::try_refresh)?;
        Ok(inner.verified.insert(raw, &key.kid, claims))
    }

    /// The public keys handed to SDKs of protocol versions before 2.21 (`/handshake` and the
    /// key fields of their replies), newest first, making sure the current key exists. Only
    /// RS256 keys: those versions know no other algorithm.
    pub async fn legacy_public_keys(&self) -> Result<Vec<LegacyPublicKey>, SessionError> {
        let inner = &self.inner;
        let now = self.now();
        inner
            .keys
            .signing_key(inner.store.as_ref(), inner.config.default_key_kind, now)
            .await?;
        let interval = inner.config.signing_key_update_interval;
        Ok(inner
            .keys
            .newest_first()
            .iter()
            .filter(|key| key.expires_at.is_none_or(|expiry| expiry > now))
            .filter_map(|key| {
                Some(LegacyPublicKey {
                    public_key: key.legacy_public_key.clone()?,
                    created_at: key.created_at,
                    // What SDKs cache the key until: the next rotation for a dynamic key.
                    expires_at: match key.expires_at {
                        Some(_) => key.created_at + interval,
                        None => key.created_at + TEN_YEARS,
                    },
                    is_static: key.expires_at.is_none(),
                })
            })
            .collect())
    }

    /// Refuses a session whose access tokens could grow past what verification accepts: the
    /// longest token it can be given carries a parent hash and an anti-CSRF token, so a session
    /// that passes here never meets the limit on a later refresh.
    async fn check_tokens_fit(
        &self,
        session: &SessionRecord,
        payload: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<(), SessionError> {
        let key = self.signing_key_for(session, None, now).await?;
        let hash_placeholder = "0".repeat(64);
        let longest = AccessTokenClaims {
            user_id: session.user_id.clone(),
            exp: (now + self.inner.config.access_token_validity).as_secs(),
            iat: now.as_secs(),
            session_handle: session.handle.clone(),
            refresh_token_hash1: hash_placeholder.clone(),
            parent_refresh_token_hash1: Some(hash_placeholder),
            anti_csrf_token: Some(uuid::Uuid::nil().to_string()),
            tenant_id: session.tenant_id.clone(),
            recipe_user_id: session.user_id.clone(),
            payload: payload.clone(),
            version: AccessTokenVersion::V5,
        };
        let body = jwt::serialise(&longest)?;
        jwt::check_len(jwt::encoded_len(&key, body.len()))?;
        Ok(())
    }

    /// The key for a session's next access token: of the family asked for (an SDK that changed
    /// its setting, or the family of the token being replaced), else the session's own.
    async fn signing_key_for(
        &self,
        session: &SessionRecord,
        family: Option<KeyKind>,
        now: Timestamp,
    ) -> Result<Arc<crate::keys::SigningKey>, SessionError> {
        let kind = family.unwrap_or(if session.use_static_key {
            KeyKind::Static
        } else {
            KeyKind::Dynamic
        });
        self.inner
            .keys
            .signing_key(self.inner.store.as_ref(), kind, now)
            .await
    }

    async fn mint_access_token(
        &self,
        session: &SessionRecord,
        links: TokenLinks<'_>,
        now: Timestamp,
        fixed_expiry: Option<Timestamp>,
        mint_as: MintAs,
    ) -> Result<Issued<AccessToken>, SessionError> {
        let inner = &self.inner;
        let key = self.signing_key_for(session, mint_as.family, now).await?;
        let expiry = fixed_expiry.unwrap_or(now + inner.config.access_token_validity);
        let claims = AccessTokenClaims {
            user_id: session.user_id.clone(),
            exp: expiry.as_secs(),
            iat: now.as_secs(),
            session_handle: session.handle.clone(),
            refresh_token_hash1: links.refresh_token_hash1.to_owned(),
            parent_refresh_token_hash1: links.parent_refresh_token_hash1.map(str::to_owned),
            anti_csrf_token: links.anti_csrf.map(|t| t.expose().to_owned()),
            tenant_id: session.tenant_id.clone(),
            recipe_user_id: session.user_id.clone(),
            payload: session.access_token_payload.clone(),
            version: mint_as.version,
        };
        // The custom claims sit beside the reserved ones from V3 on (under `userData` before):
        // a legacy session whose payload uses a reserved name cannot move to those layouts.
        if !mint_as.version.is_legacy() {
            check_custom_payload(&claims.payload)?;
        }
        Ok(Issued {
            token: AccessToken::new(jwt::encode(&key, &claims, mint_as.version)?),
            expiry: Timestamp::from_secs(claims.exp),
            created_at: now,
        })
    }
}

/// How a new access token is minted: the layout its caller reads, and the key family when it is
/// not the session's own (an SDK that switched `useDynamicSigningKey`, whose token a
/// verification replaces with one of the same family).
#[derive(Clone, Copy)]
struct MintAs {
    version: AccessTokenVersion,
    family: Option<KeyKind>,
}

/// What ties an access token to its session's refresh tokens.
struct TokenLinks<'a> {
    /// `H(refresh token)` of the refresh token it was minted with.
    refresh_token_hash1: &'a str,
    /// `H(refresh token)` of the token refreshed to mint it, until its first use.
    parent_refresh_token_hash1: Option<&'a str>,
    anti_csrf: Option<&'a AntiCsrfToken>,
}

/// The error for a presentation the store refused.
fn refusal(outcome: PresentOutcome) -> SessionError {
    match outcome {
        PresentOutcome::Rejected {
            reason,
            clear_tokens,
        } => SessionError::Unauthorised {
            clear_tokens,
            reason,
        },
        PresentOutcome::TheftDetected {
            user_id,
            session_handle,
        } => {
            tracing::warn!(%session_handle, "refresh token theft detected");
            SessionError::TokenTheftDetected {
                user_id,
                session_handle,
            }
        }
        PresentOutcome::Accepted { .. } => {
            SessionError::unauthorised("session does not exist or has expired")
        }
    }
}

/// Refuses what cannot be a refresh token Tessera issued before touching the store.
fn check_refresh_token_shape(refresh_token: &RefreshToken) -> Result<(), SessionError> {
    let length = refresh_token.expose().len();
    if length == 0 || length > MAX_REFRESH_TOKEN_LEN {
        return Err(SessionError::unauthorised("malformed refresh token"));
    }
    Ok(())
}

fn summary(session: SessionRecord) -> SessionSummary {
    SessionSummary {
        handle: session.handle,
        user_id: session.user_id,
        tenant_id: session.tenant_id,
        access_token_payload: session.access_token_payload,
    }
}

/// What a caller may know about a stored session: all of it, the device key as its thumbprint.
fn session_info(session: SessionRecord) -> SessionInfo {
    SessionInfo {
        handle: session.handle,
        user_id: session.user_id,
        tenant_id: session.tenant_id,
        session_data: session.session_data,
        access_token_payload: session.access_token_payload,
        expiry: session.expires_at,
        created_at: session.created_at,
        device_thumbprint: session
            .device_key
            .as_deref()
            .and_then(|stored| DeviceKey::from_stored(stored).ok())
            .map(|key| key.thumbprint().to_owned()),
    }
}
