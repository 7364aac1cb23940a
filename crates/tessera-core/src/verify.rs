//! Access-token verification with public keys only: the checks the engine makes after the
//! signature, and [`JwksVerifier`] for a process that holds a server's JWKS instead of its store.

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use thiserror::Error;

use crate::config::SigningAlgorithm;
use crate::error::{GeneralError, SessionError};
use crate::jwt::UnverifiedToken;
use crate::keys::{Jwks, VerifyingKey};
use crate::secret::{constant_time_eq, AccessToken, AntiCsrfToken};
use crate::time::Timestamp;
use crate::token_cache::VerifiedTokens;
use crate::types::{SessionClaims, VerifiedSession};

/// The checks after a good signature, shared by the engine and [`JwksVerifier`] so both are
/// exactly as strict: expiry, then the anti-CSRF token when asked for and the token carries one.
/// The claims are shared, not copied: they are the verified-token cache's on the hot path.
pub(crate) fn check_claims(
    claims: Arc<SessionClaims>,
    anti_csrf_token: Option<&AntiCsrfToken>,
    do_anti_csrf_check: bool,
    now: Timestamp,
) -> Result<VerifiedSession, SessionError> {
    if claims.access_token_expiry <= now {
        return Err(SessionError::try_refresh("access token expired"));
    }
    if do_anti_csrf_check {
        if let Some(expected) = &claims.anti_csrf_token {
            let matches = anti_csrf_token
                .is_some_and(|supplied| constant_time_eq(supplied.expose(), expected.expose()));
            if !matches {
                return Err(SessionError::try_refresh("anti-csrf check failed"));
            }
        }
    }
    Ok(VerifiedSession::new(claims))
}

/// Why [`JwksVerifier::verify`] refused a token.
#[derive(Debug, Error)]
pub enum JwksVerifyError {
    /// The token names a `kid` this key set does not hold. The caller may fetch the JWKS again
    /// (rate-limited: anyone can forge a `kid`) and retry; otherwise it means "try refresh".
    #[error("access token signed by an unknown key")]
    UnknownKey,
    /// Any other refusal, exactly as the engine reports it.
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl From<JwksVerifyError> for SessionError {
    fn from(error: JwksVerifyError) -> Self {
        match error {
            JwksVerifyError::UnknownKey => {
                SessionError::try_refresh("access token signed by an unknown key")
            }
            JwksVerifyError::Session(error) => error,
        }
    }
}

/// The public keys of a JWKS, verifying access tokens as [`Sessions::get_session`] does without
/// `check_database`: signature (the token's `alg` must be its key's own), expiry, anti-CSRF.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use tessera_core::{testing::MemoryStore, JwksVerifier, NewSession, SessionConfig, Sessions};
///
/// let sessions = Sessions::new(MemoryStore::default(), SessionConfig::default());
/// let created = sessions.create_new_session(NewSession::new("alice")).await?;
/// // Elsewhere: the JSON of the server's `/.well-known/jwks.json`.
/// let json = serde_json::to_vec(&sessions.jwks().await?).unwrap();
/// let verifier = JwksVerifier::from_json(&json)?;
/// let now = created.access_token.created_at;
/// let verified = verifier.verify(&created.access_token.token, None, false, now).unwrap();
/// assert_eq!(verified.user_id, "alice");
/// # Ok::<(), tessera_core::SessionError>(())
/// # }).unwrap();
/// ```
///
/// [`Sessions::get_session`]: crate::Sessions::get_session
#[derive(Default)]
pub struct JwksVerifier {
    keys: HashMap<String, VerifyingKey>,
}

impl std::fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksVerifier")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A JWK as read off the wire. Owned strings, unlike [`crate::Jwk`], which is built, not parsed.
#[derive(Deserialize)]
struct WireJwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
}

#[derive(Deserialize)]
struct WireJwks {
    keys: Vec<WireJwk>,
}

impl JwksVerifier {
    /// Reads the JSON of a `/.well-known/jwks.json` reply. Keys Tessera cannot verify with (an
    /// unknown algorithm, an encryption key, a key without `kid` or `alg`) are skipped, as a JWKS
    /// may list keys for other uses; malformed JSON is an error.
    pub fn from_json(json: &[u8]) -> Result<Self, GeneralError> {
        let wire: WireJwks = serde_json::from_slice(json)
            .map_err(|_| GeneralError::Key("the JWKS is not a JSON key set"))?;
        let mut keys = HashMap::with_capacity(wire.keys.len());
        for jwk in wire.keys {
            let kid = jwk.kid.clone();
            match (kid, verifying_key(&jwk)) {
                (Some(kid), Some(key)) => {
                    keys.insert(kid, key);
                }
                (kid, _) => tracing::debug!(?kid, kty = %jwk.kty, "skipping unusable JWK"),
            }
        }
        Ok(Self { keys })
    }

