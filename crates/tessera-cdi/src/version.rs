//! The protocol versions Tessera speaks, and what each changes. Every version-dependent choice
//! of the server is a method here, so one file says how the versions differ.

use std::fmt;

use tessera_core::AccessTokenVersion;

/// A Core Driver Interface version, as sent in the `cdi-version` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CdiVersion {
    major: u8,
    minor: u8,
}

impl CdiVersion {
    /// The newest version: what a request without `cdi-version` gets.
    pub const LATEST: Self = Self::new(5, 4);

    /// Every version Tessera answers, oldest first: those of the SuperTokens SDK releases that
    /// verify access tokens with the JWKS (supertokens-node 14 and later, supertokens-python
    /// 0.14 and later).
    pub const SUPPORTED: [Self; 9] = [
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

    /// The access-token layout created and refreshed sessions get: the newest one the SDKs of
    /// this version can read (2.21 introduced JWKS-verified tokens, 3.0 tenants, 4.0 recipe
    /// users).
    pub fn access_token_version(self) -> AccessTokenVersion {
        if self >= Self::new(4, 0) {
            AccessTokenVersion::V5
        } else if self >= Self::new(3, 0) {
            AccessTokenVersion::V4
        } else {
            AccessTokenVersion::V3
        }
    }
}

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
        for unknown in ["", "5.5", "2.20", "1.0", "5.4.1", "x.y", "5.-1", "256.0"] {
            assert_eq!(CdiVersion::parse(unknown), None, "{unknown}");
        }
        let layout = |text| CdiVersion::parse(text).unwrap().access_token_version();
        assert_eq!(layout("2.21"), AccessTokenVersion::V3);
        assert_eq!(layout("3.1"), AccessTokenVersion::V4);
        assert_eq!(layout("4.0"), AccessTokenVersion::V5);
        assert_eq!(layout("5.4"), AccessTokenVersion::V5);
        let listed: Vec<String> = CdiVersion::SUPPORTED
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(listed.first().map(String::as_str), Some("2.21"));
        assert_eq!(listed.last().map(String::as_str), Some("5.4"));
        assert!(CdiVersion::SUPPORTED.windows(2).all(|w| w[0] < w[1]));
    }
}
