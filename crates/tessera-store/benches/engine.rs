//! Hot paths of the engine on the SQLite store, with the raw signature primitives measured in the
//! same run so ratios can be taken between them (`BENCHMARKS.md`).
//!
//! Run: `cargo bench -p tessera-store --bench engine`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use std::cell::RefCell;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    Ed25519KeyPair, KeyPair, ParsedPublicKey, ED25519, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use divan::{black_box, Bencher};
use tessera_core::{
    NewSession, RefreshToken, SessionConfig, SessionTokens, Sessions, SigningAlgorithm,
    VerifyOptions,
};
use tokio::runtime::Runtime;

fn main() {
    divan::main();
}

/// A JWT signing input of the size Tessera produces (header + typical claims, base64url).
const MESSAGE: &[u8] = &[b'a'; 420];

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

struct Engine {
    runtime: Runtime,
    sessions: Sessions,
    created: SessionTokens,
    _dir: tempfile::TempDir,
}

fn engine(algorithm: SigningAlgorithm) -> Engine {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = runtime
        .block_on(tessera_store::SqliteStore::open(
            dir.path().join("bench.db"),
        ))
        .expect("store");
    let sessions = Sessions::new(
        store,
        SessionConfig {
            signing_algorithm: algorithm,
            ..SessionConfig::default()
        },
    );
    let created = runtime
        .block_on(sessions.create_new_session(NewSession::new("bench-user")))
        .expect("session");
    Engine {
        runtime,
        sessions,
        created,
        _dir: dir,
    }
}

mod raw {
    use super::*;

    #[divan::bench]
    fn rsa2048_sign(bencher: Bencher) {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).expect("key");
        let rng = SystemRandom::new();
        let mut signature = vec![0; key.public_modulus_len()];
        bencher.bench_local(|| {
            key.sign(&RSA_PKCS1_SHA256, &rng, black_box(MESSAGE), &mut signature)
                .expect("sign");
        });
    }

    #[divan::bench]
    fn rsa2048_verify(bencher: Bencher) {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).expect("key");
        let mut signature = vec![0; key.public_modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            MESSAGE,
            &mut signature,
        )
        .expect("sign");
        let public = PublicKeyComponents::<Vec<u8>>::from(key.public_key())
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .expect("public key");
        bencher.bench_local(|| {
            public
                .verify_sig(black_box(MESSAGE), black_box(&signature))
                .expect("verify");
        });
    }

    #[divan::bench]
    fn ed25519_sign(bencher: Bencher) {
        let key = Ed25519KeyPair::generate().expect("key");
        bencher.bench_local(|| key.sign(black_box(MESSAGE)));
    }

    #[divan::bench]
    fn ed25519_verify(bencher: Bencher) {
        let key = Ed25519KeyPair::generate().expect("key");
        let signature = key.sign(MESSAGE);
        let public = ParsedPublicKey::new(&ED25519, key.public_key().as_ref()).expect("key");
        bencher.bench_local(|| {
            public
                .verify_sig(black_box(MESSAGE), black_box(signature.as_ref()))
                .expect("verify");
        });
    }
}

fn bench_verify(bencher: Bencher, algorithm: SigningAlgorithm) {
    let engine = engine(algorithm);
    let token = engine.created.access_token.token.clone();
    bencher.bench_local(|| {
        engine
            .runtime
            .block_on(
                engine
                    .sessions
                    .get_session(&token, None, VerifyOptions::default()),
            )
            .expect("verify")
    });
}

fn bench_create(bencher: Bencher, algorithm: SigningAlgorithm) {
    let engine = engine(algorithm);
    bencher.bench_local(|| {
        engine
            .runtime
            .block_on(engine.sessions.create_new_session(NewSession::new("u")))
            .expect("create")
    });
}

fn bench_refresh(bencher: Bencher, algorithm: SigningAlgorithm) {
    let engine = engine(algorithm);
    // Each iteration presents the newest token, as a client does: a commit and a new child.
    let jar = RefCell::new(engine.created.refresh_token.token.clone());
    bencher.bench_local(|| {
        let token: RefreshToken = jar.borrow().clone();
        let tokens = engine
            .runtime
            .block_on(engine.sessions.refresh_session(&token, None))
            .expect("refresh");
        *jar.borrow_mut() = tokens.refresh_token.token;
    });
}

mod rs256_sqlite {
    use super::*;

    #[divan::bench]
    fn verify(bencher: Bencher) {
        bench_verify(bencher, SigningAlgorithm::Rs256);
    }

    #[divan::bench]
    fn create(bencher: Bencher) {
        bench_create(bencher, SigningAlgorithm::Rs256);
    }

    #[divan::bench]
    fn refresh(bencher: Bencher) {
        bench_refresh(bencher, SigningAlgorithm::Rs256);
    }
}

mod eddsa_sqlite {
    use super::*;

    #[divan::bench]
    fn verify(bencher: Bencher) {
        bench_verify(bencher, SigningAlgorithm::EdDsa);
    }

    #[divan::bench]
    fn create(bencher: Bencher) {
        bench_create(bencher, SigningAlgorithm::EdDsa);
    }

    #[divan::bench]
    fn refresh(bencher: Bencher) {
        bench_refresh(bencher, SigningAlgorithm::EdDsa);
    }
}

#[allow(dead_code)]
fn _assert_send(_: Arc<Sessions>) {}
