-- The attribution service: stores, associates, share links, touches, client bindings, attributed
-- orders and their refunds, commission rules, the commission ledger, settlement, and alerts.
-- Times are UTC; money is BIGINT fen plus currency. room_id, session_id, product_id, order_id and
-- viewer ids refer to other services' records and are kept as the opaque strings they are.
-- The ledger (commission_entries) is append-only: rows are inserted, never updated or deleted.

CREATE TABLE attribution_stores (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  name              VARCHAR(200)    NOT NULL,
  city              VARCHAR(100)    NOT NULL DEFAULT '',
  created_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  KEY idx_attribution_stores_brand (brand_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE associates (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  store_id          BIGINT UNSIGNED NOT NULL,
  name              VARCHAR(200)    NOT NULL,
  status            TINYINT         NOT NULL COMMENT 'AssociateStatus: 1 active, 2 left',
  created_at        DATETIME(6)     NOT NULL,
  updated_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  KEY idx_associates_brand (brand_id, store_id, id),
  CONSTRAINT fk_associates_store FOREIGN KEY (store_id) REFERENCES attribution_stores (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE share_links (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  associate_id      BIGINT UNSIGNED NOT NULL,
  target            TINYINT         NOT NULL COMMENT 'ShareTarget: 1 room, 2 product',
  room_id           VARCHAR(64)     NOT NULL DEFAULT '',
  product_id        VARCHAR(64)     NOT NULL DEFAULT '',
  share_channel     TINYINT         NOT NULL COMMENT 'ShareChannel',
  created_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  KEY idx_share_links_associate (brand_id, associate_id, id),
  CONSTRAINT fk_share_links_associate FOREIGN KEY (associate_id) REFERENCES associates (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE touches (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  viewer_id         VARCHAR(128)    NOT NULL,
  associate_id      BIGINT UNSIGNED NOT NULL,
  room_id           VARCHAR(64)     NOT NULL DEFAULT '',
  product_id        VARCHAR(64)     NOT NULL DEFAULT '',
  channel           TINYINT         NOT NULL COMMENT 'Channel',
  source            TINYINT         NOT NULL COMMENT 'TouchSource: 1 share link, 2 invite',
  share_link_id     BIGINT UNSIGNED NULL,
  touch_key         VARCHAR(128)    NULL COMMENT 'the caller''s idempotency key, if any',
  touched_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_touches_key (brand_id, touch_key),
  KEY idx_touches_viewer (brand_id, viewer_id, touched_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Append-only history of bindings: the binding of a viewer at time t is its latest row with
-- bound_at <= t, in force while t < protected_until.
CREATE TABLE client_bindings (
  id                    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id              VARCHAR(128)    NOT NULL,
  viewer_id             VARCHAR(128)    NOT NULL,
  associate_id          BIGINT UNSIGNED NOT NULL,
  reason                TINYINT         NOT NULL COMMENT 'BindingReason: 1 touch, 2 renewed, 3 reassigned',
  previous_associate_id BIGINT UNSIGNED NULL,
  touch_id              BIGINT UNSIGNED NULL,
  changed_by            VARCHAR(128)    NOT NULL DEFAULT '',
  note                  VARCHAR(300)    NOT NULL DEFAULT '',
  bound_at              DATETIME(6)     NOT NULL,
  protected_until       DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  KEY idx_client_bindings_viewer (brand_id, viewer_id, bound_at, id),
  KEY idx_client_bindings_associate (brand_id, associate_id, protected_until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per viewer with a binding history: changes to a viewer's binding lock it first, so they
-- queue per viewer without gap locks on client_bindings.
CREATE TABLE client_binding_locks (
  brand_id          VARCHAR(128)    NOT NULL,
  viewer_id         VARCHAR(128)    NOT NULL,
  changes           BIGINT          NOT NULL DEFAULT 0,
  PRIMARY KEY (brand_id, viewer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE commission_rules (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  scope             TINYINT         NOT NULL COMMENT 'RuleScope: 1 brand, 2 room, 3 category',
  scope_id          VARCHAR(128)    NOT NULL DEFAULT '',
  version           INT             NOT NULL,
  effective_from    DATETIME(6)     NOT NULL,
  effective_to      DATETIME(6)     NULL,
  created_by        VARCHAR(128)    NOT NULL,
  created_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_commission_rules_version (brand_id, scope, scope_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE commission_rule_lines (
  rule_id           BIGINT UNSIGNED NOT NULL,
  line_no           INT             NOT NULL,
  recipient         TINYINT         NOT NULL COMMENT 'Recipient',
  party             VARCHAR(128)    NOT NULL DEFAULT '',
  basis_points      INT             NOT NULL,
  PRIMARY KEY (rule_id, line_no),
  CONSTRAINT fk_commission_rule_lines_rule FOREIGN KEY (rule_id) REFERENCES commission_rules (id),
  CONSTRAINT chk_commission_rule_lines_bp CHECK (basis_points BETWEEN 1 AND 10000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per paid order: the unique key is what makes a replayed payment credit once; it is
-- inserted in the same transaction as the order's ledger entries.
CREATE TABLE attributed_orders (
  id                    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id              VARCHAR(128)    NOT NULL,
  order_id              VARCHAR(64)     NOT NULL,
  buyer_id              VARCHAR(128)    NOT NULL DEFAULT '',
  room_id               VARCHAR(64)     NOT NULL DEFAULT '',
  session_id            VARCHAR(64)     NOT NULL DEFAULT '',
  amount_fen            BIGINT          NOT NULL,
  currency              CHAR(3)         NOT NULL,
  paid_at               DATETIME(6)     NOT NULL,
  channel               TINYINT         NOT NULL,
  associate_id          BIGINT UNSIGNED NULL,
  store_id              BIGINT UNSIGNED NULL,
  host_associate_id     BIGINT UNSIGNED NULL,
  inviting_associate_id BIGINT UNSIGNED NULL,
  rule                  TINYINT         NOT NULL COMMENT 'AttributionRule that decided',
  reason                VARCHAR(300)    NOT NULL,
  touch_id              BIGINT UNSIGNED NULL,
  settle_at             DATETIME(6)     NOT NULL COMMENT 'end of the refund window',
  recorded_at           DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_attributed_orders_order (brand_id, order_id),
  KEY idx_attributed_orders_associate (brand_id, associate_id, paid_at),
  KEY idx_attributed_orders_paid (brand_id, paid_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE attributed_refunds (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  order_id          VARCHAR(64)     NOT NULL,
  refund_id         VARCHAR(64)     NOT NULL,
  amount_fen        BIGINT          NOT NULL,
  currency          CHAR(3)         NOT NULL,
  refunded_at       DATETIME(6)     NOT NULL,
  after_settlement  TINYINT         NOT NULL COMMENT '1: the order had settled: reversals are receivables',
  recorded_at       DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_attributed_refunds_refund (brand_id, order_id, refund_id),
  CONSTRAINT chk_attributed_refunds_amount CHECK (amount_fen > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The ledger. A sale entry per split line per order; a refund adds one reversing entry per sale
-- entry (reverses_entry_id). booked_at is when the row was written: statements select by it, so a
-- closed period never changes.
CREATE TABLE commission_entries (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  order_id          VARCHAR(64)     NOT NULL,
  kind              TINYINT         NOT NULL COMMENT 'EntryKind: 1 sale, 2 reversal, 3 receivable',
  refund_id         VARCHAR(64)     NOT NULL DEFAULT '',
  reverses_entry_id BIGINT UNSIGNED NULL,
  recipient         TINYINT         NOT NULL COMMENT 'Recipient',
  recipient_id      VARCHAR(128)    NOT NULL DEFAULT '',
  store_id          BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'the credited associate''s store; 0 none',
  rule_id           BIGINT UNSIGNED NOT NULL,
  rule_version      INT             NOT NULL,
  line_no           INT             NOT NULL,
  basis_points      INT             NOT NULL,
  base_fen          BIGINT          NOT NULL,
  amount_fen        BIGINT          NOT NULL,
  currency          CHAR(3)         NOT NULL,
  booked_at         DATETIME(6)     NOT NULL,
  settle_at         DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  KEY idx_commission_entries_order (brand_id, order_id),
  KEY idx_commission_entries_period (brand_id, booked_at, id, recipient, recipient_id, kind,
                                     currency, amount_fen, settle_at, store_id),
  KEY idx_commission_entries_recipient (brand_id, recipient_id, booked_at),
  CONSTRAINT chk_commission_entries_sign CHECK ((kind = 1 AND amount_fen >= 0) OR (kind <> 1 AND amount_fen <= 0))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Daily totals of the ledger, derived from commission_entries in the same transactions that write
-- them (and rebuildable from it): statements read whole days here and scan entries only for the
-- partial days at the edges of a period. day and settle_day are the UTC days of booked_at and
-- settle_at.
CREATE TABLE commission_daily_totals (
  brand_id          VARCHAR(128)    NOT NULL,
  day               DATE            NOT NULL,
  recipient         TINYINT         NOT NULL,
  recipient_id      VARCHAR(128)    NOT NULL,
  store_id          BIGINT UNSIGNED NOT NULL,
  currency          CHAR(3)         NOT NULL,
  kind              TINYINT         NOT NULL,
  settle_day        DATE            NOT NULL,
  amount_fen        BIGINT          NOT NULL,
  entries           BIGINT          NOT NULL,
  PRIMARY KEY (brand_id, day, recipient, recipient_id, store_id, currency, kind, settle_day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Settlement: a periodic job settles, once a day, everything due before the start of the current
-- UTC day: settled_through is always a UTC midnight, and an entry is SETTLED once
-- settle_at < settled_through (each run is logged). Refunds read the mark under a shared lock so a
-- refund and a settlement run never interleave.
CREATE TABLE settlement_clock (
  id                TINYINT         NOT NULL,
  settled_through   DATETIME(6)     NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO settlement_clock (id, settled_through) VALUES (1, '1970-01-01 00:00:00');

CREATE TABLE settlement_runs (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  settled_through   DATETIME(6)     NOT NULL,
  ran_at            DATETIME(6)     NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Alerts for associates about their clients. dedupe_key makes a reported activity alert once.
CREATE TABLE associate_alerts (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  associate_id      BIGINT UNSIGNED NOT NULL,
  viewer_id         VARCHAR(128)    NOT NULL,
  kind              TINYINT         NOT NULL COMMENT 'AlertKind',
  room_id           VARCHAR(64)     NOT NULL DEFAULT '',
  session_id        VARCHAR(64)     NOT NULL DEFAULT '',
  order_id          VARCHAR(64)     NOT NULL DEFAULT '',
  sku_id            VARCHAR(64)     NOT NULL DEFAULT '',
  amount_fen        BIGINT          NOT NULL DEFAULT 0,
  currency          CHAR(3)         NOT NULL DEFAULT '',
  dedupe_key        VARCHAR(200)    NULL,
  occurred_at       DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_associate_alerts_dedupe (brand_id, dedupe_key),
  KEY idx_associate_alerts_associate (brand_id, associate_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Orders awaiting payment reported by the order service, watched for the unpaid-order alert.
CREATE TABLE unpaid_order_watch (
  brand_id          VARCHAR(128)    NOT NULL,
  order_id          VARCHAR(64)     NOT NULL,
  viewer_id         VARCHAR(128)    NOT NULL,
  associate_id      BIGINT UNSIGNED NOT NULL,
  room_id           VARCHAR(64)     NOT NULL DEFAULT '',
  session_id        VARCHAR(64)     NOT NULL DEFAULT '',
  amount_fen        BIGINT          NOT NULL DEFAULT 0,
  currency          CHAR(3)         NOT NULL DEFAULT '',
  created_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (brand_id, order_id),
  KEY idx_unpaid_order_watch_due (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Live presence of clients as the room service reports it (join and leave), for "who is watching".
CREATE TABLE client_presence (
  brand_id          VARCHAR(128)    NOT NULL,
  room_id           VARCHAR(64)     NOT NULL,
  viewer_id         VARCHAR(128)    NOT NULL,
  associate_id      BIGINT UNSIGNED NOT NULL,
  present           TINYINT         NOT NULL,
  changed_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (brand_id, room_id, viewer_id),
  KEY idx_client_presence_associate (brand_id, associate_id, room_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
