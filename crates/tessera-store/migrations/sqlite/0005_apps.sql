-- Apps other than `public`, registered in the public app's database; each app keeps its sessions,
-- tenants and signing keys in a database of its own (see tessera_store::open_app).
CREATE TABLE apps (
    app_id TEXT PRIMARY KEY NOT NULL,
    config TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
