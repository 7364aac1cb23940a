//! The in-memory key ring: which key signs now, which keys verify, and when to ask the store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::Mutex;

use super::material::{generate, slot_for, Jwks, SigningKey};
use crate::clock::UnixMillis;
use crate::config::{KeyKind, SigningAlgorithm};
use crate::error::{GeneralError, SessionError};
use crate::store::SessionStore;

/// How stale the published key set may get: keys another process created (a static key, say) are
/// picked up by a reload at most this long after they appear. The store is read at most once per
/// this interval for the JWKS, however often it is fetched.
const JWKS_RELOAD_MS: i64 = 60_000;

/// Extra life for a dynamic key beyond the last token it can have signed, for clock skew between
/// servers.
const KEY_EXPIRY_MARGIN_MS: i64 = 60_000;

#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, Arc<SigningKey>>,
    by_slot: HashMap<String, Arc<SigningKey>>,
    /// Keyed by the exact base64url header segment each key puts on its tokens.
    by_encoded_header: HashMap<String, Arc<SigningKey>>,
    /// Every key, newest first: the JWKS order.
    newest_first: Vec<Arc<SigningKey>>,
}

pub(crate) struct KeyRingSettings {
    pub(crate) algorithm: SigningAlgorithm,
    pub(crate) interval_ms: i64,
    pub(crate) access_token_validity_ms: i64,
    pub(crate) unknown_kid_reload_ms: i64,
}

/// Signing keys cached from the store. Verification reads the cache without locking; the store is
/// consulted when a rotation is due, and for an unknown `kid` at most once per reload interval.
pub(crate) struct KeyRing {
    settings: KeyRingSettings,
    keys: ArcSwap<KeySet>,
    reload: Mutex<()>,
    last_unknown_kid_reload: AtomicI64,
    last_reload: AtomicI64,
}

impl KeyRing {
    pub(crate) fn new(settings: KeyRingSettings) -> Self {
        Self {
            settings,
            keys: ArcSwap::from_pointee(KeySet::default()),
            reload: Mutex::new(()),
            last_unknown_kid_reload: AtomicI64::new(i64::MIN),
            last_reload: AtomicI64::new(i64::MIN),
        }
    }

    /// The key that signs tokens minted at `now`, creating it (once across every process sharing
    /// the store) when its slot has none yet.
    pub(crate) async fn signing_key(
        &self,
        store: &dyn SessionStore,
        kind: KeyKind,
        now: UnixMillis,
    ) -> Result<Arc<SigningKey>, SessionError> {
        let slot = slot_for(
            kind,
            self.settings.algorithm,
            self.settings.interval_ms,
            now,
        );
        if let Some(key) = self.keys.load().by_slot.get(&slot) {
            return Ok(Arc::clone(key));
        }
        let _reloading = self.reload.lock().await;
        if let Some(key) = self.keys.load().by_slot.get(&slot) {
            return Ok(Arc::clone(key));
        }
        self.reload_locked(store, now).await?;
        if let Some(key) = self.keys.load().by_slot.get(&slot) {
            return Ok(Arc::clone(key));
        }
        let expires_at = match kind {
            KeyKind::Static => None,
            KeyKind::Dynamic => {
                let interval = self.settings.interval_ms.max(1);
                let slot_end = (now.div_euclid(interval) + 1).saturating_mul(interval);
                Some(
                    slot_end
                        .saturating_add(self.settings.access_token_validity_ms)
                        .saturating_add(KEY_EXPIRY_MARGIN_MS),
                )
            }
        };
        let algorithm = self.settings.algorithm;
        let candidate_slot = slot.clone();
        let candidate = tokio::task::spawn_blocking(move || {
            generate(kind, algorithm, candidate_slot, now, expires_at)
        })
        .await
        .map_err(|_| GeneralError::Key("key generation task failed"))??;
        let inserted = store.insert_signing_key(&candidate).await?;
        if inserted {
            tracing::info!(kid = %candidate.kid, slot = %candidate.slot, "created signing key");
        }
        self.reload_locked(store, now).await?;
        self.keys
            .load()
            .by_slot
            .get(&slot)
            .cloned()
            .ok_or_else(|| GeneralError::Key("signing key vanished after creation").into())
    }

