-- Questions reach the associate (issue 19): a client's comment in a live room, delivered by the
-- interaction service's CommentPosted event, becomes an alert for the client's associate.
--
-- The interaction service's events applied here, each once: (producer, event id) is claimed in the
-- transaction that applies it (docs/EVENTS.md).
CREATE TABLE attribution_consumed_events (
  producer          VARCHAR(32)     NOT NULL,
  event_id          BIGINT UNSIGNED NOT NULL,
  type              VARCHAR(128)    NOT NULL,
  applied_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (producer, event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- A question alert names the comment and keeps its text, cut to 200 characters. A comment raises
-- one alert however often its event is delivered: its dedupe_key is 'question:<comment id>', under
-- the existing unique key (brand_id, dedupe_key).
ALTER TABLE associate_alerts
  ADD COLUMN comment_id   VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '',
  ADD COLUMN comment_text VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '';
