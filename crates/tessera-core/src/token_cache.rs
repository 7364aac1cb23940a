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
        same_token(entry.token.as_bytes(), token.as_bytes())
            .then(|| (entry.claims.clone(), entry.kid.clone()))
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

/// Whether two tokens are equal, in time that depends on their length only (which is public:
/// it is the presented token's own). Compares eight bytes at a time: a byte-by-byte constant-time
/// comparison of a kilobyte-long token would cost more than the rest of a cached verification.
fn same_token(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |chunk: &[u8]| {
        let mut bytes = [0u8; 8];
        bytes[..chunk.len()].copy_from_slice(chunk);
        u64::from_ne_bytes(bytes)
    };
    let difference = a
        .chunks(8)
        .zip(b.chunks(8))
        .fold(0u64, |acc, (x, y)| acc | (word(x) ^ word(y)));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::same_token;

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
