#pragma once

#include "services/common/events.h"
#include "services/common/mysql_client.h"
#include "services/room/store/room_store.h"

namespace livecommerce::room {

// RoomStore on MySQL (tables rooms, room_sessions, room_invites; see db/migrations).
class MysqlRoomStore final : public RoomStore {
 public:
  // `events` (may be null: no events) publishes SessionStarted and SessionEnded in the
  // transactions that start and end sessions (docs/EVENTS.md).
  explicit MysqlRoomStore(common::MysqlPool& pool, const common::EventOutbox* events = nullptr)
      : pool_(pool), events_(events) {}

  absl::StatusOr<RoomRecord> CreateRoom(const RoomRecord& room) override;
  absl::StatusOr<RoomRecord> GetRoom(int64_t room_id) override;
  absl::StatusOr<RoomRecord> UpdateRoom(
      int64_t room_id, const std::function<absl::Status(RoomRecord&)>& mutate) override;
  absl::StatusOr<std::vector<RoomRecord>> ListRooms(const RoomQuery& query) override;
  absl::StatusOr<RoomRecord> UpdatePin(
      int64_t room_id, absl::Time now,
      const std::function<absl::Status(RoomRecord&)>& mutate) override;

  absl::StatusOr<RoomSession> StartSession(int64_t room_id, absl::Time now,
                                           int presence_buckets) override;
  absl::StatusOr<RoomSession> EndSession(
      int64_t room_id, absl::Time now,
      const std::function<absl::StatusOr<SessionStats>(const SessionRecord&)>& final_stats)
      override;
  absl::StatusOr<SessionRecord> GetSession(int64_t session_id) override;
  absl::StatusOr<std::vector<SessionRecord>> ListSessions(int64_t room_id, int64_t after_id,
                                                          int limit) override;
  absl::StatusOr<std::vector<SessionRecord>> ListLiveSessions() override;

  absl::StatusOr<std::vector<InviteRecord>> CreateInvites(
      const std::vector<InviteRecord>& invites) override;
  absl::StatusOr<IssuedInvites> CreateAssociateInvites(
      int64_t room_id, const std::string& associate_id,
      const std::vector<InviteRecord>& invites) override;
  absl::StatusOr<AssociateQuota> AssociateInviteQuota(int64_t room_id,
                                                      const std::string& associate_id) override;
  absl::StatusOr<InviteRecord> GetInvite(int64_t invite_id) override;
  absl::StatusOr<InviteRecord> RevokeInvite(int64_t invite_id, absl::Time now) override;
  absl::StatusOr<std::vector<InviteRecord>> ListInvites(const InviteQuery& query) override;
  absl::StatusOr<std::optional<InviteRecord>> FindBoundInvite(
      int64_t room_id, const std::string& viewer_id) override;
  absl::StatusOr<InviteGrant> AdmitToPrivateRoom(int64_t room_id, const std::string& viewer_id,
                                                 const std::string& token_hash,
                                                 absl::Time now) override;

 private:
  common::MysqlPool& pool_;
  const common::EventOutbox* events_;
};

}  // namespace livecommerce::room
