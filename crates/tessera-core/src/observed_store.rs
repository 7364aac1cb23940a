//! A store that says what it is asked before doing it: the server counts store calls by operation
//! in its metrics through it, and tests show through it which paths stay off the database.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::error::StoreError;
use crate::store::{
    AppRecord, PresentOutcome, Presentation, RefreshTokenRecord, RevocationLog, RevocationRecord,
    SessionRecord, SessionRecords, SessionStore, SigningKeyStore, StoredSigningKey, TenantRecord,
    TenantRegistry,
};
use crate::theft::{TheftQuery, TheftReport};
use crate::time::Timestamp;

/// Wraps a store and calls `observe` with each call's operation name (the trait method's name)
/// before passing the call on.
pub struct ObservedStore {
    inner: Arc<dyn SessionStore>,
    observe: Box<dyn Fn(&'static str) + Send + Sync>,
}

impl ObservedStore {
    /// Observes the calls made to `inner`.
    pub fn new(
        inner: Arc<dyn SessionStore>,
        observe: impl Fn(&'static str) + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner,
            observe: Box::new(observe),
        }
    }
}

#[async_trait]
impl SessionRecords for ObservedStore {
    async fn create_session(
        &self,
        session: SessionRecord,
        first_token: RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        (self.observe)("create_session");
        self.inner.create_session(session, first_token).await
    }

    async fn session(
        &self,
        handle: &str,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        (self.observe)("session");
        self.inner.session(handle, now).await
    }

    async fn refresh_token(&self, hash2: &str) -> Result<Option<RefreshTokenRecord>, StoreError> {
        (self.observe)("refresh_token");
        self.inner.refresh_token(hash2).await
    }

    async fn session_tokens(&self, handle: &str) -> Result<Vec<RefreshTokenRecord>, StoreError> {
        (self.observe)("session_tokens");
        self.inner.session_tokens(handle).await
    }

    async fn theft_reports(&self, query: &TheftQuery) -> Result<Vec<TheftReport>, StoreError> {
        (self.observe)("theft_reports");
        self.inner.theft_reports(query).await
    }

    async fn delete_old_theft_reports(&self, before: Timestamp) -> Result<u64, StoreError> {
        (self.observe)("delete_old_theft_reports");
        self.inner.delete_old_theft_reports(before).await
    }

    async fn present(&self, presentation: Presentation) -> Result<PresentOutcome, StoreError> {
        (self.observe)("present");
        self.inner.present(presentation).await
    }

    async fn session_handles(&self, after: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        (self.observe)("session_handles");
        self.inner.session_handles(after, limit).await
    }

    async fn session_handles_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        (self.observe)("session_handles_for_user");
        self.inner
            .session_handles_for_user(tenant_id, user_id, now)
            .await
    }

    async fn sessions_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        (self.observe)("sessions_for_user");
        self.inner.sessions_for_user(tenant_id, user_id, now).await
    }

    async fn bind_device(
        &self,
        handle: &str,
        device_key: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        (self.observe)("bind_device");
        self.inner.bind_device(handle, device_key, now).await
    }

    async fn update_session_data(
        &self,
        handle: &str,
        data: &Value,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        (self.observe)("update_session_data");
        self.inner.update_session_data(handle, data, now).await
    }

    async fn update_access_token_payload(
        &self,
        handle: &str,
        payload: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        (self.observe)("update_access_token_payload");
        self.inner
            .update_access_token_payload(handle, payload, now)
            .await
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        (self.observe)("delete_expired_sessions");
        self.inner.delete_expired_sessions(now).await
    }
}

#[async_trait]
impl RevocationLog for ObservedStore {
    async fn revoke_sessions(
        &self,
        handles: &[String],
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        (self.observe)("revoke_sessions");
        self.inner.revoke_sessions(handles, now).await
    }

    async fn revoke_sessions_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        (self.observe)("revoke_sessions_for_user");
        self.inner
            .revoke_sessions_for_user(tenant_id, user_id, now)
            .await
    }

    async fn revocations(
        &self,
        after: i64,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<RevocationRecord>, StoreError> {
        (self.observe)("revocations");
        self.inner.revocations(after, since, limit).await
    }

    async fn delete_old_revocations(&self, before: Timestamp) -> Result<u64, StoreError> {
        (self.observe)("delete_old_revocations");
        self.inner.delete_old_revocations(before).await
    }

    fn revocation_signal(&self) -> Option<Arc<tokio::sync::Notify>> {
        self.inner.revocation_signal()
    }
}

#[async_trait]
impl SigningKeyStore for ObservedStore {
    async fn signing_keys(&self, now: Timestamp) -> Result<Vec<StoredSigningKey>, StoreError> {
        (self.observe)("signing_keys");
        self.inner.signing_keys(now).await
    }

    async fn insert_signing_key(&self, key: &StoredSigningKey) -> Result<bool, StoreError> {
        (self.observe)("insert_signing_key");
        self.inner.insert_signing_key(key).await
    }

    async fn delete_expired_signing_keys(&self, now: Timestamp) -> Result<u64, StoreError> {
        (self.observe)("delete_expired_signing_keys");
        self.inner.delete_expired_signing_keys(now).await
    }
}

#[async_trait]
impl TenantRegistry for ObservedStore {
    async fn put_tenant(&self, tenant: &TenantRecord) -> Result<bool, StoreError> {
        (self.observe)("put_tenant");
        self.inner.put_tenant(tenant).await
    }

    async fn tenant(&self, tenant_id: &str) -> Result<Option<TenantRecord>, StoreError> {
        (self.observe)("tenant");
        self.inner.tenant(tenant_id).await
    }

    async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        (self.observe)("tenants");
        self.inner.tenants().await
    }

    async fn delete_tenant(
        &self,
        tenant_id: &str,
        now: Timestamp,
    ) -> Result<Option<Vec<String>>, StoreError> {
        (self.observe)("delete_tenant");
        self.inner.delete_tenant(tenant_id, now).await
    }

    async fn put_app(&self, app: &AppRecord) -> Result<bool, StoreError> {
        (self.observe)("put_app");
        self.inner.put_app(app).await
    }

    async fn apps(&self) -> Result<Vec<AppRecord>, StoreError> {
        (self.observe)("apps");
        self.inner.apps().await
    }

    async fn delete_app(&self, app_id: &str) -> Result<bool, StoreError> {
        (self.observe)("delete_app");
        self.inner.delete_app(app_id).await
    }
}
