//! The storage contract. Stores hold rows and run transactions; every decision is made by
//! [`rotation::plan`](crate::rotation::plan) so all stores behave alike.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::clock::{UnixMicros, UnixMillis};
use crate::error::StoreError;
use crate::theft::{TheftQuery, TheftReport, TokenTrace};

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
    pub created_at: UnixMillis,
    /// When the session expires unless refreshed.
    pub expires_at: UnixMillis,
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
    /// When it was minted, in microseconds.
    pub issued_at: UnixMicros,
    /// Since when the client is known to have moved past it, in microseconds (see
    /// [`rotation`](crate::rotation)); presenting it more than the grace window later is theft.
    pub dead_since: Option<UnixMicros>,
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
    /// The grace window in microseconds.
    pub grace_us: i64,
    /// How far a successful refresh pushes the session's expiry, in milliseconds.
    pub refresh_validity_ms: i64,
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
    /// The engine's time, in microseconds.
    pub now: UnixMicros,
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
    pub revoked_at: UnixMillis,
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
    pub created_at: UnixMillis,
    /// After this, no token it signed can still be valid; `None` for static keys.
    pub expires_at: Option<UnixMillis>,
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
    pub created_at: UnixMillis,
}

/// An app other than `public`, registered in the public app's store.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRecord {
    /// The app id.
    pub app_id: String,
    /// Its configuration as the multitenancy API was given it, kept and handed back.
    pub config: Map<String, Value>,
    /// When it was first created.
    pub created_at: UnixMillis,
}

