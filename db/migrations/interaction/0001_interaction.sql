-- The interaction service (docs/INTERACTION.md): comments of live sessions, their moderation
-- (audit, mutes, bans, blocked words, announcements), like totals per session and its outbox.

CREATE TABLE comments (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  room_id           BIGINT UNSIGNED NOT NULL,
  session_id        BIGINT UNSIGNED NOT NULL,
  author_id         VARCHAR(128)    NOT NULL,
  author_role       TINYINT         NOT NULL COMMENT 'livecommerce.v1.AuthorRole',
  client_id         VARCHAR(128)    NOT NULL COMMENT 'the sender''s id: a resend finds its comment',
  text              VARCHAR(2048)   NOT NULL,
  reply_to          BIGINT UNSIGNED NULL,
  status            TINYINT         NOT NULL COMMENT 'livecommerce.v1.CommentStatus',
  invite_associate_id VARCHAR(128)  NOT NULL DEFAULT '',
  streamed          TINYINT(1)      NOT NULL DEFAULT 0 COMMENT 'appended to the room''s Redis stream',
  created_at        DATETIME(6)     NOT NULL,
  updated_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_comments_client (room_id, author_id, client_id),
  KEY idx_comments_session (session_id, id),
  KEY idx_comments_held (room_id, status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Every moderation action: who did what to whom, why and when.
CREATE TABLE comment_actions (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id          VARCHAR(128)    NOT NULL,
  actor_id          VARCHAR(128)    NOT NULL,
  actor_role        VARCHAR(16)     NOT NULL,
  action            VARCHAR(32)     NOT NULL COMMENT 'delete, mute, ban, announce, approve, set_words, set_settings',
  room_id           BIGINT UNSIGNED NULL,
  target            VARCHAR(128)    NOT NULL COMMENT 'a comment id, a viewer id, or empty',
  reason            VARCHAR(512)    NOT NULL,
  created_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  KEY idx_comment_actions_brand (brand_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE room_mutes (
  brand_id          VARCHAR(128)    NOT NULL,
  room_id           BIGINT UNSIGNED NOT NULL,
  viewer_id         VARCHAR(128)    NOT NULL,
  muted_until       DATETIME(6)     NOT NULL,
  reason            VARCHAR(512)    NOT NULL,
  created_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (room_id, viewer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE brand_bans (
  brand_id          VARCHAR(128)    NOT NULL,
  viewer_id         VARCHAR(128)    NOT NULL,
  banned_until      DATETIME(6)     NULL COMMENT 'NULL: for good',
  reason            VARCHAR(512)    NOT NULL,
  created_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (brand_id, viewer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- A brand's moderation: the version of its blocked-word list (bumped by every change, so each
-- replica rebuilds its filter) and what to do while WeChat's content check is unreachable.
CREATE TABLE brand_moderation (
  brand_id          VARCHAR(128)    NOT NULL,
  words_version     BIGINT          NOT NULL,
  hold_when_check_unavailable TINYINT(1) NOT NULL DEFAULT 1,
  updated_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (brand_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE blocked_words (
  brand_id          VARCHAR(128)    NOT NULL,
  position          INT             NOT NULL,
  word              VARCHAR(1024)   NOT NULL,
  PRIMARY KEY (brand_id, position)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE announcements (
  room_id           BIGINT UNSIGNED NOT NULL,
  brand_id          VARCHAR(128)    NOT NULL,
  text              VARCHAR(2048)   NOT NULL,
  set_by            VARCHAR(128)    NOT NULL,
  updated_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (room_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Like totals per session, copied from Redis (only ever raised).
CREATE TABLE session_likes (
  session_id        BIGINT UNSIGNED NOT NULL,
  brand_id          VARCHAR(128)    NOT NULL,
  room_id           BIGINT UNSIGNED NOT NULL,
  likes             BIGINT          NOT NULL,
  updated_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (session_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Events of the interaction service: CommentPosted, LikesCounted (docs/EVENTS.md).
CREATE TABLE interaction_event_outbox (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  subscriber        VARCHAR(32)     NOT NULL COMMENT 'the consuming service',
  brand_id          VARCHAR(128)    NOT NULL,
  event_key         VARCHAR(128)    NOT NULL,
  type              VARCHAR(128)    NOT NULL,
  payload           BLOB            NOT NULL,
  occurred_at       DATETIME(6)     NOT NULL,
  delivered_at      DATETIME(6)     NULL,
  PRIMARY KEY (id),
  KEY interaction_event_outbox_due (subscriber, delivered_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
