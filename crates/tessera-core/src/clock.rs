//! Time source for the engine.
//!
//! Expiries (of sessions, tokens and keys) are milliseconds since the Unix epoch, as on the wire.
//! The rotation rules compare the times of refresh-token events against the grace window in
//! microseconds, so that a zero grace forgives nothing: two events a millisecond apart are
//! distinct, and the system clock never hands one process the same microsecond twice.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub type UnixMillis = i64;

/// Microseconds since the Unix epoch.
pub type UnixMicros = i64;

/// Where the engine reads the time. Tests move a [`ManualClock`] instead of sleeping.
pub trait Clock: Send + Sync + 'static {
    /// The current time in microseconds since the Unix epoch.
    fn now_micros(&self) -> UnixMicros;

    /// The current time in milliseconds since the Unix epoch.
    fn now(&self) -> UnixMillis {
        self.now_micros().div_euclid(1000)
    }
}

/// The operating system's wall clock, made strictly increasing within the process: two reads
/// never return the same microsecond, so two rotation events are never simultaneous.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

static LAST_SYSTEM_MICROS: AtomicI64 = AtomicI64::new(0);

fn wall_micros() -> UnixMicros {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Clock for SystemClock {
    fn now_micros(&self) -> UnixMicros {
        let wall = wall_micros();
        let previous = LAST_SYSTEM_MICROS
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(wall.max(last.saturating_add(1)))
            })
            .unwrap_or(wall);
        wall.max(previous.saturating_add(1))
    }

    /// Milliseconds need no tie-breaking (they date expiries, not rotation events), so they skip
    /// the process-wide counter: every verification reads the time, and a compare-and-swap on one
    /// shared word from every core costs more than the rest of a cached verification's checks.
    fn now(&self) -> UnixMillis {
        wall_micros().div_euclid(1000)
    }
}

/// A clock that only moves when told to.
///
/// ```
/// use std::time::Duration;
/// use tessera_core::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_000);
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now(), 3_000);
/// clock.advance(Duration::from_micros(1));
/// assert_eq!(clock.now_micros(), 3_000_001);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    now_micros: AtomicI64,
}

impl ManualClock {
    /// A clock that reads `start` (milliseconds) until it is moved.
    pub fn new(start: UnixMillis) -> Self {
        Self {
            now_micros: AtomicI64::new(start.saturating_mul(1000)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.now_micros.fetch_add(micros(by), Ordering::SeqCst);
    }

    /// Sets the clock to an absolute time in milliseconds.
    pub fn set(&self, to: UnixMillis) {
        self.now_micros
            .store(to.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_micros(&self) -> UnixMicros {
        self.now_micros.load(Ordering::SeqCst)
    }
}

/// A duration in whole milliseconds, saturating rather than wrapping for absurd values.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A duration in whole microseconds, saturating rather than wrapping for absurd values.
pub(crate) fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
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
            assert!(next > last, "{next} after {last}");
            last = next;
        }
    }
}
