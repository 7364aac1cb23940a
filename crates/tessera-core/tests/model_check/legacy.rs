//! The rotation rules Tessera used before dead-since marking (commit on use, supersede, adopt),
//! kept here only so the model check can show that it finds their faults. Adapted from the old
//! `rotation::plan` and `rotation::token_used` and the old in-memory store: tokens are small
//! integers instead of hashes, the anti-CSRF and expiry checks are left out (the model never
//! exercises them), and the engine's two entry points (`refresh_session` and a verification with
//! `check_database`) are [`Store::refresh`] and [`Store::record_use`].
//!
//! The old rules, for a presented token `X`:
//! 1. `X` is the current token: mint another child;
//! 2. `X` is an unused child of the current token: commit `X`, mint its child;
//! 3. `X` was superseded at most the grace window ago: mint a child of the current token;
//! 4. `X` was never committed and was minted (or last adopted) at most the grace window before the
//!    current token was committed: adopt `X` as a pending child of the current token and mint a
//!    child of the current token.
//!
//! A use (accepted refresh, or a verified access token) supersedes the token it was obtained
//! with. Anything else is theft.

use std::fmt::{Debug, Formatter, Result};

use super::{tick_text, Outcome, Tok};

/// The session row: its current (newest committed) token and when that was committed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Session {
    pub current: Tok,
    pub rotated_at: i64,
}

/// One token row.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Token {
    pub hash2: Tok,
    /// The committed token it hangs off in the lineage.
    pub parent: Option<Tok>,
    /// The token presented to obtain it.
    pub presented: Option<Tok>,
    pub issued_at: i64,
    pub committed_at: Option<i64>,
    pub superseded_at: Option<i64>,
}

impl Debug for Session {
    fn fmt(&self, f: &mut Formatter<'_>) -> Result {
        write!(
            f,
            "current T{} since {}",
            self.current,
            tick_text(self.rotated_at)
        )
    }
}

impl Debug for Token {
    fn fmt(&self, f: &mut Formatter<'_>) -> Result {
        write!(f, "T{}", self.hash2)?;
        if let Some(presented) = self.presented {
            write!(f, " from T{presented}")?;
        }
        if let Some(parent) = self.parent {
            write!(f, " under T{parent}")?;
        }
        write!(f, " minted {}", tick_text(self.issued_at))?;
        if let Some(at) = self.committed_at {
            write!(f, " committed {}", tick_text(at))?;
        }
        if let Some(at) = self.superseded_at {
            write!(f, " superseded {}", tick_text(at))?;
        }
        Ok(())
    }
}

/// The old store's rows for one session.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Store {
    /// `None` once the session was revoked (its tokens are deleted with it).
    pub session: Option<Session>,
    pub tokens: Vec<Token>,
}

enum Plan {
    Theft,
    Rotate(RotationWrites),
}

struct RotationWrites {
    commit: Option<Tok>,
    supersede: Vec<Tok>,
    adopt: Option<Tok>,
    child: Token,
    session: Session,
}

struct UseWrites {
    commit: Option<Session>,
    supersede: Vec<Tok>,
}

fn is_child_of(token: &Token, hash2: Tok) -> bool {
    [token.parent, token.presented].contains(&Some(hash2))
}

/// The old `rotation::plan`, minus the expiry and anti-CSRF checks.
fn plan(session: &Session, presented: &Token, child: Tok, now: i64, grace: i64) -> Plan {
    let is_current = presented.hash2 == session.current;
    let is_child_of_current = is_child_of(presented, session.current);

    let (commit, adopt) = if is_current {
        (false, false)
    } else if is_child_of_current && presented.superseded_at.is_none() {
        (true, false)
    } else if let Some(superseded_at) = presented.superseded_at {
        if now - superseded_at > grace {
            return Plan::Theft;
        }
        (false, false)
    } else if presented.committed_at.is_none() && session.rotated_at - presented.issued_at <= grace
    {
        (false, true)
    } else {
        return Plan::Theft;
    };

    let mut next = session.clone();
    let mut supersede = Vec::new();
    if commit {
        supersede.push(session.current);
        next.current = presented.hash2;
        next.rotated_at = now;
    }
    supersede.extend(presented.presented);
    let child = Token {
        hash2: child,
        parent: Some(next.current),
        presented: Some(presented.hash2),
        issued_at: now,
        committed_at: None,
        superseded_at: None,
    };
    Plan::Rotate(RotationWrites {
        commit: commit.then_some(presented.hash2),
        supersede,
        adopt: adopt.then_some(presented.hash2),
        child,
        session: next,
    })
}

