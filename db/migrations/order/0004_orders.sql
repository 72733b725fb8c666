-- Orders, their lines, payments, refunds, conversions and the outbox of the order service.
-- MySQL is the record: an order is paid, and has its conversion and outbox messages, only once
-- the transaction that says so has committed. Times are UTC; money is BIGINT fen plus currency.
-- room_id, session_id, sku_id, sale_id and product_id refer to other services' records.

CREATE TABLE orders (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  buyer_id          VARCHAR(128)    NOT NULL,
  idempotency_key   VARCHAR(64)     NOT NULL,
  request_hash      CHAR(64)        NOT NULL COMMENT 'SHA-256 of the checkout request',
  status            TINYINT         NOT NULL COMMENT 'OrderStatus; 0 = checkout in progress (reserving), 9 = checkout refused',
  failure           VARCHAR(300)    NULL COMMENT 'why the checkout was refused: code and message',
  currency          CHAR(3)         NOT NULL DEFAULT 'CNY',
  total_fen         BIGINT          NOT NULL DEFAULT 0,
  refunded_fen      BIGINT          NOT NULL DEFAULT 0,
  room_id           BIGINT UNSIGNED NULL,
  session_id        BIGINT UNSIGNED NULL,
  channel           TINYINT         NOT NULL DEFAULT 0,
  share_link_id     VARCHAR(128)    NOT NULL DEFAULT '',
  associate_id      VARCHAR(128)    NOT NULL DEFAULT '',
  address           BLOB            NOT NULL COMMENT 'serialised DeliveryAddress: personal data',
  provider          TINYINT         NOT NULL,
  payment_params    BLOB            NULL COMMENT 'serialised PaymentParams',
  expires_at        DATETIME(6)     NULL,
  paid_at           DATETIME(6)     NULL,
  created_at        DATETIME(6)     NOT NULL,
  updated_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_orders_idempotency (brand_id, buyer_id, idempotency_key),
  KEY idx_orders_buyer (brand_id, buyer_id, id),
  KEY idx_orders_brand (brand_id, status, id),
  KEY idx_orders_due (status, expires_at),
  KEY idx_orders_session (brand_id, session_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE order_lines (
  order_id          BIGINT UNSIGNED NOT NULL,
  line_no           INT             NOT NULL,
  brand_id          VARCHAR(128)    NOT NULL,
  product_id        BIGINT UNSIGNED NOT NULL DEFAULT 0,
  sku_id            BIGINT UNSIGNED NOT NULL,
  sale_id           BIGINT UNSIGNED NULL,
  product_name      VARCHAR(200)    NOT NULL DEFAULT '',
  quantity          BIGINT          NOT NULL,
  unit_price_fen    BIGINT          NOT NULL DEFAULT 0,
  line_total_fen    BIGINT          NOT NULL DEFAULT 0,
  refunded_quantity BIGINT          NOT NULL DEFAULT 0,
  reservation_id    VARCHAR(64)     NOT NULL,
  PRIMARY KEY (order_id, line_no),
  UNIQUE KEY uq_order_lines_reservation (reservation_id),
  CONSTRAINT fk_order_lines_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT chk_order_lines_quantity CHECK (quantity > 0 AND refunded_quantity BETWEEN 0 AND quantity)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE payments (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  order_id          BIGINT UNSIGNED NOT NULL,
  provider          TINYINT         NOT NULL,
  transaction_id    VARCHAR(64)     NOT NULL,
  amount_fen        BIGINT          NOT NULL,
  currency          CHAR(3)         NOT NULL,
  created_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_payments_transaction (provider, transaction_id),
  UNIQUE KEY uq_payments_order (order_id),
  CONSTRAINT fk_payments_order FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE refunds (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  order_id          BIGINT UNSIGNED NOT NULL,
  refund_key        VARCHAR(64)     NOT NULL COMMENT 'the caller''s idempotency key of the refund',
  amount_fen        BIGINT          NOT NULL,
  currency          CHAR(3)         NOT NULL,
  refund_lines      BLOB            NOT NULL COMMENT 'serialised RefundOrderRequest lines',
  reason            VARCHAR(200)    NOT NULL DEFAULT '',
  status            TINYINT         NOT NULL COMMENT '1 requested from the provider, 2 succeeded',
  requested_by      VARCHAR(128)    NOT NULL,
  created_at        DATETIME(6)     NOT NULL,
  updated_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_refunds_key (order_id, refund_key),
  CONSTRAINT fk_refunds_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT chk_refunds_amount CHECK (amount_fen > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE conversions (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  order_id          BIGINT UNSIGNED NOT NULL,
  room_id           BIGINT UNSIGNED NULL,
  session_id        BIGINT UNSIGNED NULL,
  buyer_id          VARCHAR(128)    NOT NULL,
  amount_fen        BIGINT          NOT NULL,
  currency          CHAR(3)         NOT NULL,
  units             BIGINT          NOT NULL,
  channel           TINYINT         NOT NULL,
  share_link_id     VARCHAR(128)    NOT NULL DEFAULT '',
  associate_id      VARCHAR(128)    NOT NULL DEFAULT '',
  paid_at           DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_conversions_order (order_id),
  KEY idx_conversions_session (brand_id, session_id),
  KEY idx_conversions_paid (brand_id, paid_at),
  CONSTRAINT fk_conversions_order FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE order_outbox (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  topic             VARCHAR(64)     NOT NULL COMMENT 'reservation.confirm, reservation.release, order.paid ...',
  message_key       VARCHAR(128)    NOT NULL COMMENT 'what the message is about, e.g. a reservation id',
  payload           BLOB            NOT NULL,
  status            TINYINT         NOT NULL COMMENT '0 pending, 1 delivered',
  attempts          INT             NOT NULL DEFAULT 0,
  next_attempt_at   DATETIME(6)     NOT NULL,
  last_error        VARCHAR(300)    NULL,
  created_at        DATETIME(6)     NOT NULL,
  delivered_at      DATETIME(6)     NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_order_outbox_message (topic, message_key),
  KEY idx_order_outbox_due (status, topic, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
