//! The refresh-token rotation and theft-detection state machine.
//!
//! Every issued refresh token is stored (as `H(H(t))`) with its parent, so a genuine old token can be
//! told apart from garbage. A session's tokens form a chain of *committed* tokens (each one proven to
//! be in the client's hands because it was used) with uncommitted leaves hanging off it.
//!
//! A presented token `X` is accepted when
//! 1. `X` is the current token (a retry after a lost response, or parallel tabs): mint another child;
//! 2. `X` is an unused child of the current token (hangs off it, or was obtained by presenting it):
//!    commit `X`, mint its child;
//! 3. `X` was superseded (replaced as current, or already accepted once) at most the grace period
//!    ago: a request that was in flight while another tab rotated — mint a child of the current token
//!    (the window includes its end: the honest-client argument allows a delay of exactly half the
//!    grace each way, and the model test finds the boundary case if it is excluded);
//! 4. `X` was never committed and was minted (or last adopted) at most the grace period before the
//!    current token was committed: a sibling from the same burst of parallel refreshes, which may be
//!    the one left in the cookie jar — adopt `X` as a pending child of the current token (so a retry
//!    after a lost response still works) and mint a child of the current token.
//!
//! Whenever a token is used (presented and accepted, or its access token used with a database
//! check), the token it was obtained with is marked superseded: the client has moved past it.
//! Anything else from this session is a replay of a token the client has moved past: theft.
//! Rules 3 and 4 hold for honest clients whose requests complete within half the grace period
//! (see `docs/design.md` for the argument); rules 1 and 2 hold for any delay, so a lost response
//! can be retried at any time.

use crate::clock::UnixMillis;
use crate::secret::constant_time_eq;
use crate::store::{RefreshOutcome, RefreshRequest, RefreshTokenRecord, SessionRecord};

/// Settings a store needs to decide a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// The grace window in milliseconds.
    pub grace_ms: i64,
    /// How far a successful refresh pushes the session's expiry, in milliseconds.
    pub refresh_validity_ms: i64,
    /// Delete the session when theft is detected.
    pub revoke_on_theft: bool,
    /// Require the anti-CSRF token issued with the presented refresh token, if it had one.
    pub check_anti_csrf: bool,
}

/// What a store must write for an accepted refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct RotationWrites {
    /// Token to mark committed now (it becomes current).
    pub commit: Option<String>,
    /// Tokens to mark superseded now, where not already.
    pub supersede: Vec<String>,
    /// Token to adopt as a pending child of the new current token: its parent becomes
    /// `session.current_hash2` and its issue time now.
    pub adopt: Option<String>,
    /// The new token row.
    pub child: RefreshTokenRecord,
    /// The session row as it must be after the refresh.
    pub session: SessionRecord,
}

/// The reason of the one refusal that keeps the client's tokens: a refresh without the right
/// anti-CSRF token, which a forged cross-site request would be. A server speaking CDI can only
/// say `UNAUTHORISED` with this message, so its clients recognise the case by it.
pub const ANTI_CSRF_REFUSED: &str = "anti-csrf token missing or wrong";

/// The decision for one refresh.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Refuse without writing anything; the client keeps its tokens when `keep_tokens`.
    Reject {
        /// Why.
        reason: &'static str,
        /// True when only the anti-CSRF check failed.
        keep_tokens: bool,
    },
    /// A replayed token: report, and delete the session when `revoke`.
    Theft {
        /// Whether to delete the session.
        revoke: bool,
    },
    /// Accept and write these rows.
    Rotate(Box<RotationWrites>),
}

