//! The refresh-token rotation and theft-detection rules.
//!
//! Every issued refresh token is stored (as `H(H(t))`) with the token presented to obtain it (its
//! parent) and the time it was minted, so a genuine old token is told apart from garbage.
//!
//! A token is *presented* when a refresh carries it, or when the access token minted with it is
//! verified for the first time (that access token carries `parentRefreshTokenHash1`, and its
//! first verification goes to the store; the token handed back in its place does not). An
//! accepted presentation of `Z` at time `u` is a *use* of `Z`, and it proves where the client's
//! cookie jar was: it held `Z` shortly before `u`. So a use of `Z` marks as dead, from `u`, every
//! other token `X` of the session that
//!
//! - (a) is `Z`'s parent: the client obtained `Z` by presenting `X` and has now moved past it; or
//! - (b) was minted more than the grace window before `u`: an honest response carrying `X` reached
//!   the jar (or was lost) long before, and the jar has held another token since.
//!
//! A presented token that has been dead for more than the grace window is theft: the session is
//! revoked and its user and handle reported. Any other presentation of a known token of a live
//! session is accepted (a refresh mints a child of it). That is the whole rule; `docs/design.md`
//! proves that it never tells an honest client "theft" when requests complete within half the
//! grace window, and that a replay of a token the client has moved past is theft at that replay
//! once the grace window has passed.

use crate::secret::constant_time_eq;
/// Where [`plan`] reads the grace window and the other settings from (kept with the
/// presentation it travels in).
pub use crate::store::RotationPolicy;
use crate::store::{
    ChildToken, DeviceProof, PresentOutcome, Presentation, PresentationKind, RefreshTokenRecord,
    SessionRecord,
};
use crate::theft::{in_issue_order, TheftKind, TheftReport, TokenTrace};
use crate::time::Timestamp;

/// The reason of the one refusal that keeps the client's tokens: a refresh without the right
/// anti-CSRF token, which a forged cross-site request would be. (Over CDI the server says so as
/// data, `"keepTokens": true`, beside this message.)
pub const ANTI_CSRF_REFUSED: &str = "anti-csrf token missing or wrong";

/// The reason a refresh with a device proof is refused when the session is not bound to the key
/// that signed it.
pub const DEVICE_KEY_REFUSED: &str = "device proof from a key the session is not bound to";

/// The tokens a use marks dead: every live token of the session other than the one used that was
/// minted before `minted_before`, and the used token's parent. A store applies it as one statement,
/// e.g. `UPDATE refresh_tokens SET dead_since = :at WHERE session_handle = :session AND dead_since
/// IS NULL AND hash2 <> :used AND (issued_at < :minted_before OR hash2 = :parent)`. A token already
/// dead keeps its first death: uses arrive in time order (serialised per session), so that is the
/// earliest; with clocks skewed between servers it may be a little later, which only forgives more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kill {
    /// The session whose tokens are marked.
    pub session_handle: String,
    /// The token used; never marked by its own use.
    pub used: String,
    /// The token the used one was obtained with, if any.
    pub parent: Option<String>,
    /// Tokens minted strictly before this are marked.
    pub minted_before: Timestamp,
    /// The time of the use: the marked tokens are dead from then.
    pub at: Timestamp,
}

impl Kill {
    /// Whether this use marks `token`.
    pub fn applies_to(&self, token: &RefreshTokenRecord) -> bool {
        token.session_handle == self.session_handle
            && token.hash2 != self.used
            && token.dead_since.is_none()
            && (token.issued_at < self.minted_before
                || self.parent.as_deref() == Some(token.hash2.as_str()))
    }

    /// Marks `token` (dead since the use, killed by the used token) if this use applies to it;
    /// returns whether it did.
    pub fn apply(&self, token: &mut RefreshTokenRecord) -> bool {
        let applies = self.applies_to(token);
        if applies {
            token.dead_since = Some(self.at);
            token.killed_by = Some(self.used.clone());
        }
        applies
    }
}

/// What a store must write for an accepted presentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Acceptance {
    /// The tokens this use marks dead.
    pub kill: Kill,
    /// The new token row, for a refresh.
    pub child: Option<RefreshTokenRecord>,
    /// The session's new expiry, for a refresh.
    pub extend_to: Option<Timestamp>,
}

