//! A cache of access tokens whose signature has been checked, so that the same browser sending the
//! same token for an hour pays for one RSA check, not one per request.
//!
//! Only a byte-identical token hits: entries are found by a keyed 64-bit hash of the token and
//! then compared with the whole token in constant time, so a collision (or a guessed hash) is a
//! miss, never another token's claims. What the cache returns is the claims only: the caller still
//! checks expiry, the anti-CSRF token and revocation on every hit, and an entry whose signing key
//! is no longer known is ignored. Memory is bounded by the entry count (tokens are a few hundred
//! bytes to 16 KiB).

use std::hash::BuildHasher;
use std::sync::Arc;

use crate::claims::AccessTokenClaims;
use crate::secret::constant_time_eq;

struct Entry {
    token: Box<str>,
    kid: Box<str>,
    claims: AccessTokenClaims,
}

/// Verified access tokens, by token.
pub struct VerifiedTokens {
    entries: Option<quick_cache::sync::Cache<u64, Arc<Entry>>>,
    hasher: foldhash::fast::RandomState,
}

impl VerifiedTokens {
    /// A cache of at most `capacity` tokens; 0 turns caching off.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: (capacity > 0).then(|| quick_cache::sync::Cache::new(capacity)),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// The claims of `token` and the `kid` that signed it, if it was verified before.
    pub(crate) fn get(&self, token: &str) -> Option<(AccessTokenClaims, Box<str>)> {
        let entries = self.entries.as_ref()?;
        let entry = entries.get(&self.hasher.hash_one(token))?;
        constant_time_eq(&entry.token, token).then(|| (entry.claims.clone(), entry.kid.clone()))
    }

    /// Remembers a token whose signature by `kid` checked out.
    pub(crate) fn insert(&self, token: &str, kid: &str, claims: &AccessTokenClaims) {
        if let Some(entries) = &self.entries {
            let entry = Entry {
                token: token.into(),
                kid: kid.into(),
                claims: claims.clone(),
            };
            entries.insert(self.hasher.hash_one(token), Arc::new(entry));
        }
    }
}
