//! Key material: generating, parsing, signing, verifying, and the public JWK form.

use std::time::Duration;

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    Ed25519KeyPair, KeyPair, ParsedPublicKey, ED25519, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Serialize;

use crate::config::{KeyKind, SigningAlgorithm};
use crate::error::GeneralError;
use crate::store::StoredSigningKey;
use crate::time::{duration_millis, Timestamp};

/// A public key in JWKS form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    /// `RSA` or `OKP`.
    pub kty: &'static str,
    /// Key id.
    pub kid: String,
    /// `RS256` or `EdDSA`.
    pub alg: &'static str,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
    /// RSA modulus, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA exponent, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// OKP curve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<&'static str>,
    /// OKP public key, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
}

/// A JSON Web Key Set, as served at `/.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwks {
    /// The keys, newest first.
    pub keys: Vec<Jwk>,
}

enum Signer {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A public key that checks signatures of one algorithm: a signing key's own half, or a key read
/// from a JWKS.
pub(crate) struct VerifyingKey {
    pub(crate) algorithm: SigningAlgorithm,
    verifier: ParsedPublicKey,
}

impl VerifyingKey {
    /// An RS256 key from its modulus and exponent (big-endian bytes). The same 2048 to 8192-bit
    /// bounds as a signing key's own verifier.
    pub(crate) fn rsa(n: &[u8], e: &[u8]) -> Option<Self> {
        // Parsing does not check the size (only verifying does), so a key the algorithm would
        // never accept is refused here rather than kept in a key set.
        let significant = n
            .iter()
            .position(|&byte| byte != 0)
            .map_or(&[][..], |i| &n[i..]);
        let bits = significant.len() * 8
            - significant
                .first()
                .map_or(0, |b| b.leading_zeros() as usize);
        if !(2048..=8192).contains(&bits) {
            return None;
        }
        let components = PublicKeyComponents { n, e };
        let verifier = components
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .ok()?;
        Some(Self {
            algorithm: SigningAlgorithm::Rs256,
            verifier,
        })
    }

    /// An EdDSA (Ed25519) key from its 32 public bytes.
    pub(crate) fn ed25519(x: &[u8]) -> Option<Self> {
        let verifier = ParsedPublicKey::new(&ED25519, x).ok()?;
        Some(Self {
            algorithm: SigningAlgorithm::EdDsa,
            verifier,
        })
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verifier.verify_sig(message, signature).is_ok()
    }
}

/// A parsed signing key: signs new tokens and verifies presented ones.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) slot: String,
    pub(crate) algorithm: SigningAlgorithm,
    pub(crate) created_at: Timestamp,
    /// When the key stops verifying (`None` for the static key).
    pub(crate) expires_at: Option<Timestamp>,
    /// `base64url({"alg","typ","kid","version"})`, the same for every token this key signs.
    pub(crate) encoded_header: String,
    /// The public key as X.509 SubjectPublicKeyInfo DER in standard base64: the form the
    /// protocol versions before 2.21 hand to SDKs. `None` for Ed25519 keys, which those
    /// versions cannot use.
    pub(crate) legacy_public_key: Option<String>,
    /// A secret derived from the private key (HMAC-SHA256 of a fixed label under the PKCS#8
    /// bytes): every process sharing the store derives the same one, so it keys what they must
    /// all recognise, such as device-proof challenges, without a setting of its own.
    pub(crate) derived_secret: [u8; 32],
    signer: Signer,
    verifying: VerifyingKey,
    jwk: Jwk,
}

/// The label under which [`SigningKey::derived_secret`] is derived; distinct from anything the
/// key signs, so the secret reveals nothing about signatures and the reverse.
const DERIVED_SECRET_LABEL: &[u8] = b"tessera derived secret v1: device challenges";

fn derive_secret(pkcs8: &[u8]) -> [u8; 32] {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, pkcs8);
    let tag = aws_lc_rs::hmac::sign(&key, DERIVED_SECRET_LABEL);
    let mut secret = [0; 32];
    secret.copy_from_slice(tag.as_ref());
    secret
}

const KEY_ERROR: GeneralError = GeneralError::Key("stored signing key is unusable");