/// Persistence for sessions, refresh-token lineage and signing keys.
///
/// Implementations must make [`present`](SessionStore::present) atomic and serialised per session
/// (row lock or equivalent) across every process sharing the database, and must call
/// [`rotation::plan`](crate::rotation::plan) to choose what to write.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Inserts a new session and its first refresh token.
    async fn create_session(
        &self,
        session: SessionRecord,
        first_token: RefreshTokenRecord,
    ) -> Result<(), StoreError>;

    /// The session with this handle, if it exists and has not expired at `now`.
    async fn session(
        &self,
        handle: &str,
        now: UnixMillis,
    ) -> Result<Option<SessionRecord>, StoreError>;

    /// The refresh-token row with this double hash, if any.
    async fn refresh_token(&self, hash2: &str) -> Result<Option<RefreshTokenRecord>, StoreError>;

    /// Every refresh-token row of a session, in no particular order (for its picture).
    async fn session_tokens(&self, handle: &str) -> Result<Vec<RefreshTokenRecord>, StoreError>;

    /// Carries out one presentation atomically: lock the session, read the presented token, apply
    /// [`rotation::plan`](crate::rotation::plan), write what it says. An unknown token is
    /// [`PresentOutcome::UNKNOWN_TOKEN`], a token whose session row is gone
    /// [`PresentOutcome::NO_SESSION`].
    async fn present(&self, presentation: Presentation) -> Result<PresentOutcome, StoreError>;

    /// Theft reports matching `query`, newest first. A [`present`](Self::present) that detects a
    /// theft records its report ([`Write::RecordTheft`](crate::rotation::Write::RecordTheft)) in
    /// its own transaction, with an `id` greater than every earlier report's.
    async fn theft_reports(&self, query: &TheftQuery) -> Result<Vec<TheftReport>, StoreError>;

    /// Deletes theft reports detected before `before`; returns how many.
    async fn delete_old_theft_reports(&self, before: UnixMicros) -> Result<u64, StoreError>;

    /// Deletes these sessions (and their tokens) and logs each one that existed as revoked at
    /// `now`, in the same transaction; returns the handles that existed.
    async fn revoke_sessions(
        &self,
        handles: &[String],
        now: UnixMillis,
    ) -> Result<Vec<String>, StoreError>;

    /// Handles of the stored sessions (any tenant, expired or not) greater than `after`, in
    /// order, at most `limit`: a walk over every session, a page at a time.
    async fn session_handles(&self, after: &str, limit: u32) -> Result<Vec<String>, StoreError>;

    /// Deletes every session of a user, in one tenant or (`None`) all, logging each as revoked at
    /// `now`; returns their handles.
    async fn revoke_sessions_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: UnixMillis,
    ) -> Result<Vec<String>, StoreError>;

    /// Revocation-log entries with `seq > after` and `revoked_at >= since`, in `seq` order, at most
    /// `limit`. A theft that revokes logs its session too (see [`present`](Self::present)).
    async fn revocations(
        &self,
        after: i64,
        since: UnixMillis,
        limit: u32,
    ) -> Result<Vec<RevocationRecord>, StoreError>;

    /// Deletes revocation-log entries older than `before`; returns how many.
    async fn delete_old_revocations(&self, before: UnixMillis) -> Result<u64, StoreError>;

    /// Woken (at least once) soon after another process logs a revocation, for stores whose
    /// database can push that (PostgreSQL's `LISTEN`/`NOTIFY`): the revocation follower then
    /// reads the log at once instead of at its next poll. Polling still runs, so a wake-up lost
    /// with a dropped connection only delays a revocation to the next poll. `None` (the default):
    /// polling only.
    fn revocation_signal(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
    }

    /// Handles of a user's unexpired sessions, in one tenant or (`None`) all.
    async fn session_handles_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: UnixMillis,
    ) -> Result<Vec<String>, StoreError>;

    /// Binds a live, unbound session to a device key (a JWK as JSON text); false if there is no
    /// such live session or it is bound already. A binding is never changed or removed.
    async fn bind_device(
        &self,
        handle: &str,
        device_key: &str,
        now: UnixMillis,
    ) -> Result<bool, StoreError>;

    /// Replaces a live session's server-side data; false if there is no such live session.
    async fn update_session_data(
        &self,
        handle: &str,
        data: &Value,
        now: UnixMillis,
    ) -> Result<bool, StoreError>;

    /// Replaces a live session's access-token payload; false if there is no such live session.
    async fn update_access_token_payload(
        &self,
        handle: &str,
        payload: &Map<String, Value>,
        now: UnixMillis,
    ) -> Result<bool, StoreError>;

    /// Deletes sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: UnixMillis) -> Result<u64, StoreError>;

    /// All signing keys not expired at `now`.
    async fn signing_keys(&self, now: UnixMillis) -> Result<Vec<StoredSigningKey>, StoreError>;

    /// Inserts a key unless one already holds its slot; returns whether this key was inserted.
    async fn insert_signing_key(&self, key: &StoredSigningKey) -> Result<bool, StoreError>;

    /// Deletes keys that expired before `now`; returns how many.
    async fn delete_expired_signing_keys(&self, now: UnixMillis) -> Result<u64, StoreError>;

    /// Creates a tenant, or replaces its configuration (keeping its creation time); returns
    /// whether it was created.
    async fn put_tenant(&self, tenant: &TenantRecord) -> Result<bool, StoreError>;

    /// The tenant with this id, if it was created.
    async fn tenant(&self, tenant_id: &str) -> Result<Option<TenantRecord>, StoreError>;

    /// Every created tenant, by id.
    async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError>;

    /// Deletes a tenant and, in the same transaction, revokes (and logs) every session in it;
    /// `None` if there was no such tenant, else the revoked handles.
    async fn delete_tenant(
        &self,
        tenant_id: &str,
        now: UnixMillis,
    ) -> Result<Option<Vec<String>>, StoreError>;

    /// Registers an app, or replaces its configuration; returns whether it was created. Only the
    /// public app's store keeps the registry.
    async fn put_app(&self, app: &AppRecord) -> Result<bool, StoreError>;

    /// Every registered app, by id.
    async fn apps(&self) -> Result<Vec<AppRecord>, StoreError>;

    /// Removes an app from the registry; returns whether it was there.
    async fn delete_app(&self, app_id: &str) -> Result<bool, StoreError>;
}
