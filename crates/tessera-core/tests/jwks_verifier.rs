//! [`JwksVerifier`]: what a process holding only the server's JWKS accepts, beyond the hostile
//! tokens of `bad_tokens.rs` (which run through it too).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tessera_core::testing::MemoryStore;
use tessera_core::{
    AntiCsrfToken, Clock, JwksVerifier, JwksVerifyError, KeyKind, ManualClock, NewSession,
    SessionConfig, SessionError, SessionStore, Sessions, SigningAlgorithm, Timestamp,
    VerifyOptions,
};

const START: Timestamp = Timestamp::from_millis(1_767_229_200_000);

fn engine(algorithm: SigningAlgorithm) -> (Sessions, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START));
    let config = SessionConfig {
        signing_algorithm: algorithm,
        ..SessionConfig::default()
    };
    let store = Arc::new(MemoryStore::default()) as Arc<dyn SessionStore>;
    let sessions = Sessions::with_clock(store, config, Arc::clone(&clock) as Arc<dyn Clock>);
    (sessions, clock)
}

async fn verifier_from_json(sessions: &Sessions) -> JwksVerifier {
    let json = serde_json::to_vec(&sessions.jwks().await.unwrap()).unwrap();
    JwksVerifier::from_json(&json).unwrap()
}

#[tokio::test]
async fn agrees_with_the_engine_for_both_algorithms_and_anti_csrf() {
    for algorithm in [SigningAlgorithm::Rs256, SigningAlgorithm::EdDsa] {
        let (sessions, clock) = engine(algorithm);
        let created = sessions
            .create_new_session(
                NewSession::new("alice")
                    .anti_csrf(true)
                    .access_token_payload(json!({"role": "admin"}).as_object().unwrap().clone()),
            )
            .await
            .unwrap();
        let verifier = verifier_from_json(&sessions).await;
        assert_eq!(verifier.len(), 1);
        let token = &created.access_token.token;
        let anti_csrf = created.anti_csrf_token.clone().unwrap();
        let options = VerifyOptions {
            do_anti_csrf_check: true,
            check_database: false,
        };
        let local = verifier
            .verify(token, Some(&anti_csrf), true, clock.now())
            .unwrap();
        let engine = sessions
            .get_session(token, Some(&anti_csrf), options)
            .await
            .unwrap();
        assert_eq!(local.handle, engine.handle);
        assert_eq!(local.user_id, "alice");
        assert_eq!(local.access_token_payload, engine.access_token_payload);
        assert_eq!(local.access_token_expiry, engine.access_token_expiry);
        assert_eq!(local.refresh_token_hash1, engine.refresh_token_hash1);

        // Anti-CSRF: missing or wrong is try-refresh, only when asked for.
        for supplied in [None, Some(AntiCsrfToken::new("wrong"))] {
            let refused = verifier.verify(token, supplied.as_ref(), true, clock.now());
            assert!(matches!(
                refused,
                Err(JwksVerifyError::Session(
                    SessionError::TryRefreshToken { .. }
                ))
            ));
            verifier
                .verify(token, supplied.as_ref(), false, clock.now())
                .unwrap();
        }

        // Expiry is the token's own `exp`, to the second.
        let expiry = created.access_token.expiry;
        verifier
            .verify(token, None, false, expiry - Duration::from_millis(1))
            .unwrap();
        assert!(matches!(
            verifier.verify(token, None, false, expiry),
            Err(JwksVerifyError::Session(
                SessionError::TryRefreshToken { .. }
            ))
        ));
    }
}

#[tokio::test]
async fn a_key_missing_from_the_set_is_reported_as_unknown() {
    let (sessions, clock) = engine(SigningAlgorithm::Rs256);
    let dynamic = sessions
        .create_new_session(NewSession::new("alice"))
        .await
        .unwrap();
    let verifier = verifier_from_json(&sessions).await;
    // A static key is created on first use, after the set was read.
    let static_token = sessions
        .create_new_session(NewSession::new("bob").key_kind(KeyKind::Static))
        .await
        .unwrap();
    let refused = verifier.verify(&static_token.access_token.token, None, false, clock.now());
    assert!(matches!(refused, Err(JwksVerifyError::UnknownKey)));
    assert!(matches!(
        SessionError::from(refused.unwrap_err()),
        SessionError::TryRefreshToken { .. }
    ));
    let reread = verifier_from_json(&sessions).await;
    assert_eq!(reread.len(), 2);
    reread
        .verify(&static_token.access_token.token, None, false, clock.now())
        .unwrap();
    reread
        .verify(&dynamic.access_token.token, None, false, clock.now())
        .unwrap();
}

#[test]
fn unusable_keys_are_skipped_and_garbage_is_an_error() {
    let jwks = json!({"keys": [
        {"kty": "RSA", "kid": "enc", "alg": "RSA-OAEP", "use": "enc", "n": "AQAB", "e": "AQAB"},
        {"kty": "RSA", "kid": "short", "alg": "RS256", "use": "sig", "n": "AQAB", "e": "AQAB"},
        {"kty": "OKP", "kid": "wrong-kty", "alg": "RS256", "crv": "Ed25519",
         "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "OKP", "kid": "no-alg", "crv": "Ed25519",
         "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "OKP", "kid": "ok", "alg": "EdDSA", "crv": "Ed25519",
         "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    ]});
    let verifier = JwksVerifier::from_json(jwks.to_string().as_bytes()).unwrap();
    assert!(verifier.contains("ok"), "{verifier:?}");
    assert_eq!(verifier.len(), 1, "{verifier:?}");
    assert!(JwksVerifier::from_json(b"<html>").is_err());
    assert!(JwksVerifier::from_json(b"{}").is_err());
}

/// RSA keys outside RS256's 2048–8192-bit range are refused when the set is read, exactly at
/// the bounds: a 2047-bit modulus is out, a 2048-bit one in, 8193 bits out.
#[tokio::test]
async fn rsa_key_size_is_bounded_when_the_set_is_read() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    let (sessions, _) = engine(SigningAlgorithm::Rs256);
    sessions
        .create_new_session(NewSession::new("alice"))
        .await
        .unwrap();
    let jwks = serde_json::to_value(sessions.jwks().await.unwrap()).unwrap();
    let genuine = jwks["keys"][0].clone();
    let n = URL_SAFE_NO_PAD
        .decode(genuine["n"].as_str().unwrap())
        .unwrap();
    assert_eq!(n.len() * 8, 2048);
    assert!(n[0] >= 0x80, "a 2048-bit modulus fills its top bit");

    let with_modulus = |kid: &str, modulus: &[u8]| {
        let mut jwk = genuine.clone();
        jwk["kid"] = json!(kid);
        jwk["n"] = json!(URL_SAFE_NO_PAD.encode(modulus));
        jwk
    };
    let mut bits_2047 = n.clone();
    bits_2047[0] &= 0x7f;
    let mut bits_8193 = vec![0x01];
    bits_8193.extend(std::iter::repeat_n(0xff_u8, 1024));
    let set = json!({"keys": [
        with_modulus("bits-2048", &n),
        with_modulus("bits-2047", &bits_2047),
        // Leading zero bytes do not make a short modulus long.
        with_modulus("bits-2047-padded", &[&[0, 0][..], &bits_2047].concat()),
        with_modulus("bits-1024", &n[..128]),
        with_modulus("bits-8193", &bits_8193),
    ]});
    let verifier = JwksVerifier::from_json(set.to_string().as_bytes()).unwrap();
    assert!(verifier.contains("bits-2048"), "{verifier:?}");
    assert_eq!(verifier.len(), 1, "{verifier:?}");
}
