//! The in-memory key ring: which key signs now, which keys verify, and when to ask the store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::Mutex;

use super::material::{generate, slot_for, Jwks, SigningKey};
use crate::config::{KeyKind, SigningAlgorithm};
use crate::error::{GeneralError, SessionError};
use crate::store::{SigningKeyStore, StoredSigningKey};
use crate::time::{duration_millis, Timestamp};

/// How stale the published key set may get: keys another process created (a static key, say) are
/// picked up by a reload at most this long after they appear. The store is read at most once per
/// this interval for the JWKS, however often it is fetched.
const JWKS_RELOAD: Duration = Duration::from_secs(60);

/// Extra life for a dynamic key beyond the last token it can have signed, for clock skew between
/// servers.
const KEY_EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// Marks the slot of a key made by [`KeyRing::rotate`]: `<slot>:r<created ms>`. Such a key takes
/// over its slot from the key that held it, so each slot has one signer: the newest.
const ROTATED_SLOT_MARK: &str = ":r";

/// The slot a key signs for: its own, without the mark of a manual rotation.
fn signing_slot(slot: &str) -> &str {
    match slot.rsplit_once(ROTATED_SLOT_MARK) {
        Some((base, created))
            if !created.is_empty() && created.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => slot,
    }
}

/// A signing key as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyInfo {
    /// The JOSE key id tokens carry.
    pub kid: String,
    /// The JOSE algorithm name.
    pub algorithm: String,
    /// Dynamic (rotating) or static.
    pub kind: KeyKind,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops verifying (`None` for a static key).
    pub expires_at: Option<Timestamp>,
    /// Whether it signs new tokens now (the current dynamic key, or the static key).
    pub in_use: bool,
}

/// Keys by a string every verification looks up (a `kid` or a token's header segment): a few
/// keys, so a fast hash rather than SipHash, which is there for maps that grow from input.
type KeyMap = HashMap<String, Arc<SigningKey>, foldhash::fast::RandomState>;

#[derive(Default)]
struct KeySet {
    by_kid: KeyMap,
    /// The signer of each slot: the newest key made for it.
    by_slot: KeyMap,
    /// Keyed by the exact base64url header segment each key puts on its tokens.
    by_encoded_header: KeyMap,
    /// Every key, newest first: the JWKS order.
    newest_first: Vec<Arc<SigningKey>>,
}

