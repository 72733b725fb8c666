#pragma once

#include "absl/time/time.h"
#include "services/common/ttl_cache.h"
#include "services/room/store/room_store.h"

namespace livecommerce::room {

// A RoomStore that keeps each room's record for `ttl` after reading it, in front of the system of
// record: a crowd of viewers opening a room reads it once a second, not once each. Every write
// through this store that can change a room (its settings, its pin, a session started or ended)
// drops that room at once, so this process never serves a room older than its own last write;
// another replica's write is seen within `ttl`. Everything else passes straight through. A zero
// `ttl` keeps nothing.
class CachingRoomStore final : public RoomStore {
 public:
  CachingRoomStore(RoomStore& store, absl::Duration ttl) : store_(store), rooms_(ttl, 10000) {}

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
  RoomStore& store_;
  common::TtlCache<int64_t, RoomRecord> rooms_;
};

}  // namespace livecommerce::room
