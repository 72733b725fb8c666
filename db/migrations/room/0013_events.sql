-- Events of the room service: SessionStarted, SessionEnded.
-- The room service's events, one row per subscriber, written in the transaction that makes the
-- change and delivered by its relay (services/common/events.h; docs/EVENTS.md).
CREATE TABLE room_event_outbox (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  subscriber        VARCHAR(32)     NOT NULL COMMENT 'the consuming service',
  brand_id          VARCHAR(128)    NOT NULL,
  event_key         VARCHAR(128)    NOT NULL COMMENT 'what the event is about (an order, a session)',
  type              VARCHAR(128)    NOT NULL COMMENT 'the payload message, e.g. livecommerce.events.v1.OrderPaid',
  payload           BLOB            NOT NULL,
  occurred_at       DATETIME(6)     NOT NULL,
  delivered_at      DATETIME(6)     NULL,
  PRIMARY KEY (id),
  KEY room_event_outbox_due (subscriber, delivered_at, id),
  KEY room_event_outbox_pending (delivered_at, occurred_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