pub(crate) struct KeyRingSettings {
    pub(crate) algorithm: SigningAlgorithm,
    pub(crate) interval: Duration,
    pub(crate) access_token_validity: Duration,
    pub(crate) unknown_kid_reload: Duration,
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
        store: &dyn SigningKeyStore,
        kind: KeyKind,
        now: Timestamp,
    ) -> Result<Arc<SigningKey>, SessionError> {
        let slot = slot_for(kind, self.settings.algorithm, self.settings.interval, now);
        if let Some(key) = self.keys.load().by_slot.get(&slot) {
            if !self.is_stale(now) {
                return Ok(Arc::clone(key));
            }
            // A key rotated by another process (`tessera keys rotate`) takes over the slot after
            // this reload. One caller reloads; the others keep signing with the cached key.
            let Ok(_reloading) = self.reload.try_lock() else {
                return Ok(Arc::clone(key));
            };
            if self.is_stale(now) {
                self.reload_locked(store, now).await?;
            }
            if let Some(key) = self.keys.load().by_slot.get(&slot) {
                return Ok(Arc::clone(key));
            }
        }
        let _reloading = self.reload.lock().await;
        if let Some(key) = self.keys.load().by_slot.get(&slot) {
            return Ok(Arc::clone(key));
        }
        self.reload_locked(store, now).await?;
        if let Some(key) = self.keys.load().by_slot.get(&slot) {
            return Ok(Arc::clone(key));
        }
        self.create_key(store, kind, slot.clone(), now).await?;
        self.keys
            .load()
            .by_slot
            .get(&slot)
            .cloned()
            .ok_or_else(|| GeneralError::Key("signing key vanished after creation").into())
    }

    /// Generates a key for `slot`, inserts it (unless another process got there first) and
    /// reloads. Call with the reload lock held.
    async fn create_key(
        &self,
        store: &dyn SigningKeyStore,
        kind: KeyKind,
        slot: String,
        now: Timestamp,
    ) -> Result<StoredSigningKey, SessionError> {
        let expires_at = match kind {
            KeyKind::Static => None,
            KeyKind::Dynamic => {
                let interval = duration_millis(self.settings.interval).max(1);
                let slot_end = Timestamp::from_millis(
                    (now.as_millis().div_euclid(interval) + 1).saturating_mul(interval),
                );
                Some(slot_end + self.settings.access_token_validity + KEY_EXPIRY_MARGIN)
            }
        };
        let algorithm = self.settings.algorithm;
        let candidate =
            tokio::task::spawn_blocking(move || generate(kind, algorithm, slot, now, expires_at))
                .await
                .map_err(|_| GeneralError::Key("key generation task failed"))??;
        let inserted = store.insert_signing_key(&candidate).await?;
        if inserted {
            tracing::info!(kid = %candidate.kid, slot = %candidate.slot, "created signing key");
        }
        self.reload_locked(store, now).await?;
        Ok(candidate)
    }

    /// Makes a new dynamic key that signs from now on in place of the current one (here at once;
    /// in other processes after their next reload, within [`JWKS_RELOAD`]). Keys it replaces
    /// keep verifying until the tokens they signed have expired.
    pub(crate) async fn rotate(
        &self,
        store: &dyn SigningKeyStore,
        now: Timestamp,
    ) -> Result<SigningKeyInfo, SessionError> {
        let _reloading = self.reload.lock().await;
        let slot = slot_for(
            KeyKind::Dynamic,
            self.settings.algorithm,
            self.settings.interval,
            now,
        );
        let created = self
            .create_key(
                store,
                KeyKind::Dynamic,
                format!("{slot}{ROTATED_SLOT_MARK}{}", now.as_millis()),
                now,
            )
            .await?;
        self.describe_loaded(now)
            .into_iter()
            .find(|key| key.kid == created.kid)
            .ok_or_else(|| GeneralError::Key("signing key vanished after creation").into())
    }

    /// Every unexpired key in the store, newest first, marking those that sign now.
    pub(crate) async fn describe(
        &self,
        store: &dyn SigningKeyStore,
        now: Timestamp,
    ) -> Result<Vec<SigningKeyInfo>, SessionError> {
        let _reloading = self.reload.lock().await;
        self.reload_locked(store, now).await?;
        Ok(self.describe_loaded(now))
    }

    fn describe_loaded(&self, now: Timestamp) -> Vec<SigningKeyInfo> {
        let keys = self.keys.load();
        let signer = |kind| {
            let slot = slot_for(kind, self.settings.algorithm, self.settings.interval, now);
            keys.by_slot.get(&slot).map(|key| key.kid.clone())
        };
        let signers = [signer(KeyKind::Dynamic), signer(KeyKind::Static)];
        keys.newest_first
            .iter()
            .filter(|key| key.expires_at.is_none_or(|expiry| expiry > now))
            .map(|key| SigningKeyInfo {
                kid: key.kid.clone(),
                algorithm: key.algorithm.jose_name().to_owned(),
                kind: if key.expires_at.is_some() {
                    KeyKind::Dynamic
                } else {
                    KeyKind::Static
                },
                created_at: key.created_at,
                expires_at: key.expires_at,
                in_use: signers.iter().flatten().any(|kid| *kid == key.kid),
            })
            .collect()
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

    /// Every key held, newest first: for tokens that name no key (the legacy layouts) and for
    /// the key lists of `/handshake`.
    pub(crate) fn newest_first(&self) -> Vec<Arc<SigningKey>> {
        self.keys.load().newest_first.clone()
    }

    /// Reloads the keys from the store for a token no held key verifies, at most once per
    /// unknown-kid interval (the same budget as unknown `kid`s); whether it reloaded.
    pub(crate) async fn reload_for_unknown_key(
        &self,
        store: &dyn SigningKeyStore,
        now: Timestamp,
    ) -> Result<bool, SessionError> {
        if !self.may_reload_for_unknown_kid(now) {
            return Ok(false);
        }
        let _reloading = self.reload.lock().await;
        if !self.claim_unknown_kid_reload(now) {
            return Ok(false);
        }
        self.reload_locked(store, now).await?;
        Ok(true)
    }

    /// The key with this `kid`, if it is known or appears after a rate-limited reload.
    pub(crate) async fn verification_key(
        &self,
        store: &dyn SigningKeyStore,
        kid: &str,
        now: Timestamp,
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

    fn may_reload_for_unknown_kid(&self, now: Timestamp) -> bool {
        let last = self.last_unknown_kid_reload.load(Ordering::Acquire);
        now.since(Timestamp::from_micros(last)) >= self.settings.unknown_kid_reload
    }

    fn claim_unknown_kid_reload(&self, now: Timestamp) -> bool {
        let last = self.last_unknown_kid_reload.load(Ordering::Acquire);
        if now.since(Timestamp::from_micros(last)) < self.settings.unknown_kid_reload {
            return false;
        }
        self.last_unknown_kid_reload
            .compare_exchange(last, now.as_micros(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Every unexpired key, newest first, making sure the current signing key exists. Served from
    /// memory: the store is read only when the current key is new to this process or the cached
    /// set is older than [`JWKS_RELOAD`] (and then by one caller while the others serve the
    /// cached set), so a flood of JWKS requests costs the database nothing.
    pub(crate) async fn jwks(
        &self,
        store: &dyn SigningKeyStore,
        kind: KeyKind,
        now: Timestamp,
    ) -> Result<Jwks, SessionError> {
        // Also reloads a stale set (see `signing_key`).
        self.signing_key(store, kind, now).await?;
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

    /// Whether the cached set is older than [`JWKS_RELOAD`].
    fn is_stale(&self, now: Timestamp) -> bool {
        now.since(Timestamp::from_micros(
            self.last_reload.load(Ordering::Acquire),
        )) >= JWKS_RELOAD
    }

    async fn reload_locked(
        &self,
        store: &dyn SigningKeyStore,
        now: Timestamp,
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
            let slot = signing_slot(&key.slot).to_owned();
            let newer = next
                .by_slot
                .get(&slot)
                .is_none_or(|held| (key.created_at, &key.kid) > (held.created_at, &held.kid));
            if newer {
                next.by_slot.insert(slot, Arc::clone(&key));
            }
            next.by_encoded_header
                .insert(key.encoded_header.clone(), Arc::clone(&key));
            next.newest_first.push(Arc::clone(&key));
            next.by_kid.insert(key.kid.clone(), key);
        }
        next.newest_first
            .sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.kid.cmp(&b.kid)));
        self.keys.store(Arc::new(next));
        self.last_reload
            .fetch_max(now.as_micros(), Ordering::AcqRel);
        Ok(())
    }
}
