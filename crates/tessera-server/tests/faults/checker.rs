//! Reads a whole history and lists every broken promise, each with the slice of the history that
//! shows it:
//!
//! 1. No browser is told "theft" or "unauthorised" while its session is live: never for the
//!    honest users, and for the others not before a thief or the operator first acted.
//! 2. Nothing acknowledged is lost: that is 1 again, since a browser always goes on from the
//!    newest tokens it received, whatever crashed meanwhile.
//! 3. A thief's replay of a refresh token the browser had provably moved past (an answer it
//!    received to a use of a descendant), sent more than the grace window (plus the servers'
//!    largest disagreement of clocks) later, is never accepted; nor is the first use of an
//!    access token minted with such a token (one a refresh handed out, carrying its parent).
//! 4. A revocation acknowledged by any server (the operator's, or a theft's, which revokes the
//!    session) is honoured by every server within a second of that server being able to answer
//!    and read the database again: no access token of the session verifies later than that, for
//!    the browser or the thief, and no refresh is accepted after the acknowledgement.
//! 5. Every answer is a CDI answer or a 503 (retry later): never another HTTP error.
//! 6. Service comes back: after each fault some request succeeds within ten seconds.

use std::collections::HashMap;

use super::history::{Actor, Answer, Fault, History, Op};
use super::workload::{group_of, Group, GRACE, MAX_SKEW};

/// How long after being able to read the database a server may still accept a revoked session.
const REVOCATION_BOUND_MS: f64 = 1000.0;

/// Allowance for the time between a request's send and the server's reading of its clock.
const MARGIN_MS: f64 = 300.0;

/// How soon after a fault some request must succeed again.
const RECOVERY_MS: f64 = 10_000.0;

pub struct Violation {
    pub promise: &'static str,
    pub detail: String,
    pub slice: Vec<String>,
}

pub fn check(history: &History) -> Vec<Violation> {
    let lineage = Lineage::of(history);
    let mut violations = Vec::new();
    well_formed(history, &mut violations);
    live_sessions_stay_live(history, &mut violations);
    replays_are_refused(history, &lineage, &mut violations);
    revocations_reach_every_server(history, &mut violations);
    service_returns(history, &mut violations);
    violations
}

/// Which refresh token each token came from, and when the browser was seen moving past each.
struct Lineage {
    parent: HashMap<String, String>,
    /// Access token → the refresh token it was minted with.
    minted_with: HashMap<String, String>,
    /// Access tokens a refresh handed out: they carry their refresh token's parent, so their
    /// first verification is a use of that refresh token.
    first_use: std::collections::HashSet<String>,
    /// Refresh token → when the browser first received an answer to a use of a strict
    /// descendant of it (its use of the descendant marked it dead before that answer left).
    moved_past_ms: HashMap<String, f64>,
}

impl Lineage {
    fn of(history: &History) -> Self {
        let mut lineage = Self {
            parent: HashMap::new(),
            minted_with: HashMap::new(),
            first_use: std::collections::HashSet::new(),
            moved_past_ms: HashMap::new(),
        };
        for request in &history.requests {
            let Answer::Ok { refresh, access } = &request.answer else {
                continue;
            };
            match (&request.op, refresh, access) {
                (Op::Create, Some(refresh), Some(access)) => {
                    lineage.minted_with.insert(access.clone(), refresh.clone());
                }
                (Op::Refresh { token }, Some(child), Some(access)) => {
                    lineage.parent.insert(child.clone(), token.clone());
                    lineage.minted_with.insert(access.clone(), child.clone());
                    lineage.first_use.insert(access.clone());
                }
                (Op::Verify { token }, _, Some(reissued)) => {
                    if let Some(refresh) = lineage.minted_with.get(token).cloned() {
                        lineage.minted_with.insert(reissued.clone(), refresh);
                    }
                }
                _ => {}
            }
        }
        for request in &history.requests {
            if !matches!(request.actor, Actor::Tab { .. })
                || request.dropped
                || !matches!(request.answer, Answer::Ok { .. })
            {
                continue;
            }
            let used = match &request.op {
                Op::Refresh { token } => Some(token.clone()),
                Op::Verify { token } => lineage.minted_with.get(token).cloned(),
                Op::Create | Op::Revoke { .. } | Op::RevokeUser => None,
            };
            let mut ancestor = used.and_then(|used| lineage.parent.get(&used).cloned());
            while let Some(token) = ancestor {
                let seen = lineage
                    .moved_past_ms
                    .entry(token.clone())
                    .or_insert(f64::INFINITY);
                *seen = seen.min(request.received_ms);
                ancestor = lineage.parent.get(&token).cloned();
            }
        }
        lineage
    }
}

