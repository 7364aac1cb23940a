//! Who may use the admin page: a signed-in cookie, an anti-CSRF token on every form, and no
//! cross-site requests.
//!
//! Nothing is kept in memory: the cookie is `<expiry ms>.<HMAC(admin key, expiry)>` and the form
//! token `HMAC(admin key, cookie)`, so every server configured with the same admin key accepts
//! them (one behind a load balancer as well as several), and changing the key signs everyone out.

use std::time::Duration;

use aws_lc_rs::hmac;
use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use tessera_core::Timestamp;

/// The admin cookie's name.
pub const COOKIE: &str = "tessera_admin";
/// How long a sign-in lasts.
pub const SIGN_IN_LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// The configured admin key, ready to sign and check.
pub struct AdminKey {
    key: String,
    mac: hmac::Key,
}

impl AdminKey {
    /// Wraps the configured key.
    pub fn new(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            mac: hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()),
        }
    }

    /// Whether `presented` is the admin key, compared in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        tessera_core::constant_time_eq(presented, &self.key)
    }

    fn tag(&self, purpose: &str, message: &str) -> String {
        let tag = hmac::sign(&self.mac, format!("{purpose}:{message}").as_bytes());
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    fn verify(&self, purpose: &str, message: &str, tag: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        hmac::verify(&self.mac, format!("{purpose}:{message}").as_bytes(), &tag).is_ok()
    }

    /// A new sign-in cookie value, valid for eight hours from `now`.
    pub fn sign_in(&self, now: Timestamp) -> String {
        // Milliseconds in the cookie.
        let expiry = (now + SIGN_IN_LIFETIME).as_millis().to_string();
        let tag = self.tag("admin-session", &expiry);
        format!("{expiry}.{tag}")
    }

    /// Whether a cookie value is a sign-in of this key that has not expired.
    pub fn signed_in(&self, cookie: &str, now: Timestamp) -> bool {
        let Some((expiry, tag)) = cookie.split_once('.') else {
            return false;
        };
        let Ok(expires_at) = expiry.parse::<i64>() else {
            return false;
        };
        Timestamp::from_millis(expires_at) > now && self.verify("admin-session", expiry, tag)
    }

    /// The anti-CSRF token for forms shown to the holder of this sign-in cookie.
    pub fn form_token(&self, cookie: &str) -> String {
        self.tag("admin-form", cookie)
    }

    /// Whether a submitted form token belongs to this sign-in cookie.
    pub fn form_token_matches(&self, cookie: &str, token: &str) -> bool {
        self.verify("admin-form", cookie, token)
    }
}

/// The admin cookie's value, if the request carries one.
pub fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_owned())
}

/// Whether a state-changing request comes from another site. Browsers say so in
/// `Sec-Fetch-Site`, and in `Origin` on every form post; a request with neither is not a browser
/// on another site (a forged form always carries `Origin`).
pub fn is_cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return true;
        }
    }
    match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (None, _) => false,
        (Some(origin), Some(host)) => {
            let origin = origin.to_str().unwrap_or_default();
            let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
            authority != host.to_str().unwrap_or_default()
        }
        (Some(_), None) => true,
    }
}

/// `Set-Cookie` for a sign-in: HttpOnly (no script reads it), SameSite=Strict (no other site's
/// page sends it), scoped to the admin pages.
pub fn set_cookie(value: &str) -> String {
    format!(
        "{COOKIE}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}",
        SIGN_IN_LIFETIME.as_secs()
    )
}

/// `Set-Cookie` that signs out.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_ins_and_form_tokens_belong_to_one_key_and_expire() {
        let key = AdminKey::new("a-long-admin-key-for-tests");
        let other = AdminKey::new("another-long-admin-key");
        let at = Timestamp::from_millis;
        let cookie = key.sign_in(at(1_000));
        assert!(key.signed_in(&cookie, at(1_001)));
        assert!(!other.signed_in(&cookie, at(1_001)));
        assert!(!key.signed_in(&cookie, at(1_000) + SIGN_IN_LIFETIME));
        let (expiry, tag) = cookie.split_once('.').unwrap();
        let later: i64 = expiry.parse::<i64>().unwrap() + 1_000_000;
        assert!(
            !key.signed_in(&format!("{later}.{tag}"), at(1_001)),
            "expiry is signed"
        );
        for forged in ["", ".", "x.y", "1.", &format!("{expiry}.")] {
            assert!(!key.signed_in(forged, Timestamp::EPOCH), "{forged:?}");
        }
        let token = key.form_token(&cookie);
        assert!(key.form_token_matches(&cookie, &token));
        assert!(!key.form_token_matches(&key.sign_in(at(2_000)), &token));
        assert!(!other.form_token_matches(&cookie, &token));
        assert!(!key.form_token_matches(&cookie, ""));
        assert!(key.matches("a-long-admin-key-for-tests"));
        assert!(!key.matches("a-long-admin-key-for-test"));
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, value.parse().unwrap());
            }
            map
        };
        assert!(!is_cross_site(&headers(&[("host", "127.0.0.1:3567")])));
        assert!(!is_cross_site(&headers(&[
            ("host", "127.0.0.1:3567"),
            ("origin", "http://127.0.0.1:3567"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(is_cross_site(&headers(&[
            ("host", "127.0.0.1:3567"),
            ("origin", "http://evil.example"),
        ])));
        assert!(is_cross_site(&headers(&[
            ("host", "127.0.0.1:3567"),
            ("sec-fetch-site", "cross-site"),
        ])));
        assert!(is_cross_site(&headers(&[
            ("host", "127.0.0.1:3567"),
            ("origin", "null"),
        ])));
        assert!(is_cross_site(&headers(&[
            ("host", "127.0.0.1:3567"),
            ("sec-fetch-site", "same-site"),
        ])));
    }
}
