//! Hostile access tokens: every one gives `TryRefreshToken` (never a panic, never a store storm).
//! Each token also goes through a [`JwksVerifier`] holding the engine's public keys, which must
//! agree with the engine, so a remote verifier is exactly as strict.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use proptest::prelude::*;
use serde_json::{json, Value};
use tessera_core::testing::MemoryStore;
use tessera_core::{
    AccessToken, Clock, JwksVerifier, ManualClock, NewSession, SessionConfig, SessionError,
    SessionStore, SessionTokens, Sessions, SigningKeyStore, Timestamp, VerifyOptions,
};

const START: Timestamp = Timestamp::from_millis(1_767_229_200_000);

struct Fixture {
    sessions: Sessions,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    created: SessionTokens,
    jwks: JwksVerifier,
    runtime: tokio::runtime::Runtime,
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = Arc::new(MemoryStore::default());
    let clock = Arc::new(ManualClock::new(START));
    let sessions = Sessions::with_clock(
        Arc::clone(&store) as Arc<dyn SessionStore>,
        SessionConfig::default(),
        Arc::clone(&clock) as Arc<dyn Clock>,
    );
    let created = runtime
        .block_on(sessions.create_new_session(NewSession::new("user-1")))
        .unwrap();
    let jwks = JwksVerifier::from_jwks(&runtime.block_on(sessions.jwks()).unwrap());
    Fixture {
        sessions,
        store,
        clock,
        created,
        jwks,
        runtime,
    }
}

impl Fixture {
    fn verify(&self, token: &str) -> Result<(), SessionError> {
        let token = AccessToken::new(token);
        let engine = self
            .runtime
            .block_on(
                self.sessions
                    .get_session(&token, None, VerifyOptions::default()),
            )
            .map(|_| ());
        let remote = self
            .jwks
            .verify(&token, None, false, self.clock.now())
            .map(|_| ())
            .map_err(SessionError::from);
        match (&engine, &remote) {
            (Ok(()), Ok(())) => {}
            (
                Err(SessionError::TryRefreshToken { .. }),
                Err(SessionError::TryRefreshToken { .. }),
            ) => {}
            _ => panic!("engine and JWKS verifier disagree: {engine:?} vs {remote:?}"),
        }
        engine
    }

    fn assert_try_refresh(&self, token: &str, what: &str) {
        match self.verify(token) {
            Err(SessionError::TryRefreshToken { .. }) => {}
            other => panic!("{what}: expected TryRefreshToken, got {other:?}"),
        }
    }

    fn genuine(&self) -> &str {
        self.created.access_token.token.expose()
    }

    fn parts(&self) -> (Value, Value, String) {
        let mut parts = self.genuine().split('.');
        let header = decode_json(parts.next().unwrap());
        let claims = decode_json(parts.next().unwrap());
        (header, claims, parts.next().unwrap().to_owned())
    }

    /// The engine's own private key, read from the store, to sign arbitrary content with it.
    fn real_key(&self) -> RsaKeyPair {
        let keys = self
            .runtime
            .block_on(self.store.signing_keys(self.clock.now()))
            .unwrap();
        RsaKeyPair::from_pkcs8(&STANDARD.decode(&keys[0].private_key).unwrap()).unwrap()
    }
}