fn user_of(actor: Actor) -> usize {
    match actor {
        Actor::Tab { user, .. } | Actor::Thief { user } | Actor::Operator { user } => user,
    }
}

/// The requests of `user` around `at`, and the faults then: what a reader needs to see why.
fn slice(history: &History, user: usize, from_ms: f64, to_ms: f64) -> Vec<String> {
    let mut lines: Vec<(f64, String)> = history
        .requests
        .iter()
        .filter(|r| user_of(r.actor) == user && r.received_ms >= from_ms && r.sent_ms <= to_ms)
        .map(|r| (r.sent_ms, r.to_string()))
        .collect();
    lines.extend(
        history
            .faults
            .iter()
            .filter(|f| f.ended_ms >= from_ms && f.began_ms <= to_ms)
            .map(|f| (f.began_ms, f.to_string())),
    );
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    lines.into_iter().map(|(_, line)| line).collect()
}

fn well_formed(history: &History, violations: &mut Vec<Violation>) {
    for request in &history.requests {
        if let Answer::Http(status, _) = &request.answer {
            if *status != 503 {
                violations.push(Violation {
                    promise: "5. every answer is a CDI answer or a 503",
                    detail: request.to_string(),
                    slice: slice(
                        history,
                        user_of(request.actor),
                        request.sent_ms - 2000.0,
                        request.received_ms + 500.0,
                    ),
                });
            }
        }
    }
}

/// When a thief or the operator first acted on `user`'s session, if ever.
fn first_interference_ms(history: &History, user: usize) -> f64 {
    history
        .requests
        .iter()
        .filter(|r| user_of(r.actor) == user && !matches!(r.actor, Actor::Tab { .. }))
        .map(|r| r.sent_ms)
        .fold(f64::INFINITY, f64::min)
}

fn live_sessions_stay_live(history: &History, violations: &mut Vec<Violation>) {
    let mut interference: HashMap<usize, f64> = HashMap::new();
    for request in &history.requests {
        let Actor::Tab { user, .. } = request.actor else {
            continue;
        };
        let since = *interference
            .entry(user)
            .or_insert_with(|| first_interference_ms(history, user));
        // Answered before anyone else touched the session (a request held by a frozen server
        // may be served after a revocation sent later).
        let undisturbed = group_of(user) == Group::Honest || request.received_ms < since;
        let ended = matches!(&request.answer, Answer::Status(status)
            if status == "UNAUTHORISED" || status == "TOKEN_THEFT_DETECTED");
        if undisturbed && ended {
            violations.push(Violation {
                promise: "1. a live session is never told theft or unauthorised",
                detail: request.to_string(),
                slice: slice(history, user, request.sent_ms - 8000.0, request.received_ms),
            });
        }
    }
}

fn replays_are_refused(history: &History, lineage: &Lineage, violations: &mut Vec<Violation>) {
    let grace_ms = GRACE.as_secs_f64() * 1000.0;
    // The server that marked the token dead and the one judging the replay may disagree by
    // twice the largest skew.
    let skew_ms = 2.0 * MAX_SKEW.as_secs_f64() * 1000.0;
    for request in &history.requests {
        let (Actor::Thief { user }, Answer::Ok { .. }) = (request.actor, &request.answer) else {
            continue;
        };
        let replayed = match &request.op {
            Op::Refresh { token } => Some(token),
            Op::Verify { token } if lineage.first_use.contains(token) => {
                lineage.minted_with.get(token)
            }
            _ => None,
        };
        let Some(moved_past) = replayed.and_then(|token| lineage.moved_past_ms.get(token)) else {
            continue;
        };
        if request.sent_ms > moved_past + grace_ms + skew_ms + MARGIN_MS {
            violations.push(Violation {
                promise: "3. a replay after the grace window is never accepted",
                detail: format!(
                    "{request}\n    the browser had moved past that token at {moved_past:.1} ms"
                ),
                slice: slice(history, user, moved_past - 2000.0, request.received_ms),
            });
        }
    }
}

