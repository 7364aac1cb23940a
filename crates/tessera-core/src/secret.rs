//! Token newtypes that never print their value, and the hashing and comparison rules for secrets.

use std::fmt;

use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps a token received from a client.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The token itself, for putting on the wire. Never log it.
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// Unwraps the token.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

secret_string!(
    /// A signed access token (a JWT). Its `Debug` output is redacted.
    AccessToken
);
secret_string!(
    /// An opaque refresh token. Only `H(H(token))` is ever stored. Its `Debug` output is redacted.
    RefreshToken
);
secret_string!(
    /// An anti-CSRF token. Its `Debug` output is redacted.
    AntiCsrfToken
);

/// `H(x)`: lowercase hex SHA-256, as SuperTokens defines it.
pub fn sha256_hex(input: &[u8]) -> String {
    hex::encode(digest(&SHA256, input).as_ref())
}

/// `H(token)`, the hash carried in access tokens as `refreshTokenHash1`.
pub fn refresh_token_hash1(token: &RefreshToken) -> String {
    sha256_hex(token.expose().as_bytes())
}

/// `H(H(token))`, the only form of a refresh token the store holds.
pub fn hash2_from_hash1(hash1: &str) -> String {
    sha256_hex(hash1.as_bytes())
}

/// Compares two secrets (or hashes of secrets) without leaking where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// `bytes` of fresh randomness, URL-safe base64 without padding.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::fill(buffer.as_mut_slice());
    URL_SAFE_NO_PAD.encode(buffer)
}
