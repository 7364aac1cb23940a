//! Randomized model test of rotation and theft detection on a real SQLite file, with a fresh seed
//! on every run.
//!
//! Each generated schedule drives one session. The honest client is a browser: several tabs share
//! one cookie jar holding a refresh token and an access token. A tab sends either a refresh with
//! the jar's refresh token, or an API call with the jar's access token, which the server verifies
//! as an app does by default (in memory; an access token minted by a refresh carries
//! `parentRefreshTokenHash1`, so its first verifications go to the store and hand back a token
//! without it). The server processes pending requests in any order; responses arrive in any order
//! or are lost; a delivered response overwrites the cookies it carries. Honest requests complete
//! within half the grace window; a lost response can be retried at any later time. An attacker
//! copies any refresh or access token the honest client was ever issued and replays it, or uses
//! what it got back.
//!
//! Checked on every step:
//! 1. Until the attacker presents something, the honest client is never told theft or
//!    unauthorised.
//! 2. A refresh token replayed (by refresh, or by the first-use access token minted with it) more
//!    than the grace window after the honest client used a strict descendant of it is reported as
//!    theft (user id and handle) at that replay, and the session is revoked.
//! 3. At the end, if the attacker still holds a working token, alternating refreshes of victim and
//!    attacker spaced beyond the grace window hit theft within two rounds.
//!
//! Schedules: `PROPTEST_CASES` (default 10 000). Every run draws a fresh seed and prints it;
//! `TESSERA_MODEL_SEED=<hex>` replays one run exactly (the schedule is a pure function of the
//! seed: requests processed "at once" go to the store one by one in a drawn order).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use tessera_core::{
    AccessToken, Clock, ManualClock, NewSession, RefreshToken, SessionConfig, SessionError,
    SessionStore, Sessions, SigningAlgorithm, VerifyOptions,
};

const GRACE_MS: i64 = 30_000;
/// Honest requests complete (send to delivery) within this: half the grace window.
const MAX_IN_FLIGHT_MS: i64 = GRACE_MS / 2;
const TABS: usize = 4;
/// Access tokens live long enough that most schedules use them, short enough that some expire.
const ACCESS_TOKEN_SECS: u64 = 600;

#[derive(Debug, Clone)]
enum Step {
    Send { tab: u8 },
    Call { tab: u8 },
    Process { pick: u8 },
    ProcessAllAtOnce { order: u8 },
    Deliver { pick: u8, lose: bool },
    Tick { us: u32 },
    Idle { secs: u32 },
    Steal { pick: u8 },
    AttackerRefresh { pick: u8 },
    AttackerCall { pick: u8 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => any::<u8>().prop_map(|tab| Step::Send { tab }),
        3 => any::<u8>().prop_map(|tab| Step::Call { tab }),
        4 => any::<u8>().prop_map(|pick| Step::Process { pick }),
        1 => any::<u8>().prop_map(|order| Step::ProcessAllAtOnce { order }),
        4 => (any::<u8>(), prop::bool::weighted(0.2)).prop_map(|(pick, lose)| Step::Deliver { pick, lose }),
        // Sub-millisecond steps too: rotation times are kept in microseconds.
        2 => (0u32..6_000_000).prop_map(|us| Step::Tick { us }),
        1 => (31u32..7_200).prop_map(|secs| Step::Idle { secs }),
        1 => any::<u8>().prop_map(|pick| Step::Steal { pick }),
        2 => any::<u8>().prop_map(|pick| Step::AttackerRefresh { pick }),
        1 => any::<u8>().prop_map(|pick| Step::AttackerCall { pick }),
    ]
}

/// A token pair as a response delivers it.
#[derive(Clone)]
struct Pair {
    refresh: RefreshToken,
    access: AccessToken,
}

enum Call {
    Refresh(RefreshToken),
    /// An API call with an access token minted with this refresh token.
    Api(AccessToken, RefreshToken),
}

struct Request {
    tab: usize,
    sent_at: i64,
    call: Call,
}

enum Reply {
    Refreshed(Option<Pair>),
    /// An API call's answer; a first verification hands back a new access token.
    Api(Option<AccessToken>),
}

