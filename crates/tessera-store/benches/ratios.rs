//! Interleaved A/B measurement of the targets: each round times the raw primitive and the
//! engine call back to back, so drift in machine speed hits both alike. Prints medians and ratios.
//! Signing-bound calls alternate one by one; verifications alternate in blocks of 25.
//!
//! Run: `cargo bench -p tessera-store --bench ratios` (`TESSERA_BENCH_ROUNDS`, default 2000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use std::time::Instant;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use std::hint::black_box;
use tessera_core::{NewSession, SessionConfig, Sessions, VerifyOptions};

/// Verifications per timed block.
const VERIFY_BLOCK: usize = 25;

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Polls a future that is expected to be ready at once; falls back to a runtime if it is not.
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future),
    }
}

fn timed(work: impl FnOnce()) -> f64 {
    let start = Instant::now();
    work();
    start.elapsed().as_secs_f64() * 1e6
}

fn main() {
    let rounds: usize = std::env::var("TESSERA_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = runtime
        .block_on(tessera_store::SqliteStore::open(
            dir.path().join("ratios.db"),
        ))
        .expect("store");
    let sessions = Sessions::new(store, SessionConfig::default());
    // The same file without the verified-token cache: every verification checks the signature.
    let uncached = Sessions::new(
        runtime
            .block_on(tessera_store::SqliteStore::open(
                dir.path().join("ratios.db"),
            ))
            .expect("store"),
        SessionConfig {
            verified_token_cache_entries: 0,
            ..SessionConfig::default()
        },
    );
    let created = runtime
        .block_on(sessions.create_new_session(NewSession::new("bench-user")))
        .expect("session");
    let access_token = created.access_token.token.clone();
    let mut refresh_token = created.refresh_token.token.clone();
    let message = created.access_token.token.expose().as_bytes()[..420].to_vec();

    let key = RsaKeyPair::generate(KeySize::Rsa2048).expect("key");
    let rng = SystemRandom::new();
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &rng, &message, &mut signature)
        .expect("sign");
    let public = PublicKeyComponents::<Vec<u8>>::from(key.public_key())
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .expect("public key");

    let (mut raw_sign, mut refresh, mut raw_verify, mut verify, mut create, mut verify_block_on) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let mut first_use = Vec::new();
    let mut verify_uncached = Vec::new();
    for round in 0..rounds + rounds / 10 {
        let warm = round < rounds / 10;
        let a = timed(|| {
            key.sign(&RSA_PKCS1_SHA256, &rng, black_box(&message), &mut signature)
                .expect("sign")
        });
        let mut refreshed_access = None;
        let b = timed(|| {
            let tokens = runtime
                .block_on(sessions.refresh_session(&refresh_token, None))
                .expect("refresh");
            refresh_token = tokens.refresh_token.token;
            refreshed_access = Some(tokens.access_token.token);
        });
        // The first verification of the refreshed access token: it commits the new refresh token
        // in the store (one write per refresh cycle) and re-mints the access token.
        let refreshed_access = refreshed_access.expect("refreshed");
        let g = timed(|| {
            let verified = runtime
                .block_on(sessions.get_session(&refreshed_access, None, VerifyOptions::default()))
                .expect("first use");
            assert!(verified.new_access_token.is_some());
        });
        // Verification is a steady stream in a server: compare blocks, per call.
        let c = timed(|| {
            for _ in 0..VERIFY_BLOCK {
                public
                    .verify_sig(black_box(&message), black_box(&signature))
                    .expect("verify")
            }
        }) / VERIFY_BLOCK as f64;
        // Polled in place: with a cached key the future is ready at once, and a request handler,
        // already inside a task, pays nothing like `Runtime::block_on`'s context switch.
        let d = timed(|| {
            for _ in 0..VERIFY_BLOCK {
                ready(sessions.get_session(&access_token, None, VerifyOptions::default()))
                    .expect("get_session");
            }
        }) / VERIFY_BLOCK as f64;
        let h = timed(|| {
            for _ in 0..VERIFY_BLOCK {
                ready(uncached.get_session(&access_token, None, VerifyOptions::default()))
                    .expect("get_session");
            }
        }) / VERIFY_BLOCK as f64;
        let f = timed(|| {
            for _ in 0..VERIFY_BLOCK {
                runtime
                    .block_on(sessions.get_session(&access_token, None, VerifyOptions::default()))
                    .expect("get_session");
            }
        }) / VERIFY_BLOCK as f64;
        let e = timed(|| {
            runtime
                .block_on(sessions.create_new_session(NewSession::new("u")))
                .expect("create");
        });
        if !warm {
            raw_sign.push(a);
            refresh.push(b);
            raw_verify.push(c);
            verify.push(d);
            create.push(e);
            verify_block_on.push(f);
            first_use.push(g);
            verify_uncached.push(h);
        }
    }
    let verify_block_on = median(&mut verify_block_on);
    let first_use = median(&mut first_use);
    let verify_uncached = median(&mut verify_uncached);
    let (raw_sign, refresh, raw_verify, verify, create) = (
        median(&mut raw_sign),
        median(&mut refresh),
        median(&mut raw_verify),
        median(&mut verify),
        median(&mut create),
    );
    println!("interleaved medians over {rounds} rounds (SQLite store, RS256):");
    println!("  raw RSA-2048 sign      {raw_sign:8.1} µs");
    println!("  engine refresh         {refresh:8.1} µs  -> throughput {:.0}% of raw signing (target >= 70%)", 100.0 * raw_sign / refresh);
    println!(
        "  engine create          {create:8.1} µs  -> throughput {:.0}% of raw signing",
        100.0 * raw_sign / create
    );
    println!("  raw RSA-2048 verify    {raw_verify:8.1} µs  (per call, blocks of {VERIFY_BLOCK})");
    println!(
        "  engine verify, cache off {verify_uncached:6.1} µs  -> {:.2}x raw verify (target <= 1.2x)",
        verify_uncached / raw_verify
    );
    println!(
        "  engine verify, cached  {verify:8.3} µs  -> {:.1}x faster than with the cache off, {:.1}x faster than raw verify (target <= 1 µs)",
        verify_uncached / verify,
        raw_verify / verify
    );
    println!(
        "  engine verify via Runtime::block_on {verify_block_on:8.1} µs  -> {:.2}x raw verify",
        verify_block_on / raw_verify
    );
    // One refresh per 100 requests: the cycle's first verification goes to the store instead of
    // being checked in memory.
    let stateless_cycle = (refresh + 100.0 * verify_uncached) / 100.0;
    let committing_cycle = (refresh + first_use + 99.0 * verify_uncached) / 100.0;
    println!("  first verification after a refresh (store write + re-mint) {first_use:8.1} µs");
    println!(
        "  per request at 1 refresh per 100 requests (cache off): {committing_cycle:.1} µs with the commit on first use, {stateless_cycle:.1} µs without -> {:.2}x",
        committing_cycle / stateless_cycle
    );
}
