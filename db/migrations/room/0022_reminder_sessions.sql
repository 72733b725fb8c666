-- The session a LIVE reminder announces (set when the session goes live), so that the reminder's
-- sending can be told to the report (ReminderSent) against that session.
ALTER TABLE room_reminders ADD COLUMN session_id BIGINT UNSIGNED NULL AFTER room_id;
