//! The admin page's HTML, from askama templates in `templates/admin/` (escaped by default).

use std::time::Duration;

use askama::Template;
use tessera_core::{human_duration, KeyKind, SessionInfo, SigningKeyInfo, TheftReport, Timestamp};

use super::rates::RateChart;
use super::timeline;
use crate::operate::time;
use crate::picture::SessionPicture;

/// One page to render.
pub enum Page {
    Login(LoginPage),
    Dashboard(DashboardPage),
    Sessions(SessionsPage),
    Thefts(TheftsPage),
    Session(Box<SessionPage>),
    Refused(RefusedPage),
}

impl Page {
    pub fn login(error: Option<&'static str>) -> Self {
        Self::Login(LoginPage { error })
    }

    pub fn dashboard(
        chrome: Chrome,
        keys: Vec<KeyRow>,
        counters: Vec<Counter>,
        rates: Vec<RateChart>,
        thefts: Vec<TheftRow>,
        notice: Option<String>,
    ) -> Self {
        Self::Dashboard(DashboardPage {
            chrome,
            keys,
            counters,
            rates,
            thefts,
            notice,
        })
    }

    pub fn thefts(chrome: Chrome, user: Option<String>, thefts: Vec<TheftRow>) -> Self {
        Self::Thefts(TheftsPage {
            chrome,
            user,
            thefts,
        })
    }

    pub fn session(
        chrome: Chrome,
        handle: String,
        live: Option<(SessionRow, String)>,
        thefts: Vec<TheftRow>,
    ) -> Self {
        Self::Session(Box::new(SessionPage {
            chrome,
            handle,
            live,
            thefts,
        }))
    }

    pub fn sessions(
        chrome: Chrome,
        user: String,
        sessions: Vec<SessionRow>,
        notice: Option<String>,
    ) -> Self {
        Self::Sessions(SessionsPage {
            chrome,
            user,
            sessions,
            notice,
        })
    }

    pub fn refused(message: &'static str) -> Self {
        Self::Refused(RefusedPage { message })
    }

