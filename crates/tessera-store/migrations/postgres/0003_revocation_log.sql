-- Revoked sessions, in the order they were revoked, so that every process over this database can
-- refuse their access tokens within a second without reading the store on each verification.
-- A row is needed only while access tokens of its session can still be valid: the expiry sweep
-- deletes older ones.
CREATE TABLE revocations (
    seq BIGSERIAL PRIMARY KEY,
    session_handle TEXT NOT NULL,
    revoked_at BIGINT NOT NULL
);
CREATE INDEX revocations_revoked_at ON revocations (revoked_at);