/// The decision for one presentation.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Refuse without writing anything; the client keeps its tokens when `keep_tokens`.
    Reject {
        /// Why.
        reason: &'static str,
        /// True when only the anti-CSRF check failed.
        keep_tokens: bool,
    },
    /// A token dead for longer than the grace window, or a bound session's refresh without its
    /// device's proof: record a report, and delete the session when `revoke`.
    Theft {
        /// Whether to delete the session.
        revoke: bool,
        /// How the stolen token came back.
        kind: TheftKind,
    },
    /// Accept and write this.
    Accept(Box<Acceptance>),
}

/// Decides a presentation. `session` must have been read under the session's row lock, and
/// `presented` after taking it.
pub fn plan(
    session: &SessionRecord,
    presented: &RefreshTokenRecord,
    request: &Presentation,
) -> Plan {
    let now = request.now;
    let now_ms = now.whole_millis();
    let policy = &request.policy;
    if session.expires_at <= now_ms {
        return Plan::Reject {
            reason: "session expired",
            keep_tokens: false,
        };
    }
    if let PresentationKind::Refresh { anti_csrf_hash, .. } = &request.kind {
        if policy.check_anti_csrf {
            if let Some(expected) = &presented.anti_csrf_hash {
                let supplied_matches = anti_csrf_hash
                    .as_deref()
                    .is_some_and(|supplied| constant_time_eq(supplied, expected));
                if !supplied_matches {
                    return Plan::Reject {
                        reason: ANTI_CSRF_REFUSED,
                        keep_tokens: true,
                    };
                }
            }
        }
    }
    if let PresentationKind::Refresh { device, .. } = &request.kind {
        match (session.device_key.as_deref(), device) {
            // A bound session's refresh token without the device's proof can only be a copy:
            // the device itself always refreshes through its key.
            (Some(_), DeviceProof::Absent) => {
                return Plan::Theft {
                    revoke: policy.revoke_on_theft,
                    kind: TheftKind::MissingDeviceProof,
                }
            }
            (Some(bound), DeviceProof::Verified { device_key }) if bound != device_key => {
                return Plan::Reject {
                    reason: DEVICE_KEY_REFUSED,
                    keep_tokens: false,
                }
            }
            (None, DeviceProof::Verified { .. }) => {
                return Plan::Reject {
                    reason: DEVICE_KEY_REFUSED,
                    keep_tokens: false,
                }
            }
            _ => {}
        }
    }
    if presented
        .dead_since
        .is_some_and(|dead| now.since(dead) > policy.grace)
    {
        return Plan::Theft {
            revoke: policy.revoke_on_theft,
            kind: match request.kind {
                PresentationKind::Refresh { .. } => TheftKind::Refresh,
                PresentationKind::AccessToken => TheftKind::AccessToken,
            },
        };
    }
    let kill = Kill {
        session_handle: session.handle.clone(),
        used: presented.hash2.clone(),
        parent: presented.presented_hash2.clone(),
        minted_before: now - policy.grace,
        at: now,
    };
    let (child, extend_to) = match &request.kind {
        PresentationKind::Refresh { child, .. } => (
            Some(child_record(session, presented, child, now)),
            Some(now_ms + policy.refresh_validity),
        ),
        PresentationKind::AccessToken => (None, None),
    };
    Plan::Accept(Box::new(Acceptance {
        kill,
        child,
        extend_to,
    }))
}

fn child_record(
    session: &SessionRecord,
    presented: &RefreshTokenRecord,
    child: &ChildToken,
    now: Timestamp,
) -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash2: child.hash2.clone(),
        session_handle: session.handle.clone(),
        presented_hash2: Some(presented.hash2.clone()),
        issued_at: now,
        dead_since: None,
        killed_by: None,
        // A session created without anti-CSRF never gains it on refresh.
        anti_csrf_hash: presented
            .anti_csrf_hash
            .as_ref()
            .and(child.anti_csrf_hash.clone()),
    }
}

impl Plan {
    /// What the caller is told once the plan's writes are committed; `session` as read.
    pub fn outcome(&self, session: &SessionRecord) -> PresentOutcome {
        match self {
            Self::Reject {
                reason,
                keep_tokens,
            } => PresentOutcome::Rejected {
                reason,
                clear_tokens: !keep_tokens,
            },
            Self::Theft { .. } => PresentOutcome::TheftDetected {
                user_id: session.user_id.clone(),
                session_handle: session.handle.clone(),
            },
            Self::Accept(acceptance) => {
                let mut after = session.clone();
                if let Some(expires_at) = acceptance.extend_to {
                    after.expires_at = expires_at;
                }
                PresentOutcome::Accepted {
                    session: after,
                    child_anti_csrf: acceptance
                        .child
                        .as_ref()
                        .is_some_and(|child| child.anti_csrf_hash.is_some()),
                }
            }
        }
    }
}

