//! Time source for the engine: one clock for the whole process.
//!
//! Expiries (of sessions, tokens and keys) are kept to the millisecond, as on the wire
//! ([`Clock::now`]). The rotation rules compare the times of refresh-token events against the
//! grace window to the microsecond ([`Clock::now_micros`]), so that a zero grace forgives nothing:
//! two events a millisecond apart are distinct, and the system clock never hands one process the
//! same microsecond twice.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::time::{duration_micros, Timestamp};

/// Where the engine reads the time. Tests move a [`ManualClock`] instead of sleeping.
pub trait Clock: Send + Sync + 'static {
    /// Now, to the microsecond.
    fn now_micros(&self) -> Timestamp;

    /// Now, to the millisecond.
    fn now(&self) -> Timestamp {
        self.now_micros().whole_millis()
    }
}

/// The operating system's wall clock, made strictly increasing within the process: two reads
/// never return the same microsecond, so two rotation events are never simultaneous.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

static LAST_SYSTEM_MICROS: AtomicI64 = AtomicI64::new(0);

fn wall_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(duration_micros)
        .unwrap_or(0)
}

impl Clock for SystemClock {
    fn now_micros(&self) -> Timestamp {
        let wall = wall_micros();
        let previous = LAST_SYSTEM_MICROS
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(wall.max(last.saturating_add(1)))
            })
            .unwrap_or(wall);
        Timestamp::from_micros(wall.max(previous.saturating_add(1)))
    }

    /// Milliseconds need no tie-breaking (they date expiries, not rotation events), so they skip
    /// the process-wide counter: every verification reads the time, and a compare-and-swap on one
    /// shared word from every core costs more than the rest of a cached verification's checks.
    fn now(&self) -> Timestamp {
        Timestamp::from_micros(wall_micros()).whole_millis()
    }
}

/// Another clock, `offset` ahead of it (behind when negative): for tests of several processes
/// whose clocks disagree. Never needed in production, where NTP keeps servers within
/// milliseconds of each other.
pub struct OffsetClock {
    inner: std::sync::Arc<dyn Clock>,
    offset_micros: i64,
}

impl OffsetClock {
    /// `inner`, moved `offset_micros` microseconds ahead (negative: behind).
    pub fn new(inner: std::sync::Arc<dyn Clock>, offset_micros: i64) -> Self {
        Self {
            inner,
            offset_micros,
        }
    }
}

impl Clock for OffsetClock {
    fn now_micros(&self) -> Timestamp {
        Timestamp::from_micros(
            self.inner
                .now_micros()
                .as_micros()
                .saturating_add(self.offset_micros),
        )
    }
}

/// A clock that only moves when told to.
///
/// ```
/// use std::time::Duration;
/// use tessera_core::{Clock, ManualClock, Timestamp};
///
/// let clock = ManualClock::new(Timestamp::from_millis(1_000));
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now(), Timestamp::from_millis(3_000));
/// clock.advance(Duration::from_micros(1));
/// assert_eq!(clock.now_micros(), Timestamp::from_micros(3_000_001));
/// assert_eq!(clock.now(), Timestamp::from_millis(3_000));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    now_micros: AtomicI64,
}

impl ManualClock {
    /// A clock that reads `start` until it is moved.
    pub fn new(start: Timestamp) -> Self {
        Self {
            now_micros: AtomicI64::new(start.as_micros()),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.now_micros
            .fetch_add(duration_micros(by), Ordering::SeqCst);
    }

    /// Sets the clock to an instant.
    pub fn set(&self, to: Timestamp) {
        self.now_micros.store(to.as_micros(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_micros(&self) -> Timestamp {
        Timestamp::from_micros(self.now_micros.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_never_repeats_a_microsecond() {
        let clock = SystemClock;
        let mut last = clock.now_micros();
        for _ in 0..10_000 {
            let next = clock.now_micros();
            assert!(next > last, "{next:?} after {last:?}");
            last = next;
        }
    }
}
