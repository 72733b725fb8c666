-- Replays of ended sessions and the product moments on their timeline (docs/STREAMING.md,
-- "Replays").

-- Every pin and unpin while a session is live, written in the transaction that changes the pin.
-- offset_ms is measured from the session's started_at on the server's clock, so a replay seeks to
-- the moment whatever the viewer's clock says.
CREATE TABLE room_session_moments (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id            VARCHAR(128)    NOT NULL,
  room_id             BIGINT UNSIGNED NOT NULL,
  session_id          BIGINT UNSIGNED NOT NULL,
  kind                TINYINT         NOT NULL COMMENT 'livecommerce.v1.ProductMomentKind',
  product_id          VARCHAR(128)    NOT NULL,
  sku_id              VARCHAR(128)    NOT NULL,
  occurred_at         DATETIME(6)     NOT NULL,
  offset_ms           BIGINT          NOT NULL,
  PRIMARY KEY (id),
  KEY idx_room_session_moments_session (session_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The replay of a session: a recording that arrived after it ended, or what ops registered
-- (which replaces it). A session without a row here falls back to its longest recording.
CREATE TABLE room_replays (
  session_id          BIGINT UNSIGNED NOT NULL,
  brand_id            VARCHAR(128)    NOT NULL,
  room_id             BIGINT UNSIGNED NOT NULL,
  location            VARCHAR(1024)   NOT NULL COMMENT 'a path on the streaming server or a URL',
  duration_seconds    BIGINT          NOT NULL,
  source              TINYINT         NOT NULL COMMENT 'livecommerce.v1.ReplaySource',
  created_at          DATETIME(6)     NOT NULL,
  PRIMARY KEY (session_id),
  KEY idx_room_replays_room (room_id, session_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Replay reach: one row per session and viewer, however often they watch. Live presence (Redis)
-- never sees replay viewers.
CREATE TABLE room_replay_views (
  session_id          BIGINT UNSIGNED NOT NULL,
  viewer_id           VARCHAR(128)    NOT NULL,
  brand_id            VARCHAR(128)    NOT NULL,
  room_id             BIGINT UNSIGNED NOT NULL,
  associate_id        VARCHAR(128)    NOT NULL DEFAULT '' COMMENT 'behind the viewer''s invite',
  first_viewed_at     DATETIME(6)     NOT NULL,
  PRIMARY KEY (session_id, viewer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
