//! The recorded history: every request with its send and receive times (milliseconds since the
//! run began) and what came back, and every fault with when it began and ended.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Who sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A tab of a user's browser (tabs of one user share one jar).
    Tab { user: usize, tab: usize },
    /// Someone replaying a copy of a user's tokens.
    Thief { user: usize },
    /// An operator revoking a user's session.
    Operator { user: usize },
}

/// What a request asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Sign in: a new session (its answer carries the first tokens).
    Create,
    /// Refresh with this refresh token.
    Refresh { token: String },
    /// Verify this access token (`checkDatabase: false`, as an app verifies).
    Verify { token: String },
    /// Revoke this session.
    Revoke { handle: String },
    /// Revoke every session of the actor's user.
    RevokeUser,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `status: OK`; for a refresh the new tokens, for a verify a reissued access token if any.
    Ok {
        refresh: Option<String>,
        access: Option<String>,
    },
    /// Another CDI status (`UNAUTHORISED`, `TRY_REFRESH_TOKEN`, `TOKEN_THEFT_DETECTED`).
    Status(String),
    /// An HTTP status other than 200, with its body.
    Http(u16, String),
    /// No answer (timeout, refused or reset connection).
    None(String),
}

#[derive(Debug, Clone)]
pub struct Request {
    pub actor: Actor,
    pub op: Op,
    pub server: usize,
    pub sent_ms: f64,
    pub received_ms: f64,
    pub answer: Answer,
    /// An answer the client threw away (a response lost on its way to the browser).
    pub dropped: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// `kill -9`, then a new process on the same database.
    KillRestart,
    /// SIGSTOP, then SIGCONT.
    Freeze,
    /// The database crashes and restarts.
    DatabaseRestart,
    /// Every byte between servers and database is held up for a while.
    Latency,
    /// Every connection between servers and database is reset at once.
    Reset,
    /// The primary database stops and its synchronous standby is promoted in its place.
    Failover,
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: FaultKind,
    /// The server it hit; `None` for the database (every server).
    pub server: Option<usize>,
    pub began_ms: f64,
    pub ended_ms: f64,
}

impl Fault {
    /// Whether it kept `server` from answering or from reading the database.
    pub fn hits(&self, server: usize) -> bool {
        self.server.is_none_or(|hit| hit == server)
    }
}

/// Where the run's events are written as they happen.
#[derive(Clone)]
pub struct Recorder {
    start: Instant,
    requests: Arc<Mutex<Vec<Request>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
}

pub struct History {
    pub requests: Vec<Request>,
    pub faults: Vec<Fault>,
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            requests: Arc::default(),
            faults: Arc::default(),
        }
    }

    pub fn now_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    pub fn request(&self, request: Request) {
        self.requests.lock().unwrap().push(request);
    }

    pub fn fault(&self, fault: Fault) {
        self.faults.lock().unwrap().push(fault);
    }

    pub fn history(&self) -> History {
        let mut requests = self.requests.lock().unwrap().clone();
        requests.sort_by(|a, b| a.sent_ms.total_cmp(&b.sent_ms));
        History {
            requests,
            faults: self.faults.lock().unwrap().clone(),
        }
    }
}

/// A token shortened for printing.
pub fn short(token: &str) -> &str {
    let start = token.len().saturating_sub(10);
    token.get(start..).unwrap_or(token)
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match &self.op {
            Op::Create => "create".to_owned(),
            Op::Refresh { token } => format!("refresh …{}", short(token)),
            Op::Verify { token } => format!("verify …{}", short(token)),
            Op::Revoke { handle } => format!("revoke {handle}"),
            Op::RevokeUser => "revoke the user's sessions".to_owned(),
        };
        let answer = match &self.answer {
            Answer::Ok { refresh, access } => format!(
                "OK{}{}",
                refresh
                    .as_deref()
                    .map(|t| format!(" refresh …{}", short(t)))
                    .unwrap_or_default(),
                access
                    .as_deref()
                    .map(|t| format!(" access …{}", short(t)))
                    .unwrap_or_default()
            ),
            Answer::Status(status) => status.clone(),
            Answer::Http(code, body) => format!("HTTP {code} {body}"),
            Answer::None(why) => format!("no answer ({why})"),
        };
        write!(
            f,
            "{:>9.1} → {:>9.1} ms  {:?} @server {}: {op} ⇒ {answer}{}",
            self.sent_ms,
            self.received_ms,
            self.actor,
            self.server,
            if self.dropped { " (dropped)" } else { "" }
        )
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>9.1} → {:>9.1} ms  fault {:?} on {}",
            self.began_ms,
            self.ended_ms,
            self.kind,
            self.server
                .map_or_else(|| "the database".to_owned(), |s| format!("server {s}"))
        )
    }
}
