//! The refresh-token rotation and theft-detection state machine.
//!
//! Every issued refresh token is stored (as `H(H(t))`) with its parent, so a genuine old token can be
//! told apart from garbage. A session's tokens form a chain of *committed* tokens (each one proven to
//! be in the client's hands because it was used) with uncommitted leaves hanging off it.
//!
//! A presented token `X` is accepted when
//! 1. `X` is the current token (a retry after a lost response, or parallel tabs): mint another child;
//! 2. `X` is an unused child of the current token: commit `X`, mint its child;
//! 3. `X` was superseded (replaced as current, or already accepted once) less than the grace period
//!    ago: a request that was in flight while another tab rotated — mint a child of the current token;
//! 4. `X` was never used and was minted at most the grace period before the current token was
//!    committed: a sibling from the same burst of parallel refreshes, which may be the one left in the
//!    cookie jar — mint a child of the current token and mark `X` superseded.
//!
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
    /// The new token row.
    pub child: RefreshTokenRecord,
    /// The session row as it must be after the refresh.
    pub session: SessionRecord,
}

/// The decision for one refresh.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Refuse without writing anything.
    Reject(&'static str),
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
        return Plan::Reject("session expired");
    }
    if policy.check_anti_csrf {
        if let Some(expected) = &presented.anti_csrf_hash {
            let supplied_matches = request
                .anti_csrf_hash
                .as_deref()
                .is_some_and(|supplied| constant_time_eq(supplied, expected));
            if !supplied_matches {
                return Plan::Reject("anti-csrf token missing or wrong");
            }
        }
    }

    let is_current = constant_time_eq(&presented.hash2, &session.current_hash2);
    let is_child_of_current = presented
        .parent_hash2
        .as_deref()
        .is_some_and(|parent| constant_time_eq(parent, &session.current_hash2));

    let (commit, supersede) = if is_current {
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
    let mut writes_supersede = Vec::new();
    if commit {
        writes_supersede.push(session.current_hash2.clone());
        next.current_hash2 = presented.hash2.clone();
        next.rotated_at = now;
    }
    if supersede {
        writes_supersede.push(presented.hash2.clone());
    }
    next.expires_at = now.saturating_add(policy.refresh_validity_ms);
    let child = RefreshTokenRecord {
        hash2: request.child.hash2.clone(),
        session_handle: session.handle.clone(),
        parent_hash2: Some(next.current_hash2.clone()),
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
        supersede: writes_supersede,
        child,
        session: next,
    }))
}

impl Plan {
    /// What the caller is told once the plan's writes are committed.
    pub fn outcome(&self, session: &SessionRecord) -> RefreshOutcome {
        match self {
            Self::Reject(reason) => RefreshOutcome::Rejected { reason },
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

fn theft(policy: &RotationPolicy) -> Plan {
    Plan::Theft {
        revoke: policy.revoke_on_theft,
    }
}

/// Whether an access token minted with `token` proves that `token` reached the client, so it
/// should be committed: it is an unused child of the current token.
pub fn should_commit_on_use(session: &SessionRecord, token: &RefreshTokenRecord) -> bool {
    token.superseded_at.is_none()
        && token.committed_at.is_none()
        && token
            .parent_hash2
            .as_deref()
            .is_some_and(|parent| constant_time_eq(parent, &session.current_hash2))
}

/// Stamps a commit on `session` as [`plan`] would, for [`should_commit_on_use`].
pub fn committed_session(session: &SessionRecord, hash2: &str, now: UnixMillis) -> SessionRecord {
    let mut next = session.clone();
    next.current_hash2 = hash2.to_owned();
    next.rotated_at = now;
    next
}