/// Decides a refresh. `session` must have been read under the session's row lock, and `presented`
/// after taking it.
pub fn plan(
    session: &SessionRecord,
    presented: &RefreshTokenRecord,
    request: &RefreshRequest,
) -> Plan {
    let now = request.now;
    let policy = &request.policy;
    if session.expires_at <= now {
        return Plan::Reject {
            reason: "session expired",
            keep_tokens: false,
        };
    }
    if policy.check_anti_csrf {
        if let Some(expected) = &presented.anti_csrf_hash {
            let supplied_matches = request
                .anti_csrf_hash
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

    let is_current = constant_time_eq(&presented.hash2, &session.current_hash2);
    let is_child_of_current = is_child_of(presented, &session.current_hash2);

    let (commit, adopt) = if is_current {
        (false, false)
    } else if is_child_of_current && presented.superseded_at.is_none() {
        (true, false)
    } else if let Some(superseded_at) = presented.superseded_at {
        if now - superseded_at > policy.grace_ms {
            return theft(policy);
        }
        (false, false)
    } else if presented.committed_at.is_none()
        && session.rotated_at - presented.issued_at <= policy.grace_ms
    {
        (false, true)
    } else {
        return theft(policy);
    };

    let mut next = session.clone();
    let mut supersede = Vec::new();
    if commit {
        supersede.push(session.current_hash2.clone());
        next.current_hash2 = presented.hash2.clone();
        next.rotated_at = now;
    }
    supersede.extend(presented.presented_hash2.iter().cloned());
    next.expires_at = now.saturating_add(policy.refresh_validity_ms);
    let child = RefreshTokenRecord {
        hash2: request.child.hash2.clone(),
        session_handle: session.handle.clone(),
        parent_hash2: Some(next.current_hash2.clone()),
        presented_hash2: Some(presented.hash2.clone()),
        issued_at: now,
        committed_at: None,
        superseded_at: None,
        anti_csrf_hash: presented
            .anti_csrf_hash
            .as_ref()
            .and(request.child.anti_csrf_hash.clone()),
    };
    Plan::Rotate(Box::new(RotationWrites {
        commit: commit.then(|| presented.hash2.clone()),
        supersede,
        adopt: adopt.then(|| presented.hash2.clone()),
        child,
        session: next,
    }))
}

impl Plan {
    /// What the caller is told once the plan's writes are committed.
    pub fn outcome(&self, session: &SessionRecord) -> RefreshOutcome {
        match self {
            Self::Reject {
                reason,
                keep_tokens,
            } => RefreshOutcome::Rejected {
                reason,
                clear_tokens: !keep_tokens,
            },
            Self::Theft { .. } => RefreshOutcome::TheftDetected {
                user_id: session.user_id.clone(),
                session_handle: session.handle.clone(),
            },
            Self::Rotate(writes) => RefreshOutcome::Rotated {
                session: writes.session.clone(),
                anti_csrf: writes.child.anti_csrf_hash.is_some(),
            },
        }
    }
}

/// Whether `token` hangs off `hash2` in the lineage, or was obtained by presenting it. An adopted
/// sibling's children were obtained by presenting it while their lineage points at the token that
/// was current then; once the sibling is committed they are its children all the same.
fn is_child_of(token: &RefreshTokenRecord, hash2: &str) -> bool {
    [&token.parent_hash2, &token.presented_hash2]
        .into_iter()
        .flatten()
        .any(|parent| constant_time_eq(parent, hash2))
}

fn theft(policy: &RotationPolicy) -> Plan {
    Plan::Theft {
        revoke: policy.revoke_on_theft,
    }
}

/// What a store must write when an access token minted with `token` is used (with a database
/// check): the use proves `token` reached the client.
#[derive(Debug, Clone, PartialEq)]
pub struct UseWrites {
    /// Commit `token`, with the session row as it must be after, when it was an unused child of the
    /// current token.
    pub commit: Option<SessionRecord>,
    /// Tokens to mark superseded now, where not already.
    pub supersede: Vec<String>,
}

/// Decides what using `token` changes; `None` when nothing does.
pub fn token_used(
    session: &SessionRecord,
    token: &RefreshTokenRecord,
    now: UnixMillis,
) -> Option<UseWrites> {
    if token.session_handle != session.handle {
        return None;
    }
    let pending_child = token.superseded_at.is_none()
        && token.committed_at.is_none()
        && is_child_of(token, &session.current_hash2);
    let mut supersede: Vec<String> = token.presented_hash2.iter().cloned().collect();
    let commit = pending_child.then(|| {
        supersede.push(session.current_hash2.clone());
        let mut next = session.clone();
        next.current_hash2 = token.hash2.clone();
        next.rotated_at = now;
        next
    });
    (commit.is_some() || !supersede.is_empty()).then_some(UseWrites { commit, supersede })
}
