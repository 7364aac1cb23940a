//! `Sessions::get_session_now`, the verification that awaits nothing: it settles exactly the
//! cases `get_session` settles in memory, with the same outcome, never touches the store, and
//! hands every case that needs the store (a token not verified before, the first use of a
//! refreshed token, `check_database`) back to `get_session`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tessera_core::testing::MemoryStore;
use tessera_core::{
    AccessToken, AntiCsrfToken, Clock, ManualClock, NewSession, ObservedStore, SessionConfig,
    SessionError, SessionStore, SessionTokens, Sessions, Timestamp, VerifiedSession, VerifyOptions,
};

const START: Timestamp = Timestamp::from_millis(1_767_229_200_000);

struct Fixture {
    sessions: Sessions,
    clock: Arc<ManualClock>,
    store_calls: Arc<AtomicU64>,
}

fn fixture(config: SessionConfig) -> Fixture {
    let store_calls = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&store_calls);
    let store: Arc<dyn SessionStore> = Arc::new(ObservedStore::new(
        Arc::new(MemoryStore::default()),
        move |operation| {
            if operation != "revocations" {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        },
    ));
    let clock = Arc::new(ManualClock::new(START));
    let sessions = Sessions::with_clock(store, config, Arc::clone(&clock) as Arc<dyn Clock>);
    Fixture {
        sessions,
        clock,
        store_calls,
    }
}

impl Fixture {
    fn calls(&self) -> u64 {
        self.store_calls.load(Ordering::SeqCst)
    }

    /// `get_session_now`, which must not touch the store, whatever it answers.
    fn now(
        &self,
        token: &AccessToken,
        anti_csrf: Option<&AntiCsrfToken>,
        options: VerifyOptions,
    ) -> Option<Result<VerifiedSession, SessionError>> {
        let calls = self.calls();
        let outcome = self.sessions.get_session_now(token, anti_csrf, options);
        assert_eq!(self.calls(), calls, "get_session_now touched the store");
        outcome
    }
}

impl Fixture {
    async fn sign_in(&self) -> SessionTokens {
        self.sessions
            .create_new_session(NewSession::new("alice"))
            .await
            .unwrap()
    }

    /// `get_session_now` settles the token, and `get_session` ends the same way.
    async fn settled(
        &self,
        token: &AccessToken,
        anti_csrf: Option<&AntiCsrfToken>,
        options: VerifyOptions,
    ) -> Result<VerifiedSession, SessionError> {
        let settled = self
            .now(token, anti_csrf, options)
            .expect("settled in memory");
        let awaited = self.sessions.get_session(token, anti_csrf, options).await;
        same_outcome(&settled, &awaited);
        settled
    }
}

/// Both verifications of the same token end the same way (the same session, or the same kind
/// of refusal).
fn same_outcome(
    settled: &Result<VerifiedSession, SessionError>,
    awaited: &Result<VerifiedSession, SessionError>,
) {
    match (settled, awaited) {
        (Ok(settled), Ok(awaited)) => {
            assert_eq!(**settled, **awaited);
            assert!(settled.new_access_token.is_none());
        }
        (Err(settled), Err(awaited)) => assert_eq!(
            std::mem::discriminant(settled),
            std::mem::discriminant(awaited),
            "{settled:?} against {awaited:?}"
        ),
        other => panic!("the two verifications disagree: {other:?}"),
    }
}

#[tokio::test]
async fn a_token_verified_before_is_settled_as_get_session_settles_it() {
    let f = fixture(SessionConfig::default());
    let created = f.sign_in().await;
    let token = &created.access_token.token;
    let options = VerifyOptions::default();
    assert!(
        f.now(token, None, options).is_none(),
        "a token never verified here needs its signature checked"
    );
    f.sessions.get_session(token, None, options).await.unwrap();
    let settled = f.settled(token, None, options).await;
    assert_eq!(settled.unwrap().user_id, "alice");

    // Expired: the same refusal, still without the store.
    f.clock.advance(Duration::from_secs(3600));
    let settled = f.settled(token, None, options).await;
    assert!(matches!(settled, Err(SessionError::TryRefreshToken { .. })));
}

#[tokio::test]
async fn a_revoked_session_is_refused_without_the_store() {
    let f = fixture(SessionConfig::default());
    let created = f.sign_in().await;
    let token = &created.access_token.token;
    let options = VerifyOptions::default();
    f.sessions.get_session(token, None, options).await.unwrap();
    f.sessions
        .revoke_session(&created.session.handle)
        .await
        .unwrap();
    let settled = f.settled(token, None, options).await;
    assert!(
        matches!(settled, Err(SessionError::Unauthorised { .. })),
        "{settled:?}"
    );
}

#[tokio::test]
async fn a_refreshed_token_is_left_to_get_session_until_it_stops_naming_its_parent() {
    let f = fixture(SessionConfig::default());
    let created = f.sign_in().await;
    let child = f
        .sessions
        .refresh_session(&created.refresh_token.token, None)
        .await
        .unwrap();
    let options = VerifyOptions::default();
    let first = f
        .sessions
        .get_session(&child.access_token.token, None, options)
        .await
        .unwrap();
    // The refreshed token is in the cache now, but it still names the refresh token it
    // replaced: each of its verifications must reach the store (commit, or theft).
    assert!(f.now(&child.access_token.token, None, options).is_none());
    let handed_back = first.new_access_token.expect("a token without the claim");
    // Not verified here yet; once get_session has checked its signature, it is settled in
    // memory.
    assert!(f.now(&handed_back.token, None, options).is_none());
    f.sessions
        .get_session(&handed_back.token, None, options)
        .await
        .unwrap();
    let settled = f
        .now(&handed_back.token, None, options)
        .expect("settled in memory");
    assert!(settled.unwrap().parent_refresh_token_hash1.is_none());
    // And the old refreshed token still goes to the store.
    assert!(f.now(&child.access_token.token, None, options).is_none());
}

#[tokio::test]
async fn check_database_is_left_to_get_session() {
    let f = fixture(SessionConfig::default());
    let created = f.sign_in().await;
    let token = &created.access_token.token;
    f.sessions
        .get_session(token, None, VerifyOptions::default())
        .await
        .unwrap();
    let options = VerifyOptions {
        check_database: true,
        ..VerifyOptions::default()
    };
    assert!(f.now(token, None, options).is_none());
}

#[tokio::test]
async fn the_anti_csrf_token_is_checked_in_memory_too() {
    let f = fixture(SessionConfig {
        anti_csrf: true,
        ..SessionConfig::default()
    });
    let created = f.sign_in().await;
    let token = &created.access_token.token;
    let right = created.anti_csrf_token.clone().expect("an anti-CSRF token");
    let wrong = AntiCsrfToken::new("not-the-token".to_owned());
    let options = VerifyOptions {
        do_anti_csrf_check: true,
        ..VerifyOptions::default()
    };
    f.sessions
        .get_session(token, Some(&right), options)
        .await
        .unwrap();
    for supplied in [Some(&wrong), None] {
        let settled = f.now(token, supplied, options).expect("settled in memory");
        assert!(
            matches!(settled, Err(SessionError::TryRefreshToken { .. })),
            "{settled:?}"
        );
        same_outcome(
            &settled,
            &f.sessions.get_session(token, supplied, options).await,
        );
    }
    let settled = f
        .now(token, Some(&right), options)
        .expect("settled in memory");
    same_outcome(
        &settled,
        &f.sessions.get_session(token, Some(&right), options).await,
    );
}
