//! An in-memory [`SessionStore`] for tests and examples. Not persistent, one process only.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::clock::UnixMillis;
use crate::error::StoreError;
use crate::rotation::{self, Plan};
use crate::store::{
    RefreshOutcome, RefreshRequest, RefreshTokenRecord, SessionRecord, SessionStore,
    StoredSigningKey,
};

#[derive(Default)]
struct Tables {
    sessions: HashMap<String, SessionRecord>,
    tokens: HashMap<String, RefreshTokenRecord>,
    keys: Vec<StoredSigningKey>,
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

fn live(session: &SessionRecord, now: UnixMillis) -> bool {
    session.expires_at > now
}

impl Tables {
    fn supersede(&mut self, hashes: &[String], now: UnixMillis) {
        for hash2 in hashes {
            if let Some(token) = self.tokens.get_mut(hash2) {
                token.superseded_at.get_or_insert(now);
            }
        }
    }

    fn delete_sessions(&mut self, handles: &[String]) -> Vec<String> {
        let removed: Vec<String> = handles
            .iter()
            .filter(|handle| self.sessions.remove(*handle).is_some())
            .cloned()
            .collect();
        self.tokens
            .retain(|_, token| !removed.contains(&token.session_handle));
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
impl SessionStore for MemoryStore {
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
        now: UnixMillis,
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

    async fn refresh(&self, request: RefreshRequest) -> Result<RefreshOutcome, StoreError> {
        let mut tables = self.lock();
        let Some(presented) = tables.tokens.get(&request.presented_hash2).cloned() else {
            return Ok(RefreshOutcome::Rejected {
                reason: "unknown refresh token",
                clear_tokens: true,
            });
        };
        let Some(session) = tables.sessions.get(&presented.session_handle).cloned() else {
            return Ok(RefreshOutcome::Rejected {
                reason: "session does not exist",
                clear_tokens: true,
            });
        };
        let plan = rotation::plan(&session, &presented, &request);
        match &plan {
            Plan::Reject { .. } => {}
            Plan::Theft { revoke } => {
                if *revoke {
                    tables.delete_sessions(std::slice::from_ref(&session.handle));
                }
            }
            Plan::Rotate(writes) => {
                let now = request.now;
                if let Some(hash2) = &writes.commit {
                    if let Some(token) = tables.tokens.get_mut(hash2) {
                        token.committed_at = Some(now);
                    }
                }
                tables.supersede(&writes.supersede, now);
                if let Some(hash2) = &writes.adopt {
                    if let Some(token) = tables.tokens.get_mut(hash2) {
                        token.parent_hash2 = Some(writes.session.current_hash2.clone());
                        token.issued_at = now;
                    }
                }
                tables
                    .tokens
                    .insert(writes.child.hash2.clone(), writes.child.clone());
                tables
                    .sessions
                    .insert(session.handle.clone(), writes.session.clone());
            }
        }
        Ok(plan.outcome(&session))
    }

    async fn record_token_use(
        &self,
        session_handle: &str,
        hash2: &str,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        let mut tables = self.lock();
        let (Some(session), Some(token)) = (
            tables.sessions.get(session_handle).cloned(),
            tables.tokens.get(hash2).cloned(),
        ) else {
            return Ok(false);
        };
        let Some(writes) = rotation::token_used(&session, &token, now) else {
            return Ok(false);
        };
        tables.supersede(&writes.supersede, now);
        if let Some(next) = writes.commit {
            if let Some(token) = tables.tokens.get_mut(hash2) {
                token.committed_at = Some(now);
            }
            tables.sessions.insert(session.handle.clone(), next);
        }
        Ok(true)
    }

    async fn revoke_sessions(&self, handles: &[String]) -> Result<Vec<String>, StoreError> {
        Ok(self.lock().delete_sessions(handles))
    }

    async fn revoke_sessions_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut tables = self.lock();
        let handles = tables.user_handles(tenant_id, user_id);
        Ok(tables.delete_sessions(&handles))
    }

    async fn session_handles_for_user(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        now: UnixMillis,
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

    async fn update_session_data(
        &self,
        handle: &str,
        data: &Value,
        now: UnixMillis,
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
        now: UnixMillis,
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

    async fn delete_expired_sessions(&self, now: UnixMillis) -> Result<u64, StoreError> {
        let mut tables = self.lock();
        let expired: Vec<String> = tables
            .sessions
            .values()
            .filter(|s| !live(s, now))
            .map(|s| s.handle.clone())
            .collect();
        Ok(tables.delete_sessions(&expired).len() as u64)
    }

    async fn signing_keys(&self, now: UnixMillis) -> Result<Vec<StoredSigningKey>, StoreError> {
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

    async fn delete_expired_signing_keys(&self, now: UnixMillis) -> Result<u64, StoreError> {
        let mut tables = self.lock();
        let before = tables.keys.len();
        tables.keys.retain(|k| k.expires_at.is_none_or(|e| e > now));
        Ok((before - tables.keys.len()) as u64)
    }
}