struct Response {
    tab: usize,
    sent_at: i64,
    reply: Reply,
}

/// One schedule's world.
struct World<'a> {
    sessions: &'a Sessions,
    clock: &'a ManualClock,
    user_id: String,
    handle: String,
    jar: Option<Pair>,
    requests: Vec<Request>,
    responses: Vec<Response>,
    /// Model lineage: refresh token → the token presented to obtain it.
    parent: HashMap<String, String>,
    /// Every token pair issued to the honest client, in order.
    honest_issued: Vec<Pair>,
    /// Access token → the refresh token it was minted with. The jar's two cookies need not match:
    /// a late API response re-sets only the access cookie, with a token of an older refresh
    /// token, so an API call is a use of this token's refresh token, not of the jar's.
    access_minted_with: HashMap<String, RefreshToken>,
    /// Refresh token → earliest time (µs) the honest client used a strict descendant of it.
    descendant_used_at: HashMap<String, i64>,
    attacker_bag: Vec<Pair>,
    attacker_touched: bool,
    revoked: bool,
}

type Check = Result<(), TestCaseError>;

impl World<'_> {
    fn now(&self) -> i64 {
        self.clock.now_micros().as_micros()
    }

    fn tab_busy(&self, tab: usize) -> bool {
        self.requests.iter().any(|r| r.tab == tab) || self.responses.iter().any(|r| r.tab == tab)
    }

    fn oldest_in_flight(&self) -> Option<i64> {
        self.requests
            .iter()
            .map(|r| r.sent_at)
            .chain(self.responses.iter().map(|r| r.sent_at))
            .min()
    }

    /// The honest client used `token` at `at`: every strict ancestor has been moved past.
    fn honest_used(&mut self, token: &str, at: i64) {
        let mut cursor = self.parent.get(token).cloned();
        while let Some(ancestor) = cursor {
            let entry = self
                .descendant_used_at
                .entry(ancestor.clone())
                .or_insert(at);
            *entry = (*entry).min(at);
            cursor = self.parent.get(&ancestor).cloned();
        }
    }

    fn check_theft_identity<T>(&self, result: &Result<T, SessionError>) -> Check {
        if let Err(SessionError::TokenTheftDetected {
            user_id,
            session_handle,
        }) = result
        {
            prop_assert_eq!(user_id, &self.user_id);
            prop_assert_eq!(session_handle, &self.handle);
        }
        Ok(())
    }

    /// Property 1 for a result the honest client received.
    fn check_honest<T>(&mut self, result: &Result<T, SessionError>, what: &str) -> Check {
        self.check_theft_identity(result)?;
        match result {
            Ok(_) | Err(SessionError::TryRefreshToken { .. }) => Ok(()),
            Err(SessionError::General(error)) => {
                Err(TestCaseError::fail(format!("{what}: store fault {error}")))
            }
            Err(error) => {
                prop_assert!(
                    self.attacker_touched,
                    "{what}: honest client got {error:?} with no attacker involved"
                );
                if matches!(error, SessionError::TokenTheftDetected { .. }) {
                    self.revoked = true;
                }
                Ok(())
            }
        }
    }

    async fn process(&mut self, request: Request) -> Check {
        let at = self.now();
        let reply = match request.call {
            Call::Refresh(token) => {
                let result = self.sessions.refresh_session(&token, None).await;
                self.check_honest(&result, "honest refresh")?;
                match result {
                    Ok(tokens) => {
                        let child = tokens.refresh_token.token.clone();
                        self.parent
                            .insert(child.expose().to_owned(), token.expose().to_owned());
                        self.honest_used(token.expose(), at);
                        let pair = Pair {
                            refresh: child,
                            access: tokens.access_token.token,
                        };
                        self.access_minted_with
                            .insert(pair.access.expose().to_owned(), pair.refresh.clone());
                        self.honest_issued.push(pair.clone());
                        Reply::Refreshed(Some(pair))
                    }
                    Err(_) => Reply::Refreshed(None),
                }
            }
            Call::Api(access, refresh) => {
                let result = self
                    .sessions
                    .get_session(&access, None, VerifyOptions::default())
                    .await;
                self.check_honest(&result, "honest API call")?;
                match result {
                    Ok(verified) => {
                        // Using the access token is a use of the refresh token minted with it.
                        self.honest_used(refresh.expose(), at);
                        let replacement = verified.new_access_token.map(|issued| issued.token);
                        if let Some(replacement) = &replacement {
                            // A replacement is minted with the same refresh token.
                            self.access_minted_with
                                .insert(replacement.expose().to_owned(), refresh.clone());
                        }
                        Reply::Api(replacement)
                    }
                    Err(_) => Reply::Api(None),
                }
            }
        };
        self.responses.push(Response {
            tab: request.tab,
            sent_at: request.sent_at,
            reply,
        });
        Ok(())
    }

    /// A delivered response overwrites the cookies it carries.
    fn deliver(&mut self, reply: Reply) {
        match reply {
            // A failed refresh clears the cookies, as the frontend SDK's backend does.
            Reply::Refreshed(pair) => self.jar = pair,
            // A response carrying an access token overwrites that cookie only.
            Reply::Api(Some(access)) => {
                if let Some(jar) = &mut self.jar {
                    jar.access = access;
                }
            }
            Reply::Api(None) => {}
        }
    }

    fn send(&mut self, tab: u8, api: bool) {
        let tab = usize::from(tab) % TABS;
        let (false, Some(pair)) = (self.tab_busy(tab), &self.jar) else {
            return;
        };
        let call = if api {
            let minted_with = self
                .access_minted_with
                .get(pair.access.expose())
                .cloned()
                .unwrap_or_else(|| pair.refresh.clone());
            Call::Api(pair.access.clone(), minted_with)
        } else {
            Call::Refresh(pair.refresh.clone())
        };
        self.requests.push(Request {
            tab,
            sent_at: self.now(),
            call,
        });
    }

    async fn run(&mut self, step: &Step, attacker: bool) -> Check {
        match *step {
            Step::Send { tab } => self.send(tab, false),
            Step::Call { tab } => self.send(tab, true),
            Step::Process { pick } => {
                if !self.requests.is_empty() {
                    let request = self
                        .requests
                        .remove(usize::from(pick) % self.requests.len());
                    self.process(request).await?;
                }
            }
            Step::ProcessAllAtOnce { order } => {
                // Every pending request reaches the server at the same instant; the store
                // serialises them in some order.
                let mut requests = std::mem::take(&mut self.requests);
                if !requests.is_empty() {
                    let shift = usize::from(order) % requests.len();
                    requests.rotate_left(shift);
                    if order % 2 == 1 {
                        requests.reverse();
                    }
                }
                for request in requests {
                    self.process(request).await?;
                }
            }
            Step::Deliver { pick, lose } => {
                if !self.responses.is_empty() {
                    let response = self
                        .responses
                        .remove(usize::from(pick) % self.responses.len());
                    if !lose {
                        self.deliver(response.reply);
                    }
                }
            }
            Step::Tick { us } => {
                let budget = match self.oldest_in_flight() {
                    Some(oldest) => MAX_IN_FLIGHT_MS * 1000 - (self.now() - oldest),
                    None => i64::MAX,
                };
                let us = i64::from(us).min(budget).max(0);
                self.clock.advance(Duration::from_micros(us as u64));
            }
            Step::Idle { secs } => {
                if self.oldest_in_flight().is_none() {
                    self.clock.advance(Duration::from_secs(u64::from(secs)));
                }
            }
            Step::Steal { pick } => {
                if attacker && !self.honest_issued.is_empty() {
                    let pair =
                        self.honest_issued[usize::from(pick) % self.honest_issued.len()].clone();
                    self.attacker_bag.push(pair);
                }
            }
            Step::AttackerRefresh { pick } => {
                if attacker && !self.attacker_bag.is_empty() {
                    let pair =
                        self.attacker_bag[usize::from(pick) % self.attacker_bag.len()].clone();
                    self.attacker_refresh(pair.refresh).await?;
                }
            }
            Step::AttackerCall { pick } => {
                if attacker && !self.attacker_bag.is_empty() {
                    let pair =
                        self.attacker_bag[usize::from(pick) % self.attacker_bag.len()].clone();
                    self.attacker_call(pair).await?;
                }
            }
        }
        Ok(())
    }

    /// Property 2 for a replay of `token` (by refresh, or by a first-use access token).
    fn check_replay<T>(&self, token: &RefreshToken, result: &Result<T, SessionError>) -> Check {
        self.check_theft_identity(result)?;
        if let Some(used_at) = self.descendant_used_at.get(token.expose()) {
            let since = self.now() - used_at;
            if since > GRACE_MS * 1000 {
                let caught = match result {
                    Err(SessionError::TokenTheftDetected { .. }) => true,
                    Err(SessionError::Unauthorised { .. }) => self.revoked,
                    _ => false,
                };
                prop_assert!(
                    caught,
                    "replay {} µs after the victim used a descendant was not theft: {:?}",
                    since,
                    result.as_ref().map(|_| "accepted")
                );
            }
        }
        Ok(())
    }

    async fn after_theft(&mut self) -> Check {
        self.revoked = true;
        // Revocation is immediate: the victim's own refresh token is dead too.
        if let Some(jar) = &self.jar {
            let after = self.sessions.refresh_session(&jar.refresh, None).await;
            prop_assert!(
                matches!(after, Err(SessionError::Unauthorised { .. })),
                "session still alive after theft: {:?}",
                after.as_ref().map(|_| "accepted")
            );
        }
        Ok(())
    }

    async fn attacker_refresh(&mut self, token: RefreshToken) -> Check {
        self.attacker_touched = true;
        let result = self.sessions.refresh_session(&token, None).await;
        self.check_replay(&token, &result)?;
        match result {
            Ok(tokens) => {
                let child = tokens.refresh_token.token;
                self.parent
                    .insert(child.expose().to_owned(), token.expose().to_owned());
                self.attacker_bag.push(Pair {
                    refresh: child,
                    access: tokens.access_token.token,
                });
            }
            Err(SessionError::TokenTheftDetected { .. }) => self.after_theft().await?,
            Err(SessionError::General(error)) => {
                return Err(TestCaseError::fail(format!("store fault {error}")))
            }
            Err(_) => {}
        }
        Ok(())
    }

    async fn attacker_call(&mut self, pair: Pair) -> Check {
        self.attacker_touched = true;
        let result = self
            .sessions
            .get_session(&pair.access, None, VerifyOptions::default())
            .await;
        // Only an access token that still needs its first verification reaches the store; one
        // verified in memory cannot tell what happened since (revocation propagation is not
        // this test's subject).
        let first_use = access_token_needs_store(&pair.access);
        let expired = matches!(result, Err(SessionError::TryRefreshToken { .. }));
        if first_use && !expired {
            self.check_replay(&pair.refresh, &result)?;
        } else {
            self.check_theft_identity(&result)?;
        }
        match result {
            Err(SessionError::TokenTheftDetected { .. }) => self.after_theft().await?,
            Err(SessionError::General(error)) => {
                return Err(TestCaseError::fail(format!("store fault {error}")))
            }
            _ => {}
        }
        Ok(())
    }

    /// Property 3 (and liveness for honest-only schedules).
    async fn drain(&mut self) -> Check {
        while let Some(request) = self.requests.pop() {
            self.process(request).await?;
        }
        while !self.responses.is_empty() {
            let response = self.responses.remove(0);
            self.deliver(response.reply);
        }
        let mut outcomes = Vec::new();
        for round in 0..4 {
            self.clock
                .advance(Duration::from_millis((GRACE_MS + 1_000) as u64));
            if round % 2 == 0 {
                let Some(pair) = self.jar.clone() else {
                    outcomes.push(false);
                    continue;
                };
                let result = self.sessions.refresh_session(&pair.refresh, None).await;
                self.check_honest(&result, "drain: victim refresh")?;
                if let Ok(tokens) = &result {
                    self.jar = Some(Pair {
                        refresh: tokens.refresh_token.token.clone(),
                        access: tokens.access_token.token.clone(),
                    });
                }
                outcomes.push(result.is_ok());
            } else {
                let Some(pair) = self.attacker_bag.last().cloned() else {
                    continue;
                };
                let before = self.attacker_bag.len();
                self.attacker_refresh(pair.refresh).await?;
                outcomes.push(self.attacker_bag.len() > before);
            }
        }
        if !self.attacker_bag.is_empty() {
            prop_assert!(
                outcomes.iter().any(|ok| !ok),
                "victim and attacker both kept a working session through the drain: {:?}",
                outcomes
            );
        }
        Ok(())
    }
}