fn decode_json(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn encode_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn sign_rs256(key: &RsaKeyPair, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", encode_json(header), encode_json(claims));
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[test]
fn the_genuine_token_verifies() {
    let f = fixture();
    f.verify(f.genuine()).unwrap();
}

#[test]
fn every_truncation_is_refused() {
    let f = fixture();
    let token = f.genuine();
    for len in 0..token.len() {
        f.assert_try_refresh(&token[..len], "truncated");
    }
}

#[test]
fn a_token_signed_by_another_key_is_refused() {
    let f = fixture();
    let (header, claims, _) = f.parts();
    let stranger = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    f.assert_try_refresh(
        &sign_rs256(&stranger, &header, &claims),
        "foreign key, same kid",
    );
}

#[test]
fn alg_none_is_refused() {
    let f = fixture();
    let (mut header, claims, signature) = f.parts();
    header["alg"] = json!("none");
    let unsigned = format!("{}.{}.", encode_json(&header), encode_json(&claims));
    f.assert_try_refresh(&unsigned, "alg none, empty signature");
    let kept = format!(
        "{}.{}.{signature}",
        encode_json(&header),
        encode_json(&claims)
    );
    f.assert_try_refresh(&kept, "alg none, original signature");
}

#[test]
fn hmac_with_the_public_key_is_refused() {
    use aws_lc_rs::hmac;
    let f = fixture();
    let (mut header, claims, _) = f.parts();
    header["alg"] = json!("HS256");
    let jwks = f.runtime.block_on(f.sessions.jwks()).unwrap();
    let secret = serde_json::to_vec(&jwks.keys[0]).unwrap();
    let input = format!("{}.{}", encode_json(&header), encode_json(&claims));
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &secret),
        input.as_bytes(),
    );
    f.assert_try_refresh(
        &format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref())),
        "HS256 keyed with the public key",
    );
}

#[test]
fn tampered_claims_or_header_are_refused() {
    let f = fixture();
    let (header, claims, signature) = f.parts();
    let mut elevated = claims.clone();
    elevated["sub"] = json!("admin");
    f.assert_try_refresh(
        &format!(
            "{}.{}.{signature}",
            encode_json(&header),
            encode_json(&elevated)
        ),
        "changed sub",
    );
    let mut later = claims.clone();
    later["exp"] = json!(later["exp"].as_i64().unwrap() + 86_400);
    f.assert_try_refresh(
        &format!(
            "{}.{}.{signature}",
            encode_json(&header),
            encode_json(&later)
        ),
        "extended exp",
    );
    let mut retyped = header.clone();
    retyped["typ"] = json!("at+jwt");
    f.assert_try_refresh(
        &format!(
            "{}.{}.{signature}",
            encode_json(&retyped),
            encode_json(&claims)
        ),
        "changed header",
    );
    let mut critical = header.clone();
    critical["crit"] = json!(["exp"]);
    f.assert_try_refresh(
        &sign_rs256(&f.real_key(), &critical, &claims),
        "critical header extension",
    );
    let mut signature_bytes = URL_SAFE_NO_PAD.decode(&signature).unwrap();
    signature_bytes[10] ^= 1;
    f.assert_try_refresh(
        &format!(
            "{}.{}.{}",
            encode_json(&header),
            encode_json(&claims),
            URL_SAFE_NO_PAD.encode(signature_bytes)
        ),
        "flipped signature bit",
    );
}

#[test]
fn unknown_or_missing_kid_is_refused() {
    let f = fixture();
    let (mut header, claims, _) = f.parts();
    header["kid"] = json!("d-1");
    f.assert_try_refresh(&sign_rs256(&f.real_key(), &header, &claims), "unknown kid");
    header.as_object_mut().unwrap().remove("kid");
    f.assert_try_refresh(&sign_rs256(&f.real_key(), &header, &claims), "no kid");
}

#[test]
fn huge_and_non_utf8_tokens_are_refused() {
    let f = fixture();
    let calls = f.store.calls();
    f.assert_try_refresh(&"a".repeat(1 << 20), "1 MB");
    let (_, claims, signature) = f.parts();
    f.assert_try_refresh(
        &format!(
            "{}.{}.{signature}",
            "a".repeat(1 << 20),
            encode_json(&claims)
        ),
        "1 MB header",
    );
    assert_eq!(
        f.store.calls(),
        calls,
        "oversized tokens must not reach the store"
    );
    let not_utf8 = URL_SAFE_NO_PAD.encode([0xff, 0xfe, 0x80, b'{', 0xc3]);
    f.assert_try_refresh(
        &format!("{not_utf8}.{}.{signature}", encode_json(&claims)),
        "header not UTF-8",
    );
    let (header, _, _) = f.parts();
    f.assert_try_refresh(
        &format!("{}.{not_utf8}.{signature}", encode_json(&header)),
        "claims not UTF-8",
    );
    f.assert_try_refresh("ünïcödé.тест.😀", "non-ASCII garbage");
    f.assert_try_refresh("a.b.c.d", "four parts");
    f.assert_try_refresh("..", "empty parts");
}