    /// The key whose tokens carry exactly this header segment, if it is cached. Such a header is
    /// byte for byte one Tessera wrote, so its `alg` and `kid` need no parsing.
    pub(crate) fn key_for_encoded_header(&self, encoded_header: &str) -> Option<Arc<SigningKey>> {
        self.keys
            .load()
            .by_encoded_header
            .get(encoded_header)
            .cloned()
    }

    /// Whether a key with this `kid` is held (a cached verification is good only while it is).
    pub(crate) fn knows_kid(&self, kid: &str) -> bool {
        self.keys.load().by_kid.contains_key(kid)
    }

    /// The key with this `kid`, if it is known or appears after a rate-limited reload.
    pub(crate) async fn verification_key(
        &self,
        store: &dyn SessionStore,
        kid: &str,
        now: UnixMillis,
    ) -> Result<Option<Arc<SigningKey>>, SessionError> {
        if let Some(key) = self.keys.load().by_kid.get(kid) {
            return Ok(Some(Arc::clone(key)));
        }
        if !self.may_reload_for_unknown_kid(now) {
            return Ok(None);
        }
        let _reloading = self.reload.lock().await;
        if let Some(key) = self.keys.load().by_kid.get(kid) {
            return Ok(Some(Arc::clone(key)));
        }
        // Another caller may have reloaded while this one waited for the lock.
        if !self.claim_unknown_kid_reload(now) {
            return Ok(None);
        }
        self.reload_locked(store, now).await?;
        Ok(self.keys.load().by_kid.get(kid).cloned())
    }

    fn may_reload_for_unknown_kid(&self, now: UnixMillis) -> bool {
        let last = self.last_unknown_kid_reload.load(Ordering::Acquire);
        now.saturating_sub(last) >= self.settings.unknown_kid_reload_ms
    }

    fn claim_unknown_kid_reload(&self, now: UnixMillis) -> bool {
        let last = self.last_unknown_kid_reload.load(Ordering::Acquire);
        if now.saturating_sub(last) < self.settings.unknown_kid_reload_ms {
            return false;
        }
        self.last_unknown_kid_reload
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Every unexpired key, newest first, making sure the current signing key exists. Served from
    /// memory: the store is read only when the current key is new to this process or the cached
    /// set is older than [`JWKS_RELOAD_MS`] (and then by one caller while the others serve the
    /// cached set), so a flood of JWKS requests costs the database nothing.
    pub(crate) async fn jwks(
        &self,
        store: &dyn SessionStore,
        kind: KeyKind,
        now: UnixMillis,
    ) -> Result<Jwks, SessionError> {
        self.signing_key(store, kind, now).await?;
        let stale = now.saturating_sub(self.last_reload.load(Ordering::Acquire)) >= JWKS_RELOAD_MS;
        if stale {
            if let Ok(_reloading) = self.reload.try_lock() {
                if now.saturating_sub(self.last_reload.load(Ordering::Acquire)) >= JWKS_RELOAD_MS {
                    self.reload_locked(store, now).await?;
                }
            }
        }
        let keys = self.keys.load();
        Ok(Jwks {
            keys: keys
                .newest_first
                .iter()
                .filter(|key| key.expires_at.is_none_or(|expiry| expiry > now))
                .map(|key| key.jwk().clone())
                .collect(),
        })
    }

    async fn reload_locked(
        &self,
        store: &dyn SessionStore,
        now: UnixMillis,
    ) -> Result<(), SessionError> {
        let stored = store.signing_keys(now).await?;
        let previous = self.keys.load();
        let mut next = KeySet::default();
        for record in &stored {
            let key = match previous.by_kid.get(&record.kid) {
                Some(known) => Arc::clone(known),
                None => match SigningKey::parse(record) {
                    Ok(parsed) => Arc::new(parsed),
                    Err(error) => {
                        tracing::error!(kid = %record.kid, %error, "skipping unusable signing key");
                        continue;
                    }
                },
            };
            next.by_slot.insert(key.slot.clone(), Arc::clone(&key));
            next.by_encoded_header
                .insert(key.encoded_header.clone(), Arc::clone(&key));
            next.newest_first.push(Arc::clone(&key));
            next.by_kid.insert(key.kid.clone(), key);
        }
        next.newest_first
            .sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.kid.cmp(&b.kid)));
        self.keys.store(Arc::new(next));
        self.last_reload.fetch_max(now, Ordering::AcqRel);
        Ok(())
    }
}
