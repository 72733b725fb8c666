#include "services/room/store/mysql_reservation_store.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "livecommerce/events/v1/events.pb.h"
#include "services/common/proto_util.h"
#include "services/common/sql.h"
#include "services/common/status.h"
#include "services/room/domain/room.h"

namespace livecommerce::room {
namespace {

using common::MysqlConnection;
using common::Sql;
using common::SqlRow;
using common::SqlStatement;

// The latest reminder's state and the last send come with every reservation.
constexpr char kReservationColumns[] =
    "r.id, r.brand_id, r.room_id, r.viewer_id, r.status, r.invite_id, r.associate_id, "
    "r.template_id, r.consent_at, r.reserved_at, r.cancelled_at, "
    "(SELECT m.state FROM room_reminders m WHERE m.reservation_id = r.id ORDER BY m.id DESC "
    "LIMIT 1) AS reminder_state, "
    "(SELECT MAX(m.sent_at) FROM room_reminders m WHERE m.reservation_id = r.id) AS reminded_at";

constexpr char kReminderColumns[] =
    "m.id, m.brand_id, m.reservation_id, m.room_id, m.viewer_id, m.kind, m.state, m.due_at, "
    "m.attempts, m.maybe_delivered, m.last_errcode, m.last_error, m.msgid, m.sent_at, "
    "m.sandbox_message";

ReservationRecord ReadReservation(const SqlRow& row) {
  ReservationRecord r;
  r.id = row.Int("id");
  r.brand_id = row.Str("brand_id");
  r.room_id = row.Int("room_id");
  r.viewer_id = row.Str("viewer_id");
  r.status = row.Enum<RoomReservationStatus>("status");
  r.invite_id = row.OptInt("invite_id").value_or(0);
  r.associate_id = row.Str("associate_id");
  r.template_id = row.Str("template_id");
  r.consent_at = row.OptTime("consent_at");
  r.reserved_at = row.Time("reserved_at");
  r.cancelled_at = row.OptTime("cancelled_at");
  if (!row.IsNull("reminder_state")) {
    r.reminder_state = row.Enum<ReminderState>("reminder_state");
  }
  r.reminded_at = row.OptTime("reminded_at");
  return r;
}

ReminderRecord ReadReminder(const SqlRow& row) {
  ReminderRecord m;
  m.id = row.Int("id");
  m.brand_id = row.Str("brand_id");
  m.reservation_id = row.Int("reservation_id");
  m.room_id = row.Int("room_id");
  m.viewer_id = row.Str("viewer_id");
  m.kind = row.Enum<ReminderKind>("kind");
  m.state = row.Enum<ReminderState>("state");
  m.due_at = row.Time("due_at");
  m.attempts = static_cast<int>(row.Int("attempts"));
  m.maybe_delivered = row.Bool("maybe_delivered");
  m.last_errcode = row.Int("last_errcode");
  m.last_error = row.Str("last_error");
  m.msgid = row.Str("msgid");
  m.sent_at = row.OptTime("sent_at");
  m.sandbox_message = row.OptStr("sandbox_message").value_or("");
  return m;
}

std::optional<ReservationRecord> SelectReservation(MysqlConnection& c, int64_t room_id,
                                                   const std::string& viewer_id) {
  return Sql(c,
             absl::StrCat("SELECT ", kReservationColumns,
                          " FROM room_reservations r WHERE r.room_id = ? AND r.viewer_id = ?"),
             room_id, viewer_id)
      .One(ReadReservation);
}

struct LockedRoom {
  RoomStatus status = v1::ROOM_STATUS_UNSPECIFIED;
  absl::Time scheduled_start;
};

// The room's row lock: the one StartSession takes, so a reservation and going live never
// interleave.
absl::StatusOr<LockedRoom> LockRoom(MysqlConnection& c, int64_t room_id) {
  std::optional<LockedRoom> room =
      Sql(c, "SELECT status, scheduled_start FROM rooms WHERE id = ? FOR UPDATE", room_id)
          .One([](const SqlRow& row) {
            return LockedRoom{row.Enum<RoomStatus>("status"), row.Time("scheduled_start")};
          });
  if (!room.has_value()) {
    return absl::NotFoundError("room_id: no such room");
  }
  return *room;
}

}  // namespace

RoomAudience AudienceOfRoom(MysqlConnection& c, int64_t room_id) {
  auto count = [](const SqlRow& row) { return row.Int("n"); };
  RoomAudience out;
  out.invited =
      Sql(c, "SELECT COUNT(*) AS n FROM room_invites WHERE room_id = ? AND revoked_at IS NULL",
          room_id)
          .One(count)
          .value_or(0);
  out.reserved =
      Sql(c, "SELECT COUNT(*) AS n FROM room_reservations WHERE room_id = ? AND status = ?",
          room_id, v1::ROOM_RESERVATION_STATUS_RESERVED)
          .One(count)
          .value_or(0);
  return out;
}

int WriteLiveReminders(MysqlConnection& c, int64_t room_id, int64_t session_id, absl::Time now) {
  Sql(c,
      "UPDATE room_reminders SET state = ?, updated_at = ? WHERE room_id = ? AND kind = ? AND "
      "state = ?",
      v1::REMINDER_STATE_CANCELLED, now, room_id, v1::REMINDER_KIND_BEFORE_START,
      v1::REMINDER_STATE_PENDING)
      .Execute();
  // INSERT ... SELECT in the session's transaction: the reminders exist exactly when the session
  // does. The unique (reservation_id, kind) keeps a room that goes live again from writing a
  // second LIVE reminder for the same reservation.
  return Sql(c,
             "INSERT INTO room_reminders (brand_id, reservation_id, room_id, session_id, "
             "viewer_id, kind, state, due_at, created_at, updated_at) SELECT r.brand_id, r.id, "
             "r.room_id, ?, r.viewer_id, ?, ?, ?, ?, ? FROM room_reservations r WHERE r.room_id = "
             "? "
             "AND "
             "r.status = ? AND r.consent_at IS NOT NULL "
             "ON DUPLICATE KEY UPDATE room_reminders.id = room_reminders.id",
             session_id, v1::REMINDER_KIND_LIVE, v1::REMINDER_STATE_PENDING, now, now, now, room_id,
             v1::ROOM_RESERVATION_STATUS_RESERVED)
      .Execute();
}

absl::StatusOr<ReservationRecord> MysqlReservationStore::Reserve(const ReserveRequest& request) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<ReservationRecord> {
    LC_ASSIGN_OR_RETURN(LockedRoom room, LockRoom(c, request.room_id));
    if (room.status != v1::ROOM_STATUS_SCHEDULED) {
      return absl::FailedPreconditionError(
          "room_id: the room has gone live already; only a scheduled room can be reserved");
    }
    const bool consent = !request.template_id.empty();
    std::optional<absl::Time> consent_at =
        consent ? std::optional<absl::Time>(request.now) : std::nullopt;
    std::optional<ReservationRecord> held =
        SelectReservation(c, request.room_id, request.viewer_id);
    if (!held.has_value()) {
      Sql(c,
          "INSERT INTO room_reservations (brand_id, room_id, viewer_id, status, invite_id, "
          "associate_id, template_id, consent_at, reserved_at, updated_at) "
          "VALUES (?, ?, ?, ?, NULLIF(?, 0), ?, ?, ?, ?, ?)",
          request.brand_id, request.room_id, request.viewer_id,
          v1::ROOM_RESERVATION_STATUS_RESERVED, request.invite_id, request.associate_id,
          request.template_id, consent_at, request.now, request.now)
          .Execute();
    } else {
      // Reserving again: reactivates a cancelled reservation, records a consent given now, and
      // keeps the invite (and associate) the viewer first came through.
      const bool reactivate = held->status != v1::ROOM_RESERVATION_STATUS_RESERVED;
      Sql(c,
          "UPDATE room_reservations SET status = ?, cancelled_at = NULL, reserved_at = ?, "
          "template_id = ?, consent_at = ?, invite_id = COALESCE(invite_id, NULLIF(?, 0)), "
          "associate_id = IF(associate_id = '', ?, associate_id), updated_at = ? WHERE id = ?",
          v1::ROOM_RESERVATION_STATUS_RESERVED, reactivate ? request.now : held->reserved_at,
          consent ? request.template_id : held->template_id,
          consent ? consent_at : held->consent_at, request.invite_id, request.associate_id,
          request.now, held->id)
          .Execute();
    }
    std::optional<ReservationRecord> reservation =
        SelectReservation(c, request.room_id, request.viewer_id);
    if (!reservation.has_value()) {
      return absl::InternalError("reservation vanished in its own transaction");
    }
    absl::Time due = room.scheduled_start - request.lead;
    if (reservation->consent_at.has_value() && request.lead > absl::ZeroDuration() &&
        due > request.now) {
      // A cancelled BEFORE_START reminder comes back with the reservation; one already sent or
      // being sent stays as it is (at most one per reservation).
      Sql(c,
          "INSERT INTO room_reminders (brand_id, reservation_id, room_id, viewer_id, kind, state, "
          "due_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
          "ON DUPLICATE KEY UPDATE due_at = IF(state = ?, VALUES(due_at), due_at), "
          "updated_at = VALUES(updated_at), state = IF(state = ?, ?, state)",
          request.brand_id, reservation->id, request.room_id, request.viewer_id,
          v1::REMINDER_KIND_BEFORE_START, v1::REMINDER_STATE_PENDING, due, request.now, request.now,
          v1::REMINDER_STATE_CANCELLED, v1::REMINDER_STATE_CANCELLED, v1::REMINDER_STATE_PENDING)
          .Execute();
    }
    return *std::move(reservation);
  });
}

