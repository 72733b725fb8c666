-- Catalog: products, their SKUs with regular inventory, room product lists (items shown to one
-- invite cohort only, cohort prices) and reservations of regular inventory. Times are UTC.
-- Every table carries brand_id (the tenant). Money is BIGINT fen plus a currency code.
-- room_id is the room service id of a room: no foreign key, the rooms belong to another service.

CREATE TABLE products (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id            VARCHAR(128)    NOT NULL,
  name                VARCHAR(200)    NOT NULL,
  description         TEXT            NOT NULL,
  image_urls          JSON            NOT NULL COMMENT 'array of http(s) URLs, in display order',
  category            VARCHAR(100)    NOT NULL DEFAULT '',
  list_price_fen      BIGINT          NOT NULL,
  currency            CHAR(3) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  status              TINYINT         NOT NULL COMMENT '1 DRAFT, 2 ACTIVE, 3 ARCHIVED',
  created_by          VARCHAR(128)    NOT NULL,
  created_at          DATETIME(6)     NOT NULL,
  updated_at          DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  KEY idx_products_brand_status (brand_id, status, id),
  KEY idx_products_brand_category (brand_id, category, status, id),
  CONSTRAINT chk_products_list_price CHECK (list_price_fen > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE skus (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id            VARCHAR(128)    NOT NULL,
  product_id          BIGINT UNSIGNED NOT NULL,
  sku_code            VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  attributes          JSON            NOT NULL COMMENT 'object of string values: colour, size ...',
  price_fen           BIGINT          NULL COMMENT 'own price in the product currency; NULL: list price',
  on_hand             BIGINT          NOT NULL DEFAULT 0,
  reserved            BIGINT          NOT NULL DEFAULT 0 COMMENT 'units of live reservations',
  created_at          DATETIME(6)     NOT NULL,
  updated_at          DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_skus_brand_code (brand_id, sku_code),
  KEY idx_skus_product (product_id, id),
  CONSTRAINT fk_skus_product FOREIGN KEY (product_id) REFERENCES products (id),
  CONSTRAINT chk_skus_price CHECK (price_fen IS NULL OR price_fen > 0),
  CONSTRAINT chk_skus_inventory CHECK (reserved >= 0 AND reserved <= on_hand)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE room_products (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id            VARCHAR(128)    NOT NULL,
  room_id             BIGINT UNSIGNED NOT NULL,
  product_id          BIGINT UNSIGNED NOT NULL,
  position            INT             NOT NULL COMMENT '1-based, dense within the room',
  visible_to_cohort   VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL
                      COMMENT 'NULL: shown to everyone; else only to viewers of this invite cohort',
  created_by          VARCHAR(128)    NOT NULL,
  created_at          DATETIME(6)     NOT NULL,
  updated_at          DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_room_products_room_product (room_id, product_id),
  KEY idx_room_products_room_position (room_id, position),
  KEY idx_room_products_product (product_id),
  CONSTRAINT fk_room_products_product FOREIGN KEY (product_id) REFERENCES products (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE room_product_prices (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id            VARCHAR(128)    NOT NULL,
  room_product_id     BIGINT UNSIGNED NOT NULL,
  room_id             BIGINT UNSIGNED NOT NULL,
  cohort              VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  price_fen           BIGINT          NOT NULL,
  currency            CHAR(3) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at          DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_room_product_prices_cohort (room_product_id, cohort),
  KEY idx_room_product_prices_room (room_id),
  CONSTRAINT fk_room_product_prices_item FOREIGN KEY (room_product_id) REFERENCES room_products (id),
  CONSTRAINT chk_room_product_prices_price CHECK (price_fen > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE sku_reservations (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  reservation_id      VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
                      COMMENT 'chosen by the caller (order service); the idempotency key',
  brand_id            VARCHAR(128)    NOT NULL,
  sku_id              BIGINT UNSIGNED NOT NULL,
  buyer_id            VARCHAR(128)    NOT NULL,
  quantity            BIGINT          NOT NULL,
  state               TINYINT         NOT NULL COMMENT '1 RESERVED, 2 CONFIRMED, 3 RELEASED, 4 EXPIRED',
  expires_at          DATETIME(6)     NOT NULL,
  created_at          DATETIME(6)     NOT NULL,
  updated_at          DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_sku_reservations_reservation (reservation_id),
  KEY idx_sku_reservations_due (state, expires_at),
  KEY idx_sku_reservations_sku (sku_id, state),
  KEY idx_sku_reservations_brand_buyer (brand_id, buyer_id, created_at),
  CONSTRAINT fk_sku_reservations_sku FOREIGN KEY (sku_id) REFERENCES skus (id),
  CONSTRAINT chk_sku_reservations_quantity CHECK (quantity > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
