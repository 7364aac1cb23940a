//! Compact JWS encoding and parsing. Hand-written because the verifying key is parsed once and
//! reused, which a per-call key API cannot do; the verify path is within a few percent of a raw
//! signature check (`BENCHMARKS.md`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

pub(crate) mod legacy;

use crate::claims::AccessTokenClaims;
use crate::error::GeneralError;
use crate::keys::{SigningKey, VerifyingKey};
use crate::token_version::AccessTokenVersion;

/// The longest access token, in characters, that verification accepts; longer ones are refused
/// before any decoding, and the engine never mints one (real tokens are well under 2 KiB).
pub const MAX_ACCESS_TOKEN_LEN: usize = 16 * 1024;

/// Signs `claims` with `key` into a compact JWS, refusing (before signing) a token longer than
/// verification accepts.
pub(crate) fn encode(
    key: &SigningKey,
    claims: &AccessTokenClaims,
    version: AccessTokenVersion,
) -> Result<String, GeneralError> {
    if version.is_legacy() {
        return legacy::encode(key, claims, version);
    }
    if version != AccessTokenVersion::V5 {
        return encode_older(key, claims, version);
    }
    let body = serialise(claims)?;
    check_len(encoded_len(key, body.len()))?;
    let mut token = String::with_capacity(encoded_len(key, body.len()));
    token.push_str(&key.encoded_header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(body, &mut token);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

/// An access token in a layout before V5: the claims that layout lacks are left out, and the
/// header names its version. Only clients of old protocol versions ask for these.
fn encode_older(
    key: &SigningKey,
    claims: &AccessTokenClaims,
    version: AccessTokenVersion,
) -> Result<String, GeneralError> {
    let Value::Object(mut body) = serde_json::to_value(claims).map_err(|error| {
        GeneralError::InvalidArgument(format!("unserialisable claims: {error}"))
    })?
    else {
        return Err(GeneralError::InvalidArgument(
            "claims are not an object".to_owned(),
        ));
    };
    if !version.has_recipe_user() {
        body.remove("rsub");
    }
    if !version.has_tenant() {
        body.remove("tId");
    }
    let header = serde_json::json!({
        "alg": key.algorithm.jose_name(),
        "typ": "JWT",
        "kid": key.kid,
        "version": version.header_value(),
    });
    sign_parts(key, &header, &body)
}

/// `base64url(header).base64url(body).base64url(signature)`, refused when longer than
/// verification accepts.
fn sign_parts(
    key: &SigningKey,
    header: &Value,
    body: &serde_json::Map<String, Value>,
) -> Result<String, GeneralError> {
    let body = serde_json::to_vec(body).map_err(|error| {
        GeneralError::InvalidArgument(format!("unserialisable claims: {error}"))
    })?;
    let header = URL_SAFE_NO_PAD.encode(header.to_string());
    sign_segments(key, &header, &body, &URL_SAFE_NO_PAD)
}

/// `header.base64(body).base64(signature)` in `alphabet` (base64url for JWTs, padded standard
/// base64 for the legacy layouts), refused before signing when longer than verification accepts.
pub(crate) fn sign_segments(
    key: &SigningKey,
    header_segment: &str,
    body: &[u8],
    alphabet: &impl Engine,
) -> Result<String, GeneralError> {
    let mut token = String::from(header_segment);
    token.push('.');
    alphabet.encode_string(body, &mut token);
    check_len(token.len() + 1 + (key.signature_len() * 4).div_ceil(3))?;
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    alphabet.encode_string(signature, &mut token);
    Ok(token)
}

/// Signs any JSON claims with `key` under a plain `{"alg","typ","kid"}` header: the JWT recipe's
/// tokens, which are not access tokens and carry no version.
pub(crate) fn encode_plain(
    key: &SigningKey,
    claims: &serde_json::Map<String, Value>,
) -> Result<String, GeneralError> {
    let header =
        serde_json::json!({"alg": key.algorithm.jose_name(), "typ": "JWT", "kid": key.kid});
    sign_parts(key, &header, claims)
}

/// The length of the token `key` would make from claims serialised into `body_len` bytes.
pub(crate) fn encoded_len(key: &SigningKey, body_len: usize) -> usize {
    let base64_len = |bytes: usize| bytes.div_ceil(3) * 4 - (3 - bytes % 3) % 3;
    key.encoded_header.len() + 1 + base64_len(body_len) + 1 + base64_len(key.signature_len())
}

/// Claims as the token body carries them.
pub(crate) fn serialise(claims: &AccessTokenClaims) -> Result<Vec<u8>, GeneralError> {
    serde_json::to_vec(claims)
        .map_err(|error| GeneralError::InvalidArgument(format!("unserialisable claims: {error}")))
}

/// Refuses a token length verification would refuse.
pub(crate) fn check_len(length: usize) -> Result<(), GeneralError> {
    if length > MAX_ACCESS_TOKEN_LEN {
        return Err(GeneralError::TokenTooLarge {
            length,
            limit: MAX_ACCESS_TOKEN_LEN,
        });
    }
    Ok(())
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    crit: Option<Value>,
    version: Option<Value>,
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
    pub(crate) version: AccessTokenVersion,
}

impl<'a> UnverifiedToken<'a> {
    /// Splits the token; a static reason when it is malformed.
    pub(crate) fn parse(token: &'a str) -> Result<Self, &'static str> {
        if token.len() > MAX_ACCESS_TOKEN_LEN {
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
        // SuperTokens reads a header without `version` as the newest layout.
        let version = match header.version {
            None => AccessTokenVersion::V5,
            Some(Value::String(version)) => AccessTokenVersion::from_header_value(&version)
                .ok_or("unsupported access token version")?,
            Some(_) => return Err("unsupported access token version"),
        };
        Ok(ParsedHeader {
            algorithm: header.alg,
            kid: header.kid.ok_or("access token has no key id")?,
            version,
        })
    }

    /// Checks the signature with `key`, refusing any `algorithm` other than the key's own (so
    /// `alg: none` and algorithm confusion fail here), then decodes the claims.
    pub(crate) fn verify(
        self,
        algorithm: &str,
        key: &VerifyingKey,
        version: AccessTokenVersion,
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
        self.claims(version)
    }

    /// Decodes the claims without checking the signature. Only for tokens already verified.
    fn claims(&self, version: AccessTokenVersion) -> Result<AccessTokenClaims, &'static str> {
        let body = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| "malformed access token body")?;
        AccessTokenClaims::from_slice(&body, version)
            .ok_or("access token claims missing or mistyped")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{KeyKind, SigningAlgorithm};
    use crate::keys::generate;
    use crate::time::Timestamp;
    use serde_json::{json, Map};

    fn claims(payload_len: usize) -> AccessTokenClaims {
        let mut payload = Map::new();
        payload.insert("p".to_owned(), json!("x".repeat(payload_len)));
        AccessTokenClaims {
            user_id: "user".to_owned(),
            exp: 1_800_000_000,
            iat: 1_700_000_000,
            session_handle: "handle".to_owned(),
            refresh_token_hash1: "0".repeat(64),
            parent_refresh_token_hash1: None,
            anti_csrf_token: None,
            tenant_id: "public".to_owned(),
            recipe_user_id: "user".to_owned(),
            payload,
            version: AccessTokenVersion::V5,
        }
    }

    #[test]
    fn predicted_length_is_exact_and_the_limit_is_verifys() {
        for algorithm in [SigningAlgorithm::Rs256, SigningAlgorithm::EdDsa] {
            let stored = generate(
                KeyKind::Static,
                algorithm,
                "s".to_owned(),
                Timestamp::EPOCH,
                None,
            )
            .unwrap();
            let key = SigningKey::parse(&stored).unwrap();
            // Every body length modulo 3, so each base64 tail is covered.
            for payload_len in [0, 1, 2, 3, 100, 101, 102] {
                let claims = claims(payload_len);
                let token = encode(&key, &claims, AccessTokenVersion::V5).unwrap();
                let body_len = serialise(&claims).unwrap().len();
                assert_eq!(encoded_len(&key, body_len), token.len());
            }
            // The longest token encode accepts parses; one character more is refused by both.
            let mut largest = None;
            for payload_len in 11_000..13_000 {
                match encode(&key, &claims(payload_len), AccessTokenVersion::V5) {
                    Ok(token) => largest = Some(token),
                    Err(GeneralError::TokenTooLarge { length, limit }) => {
                        assert_eq!(limit, MAX_ACCESS_TOKEN_LEN);
                        assert!(length > MAX_ACCESS_TOKEN_LEN);
                        break;
                    }
                    Err(other) => panic!("{other}"),
                }
            }
            let largest = largest.unwrap();
            assert!(largest.len() > MAX_ACCESS_TOKEN_LEN - 4);
            assert!(UnverifiedToken::parse(&largest).is_ok());
            let longer = format!("{largest}x");
            assert!(UnverifiedToken::parse(&longer).is_err());
        }
    }
}
