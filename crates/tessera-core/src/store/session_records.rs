//! Sessions with their refresh tokens: the presentation transaction, the data kept on a session,
//! and the reports of thefts found by presentations.

use serde_json::{Map, Value};

use super::{PresentOutcome, Presentation, RefreshTokenRecord, SessionRecord};
use crate::error::StoreError;
use crate::theft::{TheftQuery, TheftReport};
use crate::time::Timestamp;

contract! {
    /// Sessions and their refresh-token lineage.
    ///
    /// Implementations must make [`present`](SessionRecords::present) atomic and serialised per
    /// session (row lock or equivalent) across every process sharing the database, and must call
    /// [`rotation::plan`](crate::rotation::plan) to choose what to write.
    pub trait SessionRecords {
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
            now: Timestamp,
        ) -> Result<Option<SessionRecord>, StoreError>;

        /// The refresh-token row with this double hash, if any.
        async fn refresh_token(
            &self,
            hash2: &str,
        ) -> Result<Option<RefreshTokenRecord>, StoreError>;

        /// Every refresh-token row of a session, in no particular order (for its picture).
        async fn session_tokens(&self, handle: &str) -> Result<Vec<RefreshTokenRecord>, StoreError>;

        /// Carries out one presentation atomically: lock the session, read the presented token,
        /// apply [`rotation::plan`](crate::rotation::plan), write what it says. An unknown token is
        /// [`PresentOutcome::UNKNOWN_TOKEN`], a token whose session row is gone
        /// [`PresentOutcome::NO_SESSION`].
        async fn present(&self, presentation: Presentation) -> Result<PresentOutcome, StoreError>;

        /// Theft reports matching `query`, newest first. A [`present`](Self::present) that detects
        /// a theft records its report ([`Write::RecordTheft`](crate::rotation::Write::RecordTheft))
        /// in its own transaction, with an `id` greater than every earlier report's.
        async fn theft_reports(&self, query: &TheftQuery) -> Result<Vec<TheftReport>, StoreError>;

        /// Deletes theft reports detected before `before`; returns how many.
        async fn delete_old_theft_reports(&self, before: Timestamp) -> Result<u64, StoreError>;

        /// Handles of the stored sessions (any tenant, expired or not) greater than `after`, in
        /// order, at most `limit`: a walk over every session, a page at a time.
        async fn session_handles(&self, after: &str, limit: u32) -> Result<Vec<String>, StoreError>;

        /// Handles of a user's unexpired sessions, in one tenant or (`None`) all.
        async fn session_handles_for_user(
            &self,
            tenant_id: Option<&str>,
            user_id: &str,
            now: Timestamp,
        ) -> Result<Vec<String>, StoreError>;

        /// A user's unexpired sessions, in one tenant or (`None`) all, oldest first (ties by
        /// handle): one read for a page that lists them.
        async fn sessions_for_user(
            &self,
            tenant_id: Option<&str>,
            user_id: &str,
            now: Timestamp,
        ) -> Result<Vec<SessionRecord>, StoreError>;

        /// Binds a live, unbound session to a device key (a JWK as JSON text); false if there is no
        /// such live session or it is bound already. A binding is never changed or removed.
        async fn bind_device(
            &self,
            handle: &str,
            device_key: &str,
            now: Timestamp,
        ) -> Result<bool, StoreError>;

        /// Replaces a live session's server-side data; false if there is no such live session.
        async fn update_session_data(
            &self,
            handle: &str,
            data: &Value,
            now: Timestamp,
        ) -> Result<bool, StoreError>;

        /// Replaces a live session's access-token payload; false if there is no such live session.
        async fn update_access_token_payload(
            &self,
            handle: &str,
            payload: &Map<String, Value>,
            now: Timestamp,
        ) -> Result<bool, StoreError>;

        /// Deletes sessions that expired before `now`; returns how many.
        async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;
    }
}
