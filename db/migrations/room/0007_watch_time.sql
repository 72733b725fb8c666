-- Watch time of a session: viewer-milliseconds, the sum over viewers of each stay from joining to
-- their last heartbeat or leave. Kept live in Redis by the room service and written here with the
-- other final stats when the session ends; the report divides it by the duration for the average
-- concurrency.
ALTER TABLE room_sessions ADD COLUMN watch_ms BIGINT NOT NULL DEFAULT 0 AFTER duration_seconds;
