//! Settings of the HTTP layer: paths, cookie attributes, status codes and the anti-CSRF mode.
//!
//! The defaults are what the SuperTokens frontend SDK assumes when initialised with nothing but
//! `apiDomain`, so a default backend works unchanged.

use http::StatusCode;

use crate::html_refresh::HtmlRefresh;

/// The `SameSite` attribute of the session cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// Sent on top-level navigations from other sites only; enough CSRF protection for same-site apps.
    #[default]
    Lax,
    /// Never sent on cross-site requests.
    Strict,
    /// Sent everywhere: needed when the website and the API are on different sites. Needs `Secure`
    /// and an anti-CSRF mode.
    None,
}

/// How requests that carry session cookies prove they come from the website, not a forged form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AntiCsrfMode {
    /// The session carries a random token that the client echoes in the `anti-csrf` header on
    /// every non-GET request and on refresh.
    ViaToken,
    /// Non-GET requests and refresh need a `rid` header: a cross-site form cannot set one, and a
    /// cross-site `fetch` that does is stopped by the CORS preflight.
    ViaCustomHeader,
    /// No check: SameSite cookies are the protection.
    None,
}

/// Device-bound sessions (DBSC): browsers that support them keep a key they cannot export and
/// prove possession of it to renew a short-lived access-token cookie (see docs/device-binding.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceBindingConfig {
    cookie_lifetime: std::time::Duration,
}

impl Default for DeviceBindingConfig {
    fn default() -> Self {
        Self {
            cookie_lifetime: std::time::Duration::from_secs(10 * 60),
        }
    }
}

impl DeviceBindingConfig {
    /// How long the bound access-token cookie lives before the browser renews it with a proof
    /// (default 10 minutes; never longer than the access token itself). Chromium renews it
    /// two minutes before it expires and signs at most six proofs per nine minutes per site,
    /// so lifetimes under four minutes make it renew on nearly every request.
    pub fn with_cookie_lifetime(mut self, lifetime: std::time::Duration) -> Self {
        self.cookie_lifetime = lifetime;
        self
    }

    /// The bound cookie's lifetime.
    pub fn cookie_lifetime(&self) -> std::time::Duration {
        self.cookie_lifetime
    }
}

/// Settings of a [`Tessera`](crate::Tessera) HTTP layer.
#[derive(Debug, Clone)]
pub struct SessionLayerConfig {
    api_base_path: String,
    cookie_domain: Option<String>,
    cookie_secure: bool,
    same_site: SameSite,
    session_expired_status: StatusCode,
    anti_csrf: Option<AntiCsrfMode>,
    check_database: bool,
    html_refresh: Option<HtmlRefresh>,
    device_binding: Option<DeviceBindingConfig>,
}

impl Default for SessionLayerConfig {
    fn default() -> Self {
        Self {
            api_base_path: "/auth".to_owned(),
            cookie_domain: None,
            cookie_secure: false,
            same_site: SameSite::Lax,
            session_expired_status: StatusCode::UNAUTHORIZED,
            anti_csrf: None,
            check_database: false,
            html_refresh: None,
            device_binding: None,
        }
    }
}

