-- The stream of each room (docs/STREAMING.md): its name (random, not guessable from the room id),
-- the version of its push key (the key is derived from the name and the version, never stored;
-- rotating bumps the version), and the state the streaming server's callbacks drive.
ALTER TABLE rooms ADD COLUMN start_on_publish TINYINT(1) NOT NULL DEFAULT 0;

CREATE TABLE room_streams (
  room_id             BIGINT UNSIGNED NOT NULL,
  brand_id            VARCHAR(128)    NOT NULL,
  stream_name         VARCHAR(64)     NOT NULL,
  key_version         INT             NOT NULL,
  state               TINYINT         NOT NULL COMMENT 'livecommerce.v1.StreamState',
  state_since         DATETIME(6)     NOT NULL,
  publish_sequence    VARCHAR(128)    NOT NULL COMMENT 'the provider sequence of the current push',
  publish_started_at  DATETIME(6)     NULL,
  publish_to_live_ms  BIGINT          NOT NULL,
  created_at          DATETIME(6)     NOT NULL,
  updated_at          DATETIME(6)     NOT NULL,
  PRIMARY KEY (room_id),
  UNIQUE KEY uq_room_streams_name (stream_name),
  KEY idx_room_streams_state (state, state_since)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Each callback applied once: a replay finds its key. A start looks up the stop of its own push
-- (callbacks arrive out of order).
CREATE TABLE room_stream_callbacks (
  dedupe_key          VARCHAR(255)    NOT NULL,
  room_id             BIGINT UNSIGNED NOT NULL,
  kind                TINYINT         NOT NULL COMMENT '0 publish started, 1 stopped, 2 recording',
  sequence            VARCHAR(128)    NOT NULL,
  received_at         DATETIME(6)     NOT NULL,
  PRIMARY KEY (dedupe_key),
  KEY idx_room_stream_callbacks_push (room_id, kind, sequence)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE room_recordings (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id            VARCHAR(128)    NOT NULL,
  room_id             BIGINT UNSIGNED NOT NULL,
  session_id          BIGINT UNSIGNED NULL COMMENT 'the session live when it was recorded',
  location            VARCHAR(1024)   NOT NULL COMMENT 'a path on the streaming server or a URL',
  duration_seconds    BIGINT          NOT NULL,
  size_bytes          BIGINT          NOT NULL,
  dedupe_key          VARCHAR(255)    NOT NULL,
  created_at          DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_room_recordings_dedupe (dedupe_key),
  KEY idx_room_recordings_room (room_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
