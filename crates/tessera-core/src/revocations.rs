//! Revoked sessions known to this process, so that verification refuses their access tokens
//! without reading the store.
//!
//! Every revocation is written to the store's revocation log in the transaction that deletes the
//! session. This process adds its own revocations here at once, and a follower task
//! ([`Sessions::spawn_revocation_follower`](crate::Sessions::spawn_revocation_follower)) reads the
//! log every poll interval for the others'. An entry is kept until every access token its session
//! can have has expired (revocation time plus the access-token validity, plus a margin for clock
//! skew between processes), so memory is bounded by the revocations of one access-token lifetime.
//!
//! Log positions (`seq`) are assigned when a row is written but become visible when its
//! transaction commits, so a row can appear after a later one was already read, and positions
//! rolled back are never used. The follower therefore re-reads from the oldest position it has
//! not seen yet (a gap) for a while before giving the gap up as never coming.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use crate::store::RevocationRecord;
use crate::time::Timestamp;

/// How long a gap in the log is re-read before it is taken for a rolled-back write. Revoking
/// transactions are short; a commit later than this would be missed.
pub(crate) const GAP_WAIT: Duration = Duration::from_secs(10);
/// Entries are kept this long past the access-token validity, for clock skew between processes.
pub(crate) const SKEW_MARGIN: Duration = Duration::from_secs(60);
/// Gaps tracked at most; past this a follower that fell far behind stops tracking new ones.
const MAX_GAPS: usize = 10_000;

/// A fast keyed hasher: every verification looks a handle up here.
type Hasher = foldhash::fast::RandomState;

/// A revoked-session set keyed compactly: Tessera's handles are UUIDs, kept as 16 bytes.
#[derive(Default)]
struct RevokedSet {
    by_uuid: HashMap<u128, Timestamp, Hasher>,
    /// Handles that are not UUIDs (none that Tessera makes, but stores may hold imported ones).
    other: HashMap<Box<str>, Timestamp, Hasher>,
}

impl RevokedSet {
    fn insert(&mut self, handle: &str, revoked_at: Timestamp) {
        match uuid::Uuid::try_parse(handle) {
            Ok(uuid) => {
                let entry = self.by_uuid.entry(uuid.as_u128()).or_insert(revoked_at);
                *entry = (*entry).max(revoked_at);
            }
            Err(_) => {
                let entry = self.other.entry(handle.into()).or_insert(revoked_at);
                *entry = (*entry).max(revoked_at);
            }
        }
    }

    fn contains(&self, handle: &str) -> bool {
        match uuid::Uuid::try_parse(handle) {
            Ok(uuid) => self.by_uuid.contains_key(&uuid.as_u128()),
            Err(_) => self.other.contains_key(handle),
        }
    }

    fn prune(&mut self, keep_since: Timestamp) -> usize {
        let before = self.len();
        self.by_uuid.retain(|_, at| *at >= keep_since);
        self.other.retain(|_, at| *at >= keep_since);
        before - self.len()
    }

    fn len(&self) -> usize {
        self.by_uuid.len() + self.other.len()
    }
}

/// Where the follower is in the log.
#[derive(Default)]
struct Position {
    /// The highest position read; `None` before the first read.
    newest: Option<i64>,
    /// Positions below `newest` not read yet, with when they were first missed.
    gaps: BTreeMap<i64, Timestamp>,
}

/// The revoked sessions this process knows of, and its place in the store's revocation log.
///
/// [`Sessions`](crate::Sessions) keeps one and fills it itself. A back end that verifies tokens
/// without the engine (tessera-axum's remote back end) keeps one too and feeds it what the server
/// reads from the log: [`read_from`](Self::read_from) says where to read, [`apply`](Self::apply)
/// takes the entries in, [`is_revoked`](Self::is_revoked) answers verification.
pub struct Revocations {
    set: RwLock<RevokedSet>,
    position: Mutex<Position>,
    /// When the log was last read successfully, in microseconds (`i64::MIN`: never; then the view is not stale,
    /// because nothing follows the log and only this process's own revocations count).
    last_read: AtomicI64,
    following: std::sync::atomic::AtomicBool,
    /// How many sessions `set` holds, readable without its lock.
    held: std::sync::atomic::AtomicUsize,
}

impl Default for Revocations {
    fn default() -> Self {
        Self::new()
    }
}

