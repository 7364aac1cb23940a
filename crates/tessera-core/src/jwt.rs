//! Compact JWS encoding and parsing. Hand-written because the verifying key is parsed once and
//! reused, which a per-call key API cannot do; the verify path is within a few percent of a raw
//! signature check (`BENCHMARKS.md`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use crate::claims::AccessTokenClaims;
use crate::error::GeneralError;
use crate::keys::{SigningKey, VerifyingKey};

/// Longer tokens are refused before any decoding. Real tokens are well under 2 KiB.
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Signs `claims` with `key` into a compact JWS.
pub(crate) fn encode(key: &SigningKey, claims: &AccessTokenClaims) -> Result<String, GeneralError> {
    let body = serde_json::to_vec(claims).map_err(|error| {
        GeneralError::InvalidArgument(format!("unserialisable claims: {error}"))
    })?;
    let mut token = String::with_capacity(key.encoded_header.len() + body.len() * 4 / 3 + 360);
    token.push_str(&key.encoded_header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(body, &mut token);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    crit: Option<Value>,
}

/// A token split into its parts, signature not yet checked.
pub(crate) struct UnverifiedToken<'a> {
    pub(crate) encoded_header: &'a str,
    signing_input: &'a str,
    payload: &'a str,
    signature: &'a str,
}

/// The parts of a header Tessera reads.
pub(crate) struct ParsedHeader {
    pub(crate) algorithm: String,
    pub(crate) kid: String,
}

impl<'a> UnverifiedToken<'a> {
    /// Splits the token; a static reason when it is malformed.
    pub(crate) fn parse(token: &'a str) -> Result<Self, &'static str> {
        if token.len() > MAX_TOKEN_LEN {
            return Err("access token too long");
        }
        let (signing_input, signature) = token.rsplit_once('.').ok_or("malformed access token")?;
        let (encoded_header, payload) = signing_input
            .split_once('.')
            .ok_or("malformed access token")?;
        if payload.contains('.') {
            return Err("malformed access token");
        }
        Ok(Self {
            encoded_header,
            signing_input,
            payload,
            signature,
        })
    }

    /// Decodes the header, for tokens whose header segment is not one of the cached keys' own.
    pub(crate) fn header(&self) -> Result<ParsedHeader, &'static str> {
        let header = URL_SAFE_NO_PAD
            .decode(self.encoded_header)
            .map_err(|_| "malformed access token header")?;
        let header: Header =
            serde_json::from_slice(&header).map_err(|_| "malformed access token header")?;
        if header.crit.is_some() {
            return Err("access token header has critical extensions");
        }
        Ok(ParsedHeader {
            algorithm: header.alg,
            kid: header.kid.ok_or("access token has no key id")?,
        })
    }

    /// Checks the signature with `key`, refusing any `algorithm` other than the key's own (so
    /// `alg: none` and algorithm confusion fail here), then decodes the claims.
    pub(crate) fn verify(
        self,
        algorithm: &str,
        key: &VerifyingKey,
    ) -> Result<AccessTokenClaims, &'static str> {
        if algorithm != key.algorithm.jose_name() {
            return Err("access token algorithm does not match its key");
        }
        let signature = URL_SAFE_NO_PAD
            .decode(self.signature)
            .map_err(|_| "malformed access token signature")?;
        if !key.verify(self.signing_input.as_bytes(), &signature) {
            return Err("access token signature is invalid");
        }
        self.claims()
    }

    /// Decodes the claims without checking the signature. Only for tokens already verified.
    fn claims(&self) -> Result<AccessTokenClaims, &'static str> {
        let body = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| "malformed access token body")?;
        AccessTokenClaims::from_slice(&body).ok_or("access token claims missing or mistyped")
    }
}