/// Whether an access token carries `parentRefreshTokenHash1` (its verification goes to the store).
fn access_token_needs_store(token: &AccessToken) -> bool {
    use base64::Engine;
    let Some(body) = token.expose().split('.').nth(1) else {
        return false;
    };
    let Ok(json) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&json)
        .ok()
        .and_then(|claims| claims.get("parentRefreshTokenHash1").cloned())
        .is_some_and(|prt| prt.is_string())
}

/// The run's seed: `TESSERA_MODEL_SEED` (hex) to replay one, otherwise fresh.
fn seed() -> [u8; 32] {
    if let Ok(hex) = std::env::var("TESSERA_MODEL_SEED") {
        let bytes = hex::decode(hex.trim()).expect("TESSERA_MODEL_SEED is 64 hex digits");
        return bytes.try_into().expect("TESSERA_MODEL_SEED is 32 bytes");
    }
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    seed
}

#[test]
fn rotation_properties_hold_on_sqlite() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cases: u32 = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let seed = seed();
    eprintln!(
        "rotation model: seed {} (replay with TESSERA_MODEL_SEED)",
        hex::encode(seed)
    );
    let (store, _dir) = runtime.block_on(common::sqlite_store());
    let clock = Arc::new(ManualClock::new(common::START));
    let config = SessionConfig {
        // Ed25519 keeps 10 000 schedules fast; the rotation logic does not depend on the algorithm.
        signing_algorithm: SigningAlgorithm::EdDsa,
        refresh_token_rotation_grace_period: Duration::from_millis(GRACE_MS as u64),
        refresh_token_validity: Duration::from_secs(3_650 * 86_400),
        access_token_validity: Duration::from_secs(ACCESS_TOKEN_SECS),
        ..SessionConfig::default()
    };
    let sessions = Sessions::with_clock(
        Arc::clone(&store) as Arc<dyn SessionStore>,
        config,
        Arc::clone(&clock) as Arc<dyn Clock>,
    );
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let strategy = (any::<bool>(), prop::collection::vec(step(), 1..60));
    let schedules = std::sync::atomic::AtomicU64::new(0);
    let outcome = runner.run(&strategy, |(attacker, steps)| {
        let schedule = schedules.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        runtime.block_on(async {
            let created = sessions
                .create_new_session(NewSession::new(format!("user-{schedule}")))
                .await
                .map_err(|e| TestCaseError::fail(format!("create: {e}")))?;
            let first = Pair {
                refresh: created.refresh_token.token.clone(),
                access: created.access_token.token.clone(),
            };
            let mut world = World {
                sessions: &sessions,
                clock: &clock,
                user_id: created.session.user_id.clone(),
                handle: created.session.handle.clone(),
                jar: Some(first.clone()),
                requests: Vec::new(),
                responses: Vec::new(),
                parent: HashMap::new(),
                access_minted_with: HashMap::from([(
                    first.access.expose().to_owned(),
                    first.refresh.clone(),
                )]),
                honest_issued: vec![first],
                descendant_used_at: HashMap::new(),
                attacker_bag: Vec::new(),
                attacker_touched: false,
                revoked: false,
            };
            for step in &steps {
                world.run(step, attacker).await?;
            }
            world.drain().await
        })
    });
    if let Err(failure) = outcome {
        panic!(
            "{failure}\nseed {} (replay with TESSERA_MODEL_SEED)",
            hex::encode(seed)
        );
    }
    eprintln!("rotation model: {cases} schedules passed");
}
