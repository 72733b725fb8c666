-- Live rooms, their sessions and invites. Times are UTC. Every table carries brand_id (the tenant).

CREATE TABLE rooms (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id            VARCHAR(128)    NOT NULL,
  title               VARCHAR(200)    NOT NULL,
  description         TEXT            NOT NULL,
  cover_image_url     VARCHAR(1024)   NOT NULL DEFAULT '',
  scheduled_start     DATETIME(6)     NOT NULL,
  scheduled_end       DATETIME(6)     NULL,
  visibility          TINYINT         NOT NULL,
  audiences           SMALLINT UNSIGNED NOT NULL COMMENT 'bit set: 1 << Audience value',
  objective           TINYINT         NOT NULL,
  format              TINYINT         NOT NULL,
  status              TINYINT         NOT NULL,
  host_associate_id   VARCHAR(128)    NOT NULL DEFAULT '',
  current_session_id  BIGINT UNSIGNED NULL,
  pinned_product_id   VARCHAR(128)    NULL,
  pinned_sku_id       VARCHAR(128)    NULL,
  pinned_at           DATETIME(6)     NULL,
  created_by          VARCHAR(128)    NOT NULL,
  created_at          DATETIME(6)     NOT NULL,
  updated_at          DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  KEY idx_rooms_brand_status (brand_id, status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE room_sessions (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id            VARCHAR(128)    NOT NULL,
  room_id             BIGINT UNSIGNED NOT NULL,
  status              TINYINT         NOT NULL,
  -- Equal to room_id while the session is live, NULL after: at most one live session per room.
  live_room_id        BIGINT UNSIGNED NULL,
  presence_buckets    INT             NOT NULL,
  started_at          DATETIME(6)     NOT NULL,
  ended_at            DATETIME(6)     NULL,
  reach               BIGINT          NOT NULL DEFAULT 0,
  peak_concurrency    BIGINT          NOT NULL DEFAULT 0,
  total_joins         BIGINT          NOT NULL DEFAULT 0,
  duration_seconds    BIGINT          NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  UNIQUE KEY uq_room_sessions_live (live_room_id),
  KEY idx_room_sessions_room (room_id, id),
  KEY idx_room_sessions_brand_started (brand_id, started_at),
  CONSTRAINT fk_room_sessions_room FOREIGN KEY (room_id) REFERENCES rooms (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE room_invites (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id            VARCHAR(128)    NOT NULL,
  room_id             BIGINT UNSIGNED NOT NULL,
  token_hash          BINARY(32)      NOT NULL COMMENT 'SHA-256 of the token; the token is never stored',
  cohort              VARCHAR(100)    NOT NULL DEFAULT '',
  client_ref          VARCHAR(128)    NOT NULL DEFAULT '',
  associate_id        VARCHAR(128)    NOT NULL DEFAULT '',
  expires_at          DATETIME(6)     NULL,
  revoked_at          DATETIME(6)     NULL,
  bound_viewer_id     VARCHAR(128)    NULL,
  bound_at            DATETIME(6)     NULL,
  last_joined_at      DATETIME(6)     NULL,
  issued_by           VARCHAR(128)    NOT NULL,
  created_at          DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_room_invites_token (token_hash),
  KEY idx_room_invites_room (room_id, id),
  KEY idx_room_invites_viewer (room_id, bound_viewer_id),
  CONSTRAINT fk_room_invites_room FOREIGN KEY (room_id) REFERENCES rooms (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
