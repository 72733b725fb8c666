-- The viewers who liked each session (issue 19, reports): a liker is recorded here, and
-- ViewerLiked published, in one transaction the first time the likes flush finds them among the
-- session's new likers in Redis, so each (session, viewer) is published exactly once however
-- often the flush runs, crashes or runs on two replicas at once.
CREATE TABLE session_likers (
  session_id        BIGINT UNSIGNED NOT NULL,
  viewer_id         VARCHAR(128)    NOT NULL,
  brand_id          VARCHAR(128)    NOT NULL,
  room_id           BIGINT UNSIGNED NOT NULL,
  first_liked_at    DATETIME(6)     NULL COMMENT 'the first counted batch, as Redis kept it',
  recorded_at       DATETIME(6)     NOT NULL,
  PRIMARY KEY (session_id, viewer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- ViewerLiked's key is "<session id>:<viewer id>": up to 20 digits, a colon and a 128-character
-- viewer id.
ALTER TABLE interaction_event_outbox MODIFY event_key VARCHAR(160) NOT NULL;
