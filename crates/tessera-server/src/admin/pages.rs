//! The admin page's HTML, from askama templates in `templates/admin/` (escaped by default).

use askama::Template;
use tessera_core::{KeyKind, SessionInfo, SigningKeyInfo};

use crate::operate::time;

/// One page to render.
pub enum Page {
    Login(LoginPage),
    Dashboard(DashboardPage),
    Sessions(SessionsPage),
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
        notice: Option<String>,
    ) -> Self {
        Self::Dashboard(DashboardPage {
            chrome,
            keys,
            counters,
            notice,
        })
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
    notice: Option<String>,
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

/// A signing key as the page shows it.
pub struct KeyRow {
    kid: String,
    algorithm: String,
    kind: &'static str,
    created: String,
    expires: String,
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
            created: time(key.created_at),
            expires: key.expires_at.map_or_else(|| "never".to_owned(), time),
            in_use: key.in_use,
        }
    }
}

/// A session as the page shows it.
pub struct SessionRow {
    pub handle: String,
    pub created_ms: i64,
    tenant: String,
    created: String,
    last_refreshed: String,
    expires: String,
    data: String,
}

impl SessionRow {
    /// `refresh_validity_ms` dates the last refresh: each one sets the expiry a full validity out.
    pub fn new(info: SessionInfo, refresh_validity_ms: i64) -> Self {
        let last_refreshed = info
            .expiry
            .saturating_sub(refresh_validity_ms)
            .max(info.created_at);
        Self {
            created: time(info.created_at),
            last_refreshed: time(last_refreshed),
            expires: time(info.expiry),
            data: info.session_data.to_string(),
            created_ms: info.created_at,
            handle: info.handle,
            tenant: info.tenant_id,
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
    use super::Counter;

    #[test]
    fn counters_never_read_minus_zero() {
        let empty: f64 = std::iter::empty::<f64>().sum();
        assert_eq!(Counter::new("none", empty).value, "0");
        assert_eq!(Counter::new("none", -0.0).value, "0");
        assert_eq!(Counter::new("some", 41.6).value, "42");
    }
}