absl::StatusOr<ReservationRecord> MysqlReservationStore::Cancel(int64_t room_id,
                                                                const std::string& viewer_id,
                                                                absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<ReservationRecord> {
    LC_ASSIGN_OR_RETURN(LockedRoom room, LockRoom(c, room_id));
    std::optional<ReservationRecord> held = SelectReservation(c, room_id, viewer_id);
    if (!held.has_value()) {
      return absl::NotFoundError("room_id: no reservation of this room");
    }
    if (room.status != v1::ROOM_STATUS_SCHEDULED) {
      return absl::FailedPreconditionError(
          "room_id: the session has started; a reservation can be cancelled only before");
    }
    if (held->status == v1::ROOM_RESERVATION_STATUS_CANCELLED) {
      return *std::move(held);
    }
    Sql(c, "UPDATE room_reservations SET status = ?, cancelled_at = ?, updated_at = ? WHERE id = ?",
        v1::ROOM_RESERVATION_STATUS_CANCELLED, now, now, held->id)
        .Execute();
    Sql(c,
        "UPDATE room_reminders SET state = ?, updated_at = ? WHERE reservation_id = ? AND "
        "state = ?",
        v1::REMINDER_STATE_CANCELLED, now, held->id, v1::REMINDER_STATE_PENDING)
        .Execute();
    std::optional<ReservationRecord> cancelled = SelectReservation(c, room_id, viewer_id);
    if (!cancelled.has_value()) {
      return absl::InternalError("reservation vanished in its own transaction");
    }
    return *std::move(cancelled);
  });
}

