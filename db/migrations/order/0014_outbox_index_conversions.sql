-- The event outbox keeps one secondary index: (subscriber, delivered_at, id) serves the relay's
-- reads, its lag and its purge, each per subscriber; a second index only cost every write.
-- conversions is gone: it was the report's copy of each paid order, and the report now keeps its
-- own from OrderPaid (report_orders); nothing reads it, and writing it cost every payment.
ALTER TABLE order_event_outbox DROP INDEX order_event_outbox_pending;
DROP TABLE conversions;
