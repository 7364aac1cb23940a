//! What the server counts per app: sessions created, refreshes, verifications and thefts. Each
//! event increments its Prometheus counter, labelled with the app, and the app's per-minute
//! history of the last hour, which the admin page draws as small charts.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tessera_core::{Clock, Timestamp};

/// The minutes of history kept per app.
pub const MINUTES: usize = 60;
const MINUTE_MS: i64 = 60_000;
/// Apps whose history is kept; events of further apps are only counted in Prometheus. Apps exist
/// only once created through the API, so this is a guard, not a limit anyone should reach.
const MAX_APPS: usize = 10_000;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A session was created.
    Created,
    /// A refresh was answered (any outcome).
    Refreshed,
    /// A verification was answered (any outcome).
    Verified,
    /// A theft was detected.
    Theft,
}

impl Event {
    /// Every event, in the order the charts show them.
    pub const ALL: [Self; 4] = [Self::Created, Self::Refreshed, Self::Verified, Self::Theft];

    fn index(self) -> usize {
        match self {
            Self::Created => 0,
            Self::Refreshed => 1,
            Self::Verified => 2,
            Self::Theft => 3,
        }
    }

    /// The chart's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Created => "sessions created",
            Self::Refreshed => "refreshes",
            Self::Verified => "verifications",
            Self::Theft => "thefts detected",
        }
    }
}

/// One minute's counts.
#[derive(Debug, Clone, Copy)]
struct Minute {
    /// Minutes since the epoch.
    at: i64,
    counts: [u64; 4],
}

#[derive(Debug, Default)]
struct History {
    minutes: VecDeque<Minute>,
    totals: [u64; 4],
}

/// Every app's history, kept by this server process.
pub struct ActivityLog {
    apps: Mutex<HashMap<String, History>>,
    clock: Arc<dyn Clock>,
}

/// One app's counts: per minute over the last hour (oldest first, the current minute last) and
/// since the process started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppActivity {
    pub per_minute: [[u64; MINUTES]; 4],
    pub totals: [u64; 4],
}

impl ActivityLog {
    /// An empty log reading time from the process's clock.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            apps: Mutex::new(HashMap::new()),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, History>> {
        self.apps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records one event of `app`.
    pub fn record(&self, app: &str, event: Event) {
        let minute = self.clock.now().as_millis().div_euclid(MINUTE_MS);
        let mut apps = self.lock();
        if !apps.contains_key(app) && apps.len() >= MAX_APPS {
            return;
        }
        let history = apps.entry(app.to_owned()).or_default();
        history.totals[event.index()] += 1;
        if history.minutes.back().is_none_or(|last| last.at != minute) {
            history.minutes.push_back(Minute {
                at: minute,
                counts: [0; 4],
            });
        }
        while history
            .minutes
            .front()
            .is_some_and(|first| first.at <= minute - MINUTES as i64)
        {
            history.minutes.pop_front();
        }
        if let Some(current) = history.minutes.back_mut() {
            current.counts[event.index()] += 1;
        }
    }

    /// `app`'s counts as of now.
    pub fn app(&self, app: &str) -> AppActivity {
        self.app_at(app, self.clock.now())
    }

    fn app_at(&self, app: &str, now: Timestamp) -> AppActivity {
        let minute = now.as_millis().div_euclid(MINUTE_MS);
        let apps = self.lock();
        let mut activity = AppActivity {
            per_minute: [[0; MINUTES]; 4],
            totals: [0; 4],
        };
        let Some(history) = apps.get(app) else {
            return activity;
        };
        activity.totals = history.totals;
        for entry in &history.minutes {
            let age = minute - entry.at;
            if (0..MINUTES as i64).contains(&age) {
                let slot = MINUTES - 1 - age as usize;
                for (series, count) in activity.per_minute.iter_mut().zip(entry.counts) {
                    series[slot] = count;
                }
            }
        }
        activity
    }
}

/// What a handler counts with: the app its request is addressed to (`/appid-<app>/…`, else
/// `public`; an extractor, implemented beside the server's other extractors). Nothing is
/// recorded until the handler says what happened, so a request for an unknown app (which the
/// app extractor refuses) leaves no trace.
pub struct Counted {
    app: String,
    log: Arc<ActivityLog>,
}

impl Counted {
    /// Counts events of `app` into `log`.
    pub fn new(app: String, log: Arc<ActivityLog>) -> Self {
        Self { app, log }
    }

    /// Counts an event, with the outcome label where Prometheus has one.
    pub fn event(&self, event: Event, outcome: Option<&'static str>) {
        let app = self.app.clone();
        match (event, outcome) {
            (Event::Created, _) => {
                metrics::counter!("tessera_sessions_created_total", "app" => app).increment(1);
            }
            (Event::Refreshed, outcome) => metrics::counter!(
                "tessera_session_refreshes_total",
                "app" => app,
                "outcome" => outcome.unwrap_or("ok")
            )
            .increment(1),
            (Event::Verified, outcome) => metrics::counter!(
                "tessera_session_verifications_total",
                "app" => app,
                "outcome" => outcome.unwrap_or("ok")
            )
            .increment(1),
            (Event::Theft, _) => {
                metrics::counter!("tessera_token_theft_detected_total", "app" => app).increment(1);
            }
        }
        self.log.record(&self.app, event);
    }
}

#[cfg(test)]
mod tests {
    use tessera_core::ManualClock;

    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_796_000_000_000 - 1_796_000_000_000 % MINUTE_MS);

    #[test]
    fn minutes_fill_their_slots_and_age_out_after_an_hour() {
        let clock = Arc::new(ManualClock::new(T0));
        let log = ActivityLog::new(Arc::clone(&clock) as Arc<dyn Clock>);
        log.record("a", Event::Refreshed);
        log.record("a", Event::Refreshed);
        log.record("b", Event::Theft);
        clock.advance(std::time::Duration::from_secs(90));
        log.record("a", Event::Theft);
        let now = log.app("a");
        assert_eq!(now.per_minute[1][MINUTES - 2], 2);
        assert_eq!(now.per_minute[3][MINUTES - 1], 1);
        assert_eq!(now.totals, [0, 2, 0, 1]);
        assert_eq!(log.app("b").totals, [0, 0, 0, 1]);
        assert_eq!(log.app("nobody"), log.app("nobody2"));
        // An hour later the refreshes have left the chart but not the totals.
        clock.advance(std::time::Duration::from_secs(59 * 60));
        let later = log.app("a");
        assert_eq!(later.per_minute[1].iter().sum::<u64>(), 0);
        assert_eq!(later.per_minute[3][0], 1);
        assert_eq!(later.totals, [0, 2, 0, 1]);
        log.record("a", Event::Created);
        assert!(log.lock()["a"].minutes.len() <= MINUTES);
    }
}
