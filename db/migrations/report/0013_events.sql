-- The report service keeps what it needs of other services' data in its own tables, from their
-- events (docs/EVENTS.md), instead of reading their tables: sessions (room), paid orders and
-- refunds (order), credits (attribution). The cursors over other services' tables go.

-- Events applied, each once: (producer, event id) is claimed in the transaction that applies it.
CREATE TABLE report_consumed_events (
  producer          VARCHAR(32)     NOT NULL,
  event_id          BIGINT UNSIGNED NOT NULL,
  type              VARCHAR(128)    NOT NULL,
  applied_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (producer, event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Sessions as the room service published them: the room's settings when it went live and, once
-- ended, the final presence figures.
CREATE TABLE report_sessions (
  session_id        BIGINT UNSIGNED NOT NULL,
  brand_id          VARCHAR(128)    NOT NULL,
  room_id           BIGINT UNSIGNED NOT NULL,
  title             VARCHAR(200)    NOT NULL DEFAULT '',
  visibility        TINYINT         NOT NULL DEFAULT 0,
  audiences         INT UNSIGNED    NOT NULL DEFAULT 0,
  objective         TINYINT         NOT NULL DEFAULT 0,
  format            TINYINT         NOT NULL DEFAULT 0,
  started_at        DATETIME(6)     NULL COMMENT 'NULL until SessionStarted is applied',
  ended_at          DATETIME(6)     NULL,
  duration_seconds  BIGINT          NOT NULL DEFAULT 0,
  reach             BIGINT          NOT NULL DEFAULT 0,
  peak_concurrency  BIGINT          NOT NULL DEFAULT 0,
  total_joins       BIGINT          NOT NULL DEFAULT 0,
  watch_ms          BIGINT          NOT NULL DEFAULT 0,
  PRIMARY KEY (session_id),
  KEY idx_report_sessions_brand (brand_id, started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Paid orders (OrderPaid) and how far they are counted: their sales into their session once the
-- session is known (state), their associate once the attribution service credited it or after the
-- credit wait (credited, counted_associate).
CREATE TABLE report_orders (
  order_id          BIGINT UNSIGNED NOT NULL,
  brand_id          VARCHAR(128)    NOT NULL,
  session_id        BIGINT UNSIGNED NOT NULL DEFAULT 0,
  buyer_id          VARCHAR(128)    NOT NULL,
  channel           INT             NOT NULL,
  carried_associate VARCHAR(128)    NOT NULL DEFAULT '',
  currency          CHAR(3)         NOT NULL,
  amount_fen        BIGINT          NOT NULL,
  units             BIGINT          NOT NULL,
  paid_at           DATETIME(6)     NOT NULL,
  order_lines       BLOB            NOT NULL COMMENT 'the OrderPaid event',
  state             TINYINT         NOT NULL DEFAULT 0 COMMENT '0 waiting for its session, 1 counted, 2 counted nowhere',
  credited          TINYINT         NOT NULL DEFAULT 0 COMMENT '1 once counted by associate',
  counted_associate VARCHAR(128)    NOT NULL DEFAULT '',
  refunded_fen      BIGINT          NOT NULL DEFAULT 0,
  PRIMARY KEY (order_id),
  KEY idx_report_orders_session (session_id, state),
  KEY idx_report_orders_credit (credited, state, paid_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The attribution service's decisions (OrderCredited), which may arrive before the order's.
CREATE TABLE report_credits (
  order_id          BIGINT UNSIGNED NOT NULL,
  brand_id          VARCHAR(128)    NOT NULL,
  associate_id      VARCHAR(128)    NOT NULL DEFAULT '',
  credited_at       DATETIME(6)     NOT NULL,
  PRIMARY KEY (order_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Refunds (OrderRefunded); counted once their order is counted by associate.
CREATE TABLE report_refunds (
  refund_id         BIGINT UNSIGNED NOT NULL,
  order_id          BIGINT UNSIGNED NOT NULL,
  brand_id          VARCHAR(128)    NOT NULL,
  amount_fen        BIGINT          NOT NULL,
  refund_lines      BLOB            NOT NULL COMMENT 'the OrderRefunded event',
  requested_at      DATETIME(6)     NOT NULL,
  applied           TINYINT         NOT NULL DEFAULT 0,
  PRIMARY KEY (refund_id),
  KEY idx_report_refunds_order (order_id, applied)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Funnel facts of a session not known yet wait here uncounted (counted = 0) until it is.
ALTER TABLE report_funnel_viewers ADD COLUMN counted TINYINT NOT NULL DEFAULT 1;

DROP TABLE report_cursors;
DROP TABLE report_applied;
