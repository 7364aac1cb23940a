//! Device proofs as Chromium sends them, and every way a forged or broken one is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use tessera_core::device::{
    verify_registration, verify_renewal, DeviceAlgorithm, DeviceKey, ProofError, MAX_PROOF_LEN,
};
use tessera_core::testing::TestDevice;

/// A registration proof captured from Chromium 156 (software keys), with its challenge and
/// authorization.
const CHROMIUM_REGISTRATION: &str = "eyJhbGciOiJFUzI1NiIsImp3ayI6eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6Ikd1Mzk4M0NQMmoyVVlVcDc4X2psQXFIMkpBRV9YQ3NYRTA3NHRWY1ItQmsiLCJ5IjoiVDNNYVJvUzVQaVpRQUZJWEJGRWJJNkI3c3dwTW4zZXhmd05lQWtYeVZ0ayJ9LCJ0eXAiOiJkYnNjK2p3dCJ9.eyJhdXRob3JpemF0aW9uIjoiYXV0aGNvZGUteHl6IiwianRpIjoicmVnLWNoYWwtMSJ9.P3Dcdp8T7cywIRqVb096e-Nnz9VWsqWgjPcS9tzY7QuxEStP8gqhD0a64BBx-YLnMj3jGfg2AByI2r-bYWLiQg";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A device that signs as the browser does, and the key it registers.
struct Device(TestDevice);

impl Device {
    fn ec() -> Self {
        Self(TestDevice::es256().unwrap())
    }

    fn rsa(size: KeySize) -> Self {
        Self(TestDevice::rs256(size).unwrap())
    }

    fn alg(&self) -> &'static str {
        self.0.alg()
    }

    fn jwk(&self) -> Value {
        self.0.jwk()
    }

    fn proof(&self, header: &Value, payload: &Value) -> String {
        self.0.proof(header, payload).unwrap()
    }

    fn registration(&self, challenge: &str) -> String {
        self.0.registration(challenge).unwrap()
    }

    fn renewal(&self, challenge: &str) -> String {
        self.0.renewal(challenge).unwrap()
    }

    fn key(&self) -> DeviceKey {
        verify_registration(&self.registration("c")).unwrap().0
    }
}

#[test]
fn chromiums_registration_proof_verifies() {
    let (key, claims) = verify_registration(CHROMIUM_REGISTRATION).unwrap();
    assert_eq!(key.algorithm(), DeviceAlgorithm::Es256);
    assert_eq!(claims.challenge, "reg-chal-1");
    assert_eq!(claims.authorization.as_deref(), Some("authcode-xyz"));
    // Browsers send the header unquoted; a quoted one (as the draft writes it) reads the same.
    let quoted = format!("\"{CHROMIUM_REGISTRATION}\"");
    assert_eq!(verify_registration(&quoted).unwrap().0, key);
    // The key round-trips through its JWK with the same thumbprint.
    let again = DeviceKey::from_jwk(&key.to_jwk(), DeviceAlgorithm::Es256).unwrap();
    assert_eq!(again.thumbprint(), key.thumbprint());
}

#[test]
fn a_devices_renewals_verify_with_its_registered_key_for_both_algorithms() {
    for device in [Device::ec(), Device::rsa(KeySize::Rsa2048)] {
        let (key, claims) = verify_registration(&device.registration("first")).unwrap();
        assert_eq!(claims.challenge, "first");
        assert_eq!(claims.authorization, None);
        let renewal = verify_renewal(&device.renewal("second"), &key).unwrap();
        assert_eq!(renewal.challenge, "second");
        // A renewal may repeat its key, as long as it is the bound one.
        let named = device.proof(
            &json!({"alg": device.alg(), "jwk": device.jwk(), "typ": "dbsc+jwt"}),
            &json!({"jti": "third"}),
        );
        assert_eq!(verify_renewal(&named, &key).unwrap().challenge, "third");
    }
}

#[test]
fn another_devices_proof_is_refused() {
    let victim = Device::ec();
    let thief = Device::ec();
    let bound = victim.key();
    assert_eq!(
        verify_renewal(&thief.renewal("c"), &bound),
        Err(ProofError::Signature)
    );
    // Naming its own key does not help the thief either.
    assert!(matches!(
        verify_renewal(&thief.registration("c"), &bound),
        Err(ProofError::BadKey(_))
    ));
    // Nor does an RSA key against an EC binding.
    let rsa = Device::rsa(KeySize::Rsa2048);
    assert!(matches!(
        verify_renewal(&rsa.renewal("c"), &bound),
        Err(ProofError::Header(_))
    ));
}

#[test]
fn a_changed_byte_is_refused() {
    let device = Device::ec();
    let key = device.key();
    let proof = device.renewal("challenge");
    let (input, signature) = proof.rsplit_once('.').unwrap();
    let (header, _) = input.split_once('.').unwrap();
    let other_payload = b64(json!({"jti": "another-challenge"}).to_string().as_bytes());
    let swapped = format!("{header}.{other_payload}.{signature}");
    assert_eq!(verify_renewal(&swapped, &key), Err(ProofError::Signature));
    let mut flipped = URL_SAFE_NO_PAD.decode(signature).unwrap();
    flipped[10] ^= 1;
    let flipped = format!("{input}.{}", b64(&flipped));
    assert_eq!(verify_renewal(&flipped, &key), Err(ProofError::Signature));
}

