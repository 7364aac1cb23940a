//! Access-token signing keys: material, rotation slots and the cached key ring.

mod material;
mod ring;

#[cfg(test)]
pub(crate) use material::generate;
pub use material::{Jwk, Jwks};
pub(crate) use material::{SigningKey, VerifyingKey};
pub use ring::SigningKeyInfo;
pub(crate) use ring::{KeyRing, KeyRingSettings};
