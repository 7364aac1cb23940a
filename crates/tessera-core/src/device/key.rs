//! A device's public key, as a browser hands it over in a JWK: ES256 (P-256) or RS256 (RSA of
//! 2048 to 4096 bits), nothing else. Parsed once at registration; its RFC 7638 thumbprint names
//! it in the store.

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::signature::{
    RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use super::ProofError;

/// The longest JWK accepted, in bytes of JSON: an RSA-4096 key with its members is about 800.
pub const MAX_JWK_BYTES: usize = 2048;

/// The signature algorithms a device key may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceAlgorithm {
    /// ECDSA over P-256 with SHA-256, the signature as `r || s` (64 bytes).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
}

impl DeviceAlgorithm {
    /// From a JWS `alg`; `None` for every other name (`none`, `HS256`, `ES384`, …).
    pub fn from_jose_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }

    /// The JWS `alg`.
    pub fn jose_name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }
}

/// A device's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceKey {
    algorithm: DeviceAlgorithm,
    material: Material,
    thumbprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Material {
    /// The uncompressed point `04 || x || y`.
    P256(Vec<u8>),
    /// Modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl DeviceKey {
    /// Reads a JWK (`kty` EC with `crv` P-256, or RSA) for `algorithm`; any mismatch, a missing
    /// or malformed member, a point off the curve's size or an RSA modulus outside 2048–4096
    /// bits is refused.
    pub fn from_jwk(
        jwk: &Map<String, Value>,
        algorithm: DeviceAlgorithm,
    ) -> Result<Self, ProofError> {
        let text = |name: &str| {
            jwk.get(name)
                .and_then(Value::as_str)
                .ok_or(ProofError::BadKey(
                    "a JWK member is missing or not a string",
                ))
        };
        let bytes = |name: &str| {
            URL_SAFE_NO_PAD
                .decode(text(name)?)
                .map_err(|_| ProofError::BadKey("a JWK member is not base64url"))
        };
        let (material, canonical) = match (algorithm, text("kty")?) {
            (DeviceAlgorithm::Es256, "EC") => {
                if text("crv")? != "P-256" {
                    return Err(ProofError::BadKey("only the P-256 curve is accepted"));
                }
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(ProofError::BadKey("a P-256 coordinate is not 32 bytes"));
                }
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                // RFC 7638: the required members, in lexicographic order, no whitespace.
                let canonical = format!(
                    r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                    text("x")?,
                    text("y")?
                );
                (Material::P256(point), canonical)
            }
            (DeviceAlgorithm::Rs256, "RSA") => {
                let (n, e) = (bytes("n")?, bytes("e")?);
                // Leading zero bytes would overstate the size: count from the first bit set.
                let n: Vec<u8> = n.into_iter().skip_while(|byte| *byte == 0).collect();
                let bits = n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize);
                if !(2048..=4096).contains(&bits) {
                    return Err(ProofError::BadKey(
                        "the RSA modulus is not 2048 to 4096 bits",
                    ));
                }
                if e.is_empty() || e.len() > 8 {
                    return Err(ProofError::BadKey("the RSA exponent is malformed"));
                }
                let canonical = format!(
                    r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                    text("e")?,
                    text("n")?
                );
                (Material::Rsa { n, e }, canonical)
            }
            _ => {
                return Err(ProofError::BadKey(
                    "the key type does not match the algorithm",
                ))
            }
        };
        let thumbprint = URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()));
        Ok(Self {
            algorithm,
            material,
            thumbprint,
        })
    }

    /// The algorithm the key signs with.
    pub fn algorithm(&self) -> DeviceAlgorithm {
        self.algorithm
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url: the key's name.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The key as a JWK again, for storing it with its session.
    pub fn to_jwk(&self) -> Map<String, Value> {
        let mut jwk = Map::new();
        match &self.material {
            Material::P256(point) => {
                jwk.insert("kty".into(), "EC".into());
                jwk.insert("crv".into(), "P-256".into());
                jwk.insert("x".into(), URL_SAFE_NO_PAD.encode(&point[1..33]).into());
                jwk.insert("y".into(), URL_SAFE_NO_PAD.encode(&point[33..]).into());
            }
            Material::Rsa { n, e } => {
                jwk.insert("kty".into(), "RSA".into());
                jwk.insert("n".into(), URL_SAFE_NO_PAD.encode(n).into());
                jwk.insert("e".into(), URL_SAFE_NO_PAD.encode(e).into());
            }
        }
        jwk
    }

    /// The key as its session stores it: the JWK with its `alg`, as JSON text.
    pub fn to_stored(&self) -> String {
        let mut jwk = self.to_jwk();
        jwk.insert("alg".into(), self.algorithm.jose_name().into());
        Value::Object(jwk).to_string()
    }

    /// Reads a key [`to_stored`](Self::to_stored) wrote.
    pub fn from_stored(stored: &str) -> Result<Self, ProofError> {
        if stored.len() > MAX_JWK_BYTES {
            return Err(ProofError::BadKey("stored device key is too large"));
        }
        let jwk: Map<String, Value> = serde_json::from_str(stored)
            .map_err(|_| ProofError::BadKey("stored device key is not a JSON object"))?;
        let algorithm = jwk
            .get("alg")
            .and_then(Value::as_str)
            .and_then(DeviceAlgorithm::from_jose_name)
            .ok_or(ProofError::BadKey("stored device key has no usable alg"))?;
        Self::from_jwk(&jwk, algorithm)
    }

    /// Whether `signature` over `message` is this key's.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.material {
            Material::P256(point) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(message, signature)
                .is_ok(),
            Material::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok(),
        }
    }
}
