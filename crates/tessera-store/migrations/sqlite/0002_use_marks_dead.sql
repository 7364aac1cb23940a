-- Rotation rules of version 2: a refresh token is dead from the first use of another token that
-- proves the client moved past it (`dead_since`); there is no committed "current" token any more.
-- Rotation times are kept in microseconds, so that a zero grace window forgives nothing.
ALTER TABLE refresh_tokens RENAME COLUMN superseded_at TO dead_since;
UPDATE refresh_tokens SET issued_at = issued_at * 1000, dead_since = dead_since * 1000;
ALTER TABLE refresh_tokens DROP COLUMN parent_hash2;
ALTER TABLE refresh_tokens DROP COLUMN committed_at;
ALTER TABLE sessions DROP COLUMN current_hash2;
ALTER TABLE sessions DROP COLUMN rotated_at;
-- A use marks the session's live tokens: find them without reading its dead ones.
CREATE INDEX refresh_tokens_live ON refresh_tokens (session_handle, dead_since);
