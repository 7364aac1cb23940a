//! The access-token layouts Tessera mints. SuperTokens changed its access token's claims over the
//! years and each SDK release understands the layouts up to its own; the server mints the one a
//! request's protocol version implies. Verification takes every layout listed here.

/// An access-token layout, by SuperTokens' version number (the header's `version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum AccessTokenVersion {
    /// SuperTokens' first layout: fixed header, standard base64, times in milliseconds, custom
    /// claims under `userData`; verified by SDKs with the key from `/handshake`.
    V1,
    /// V1 with the header's version 2 (what cores minted for every version before 2.21).
    V2,
    /// Standard JWT claims (`sub`, `exp`, `iat` in seconds) with a `kid`, no tenant.
    V3,
    /// V3 and the tenant (`tId`).
    V4,
    /// V4 and the recipe user (`rsub`): the current layout.
    #[default]
    V5,
}

impl AccessTokenVersion {
    /// The header's `version` value.
    pub fn header_value(self) -> &'static str {
        match self {
            Self::V1 => "1",
            Self::V2 => "2",
            Self::V3 => "3",
            Self::V4 => "4",
            Self::V5 => "5",
        }
    }

    /// The layout a header's `version` names, if Tessera reads it.
    pub fn from_header_value(value: &str) -> Option<Self> {
        match value {
            "3" => Some(Self::V3),
            "4" => Some(Self::V4),
            "5" => Some(Self::V5),
            _ => None,
        }
    }

    /// Whether this is one of the layouts before JWT key ids (V1, V2).
    pub fn is_legacy(self) -> bool {
        self <= Self::V2
    }

    /// Whether tokens of this layout carry the tenant (`tId`).
    pub fn has_tenant(self) -> bool {
        self >= Self::V4
    }

    /// Whether tokens of this layout carry the recipe user (`rsub`).
    pub fn has_recipe_user(self) -> bool {
        self >= Self::V5
    }
}
