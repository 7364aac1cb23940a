-- Apps other than `public`, registered in the public app's database; each app keeps its sessions,
-- tenants and signing keys in a schema of its own (see tessera_store::open_app).
CREATE TABLE apps (
    app_id TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
