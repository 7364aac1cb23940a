-- Tenants other than `public` (which always exists and is not stored): created, listed and
-- deleted through the multitenancy API. Deleting one revokes its sessions, found by this index.
CREATE TABLE tenants (
    tenant_id TEXT PRIMARY KEY NOT NULL,
    config TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_tenant ON sessions (tenant_id);
