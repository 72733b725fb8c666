-- Payments that arrive for an order no longer payable (cancelled or expired, e.g. the buyer paid
-- in the instant before the order was closed at WeChat Pay). The payment itself is recorded in
-- payments like any other, but the order stays as it is (no conversion, no commission) and the
-- money goes back through an automatic refund (refunds.refund_key 'auto-<transaction_id>'). One
-- row per order (an order has at most one payment): what ops read back through the order.

CREATE TABLE payment_incidents (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  order_id          BIGINT UNSIGNED NOT NULL,
  order_status      TINYINT         NOT NULL COMMENT 'OrderStatus when the payment arrived: 5 cancelled, 6 expired',
  provider          TINYINT         NOT NULL,
  transaction_id    VARCHAR(64)     NOT NULL,
  amount_fen        BIGINT          NOT NULL,
  currency          CHAR(3)         NOT NULL,
  refund_key        VARCHAR(64)     NOT NULL COMMENT 'the automatic refund in refunds',
  created_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_payment_incidents_order (order_id),
  KEY idx_payment_incidents_brand (brand_id, order_id),
  CONSTRAINT fk_payment_incidents_order FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