    /// The public halves of an engine's keys ([`Sessions::jwks`](crate::Sessions::jwks)).
    pub fn from_jwks(jwks: &Jwks) -> Self {
        let mut keys = HashMap::with_capacity(jwks.keys.len());
        for jwk in &jwks.keys {
            let wire = WireJwk {
                kty: jwk.kty.to_owned(),
                kid: Some(jwk.kid.clone()),
                alg: Some(jwk.alg.to_owned()),
                use_: Some(jwk.use_.to_owned()),
                n: jwk.n.clone(),
                e: jwk.e.clone(),
                crv: jwk.crv.map(str::to_owned),
                x: jwk.x.clone(),
            };
            if let Some(key) = verifying_key(&wire) {
                keys.insert(jwk.kid.clone(), key);
            }
        }
        Self { keys }
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a key with this `kid` is in the set.
    pub fn contains(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// Verifies `access_token` at `now`. With `do_anti_csrf_check`, a token
    /// that carries an anti-CSRF token needs the same `anti_csrf_token`, compared in constant
    /// time. A genuine but expired token is `TryRefreshToken`, like any bad token.
    pub fn verify(
        &self,
        access_token: &AccessToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        do_anti_csrf_check: bool,
        now: Timestamp,
    ) -> Result<VerifiedSession, JwksVerifyError> {
        self.verify_with(None, access_token, anti_csrf_token, do_anti_csrf_check, now)
    }

    /// [`verify`](Self::verify), skipping the signature check for a token `cache` holds from an
    /// earlier verification by a key this set still has (expiry and the anti-CSRF token are
    /// checked every time), and remembering a token whose signature checks out.
    pub fn verify_cached(
        &self,
        cache: &VerifiedTokens,
        access_token: &AccessToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        do_anti_csrf_check: bool,
        now: Timestamp,
    ) -> Result<VerifiedSession, JwksVerifyError> {
        self.verify_with(
            Some(cache),
            access_token,
            anti_csrf_token,
            do_anti_csrf_check,
            now,
        )
    }

    fn verify_with(
        &self,
        cache: Option<&VerifiedTokens>,
        access_token: &AccessToken,
        anti_csrf_token: Option<&AntiCsrfToken>,
        do_anti_csrf_check: bool,
        now: Timestamp,
    ) -> Result<VerifiedSession, JwksVerifyError> {
        let raw = access_token.expose();
        if let Some(entry) = cache.and_then(|cache| cache.get(raw)) {
            if self.keys.contains_key(&*entry.kid) {
                return Ok(check_claims(
                    Arc::clone(&entry.claims),
                    anti_csrf_token,
                    do_anti_csrf_check,
                    now,
                )?);
            }
        }
        let token = UnverifiedToken::parse(raw).map_err(SessionError::try_refresh)?;
        let header = token.header().map_err(SessionError::try_refresh)?;
        let key = self
            .keys
            .get(&header.kid)
            .ok_or(JwksVerifyError::UnknownKey)?;
        let claims = token
            .verify(&header.algorithm, key, header.version)
            .map_err(SessionError::try_refresh)?;
        let claims = match cache {
            Some(cache) => cache.insert(raw, &header.kid, claims),
            None => Arc::new(SessionClaims::from(claims)),
        };
        Ok(check_claims(
            claims,
            anti_csrf_token,
            do_anti_csrf_check,
            now,
        )?)
    }
}

/// The key a JWK describes, if it is a signing key of an algorithm Tessera verifies and its `kty`
/// and curve agree with its `alg`.
fn verifying_key(jwk: &WireJwk) -> Option<VerifyingKey> {
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    let decode = |field: &Option<String>| URL_SAFE_NO_PAD.decode(field.as_deref()?).ok();
    match SigningAlgorithm::from_jose_name(jwk.alg.as_deref()?)? {
        SigningAlgorithm::Rs256 if jwk.kty == "RSA" => {
            VerifyingKey::rsa(&decode(&jwk.n)?, &decode(&jwk.e)?)
        }
        SigningAlgorithm::EdDsa if jwk.kty == "OKP" && jwk.crv.as_deref() == Some("Ed25519") => {
            VerifyingKey::ed25519(&decode(&jwk.x)?)
        }
        _ => None,
    }
}
