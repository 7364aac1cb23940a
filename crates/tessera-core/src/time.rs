//! Instants, in one unit.
//!
//! Every time the engine handles is a [`Timestamp`]: microseconds since the Unix epoch inside,
//! whatever unit it came in or goes out in. Units appear only at the edges (JWT claims in seconds,
//! the wire and session columns in milliseconds, token columns in microseconds), each through a
//! named conversion, so mixing them up does not compile. Lengths of time are
//! [`std::time::Duration`].

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// An instant, to the microsecond, since the Unix epoch (UTC).
///
/// It has no serde implementation of its own: every format names its unit, through
/// [`as_micros`](Self::as_micros) and its siblings or the [`micros`] and [`optional_micros`]
/// field adapters, so that an instant never reaches JSON in a unit the reader does not expect.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    micros: i64,
}

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: Self = Self { micros: 0 };

    /// The earliest instant representable (a bound for "any time").
    pub const MIN: Self = Self { micros: i64::MIN };

    /// The latest instant representable (a bound for "never").
    pub const MAX: Self = Self { micros: i64::MAX };

    /// The instant `micros` microseconds after the epoch.
    pub const fn from_micros(micros: i64) -> Self {
        Self { micros }
    }

    /// The instant `millis` milliseconds after the epoch (saturating at the ends of the range).
    pub const fn from_millis(millis: i64) -> Self {
        Self {
            micros: millis.saturating_mul(1_000),
        }
    }

    /// The instant `secs` seconds after the epoch (saturating at the ends of the range).
    pub const fn from_secs(secs: i64) -> Self {
        Self {
            micros: secs.saturating_mul(1_000_000),
        }
    }

    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> i64 {
        self.micros
    }

    /// Whole milliseconds since the epoch (rounded down, also before the epoch).
    pub const fn as_millis(self) -> i64 {
        self.micros.div_euclid(1_000)
    }

    /// Whole seconds since the epoch (rounded down, also before the epoch).
    pub const fn as_secs(self) -> i64 {
        self.micros.div_euclid(1_000_000)
    }

    /// This instant without its microseconds below the millisecond: what a milliseconds column
    /// gives back.
    pub const fn whole_millis(self) -> Self {
        Self::from_millis(self.as_millis())
    }

    /// `by` later, saturating at the end of the range.
    pub fn saturating_add(self, by: Duration) -> Self {
        Self {
            micros: self.micros.saturating_add(duration_micros(by)),
        }
    }

    /// `by` earlier, saturating at the start of the range.
    pub fn saturating_sub(self, by: Duration) -> Self {
        Self {
            micros: self.micros.saturating_sub(duration_micros(by)),
        }
    }

    /// How long after `earlier` this is; zero if it is not after it.
    pub fn since(self, earlier: Self) -> Duration {
        let micros = self.micros.saturating_sub(earlier.micros);
        Duration::from_micros(u64::try_from(micros).unwrap_or(0))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Self;

    /// Saturating: an absurd validity gives "never", not a wrapped instant in the past.
    fn add(self, by: Duration) -> Self {
        self.saturating_add(by)
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Self;

    fn sub(self, by: Duration) -> Self {
        self.saturating_sub(by)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({}µs)", self.micros)
    }
}

/// A length of time in whole microseconds, saturating rather than wrapping for absurd values: for
/// columns that count in microseconds.
pub fn duration_micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// A length of time in whole milliseconds, saturating: for the wire and configuration, which
/// count in milliseconds.
pub fn duration_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Serde adapter for an instant written as microseconds since the epoch
/// (`#[serde(with = "tessera_core::time::micros")]`).
pub mod micros {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Timestamp;

    /// Writes the microseconds.
    pub fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(at.as_micros())
    }

    /// Reads microseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        i64::deserialize(deserializer).map(Timestamp::from_micros)
    }
}

/// [`micros`] for an optional instant (`null` for none).
pub mod optional_micros {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Timestamp;

    /// Writes the microseconds, or `null`.
    pub fn serialize<S: Serializer>(
        at: &Option<Timestamp>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => serializer.serialize_some(&at.as_micros()),
            None => serializer.serialize_none(),
        }
    }

    /// Reads microseconds or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        Option::<i64>::deserialize(deserializer).map(|at| at.map(Timestamp::from_micros))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_meet_only_through_conversions() {
        let at = Timestamp::from_millis(1_500);
        assert_eq!(at.as_micros(), 1_500_000);
        assert_eq!(at.as_secs(), 1);
        assert_eq!(Timestamp::from_secs(2), Timestamp::from_millis(2_000));
        assert_eq!(
            Timestamp::from_micros(-1).as_millis(),
            -1,
            "rounds down before the epoch"
        );
        assert_eq!(
            Timestamp::from_micros(1_999).whole_millis(),
            Timestamp::from_millis(1)
        );
    }

    #[test]
    fn arithmetic_saturates_and_never_goes_negative() {
        assert_eq!(Timestamp::MAX + Duration::from_secs(1), Timestamp::MAX);
        assert_eq!(Timestamp::MIN - Duration::from_secs(1), Timestamp::MIN);
        assert_eq!(Timestamp::MAX + Duration::MAX, Timestamp::MAX);
        let early = Timestamp::from_millis(1_000);
        let late = early + Duration::from_micros(250);
        assert_eq!(late.since(early), Duration::from_micros(250));
        assert_eq!(early.since(late), Duration::ZERO);
    }

    #[test]
    fn the_field_adapters_write_microseconds() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Event {
            #[serde(with = "micros")]
            at: Timestamp,
            #[serde(with = "optional_micros")]
            until: Option<Timestamp>,
        }
        let event = Event {
            at: Timestamp::from_micros(1_234_567),
            until: None,
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(json, r#"{"at":1234567,"until":null}"#);
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
    }
}
