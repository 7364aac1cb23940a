-- Apps other than `public`, registered in the public app's database; each app keeps its sessions,
-- tenants and signing keys in a database of its own (see tessera_store::open_app).
CREATE TABLE apps (
    app_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    config LONGTEXT CHARACTER SET utf8mb4 NOT NULL,
    created_at BIGINT NOT NULL
);