#[test]
fn correctly_signed_tokens_missing_claims_are_refused() {
    let f = fixture();
    let key = f.real_key();
    let (header, claims, _) = f.parts();
    for claim in [
        "sub",
        "exp",
        "iat",
        "sessionHandle",
        "refreshTokenHash1",
        "tId",
        "rsub",
    ] {
        let mut partial = claims.clone();
        partial.as_object_mut().unwrap().remove(claim);
        f.assert_try_refresh(&sign_rs256(&key, &header, &partial), claim);
    }
    let mut mistyped = claims.clone();
    mistyped["exp"] = json!("tomorrow");
    f.assert_try_refresh(&sign_rs256(&key, &header, &mistyped), "exp as a string");
    f.assert_try_refresh(
        &sign_rs256(&key, &header, &json!([1, 2])),
        "claims not an object",
    );
    // The same key and claims verify: the refusals above are about content, not the signer.
    f.verify(&sign_rs256(&key, &header, &claims)).unwrap();

    // Older layouts need only their own claims, and only the layouts Tessera mints are read.
    let without = |names: &[&str]| {
        let mut partial = claims.clone();
        for name in names {
            partial.as_object_mut().unwrap().remove(*name);
        }
        partial
    };
    let mut v4 = header.clone();
    v4["version"] = json!("4");
    f.verify(&sign_rs256(&key, &v4, &without(&["rsub"])))
        .unwrap();
    f.assert_try_refresh(&sign_rs256(&key, &v4, &without(&["tId"])), "V4 without tId");
    let mut v3 = header.clone();
    v3["version"] = json!("3");
    f.verify(&sign_rs256(&key, &v3, &without(&["tId", "rsub"])))
        .unwrap();
    f.assert_try_refresh(&sign_rs256(&key, &v3, &without(&["sub"])), "V3 without sub");
    for version in [json!("2"), json!("6"), json!(5)] {
        let mut other = header.clone();
        other["version"] = version.clone();
        f.assert_try_refresh(
            &sign_rs256(&key, &other, &claims),
            &format!("version {version}"),
        );
    }
}

#[test]
fn an_expired_token_is_try_refresh() {
    let f = fixture();
    f.clock.advance(Duration::from_secs(3600));
    f.assert_try_refresh(f.genuine(), "expired");
}

#[test]
fn forged_kids_reload_keys_at_most_once_per_second() {
    let f = fixture();
    let (mut header, claims, _) = f.parts();
    let key = f.real_key();
    let before = f.store.calls();
    for i in 0..200 {
        header["kid"] = json!(format!("d-forged-{i}"));
        f.assert_try_refresh(&sign_rs256(&key, &header, &claims), "forged kid");
    }
    assert!(
        f.store.calls() - before <= 1,
        "{} reloads",
        f.store.calls() - before
    );
    f.clock.advance(Duration::from_secs(1));
    for i in 0..200 {
        header["kid"] = json!(format!("d-forged-again-{i}"));
        f.assert_try_refresh(&sign_rs256(&key, &header, &claims), "forged kid");
    }
    assert!(
        f.store.calls() - before <= 2,
        "{} reloads",
        f.store.calls() - before
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_strings_never_panic(token in ".{0,600}") {
        let f = FIXTURE.with(|f| f.verify(&token).map_err(|e| format!("{e:?}")));
        prop_assert!(f.is_err());
    }

    #[test]
    fn arbitrary_three_part_tokens_never_panic(
        header in prop::collection::vec(any::<u8>(), 0..80),
        claims in prop::collection::vec(any::<u8>(), 0..200),
        signature in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims),
            URL_SAFE_NO_PAD.encode(signature)
        );
        let refused = FIXTURE.with(|f| matches!(f.verify(&token), Err(SessionError::TryRefreshToken { .. })));
        prop_assert!(refused);
    }
}

thread_local! {
    static FIXTURE: Fixture = fixture();
}
