//! What opening a store does about its schema, and what it found: shared by every store.

use tessera_core::StoreError;

/// What opening a store does about its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaPolicy {
    /// Bring the schema up to date (creating it in an empty database).
    #[default]
    Migrate,
    /// Refuse to open unless the schema is exactly what this build expects: for operators who
    /// migrate in a separate step (`tessera migrate`) and never let a server alter the schema.
    RequireCurrent,
}

/// A store's schema version before and after it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaVersions {
    /// The version found (0 for an empty database).
    pub found: i64,
    /// The version now, which is this build's.
    pub now: i64,
}

/// Whether a database at schema version `found` may be opened by this build, which knows up to
/// `expected`: never when it is newer, and under [`SchemaPolicy::RequireCurrent`] only when equal.
pub(crate) fn admit(found: i64, expected: i64, policy: SchemaPolicy) -> Result<(), StoreError> {
    if found > expected || (policy == SchemaPolicy::RequireCurrent && found != expected) {
        return Err(schema_mismatch(found, expected));
    }
    Ok(())
}

/// The error for a database whose schema is not the one this build expects.
fn schema_mismatch(found: i64, expected: i64) -> StoreError {
    if found > expected {
        StoreError::Migration(format!(
            "the database is at schema version {found}, newer than this build knows ({expected})"
        ))
    } else {
        StoreError::Migration(format!(
            "the database is at schema version {found} and this build needs {expected}: migrate it first (`tessera migrate`)"
        ))
    }
}