impl Revocations {
    /// An empty view that follows no log yet.
    pub fn new() -> Self {
        Self {
            set: RwLock::new(RevokedSet::default()),
            position: Mutex::new(Position::default()),
            last_read: AtomicI64::new(i64::MIN),
            following: std::sync::atomic::AtomicBool::new(false),
            held: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Whether the session was revoked (by this process, or by another as read from the log).
    pub fn is_revoked(&self, handle: &str) -> bool {
        // Most of the time nothing is revoked: skip parsing the handle and taking the lock.
        if self.held.load(Ordering::Acquire) == 0 {
            return false;
        }
        self.set
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(handle)
    }

    /// Records revocations made by this process (or reported to it), as of `revoked_at`.
    pub fn add(&self, handles: &[String], revoked_at: Timestamp) {
        let mut set = self
            .set
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for handle in handles {
            set.insert(handle, revoked_at);
        }
        self.held.store(set.len(), Ordering::Release);
    }

    /// How many revoked sessions are held.
    pub fn len(&self) -> usize {
        self.set
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether no revoked session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets sessions revoked before `keep_since`: their access tokens have all expired.
    pub fn prune(&self, keep_since: Timestamp) -> usize {
        let mut set = self
            .set
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pruned = set.prune(keep_since);
        self.held.store(set.len(), Ordering::Release);
        pruned
    }

    /// Where to read the log from at `now`: after the newest position read (new entries), and,
    /// while a gap is awaited, after the position just before the oldest one. Gaps awaited too
    /// long are dropped here.
    pub fn read_from(&self, now: Timestamp) -> (i64, Option<i64>) {
        let mut position = self
            .position
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        position
            .gaps
            .retain(|_, missed_at| now.since(*missed_at) < GAP_WAIT);
        let oldest_gap = position.gaps.first_key_value().map(|(gap, _)| gap - 1);
        (position.newest.unwrap_or(0), oldest_gap)
    }

    /// Takes in entries read from the log at `now`.
    pub fn apply(&self, records: &[RevocationRecord], now: Timestamp) {
        if !records.is_empty() {
            let mut set = self
                .set
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for record in records {
                set.insert(&record.session_handle, record.revoked_at);
            }
            self.held.store(set.len(), Ordering::Release);
        }
        let mut position = self
            .position
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for record in records {
            match position.newest {
                // The first read starts the log here: older positions are out of the window.
                None => position.newest = Some(record.seq),
                Some(newest) if record.seq > newest => {
                    for missing in newest + 1..record.seq {
                        if position.gaps.len() >= MAX_GAPS {
                            break;
                        }
                        position.gaps.insert(missing, now);
                    }
                    position.newest = Some(record.seq);
                }
                Some(_) => {
                    position.gaps.remove(&record.seq);
                }
            }
        }
        self.last_read.store(now.as_micros(), Ordering::Release);
    }

    /// Marks that a follower reads the log for this process, so that [`lag`](Self::lag) counts.
    pub fn start_following(&self) {
        self.following.store(true, Ordering::Release);
    }

    /// How long since the log was last read, or `None` if no follower runs.
    pub fn lag(&self, now: Timestamp) -> Option<Duration> {
        if !self.following.load(Ordering::Acquire) {
            return None;
        }
        let last = self.last_read.load(Ordering::Acquire);
        Some(if last == i64::MIN {
            Duration::MAX
        } else {
            now.since(Timestamp::from_micros(last))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: i64, handle: &str) -> RevocationRecord {
        RevocationRecord {
            seq,
            session_handle: handle.to_owned(),
            revoked_at: at(1_000),
        }
    }

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millis(millis)
    }

    const A: &str = "00000000-0000-4000-8000-00000000000a";
    const B: &str = "00000000-0000-4000-8000-00000000000b";

    #[test]
    fn a_late_commit_below_the_newest_position_is_still_read() {
        let revocations = Revocations::new();
        revocations.apply(&[record(5, A)], at(0));
        assert_eq!(revocations.read_from(at(0)), (5, None));
        // Position 7 is visible while 6 is still being committed: 6 is awaited.
        revocations.apply(&[record(7, A)], at(100));
        assert_eq!(revocations.read_from(at(100)), (7, Some(5)));
        revocations.apply(&[record(6, B), record(7, A)], at(200));
        assert!(revocations.is_revoked(B));
        assert_eq!(revocations.read_from(at(200)), (7, None));
    }

    #[test]
    fn a_gap_that_never_fills_is_given_up() {
        let revocations = Revocations::new();
        revocations.apply(&[record(1, A), record(3, A)], at(0));
        assert_eq!(
            revocations.read_from(at(0) + GAP_WAIT - Duration::from_millis(1)),
            (3, Some(1))
        );
        assert_eq!(revocations.read_from(at(0) + GAP_WAIT), (3, None));
    }

    #[test]
    fn entries_go_once_their_tokens_have_expired() {
        let revocations = Revocations::new();
        revocations.add(&[A.to_owned()], at(1_000));
        revocations.add(&["not-a-uuid".to_owned()], at(2_000));
        assert!(revocations.is_revoked(A) && revocations.is_revoked("not-a-uuid"));
        assert_eq!(revocations.prune(at(1_500)), 1);
        assert!(!revocations.is_revoked(A));
        assert!(revocations.is_revoked("not-a-uuid"));
    }

    #[test]
    fn lag_is_reported_only_while_following() {
        let revocations = Revocations::new();
        assert_eq!(revocations.lag(at(10)), None);
        revocations.start_following();
        assert_eq!(revocations.lag(at(10)), Some(Duration::MAX));
        revocations.apply(&[], at(10));
        assert_eq!(revocations.lag(at(25)), Some(Duration::from_millis(15)));
    }
}
