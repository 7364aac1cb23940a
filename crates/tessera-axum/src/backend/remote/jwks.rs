//! The server's public keys, cached. Read on first use (or by `RemoteSessions::connect`), read
//! again when a token names an unknown `kid` (the server has rotated its key), but at most once
//! per `jwks_refetch_interval`: anyone can put any `kid` in a token, and forged ones must not
//! turn into a stream of requests to the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use tessera_core::{
    AccessToken, AntiCsrfToken, Clock, GeneralError, JwksVerifier, JwksVerifyError, SessionError,
    SystemClock, VerifiedSession,
};
use tokio::sync::Mutex;

use super::http::Http;

pub(super) struct JwksCache {
    keys: ArcSwapOption<JwksVerifier>,
    /// When the last fetch started; held across a fetch so concurrent callers share its result.
    last_fetch: Mutex<Option<Instant>>,
    min_interval: Duration,
}

impl JwksCache {
    pub(super) fn new(min_interval: Duration) -> Self {
        Self {
            keys: ArcSwapOption::empty(),
            last_fetch: Mutex::new(None),
            min_interval,
        }
    }

    /// Verifies locally; only an unknown `kid` (or no keys yet) can cause a request.
    pub(super) async fn verify(
        &self,
        http: &Http,
        access_token: &AccessToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        do_anti_csrf_check: bool,
    ) -> Result<VerifiedSession, SessionError> {
        let seen = self.keys.load_full();
        if let Some(keys) = &seen {
            match keys.verify(
                access_token,
                anti_csrf_token,
                do_anti_csrf_check,
                SystemClock.now(),
            ) {
                Err(JwksVerifyError::UnknownKey) => {}
                other => return other.map_err(SessionError::from),
            }
        }
        let keys = self.refetch(http, seen.as_ref()).await?;
        keys.verify(
            access_token,
            anti_csrf_token,
            do_anti_csrf_check,
            SystemClock.now(),
        )
        .map_err(SessionError::from)
    }

    /// Reads the keys now, whatever the rate limit (start-up).
    pub(super) async fn load(&self, http: &Http) -> Result<(), SessionError> {
        let mut last_fetch = self.last_fetch.lock().await;
        *last_fetch = Some(Instant::now());
        self.keys.store(Some(Arc::new(http.jwks().await?)));
        Ok(())
    }

    /// The keys after a refetch, or the current ones when another caller refetched since `seen`
    /// was read or the last fetch is too recent.
    async fn refetch(
        &self,
        http: &Http,
        seen: Option<&Arc<JwksVerifier>>,
    ) -> Result<Arc<JwksVerifier>, SessionError> {
        let mut last_fetch = self.last_fetch.lock().await;
        let current = self.keys.load_full();
        let changed = match (&current, seen) {
            (Some(current), Some(seen)) => !Arc::ptr_eq(current, seen),
            (current, seen) => current.is_some() != seen.is_some(),
        };
        let too_soon = last_fetch.is_some_and(|at| at.elapsed() < self.min_interval);
        if changed || too_soon {
            return current.ok_or_else(|| {
                GeneralError::Remote("the server's signing keys could not be read yet".to_owned())
                    .into()
            });
        }
        *last_fetch = Some(Instant::now());
        let keys = Arc::new(http.jwks().await?);
        tracing::debug!(keys = keys.len(), "fetched the session server's JWKS");
        self.keys.store(Some(Arc::clone(&keys)));
        Ok(keys)
    }
}
