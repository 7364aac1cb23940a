//! Exhaustive bounded model check of refresh-token rotation and theft detection, with
//! [`stateright`].
//!
//! # The model
//!
//! One session, created at tick 0 with token `T0` (its access token names no parent, so it never
//! goes to the store). Time is discrete: `Tick` advances it by one tick ([`TICK_US`]
//! microseconds); every other action happens at the current tick, in any order, and events in
//! the same tick share a timestamp (the boundary cases of the rules' comparisons).
//!
//! - **The honest browser** has several tabs sharing ONE cookie jar. The jar holds a refresh
//!   token and whether the access token that came with it is still unverified (its first
//!   verification goes to the store). An idle tab may send a request carrying the jar's token at
//!   send time: a refresh, or, while the jar's access token is unverified, a request whose access
//!   token the server verifies for the first time (an `AccessToken` presentation). A tab has one
//!   request outstanding at most.
//! - **The server** processes the outstanding requests in any order, each as one transaction of
//!   the rules under test at the current tick.
//! - **Responses** are delivered in any order, or lost. A delivered accepted refresh puts the new
//!   token, with an unverified access token, in the jar; a delivered accepted verification
//!   replaces the jar's access token with one that no longer needs the store; a delivered refusal
//!   or theft clears the jar. A lost response leaves the jar as it was. Whether a response is lost
//!   is decided when it is processed, and its tab is free at once: it may send any later request
//!   (a retry), at any time.
//! - **Timing**: every honest request completes (send, processing, delivery or loss) within `D`
//!   ticks, and the grace window is `G = 2·D`: time cannot advance past an outstanding request's
//!   deadline.
//! - **The attacker** may copy any refresh token ever issued, with its access token, and present
//!   it at any time: a refresh, or the first verification of its access token (not for `T0`). It
//!   keeps what it gets and may present that too. Its presentations are processed at once.
//! - The session's expiry lies beyond the horizon and anti-CSRF is off; theft revokes the session.
//!
//! # The properties
//!
//! The honest client *uses* a token when it presents it and is accepted (a refresh with it, or the
//! first verification of its access token).
//!
//! 1. **Honest safety**: in a run where the attacker has presented nothing, no honest request is
//!    answered with theft or any refusal.
//! 2. **Detection**: once the honest client has used a strict descendant `Y` of a token `X` at
//!    time `u`, every presentation of `X`, by anyone, processed after `u + G` is answered with
//!    theft (or refused, the session being revoked already).
//! 3. **Revocation**: once theft was detected, every presentation is refused. (The run ends there.)
//! 4. **Stale branch**: once the honest client has used a token at time `u`, every presentation
//!    of another token minted before `u − G`, processed after `u + G`, is answered with theft (or
//!    refused, the session being revoked already). By property 1 the client itself never presents
//!    such a token, so whoever does holds a branch the client has left: an attacker's sibling.
//!    Properties 1–3 would not notice kill rule (b) missing; this one does.
//!
//! Properties 2–4 are checked by probing: in every state, each presentation a property covers is
//! tried on a copy of the store and must be answered as the property says. As the attacker may
//! present any token at any moment, this covers an attacker's presentation at every point of every
//! run. The attacker's own `Attack` actions (bounded below) add runs in which earlier
//! presentations by the attacker changed the store.
//!
//! `sometimes` properties guard against vacuity: some presentation falls under property 2, some
//! under property 4, and (with an attacker) some run detects theft.
//!
//! # The bounds
//!
//! | test | tabs | `D` | `G` | last tick | tokens (with `T0`) | honest requests | attacks |
//! |---|---|---|---|---|---|---|---|
//! | `new_rules_hold_two_tabs` | 2 | 1 | 2 | 6 | 5 | 4 | 0 |
//! | `new_rules_hold_three_tabs` | 3 | 1 | 2 | 6 | 4 | 4 | 0 |
//! | `new_rules_hold_finer_time` | 2 | 2 | 4 | 10 | 3 | 4 | 0 |
//! | `new_rules_hold_with_attacker` | 2 | 1 | 2 | 6 | 4 | 3 | 1 |
//!
//! (`new_rules_hold_larger_bounds`, ignored, checks larger ones: run it with `--release
//! -- --ignored`.) A run has at most `3·requests + attacks + last tick` steps. The last tick is long
//! enough for a token killed by either kill rule to come back after the grace window. Within the
//! bounds the checker visits every reachable state, breadth first, and the tests assert that it
//! finished.
//!
//! # The rules
//!
//! The rules are plugged in through [`Rules`]: the real `rotation::plan` and
//! `rotation::apply_in_memory` ([`NewRules`]), mutants of them, and the old commit/supersede/adopt
//! rules ([`legacy`]). `old_rules_are_caught` and `mutants_are_caught` show that the checker finds
//! their faults, and print the (shortest) counterexamples.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

