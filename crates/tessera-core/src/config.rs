//! Engine settings. Defaults follow SuperTokens core.

use std::time::Duration;

/// Signature algorithm for access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over a 2048-bit key: what every SuperTokens SDK verifies.
    Rs256,
    /// Ed25519: far cheaper to sign, for deployments where no SuperTokens SDK verifies the token.
    EdDsa,
}

impl SigningAlgorithm {
    /// The JOSE `alg` name.
    pub fn jose_name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Parses a JOSE `alg` name; `None` for anything Tessera does not sign with (including `none`).
    pub fn from_jose_name(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }
}

/// Which family of keys signs a new session's access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// Keys rotated every [`SessionConfig::signing_key_update_interval`]; `kid` is `d-<createdMs>`.
    Dynamic,
    /// One long-lived key; `kid` is `s-<uuid>`.
    Static,
}

impl KeyKind {
    pub(crate) fn kid_prefix(self) -> &'static str {
        match self {
            Self::Dynamic => "d-",
            Self::Static => "s-",
        }
    }
}

/// Settings of a [`Sessions`](crate::Sessions) engine.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// How long an access token is valid (`access_token_validity`, default 3600 s).
    pub access_token_validity: Duration,
    /// How long a refresh token is valid after its session's last refresh
    /// (`refresh_token_validity`, default 144 000 min = 100 days).
    pub refresh_token_validity: Duration,
    /// How often dynamic signing keys rotate
    /// (`access_token_dynamic_signing_key_update_interval`, default 168 h).
    pub signing_key_update_interval: Duration,
    /// How long a superseded refresh token stays acceptable, so that parallel refreshes from
    /// several tabs are not mistaken for theft (`refresh_token_rotation_grace_period`, default 30 s).
    pub refresh_token_rotation_grace_period: Duration,
    /// Algorithm for new access tokens (default RS256).
    pub signing_algorithm: SigningAlgorithm,
    /// Key family for new sessions unless the call says otherwise (default dynamic).
    pub default_key_kind: KeyKind,
    /// Whether new sessions get an anti-CSRF token unless the call says otherwise (default false:
    /// SameSite=Lax cookies make it unnecessary for same-site apps).
    pub anti_csrf: bool,
    /// Revoke the session when theft is detected (default true). The 2020 libraries only reported it.
    pub revoke_on_theft: bool,
    /// At most one signing-key reload from the store per this period when an unknown `kid` arrives
    /// (default 1 s), so a flood of forged tokens cannot load the database.
    pub unknown_kid_reload_interval: Duration,
    /// Access tokens whose signature was checked, kept so that the same token verifies again
    /// without the signature check (default 10 000; 0 turns the cache off). Expiry, the anti-CSRF
    /// token and revocation are still checked on every verification.
    pub verified_token_cache_entries: usize,
    /// How often [`Sessions::spawn_revocation_follower`](crate::Sessions::spawn_revocation_follower)
    /// reads the store's revocation log (default 250 ms), which bounds how long a session revoked
    /// by another process keeps verifying here.
    pub revocation_poll_interval: Duration,
    /// What verification does when the revocation log has not been read for longer than the
    /// access-token validity (the database is unreachable, say): by default each verification
    /// checks the store, failing closed.
    pub stale_revocations: StaleRevocations,
    /// How long a detected theft's report (with the picture of the robbed session's tokens) is
    /// kept before the expiry sweep deletes it (default 30 days).
    pub theft_report_retention: Duration,
}

/// What verification does while this process's view of revocations is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleRevocations {
    /// Confirm every session in the store, as `check_database` does (refusing when the store
    /// cannot answer).
    CheckStore,
    /// Keep verifying in memory: a session revoked elsewhere keeps working until the view is
    /// fresh again or its access token expires.
    KeepVerifying,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            access_token_validity: Duration::from_secs(3600),
            refresh_token_validity: Duration::from_secs(144_000 * 60),
            signing_key_update_interval: Duration::from_secs(168 * 3600),
            refresh_token_rotation_grace_period: Duration::from_secs(30),
            signing_algorithm: SigningAlgorithm::Rs256,
            default_key_kind: KeyKind::Dynamic,
            anti_csrf: false,
            revoke_on_theft: true,
            unknown_kid_reload_interval: Duration::from_secs(1),
            verified_token_cache_entries: 10_000,
            revocation_poll_interval: Duration::from_millis(250),
            stale_revocations: StaleRevocations::CheckStore,
            theft_report_retention: Duration::from_secs(30 * 86_400),
        }
    }
}
