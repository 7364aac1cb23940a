//! Shared test harness: an engine over a store, with a clock the test moves.
#![allow(dead_code)]

pub mod suite;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use tessera_core::{
    Clock, ManualClock, RefreshOutcome, RefreshRequest, RefreshTokenRecord, SessionConfig,
    SessionRecord, SessionStore, Sessions, StoreError, StoredSigningKey, UnixMillis,
};

/// 2026-01-01T00:00:00Z, far from any rotation-slot boundary of the default interval.
pub const START: UnixMillis = 1_767_225_600_000 + 3_600_000;

/// An engine, its store (counting calls) and its clock.
pub struct Harness {
    pub sessions: Sessions,
    pub store: Arc<CountingStore>,
    pub clock: Arc<ManualClock>,
}

impl Harness {
    pub fn new(store: Arc<dyn SessionStore>, config: SessionConfig) -> Self {
        let clock = Arc::new(ManualClock::new(START));
        let store = Arc::new(CountingStore::new(store));
        let sessions = Sessions::with_clock(
            Arc::clone(&store) as Arc<dyn SessionStore>,
            config,
            Arc::clone(&clock) as Arc<dyn Clock>,
        );
        Self {
            sessions,
            store,
            clock,
        }
    }

    /// A second engine (as another server process would be) over the same store and clock.
    pub fn sibling(&self, config: SessionConfig) -> Sessions {
        Sessions::with_clock(
            Arc::clone(&self.store) as Arc<dyn SessionStore>,
            config,
            Arc::clone(&self.clock) as Arc<dyn Clock>,
        )
    }
}

/// Wraps a store and counts every call, so tests can show which paths stay off the database.
pub struct CountingStore {
    inner: Arc<dyn SessionStore>,
    calls: AtomicU64,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn SessionStore>) -> Self {
        Self {
            inner,
            calls: AtomicU64::new(0),
        }
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl SessionStore for CountingStore {
    async fn create_session(
        &self,
        session: SessionRecord,
        first_token: RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        self.count();
        self.inner.create_session(session, first_token).await
    }
    async fn session(
        &self,
        handle: &str,
        now: UnixMillis,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.count();
        self.inner.session(handle, now).await
    }
    async fn refresh_token(&self, hash2: &str) -> Result<Option<RefreshTokenRecord>, StoreError> {
        self.count();
        self.inner.refresh_token(hash2).await
    }
    async fn refresh(&self, request: RefreshRequest) -> Result<RefreshOutcome, StoreError> {
        self.count();
        self.inner.refresh(request).await
    }
    async fn record_token_use(
        &self,
        session_handle: &str,
        hash2: &str,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        self.count();
        self.inner
            .record_token_use(session_handle, hash2, now)
            .await
    }
    async fn revoke_sessions(&self, handles: &[String]) -> Result<Vec<String>, StoreError> {
        self.count();
        self.inner.revoke_sessions(handles).await
    }
    async fn revoke_sessions_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.count();
        self.inner
            .revoke_sessions_for_user(tenant_id, user_id)
            .await
    }
    async fn session_handles_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: UnixMillis,
    ) -> Result<Vec<String>, StoreError> {
        self.count();
        self.inner
            .session_handles_for_user(tenant_id, user_id, now)
            .await
    }
    async fn update_session_data(
        &self,
        handle: &str,
        data: &Value,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        self.count();
        self.inner.update_session_data(handle, data, now).await
    }
    async fn update_access_token_payload(
        &self,
        handle: &str,
        payload: &Map<String, Value>,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        self.count();
        self.inner
            .update_access_token_payload(handle, payload, now)
            .await
    }
    async fn delete_expired_sessions(&self, now: UnixMillis) -> Result<u64, StoreError> {
        self.count();
        self.inner.delete_expired_sessions(now).await
    }
    async fn signing_keys(&self, now: UnixMillis) -> Result<Vec<StoredSigningKey>, StoreError> {
        self.count();
        self.inner.signing_keys(now).await
    }
    async fn insert_signing_key(&self, key: &StoredSigningKey) -> Result<bool, StoreError> {
        self.count();
        self.inner.insert_signing_key(key).await
    }
    async fn delete_expired_signing_keys(&self, now: UnixMillis) -> Result<u64, StoreError> {
        self.count();
        self.inner.delete_expired_signing_keys(now).await
    }
}

/// A fresh SQLite file in its own temporary directory (kept alive by the returned guard).
pub async fn sqlite_store() -> (Arc<dyn SessionStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = tessera_store::SqliteStore::open(dir.path().join("tessera.db"))
        .await
        .expect("open SQLite store");
    (Arc::new(store), dir)
}