    pub fn render(&self) -> askama::Result<String> {
        match self {
            Self::Login(page) => page.render(),
            Self::Dashboard(page) => page.render(),
            Self::Sessions(page) => page.render(),
            Self::Thefts(page) => page.render(),
            Self::Session(page) => page.render(),
            Self::Refused(page) => page.render(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/login.html")]
pub struct LoginPage {
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
pub struct DashboardPage {
    chrome: Chrome,
    keys: Vec<KeyRow>,
    counters: Vec<Counter>,
    rates: Vec<RateChart>,
    thefts: Vec<TheftRow>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/thefts.html")]
pub struct TheftsPage {
    chrome: Chrome,
    user: Option<String>,
    thefts: Vec<TheftRow>,
}

/// One session: its live state and picture, and the pictures kept with its theft reports.
#[derive(Template)]
#[template(path = "admin/session.html")]
pub struct SessionPage {
    chrome: Chrome,
    handle: String,
    /// The live session and its timeline (SVG), if it is still live.
    live: Option<(SessionRow, String)>,
    thefts: Vec<TheftRow>,
}

#[derive(Template)]
#[template(path = "admin/sessions.html")]
pub struct SessionsPage {
    chrome: Chrome,
    user: String,
    sessions: Vec<SessionRow>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/refused.html")]
pub struct RefusedPage {
    message: &'static str,
}

/// What every signed-in page carries: its forms' anti-CSRF token, the app it is about and the
/// apps to pick from.
pub struct Chrome {
    pub csrf: String,
    pub app: String,
    pub apps: Vec<String>,
}

/// A time as the pages show it: readable to the minute (`6 Dec 2026 07:05 UTC`, never wrapped),
/// with the exact instant (RFC 3339, to the second) for `<time datetime>` and its title.
pub struct PageTime {
    iso: String,
    readable: String,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl PageTime {
    pub fn at(at: Timestamp) -> Self {
        let iso = time(at);
        let readable = readable(&iso).unwrap_or_else(|| iso.clone());
        Self { iso, readable }
    }
}

/// `2026-12-06T07:05:12Z` as `6 Dec 2026 07:05 UTC`; `None` for anything else.
fn readable(iso: &str) -> Option<String> {
    let (date, clock) = iso.strip_suffix('Z')?.split_once('T')?;
    let mut parts = date.splitn(3, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let month = MONTHS.get(month.parse::<usize>().ok()?.checked_sub(1)?)?;
    let day: u32 = day.parse().ok()?;
    let minute = clock.get(..5)?;
    Some(format!("{day} {month} {year} {minute} UTC"))
}

/// A signing key as the page shows it.
pub struct KeyRow {
    kid: String,
    algorithm: String,
    kind: &'static str,
    created: PageTime,
    expires: Option<PageTime>,
    in_use: bool,
}

impl From<SigningKeyInfo> for KeyRow {
    fn from(key: SigningKeyInfo) -> Self {
        Self {
            kid: key.kid,
            algorithm: key.algorithm,
            kind: match key.kind {
                KeyKind::Dynamic => "dynamic",
                KeyKind::Static => "static",
            },
            created: PageTime::at(key.created_at),
            expires: key.expires_at.map(PageTime::at),
            in_use: key.in_use,
        }
    }
}

/// A session as the page shows it.
pub struct SessionRow {
    pub handle: String,
    tenant: String,
    created: PageTime,
    last_refreshed: PageTime,
    expires: PageTime,
    data: String,
    /// The device key's thumbprint, or `None` for an unbound session.
    device_key: Option<String>,
}

impl SessionRow {
    /// `refresh_validity` dates the last refresh.
    pub fn new(info: SessionInfo, refresh_validity: Duration) -> Self {
        let last_refreshed = info.last_refreshed(refresh_validity);
        Self {
            created: PageTime::at(info.created_at),
            last_refreshed: PageTime::at(last_refreshed),
            expires: PageTime::at(info.expiry),
            data: info.session_data.to_string(),
            device_key: info.device_thumbprint.clone(),
            handle: info.handle,
            tenant: info.tenant_id,
        }
    }
}

/// A theft report as the pages show it, with its timeline (SVG) and the sentence that explains it.
pub struct TheftRow {
    pub id: i64,
    detected: PageTime,
    user: String,
    tenant: String,
    session: String,
    how: &'static str,
    dead_for: String,
    grace: String,
    revoked: bool,
    explanation: String,
    timeline: String,
}

impl From<&TheftReport> for TheftRow {
    fn from(report: &TheftReport) -> Self {
        let picture = SessionPicture::of_theft(report);
        Self {
            id: report.id,
            detected: PageTime::at(report.detected_at),
            user: report.user_id.clone(),
            tenant: report.tenant_id.clone(),
            session: report.session_handle.clone(),
            how: report.kind.label(),
            dead_for: report
                .dead_for()
                .map_or_else(|| "alive".to_owned(), human_duration),
            grace: human_duration(report.grace),
            revoked: report.revoked,
            explanation: report.explanation(),
            timeline: timeline::svg(
                &picture,
                &format!("Refresh tokens of session {}", report.session_handle),
            ),
        }
    }
}

/// A live counter.
pub struct Counter {
    name: &'static str,
    value: String,
}

impl Counter {
    pub fn new(name: &'static str, value: f64) -> Self {
        // Adding 0.0 turns a negative zero into zero: a counter never reads "-0".
        let value = value + 0.0;
        Self {
            name,
            value: format!("{value:.0}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Counter, PageTime, Timestamp};

    #[test]
    fn times_read_as_dates_and_keep_their_instant() {
        let t = PageTime::at(Timestamp::from_millis(1_796_022_312_000));
        assert_eq!(t.iso, "2026-11-30T07:05:12Z");
        assert_eq!(t.readable, "30 Nov 2026 07:05 UTC");
        let epoch = PageTime::at(Timestamp::EPOCH);
        assert_eq!(epoch.readable, "1 Jan 1970 00:00 UTC");
        // Before the epoch there is no calendar date to show: the number stays.
        assert_eq!(PageTime::at(Timestamp::from_millis(-5)).readable, "-5");
    }

    #[test]
    fn counters_never_read_minus_zero() {
        let empty: f64 = std::iter::empty::<f64>().sum();
        assert_eq!(Counter::new("none", empty).value, "0");
        assert_eq!(Counter::new("none", -0.0).value, "0");
        assert_eq!(Counter::new("some", 41.6).value, "42");
    }
}
