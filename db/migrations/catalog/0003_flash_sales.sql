-- Flash sales, their reservations and holds. The live stock is in Redis; these tables are the
-- record it is rebuilt from: available = total_stock - confirmed - live reservations - live holds.
-- room_id, sku_id and product_id refer to other services' records: no foreign keys to them.

CREATE TABLE flash_sales (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  room_id           BIGINT UNSIGNED NOT NULL,
  sku_id            BIGINT UNSIGNED NOT NULL,
  product_id        BIGINT UNSIGNED NOT NULL,
  sale_price_fen    BIGINT          NOT NULL,
  currency          CHAR(3)         NOT NULL,
  total_stock       BIGINT          NOT NULL,
  per_buyer_limit   INT             NOT NULL,
  starts_at         DATETIME(6)     NOT NULL,
  ends_at           DATETIME(6)     NOT NULL,
  status            TINYINT         NOT NULL COMMENT 'SCHEDULED, ENDED or CANCELLED as set; ACTIVE follows from the window',
  buckets           INT             NOT NULL,
  created_by        VARCHAR(128)    NOT NULL,
  created_at        DATETIME(6)     NOT NULL,
  updated_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  KEY idx_flash_sales_room (room_id, id),
  KEY idx_flash_sales_brand (brand_id, starts_at),
  CONSTRAINT chk_flash_sales_stock CHECK (total_stock > 0 AND per_buyer_limit > 0 AND sale_price_fen > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE flash_holds (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  sale_id           BIGINT UNSIGNED NOT NULL,
  client_id         VARCHAR(128)    NOT NULL,
  quantity          BIGINT          NOT NULL COMMENT 'units still held',
  status            TINYINT         NOT NULL,
  expires_at        DATETIME(6)     NOT NULL,
  created_by        VARCHAR(128)    NOT NULL,
  created_at        DATETIME(6)     NOT NULL,
  updated_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  KEY idx_flash_holds_sale (sale_id, status),
  KEY idx_flash_holds_client (sale_id, client_id, status),
  CONSTRAINT fk_flash_holds_sale FOREIGN KEY (sale_id) REFERENCES flash_sales (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE flash_reservations (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  reservation_id    VARCHAR(64)     NOT NULL,
  brand_id          VARCHAR(128)    NOT NULL,
  sale_id           BIGINT UNSIGNED NOT NULL,
  buyer_id          VARCHAR(128)    NOT NULL,
  quantity          BIGINT          NOT NULL,
  from_hold         BIGINT          NOT NULL DEFAULT 0 COMMENT 'units taken from the buyer''s hold',
  status            TINYINT         NOT NULL,
  expires_at        DATETIME(6)     NOT NULL,
  created_at        DATETIME(6)     NOT NULL,
  updated_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_flash_reservations_id (reservation_id),
  KEY idx_flash_reservations_sale (sale_id, status),
  KEY idx_flash_reservations_due (status, expires_at),
  CONSTRAINT fk_flash_reservations_sale FOREIGN KEY (sale_id) REFERENCES flash_sales (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
