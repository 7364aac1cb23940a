-- A counter every change to a session or its tokens increments: a presentation reads the session
-- and its token in one statement, decides, and writes only if the counter is still what it read
-- (optimistic concurrency), so a refresh costs two round trips instead of a locked transaction's
-- seven. SQLite serialises writers itself and only keeps the column in step.
ALTER TABLE sessions ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