/// When `server` could next answer and read the database, from `from_ms` on: after the end of
/// the last fault that hit it between then and `until_ms`.
fn ready_ms(faults: &[Fault], server: usize, from_ms: f64, until_ms: f64) -> f64 {
    faults
        .iter()
        .filter(|f| f.hits(server) && f.ended_ms >= from_ms && f.began_ms <= until_ms)
        .map(|f| f.ended_ms)
        .fold(from_ms, f64::max)
}

fn revocations_reach_every_server(history: &History, violations: &mut Vec<Violation>) {
    // A session ends when the operator's revocation is acknowledged, or when a server answers
    // that a replay was theft (which revokes it): whichever some client learned first.
    let mut ended: HashMap<usize, f64> = HashMap::new();
    for request in &history.requests {
        let revoked = matches!(request.op, Op::Revoke { .. } | Op::RevokeUser)
            && matches!(request.answer, Answer::Ok { .. });
        let theft =
            matches!(&request.answer, Answer::Status(status) if status == "TOKEN_THEFT_DETECTED");
        if revoked || theft {
            let at = ended.entry(user_of(request.actor)).or_insert(f64::INFINITY);
            *at = at.min(request.received_ms);
        }
    }
    for request in &history.requests {
        if !matches!(request.answer, Answer::Ok { .. })
            || matches!(request.actor, Actor::Operator { .. })
        {
            continue;
        }
        let user = user_of(request.actor);
        let Some(&revoked_ms) = ended.get(&user) else {
            continue;
        };
        let late = match request.op {
            Op::Refresh { .. } => request.sent_ms > revoked_ms,
            Op::Verify { .. } => {
                let ready = ready_ms(&history.faults, request.server, revoked_ms, request.sent_ms);
                request.sent_ms > ready + REVOCATION_BOUND_MS + MARGIN_MS
            }
            Op::Create | Op::Revoke { .. } | Op::RevokeUser => false,
        };
        if late {
            violations.push(Violation {
                promise: "4. a revocation reaches every server within a second",
                detail: format!("{request}\n    the session ended at {revoked_ms:.1} ms"),
                slice: slice(history, user, revoked_ms - 1000.0, request.received_ms),
            });
        }
    }
}

fn service_returns(history: &History, violations: &mut Vec<Violation>) {
    for fault in &history.faults {
        let deadline = fault.ended_ms + RECOVERY_MS;
        let observed_after = history.requests.iter().any(|r| r.sent_ms > deadline);
        let recovered = history.requests.iter().any(|r| {
            matches!(r.answer, Answer::Ok { .. })
                && r.received_ms >= fault.ended_ms
                && r.received_ms <= deadline
        });
        if observed_after && !recovered {
            violations.push(Violation {
                promise: "6. service returns within ten seconds of a fault's end",
                detail: fault.to_string(),
                slice: Vec::new(),
            });
        }
    }
}

/// Counts for the report: requests by answer, faults by kind.
pub fn summary(history: &History) -> String {
    let mut answers: HashMap<&'static str, usize> = HashMap::new();
    for request in &history.requests {
        let kind = match &request.answer {
            Answer::Ok { .. } => "ok",
            Answer::Status(status) if status == "TRY_REFRESH_TOKEN" => "try refresh",
            Answer::Status(status) if status == "TOKEN_THEFT_DETECTED" => "theft",
            Answer::Status(_) => "unauthorised",
            Answer::Http(..) => "http error",
            Answer::None(_) => "no answer",
        };
        *answers.entry(kind).or_default() += 1;
    }
    let mut answers: Vec<_> = answers.into_iter().collect();
    answers.sort();
    let mut faults: HashMap<String, usize> = HashMap::new();
    for fault in &history.faults {
        *faults.entry(format!("{:?}", fault.kind)).or_default() += 1;
    }
    let mut faults: Vec<_> = faults.into_iter().collect();
    faults.sort();
    format!(
        "{} requests ({answers:?}), {} faults ({faults:?})",
        history.requests.len(),
        history.faults.len()
    )
}

/// A violation as the test prints it.
pub fn describe(violation: &Violation) -> String {
    let mut text = format!("VIOLATION {}\n  {}\n", violation.promise, violation.detail);
    for line in &violation.slice {
        text.push_str(&format!("    | {line}\n"));
    }
    text
}