#[path = "model_check/legacy.rs"]
mod legacy;

use std::fmt::{Debug, Write as _};
use std::hash::Hash;
use std::time::Duration;
use std::time::Instant;

use serde_json::{Map, Value};
use stateright::{Checker, Expectation, HasDiscoveries, Model, Path, Property};
use tessera_core::rotation::{self, Plan, RotationPolicy};
use tessera_core::{
    ChildToken, DeviceProof, PresentOutcome, Presentation, PresentationKind, RefreshTokenRecord,
    SessionRecord, Timestamp,
};

/// A refresh token, by the order it was minted in: `T0` is the session's first.
type Tok = u8;
/// Model time.
type Tick = u8;

/// One tick, in microseconds.
const TICK_US: i64 = 1_000_000;
/// The time of tick 0, in microseconds.
const START_US: i64 = 1_700_000_000_000_000;

fn micros(tick: Tick) -> i64 {
    START_US + i64::from(tick) * TICK_US
}

/// A time in microseconds as `t=<tick>`, for traces.
fn tick_text(us: i64) -> String {
    let offset = us - START_US;
    if offset % TICK_US == 0 {
        format!("t={}", offset / TICK_US)
    } else {
        format!("t={}+{}µs", offset / TICK_US, offset % TICK_US)
    }
}

/// What a request asks of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    /// A refresh with the token.
    Refresh,
    /// The first verification of the access token minted with the token.
    Use,
}

/// The store's answer, as the model sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Outcome {
    Accepted,
    Refused,
    Theft,
}

/// A presentation handed to the rules under test.
#[derive(Clone, Copy, Debug)]
enum Presented {
    /// A refresh; `child` is stored if it is accepted.
    Refresh { child: Tok },
    /// A first verification of the token's access token.
    AccessToken,
}

/// The rotation rules under test, over a store for one session.
trait Rules: Send + Sync + 'static {
    /// Everything the store holds for the session.
    type Store: Clone + Debug + Hash + Eq + Send + Sync + 'static;

    /// A new session whose first token `first` was minted at `now`.
    fn new_session(&self, first: Tok, now: Tick) -> Self::Store;

    /// One presentation of `token`, in one transaction.
    fn present(
        &self,
        store: &mut Self::Store,
        token: Tok,
        presented: Presented,
        now: Tick,
    ) -> Outcome;
}

// ---------------------------------------------------------------------------------------------
// The rules of `tessera_core::rotation`.

/// The real rules, optionally mutated to show that the checker catches the mutation.
struct NewRules {
    /// The grace window the rules are given (the model's `G` unless mutated).
    grace_us: i64,
    /// Mutation: kill rule (a) removed (a use does not mark the used token's parent).
    skip_parent_kill: bool,
    /// Mutation: kill rule (b) removed (a use does not mark tokens minted long before).
    skip_stale_kill: bool,
}

impl NewRules {
    fn new(grace: Tick) -> Self {
        Self {
            grace_us: i64::from(grace) * TICK_US,
            skip_parent_kill: false,
            skip_stale_kill: false,
        }
    }
}

/// The stored rows of one session, compactly (the model hashes every state).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct NewStore {
    /// False once the session was revoked.
    live: bool,
    rows: Vec<Row>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Row {
    token: Tok,
    parent: Option<Tok>,
    issued_at: i64,
    dead_since: Option<i64>,
}

impl Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "T{}", self.token)?;
        if let Some(parent) = self.parent {
            write!(f, " from T{parent}")?;
        }
        write!(f, " minted {}", tick_text(self.issued_at))?;
        if let Some(dead) = self.dead_since {
            write!(f, " dead since {}", tick_text(dead))?;
        }
        Ok(())
    }
}

const HANDLE: &str = "session";

fn hash2(token: Tok) -> String {
    format!("T{token}")
}

fn token_of(hash2: &str) -> Tok {
    hash2[1..].parse().expect("a model token")
}

fn session_record() -> SessionRecord {
    SessionRecord {
        handle: HANDLE.into(),
        user_id: "user".into(),
        tenant_id: "public".into(),
        created_at: Timestamp::from_micros(START_US).whole_millis(),
        // Far beyond any horizon: the model does not exercise expiry.
        expires_at: Timestamp::from_micros(START_US).whole_millis() + Duration::from_secs(86_400),
        session_data: Value::Null,
        access_token_payload: Map::new(),
        use_static_key: false,
        device_key: None,
    }
}

