-- Before and after the live (issue 20), per session, from the room service's events: invitations
-- and reservations when the session went live (SessionAudienceBooked), viewers reminded
-- (ReminderSent) and replay viewers (ReplayViewed). A viewer counts once per session and step
-- (report_engagement_viewers says what each did), whatever is delivered again.
CREATE TABLE report_session_engagement (
  session_id        BIGINT UNSIGNED NOT NULL,
  brand_id          VARCHAR(128)    NOT NULL,
  invited           BIGINT          NOT NULL DEFAULT 0,
  reserved          BIGINT          NOT NULL DEFAULT 0,
  reminded          BIGINT          NOT NULL DEFAULT 0,
  replay_viewers    BIGINT          NOT NULL DEFAULT 0,
  PRIMARY KEY (session_id, brand_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE report_engagement_viewers (
  session_id        BIGINT UNSIGNED NOT NULL,
  brand_id          VARCHAR(128)    NOT NULL,
  viewer_id         VARCHAR(128)    NOT NULL,
  reminded          TINYINT(1)      NOT NULL DEFAULT 0,
  replay_viewed     TINYINT(1)      NOT NULL DEFAULT 0,
  PRIMARY KEY (session_id, brand_id, viewer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
