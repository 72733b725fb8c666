-- The event outbox keeps one secondary index: (subscriber, delivered_at, id) serves the relay's
-- reads, its lag and its purge, each per subscriber; a second index only cost every write.
ALTER TABLE room_event_outbox DROP INDEX room_event_outbox_pending;
