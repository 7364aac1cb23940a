//! The server's store, counted: every call the engine makes to the database shows in `/metrics` as
//! `tessera_store_calls_total{operation}`, so an operator sees what reaches the database (and the
//! propagation test asserts that verifications do not: they are answered from memory, and only the
//! revocation follower's polls read the store while a server verifies).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use tessera_core::{
    PresentOutcome, Presentation, RefreshTokenRecord, RevocationRecord, SessionRecord,
    SessionStore, StoreError, StoredSigningKey, TenantRecord, UnixMillis,
};

/// A store whose calls are counted in the metrics recorder.
pub struct CountedStore(pub Arc<dyn SessionStore>);

fn count(operation: &'static str) {
    metrics::counter!("tessera_store_calls_total", "operation" => operation).increment(1);
}

#[async_trait]
impl SessionStore for CountedStore {
    async fn create_session(
        &self,
        session: SessionRecord,
        first_token: RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        count("create_session");
        self.0.create_session(session, first_token).await
    }

    async fn session(
        &self,
        handle: &str,
        now: UnixMillis,
    ) -> Result<Option<SessionRecord>, StoreError> {
        count("session");
        self.0.session(handle, now).await
    }

    async fn refresh_token(&self, hash2: &str) -> Result<Option<RefreshTokenRecord>, StoreError> {
        count("refresh_token");
        self.0.refresh_token(hash2).await
    }

    async fn present(&self, presentation: Presentation) -> Result<PresentOutcome, StoreError> {
        count("present");
        self.0.present(presentation).await
    }

    async fn revoke_sessions(
        &self,
        handles: &[String],
        now: UnixMillis,
    ) -> Result<Vec<String>, StoreError> {
        count("revoke_sessions");
        self.0.revoke_sessions(handles, now).await
    }

    async fn revoke_sessions_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: UnixMillis,
    ) -> Result<Vec<String>, StoreError> {
        count("revoke_sessions_for_user");
        self.0
            .revoke_sessions_for_user(tenant_id, user_id, now)
            .await
    }

    async fn revocations(
        &self,
        after: i64,
        since: UnixMillis,
        limit: u32,
    ) -> Result<Vec<RevocationRecord>, StoreError> {
        count("revocations");
        self.0.revocations(after, since, limit).await
    }

    async fn delete_old_revocations(&self, before: UnixMillis) -> Result<u64, StoreError> {
        count("delete_old_revocations");
        self.0.delete_old_revocations(before).await
    }

    async fn session_handles_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: UnixMillis,
    ) -> Result<Vec<String>, StoreError> {
        count("session_handles_for_user");
        self.0
            .session_handles_for_user(tenant_id, user_id, now)
            .await
    }

    async fn update_session_data(
        &self,
        handle: &str,
        data: &Value,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        count("update_session_data");
        self.0.update_session_data(handle, data, now).await
    }

    async fn update_access_token_payload(
        &self,
        handle: &str,
        payload: &Map<String, Value>,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        count("update_access_token_payload");
        self.0
            .update_access_token_payload(handle, payload, now)
            .await
    }

    async fn delete_expired_sessions(&self, now: UnixMillis) -> Result<u64, StoreError> {
        count("delete_expired_sessions");
        self.0.delete_expired_sessions(now).await
    }

    async fn signing_keys(&self, now: UnixMillis) -> Result<Vec<StoredSigningKey>, StoreError> {
        count("signing_keys");
        self.0.signing_keys(now).await
    }

    async fn insert_signing_key(&self, key: &StoredSigningKey) -> Result<bool, StoreError> {
        count("insert_signing_key");
        self.0.insert_signing_key(key).await
    }

    async fn delete_expired_signing_keys(&self, now: UnixMillis) -> Result<u64, StoreError> {
        count("delete_expired_signing_keys");
        self.0.delete_expired_signing_keys(now).await
    }

    async fn put_tenant(&self, tenant: &TenantRecord) -> Result<bool, StoreError> {
        count("put_tenant");
        self.0.put_tenant(tenant).await
    }

    async fn tenant(&self, tenant_id: &str) -> Result<Option<TenantRecord>, StoreError> {
        count("tenant");
        self.0.tenant(tenant_id).await
    }

    async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        count("tenants");
        self.0.tenants().await
    }

    async fn delete_tenant(
        &self,
        tenant_id: &str,
        now: UnixMillis,
    ) -> Result<Option<Vec<String>>, StoreError> {
        count("delete_tenant");
        self.0.delete_tenant(tenant_id, now).await
    }
}
