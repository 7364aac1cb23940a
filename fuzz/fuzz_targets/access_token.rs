//! Access-token parsing and verification, by the engine and by the JWKS verifier: any input is
//! refused with an error (never a panic), and whatever is accepted carries the claims of a token
//! the engine really minted. Inputs are tried whole and spliced into each segment of a genuine
//! token, so that the fuzzer reaches the header, claims and signature checks.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tessera_core::testing::MemoryStore;
use tessera_core::{
    AccessToken, AntiCsrfToken, JwksVerifier, NewSession, SessionConfig, Sessions, Timestamp,
    VerifyOptions,
};

struct Fixture {
    runtime: tokio::runtime::Runtime,
    sessions: Sessions,
    verifier: JwksVerifier,
    genuine: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let sessions = Sessions::new(MemoryStore::default(), SessionConfig::default());
        let created = runtime
            .block_on(sessions.create_new_session(NewSession::new("fuzz-user").anti_csrf(true)))
            .expect("a session");
        let jwks = runtime.block_on(sessions.jwks()).expect("a JWKS");
        Fixture {
            verifier: JwksVerifier::from_jwks(&jwks),
            genuine: created.access_token.token.expose().to_owned(),
            runtime,
            sessions,
        }
    })
}

fn check(f: &Fixture, token: &str, anti_csrf: Option<&AntiCsrfToken>) {
    let token = AccessToken::new(token.to_owned());
    for check_database in [false, true] {
        let options = VerifyOptions {
            do_anti_csrf_check: true,
            check_database,
        };
        if let Ok(verified) = f
            .runtime
            .block_on(f.sessions.get_session(&token, anti_csrf, options))
        {
            assert_eq!(verified.user_id, "fuzz-user");
        }
    }
    if let Ok(verified) = f.verifier.verify(
        &token,
        anti_csrf,
        true,
        Timestamp::from_millis(i64::MAX / 2),
    ) {
        assert_eq!(verified.user_id, "fuzz-user");
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let input = String::from_utf8_lossy(data);
    let anti_csrf = AntiCsrfToken::new(input.chars().take(40).collect::<String>());
    check(f, &input, None);
    check(f, &input, Some(&anti_csrf));
    let parts: Vec<&str> = f.genuine.split('.').collect();
    for segment in 0..parts.len() {
        let mut spliced = parts.clone();
        spliced[segment] = &input;
        check(f, &spliced.join("."), None);
    }
});