#[test]
fn headers_other_than_es256_and_rs256_dbsc_jwts_are_refused() {
    let device = Device::ec();
    let key = device.key();
    let unsigned = |header: Value| {
        format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(json!({"jti": "c"}).to_string().as_bytes())
        )
    };
    for header in [
        json!({"alg": "none", "typ": "dbsc+jwt", "jwk": device.jwk()}),
        json!({"alg": "HS256", "typ": "dbsc+jwt", "jwk": device.jwk()}),
        json!({"alg": "ES384", "typ": "dbsc+jwt", "jwk": device.jwk()}),
        json!({"alg": "EdDSA", "typ": "dbsc+jwt", "jwk": device.jwk()}),
        json!({"typ": "dbsc+jwt", "jwk": device.jwk()}),
    ] {
        let result = verify_registration(&unsigned(header.clone()));
        assert!(
            matches!(
                result,
                Err(ProofError::Header(_) | ProofError::Malformed(_))
            ),
            "{header}: {result:?}"
        );
    }
    // A right alg with the wrong or no typ, signed properly.
    for typ in [json!("jwt"), json!("JWT"), Value::Null] {
        let mut header = json!({"alg": "ES256", "jwk": device.jwk()});
        if !typ.is_null() {
            header["typ"] = typ.clone();
        }
        let proof = device.proof(&header, &json!({"jti": "c"}));
        assert!(
            matches!(verify_registration(&proof), Err(ProofError::Header(_))),
            "typ {typ}"
        );
    }
    // An ES256 signature in DER form (not r || s) is not accepted.
    let der_device = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
            .unwrap()
            .as_ref(),
    )
    .unwrap();
    let point = der_device.public_key().as_ref();
    let jwk = json!({"crv": "P-256", "kty": "EC", "x": b64(&point[1..33]), "y": b64(&point[33..])});
    let input = format!(
        "{}.{}",
        b64(json!({"alg": "ES256", "jwk": jwk, "typ": "dbsc+jwt"})
            .to_string()
            .as_bytes()),
        b64(json!({"jti": "c"}).to_string().as_bytes())
    );
    let der = der_device
        .sign(&SystemRandom::new(), input.as_bytes())
        .unwrap();
    let proof = format!("{input}.{}", b64(der.as_ref()));
    assert_eq!(
        verify_registration(&proof).map(|_| ()),
        Err(ProofError::Signature)
    );
    let _ = key;
}

#[test]
fn keys_other_than_p256_and_rsa_2048_to_4096_are_refused() {
    let device = Device::ec();
    let with_jwk = |alg: &str, jwk: Value| {
        device.proof(
            &json!({"alg": alg, "jwk": jwk, "typ": "dbsc+jwt"}),
            &json!({"jti": "c"}),
        )
    };
    let mut p384 = device.jwk();
    p384["crv"] = json!("P-384");
    let mut short_x = device.jwk();
    short_x["x"] = json!(b64(&[1; 31]));
    let mut not_base64 = device.jwk();
    not_base64["y"] = json!("not base64url!");
    let small_rsa = json!({"kty": "RSA", "e": "AQAB", "n": b64(&[0xc5; 128])});
    let padded_small_rsa = json!({"kty": "RSA", "e": "AQAB",
                                  "n": b64(&[vec![0; 300], vec![0xc5; 128]].concat())});
    let huge_rsa = json!({"kty": "RSA", "e": "AQAB", "n": b64(&[0xc5; 1024])});
    let oversized = {
        let mut jwk = device.jwk();
        jwk["padding"] = json!("x".repeat(3000));
        jwk
    };
    for (alg, jwk) in [
        ("ES256", p384),
        ("ES256", short_x),
        ("ES256", not_base64),
        (
            "ES256",
            json!({"kty": "RSA", "e": "AQAB", "n": b64(&[0xc5; 256])}),
        ),
        ("RS256", device.jwk()),
        ("RS256", small_rsa),
        ("RS256", padded_small_rsa),
        ("RS256", huge_rsa),
        ("ES256", oversized),
        ("ES256", json!("a string")),
        ("ES256", json!({})),
    ] {
        let result = verify_registration(&with_jwk(alg, jwk.clone()));
        assert!(
            matches!(result, Err(ProofError::BadKey(_))),
            "{alg} {jwk}: {result:?}"
        );
    }
    // A registration proof must carry its key.
    assert!(matches!(
        verify_registration(&device.renewal("c")),
        Err(ProofError::BadKey(_))
    ));
    // RSA-4096 is within the range.
    let big = Device::rsa(KeySize::Rsa4096);
    verify_registration(&big.registration("c")).unwrap();
}

#[test]
fn claims_and_shapes_are_checked() {
    let device = Device::ec();
    let key = device.key();
    let header = json!({"alg": "ES256", "typ": "dbsc+jwt"});
    for payload in [
        json!({}),
        json!({"jti": ""}),
        json!({"jti": 5}),
        json!({"jti": "c", "authorization": 1}),
    ] {
        let result = verify_renewal(&device.proof(&header, &payload), &key);
        assert!(
            matches!(result, Err(ProofError::Claims(_))),
            "{payload}: {result:?}"
        );
    }
    for garbage in [
        "",
        "a",
        "a.b",
        "a.b.c.d",
        "!!!.@@@.###",
        &format!("{}.e30.", b64(b"[1,2]")),
    ] {
        assert!(
            matches!(verify_renewal(garbage, &key), Err(ProofError::Malformed(_))),
            "{garbage:?}"
        );
    }
    let long = format!("{}.e30.AAAA", "A".repeat(MAX_PROOF_LEN));
    assert!(matches!(
        verify_renewal(&long, &key),
        Err(ProofError::Malformed(_))
    ));
}
