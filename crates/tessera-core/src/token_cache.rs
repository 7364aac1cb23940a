//! A cache of access tokens whose signature has been checked, so that the same browser sending the
//! same token for an hour pays for one RSA check, not one per request.
//!
//! Only a byte-identical token hits: entries are found by a keyed 64-bit hash of the token's last
//! bytes and then compared with the whole token in constant time, so a collision (or a guessed
//! hash) is a miss, never another token's claims. What the cache returns is the claims only: the caller still
//! checks expiry, the anti-CSRF token and revocation on every hit, and an entry whose signing key
//! is no longer known is ignored. Memory is bounded by the entry count (tokens are a few hundred
//! bytes to 16 KiB).

use std::hash::BuildHasher;
use std::sync::Arc;

use crate::claims::AccessTokenClaims;
use crate::types::SessionClaims;

/// A verified token: its claims and the `kid` of the key that signed it.
pub(crate) struct Entry {
    token: Box<str>,
    pub(crate) kid: Box<str>,
    pub(crate) claims: Arc<SessionClaims>,
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

    /// The entry of `token`, if it was verified before: shared, not copied, since a hit is the
    /// hot path of every request.
    pub(crate) fn get(&self, token: &str) -> Option<Arc<Entry>> {
        let entries = self.entries.as_ref()?;
        let entry = entries.get(&self.key(token))?;
        same_token(entry.token.as_bytes(), token.as_bytes()).then_some(entry)
    }

    /// Remembers a token whose signature by `kid` checked out, and returns its claims in the
    /// shared form verifications hand out (cached or not).
    pub(crate) fn insert(
        &self,
        token: &str,
        kid: &str,
        claims: AccessTokenClaims,
    ) -> Arc<SessionClaims> {
        let claims = Arc::new(SessionClaims::from(claims));
        if let Some(entries) = &self.entries {
            let entry = Entry {
                token: token.into(),
                kid: kid.into(),
                claims: Arc::clone(&claims),
            };
            entries.insert(self.key(token), Arc::new(entry));
        }
        claims
    }
}

impl VerifiedTokens {
    /// The hash an entry is found by: of the token's last 64 bytes, which lie in its signature and
    /// so differ between any two tokens the engine signed. Hashing all of an 800-byte token on
    /// every request cost as much as the rest of a hit, and the whole token is compared anyway.
    fn key(&self, token: &str) -> u64 {
        let bytes = token.as_bytes();
        self.hasher
            .hash_one(&bytes[bytes.len().saturating_sub(KEYED_TAIL)..])
    }
}

/// How many of a token's last bytes its cache key is made of.
const KEYED_TAIL: usize = 64;

/// Whether two tokens are equal, in time that depends on their length only (which is public:
/// it is the presented token's own). One OR-fold of the bytes' differences, with no early exit:
/// the compiler turns it into vector instructions, 16 bytes at a time and more, where a
/// byte-at-a-time comparison of a kilobyte-long token would cost more than the rest of a cached
/// verification.
fn same_token(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::{same_token, VerifiedTokens, KEYED_TAIL};
    use crate::claims::AccessTokenClaims;

    fn claims(user: &str) -> AccessTokenClaims {
        AccessTokenClaims {
            user_id: user.to_owned(),
            exp: 2,
            iat: 1,
            session_handle: "h".to_owned(),
            refresh_token_hash1: "r".to_owned(),
            parent_refresh_token_hash1: None,
            anti_csrf_token: None,
            tenant_id: "public".to_owned(),
            recipe_user_id: user.to_owned(),
            payload: serde_json::Map::new(),
            version: Default::default(),
        }
    }

    #[test]
    fn a_token_sharing_only_the_keyed_tail_misses() {
        let cache = VerifiedTokens::new(16);
        let tail = "s".repeat(KEYED_TAIL);
        let (alice, mallory) = (
            format!("eyJhbGc.alice.{tail}"),
            format!("eyJhbGc.malry.{tail}"),
        );
        cache.insert(&alice, "kid", claims("alice"));
        assert!(cache.get(&mallory).is_none(), "same key, another token");
        assert_eq!(cache.get(&alice).unwrap().claims.user_id, "alice");
        let short = "a.b.c";
        cache.insert(short, "kid", claims("short"));
        assert_eq!(cache.get(short).unwrap().claims.user_id, "short");
        assert!(cache.get("a.b.C").is_none());
    }

    #[test]
    fn only_identical_tokens_are_the_same() {
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlLWJ5dGVz";
        assert!(same_token(token.as_bytes(), token.as_bytes()));
        for i in 0..token.len() {
            let mut other = token.as_bytes().to_vec();
            other[i] ^= 1;
            assert!(!same_token(token.as_bytes(), &other), "byte {i}");
        }
        assert!(!same_token(token.as_bytes(), &token.as_bytes()[1..]));
        assert!(same_token(b"", b""));
    }
}
