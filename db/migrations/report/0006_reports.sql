-- Reports: aggregates of paid orders and refunds per livestream session, kept up to date by the
-- report service as they arrive (it reads the order service's conversions and refunds after a
-- cursor), so a report reads a few rows instead of scanning events. Money is BIGINT fen.

-- How far each consumer has read (the id below which every row is applied).
CREATE TABLE report_cursors (
  name                VARCHAR(32)     NOT NULL,
  last_id             BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Rows applied, so that a row read twice (the cursor trails recent rows) counts once.
CREATE TABLE report_applied (
  source              TINYINT         NOT NULL COMMENT '1 conversions, 2 refunds',
  source_id           BIGINT UNSIGNED NOT NULL,
  order_id            BIGINT UNSIGNED NOT NULL,
  amount_fen          BIGINT          NOT NULL,
  PRIMARY KEY (source, source_id),
  KEY idx_report_applied_order (order_id, source)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Sales of a session as a whole (dimension 0, key '') and by channel (1, the channel's name),
-- associate (2, the associate id, '' for none) and product (3, the product id).
CREATE TABLE report_session_sales (
  session_id          BIGINT UNSIGNED NOT NULL,
  dimension           TINYINT         NOT NULL,
  dim_key             VARCHAR(128)    NOT NULL,
  brand_id            VARCHAR(128)    NOT NULL,
  currency            CHAR(3)         NOT NULL,
  orders              BIGINT          NOT NULL DEFAULT 0,
  buyers              BIGINT          NOT NULL DEFAULT 0,
  units               BIGINT          NOT NULL DEFAULT 0,
  gmv_fen             BIGINT          NOT NULL DEFAULT 0,
  refunds_fen         BIGINT          NOT NULL DEFAULT 0,
  refunded_orders     BIGINT          NOT NULL DEFAULT 0,
  PRIMARY KEY (session_id, dimension, dim_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Who bought in a session (and in each of its breakdowns): buyers are counted once each.
CREATE TABLE report_session_buyers (
  session_id          BIGINT UNSIGNED NOT NULL,
  dimension           TINYINT         NOT NULL,
  dim_key             VARCHAR(128)    NOT NULL,
  buyer_id            VARCHAR(128)    NOT NULL,
  PRIMARY KEY (session_id, dimension, dim_key, buyer_id),
  KEY idx_report_session_buyers_buyer (session_id, buyer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Funnel steps: who reached each step of a session (1 viewed a product, 2 added to cart,
-- 3 checked out), each viewer once, and the counts.
CREATE TABLE report_funnel_viewers (
  session_id          BIGINT UNSIGNED NOT NULL,
  step                TINYINT         NOT NULL,
  viewer_id           VARCHAR(128)    NOT NULL,
  PRIMARY KEY (session_id, step, viewer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE report_session_funnel (
  session_id          BIGINT UNSIGNED NOT NULL,
  step                TINYINT         NOT NULL,
  viewers             BIGINT          NOT NULL DEFAULT 0,
  PRIMARY KEY (session_id, step)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
