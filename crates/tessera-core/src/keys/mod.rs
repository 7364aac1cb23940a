//! Access-token signing keys: material, rotation slots and the cached key ring.

mod material;
mod ring;

pub(crate) use material::SigningKey;
pub use material::{Jwk, Jwks};
pub(crate) use ring::{KeyRing, KeyRingSettings};
