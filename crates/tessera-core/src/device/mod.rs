//! Device-bound sessions (W3C Device Bound Session Credentials): the browser holds a private key
//! it cannot export and proves possession of it with a signed JWT (`typ: dbsc+jwt`) at
//! registration and at each renewal of its short-lived session cookie. This module reads and
//! checks those proofs; binding them to sessions is the engine's.
//!
//! What a proof is, as Chromium sends it: a compact JWS, base64url without padding, whose header
//! is `{"alg": "ES256" | "RS256", "typ": "dbsc+jwt", "jwk": {…}}` (the `jwk` only at
//! registration) and whose payload is `{"jti": <the server's challenge>, "authorization"?}`. An
//! ES256 signature is the 64 raw bytes `r || s`.

mod challenge;
mod key;
mod proof;

pub use challenge::{ChallengeError, Challenges};
pub use key::{DeviceAlgorithm, DeviceKey, MAX_JWK_BYTES};
pub use proof::{verify_registration, verify_renewal, ProofClaims, MAX_PROOF_LEN};

use thiserror::Error;

/// Why a device proof was refused. None of these says which byte was wrong: the messages are
/// for logs, and a forger learns nothing from them that the format does not already say.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Not a compact JWS of the accepted size, or a part is not base64url JSON.
    #[error("malformed device proof: {0}")]
    Malformed(&'static str),
    /// `alg` other than ES256 and RS256 (`none` included), or `typ` other than `dbsc+jwt`.
    #[error("device proof header refused: {0}")]
    Header(&'static str),
    /// The public key is missing, malformed, too large or of the wrong type.
    #[error("device key refused: {0}")]
    BadKey(&'static str),
    /// The signature is not the device key's.
    #[error("device proof signature is invalid")]
    Signature,
    /// A claim the proof must carry is missing or mistyped.
    #[error("device proof claims refused: {0}")]
    Claims(&'static str),
    /// A remote session server checked the proof and refused it, for the reason it gives.
    #[error("device proof refused by the session server: {0}")]
    RefusedRemotely(String),
}
