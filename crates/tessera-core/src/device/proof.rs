//! Reading and checking a device proof: the registration proof carries the device's public key
//! and is signed by it; a renewal proof is signed by the key registered before.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use super::key::{DeviceAlgorithm, DeviceKey, MAX_JWK_BYTES};
use super::ProofError;

/// The longest proof accepted, in characters: an RS256 registration proof with a 4096-bit key is
/// well under 2 KiB.
pub const MAX_PROOF_LEN: usize = 8 * 1024;

/// What a checked proof says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofClaims {
    /// `jti`: the challenge the server issued, to be compared with the one it expects.
    pub challenge: String,
    /// `authorization`: the value the server put in its registration header, if any.
    pub authorization: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    jwk: Option<Value>,
}

#[derive(Deserialize)]
struct Payload {
    jti: Option<Value>,
    authorization: Option<Value>,
}

/// A proof split into its parts, nothing checked but the shape.
struct Parts<'a> {
    signing_input: &'a str,
    header: Header,
    payload: &'a str,
    signature: Vec<u8>,
    algorithm: DeviceAlgorithm,
}

fn split(token: &str) -> Result<Parts<'_>, ProofError> {
    let token = token.trim().trim_matches('"');
    if token.len() > MAX_PROOF_LEN {
        return Err(ProofError::Malformed("longer than a device proof can be"));
    }
    let (signing_input, signature) = token
        .rsplit_once('.')
        .ok_or(ProofError::Malformed("not a compact JWS"))?;
    let (header, payload) = signing_input
        .split_once('.')
        .ok_or(ProofError::Malformed("not a compact JWS"))?;
    if payload.contains('.') {
        return Err(ProofError::Malformed("not a compact JWS"));
    }
    let header_bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| ProofError::Malformed("header is not base64url"))?;
    let header: Header = serde_json::from_slice(&header_bytes)
        .map_err(|_| ProofError::Malformed("header is not a JSON object with alg"))?;
    let algorithm = DeviceAlgorithm::from_jose_name(&header.alg)
        .ok_or(ProofError::Header("alg must be ES256 or RS256"))?;
    if header.typ.as_deref() != Some("dbsc+jwt") {
        return Err(ProofError::Header("typ must be dbsc+jwt"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| ProofError::Malformed("signature is not base64url"))?;
    Ok(Parts {
        signing_input,
        header,
        payload,
        signature,
        algorithm,
    })
}

impl Parts<'_> {
    /// The key in the header, if there is one.
    fn header_key(&self) -> Result<Option<DeviceKey>, ProofError> {
        let Some(jwk) = &self.header.jwk else {
            return Ok(None);
        };
        let Value::Object(members) = jwk else {
            return Err(ProofError::BadKey("jwk is not an object"));
        };
        // The decoded header bounds it already; this bounds what a key may be on its own.
        let size = serde_json::to_string(members).map_or(usize::MAX, |text| text.len());
        if size > MAX_JWK_BYTES {
            return Err(ProofError::BadKey("jwk is too large"));
        }
        DeviceKey::from_jwk(members, self.algorithm).map(Some)
    }

    /// Checks the signature with `key` (which must be for the header's algorithm), then reads
    /// the claims.
    fn verified_by(&self, key: &DeviceKey) -> Result<ProofClaims, ProofError> {
        if key.algorithm() != self.algorithm {
            return Err(ProofError::Header("alg is not the device key's"));
        }
        if !key.verifies(self.signing_input.as_bytes(), &self.signature) {
            return Err(ProofError::Signature);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| ProofError::Malformed("payload is not base64url"))?;
        let payload: Payload = serde_json::from_slice(&payload)
            .map_err(|_| ProofError::Malformed("payload is not a JSON object"))?;
        let challenge = match payload.jti {
            Some(Value::String(jti)) if !jti.is_empty() => jti,
            _ => return Err(ProofError::Claims("jti (the challenge) is missing")),
        };
        let authorization = match payload.authorization {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text),
            Some(_) => return Err(ProofError::Claims("authorization is not a string")),
        };
        Ok(ProofClaims {
            challenge,
            authorization,
        })
    }
}

/// Checks a registration proof: it must carry its public key in the header and be signed by
/// it. Returns the key (to bind to the session) and the claims (whose challenge the caller
/// compares with the one it issued).
pub fn verify_registration(token: &str) -> Result<(DeviceKey, ProofClaims), ProofError> {
    let parts = split(token)?;
    let key = parts
        .header_key()?
        .ok_or(ProofError::BadKey("a registration proof carries its jwk"))?;
    let claims = parts.verified_by(&key)?;
    Ok((key, claims))
}

/// Checks a renewal proof against the key bound to the session. A proof that names a key names
/// the bound one (by thumbprint): a different key is a different device.
pub fn verify_renewal(token: &str, bound: &DeviceKey) -> Result<ProofClaims, ProofError> {
    let parts = split(token)?;
    if let Some(named) = parts.header_key()? {
        if named.thumbprint() != bound.thumbprint() {
            return Err(ProofError::BadKey("the proof names another key"));
        }
    }
    parts.verified_by(bound)
}
