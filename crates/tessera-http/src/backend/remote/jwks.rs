//! The server's public keys, cached. Read on first use (or by `RemoteSessions::connect`), again
//! when the server's `Cache-Control: max-age` (capped by `jwks_max_age`) has passed, so keys
//! the server retired stop verifying here too, and again when a token names an unknown `kid`
//! (the server has a new key). Reads are single-flight and at most one per
//! `jwks_refetch_interval`: anyone can put any `kid` in a token, and forged ones must not turn
//! into a stream of requests to the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use tessera_core::{
    AccessToken, AntiCsrfToken, Clock, JwksVerifier, JwksVerifyError, SessionError, SystemClock,
    VerifiedSession, VerifiedTokens,
};
use tokio::sync::Mutex;

use super::http::Http;

/// Access tokens remembered as verified, as the engine's default.
const VERIFIED_TOKEN_CACHE_ENTRIES: usize = 10_000;

/// A key set and how long it may be used.
struct Fetched {
    verifier: JwksVerifier,
    fetched_at: Instant,
    max_age: Duration,
}

impl Fetched {
    fn is_fresh(&self) -> bool {
        self.fetched_at.elapsed() < self.max_age
    }

    /// A stale set still serves while the server cannot be reached, for one more `max_age`:
    /// an outage of the key endpoint must not sign everyone out, nor keep a retired key forever.
    fn is_usable(&self) -> bool {
        self.fetched_at.elapsed() < self.max_age.saturating_mul(2)
    }
}

pub(super) struct JwksCache {
    keys: ArcSwapOption<Fetched>,
    /// When the last read started; held across a read so concurrent callers share its result.
    last_fetch: Mutex<Option<Instant>>,
    min_interval: Duration,
    max_age_cap: Duration,
    /// Tokens verified before: the same token again skips the signature check.
    verified: VerifiedTokens,
}

/// Why the keys are being read again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// None yet, or the set is past its max-age: wait for nothing.
    Stale,
    /// A token named a key the set lacks: at most one read per interval.
    UnknownKid,
}

impl JwksCache {
    pub(super) fn new(min_interval: Duration, max_age_cap: Duration) -> Self {
        Self {
            keys: ArcSwapOption::empty(),
            last_fetch: Mutex::new(None),
            min_interval,
            max_age_cap,
            verified: VerifiedTokens::new(VERIFIED_TOKEN_CACHE_ENTRIES),
        }
    }

    /// Verifies locally; only missing, stale or unknown keys cause a request.
    pub(super) async fn verify(
        &self,
        http: &Http,
        access_token: &AccessToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        do_anti_csrf_check: bool,
    ) -> Result<VerifiedSession, SessionError> {
        let verify = |keys: &Fetched| {
            self.verify_with(keys, access_token, anti_csrf_token, do_anti_csrf_check)
        };
        let mut seen = self.keys.load_full();
        if seen.as_ref().is_none_or(|keys| !keys.is_fresh()) {
            seen = Some(self.refetch(http, seen.as_ref(), Reason::Stale).await?);
        }
        if let Some(keys) = &seen {
            match verify(keys) {
                Err(JwksVerifyError::UnknownKey) => {}
                other => return other.map_err(SessionError::from),
            }
        }
        let keys = self
            .refetch(http, seen.as_ref(), Reason::UnknownKid)
            .await?;
        verify(&keys).map_err(SessionError::from)
    }

    /// [`verify`](Self::verify) when the keys held are fresh and know the token's `kid`; `None`
    /// when the keys must be read first.
    pub(super) fn verify_now(
        &self,
        access_token: &AccessToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        do_anti_csrf_check: bool,
    ) -> Option<Result<VerifiedSession, SessionError>> {
        let guard = self.keys.load();
        let keys = guard.as_ref().filter(|keys| keys.is_fresh())?;
        match self.verify_with(keys, access_token, anti_csrf_token, do_anti_csrf_check) {
            Err(JwksVerifyError::UnknownKey) => None,
            other => Some(other.map_err(SessionError::from)),
        }
    }

    /// The token checked against `keys`, through the verified-token cache.
    fn verify_with(
        &self,
        keys: &Fetched,
        access_token: &AccessToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        do_anti_csrf_check: bool,
    ) -> Result<VerifiedSession, JwksVerifyError> {
        keys.verifier.verify_cached(
            &self.verified,
            access_token,
            anti_csrf_token,
            do_anti_csrf_check,
            SystemClock.now(),
        )
    }

    /// Reads the keys now, whatever the rate limit (start-up).
    pub(super) async fn load(&self, http: &Http) -> Result<(), SessionError> {
        let mut last_fetch = self.last_fetch.lock().await;
        *last_fetch = Some(Instant::now());
        let fetched = self.fetch(http).await?;
        self.keys.store(Some(fetched));
        Ok(())
    }

    async fn fetch(&self, http: &Http) -> Result<Arc<Fetched>, SessionError> {
        let fetched_at = Instant::now();
        let (verifier, max_age) = http.jwks().await?;
        tracing::debug!(keys = verifier.len(), "fetched the session server's JWKS");
        Ok(Arc::new(Fetched {
            verifier,
            fetched_at,
            max_age: max_age.map_or(self.max_age_cap, |age| age.min(self.max_age_cap)),
        }))
    }

    /// The keys after a read, or the current ones when another caller read them since `seen`
    /// was loaded. For an unknown `kid` a read waits until the interval since the last one has
    /// passed: answering "try refresh" instead would let a stream of forged kids keep a newly
    /// rotated key unknown here, and the clients holding its tokens refreshing in a loop.
    async fn refetch(
        &self,
        http: &Http,
        seen: Option<&Arc<Fetched>>,
        reason: Reason,
    ) -> Result<Arc<Fetched>, SessionError> {
        let mut last_fetch = self.last_fetch.lock().await;
        let current = self.keys.load_full();
        let changed = match (&current, seen) {
            (Some(current), Some(seen)) => !Arc::ptr_eq(current, seen),
            (current, seen) => current.is_some() != seen.is_some(),
        };
        if let (true, Some(current)) = (changed, &current) {
            return Ok(Arc::clone(current));
        }
        if let (Reason::Stale, Some(current), Some(at)) = (reason, &current, *last_fetch) {
            // A read started after this set's failed; until the interval has passed the stale
            // set serves, rather than a request (and its timeout) per call.
            let failed_recently = at > current.fetched_at && at.elapsed() < self.min_interval;
            if failed_recently && current.is_usable() {
                return Ok(Arc::clone(current));
            }
        }
        if reason == Reason::UnknownKid {
            if let Some(at) = *last_fetch {
                tokio::time::sleep_until((at + self.min_interval).into()).await;
            }
        }
        *last_fetch = Some(Instant::now());
        match self.fetch(http).await {
            Ok(fetched) => {
                self.keys.store(Some(Arc::clone(&fetched)));
                Ok(fetched)
            }
            Err(e) => match current {
                Some(current) if current.is_usable() => {
                    tracing::warn!(error = %e, "session server's JWKS unreadable; using the cached keys");
                    Ok(current)
                }
                _ => Err(e),
            },
        }
    }
}