impl SessionLayerConfig {
    /// Where the session routes live (default `/auth`, the SDK's `apiBasePath` default). A
    /// trailing slash is dropped; `/` means the routes sit at the root.
    pub fn with_api_base_path(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        let trimmed = path.trim_end_matches('/');
        self.api_base_path = if trimmed.starts_with('/') || trimmed.is_empty() {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// The `Domain` attribute of the session cookies (default none: host-only cookies).
    pub fn with_cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.cookie_domain = Some(domain.into());
        self
    }

    /// Whether the cookies are `Secure` (default false; set it for https deployments).
    pub fn with_cookie_secure(mut self, secure: bool) -> Self {
        self.cookie_secure = secure;
        self
    }

    /// The `SameSite` attribute (default `Lax`).
    pub fn with_same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// The status that tells the frontend to refresh (default 401; 440 for the 2020 SDKs, which
    /// must then be initialised with `sessionExpiredStatusCode: 440`).
    pub fn with_session_expired_status(mut self, status: StatusCode) -> Self {
        self.session_expired_status = status;
        self
    }

    /// Chooses the anti-CSRF mode instead of the default derived from `SameSite`.
    pub fn with_anti_csrf(mut self, mode: AntiCsrfMode) -> Self {
        self.anti_csrf = Some(mode);
        self
    }

    /// Whether the extractor also asks the store that the session still exists (default false,
    /// as node's `checkDatabase`). Off, verification costs no store read: a session revoked
    /// through this process is refused at once, one revoked by another process once a
    /// revocation follower has read the log (crate docs); on, every request reads the store.
    pub fn with_check_database(mut self, check: bool) -> Self {
        self.check_database = check;
        self
    }

    /// Answers a browser navigating to a protected page with an expired access token with a
    /// page that refreshes the session and reloads (default off: every rejection is JSON).
    pub fn with_html_refresh(mut self, page: HtmlRefresh) -> Self {
        self.html_refresh = Some(page);
        self
    }

    /// Offers browsers device-bound sessions (default off). Sign-in responses then carry a DBSC
    /// registration header, and each adapter mounts the registration and device-refresh routes
    /// ([`Tessera::register_device`](crate::Tessera::register_device),
    /// [`Tessera::refresh_device`](crate::Tessera::refresh_device)) under the refresh path. Needs HTTPS (`Secure` cookies). Browsers
    /// without DBSC keep unbound sessions, as with the setting off.
    pub fn with_device_binding(mut self, binding: DeviceBindingConfig) -> Self {
        self.device_binding = Some(binding);
        self
    }

    /// Device binding, if offered.
    pub fn device_binding(&self) -> Option<&DeviceBindingConfig> {
        self.device_binding.as_ref()
    }

    /// `{refresh path}/device/register`: where a browser registers its device key. Under the
    /// refresh path, so the refresh-token cookie comes with the request.
    pub fn device_registration_path(&self) -> String {
        format!("{}/device/register", self.refresh_path())
    }

    /// `{refresh path}/device`: where a browser renews a bound session with a proof.
    pub fn device_refresh_path(&self) -> String {
        format!("{}/device", self.refresh_path())
    }

    /// The refresh page for navigations, if enabled.
    pub fn html_refresh(&self) -> Option<&HtmlRefresh> {
        self.html_refresh.as_ref()
    }

    /// Whether protected routes read the store.
    pub fn check_database(&self) -> bool {
        self.check_database
    }

    /// The base path, without a trailing slash (empty for the root).
    pub fn api_base_path(&self) -> &str {
        &self.api_base_path
    }

    /// `{base}/session/refresh`: the refresh route, and the only path the refresh cookie is sent to.
    pub fn refresh_path(&self) -> String {
        format!("{}/session/refresh", self.api_base_path)
    }

    /// `{base}/signout`.
    pub fn signout_path(&self) -> String {
        format!("{}/signout", self.api_base_path)
    }

    /// The cookie domain, if any.
    pub fn cookie_domain(&self) -> Option<&str> {
        self.cookie_domain.as_deref()
    }

    /// Whether cookies are `Secure`.
    pub fn cookie_secure(&self) -> bool {
        self.cookie_secure
    }

    /// The `SameSite` attribute.
    pub fn same_site(&self) -> SameSite {
        self.same_site
    }

    /// The session-expired status.
    pub fn session_expired_status(&self) -> StatusCode {
        self.session_expired_status
    }

    /// The anti-CSRF mode in force. Unless chosen, it follows node's rule: cookies sent
    /// cross-site (`SameSite=None`) need the custom-header check, `Lax`/`Strict` need none.
    pub fn anti_csrf(&self) -> AntiCsrfMode {
        self.anti_csrf.unwrap_or(match self.same_site {
            SameSite::None => AntiCsrfMode::ViaCustomHeader,
            SameSite::Lax | SameSite::Strict => AntiCsrfMode::None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anti_csrf_default_follows_same_site() {
        let lax = SessionLayerConfig::default();
        assert_eq!(lax.anti_csrf(), AntiCsrfMode::None);
        let none = SessionLayerConfig::default().with_same_site(SameSite::None);
        assert_eq!(none.anti_csrf(), AntiCsrfMode::ViaCustomHeader);
        let chosen = none.with_anti_csrf(AntiCsrfMode::ViaToken);
        assert_eq!(chosen.anti_csrf(), AntiCsrfMode::ViaToken);
    }

    #[test]
    fn base_path_is_normalised() {
        let c = SessionLayerConfig::default().with_api_base_path("api/auth/");
        assert_eq!(c.api_base_path(), "/api/auth");
        assert_eq!(c.refresh_path(), "/api/auth/session/refresh");
        assert_eq!(c.signout_path(), "/api/auth/signout");
    }
}
