//! Tessera's session engine: sessions, access and refresh tokens, signing-key rotation and
//! refresh-token theft detection. No HTTP and no SQL: storage goes through [`SessionStore`].
//!
//! The scheme is SuperTokens': a short-lived signed access token verified
//! without the database, and a long-lived opaque refresh token, stored only as `H(H(token))`,
//! rotated on every refresh. A refresh token that comes back after the client has moved past it is
//! theft: the session is revoked and [`SessionError::TokenTheftDetected`] names the user and
//! session. See [`rotation`] for the exact rules.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use tessera_core::testing::MemoryStore;
//! use tessera_core::{NewSession, SessionConfig, SessionError, Sessions, VerifyOptions};
//!
//! // No grace window, so that the replay below is theft at once (30 s by default).
//! let config = SessionConfig {
//!     refresh_token_rotation_grace_period: std::time::Duration::ZERO,
//!     ..SessionConfig::default()
//! };
//! let sessions = Sessions::new(MemoryStore::default(), config);
//! let created = sessions.create_new_session(NewSession::new("alice")).await?;
//! // Every request: verified from the signed token, without the store.
//! let verified = sessions
//!     .get_session(&created.access_token.token, None, VerifyOptions::default())
//!     .await?;
//! assert_eq!(verified.user_id, "alice");
//! // When the access token expires: both tokens rotate.
//! let refreshed = sessions.refresh_session(&created.refresh_token.token, None).await?;
//! // The client uses the new tokens; presenting the old refresh token again is theft.
//! sessions
//!     .get_session(&refreshed.access_token.token, None, VerifyOptions::default())
//!     .await?;
//! let replay = sessions.refresh_session(&created.refresh_token.token, None).await;
//! assert!(matches!(replay, Err(SessionError::TokenTheftDetected { .. })));
//! # Ok::<(), SessionError>(())
//! # }).unwrap();
//! ```
#![warn(missing_docs)]

mod claims;
mod clock;
mod config;
mod engine;
mod error;
mod jwt;
mod revocations;
mod token_cache;
pub use revocations::Revocations;
pub use store::ObservedStore;
pub use token_cache::VerifiedTokens;
pub mod device;
mod keys;
pub mod rotation;
mod secret;
mod store;
mod tenants;
mod test_device;
pub mod testing;
mod theft;
pub mod time;
mod token_version;
mod types;
mod verify;

pub use claims::{check_custom_payload, AccessTokenClaims, RESERVED_CLAIMS};
pub use clock::{Clock, ManualClock, OffsetClock, SystemClock};
pub use config::{KeyKind, SessionConfig, SigningAlgorithm, StaleRevocations};
pub use engine::{
    DeviceBinding, DeviceChallenge, DeviceError, LegacyPublicKey, RevocationStatus, Sessions,
    DEVICE_CHALLENGE_LIFETIME, MAX_USER_ID_BYTES,
};
pub use error::{GeneralError, SessionError, StoreError};
pub use jwt::MAX_ACCESS_TOKEN_LEN;
pub use keys::{Jwk, Jwks, SigningKeyInfo};
pub use secret::{
    constant_time_eq, hash2_from_hash1, refresh_token_hash1, sha256_hex, AccessToken,
    AntiCsrfToken, RefreshToken,
};
pub use store::{
    AppRecord, ChildToken, DeviceProof, PresentOutcome, Presentation, PresentationKind,
    RefreshTokenRecord, RevocationLog, RevocationRecord, SessionRecord, SessionRecords,
    SessionStore, SigningKeyStore, StoredSigningKey, TenantRecord, TenantRegistry,
};
pub use tenants::{check_tenant_id, MAX_TENANT_ID_LEN};
pub use theft::{
    human_duration, in_issue_order, token_number, TheftKind, TheftQuery, TheftReport, TokenTrace,
};
pub use time::{duration_micros, duration_millis, Timestamp};
pub use token_version::AccessTokenVersion;
pub use types::{
    Issued, NewSession, RefreshOptions, RegeneratedAccessToken, SessionClaims, SessionInfo,
    SessionSummary, SessionTokens, VerifiedSession, VerifyOptions, DEFAULT_TENANT,
};
pub use verify::{JwksVerifier, JwksVerifyError};
