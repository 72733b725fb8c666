#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/room/domain/reminder.h"

namespace livecommerce::room {

struct ReservationRecord {
  int64_t id = 0;
  std::string brand_id;
  int64_t room_id = 0;
  std::string viewer_id;
  RoomReservationStatus status = v1::ROOM_RESERVATION_STATUS_RESERVED;
  int64_t invite_id = 0;  // 0: none
  std::string associate_id;
  std::string template_id;
  std::optional<absl::Time> consent_at;
  absl::Time reserved_at;
  std::optional<absl::Time> cancelled_at;
  // The latest reminder of the reservation (UNSPECIFIED: none yet).
  ReminderState reminder_state = v1::REMINDER_STATE_UNSPECIFIED;
  std::optional<absl::Time> reminded_at;
};

struct ReminderRecord {
  int64_t id = 0;
  std::string brand_id;
  int64_t reservation_id = 0;
  int64_t room_id = 0;
  std::string viewer_id;
  ReminderKind kind = v1::REMINDER_KIND_LIVE;
  ReminderState state = v1::REMINDER_STATE_PENDING;
  absl::Time due_at;
  int attempts = 0;
  bool maybe_delivered = false;
  int64_t last_errcode = 0;
  std::string last_error;
  std::string msgid;
  std::optional<absl::Time> sent_at;
  std::string sandbox_message;  // JSON, "" when none
};

// A reminder a worker claimed, with what its message needs.
struct ClaimedReminder {
  ReminderRecord reminder;  // attempts already counts this attempt
  std::string template_id;
  ReminderRoom room;
};

// What a viewer's reserve asks for.
struct ReserveRequest {
  std::string brand_id;
  int64_t room_id = 0;
  std::string viewer_id;
  int64_t invite_id = 0;  // 0: none
  std::string associate_id;
  std::string template_id;  // "" when the viewer declined the consent
  absl::Time now;
  // > 0: also a BEFORE_START reminder due this long before the scheduled start (unless that is
  // already past).
  absl::Duration lead;
};

struct ReservationQuery {
  int64_t room_id = 0;
  std::string associate_id;                                                // empty: any
  RoomReservationStatus status = v1::ROOM_RESERVATION_STATUS_UNSPECIFIED;  // UNSPECIFIED: any
  int64_t after_id = 0;
  int limit = 50;
};

// How an attempt ended, for RecordOutcome.
struct RecordedAttempt {
  ReminderOutcome outcome;
  std::string sandbox_message;  // "" to leave the column as it is
};

// Reservations of rooms and the outbox of their reminders (MySQL, tables room_reservations and
// room_reminders). UNAVAILABLE when the database cannot be reached.
class ReservationStore {
 public:
  virtual ~ReservationStore() = default;

  // Reserves the room for the viewer, in one transaction under the room's row lock (the lock
  // going live takes, so no reservation slips in after the live reminders were written).
  // Idempotent: a second reserve returns the same reservation (a cancelled one is reserved again;
  // a consent given now is recorded). With a consent and a lead, the BEFORE_START reminder is
  // written (or reactivated) in the same transaction. FAILED_PRECONDITION unless the room is
  // SCHEDULED; NOT_FOUND for an unknown room.
  virtual absl::StatusOr<ReservationRecord> Reserve(const ReserveRequest& request) = 0;
  // Cancels the viewer's reservation and its pending reminders, in one transaction under the
  // room's row lock. Idempotent. NOT_FOUND when the viewer has none; FAILED_PRECONDITION once
  // the room has gone live (or ended).
  virtual absl::StatusOr<ReservationRecord> Cancel(int64_t room_id, const std::string& viewer_id,
                                                   absl::Time now) = 0;
  virtual absl::StatusOr<std::optional<ReservationRecord>> Get(int64_t room_id,
                                                               const std::string& viewer_id) = 0;
  // By id, from `after_id`.
  virtual absl::StatusOr<std::vector<ReservationRecord>> List(const ReservationQuery& query) = 0;
  virtual absl::StatusOr<std::vector<ReminderRecord>> ListReminders(int64_t room_id,
                                                                    int64_t after_id,
                                                                    int limit) = 0;

  // Claims up to `limit` reminders that are due (PENDING with due_at <= now) or whose sender's
  // lease ran out (SENDING with lease_until <= now: that sender died, or is too slow), for
  // `owner` until now + `lease`: state SENDING, attempts + 1. A row taken back from an expired
  // lease is marked maybe_delivered (its attempt may have reached WeChat). Rows other workers
  // are claiming are skipped (SKIP LOCKED), so any number of workers can run.
  virtual absl::StatusOr<std::vector<ClaimedReminder>> ClaimDue(absl::Time now,
                                                                absl::Duration lease, int limit,
                                                                const std::string& owner) = 0;
  // Records the attempt's outcome on a reminder `owner` still holds. ABORTED (nothing written)
  // when the lease was lost to another worker.
  virtual absl::Status RecordOutcome(int64_t reminder_id, const std::string& owner,
                                     const RecordedAttempt& attempt, absl::Time now) = 0;
};

}  // namespace livecommerce::room
