//! An in-memory [`SessionStore`](crate::SessionStore) for tests and examples (not persistent, one process only), and a
//! [`TestDevice`] that signs device proofs as a browser does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use serde_json::{Map, Value};

pub use crate::test_device::TestDevice;

use crate::error::StoreError;
use crate::rotation::{self, Write};
use crate::store::{
    AppRecord, PresentOutcome, Presentation, RefreshTokenRecord, RevocationLog, RevocationRecord,
    SessionRecord, SessionRecords, SigningKeyStore, StoredSigningKey, TenantRecord, TenantRegistry,
};
use crate::theft::{TheftQuery, TheftReport};
use crate::time::Timestamp;

#[derive(Default)]
struct Tables {
    sessions: HashMap<String, SessionRecord>,
    tokens: HashMap<String, RefreshTokenRecord>,
    keys: Vec<StoredSigningKey>,
    revocations: Vec<RevocationRecord>,
    tenants: std::collections::BTreeMap<String, TenantRecord>,
    apps: std::collections::BTreeMap<String, AppRecord>,
    /// The last revocation-log position handed out; never reused, as in the SQL stores.
    last_revocation_seq: i64,
    /// Theft reports, oldest first.
    thefts: Vec<TheftReport>,
    last_theft_id: i64,
}

/// Keeps everything in a mutex-guarded map. Counts calls so tests can show what touched it.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    calls: AtomicU64,
}

impl MemoryStore {
    /// How many store calls have been made.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn live(session: &SessionRecord, now: Timestamp) -> bool {
    session.expires_at > now
}

impl Tables {
    /// Deletes sessions; logs them as revoked at `revoked_at` unless `None` (expiry).
    fn delete_sessions(
        &mut self,
        handles: &[String],
        revoked_at: Option<Timestamp>,
    ) -> Vec<String> {
        let removed: Vec<String> = handles
            .iter()
            .filter(|handle| self.sessions.remove(*handle).is_some())
            .cloned()
            .collect();
        self.tokens
            .retain(|_, token| !removed.contains(&token.session_handle));
        if let Some(revoked_at) = revoked_at {
            for handle in &removed {
                self.last_revocation_seq += 1;
                self.revocations.push(RevocationRecord {
                    seq: self.last_revocation_seq,
                    session_handle: handle.clone(),
                    revoked_at,
                });
            }
        }
        removed
    }

    fn user_handles(&self, tenant_id: Option<&str>, user_id: &str) -> Vec<String> {
        self.sessions
            .values()
            .filter(|s| s.user_id == user_id && tenant_id.is_none_or(|t| s.tenant_id == t))
            .map(|s| s.handle.clone())
            .collect()
    }
}

#[async_trait]
impl SessionRecords for MemoryStore {
    async fn create_session(
        &self,
        session: SessionRecord,
        first_token: RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock();
        tables.tokens.insert(first_token.hash2.clone(), first_token);
        tables.sessions.insert(session.handle.clone(), session);
        Ok(())
    }

