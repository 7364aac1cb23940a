//! Ending sessions, and the log of ended sessions that every process follows.

use super::RevocationRecord;
use crate::error::StoreError;
use crate::time::Timestamp;

contract! {
    /// Revocations: deleting sessions and logging each, in one transaction, so that every process
    /// sharing the database can forget what it cached about them.
    pub trait RevocationLog {
        /// Deletes these sessions (and their tokens) and logs each one that existed as revoked at
        /// `now`, in the same transaction; returns the handles that existed.
        async fn revoke_sessions(
            &self,
            handles: &[String],
            now: Timestamp,
        ) -> Result<Vec<String>, StoreError>;

        /// Deletes every session of a user, in one tenant or (`None`) all, logging each as revoked
        /// at `now`; returns their handles.
        async fn revoke_sessions_for_user(
            &self,
            tenant_id: Option<&str>,
            user_id: &str,
            now: Timestamp,
        ) -> Result<Vec<String>, StoreError>;

        /// Revocation-log entries with `seq > after` and `revoked_at >= since`, in `seq` order, at
        /// most `limit`. A theft that revokes logs its session too (see
        /// [`present`](super::SessionRecords::present)).
        async fn revocations(
            &self,
            after: i64,
            since: Timestamp,
            limit: u32,
        ) -> Result<Vec<RevocationRecord>, StoreError>;

        /// Deletes revocation-log entries older than `before`; returns how many.
        async fn delete_old_revocations(&self, before: Timestamp) -> Result<u64, StoreError>;
    }
    provided {
        /// Woken (at least once) soon after another process logs a revocation, for stores whose
        /// database can push that (PostgreSQL's `LISTEN`/`NOTIFY`): the revocation follower then
        /// reads the log at once instead of at its next poll. Polling still runs, so a wake-up lost
        /// with a dropped connection only delays a revocation to the next poll. `None` (the
        /// default): polling only.
        fn revocation_signal(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
            None
        }
    }
}
