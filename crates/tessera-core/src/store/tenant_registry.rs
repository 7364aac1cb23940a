//! Tenants of an app, and the registry of apps (kept by the public app's store).

use super::{AppRecord, TenantRecord};
use crate::error::StoreError;
use crate::time::Timestamp;

contract! {
    /// Tenants and apps.
    pub trait TenantRegistry {
        /// Creates a tenant, or replaces its configuration (keeping its creation time); returns
        /// whether it was created.
        async fn put_tenant(&self, tenant: &TenantRecord) -> Result<bool, StoreError>;

        /// The tenant with this id, if it was created.
        async fn tenant(&self, tenant_id: &str) -> Result<Option<TenantRecord>, StoreError>;

        /// Every created tenant, by id.
        async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError>;

        /// Deletes a tenant and, in the same transaction, revokes (and logs) every session in it;
        /// `None` if there was no such tenant, else the revoked handles.
        async fn delete_tenant(
            &self,
            tenant_id: &str,
            now: Timestamp,
        ) -> Result<Option<Vec<String>>, StoreError>;

        /// Registers an app, or replaces its configuration; returns whether it was created. Only
        /// the public app's store keeps the registry.
        async fn put_app(&self, app: &AppRecord) -> Result<bool, StoreError>;

        /// Every registered app, by id.
        async fn apps(&self) -> Result<Vec<AppRecord>, StoreError>;

        /// Removes an app from the registry; returns whether it was there.
        async fn delete_app(&self, app_id: &str) -> Result<bool, StoreError>;
    }
}