/// The old `rotation::token_used`.
fn token_used(session: &Session, token: &Token, now: i64) -> Option<UseWrites> {
    let pending_child = token.superseded_at.is_none()
        && token.committed_at.is_none()
        && is_child_of(token, session.current);
    let mut supersede: Vec<Tok> = token.presented.iter().copied().collect();
    let commit = pending_child.then(|| {
        supersede.push(session.current);
        Session {
            current: token.hash2,
            rotated_at: now,
        }
    });
    (commit.is_some() || !supersede.is_empty()).then_some(UseWrites { commit, supersede })
}

impl Store {
    /// A new session whose first token is `first`, committed at `now`.
    pub fn new(first: Tok, now: i64) -> Self {
        Self {
            session: Some(Session {
                current: first,
                rotated_at: now,
            }),
            tokens: vec![Token {
                hash2: first,
                parent: None,
                presented: None,
                issued_at: now,
                committed_at: Some(now),
                superseded_at: None,
            }],
        }
    }

    fn token_mut(&mut self, hash2: Tok) -> Option<&mut Token> {
        self.tokens.iter_mut().find(|token| token.hash2 == hash2)
    }

    fn supersede(&mut self, hashes: &[Tok], now: i64) {
        for &hash2 in hashes {
            if let Some(token) = self.token_mut(hash2) {
                token.superseded_at.get_or_insert(now);
            }
        }
    }

    /// The old in-memory store's `refresh`.
    pub fn refresh(&mut self, presented: Tok, child: Tok, now: i64, grace: i64) -> Outcome {
        let Some(token) = self.tokens.iter().find(|t| t.hash2 == presented).cloned() else {
            return Outcome::Refused;
        };
        let Some(session) = self.session.clone() else {
            return Outcome::Refused;
        };
        match plan(&session, &token, child, now, grace) {
            Plan::Theft => {
                self.session = None;
                self.tokens.clear();
                Outcome::Theft
            }
            Plan::Rotate(writes) => {
                if let Some(hash2) = writes.commit {
                    if let Some(token) = self.token_mut(hash2) {
                        token.committed_at = Some(now);
                    }
                }
                self.supersede(&writes.supersede, now);
                if let Some(hash2) = writes.adopt {
                    let current = writes.session.current;
                    if let Some(token) = self.token_mut(hash2) {
                        token.parent = Some(current);
                        token.issued_at = now;
                    }
                }
                self.tokens.push(writes.child);
                self.session = Some(writes.session);
                Outcome::Accepted
            }
        }
    }

    /// The old engine's verification with `check_database`: refused when the session is gone,
    /// otherwise accepted after recording the use (`record_token_use`) unless the token is current.
    pub fn record_use(&mut self, hash2: Tok, now: i64) -> Outcome {
        let Some(session) = self.session.clone() else {
            return Outcome::Refused;
        };
        if hash2 == session.current {
            return Outcome::Accepted;
        }
        let Some(token) = self.tokens.iter().find(|t| t.hash2 == hash2).cloned() else {
            return Outcome::Accepted;
        };
        if let Some(writes) = token_used(&session, &token, now) {
            self.supersede(&writes.supersede, now);
            if let Some(next) = writes.commit {
                if let Some(token) = self.token_mut(hash2) {
                    token.committed_at = Some(now);
                }
                self.session = Some(next);
            }
        }
        Outcome::Accepted
    }
}
