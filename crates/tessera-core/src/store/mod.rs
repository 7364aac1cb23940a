//! The storage contracts, one per concern, and the rows they hold. Stores hold rows and run
//! transactions; every decision is made by [`rotation::plan`](crate::rotation::plan) so all stores
//! behave alike.
//!
//! A store implements each contract it serves; [`SessionStore`], what the engine runs on, is every
//! one of them. Adding a method to a contract touches the contract, each store, and the
//! conformance suite's section for it.

#[macro_use]
mod contract;
mod observed;
mod revocation_log;
mod session_records;
mod signing_key_store;
mod tenant_registry;

use std::time::Duration;

use serde_json::{Map, Value};

pub use observed::ObservedStore;
pub use revocation_log::RevocationLog;
pub use session_records::SessionRecords;
pub use signing_key_store::SigningKeyStore;
pub use tenant_registry::TenantRegistry;

use crate::theft::TokenTrace;
use crate::time::Timestamp;

/// A session as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// Primary key, a UUID.
    pub handle: String,
    /// The user the session belongs to.
    pub user_id: String,
    /// Tenant (`public` unless multi-tenancy is used).
    pub tenant_id: String,
    /// When the session was created.
    pub created_at: Timestamp,
    /// When the session expires unless refreshed.
    pub expires_at: Timestamp,
    /// Server-side data, never sent to the client.
    pub session_data: Value,
    /// Custom claims put into access tokens minted from now on.
    pub access_token_payload: Map<String, Value>,
    /// Whether access tokens of this session are signed with the static key.
    pub use_static_key: bool,
    /// The public key (a JWK, as JSON text) of the device the session is bound to, if any: its
    /// refreshes then need a proof signed by that key (see [`device`](crate::device)).
    pub device_key: Option<String>,
}

/// One issued refresh token, stored only by its double hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// `H(H(token))`, primary key.
    pub hash2: String,
    /// The session it belongs to.
    pub session_handle: String,
    /// `hash2` of the token the client presented to obtain it (its parent); `None` for a
    /// session's first token.
    pub presented_hash2: Option<String>,
    /// When it was minted, to the microsecond.
    pub issued_at: Timestamp,
    /// Since when the client is known to have moved past it, to the microsecond (see
    /// [`rotation`](crate::rotation)); presenting it more than the grace window later is theft.
    pub dead_since: Option<Timestamp>,
    /// `hash2` of the token whose use marked it dead (kept for the session's picture; `None`
    /// while it lives, and for tokens that died before schema version 7).
    pub killed_by: Option<String>,
    /// `H(anti-CSRF token)` issued with it, when anti-CSRF is on for the session.
    pub anti_csrf_hash: Option<String>,
}

impl From<&RefreshTokenRecord> for TokenTrace {
    fn from(token: &RefreshTokenRecord) -> Self {
        Self {
            hash2: token.hash2.clone(),
            parent: token.presented_hash2.clone(),
            issued_at: token.issued_at,
            dead_since: token.dead_since,
            killed_by: token.killed_by.clone(),
        }
    }
}

/// A refresh token minted for a refresh, before the store knows whether it will be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildToken {
    /// `H(H(token))` of the new token.
    pub hash2: String,
    /// `H(anti-CSRF token)` that goes with it.
    pub anti_csrf_hash: Option<String>,
}

/// What the engine established about the device behind a refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DeviceProof {
    /// No device proof came with the refresh: for a bound session, that is a copied token.
    #[default]
    Absent,
    /// A proof signed by this key (the JWK as the session stores it) answered a challenge issued
    /// for the presented token.
    Verified {
        /// The key that signed, as JSON text.
        device_key: String,
    },
}

/// How a refresh token is presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresentationKind {
    /// A refresh carries it: store `child` if accepted.
    Refresh {
        /// `H(anti-CSRF token)` sent with the request, if any.
        anti_csrf_hash: Option<String>,
        /// The token to store if the refresh is accepted.
        child: ChildToken,
        /// The device proof that came with it.
        device: DeviceProof,
    },
    /// The access token minted with it is verified for the first time (it carries
    /// `parentRefreshTokenHash1`).
    AccessToken,
}

/// Settings a store needs to decide a presentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// The grace window.
    pub grace: Duration,
    /// How far a successful refresh pushes the session's expiry.
    pub refresh_validity: Duration,
    /// Delete the session when theft is detected.
    pub revoke_on_theft: bool,
    /// Require the anti-CSRF token issued with the presented refresh token, if it had one.
    pub check_anti_csrf: bool,
}

