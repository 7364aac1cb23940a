//! Mapping between SQLite rows and the engine's records.

use std::time::Duration;

use rusqlite::Row;
use serde::Serialize;
use tessera_core::{
    AppRecord, RefreshTokenRecord, SessionRecord, StoreError, StoredSigningKey, TenantRecord,
    TheftKind, TheftReport, Timestamp,
};

pub(super) const SESSION_COLUMNS: &str = "handle, user_id, tenant_id, created_at, expires_at, \
     session_data, access_token_payload, use_static_key, device_key";

pub(super) const TOKEN_COLUMNS: &str =
    "hash2, session_handle, presented_hash2, issued_at, dead_since, anti_csrf_hash, killed_by";

pub(super) const THEFT_COLUMNS: &str = "id, session_handle, user_id, tenant_id, \
     session_created_at, detected_at, kind, presented_hash2, dead_since, grace_us, newest_hash2, \
     newest_issued_at, revoked, tokens";

fn json_column<T: serde::de::DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            Box::new(error),
        )
    })
}

/// An instant kept in milliseconds (sessions, keys, tenants, revocations).
pub(super) fn millis(row: &Row<'_>, index: usize) -> rusqlite::Result<Timestamp> {
    row.get(index).map(Timestamp::from_millis)
}

/// An instant kept in microseconds (refresh tokens, theft reports).
fn micros(row: &Row<'_>, index: usize) -> rusqlite::Result<Timestamp> {
    row.get(index).map(Timestamp::from_micros)
}

fn maybe_millis(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<Timestamp>> {
    Ok(row
        .get::<_, Option<i64>>(index)?
        .map(Timestamp::from_millis))
}

fn maybe_micros(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<Timestamp>> {
    Ok(row
        .get::<_, Option<i64>>(index)?
        .map(Timestamp::from_micros))
}

pub(super) fn session_from_row(row: &Row<'_>) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        handle: row.get(0)?,
        user_id: row.get(1)?,
        tenant_id: row.get(2)?,
        created_at: millis(row, 3)?,
        expires_at: millis(row, 4)?,
        session_data: json_column(row, 5)?,
        access_token_payload: json_column(row, 6)?,
        use_static_key: row.get(7)?,
        device_key: row.get(8)?,
    })
}

pub(super) fn app_from_row(row: &Row<'_>) -> rusqlite::Result<AppRecord> {
    Ok(AppRecord {
        app_id: row.get(0)?,
        config: json_column(row, 1)?,
        created_at: millis(row, 2)?,
    })
}

pub(super) fn tenant_from_row(row: &Row<'_>) -> rusqlite::Result<TenantRecord> {
    Ok(TenantRecord {
        tenant_id: row.get(0)?,
        config: json_column(row, 1)?,
        created_at: millis(row, 2)?,
    })
}

pub(super) fn token_from_row(row: &Row<'_>) -> rusqlite::Result<RefreshTokenRecord> {
    Ok(RefreshTokenRecord {
        hash2: row.get(0)?,
        session_handle: row.get(1)?,
        presented_hash2: row.get(2)?,
        issued_at: micros(row, 3)?,
        dead_since: maybe_micros(row, 4)?,
        anti_csrf_hash: row.get(5)?,
        killed_by: row.get(6)?,
    })
}

pub(super) fn theft_from_row(row: &Row<'_>) -> rusqlite::Result<TheftReport> {
    let kind: String = row.get(6)?;
    Ok(TheftReport {
        id: row.get(0)?,
        session_handle: row.get(1)?,
        user_id: row.get(2)?,
        tenant_id: row.get(3)?,
        session_created_at: millis(row, 4)?,
        detected_at: micros(row, 5)?,
        kind: TheftKind::parse(&kind).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                6,
                rusqlite::types::Type::Text,
                format!("unknown theft kind {kind:?}").into(),
            )
        })?,
        presented_hash2: row.get(7)?,
        dead_since: maybe_micros(row, 8)?,
        grace: Duration::from_micros(u64::try_from(row.get::<_, i64>(9)?).unwrap_or(0)),
        newest_hash2: row.get(10)?,
        newest_issued_at: maybe_micros(row, 11)?,
        revoked: row.get(12)?,
        tokens: json_column(row, 13)?,
    })
}

pub(super) fn key_from_row(row: &Row<'_>) -> rusqlite::Result<StoredSigningKey> {
    Ok(StoredSigningKey {
        kid: row.get(0)?,
        slot: row.get(1)?,
        algorithm: row.get(2)?,
        private_key: row.get(3)?,
        created_at: millis(row, 4)?,
        expires_at: maybe_millis(row, 5)?,
    })
}

pub(super) fn json_text(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::Corrupt(error.to_string()))
}
