//! Rows to records, for the queries whose columns are the same on PostgreSQL and MySQL: each
//! store's `SELECT`s name their columns in the order these read them.

use std::time::Duration;

use tessera_core::{
    AppRecord, RefreshTokenRecord, RevocationRecord, SessionRecord, StoredSigningKey, TenantRecord,
    TheftKind, TheftReport, Timestamp,
};

use super::decode_json;

/// A result row read by column position. Holds, in one place, the decoding bounds that sqlx's
/// generic rows need, so the mappings below read as plain field lists.
pub(crate) trait Columns {
    fn text(&self, index: usize) -> Result<String, sqlx::Error>;
    fn maybe_text(&self, index: usize) -> Result<Option<String>, sqlx::Error>;
    fn number(&self, index: usize) -> Result<i64, sqlx::Error>;
    fn maybe_number(&self, index: usize) -> Result<Option<i64>, sqlx::Error>;
    fn flag(&self, index: usize) -> Result<bool, sqlx::Error>;

    /// An instant kept in milliseconds (sessions, keys, tenants, revocations).
    fn millis(&self, index: usize) -> Result<Timestamp, sqlx::Error> {
        self.number(index).map(Timestamp::from_millis)
    }

    /// An instant kept in microseconds (refresh tokens, theft reports).
    fn micros(&self, index: usize) -> Result<Timestamp, sqlx::Error> {
        self.number(index).map(Timestamp::from_micros)
    }

    fn maybe_millis(&self, index: usize) -> Result<Option<Timestamp>, sqlx::Error> {
        Ok(self.maybe_number(index)?.map(Timestamp::from_millis))
    }

    fn maybe_micros(&self, index: usize) -> Result<Option<Timestamp>, sqlx::Error> {
        Ok(self.maybe_number(index)?.map(Timestamp::from_micros))
    }
}

impl<Row> Columns for Row
where
    Row: sqlx::Row,
    usize: sqlx::ColumnIndex<Row>,
    String: for<'r> sqlx::Decode<'r, Row::Database> + sqlx::Type<Row::Database>,
    i64: for<'r> sqlx::Decode<'r, Row::Database> + sqlx::Type<Row::Database>,
    bool: for<'r> sqlx::Decode<'r, Row::Database> + sqlx::Type<Row::Database>,
{
    fn text(&self, index: usize) -> Result<String, sqlx::Error> {
        self.try_get(index)
    }

    fn maybe_text(&self, index: usize) -> Result<Option<String>, sqlx::Error> {
        self.try_get(index)
    }

    fn number(&self, index: usize) -> Result<i64, sqlx::Error> {
        self.try_get(index)
    }

    fn maybe_number(&self, index: usize) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(index)
    }

    fn flag(&self, index: usize) -> Result<bool, sqlx::Error> {
        self.try_get(index)
    }
}

/// `handle, user_id, tenant_id, created_at, expires_at, session_data, access_token_payload,
/// use_static_key, device_key`.
pub(crate) fn session(row: &impl Columns) -> Result<SessionRecord, sqlx::Error> {
    Ok(SessionRecord {
        handle: row.text(0)?,
        user_id: row.text(1)?,
        tenant_id: row.text(2)?,
        created_at: row.millis(3)?,
        expires_at: row.millis(4)?,
        session_data: decode_json(&row.text(5)?)?,
        access_token_payload: decode_json(&row.text(6)?)?,
        use_static_key: row.flag(7)?,
        device_key: row.maybe_text(8)?,
    })
}

/// `hash2, session_handle, presented_hash2, issued_at, dead_since, anti_csrf_hash, killed_by`,
/// from column `first` on (0 alone, 9 after a session's columns).
pub(crate) fn token(row: &impl Columns, first: usize) -> Result<RefreshTokenRecord, sqlx::Error> {
    Ok(RefreshTokenRecord {
        hash2: row.text(first)?,
        session_handle: row.text(first + 1)?,
        presented_hash2: row.maybe_text(first + 2)?,
        issued_at: row.micros(first + 3)?,
        dead_since: row.maybe_micros(first + 4)?,
        anti_csrf_hash: row.maybe_text(first + 5)?,
        killed_by: row.maybe_text(first + 6)?,
    })
}

/// Where a presented token's columns start in a row that holds its session's first.
pub(crate) const PRESENTED_TOKEN_COLUMN: usize = 9;

/// Where the session's version is in that row, after the token's columns.
pub(crate) const PRESENTED_VERSION_COLUMN: usize = 16;

/// `id, session_handle, user_id, tenant_id, session_created_at, detected_at, kind,
/// presented_hash2, dead_since, grace_us, newest_hash2, newest_issued_at, revoked, tokens`.
pub(crate) fn theft(row: &impl Columns) -> Result<TheftReport, sqlx::Error> {
    let kind = row.text(6)?;
    Ok(TheftReport {
        id: row.number(0)?,
        session_handle: row.text(1)?,
        user_id: row.text(2)?,
        tenant_id: row.text(3)?,
        session_created_at: row.millis(4)?,
        detected_at: row.micros(5)?,
        kind: TheftKind::parse(&kind)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown theft kind {kind:?}").into()))?,
        presented_hash2: row.text(7)?,
        dead_since: row.maybe_micros(8)?,
        grace: Duration::from_micros(u64::try_from(row.number(9)?).unwrap_or(0)),
        newest_hash2: row.maybe_text(10)?,
        newest_issued_at: row.maybe_micros(11)?,
        revoked: row.flag(12)?,
        tokens: decode_json(&row.text(13)?)?,
    })
}

/// `seq, session_handle, revoked_at`.
pub(crate) fn revocation(row: &impl Columns) -> Result<RevocationRecord, sqlx::Error> {
    Ok(RevocationRecord {
        seq: row.number(0)?,
        session_handle: row.text(1)?,
        revoked_at: row.millis(2)?,
    })
}

/// `kid, slot, algorithm, private_key, created_at, expires_at`.
pub(crate) fn signing_key(row: &impl Columns) -> Result<StoredSigningKey, sqlx::Error> {
    Ok(StoredSigningKey {
        kid: row.text(0)?,
        slot: row.text(1)?,
        algorithm: row.text(2)?,
        private_key: row.text(3)?,
        created_at: row.millis(4)?,
        expires_at: row.maybe_millis(5)?,
    })
}

/// `tenant_id, config, created_at`.
pub(crate) fn tenant(row: &impl Columns) -> Result<TenantRecord, sqlx::Error> {
    Ok(TenantRecord {
        tenant_id: row.text(0)?,
        config: decode_json(&row.text(1)?)?,
        created_at: row.millis(2)?,
    })
}

/// `app_id, config, created_at`.
pub(crate) fn app(row: &impl Columns) -> Result<AppRecord, sqlx::Error> {
    Ok(AppRecord {
        app_id: row.text(0)?,
        config: decode_json(&row.text(1)?)?,
        created_at: row.millis(2)?,
    })
}
