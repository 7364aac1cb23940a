//! A device for tests: a key pair that signs registration and renewal proofs as a browser does
//! (see [`device`](crate::device)), so tests of every layer can play the browser's part.

use aws_lc_rs::error::Unspecified;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// A device key pair: P-256 (ES256) or RSA (RS256).
pub enum TestDevice {
    /// ES256, as Chromium's software keys.
    Ec(EcdsaKeyPair),
    /// RS256.
    Rsa(RsaKeyPair),
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl TestDevice {
    /// A fresh P-256 device.
    pub fn es256() -> Result<Self, Unspecified> {
        EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map(Self::Ec)
    }

    /// A fresh RSA device of this size.
    pub fn rs256(size: KeySize) -> Result<Self, Unspecified> {
        RsaKeyPair::generate(size).map(Self::Rsa)
    }

    /// The JWS `alg` it signs with.
    pub fn alg(&self) -> &'static str {
        match self {
            Self::Ec(_) => "ES256",
            Self::Rsa(_) => "RS256",
        }
    }

    /// Its public key as a JWK.
    pub fn jwk(&self) -> Value {
        match self {
            Self::Ec(pair) => {
                let point = pair.public_key().as_ref();
                json!({"crv": "P-256", "kty": "EC", "x": b64(&point[1..33]), "y": b64(&point[33..])})
            }
            Self::Rsa(pair) => {
                let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({"e": b64(&components.e), "kty": "RSA", "n": b64(&components.n)})
            }
        }
    }

    /// Signs `message`: `r || s` for ES256, PKCS#1 v1.5 for RS256.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Unspecified> {
        match self {
            Self::Ec(pair) => Ok(pair.sign(&SystemRandom::new(), message)?.as_ref().to_vec()),
            Self::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )?;
                Ok(signature)
            }
        }
    }

    /// A compact JWS with this header and payload, signed by this device.
    pub fn proof(&self, header: &Value, payload: &Value) -> Result<String, Unspecified> {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(payload.to_string().as_bytes())
        );
        let signature = self.sign(input.as_bytes())?;
        Ok(format!("{input}.{}", b64(&signature)))
    }

    /// A registration proof answering `challenge`: its key in the header.
    pub fn registration(&self, challenge: &str) -> Result<String, Unspecified> {
        self.proof(
            &json!({"alg": self.alg(), "jwk": self.jwk(), "typ": "dbsc+jwt"}),
            &json!({"jti": challenge}),
        )
    }

    /// A renewal proof answering `challenge`.
    pub fn renewal(&self, challenge: &str) -> Result<String, Unspecified> {
        self.proof(
            &json!({"alg": self.alg(), "typ": "dbsc+jwt"}),
            &json!({"jti": challenge}),
        )
    }
}
