//! Challenges for device proofs, kept nowhere: a challenge is `<expiry ms>.<MAC>` over the
//! session, the refresh token it was issued for (its `H(H(t))`) and the expiry, under a secret
//! every server shares. It is short-lived by its expiry and single-use by what it names: the
//! refresh it answers rotates that token, after which the same challenge names a token that is
//! no longer the session's, and is refused.

use std::time::Duration;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use thiserror::Error;

use crate::time::Timestamp;

/// Why a challenge was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ChallengeError {
    /// Not a challenge this server could have issued.
    #[error("malformed challenge")]
    Malformed,
    /// Issued for another session or another of its refresh tokens (used already), or under
    /// another secret.
    #[error("challenge was not issued for this session and token")]
    Foreign,
    /// Past its expiry.
    #[error("challenge expired")]
    Expired,
}

/// Issues and checks challenges under one secret.
pub struct Challenges {
    key: hmac::Key,
    lifetime: Duration,
}

impl Challenges {
    /// Challenges valid for `lifetime` under `secret` (at least 32 bytes of randomness, the
    /// same on every server).
    pub fn new(secret: &[u8], lifetime: Duration) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            lifetime,
        }
    }

    /// A challenge for the session `handle` whose current refresh token is `token_hash2`.
    pub fn issue(&self, handle: &str, token_hash2: &str, now: Timestamp) -> String {
        // Milliseconds in the challenge's text.
        let expiry = (now + self.lifetime).as_millis();
        let tag = self.tag(handle, token_hash2, expiry);
        format!("{expiry}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// Checks that `challenge` was issued for `handle` and `token_hash2` and has not expired.
    pub fn check(
        &self,
        challenge: &str,
        handle: &str,
        token_hash2: &str,
        now: Timestamp,
    ) -> Result<(), ChallengeError> {
        let (expiry, tag) = challenge.split_once('.').ok_or(ChallengeError::Malformed)?;
        if expiry.is_empty() || expiry.len() > 19 || !expiry.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ChallengeError::Malformed);
        }
        let expiry: i64 = expiry.parse().map_err(|_| ChallengeError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| ChallengeError::Malformed)?;
        // Constant time, and before the expiry, so a forger learns nothing from which it is.
        hmac::verify(&self.key, &message(handle, token_hash2, expiry), &tag)
            .map_err(|_| ChallengeError::Foreign)?;
        if Timestamp::from_millis(expiry) <= now {
            return Err(ChallengeError::Expired);
        }
        Ok(())
    }

    fn tag(&self, handle: &str, token_hash2: &str, expiry: i64) -> hmac::Tag {
        hmac::sign(&self.key, &message(handle, token_hash2, expiry))
    }
}

/// What a challenge's MAC covers, each part length-prefixed so no two inputs share bytes.
/// `expiry` is in milliseconds, as in the challenge.
fn message(handle: &str, token_hash2: &str, expiry: i64) -> Vec<u8> {
    let mut message = Vec::with_capacity(64 + handle.len() + token_hash2.len());
    message.extend_from_slice(b"tessera dbsc challenge v1");
    for part in [handle.as_bytes(), token_hash2.as_bytes()] {
        message.extend_from_slice(&(part.len() as u64).to_be_bytes());
        message.extend_from_slice(part);
    }
    message.extend_from_slice(&expiry.to_be_bytes());
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_challenge_answers_one_token_of_one_session_until_it_expires() {
        let challenges = Challenges::new(SECRET, Duration::from_secs(60));
        let issued = challenges.issue("session-a", "hash-1", Timestamp::from_millis(1_000));
        assert_eq!(
            challenges.check(
                &issued,
                "session-a",
                "hash-1",
                Timestamp::from_millis(2_000)
            ),
            Ok(())
        );
        // Once the refresh it answered rotated the token, it names a token that is gone.
        assert_eq!(
            challenges.check(
                &issued,
                "session-a",
                "hash-2",
                Timestamp::from_millis(2_000)
            ),
            Err(ChallengeError::Foreign)
        );
        assert_eq!(
            challenges.check(
                &issued,
                "session-b",
                "hash-1",
                Timestamp::from_millis(2_000)
            ),
            Err(ChallengeError::Foreign)
        );
        assert_eq!(
            challenges.check(
                &issued,
                "session-a",
                "hash-1",
                Timestamp::from_millis(61_000)
            ),
            Err(ChallengeError::Expired)
        );
        // Another server's secret, a moved expiry, or garbage: refused.
        let other = Challenges::new(b"another secret of thirty-two b!!", Duration::from_secs(60));
        assert_eq!(
            other.check(
                &issued,
                "session-a",
                "hash-1",
                Timestamp::from_millis(2_000)
            ),
            Err(ChallengeError::Foreign)
        );
        let (_, tag) = issued.split_once('.').unwrap();
        let extended = format!("999999999999.{tag}");
        assert_eq!(
            challenges.check(
                &extended,
                "session-a",
                "hash-1",
                Timestamp::from_millis(2_000)
            ),
            Err(ChallengeError::Foreign)
        );
        for garbage in [
            "",
            ".",
            "x.y",
            "1.",
            "-5.AAAA",
            "99999999999999999999.AAAA",
            "1.!!",
        ] {
            assert!(
                challenges
                    .check(
                        garbage,
                        "session-a",
                        "hash-1",
                        Timestamp::from_millis(2_000)
                    )
                    .is_err(),
                "{garbage:?}"
            );
        }
        // Parts cannot be shifted between the session and the token.
        let shifted = challenges.issue("session-ah", "ash-1", Timestamp::from_millis(1_000));
        assert_eq!(
            challenges.check(
                &shifted,
                "session-a",
                "hash-1",
                Timestamp::from_millis(2_000)
            ),
            Err(ChallengeError::Foreign)
        );
    }
}