/// One primitive write of a plan. A store carries them out in the order
/// [`Plan::writes`] gives, inside the transaction that read the session and the presented token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Write<'a> {
    /// Record what is known about a detected theft: read the session's tokens and store
    /// [`theft_report`] of them (before [`RevokeSession`](Write::RevokeSession) deletes them).
    RecordTheft {
        /// How the token came back.
        kind: TheftKind,
        /// Whether the session is revoked for it.
        revoked: bool,
    },
    /// Delete the session and its tokens, and log its revocation at the presentation's time.
    RevokeSession {
        /// The session.
        handle: &'a str,
    },
    /// Mark dead, as of `kill.at`, the session's tokens that [`Kill::applies_to`] selects.
    MarkDead(&'a Kill),
    /// Insert the refresh token minted by this refresh.
    InsertToken(&'a RefreshTokenRecord),
    /// Set the session's expiry.
    ExtendSession {
        /// The session.
        handle: &'a str,
        /// The new expiry.
        expires_at: Timestamp,
    },
}

impl Plan {
    /// The writes this plan makes, in order: the one place where a decision becomes writes, so
    /// every store (SQL or not) writes the same thing. A rejection writes nothing.
    pub fn writes<'a>(&'a self, session: &'a SessionRecord) -> Vec<Write<'a>> {
        match self {
            Self::Reject { .. } => Vec::new(),
            Self::Theft { revoke, kind } => {
                let mut writes = vec![Write::RecordTheft {
                    kind: *kind,
                    revoked: *revoke,
                }];
                if *revoke {
                    writes.push(Write::RevokeSession {
                        handle: &session.handle,
                    });
                }
                writes
            }
            Self::Accept(acceptance) => {
                let mut writes = vec![Write::MarkDead(&acceptance.kill)];
                if let Some(child) = &acceptance.child {
                    writes.push(Write::InsertToken(child));
                }
                if let Some(expires_at) = acceptance.extend_to {
                    writes.push(Write::ExtendSession {
                        handle: &session.handle,
                        expires_at,
                    });
                }
                writes
            }
        }
    }
}

/// The report a store records for a theft ([`Write::RecordTheft`]): `tokens` are the session's
/// token rows as read inside the presentation's transaction.
pub fn theft_report(
    session: &SessionRecord,
    presented: &RefreshTokenRecord,
    tokens: &[RefreshTokenRecord],
    request: &Presentation,
    kind: TheftKind,
    revoked: bool,
) -> TheftReport {
    let mut traces: Vec<TokenTrace> = tokens.iter().map(TokenTrace::from).collect();
    in_issue_order(&mut traces);
    // The other copy's branch: what descends from the token whose use killed the presented
    // one, or (no such use known) what does not descend from the presented one.
    let newest = traces
        .iter()
        .filter(|token| match &presented.killed_by {
            Some(killer) => descends_from(&traces, &token.hash2, killer),
            None => !descends_from(&traces, &token.hash2, &presented.hash2),
        })
        .max_by_key(|token| token.issued_at);
    TheftReport {
        id: 0,
        session_handle: session.handle.clone(),
        user_id: session.user_id.clone(),
        tenant_id: session.tenant_id.clone(),
        session_created_at: session.created_at,
        detected_at: request.now,
        kind,
        presented_hash2: presented.hash2.clone(),
        dead_since: presented.dead_since,
        grace: request.policy.grace,
        newest_hash2: newest.map(|token| token.hash2.clone()),
        newest_issued_at: newest.map(|token| token.issued_at),
        revoked,
        tokens: traces,
    }
}

/// Whether `hash2` is `ancestor` or was obtained, through refreshes, from it.
fn descends_from(tokens: &[TokenTrace], hash2: &str, ancestor: &str) -> bool {
    let mut current = Some(hash2);
    // Each step goes to an older token, so the walk ends; the bound guards against a cycle in
    // corrupt rows.
    for _ in 0..=tokens.len() {
        match current {
            Some(hash2) if hash2 == ancestor => return true,
            Some(hash2) => {
                current = tokens
                    .iter()
                    .find(|token| token.hash2 == hash2)
                    .and_then(|token| token.parent.as_deref());
            }
            None => return false,
        }
    }
    false
}

/// The writes of a plan over a session's token rows held in memory, for stores without SQL (the
/// test store, the model checks); the caller deletes a revoked session's row and records a theft's
/// report. Returns the outcome.
pub fn apply_in_memory(
    plan: &Plan,
    session: &mut SessionRecord,
    tokens: &mut Vec<RefreshTokenRecord>,
) -> PresentOutcome {
    let outcome = plan.outcome(session);
    let mut extended = None;
    for write in plan.writes(session) {
        match write {
            Write::RecordTheft { .. } => {}
            Write::RevokeSession { handle } => {
                tokens.retain(|token| token.session_handle != handle);
            }
            Write::MarkDead(kill) => {
                for token in tokens.iter_mut() {
                    kill.apply(token);
                }
            }
            Write::InsertToken(child) => tokens.push(child.clone()),
            Write::ExtendSession { expires_at, .. } => extended = Some(expires_at),
        }
    }
    if let Some(expires_at) = extended {
        session.expires_at = expires_at;
    }
    outcome
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value};

    use std::time::Duration;

    use super::*;

    /// Times in these tests are microseconds, as the rules count them.
    const GRACE: i64 = 30_000_000;
    const START: i64 = 1_700_000_000_000_000;

    fn at(micros: i64) -> Timestamp {
        Timestamp::from_micros(micros)
    }

    fn session() -> SessionRecord {
        SessionRecord {
            handle: "s".into(),
            user_id: "u".into(),
            tenant_id: "public".into(),
            created_at: at(START).whole_millis(),
            expires_at: at(START).whole_millis() + Duration::from_secs(86_400),
            session_data: Value::Null,
            access_token_payload: Map::new(),
            use_static_key: false,
            device_key: None,
        }
    }

    fn token(hash2: &str, parent: Option<&str>, issued_at: i64) -> RefreshTokenRecord {
        RefreshTokenRecord {
            hash2: hash2.into(),
            session_handle: "s".into(),
            presented_hash2: parent.map(str::to_owned),
            issued_at: at(issued_at),
            dead_since: None,
            killed_by: None,
            anti_csrf_hash: None,
        }
    }

    fn policy() -> RotationPolicy {
        RotationPolicy {
            grace: Duration::from_micros(GRACE.unsigned_abs()),
            refresh_validity: Duration::from_secs(86_400),
            revoke_on_theft: true,
            check_anti_csrf: true,
        }
    }

    fn refresh(hash2: &str, child: &str, now: i64) -> Presentation {
        Presentation {
            presented_hash2: hash2.into(),
            kind: PresentationKind::Refresh {
                anti_csrf_hash: None,
                child: ChildToken {
                    hash2: child.into(),
                    anti_csrf_hash: None,
                },
                device: DeviceProof::Absent,
            },
            now: at(now),
            policy: policy(),
        }
    }

    fn with_device(mut presentation: Presentation, key: &str) -> Presentation {
        if let PresentationKind::Refresh { device, .. } = &mut presentation.kind {
            *device = DeviceProof::Verified {
                device_key: key.into(),
            };
        }
        presentation
    }

    /// A bound session refreshes only with its own device's proof; without one the token is a
    /// copy (theft, whatever its age), with another key's it is refused. Unbound sessions ignore
    /// the question, and a first use of an access token never needs a proof.
    #[test]
    fn a_bound_session_refreshes_only_with_its_device() {
        let mut bound = session();
        bound.device_key = Some("key-a".into());
        let t0 = token("t0", None, START);
        let at = START + 1000;
        assert!(matches!(
            plan(&bound, &t0, &refresh("t0", "t1", at)),
            Plan::Theft {
                revoke: true,
                kind: TheftKind::MissingDeviceProof
            }
        ));
        assert!(matches!(
            plan(&bound, &t0, &with_device(refresh("t0", "t1", at), "key-a")),
            Plan::Accept(_)
        ));
        assert!(matches!(
            plan(&bound, &t0, &with_device(refresh("t0", "t1", at), "key-b")),
            Plan::Reject {
                reason: DEVICE_KEY_REFUSED,
                keep_tokens: false
            }
        ));
        assert!(matches!(
            plan(&bound, &t0, &use_of("t0", at)),
            Plan::Accept(_)
        ));
        let unbound = session();
        assert!(matches!(
            plan(&unbound, &t0, &refresh("t0", "t1", at)),
            Plan::Accept(_)
        ));
        assert!(matches!(
            plan(
                &unbound,
                &t0,
                &with_device(refresh("t0", "t1", at), "key-a")
            ),
            Plan::Reject { .. }
        ));
        // An expired session is refused before any theft is reported.
        assert!(matches!(
            plan(
                &bound,
                &t0,
                &refresh("t0", "t1", bound.expires_at.as_micros())
            ),
            Plan::Reject { .. }
        ));
    }

    fn use_of(hash2: &str, now: i64) -> Presentation {
        Presentation {
            presented_hash2: hash2.into(),
            kind: PresentationKind::AccessToken,
            now: at(now),
            policy: policy(),
        }
    }

    /// Each kind of plan and the writes it makes, in order: what every store carries out.
    #[test]
    fn plans_turn_into_writes() {
        let session = session();
        let t0 = token("t0", None, START);
        let mut dead = token("t0", None, START);
        dead.dead_since = Some(at(START));
        let mut no_revoke = refresh("t0", "t1", START + 2 * GRACE);
        no_revoke.policy.revoke_on_theft = false;
        let kinds = |writes: Vec<Write<'_>>| -> Vec<&'static str> {
            writes
                .iter()
                .map(|write| match write {
                    Write::RecordTheft { kind, .. } => {
                        assert_eq!(*kind, TheftKind::Refresh);
                        "record theft"
                    }
                    Write::RevokeSession { handle } => {
                        assert_eq!(*handle, "s");
                        "revoke"
                    }
                    Write::MarkDead(kill) => {
                        assert_eq!(kill.used, "t0");
                        "mark dead"
                    }
                    Write::InsertToken(child) => {
                        assert_eq!(child.presented_hash2.as_deref(), Some("t0"));
                        "insert"
                    }
                    Write::ExtendSession { handle, expires_at } => {
                        assert_eq!(
                            (*handle, *expires_at),
                            ("s", at(START + 1000) + Duration::from_secs(86_400))
                        );
                        "extend"
                    }
                })
                .collect()
        };
        let cases: [(&RefreshTokenRecord, Presentation, &[&str]); 5] = [
            (
                &t0,
                refresh("t0", "t1", START + 1000),
                &["mark dead", "insert", "extend"],
            ),
            (&t0, use_of("t0", START + 1000), &["mark dead"]),
            (
                &dead,
                refresh("t0", "t1", START + 2 * GRACE),
                &["record theft", "revoke"],
            ),
            (&dead, no_revoke, &["record theft"]),
            (
                &t0,
                refresh("t0", "t1", session.expires_at.as_micros()),
                &[],
            ),
        ];
        for (presented, presentation, expected) in cases {
            let plan = plan(&session, presented, &presentation);
            assert_eq!(kinds(plan.writes(&session)), expected, "{plan:?}");
        }
    }

    /// Runs presentations in order over one session; returns each outcome's kind.
    fn run(steps: &[Presentation]) -> Vec<&'static str> {
        let mut session = session();
        let mut tokens = vec![token("t0", None, START)];
        steps
            .iter()
            .map(|step| {
                let Some(presented) = tokens.iter().find(|t| t.hash2 == step.presented_hash2)
                else {
                    return "unknown";
                };
                let plan = plan(&session, &presented.clone(), step);
                match apply_in_memory(&plan, &mut session, &mut tokens) {
                    PresentOutcome::Accepted { .. } => "ok",
                    PresentOutcome::Rejected { .. } => "rejected",
                    PresentOutcome::TheftDetected { .. } => "theft",
                }
            })
            .collect()
    }

    #[test]
    fn the_rules_case_by_case() {
        let ms = 1_000;
        let cases: Vec<(&str, Vec<Presentation>, Vec<&str>)> =
            vec![
            (
                "a lost response is retried with the same token, at any time",
                vec![refresh("t0", "t1", START), refresh("t0", "t2", START + 10 * GRACE)],
                vec!["ok", "ok"],
            ),
            (
                "a parent replayed after its child was used, past the grace: theft",
                vec![
                    refresh("t0", "t1", START),
                    use_of("t1", START + ms),
                    refresh("t0", "x", START + ms + GRACE + 1),
                ],
                vec!["ok", "ok", "theft"],
            ),
            (
                "the same replay within the grace (a request in flight): accepted",
                vec![
                    refresh("t0", "t1", START),
                    use_of("t1", START + ms),
                    refresh("t0", "x", START + ms + GRACE),
                ],
                vec!["ok", "ok", "ok"],
            ),
            (
                "a parent is dead once its child refreshed, and so is every ancestor",
                vec![
                    refresh("t0", "t1", START),
                    refresh("t1", "t2", START + ms),
                    refresh("t2", "t3", START + 2 * ms),
                    refresh("t0", "x", START + 2 * ms + GRACE + 1),
                ],
                vec!["ok", "ok", "ok", "theft"],
            ),
            (
                "parallel tabs: siblings minted together all stay usable",
                vec![
                    refresh("t0", "a", START),
                    refresh("t0", "b", START + ms),
                    use_of("b", START + 2 * ms),
                    use_of("a", START + 3 * ms),
                    refresh("b", "b1", START + 10 * GRACE),
                ],
                vec!["ok", "ok", "ok", "ok", "ok"],
            ),
            (
                "a sibling minted long before another token's use is dead a grace after that use",
                vec![
                    refresh("t0", "a", START),
                    refresh("t0", "b", START + GRACE + 1),
                    use_of("b", START + GRACE + 2),
                    refresh("a", "x", START + 2 * GRACE + 3),
                ],
                vec!["ok", "ok", "ok", "theft"],
            ),
            (
                "the using token itself is never marked by its own use",
                vec![
                    refresh("t0", "t1", START),
                    use_of("t1", START + 5 * GRACE),
                    use_of("t1", START + 10 * GRACE),
                    refresh("t1", "t2", START + 20 * GRACE),
                ],
                vec!["ok", "ok", "ok", "ok"],
            ),
            (
                "theft revokes: the current token is refused afterwards",
                vec![
                    refresh("t0", "t1", START),
                    refresh("t1", "t2", START + ms),
                    refresh("t0", "x", START + ms + GRACE + 1),
                    refresh("t2", "y", START + ms + GRACE + 2),
                ],
                vec!["ok", "ok", "theft", "unknown"],
            ),
        ];
        for (name, steps, expected) in cases {
            assert_eq!(run(&steps), expected, "{name}");
        }
    }

    #[test]
    fn a_zero_grace_forgives_nothing() {
        let mut zero = policy();
        zero.grace = Duration::ZERO;
        let mut session = session();
        let mut tokens = vec![token("t0", None, START)];
        let mut step = |request: Presentation| {
            let request = Presentation {
                policy: zero,
                ..request
            };
            let presented = tokens
                .iter()
                .find(|t| t.hash2 == request.presented_hash2)
                .cloned()
                .expect("known token");
            apply_in_memory(
                &plan(&session, &presented, &request),
                &mut session,
                &mut tokens,
            )
        };
        assert!(matches!(
            step(refresh("t0", "t1", START)),
            PresentOutcome::Accepted { .. }
        ));
        assert!(matches!(
            step(use_of("t1", START + 1)),
            PresentOutcome::Accepted { .. }
        ));
        // One microsecond after the child's use.
        assert!(matches!(
            step(refresh("t0", "x", START + 2)),
            PresentOutcome::TheftDetected { .. }
        ));
    }

    #[test]
    fn anti_csrf_is_checked_before_anything_is_written() {
        let mut session = session();
        let mut presented = token("t0", None, START);
        presented.anti_csrf_hash = Some("expected".into());
        let plan = plan(&session, &presented, &refresh("t0", "t1", START));
        assert_eq!(
            plan,
            Plan::Reject {
                reason: ANTI_CSRF_REFUSED,
                keep_tokens: true
            }
        );
        let mut tokens = vec![presented];
        let before = tokens.clone();
        apply_in_memory(&plan, &mut session, &mut tokens);
        assert_eq!(tokens, before);
    }

    #[test]
    fn an_expired_session_refuses_every_token() {
        let mut session = session();
        session.expires_at = at(START).whole_millis();
        let plan = plan(&session, &token("t0", None, START), &use_of("t0", START));
        assert!(matches!(
            plan,
            Plan::Reject {
                keep_tokens: false,
                ..
            }
        ));
    }
}
