-- Interaction of each session (issue 19), from the interaction service's events: comments
-- delivered (CommentPosted), the like total (LikesCounted) and the viewers who liked
-- (ViewerLiked). Rows are keyed by session and by the brand of the event that wrote them, so an
-- event of another brand naming a session never counts into it (a report reads the row of its
-- session's own brand), and events count in any order, before or after the session is known.

-- Comments counted, each once (an event delivered again under another id counts nothing).
CREATE TABLE report_comments (
  brand_id          VARCHAR(128)    NOT NULL,
  comment_id        BIGINT UNSIGNED NOT NULL,
  session_id        BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (brand_id, comment_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The viewers who interacted with a session, each once: whether they commented, liked or both
-- (the union of commenters and likers is exact).
CREATE TABLE report_interacting_viewers (
  session_id        BIGINT UNSIGNED NOT NULL,
  brand_id          VARCHAR(128)    NOT NULL,
  viewer_id         VARCHAR(128)    NOT NULL,
  commented         TINYINT         NOT NULL DEFAULT 0,
  liked             TINYINT         NOT NULL DEFAULT 0,
  PRIMARY KEY (session_id, brand_id, viewer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The counts a report reads: comments (every author), commenters (viewers), likes (the largest
-- total published), likers and interacting viewers (commenters or likers).
CREATE TABLE report_session_interaction (
  session_id          BIGINT UNSIGNED NOT NULL,
  brand_id            VARCHAR(128)    NOT NULL,
  comments            BIGINT          NOT NULL DEFAULT 0,
  commenters          BIGINT          NOT NULL DEFAULT 0,
  likes               BIGINT          NOT NULL DEFAULT 0,
  likers              BIGINT          NOT NULL DEFAULT 0,
  interacting_viewers BIGINT          NOT NULL DEFAULT 0,
  PRIMARY KEY (session_id, brand_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