impl Row {
    fn record(&self) -> RefreshTokenRecord {
        RefreshTokenRecord {
            hash2: hash2(self.token),
            session_handle: HANDLE.into(),
            presented_hash2: self.parent.map(hash2),
            issued_at: Timestamp::from_micros(self.issued_at),
            dead_since: self.dead_since.map(Timestamp::from_micros),
            killed_by: None,
            anti_csrf_hash: None,
        }
    }

    fn from_record(record: &RefreshTokenRecord) -> Self {
        Self {
            token: token_of(&record.hash2),
            parent: record.presented_hash2.as_deref().map(token_of),
            issued_at: record.issued_at.as_micros(),
            dead_since: record.dead_since.map(Timestamp::as_micros),
        }
    }
}

impl Rules for NewRules {
    type Store = NewStore;

    fn new_session(&self, first: Tok, now: Tick) -> NewStore {
        NewStore {
            live: true,
            rows: vec![Row {
                token: first,
                parent: None,
                issued_at: micros(now),
                dead_since: None,
            }],
        }
    }

    /// What `MemoryStore::present` does, on the model's rows.
    fn present(
        &self,
        store: &mut NewStore,
        token: Tok,
        presented: Presented,
        now: Tick,
    ) -> Outcome {
        let Some(row) = store.rows.iter().find(|row| row.token == token) else {
            return Outcome::Refused; // unknown token
        };
        if !store.live {
            return Outcome::Refused; // no session
        }
        let kind = match presented {
            Presented::Refresh { child } => PresentationKind::Refresh {
                anti_csrf_hash: None,
                child: ChildToken {
                    hash2: hash2(child),
                    anti_csrf_hash: None,
                },
                device: DeviceProof::Absent,
            },
            Presented::AccessToken => PresentationKind::AccessToken,
        };
        let request = Presentation {
            presented_hash2: hash2(token),
            kind,
            now: Timestamp::from_micros(micros(now)),
            policy: RotationPolicy {
                grace: Duration::from_micros(self.grace_us.unsigned_abs()),
                refresh_validity: Duration::from_secs(86_400),
                revoke_on_theft: true,
                check_anti_csrf: false,
            },
        };
        let mut session = session_record();
        let mut plan = rotation::plan(&session, &row.record(), &request);
        if let Plan::Accept(acceptance) = &mut plan {
            if self.skip_parent_kill {
                acceptance.kill.parent = None;
            }
            if self.skip_stale_kill {
                acceptance.kill.minted_before = Timestamp::MIN;
            }
        }
        let mut records: Vec<RefreshTokenRecord> = store.rows.iter().map(Row::record).collect();
        let outcome = rotation::apply_in_memory(&plan, &mut session, &mut records);
        if matches!(plan, Plan::Theft { revoke: true, .. }) {
            store.live = false;
        }
        store.rows = records.iter().map(Row::from_record).collect();
        match outcome {
            PresentOutcome::Accepted { .. } => Outcome::Accepted,
            PresentOutcome::Rejected { .. } => Outcome::Refused,
            PresentOutcome::TheftDetected { .. } => Outcome::Theft,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The old rules.

/// The old commit/supersede/adopt rules, from [`legacy`].
struct OldRules {
    grace_us: i64,
}

impl Rules for OldRules {
    type Store = legacy::Store;

    fn new_session(&self, first: Tok, now: Tick) -> legacy::Store {
        legacy::Store::new(first, micros(now))
    }

    fn present(
        &self,
        store: &mut legacy::Store,
        token: Tok,
        presented: Presented,
        now: Tick,
    ) -> Outcome {
        match presented {
            Presented::Refresh { child } => store.refresh(token, child, micros(now), self.grace_us),
            Presented::AccessToken => store.record_use(token, micros(now)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The model.

/// The bounds of one check.
#[derive(Clone, Copy, Debug)]
struct Config {
    /// Browser tabs sharing the jar.
    tabs: usize,
    /// `D`: every honest request completes within this many ticks.
    max_delay: Tick,
    /// `G`: the grace window, in ticks, that properties 2 and 4 hold the rules to (`2 · D`), and
    /// that the rules are given (unless mutated).
    grace: Tick,
    /// The last tick.
    horizon: Tick,
    /// Tokens that may be minted, `T0` included.
    max_tokens: usize,
    /// Honest requests that may be sent.
    honest_requests: u8,
    /// `Attack` actions the attacker may take (the probes of properties 2–4 come on top).
    attacks: u8,
}

struct RotationModel<R> {
    rules: R,
    config: Config,
}

/// The cookie jar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Jar {
    token: Tok,
    /// The access token that came with `token` has not been verified yet.
    access_unverified: bool,
}

/// What a response does to the jar when it is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Delivery {
    /// An accepted refresh: the new token, with an unverified access token.
    Token(Tok),
    /// An accepted first verification: an access token that no longer needs the store.
    AccessVerified,
    /// A refusal or theft: the tokens are cleared.
    Clear,
}

/// A browser tab. Tabs are kept sorted: which tab is which does not matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Tab {
    Idle,
    /// Sent at `at`, not yet processed.
    Sent {
        at: Tick,
        token: Tok,
        kind: Kind,
    },
    /// Sent at `at` and processed; the response is on its way.
    Answered {
        at: Tick,
        delivery: Delivery,
    },
}

/// What the model knows of a minted token (its index is the token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Minted {
    /// The token presented to obtain it.
    parent: Option<Tok>,
    /// When it was minted.
    at: Tick,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct State<S> {
    now: Tick,
    store: S,
    minted: Vec<Minted>,
    /// The honest client's uses: each token it presented and was accepted, and when; sorted.
    uses: Vec<(Tok, Tick)>,
    jar: Option<Jar>,
    tabs: Vec<Tab>,
    honest_requests: u8,
    attacks: u8,
    theft_detected: bool,
    /// Property 1 was violated.
    false_alarm: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Action {
    /// An idle tab sends a request carrying the jar's token.
    Send { tab: usize, kind: Kind },
    /// The server processes a tab's request. When `lose`, its response is lost and the tab is free
    /// at once (a tab that would wait longer before its next request simply sends later).
    Process { tab: usize, lose: bool },
    /// A tab receives its response.
    Deliver { tab: usize },
    /// Time advances by one tick.
    Tick,
    /// The attacker presents a token.
    Attack { token: Tok, kind: Kind },
}

/// Which tokens a probed property covers in a state, given the grace window.
type Due<R> = fn(&State<<R as Rules>::Store>, Tok, Tick) -> bool;

fn tok(index: usize) -> Tok {
    Tok::try_from(index).expect("few tokens")
}

impl<S> State<S> {
    /// Whether `descendant` was obtained, through one or more refreshes, with `ancestor`.
    fn descends_from(&self, descendant: Tok, ancestor: Tok) -> bool {
        let mut token = descendant;
        while let Some(parent) = self.minted[usize::from(token)].parent {
            if parent == ancestor {
                return true;
            }
            token = parent;
        }
        false
    }

    /// Whether property 2 requires a presentation of `token` now to be theft: the honest client
    /// used a strict descendant of it more than `grace` ticks ago.
    fn descendant_used(&self, token: Tok, grace: Tick) -> bool {
        self.uses
            .iter()
            .any(|&(used, at)| self.now > at + grace && self.descends_from(used, token))
    }

    /// Whether property 4 requires a presentation of `token` now to be theft: more than `grace`
    /// ticks ago the honest client used another token, more than `grace` ticks after `token`
    /// was minted.
    fn left_behind(&self, token: Tok, grace: Tick) -> bool {
        let minted = self.minted[usize::from(token)].at;
        self.uses
            .iter()
            .any(|&(used, at)| used != token && self.now > at + grace && at > minted + grace)
    }

    fn refreshes_in_flight(&self) -> usize {
        self.tabs
            .iter()
            .filter(|tab| {
                matches!(
                    tab,
                    Tab::Sent {
                        kind: Kind::Refresh,
                        ..
                    }
                )
            })
            .count()
    }
}

impl<R: Rules> RotationModel<R> {
    /// Whether another refresh may be sent without exceeding `max_tokens`.
    fn can_mint(&self, state: &State<R::Store>) -> bool {
        state.minted.len() + state.refreshes_in_flight() < self.config.max_tokens
    }

    /// The presentations anyone could make now: a refresh with any minted token, and the first
    /// verification of the access token of any token but `T0` (whose access token needs no store).
    fn presentations(&self, state: &State<R::Store>) -> Vec<(Tok, Kind)> {
        (0..state.minted.len())
            .map(tok)
            .flat_map(|token| [(token, Kind::Refresh), (token, Kind::Use)])
            .filter(|&(token, kind)| token != 0 || kind == Kind::Refresh)
            .collect()
    }

    /// What the store would answer a presentation of `token` now, without recording it.
    fn probe(&self, state: &State<R::Store>, token: Tok, kind: Kind) -> Outcome {
        let presented = match kind {
            Kind::Refresh => Presented::Refresh {
                child: tok(state.minted.len()),
            },
            Kind::Use => Presented::AccessToken,
        };
        self.rules
            .present(&mut state.store.clone(), token, presented, state.now)
    }

    /// Whether every presentation now of a token `due` selects would be answered with theft (or
    /// refused, the session being gone): properties 2 and 4.
    fn theft_when(&self, state: &State<R::Store>, due: Due<R>) -> bool {
        state.theft_detected
            || self
                .presentations(state)
                .into_iter()
                .filter(|&(token, _)| due(state, token, self.config.grace))
                .all(|(token, kind)| self.probe(state, token, kind) == Outcome::Theft)
    }

    /// Whether `due` selects a token of a live session (the property is not vacuous).
    fn due_somewhere(&self, state: &State<R::Store>, due: Due<R>) -> bool {
        !state.theft_detected
            && (0..state.minted.len()).any(|token| due(state, tok(token), self.config.grace))
    }

    /// Property 3 in `state`: once theft was detected, every presentation would be refused.
    fn revocation_holds(&self, state: &State<R::Store>) -> bool {
        !state.theft_detected
            || self
                .presentations(state)
                .into_iter()
                .all(|(token, kind)| self.probe(state, token, kind) == Outcome::Refused)
    }

    /// Has the store decide a presentation of `token` at the current tick and records it; returns
    /// the outcome and the minted child, if any.
    fn present(
        &self,
        state: &mut State<R::Store>,
        token: Tok,
        kind: Kind,
        honest: bool,
    ) -> (Outcome, Option<Tok>) {
        let next = tok(state.minted.len());
        let presented = match kind {
            Kind::Refresh => Presented::Refresh { child: next },
            Kind::Use => Presented::AccessToken,
        };
        let outcome = self
            .rules
            .present(&mut state.store, token, presented, state.now);
        state.false_alarm |= honest && state.attacks == 0 && outcome != Outcome::Accepted;
        state.theft_detected |= outcome == Outcome::Theft;
        let mut child = None;
        if outcome == Outcome::Accepted {
            if honest {
                let use_ = (token, state.now);
                if let Err(index) = state.uses.binary_search(&use_) {
                    state.uses.insert(index, use_);
                }
            }
            if kind == Kind::Refresh {
                state.minted.push(Minted {
                    parent: Some(token),
                    at: state.now,
                });
                child = Some(next);
            }
        }
        (outcome, child)
    }

    /// The state after `action`, with the tabs where they were (not yet sorted).
    fn step(&self, last: &State<R::Store>, action: Action) -> Option<State<R::Store>> {
        let mut state = last.clone();
        match action {
            Action::Send { tab, kind } => {
                let jar = state.jar?;
                state.tabs[tab] = Tab::Sent {
                    at: state.now,
                    token: jar.token,
                    kind,
                };
                state.honest_requests += 1;
            }
            Action::Process { tab, lose } => {
                let Tab::Sent { at, token, kind } = state.tabs[tab] else {
                    return None;
                };
                let (outcome, child) = self.present(&mut state, token, kind, true);
                let delivery = match (outcome, child) {
                    (Outcome::Accepted, Some(child)) => Delivery::Token(child),
                    (Outcome::Accepted, None) => Delivery::AccessVerified,
                    (Outcome::Refused | Outcome::Theft, _) => Delivery::Clear,
                };
                state.tabs[tab] = if lose {
                    Tab::Idle
                } else {
                    Tab::Answered { at, delivery }
                };
            }
            Action::Deliver { tab } => {
                let Tab::Answered { delivery, .. } = state.tabs[tab] else {
                    return None;
                };
                state.jar = match delivery {
                    Delivery::Token(token) => Some(Jar {
                        token,
                        access_unverified: true,
                    }),
                    Delivery::AccessVerified => state.jar.map(|jar| Jar {
                        access_unverified: false,
                        ..jar
                    }),
                    Delivery::Clear => None,
                };
                state.tabs[tab] = Tab::Idle;
            }
            Action::Tick => state.now += 1,
            Action::Attack { token, kind } => {
                self.present(&mut state, token, kind, false);
                state.attacks += 1;
            }
        }
        Some(state)
    }
}

impl<R: Rules> Model for RotationModel<R> {
    type State = State<R::Store>;
    type Action = Action;

    fn init_states(&self) -> Vec<Self::State> {
        vec![State {
            now: 0,
            store: self.rules.new_session(0, 0),
            minted: vec![Minted {
                parent: None,
                at: 0,
            }],
            uses: Vec::new(),
            jar: Some(Jar {
                token: 0,
                access_unverified: false,
            }),
            tabs: vec![Tab::Idle; self.config.tabs],
            honest_requests: 0,
            attacks: 0,
            theft_detected: false,
            false_alarm: false,
        }]
    }

    fn actions(&self, state: &Self::State, actions: &mut Vec<Action>) {
        if state.theft_detected {
            return; // the session is gone (property 3): nothing more can happen
        }
        let config = &self.config;
        for (tab, slot) in state.tabs.iter().enumerate() {
            if tab > 0 && state.tabs[tab - 1] == *slot {
                continue; // the same as the tab before
            }
            match slot {
                Tab::Idle => {
                    let Some(jar) = state.jar else { continue };
                    if state.honest_requests >= config.honest_requests {
                        continue;
                    }
                    if self.can_mint(state) {
                        actions.push(Action::Send {
                            tab,
                            kind: Kind::Refresh,
                        });
                    }
                    if jar.access_unverified {
                        actions.push(Action::Send {
                            tab,
                            kind: Kind::Use,
                        });
                    }
                }
                Tab::Sent { .. } => {
                    actions.push(Action::Process { tab, lose: false });
                    actions.push(Action::Process { tab, lose: true });
                }
                Tab::Answered { .. } => actions.push(Action::Deliver { tab }),
            }
        }
        let deadlines_allow = state.tabs.iter().all(|tab| match tab {
            Tab::Idle => true,
            Tab::Sent { at, .. } | Tab::Answered { at, .. } => state.now < at + config.max_delay,
        });
        if state.now < config.horizon && deadlines_allow {
            actions.push(Action::Tick);
        }
        if state.attacks < config.attacks {
            for (token, kind) in self.presentations(state) {
                if kind == Kind::Use || self.can_mint(state) {
                    actions.push(Action::Attack { token, kind });
                }
            }
        }
    }

    fn next_state(&self, last: &Self::State, action: Action) -> Option<Self::State> {
        let mut state = self.step(last, action)?;
        state.tabs.sort_unstable();
        Some(state)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(HONEST_SAFETY, |_, state: &State<R::Store>| {
                !state.false_alarm
            }),
            Property::always(DETECTION, |model, state: &State<R::Store>| {
                model.theft_when(state, State::descendant_used)
            }),
            Property::always(REVOCATION, |model, state: &State<R::Store>| {
                model.revocation_holds(state)
            }),
            Property::always(STALE_BRANCH, |model, state: &State<R::Store>| {
                model.theft_when(state, State::left_behind)
            }),
            Property::sometimes(THEFT_DETECTED, |_, state: &State<R::Store>| {
                state.theft_detected
            }),
            Property::sometimes(DETECTION_DUE, |model, state: &State<R::Store>| {
                model.due_somewhere(state, State::descendant_used)
            }),
            Property::sometimes(STALE_DUE, |model, state: &State<R::Store>| {
                model.due_somewhere(state, State::left_behind)
            }),
        ]
    }
}

const HONEST_SAFETY: &str = "1. honest safety";
const DETECTION: &str = "2. detection";
const REVOCATION: &str = "3. revocation";
const STALE_BRANCH: &str = "4. stale branch";
const THEFT_DETECTED: &str = "some run detects theft";
const DETECTION_DUE: &str = "property 2 applies to some token of a live session";
const STALE_DUE: &str = "property 4 applies to some token of a live session";

// ---------------------------------------------------------------------------------------------
// Traces.

fn kind_text(kind: Kind) -> &'static str {
    match kind {
        Kind::Refresh => "refresh",
        Kind::Use => "first use of its access token",
    }
}

fn jar_text(jar: Option<Jar>) -> String {
    match jar {
        None => "empty".into(),
        Some(jar) if jar.access_unverified => format!("T{} (access token unverified)", jar.token),
        Some(jar) => format!("T{} (access token verified)", jar.token),
    }
}

fn outcome_text(outcome: Outcome, child: Option<Tok>) -> String {
    match (outcome, child) {
        (Outcome::Accepted, Some(child)) => format!("accepted, mints T{child}"),
        (Outcome::Accepted, None) => "accepted".into(),
        (Outcome::Refused, _) => "REFUSED".into(),
        (Outcome::Theft, _) => "THEFT".into(),
    }
}

/// One line per step of `path`, then the store's rows. The model keeps tabs sorted; the trace
/// follows each tab through the sorting and names it `A`, `B`, ...
fn trace<R: Rules>(model: &RotationModel<R>, path: Path<State<R::Store>, Action>) -> String {
    let steps = path.into_vec();
    let mut names: Vec<char> = ('A'..).take(model.config.tabs).collect();
    let mut text = String::new();
    for window in steps.windows(2) {
        let [(before, Some(action)), (after, _)] = window else {
            continue;
        };
        let line = match *action {
            Action::Send { tab, kind } => format!(
                "tab {} sends a {} with the jar's {}",
                names[tab],
                kind_text(kind),
                jar_text(before.jar)
            ),
            Action::Process { tab, lose } => {
                let Tab::Sent { at, token, kind } = before.tabs[tab] else {
                    unreachable!("only sent requests are processed")
                };
                let (outcome, child) = model.present(&mut before.clone(), token, kind, true);
                let lost = if lose { "; its response is LOST" } else { "" };
                format!(
                    "server processes tab {}'s {} with T{token} (sent at t={at}): {}{lost}",
                    names[tab],
                    kind_text(kind),
                    outcome_text(outcome, child)
                )
            }
            Action::Deliver { tab } => format!(
                "tab {} receives its response; jar: {}",
                names[tab],
                jar_text(after.jar)
            ),
            Action::Tick => format!("time advances to t={}", after.now),
            Action::Attack { token, kind } => {
                let (outcome, child) = model.present(&mut before.clone(), token, kind, false);
                format!(
                    "ATTACKER presents T{token}, {}: {}",
                    kind_text(kind),
                    outcome_text(outcome, child)
                )
            }
        };
        let _ = writeln!(text, "  t={}: {line}", before.now);
        // Follow the tabs through the sorting.
        if let Some(unsorted) = model.step(before, *action) {
            let mut named: Vec<(Tab, char)> = unsorted.tabs.into_iter().zip(names).collect();
            named.sort_by_key(|(tab, _)| *tab);
            names = named.iter().map(|(_, name)| *name).collect();
        }
    }
    if let Some((last, _)) = steps.last() {
        let _ = writeln!(text, "  store: {:?}", last.store);
        // What the probed properties would be answered now.
        for (token, kind) in model.presentations(last) {
            let due: Vec<&str> = [
                (State::descendant_used as Due<R>, DETECTION),
                (State::left_behind, STALE_BRANCH),
            ]
            .into_iter()
            .filter(|(due, _)| due(last, token, model.config.grace))
            .map(|(_, name)| name)
            .collect();
            if !due.is_empty() {
                let _ = writeln!(
                    text,
                    "  t={}: presenting T{token}, {}, would be answered {} (under {due:?})",
                    last.now,
                    kind_text(kind),
                    outcome_text(model.probe(last, token, kind), None)
                );
            }
        }
        if last.theft_detected && !model.revocation_holds(last) {
            let _ = writeln!(text, "  the session survived the theft");
        }
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Running the checker.

/// What one check found.
struct Report {
    done: bool,
    /// Each violated property with the trace of its shortest counterexample.
    counterexamples: Vec<(&'static str, String)>,
    /// The `sometimes` properties met.
    examples: Vec<&'static str>,
}

impl Report {
    fn counterexample(&self, name: &str) -> Option<&str> {
        self.counterexamples
            .iter()
            .find(|(found, _)| *found == name)
            .map(|(_, trace)| trace.as_str())
    }
}

/// Runs the checker breadth first over `rules` within `config`, to the end or until `stop_at` has
/// a counterexample (a shortest one).
fn check<R: Rules>(rules: R, config: Config, stop_at: Option<&'static str>) -> Report {
    let started = Instant::now();
    let mut builder = RotationModel { rules, config }.checker();
    if let Some(property) = stop_at {
        builder = builder.finish_when(HasDiscoveries::AnyOf([property].into()));
    }
    let checker = builder.spawn_bfs().join();
    let mut counterexamples = Vec::new();
    let mut examples = Vec::new();
    for property in checker.model().properties() {
        if let Some(path) = checker.discovery(property.name) {
            if property.expectation == Expectation::Sometimes {
                examples.push(property.name);
            } else {
                counterexamples.push((property.name, trace(checker.model(), path)));
            }
        }
    }
    println!(
        "{config:?}: {} unique states ({} generated), max depth {}, done: {}, {:.1?}",
        checker.unique_state_count(),
        checker.state_count(),
        checker.max_depth(),
        checker.is_done(),
        started.elapsed()
    );
    Report {
        done: checker.is_done(),
        counterexamples,
        examples,
    }
}

// ---------------------------------------------------------------------------------------------
// The checks.

/// Two tabs, `D` = 1 tick, `G` = 2 ticks: long enough (6 ticks) for a token killed by either rule
/// to come back after the grace window.
const TWO_TABS: Config = Config {
    tabs: 2,
    max_delay: 1,
    grace: 2,
    horizon: 6,
    max_tokens: 5,
    honest_requests: 4,
    attacks: 0,
};

/// Three tabs, `D` = 1 tick, `G` = 2 ticks.
const THREE_TABS: Config = Config {
    tabs: 3,
    max_tokens: 4,
    ..TWO_TABS
};

/// Two tabs, `D` = 2 ticks, `G` = 4 ticks: a request may take half of `D`, and the horizon is
/// again long enough for a token killed by either rule to come back after the grace window.
const FINER_TIME: Config = Config {
    max_delay: 2,
    grace: 4,
    horizon: 10,
    max_tokens: 3,
    ..TWO_TABS
};

/// Two tabs, `D` = 1 tick, `G` = 2 ticks, and an attacker who presents a copied token (or one it
/// obtained) once, anywhere in the run, before the probes of properties 2–4.
const WITH_ATTACKER: Config = Config {
    max_tokens: 4,
    honest_requests: 3,
    attacks: 1,
    ..TWO_TABS
};

/// Checks the real rules exhaustively within `config`: no counterexample, and every `sometimes`
/// property met (none of the properties is vacuous).
fn assert_new_rules_hold(config: Config) {
    let report = check(NewRules::new(config.grace), config, None);
    let traces: Vec<String> = report
        .counterexamples
        .iter()
        .map(|(name, trace)| format!("counterexample to {name}:\n{trace}"))
        .collect();
    assert!(traces.is_empty(), "{}", traces.concat());
    assert!(report.done, "the check did not finish");
    let mut expected = vec![DETECTION_DUE, STALE_DUE];
    if config.attacks > 0 {
        expected.insert(0, THEFT_DETECTED);
    }
    assert_eq!(
        report.examples, expected,
        "a `sometimes` property was never met"
    );
}

#[test]
fn new_rules_hold_two_tabs() {
    assert_new_rules_hold(TWO_TABS);
}

#[test]
fn new_rules_hold_three_tabs() {
    assert_new_rules_hold(THREE_TABS);
}

#[test]
fn new_rules_hold_finer_time() {
    assert_new_rules_hold(FINER_TIME);
}

#[test]
fn new_rules_hold_with_attacker() {
    assert_new_rules_hold(WITH_ATTACKER);
}

/// Finds a counterexample to `property` for `rules` within `config`, and prints it.
fn assert_caught<R: Rules>(rules: R, config: Config, property: &'static str) {
    let report = check(rules, config, Some(property));
    let Some(trace) = report.counterexample(property) else {
        panic!("no counterexample to {property}");
    };
    println!("counterexample to {property}:\n{trace}");
}

/// The checker has teeth: on the old commit/supersede/adopt rules it finds an honest browser told
/// "theft".
#[test]
fn old_rules_are_caught() {
    let rules = OldRules {
        grace_us: i64::from(TWO_TABS.grace) * TICK_US,
    };
    assert_caught(rules, TWO_TABS, HONEST_SAFETY);
}

/// Mutants of the real rules are caught: without kill rule (a) a replayed parent survives its
/// child's use (property 2); without kill rule (b) a sibling left behind survives (property 4);
/// a grace window one tick shorter than `2·D` tells an honest browser "theft" (property 1), one
/// tick longer forgives a replay (property 2).
#[test]
fn mutants_are_caught() {
    let grace = TWO_TABS.grace;
    let without_a = NewRules {
        skip_parent_kill: true,
        ..NewRules::new(grace)
    };
    assert_caught(without_a, TWO_TABS, DETECTION);
    let without_b = NewRules {
        skip_stale_kill: true,
        ..NewRules::new(grace)
    };
    assert_caught(without_b, TWO_TABS, STALE_BRANCH);
    assert_caught(NewRules::new(grace - 1), TWO_TABS, HONEST_SAFETY);
    assert_caught(NewRules::new(grace + 1), TWO_TABS, DETECTION);
}

/// Larger bounds, for a release build: `cargo test --release -p tessera-core --test model_check
/// -- --ignored` (a minute or two; several million states each).
#[test]
#[ignore]
fn new_rules_hold_larger_bounds() {
    for config in [
        Config {
            max_tokens: 6,
            honest_requests: 5,
            ..TWO_TABS
        },
        Config {
            max_tokens: 5,
            honest_requests: 5,
            ..THREE_TABS
        },
        Config {
            max_tokens: 4,
            ..FINER_TIME
        },
        Config {
            max_tokens: 5,
            honest_requests: 4,
            ..WITH_ATTACKER
        },
    ] {
        assert_new_rules_hold(config);
    }
}
