-- Reservations ("remind me") and the outbox of their reminders (docs/RESERVATIONS.md).
-- One reservation per viewer and room, kept when cancelled (a new reserve reactivates it).
CREATE TABLE room_reservations (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id            VARCHAR(128)    NOT NULL,
  room_id             BIGINT UNSIGNED NOT NULL,
  viewer_id           VARCHAR(128)    NOT NULL,
  status              TINYINT         NOT NULL COMMENT 'livecommerce.v1.ReservationStatus',
  invite_id           BIGINT UNSIGNED NULL COMMENT 'the invite the viewer came through',
  associate_id        VARCHAR(128)    NOT NULL DEFAULT '' COMMENT 'the associate behind it',
  template_id         VARCHAR(128)    NOT NULL DEFAULT '' COMMENT 'the consented template',
  consent_at          DATETIME(6)     NULL COMMENT 'when the one-time consent was given; NULL: none',
  reserved_at         DATETIME(6)     NOT NULL,
  cancelled_at        DATETIME(6)     NULL,
  updated_at          DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_room_reservations_viewer (room_id, viewer_id),
  KEY idx_room_reservations_associate (room_id, associate_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Each reminder is written in the transaction that causes it (the reservation for BEFORE_START,
-- going live for LIVE) and sent by the reminder worker, which claims a row with a lease
-- (state SENDING, lease_until) and records the outcome. At most one row per reservation and kind.
CREATE TABLE room_reminders (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  brand_id            VARCHAR(128)    NOT NULL,
  reservation_id      BIGINT UNSIGNED NOT NULL,
  room_id             BIGINT UNSIGNED NOT NULL,
  viewer_id           VARCHAR(128)    NOT NULL,
  kind                TINYINT         NOT NULL COMMENT 'livecommerce.v1.ReminderKind',
  state               TINYINT         NOT NULL COMMENT 'livecommerce.v1.ReminderState',
  due_at              DATETIME(6)     NOT NULL,
  attempts            INT             NOT NULL DEFAULT 0,
  maybe_delivered     TINYINT(1)      NOT NULL DEFAULT 0
                      COMMENT 'an attempt may have reached WeChat without its answer recorded',
  last_errcode        BIGINT          NOT NULL DEFAULT 0,
  last_error          VARCHAR(255)    NOT NULL DEFAULT '',
  msgid               VARCHAR(64)     NOT NULL DEFAULT '',
  sent_at             DATETIME(6)     NULL,
  lease_owner         VARCHAR(64)     NOT NULL DEFAULT '',
  lease_until         DATETIME(6)     NULL,
  sandbox_message     MEDIUMTEXT      NULL COMMENT 'the sandbox sender: the message it would send (JSON)',
  created_at          DATETIME(6)     NOT NULL,
  updated_at          DATETIME(6)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_room_reminders_kind (reservation_id, kind),
  KEY idx_room_reminders_due (state, due_at),
  KEY idx_room_reminders_room (room_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