impl SigningKey {
    pub(crate) fn parse(stored: &StoredSigningKey) -> Result<Self, GeneralError> {
        let algorithm = SigningAlgorithm::from_jose_name(&stored.algorithm).ok_or(KEY_ERROR)?;
        let der = STANDARD
            .decode(&stored.private_key)
            .map_err(|_| KEY_ERROR)?;
        let mut legacy_public_key = None;
        let (signer, verifier, jwk_fields) = match algorithm {
            SigningAlgorithm::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(&der).map_err(|_| KEY_ERROR)?;
                let spki: PublicKeyX509Der = pair.public_key().as_der().map_err(|_| KEY_ERROR)?;
                legacy_public_key = Some(STANDARD.encode(spki.as_ref()));
                let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                let verifier = components
                    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                    .map_err(|_| KEY_ERROR)?;
                let fields = (
                    "RSA",
                    Some(URL_SAFE_NO_PAD.encode(&components.n)),
                    Some(URL_SAFE_NO_PAD.encode(&components.e)),
                    None,
                    None,
                );
                (Signer::Rsa(pair), verifier, fields)
            }
            SigningAlgorithm::EdDsa => {
                let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|_| KEY_ERROR)?;
                let public = pair.public_key().as_ref().to_vec();
                let verifier = ParsedPublicKey::new(&ED25519, &public).map_err(|_| KEY_ERROR)?;
                let fields = (
                    "OKP",
                    None,
                    None,
                    Some("Ed25519"),
                    Some(URL_SAFE_NO_PAD.encode(&public)),
                );
                (Signer::Ed25519(pair), verifier, fields)
            }
        };
        let (kty, n, e, crv, x) = jwk_fields;
        let header = serde_json::json!({
            "alg": algorithm.jose_name(),
            "typ": "JWT",
            "kid": stored.kid,
            "version": "5",
        });
        Ok(Self {
            kid: stored.kid.clone(),
            slot: stored.slot.clone(),
            algorithm,
            created_at: stored.created_at,
            expires_at: stored.expires_at,
            encoded_header: URL_SAFE_NO_PAD.encode(header.to_string()),
            legacy_public_key,
            derived_secret: derive_secret(&der),
            signer,
            verifying: VerifyingKey {
                algorithm,
                verifier,
            },
            jwk: Jwk {
                kty,
                kid: stored.kid.clone(),
                alg: algorithm.jose_name(),
                use_: "sig",
                n,
                e,
                crv,
                x,
            },
        })
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, GeneralError> {
        match &self.signer {
            Signer::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| GeneralError::Key("RSA signing failed"))?;
                Ok(signature)
            }
            Signer::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    /// Bytes in each signature this key makes (its RSA modulus, or 64 for Ed25519).
    pub(crate) fn signature_len(&self) -> usize {
        match &self.signer {
            Signer::Rsa(pair) => pair.public_modulus_len(),
            Signer::Ed25519(_) => 64,
        }
    }

    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }

    pub(crate) fn jwk(&self) -> &Jwk {
        &self.jwk
    }
}

/// The rotation slot a key for `now` belongs to. Dynamic slots include the interval so a changed
/// interval never reuses an old slot's key.
pub(crate) fn slot_for(
    kind: KeyKind,
    algorithm: SigningAlgorithm,
    interval: Duration,
    now: Timestamp,
) -> String {
    // Milliseconds, as slots have always been named in the store.
    let interval_ms = duration_millis(interval).max(1);
    match kind {
        KeyKind::Dynamic => format!(
            "d:{}:{interval_ms}:{}",
            algorithm.jose_name(),
            now.as_millis().div_euclid(interval_ms)
        ),
        KeyKind::Static => format!("s:{}", algorithm.jose_name()),
    }
}

/// Creates a new key for `slot`. RSA generation takes tens of milliseconds: call it off the async
/// threads.
pub(crate) fn generate(
    kind: KeyKind,
    algorithm: SigningAlgorithm,
    slot: String,
    now: Timestamp,
    expires_at: Option<Timestamp>,
) -> Result<StoredSigningKey, GeneralError> {
    let der = match algorithm {
        SigningAlgorithm::Rs256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| GeneralError::Key("RSA key generation failed"))?;
            let der = pair
                .as_der()
                .map_err(|_| GeneralError::Key("RSA key encoding failed"))?;
            der.as_ref().to_vec()
        }
        SigningAlgorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| GeneralError::Key("Ed25519 key generation failed"))?
            .as_ref()
            .to_vec(),
    };
    let kid = match kind {
        // Two algorithms can rotate in the same millisecond; the suffix keeps their kids apart.
        KeyKind::Dynamic => match algorithm {
            SigningAlgorithm::Rs256 => format!("{}{}", kind.kid_prefix(), now.as_millis()),
            SigningAlgorithm::EdDsa => {
                format!("{}{}-ed25519", kind.kid_prefix(), now.as_millis())
            }
        },
        KeyKind::Static => format!("{}{}", kind.kid_prefix(), uuid::Uuid::new_v4()),
    };
    Ok(StoredSigningKey {
        kid,
        slot,
        algorithm: algorithm.jose_name().to_owned(),
        private_key: STANDARD.encode(der),
        created_at: now,
        expires_at,
    })
}