    async fn session(
        &self,
        handle: &str,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self
            .lock()
            .sessions
            .get(handle)
            .filter(|s| live(s, now))
            .cloned())
    }

    async fn refresh_token(&self, hash2: &str) -> Result<Option<RefreshTokenRecord>, StoreError> {
        Ok(self.lock().tokens.get(hash2).cloned())
    }

    async fn session_tokens(&self, handle: &str) -> Result<Vec<RefreshTokenRecord>, StoreError> {
        Ok(self
            .lock()
            .tokens
            .values()
            .filter(|token| token.session_handle == handle)
            .cloned()
            .collect())
    }

    async fn theft_reports(&self, query: &TheftQuery) -> Result<Vec<TheftReport>, StoreError> {
        Ok(self
            .lock()
            .thefts
            .iter()
            .rev()
            .filter(|report| {
                query.user_id.as_ref().is_none_or(|u| *u == report.user_id)
                    && query
                        .session_handle
                        .as_ref()
                        .is_none_or(|h| *h == report.session_handle)
                    && query.before_id.is_none_or(|id| report.id < id)
            })
            .take(query.limit as usize)
            .cloned()
            .collect())
    }

    async fn delete_old_theft_reports(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut tables = self.lock();
        let count = tables.thefts.len();
        tables.thefts.retain(|report| report.detected_at >= before);
        Ok((count - tables.thefts.len()) as u64)
    }

    async fn present(&self, presentation: Presentation) -> Result<PresentOutcome, StoreError> {
        let mut tables = self.lock();
        let Some(presented) = tables.tokens.get(&presentation.presented_hash2).cloned() else {
            return Ok(PresentOutcome::UNKNOWN_TOKEN);
        };
        let Some(mut session) = tables.sessions.get(&presented.session_handle).cloned() else {
            return Ok(PresentOutcome::NO_SESSION);
        };
        let plan = rotation::plan(&session, &presented, &presentation);
        let mut session_tokens: Vec<RefreshTokenRecord> = Vec::new();
        tables.tokens.retain(|_, token| {
            if token.session_handle == session.handle {
                session_tokens.push(token.clone());
                false
            } else {
                true
            }
        });
        for write in plan.writes(&session) {
            if let Write::RecordTheft { kind, revoked } = write {
                let mut report = rotation::theft_report(
                    &session,
                    &presented,
                    &session_tokens,
                    &presentation,
                    kind,
                    revoked,
                );
                tables.last_theft_id += 1;
                report.id = tables.last_theft_id;
                tables.thefts.push(report);
            }
        }
        let outcome = rotation::apply_in_memory(&plan, &mut session, &mut session_tokens);
        if matches!(plan, rotation::Plan::Theft { revoke: true, .. }) {
            tables.delete_sessions(
                std::slice::from_ref(&session.handle),
                Some(presentation.now.whole_millis()),
            );
        } else {
            tables.sessions.insert(session.handle.clone(), session);
        }
        for token in session_tokens {
            tables.tokens.insert(token.hash2.clone(), token);
        }
        Ok(outcome)
    }

    async fn session_handles(&self, after: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        let tables = self.lock();
        let mut handles: Vec<String> = tables
            .sessions
            .keys()
            .filter(|handle| handle.as_str() > after)
            .cloned()
            .collect();
        handles.sort();
        handles.truncate(limit as usize);
        Ok(handles)
    }

    async fn session_handles_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let tables = self.lock();
        let mut handles: Vec<String> = tables
            .user_handles(tenant_id, user_id)
            .into_iter()
            .filter(|h| tables.sessions.get(h).is_some_and(|s| live(s, now)))
            .collect();
        handles.sort();
        Ok(handles)
    }

    async fn sessions_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let tables = self.lock();
        let mut sessions: Vec<SessionRecord> = tables
            .sessions
            .values()
            .filter(|s| s.user_id == user_id && tenant_id.is_none_or(|t| s.tenant_id == t))
            .filter(|s| live(s, now))
            .cloned()
            .collect();
        sessions.sort_by(|a, b| (a.created_at, &a.handle).cmp(&(b.created_at, &b.handle)));
        Ok(sessions)
    }

    async fn bind_device(
        &self,
        handle: &str,
        device_key: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tables = self.lock();
        match tables.sessions.get_mut(handle).filter(|s| live(s, now)) {
            Some(session) if session.device_key.is_none() => {
                session.device_key = Some(device_key.to_owned());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn update_session_data(
        &self,
        handle: &str,
        data: &Value,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tables = self.lock();
        match tables.sessions.get_mut(handle).filter(|s| live(s, now)) {
            Some(session) => {
                session.session_data = data.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn update_access_token_payload(
        &self,
        handle: &str,
        payload: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tables = self.lock();
        match tables.sessions.get_mut(handle).filter(|s| live(s, now)) {
            Some(session) => {
                session.access_token_payload = payload.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        let mut tables = self.lock();
        let expired: Vec<String> = tables
            .sessions
            .values()
            .filter(|s| !live(s, now))
            .map(|s| s.handle.clone())
            .collect();
        Ok(tables.delete_sessions(&expired, None).len() as u64)
    }
}

#[async_trait]
impl RevocationLog for MemoryStore {
    async fn revoke_sessions(
        &self,
        handles: &[String],
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        Ok(self.lock().delete_sessions(handles, Some(now)))
    }

    async fn revoke_sessions_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let mut tables = self.lock();
        let handles = tables.user_handles(tenant_id, user_id);
        Ok(tables.delete_sessions(&handles, Some(now)))
    }

    async fn revocations(
        &self,
        after: i64,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<RevocationRecord>, StoreError> {
        Ok(self
            .lock()
            .revocations
            .iter()
            .filter(|r| r.seq > after && r.revoked_at >= since)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn delete_old_revocations(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut tables = self.lock();
        let count = tables.revocations.len();
        tables.revocations.retain(|r| r.revoked_at >= before);
        Ok((count - tables.revocations.len()) as u64)
    }
}

#[async_trait]
impl SigningKeyStore for MemoryStore {
    async fn signing_keys(&self, now: Timestamp) -> Result<Vec<StoredSigningKey>, StoreError> {
        Ok(self
            .lock()
            .keys
            .iter()
            .filter(|k| k.expires_at.is_none_or(|e| e > now))
            .cloned()
            .collect())
    }

    async fn insert_signing_key(&self, key: &StoredSigningKey) -> Result<bool, StoreError> {
        let mut tables = self.lock();
        if tables
            .keys
            .iter()
            .any(|k| k.slot == key.slot || k.kid == key.kid)
        {
            return Ok(false);
        }
        tables.keys.push(key.clone());
        Ok(true)
    }

    async fn delete_expired_signing_keys(&self, now: Timestamp) -> Result<u64, StoreError> {
        let mut tables = self.lock();
        let before = tables.keys.len();
        tables.keys.retain(|k| k.expires_at.is_none_or(|e| e > now));
        Ok((before - tables.keys.len()) as u64)
    }
}

#[async_trait]
impl TenantRegistry for MemoryStore {
    async fn put_tenant(&self, tenant: &TenantRecord) -> Result<bool, StoreError> {
        let mut tables = self.lock();
        match tables.tenants.get_mut(&tenant.tenant_id) {
            Some(existing) => {
                existing.config = tenant.config.clone();
                Ok(false)
            }
            None => {
                tables
                    .tenants
                    .insert(tenant.tenant_id.clone(), tenant.clone());
                Ok(true)
            }
        }
    }

    async fn tenant(&self, tenant_id: &str) -> Result<Option<TenantRecord>, StoreError> {
        Ok(self.lock().tenants.get(tenant_id).cloned())
    }

    async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        Ok(self.lock().tenants.values().cloned().collect())
    }

    async fn delete_tenant(
        &self,
        tenant_id: &str,
        now: Timestamp,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let mut tables = self.lock();
        if tables.tenants.remove(tenant_id).is_none() {
            return Ok(None);
        }
        let mut handles: Vec<String> = tables
            .sessions
            .values()
            .filter(|s| s.tenant_id == tenant_id)
            .map(|s| s.handle.clone())
            .collect();
        handles.sort();
        Ok(Some(tables.delete_sessions(&handles, Some(now))))
    }

    async fn put_app(&self, app: &AppRecord) -> Result<bool, StoreError> {
        let mut tables = self.lock();
        match tables.apps.get_mut(&app.app_id) {
            Some(existing) => {
                existing.config = app.config.clone();
                Ok(false)
            }
            None => {
                tables.apps.insert(app.app_id.clone(), app.clone());
                Ok(true)
            }
        }
    }

    async fn apps(&self) -> Result<Vec<AppRecord>, StoreError> {
        Ok(self.lock().apps.values().cloned().collect())
    }

    async fn delete_app(&self, app_id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().apps.remove(app_id).is_some())
    }
}