/// Everything a store needs to decide and record one presentation of a refresh token in one
/// transaction.
#[derive(Debug, Clone)]
pub struct Presentation {
    /// `H(H(t))` of the presented refresh token.
    pub presented_hash2: String,
    /// A refresh, or a first use of its access token.
    pub kind: PresentationKind,
    /// The engine's time, to the microsecond.
    pub now: Timestamp,
    /// Grace window, expiry and theft settings.
    pub policy: RotationPolicy,
}

/// What a store did with a [`Presentation`].
#[derive(Debug, Clone, PartialEq)]
pub enum PresentOutcome {
    /// Accepted and recorded (with the child token stored, for a refresh).
    Accepted {
        /// The session after the presentation.
        session: SessionRecord,
        /// Whether the new refresh token carries an anti-CSRF token.
        child_anti_csrf: bool,
    },
    /// The presented token is unknown, expired, or its session is gone; or the anti-CSRF check
    /// failed. Nothing was written.
    Rejected {
        /// Why, for the caller's error.
        reason: &'static str,
        /// Whether the client should drop its tokens. False when only the anti-CSRF check failed:
        /// a forged cross-site request must not be able to sign the user out.
        clear_tokens: bool,
    },
    /// A token the client had moved past came back outside the grace window. The session was
    /// deleted when `policy.revoke_on_theft`.
    TheftDetected {
        /// The robbed session's user.
        user_id: String,
        /// The robbed session.
        session_handle: String,
    },
}

impl PresentOutcome {
    /// The refusal for a token the store does not know.
    pub const UNKNOWN_TOKEN: Self = Self::Rejected {
        reason: "unknown refresh token",
        clear_tokens: true,
    };
    /// The refusal for a token whose session is gone.
    pub const NO_SESSION: Self = Self::Rejected {
        reason: "session does not exist",
        clear_tokens: true,
    };
}

/// One entry of the revocation log: a session revoked (by a call, a user-wide revocation or
/// theft) at `revoked_at`. Every process over the store reads the log to refuse the session's
/// access tokens without a store read per verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationRecord {
    /// Position in the log. Increasing in the order entries were written, though a later entry
    /// can become visible before an earlier one whose transaction commits late, and numbers
    /// can be skipped.
    pub seq: i64,
    /// The revoked session.
    pub session_handle: String,
    /// When it was revoked, by the revoking process's clock.
    pub revoked_at: Timestamp,
}

/// A signing key as stored. The private key is PKCS#8 DER, base64 encoded.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    /// JOSE key id: `d-<createdMs>` or `s-<uuid>`.
    pub kid: String,
    /// Rotation slot, unique: two processes that create a key for the same slot at the same
    /// moment insert one row between them.
    pub slot: String,
    /// JOSE algorithm name.
    pub algorithm: String,
    /// PKCS#8 DER of the private key, base64.
    pub private_key: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// After this, no token it signed can still be valid; `None` for static keys.
    pub expires_at: Option<Timestamp>,
}

impl std::fmt::Debug for StoredSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSigningKey")
            .field("kid", &self.kid)
            .field("slot", &self.slot)
            .field("algorithm", &self.algorithm)
            .field("private_key", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A tenant other than `public` (which always exists and is never stored).
#[derive(Debug, Clone, PartialEq)]
pub struct TenantRecord {
    /// The tenant id.
    pub tenant_id: String,
    /// Its configuration as the multitenancy API was given it (login methods, core settings),
    /// kept and handed back; sessions do not depend on it.
    pub config: Map<String, Value>,
    /// When it was first created.
    pub created_at: Timestamp,
}

/// An app other than `public`, registered in the public app's store.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRecord {
    /// The app id.
    pub app_id: String,
    /// Its configuration as the multitenancy API was given it, kept and handed back.
    pub config: Map<String, Value>,
    /// When it was first created.
    pub created_at: Timestamp,
}

/// Everything the engine stores: sessions and tokens, the revocation log, signing keys, tenants
/// and apps. Implemented for every type that implements each contract.
pub trait SessionStore: SessionRecords + RevocationLog + SigningKeyStore + TenantRegistry {}

impl<Store> SessionStore for Store where
    Store: SessionRecords + RevocationLog + SigningKeyStore + TenantRegistry
{
}
