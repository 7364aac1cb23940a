-- Which token's use marked a token dead, for the picture of a session's tokens.
ALTER TABLE refresh_tokens ADD COLUMN killed_by TEXT;
-- Detected thefts, written in the transaction that detected each one and kept for the retention
-- period (the expiry sweep deletes older ones), so a session revoked by theft can still be
-- explained: `tokens` holds, as JSON, every refresh token the session had at that moment.
CREATE TABLE theft_reports (
    id                 BIGSERIAL PRIMARY KEY,
    session_handle     TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    tenant_id          TEXT NOT NULL,
    session_created_at BIGINT NOT NULL,
    detected_at        BIGINT NOT NULL,
    kind               TEXT NOT NULL,
    presented_hash2    TEXT NOT NULL,
    dead_since         BIGINT,
    grace_us           BIGINT NOT NULL,
    newest_hash2       TEXT,
    newest_issued_at   BIGINT,
    revoked            BOOLEAN NOT NULL,
    tokens             TEXT NOT NULL
);
CREATE INDEX theft_reports_by_user ON theft_reports (user_id);
CREATE INDEX theft_reports_by_session ON theft_reports (session_handle);
CREATE INDEX theft_reports_by_detection ON theft_reports (detected_at);