absl::StatusOr<std::optional<ReservationRecord>> MysqlReservationStore::Get(
    int64_t room_id, const std::string& viewer_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<ReservationRecord>> {
    return SelectReservation(c, room_id, viewer_id);
  });
}

absl::StatusOr<std::vector<ReservationRecord>> MysqlReservationStore::List(
    const ReservationQuery& query) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<ReservationRecord>> {
    // Fixed SQL text per filter combination, so each shape is prepared once per connection.
    std::string sql = absl::StrCat("SELECT ", kReservationColumns,
                                   " FROM room_reservations r WHERE r.room_id = ? AND r.id > ?");
    if (!query.associate_id.empty()) absl::StrAppend(&sql, " AND r.associate_id = ?");
    if (query.status != v1::ROOM_RESERVATION_STATUS_UNSPECIFIED) {
      absl::StrAppend(&sql, " AND r.status = ?");
    }
    absl::StrAppend(&sql, " ORDER BY r.id LIMIT ?");
    SqlStatement select = Sql(c, sql, query.room_id, query.after_id);
    if (!query.associate_id.empty()) select.Bind(query.associate_id);
    if (query.status != v1::ROOM_RESERVATION_STATUS_UNSPECIFIED) select.Bind(query.status);
    return select.Bind(query.limit).All(ReadReservation);
  });
}

absl::StatusOr<std::vector<ReminderRecord>> MysqlReservationStore::ListReminders(int64_t room_id,
                                                                                 int64_t after_id,
                                                                                 int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<ReminderRecord>> {
    return Sql(c,
               absl::StrCat("SELECT ", kReminderColumns,
                            " FROM room_reminders m WHERE m.room_id = ? AND m.id > ? "
                            "ORDER BY m.id LIMIT ?"),
               room_id, after_id, limit)
        .All(ReadReminder);
  });
}

