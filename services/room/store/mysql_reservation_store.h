#pragma once

#include <cstdint>

#include "absl/time/time.h"
#include "services/common/events.h"
#include "services/common/mysql_client.h"
#include "services/room/store/reservation_store.h"

namespace livecommerce::room {

// ReservationStore on MySQL (tables room_reservations, room_reminders; see db/migrations/room).
class MysqlReservationStore final : public ReservationStore {
 public:
  // `events`: where a reminder's sending is published (ReminderSent, for the report); null:
  // nowhere.
  explicit MysqlReservationStore(common::MysqlPool& pool,
                                 const common::EventOutbox* events = nullptr)
      : pool_(pool), events_(events) {}

  absl::StatusOr<ReservationRecord> Reserve(const ReserveRequest& request) override;
  absl::StatusOr<ReservationRecord> Cancel(int64_t room_id, const std::string& viewer_id,
                                           absl::Time now) override;
  absl::StatusOr<std::optional<ReservationRecord>> Get(int64_t room_id,
                                                       const std::string& viewer_id) override;
  absl::StatusOr<std::vector<ReservationRecord>> List(const ReservationQuery& query) override;
  absl::StatusOr<std::vector<ReminderRecord>> ListReminders(int64_t room_id, int64_t after_id,
                                                            int limit) override;
  absl::StatusOr<std::vector<ClaimedReminder>> ClaimDue(absl::Time now, absl::Duration lease,
                                                        int limit,
                                                        const std::string& owner) override;
  absl::Status RecordOutcome(int64_t reminder_id, const std::string& owner,
                             const RecordedAttempt& attempt, absl::Time now) override;

 private:
  common::MysqlPool& pool_;
  const common::EventOutbox* events_;
};

// Writes, in the caller's transaction (the one that opens the room's session), a LIVE reminder
// due `now` for every active reservation of the room that carries a consent, and cancels the
// BEFORE_START reminders still pending (the live one supersedes them). At most one LIVE reminder
// per reservation however often the room goes live. Returns how many were written.
int WriteLiveReminders(common::MysqlConnection& c, int64_t room_id, int64_t session_id,
                       absl::Time now);

// The room's invites not revoked and its active reservations, on `c` (the funnel's first steps,
// published with SessionAudienceBooked when the session goes live).
struct RoomAudience {
  int64_t invited = 0;
  int64_t reserved = 0;
};
RoomAudience AudienceOfRoom(common::MysqlConnection& c, int64_t room_id);

}  // namespace livecommerce::room
