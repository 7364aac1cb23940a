//! The signing keys every process sharing the database signs and verifies with.

use super::StoredSigningKey;
use crate::error::StoreError;
use crate::time::Timestamp;

contract! {
    /// Signing keys, each holding a slot that only one key can take (so processes that rotate keys
    /// at the same moment agree on one).
    pub trait SigningKeyStore {
        /// All signing keys not expired at `now`.
        async fn signing_keys(&self, now: Timestamp) -> Result<Vec<StoredSigningKey>, StoreError>;

        /// Inserts a key unless one already holds its slot; returns whether this key was inserted.
        async fn insert_signing_key(&self, key: &StoredSigningKey) -> Result<bool, StoreError>;

        /// Deletes keys that expired before `now`; returns how many.
        async fn delete_expired_signing_keys(&self, now: Timestamp) -> Result<u64, StoreError>;
    }
}