absl::StatusOr<std::vector<ClaimedReminder>> MysqlReservationStore::ClaimDue(
    absl::Time now, absl::Duration lease, int limit, const std::string& owner) {
  return pool_.InTransaction([&](MysqlConnection& c)
                                 -> absl::StatusOr<std::vector<ClaimedReminder>> {
    std::vector<int64_t> ids =
        Sql(c,
            "SELECT id FROM room_reminders WHERE (state = ? AND due_at <= ?) OR "
            "(state = ? AND lease_until <= ?) ORDER BY due_at, id LIMIT ? FOR UPDATE SKIP LOCKED",
            v1::REMINDER_STATE_PENDING, now, v1::REMINDER_STATE_SENDING, now, limit)
            .All([](const SqlRow& row) { return row.Int("id"); });
    std::vector<ClaimedReminder> claimed;
    claimed.reserve(ids.size());
    for (int64_t id : ids) {
      // maybe_delivered is assigned before state, so it reads the state the row had: a row taken
      // back from a SENDING lease had an attempt in flight whose answer nobody recorded.
      Sql(c,
          "UPDATE room_reminders SET maybe_delivered = (maybe_delivered OR state = ?), "
          "state = ?, attempts = attempts + 1, lease_owner = ?, lease_until = ?, updated_at = ? "
          "WHERE id = ?",
          v1::REMINDER_STATE_SENDING, v1::REMINDER_STATE_SENDING, owner, now + lease, now, id)
          .Execute();
      std::optional<ClaimedReminder> row =
          Sql(c,
              absl::StrCat("SELECT ", kReminderColumns,
                           ", r.template_id, o.title, o.scheduled_start, o.host_associate_id "
                           "FROM room_reminders m JOIN room_reservations r ON r.id = "
                           "m.reservation_id JOIN rooms o ON o.id = m.room_id WHERE m.id = ?"),
              id)
              .One([](const SqlRow& row) {
                ClaimedReminder out;
                out.reminder = ReadReminder(row);
                out.template_id = row.Str("template_id");
                out.room.room_id = out.reminder.room_id;
                out.room.brand_id = out.reminder.brand_id;
                out.room.title = row.Str("title");
                out.room.scheduled_start = row.Time("scheduled_start");
                out.room.host_associate_id = row.Str("host_associate_id");
                return out;
              });
      if (row.has_value()) claimed.push_back(*std::move(row));
    }
    return claimed;
  });
}

absl::Status MysqlReservationStore::RecordOutcome(int64_t reminder_id, const std::string& owner,
                                                  const RecordedAttempt& attempt, absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::Status {
    const ReminderOutcome& o = attempt.outcome;
    std::optional<absl::Time> retry_at = o.state == v1::REMINDER_STATE_PENDING
                                             ? std::optional<absl::Time>(o.retry_at)
                                             : std::nullopt;
    std::optional<std::string> sandbox = attempt.sandbox_message.empty()
                                             ? std::nullopt
                                             : std::optional<std::string>(attempt.sandbox_message);
    int updated = Sql(c,
                      "UPDATE room_reminders SET state = ?, maybe_delivered = ?, last_errcode = ?, "
                      "last_error = ?, msgid = ?, sent_at = COALESCE(?, sent_at), "
                      "due_at = COALESCE(?, due_at), sandbox_message = COALESCE(?, "
                      "sandbox_message), lease_owner = '', lease_until = NULL, updated_at = ? "
                      "WHERE id = ? AND state = ? AND lease_owner = ?",
                      o.state, o.maybe_delivered, o.errcode, o.error, o.msgid, o.sent_at, retry_at,
                      sandbox, now, reminder_id, v1::REMINDER_STATE_SENDING, owner)
                      .Execute();
    if (updated != 1) {
      return absl::AbortedError("reminder: the lease was taken over by another sender");
    }
    // Told to the report with the outcome, in the same transaction: a reminder announcing a
    // session counts into its funnel once it went out.
    if (events_ != nullptr && o.state == v1::REMINDER_STATE_SENT) {
      struct Sent {
        std::string brand_id;
        int64_t room_id = 0;
        int64_t session_id = 0;
        std::string viewer_id;
      };
      std::optional<Sent> sent =
          Sql(c,
              "SELECT brand_id, room_id, COALESCE(session_id, 0) AS session_id, viewer_id FROM "
              "room_reminders WHERE id = ?",
              reminder_id)
              .One([](const SqlRow& row) {
                return Sent{row.Str("brand_id"), row.Int("room_id"), row.Int("session_id"),
                            row.Str("viewer_id")};
              });
      if (sent.has_value() && sent->session_id != 0) {
        events::v1::ReminderSent e;
        e.set_reminder_id(reminder_id);
        e.set_session_id(sent->session_id);
        e.set_room_id(sent->room_id);
        e.set_viewer_id(sent->viewer_id);
        common::ToTimestamp(o.sent_at.value_or(now), e.mutable_sent_at());
        events_->Publish(c, sent->brand_id, absl::StrCat(sent->session_id), e, now);
      }
    }
    return absl::OkStatus();
  });
}

}  // namespace livecommerce::room
