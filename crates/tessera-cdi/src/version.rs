//! The protocol versions Tessera speaks, and what each changes. Every version-dependent choice
//! of the server is a method here, so one file says how the versions differ.

use std::fmt;

/// A Core Driver Interface version, as sent in the `cdi-version` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CdiVersion {
    major: u8,
    minor: u8,
}

impl CdiVersion {
    /// The newest version: what a request without `cdi-version` gets.
    pub const LATEST: Self = Self::new(5, 4);

    /// Every version Tessera answers, oldest first: every version a released SuperTokens SDK
    /// speaks, from the 2020 drivers' 1.0 to 5.4.
    pub const SUPPORTED: [Self; 31] = [
        Self::new(1, 0),
        Self::new(2, 0),
        Self::new(2, 1),
        Self::new(2, 2),
        Self::new(2, 3),
        Self::new(2, 4),
        Self::new(2, 5),
        Self::new(2, 6),
        Self::new(2, 7),
        Self::new(2, 8),
        Self::new(2, 9),
        Self::new(2, 10),
        Self::new(2, 11),
        Self::new(2, 12),
        Self::new(2, 13),
        Self::new(2, 14),
        Self::new(2, 15),
        Self::new(2, 16),
        Self::new(2, 17),
        Self::new(2, 18),
        Self::new(2, 19),
        Self::new(2, 20),
        Self::new(2, 21),
        Self::new(3, 0),
        Self::new(3, 1),
        Self::new(4, 0),
        Self::new(5, 0),
        Self::new(5, 1),
        Self::new(5, 2),
        Self::new(5, 3),
        Self::LATEST,
    ];

    const fn new(major: u8, minor: u8) -> Self {
        Self { major, minor }
    }

    /// A supported version from its header text (`"5.4"`, or `"5.4.0"`); `None` for any other.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
        if parts.any(|patch| patch != "0") {
            return None;
        }
        let version = Self::new(major, minor);
        Self::SUPPORTED.contains(&version).then_some(version)
    }

    /// Whether sessions belong to tenants (from 3.0), which access tokens then name (`tId`).
    pub fn has_tenants(self) -> bool {
        self >= Self::new(3, 0)
    }

    /// Whether users are recipe users (from 4.0), which access tokens then name (`rsub`).
    pub fn has_recipe_users(self) -> bool {
        self >= Self::new(4, 0)
    }

    /// Whether SDKs of this version verify with keys handed to them (`/handshake` and the key
    /// fields of create and verify replies) rather than with the JWKS, and expect an
    /// `idRefreshToken` with each session's tokens.
    pub fn has_handshake(self) -> bool {
        self < JWKS_ERA
    }

    /// Whether replies carry the whole key list (`jwtSigningPublicKeyList`, 2.9 to 2.20).
    pub fn has_key_list(self) -> bool {
        self >= Self::new(2, 9) && self.has_handshake()
    }

    /// Whether a verification's `TRY_REFRESH_TOKEN` carries the keys too (2.7 to 2.20).
    pub fn try_refresh_has_keys(self) -> bool {
        self >= Self::new(2, 7) && self.has_handshake()
    }

    /// Whether tokens carry their cookie's attributes (`cookiePath`, `cookieSecure`, `domain`;
    /// the driver sets the cookies as told), as before 2.4.
    pub fn has_cookie_fields(self) -> bool {
        self < Self::new(2, 4)
    }

    /// Whether the cookie attributes include `sameSite` (2.0 to 2.3).
    pub fn has_same_site(self) -> bool {
        self >= Self::new(2, 0) && self.has_cookie_fields()
    }

    /// Whether the handshake still carries the anti-CSRF setting (before 2.6, when it moved to
    /// each request's `enableAntiCsrf`).
    pub fn handshake_has_anti_csrf(self) -> bool {
        self < Self::new(2, 6)
    }

    /// Whether the handshake carries the token lifetimes instead of the cookie settings (2.4 on).
    pub fn handshake_has_validities(self) -> bool {
        self >= Self::new(2, 4)
    }
}

/// The version that brought JWKS-verified access tokens and retired the handshake.
const JWKS_ERA: CdiVersion = CdiVersion::new(2, 21);

impl Default for CdiVersion {
    fn default() -> Self {
        Self::LATEST
    }
}

impl fmt::Display for CdiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_map_to_token_layouts() {
        assert_eq!(CdiVersion::parse("5.4"), Some(CdiVersion::LATEST));
        assert_eq!(CdiVersion::parse(" 3.0.0"), Some(CdiVersion::new(3, 0)));
        assert_eq!(CdiVersion::parse("3"), Some(CdiVersion::new(3, 0)));
        for unknown in ["", "5.5", "2.22", "1.1", "5.4.1", "x.y", "5.-1", "256.0"] {
            assert_eq!(CdiVersion::parse(unknown), None, "{unknown}");
        }
        let listed: Vec<String> = CdiVersion::SUPPORTED
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(listed.first().map(String::as_str), Some("1.0"));
        assert_eq!(listed.last().map(String::as_str), Some("5.4"));
        assert!(CdiVersion::SUPPORTED.windows(2).all(|w| w[0] < w[1]));
    }
}
