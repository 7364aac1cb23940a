//! Embedded, numbered migrations, applied in order at open inside one write transaction.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tessera_core::StoreError;

use crate::schema::{admit, SchemaPolicy, SchemaVersions};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/sqlite/0002_use_marks_dead.sql"),
    ),
    (
        3,
        include_str!("../../migrations/sqlite/0003_revocation_log.sql"),
    ),
    (4, include_str!("../../migrations/sqlite/0004_tenants.sql")),
    (5, include_str!("../../migrations/sqlite/0005_apps.sql")),
    (
        6,
        include_str!("../../migrations/sqlite/0006_device_keys.sql"),
    ),
    (
        7,
        include_str!("../../migrations/sqlite/0007_theft_reports.sql"),
    ),
    (
        8,
        include_str!("../../migrations/sqlite/0008_session_version.sql"),
    ),
];

/// Brings the schema up to date, or (with [`SchemaPolicy::RequireCurrent`]) checks that it is.
pub(super) fn prepare(
    connection: &mut Connection,
    policy: SchemaPolicy,
) -> Result<SchemaVersions, StoreError> {
    let failed = |error: rusqlite::Error| StoreError::Migration(error.to_string());
    // Two processes opening a fresh file at once: the write lock makes one wait for the other.
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(failed)?;
    let has_table: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tessera_migrations')",
            [],
            |row| row.get(0),
        )
        .map_err(failed)?;
    let found: i64 = if has_table {
        tx.query_row("SELECT MAX(version) FROM tessera_migrations", [], |row| {
            row.get::<_, Option<i64>>(0)
        })
        .optional()
        .map_err(failed)?
        .flatten()
        .unwrap_or(0)
    } else {
        0
    };
    let known = MIGRATIONS.last().map_or(0, |(version, _)| *version);
    admit(found, known, policy)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS tessera_migrations (version INTEGER PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(failed)?;
    for (version, sql) in MIGRATIONS.iter().filter(|(version, _)| *version > found) {
        tx.execute_batch(sql).map_err(failed)?;
        tx.execute(
            "INSERT INTO tessera_migrations (version, applied_at) VALUES (?1, strftime('%s','now') * 1000)",
            params![version],
        )
        .map_err(failed)?;
    }
    tx.commit().map_err(failed)?;
    Ok(SchemaVersions { found, now: known })
}
