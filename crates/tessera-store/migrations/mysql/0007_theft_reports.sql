-- Which token's use marked a token dead, for the picture of a session's tokens.
ALTER TABLE refresh_tokens ADD COLUMN killed_by CHAR(64) CHARACTER SET ascii COLLATE ascii_bin;
-- Detected thefts, written in the transaction that detected each one and kept for the retention
-- period (the expiry sweep deletes older ones), so a session revoked by theft can still be
-- explained: `tokens` holds, as JSON, every refresh token the session had at that moment.
CREATE TABLE theft_reports (
    id                 BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    session_handle     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    user_id            VARCHAR(512) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    tenant_id          VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    session_created_at BIGINT NOT NULL,
    detected_at        BIGINT NOT NULL,
    kind               VARCHAR(32) CHARACTER SET ascii NOT NULL,
    presented_hash2    CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    dead_since         BIGINT,
    grace_us           BIGINT NOT NULL,
    newest_hash2       CHAR(64) CHARACTER SET ascii COLLATE ascii_bin,
    newest_issued_at   BIGINT,
    revoked            BOOLEAN NOT NULL,
    tokens             LONGTEXT CHARACTER SET utf8mb4 NOT NULL,
    INDEX theft_reports_by_user (user_id),
    INDEX theft_reports_by_session (session_handle),
    INDEX theft_reports_by_detection (detected_at)
) ENGINE = InnoDB;
