#include "services/room/store/caching_room_store.h"

#include <utility>

namespace livecommerce::room {

absl::StatusOr<RoomRecord> CachingRoomStore::CreateRoom(const RoomRecord& room) {
  return store_.CreateRoom(room);
}

absl::StatusOr<RoomRecord> CachingRoomStore::GetRoom(int64_t room_id) {
  if (std::optional<RoomRecord> cached = rooms_.Get(room_id)) return *std::move(cached);
  uint64_t generation = rooms_.Generation();
  absl::StatusOr<RoomRecord> room = store_.GetRoom(room_id);
  if (room.ok()) rooms_.PutIfUnchanged(room_id, *room, generation);
  return room;
}

absl::StatusOr<RoomRecord> CachingRoomStore::UpdateRoom(
    int64_t room_id, const std::function<absl::Status(RoomRecord&)>& mutate) {
  absl::StatusOr<RoomRecord> room = store_.UpdateRoom(room_id, mutate);
  rooms_.Invalidate(room_id);
  return room;
}

absl::StatusOr<std::vector<RoomRecord>> CachingRoomStore::ListRooms(const RoomQuery& query) {
  return store_.ListRooms(query);
}

absl::StatusOr<RoomRecord> CachingRoomStore::UpdatePin(
    int64_t room_id, absl::Time now, const std::function<absl::Status(RoomRecord&)>& mutate) {
  absl::StatusOr<RoomRecord> room = store_.UpdatePin(room_id, now, mutate);
  rooms_.Invalidate(room_id);
  return room;
}

absl::StatusOr<RoomSession> CachingRoomStore::StartSession(int64_t room_id, absl::Time now,
                                                           int presence_buckets) {
  absl::StatusOr<RoomSession> started = store_.StartSession(room_id, now, presence_buckets);
  rooms_.Invalidate(room_id);
  return started;
}

absl::StatusOr<RoomSession> CachingRoomStore::EndSession(
    int64_t room_id, absl::Time now,
    const std::function<absl::StatusOr<SessionStats>(const SessionRecord&)>& final_stats) {
  absl::StatusOr<RoomSession> ended = store_.EndSession(room_id, now, final_stats);
  rooms_.Invalidate(room_id);
  return ended;
}

absl::StatusOr<SessionRecord> CachingRoomStore::GetSession(int64_t session_id) {
  return store_.GetSession(session_id);
}

absl::StatusOr<std::vector<SessionRecord>> CachingRoomStore::ListSessions(int64_t room_id,
                                                                          int64_t after_id,
                                                                          int limit) {
  return store_.ListSessions(room_id, after_id, limit);
}

absl::StatusOr<std::vector<SessionRecord>> CachingRoomStore::ListLiveSessions() {
  return store_.ListLiveSessions();
}

absl::StatusOr<std::vector<InviteRecord>> CachingRoomStore::CreateInvites(
    const std::vector<InviteRecord>& invites) {
  return store_.CreateInvites(invites);
}

absl::StatusOr<IssuedInvites> CachingRoomStore::CreateAssociateInvites(
    int64_t room_id, const std::string& associate_id, const std::vector<InviteRecord>& invites) {
  return store_.CreateAssociateInvites(room_id, associate_id, invites);
}

absl::StatusOr<AssociateQuota> CachingRoomStore::AssociateInviteQuota(
    int64_t room_id, const std::string& associate_id) {
  return store_.AssociateInviteQuota(room_id, associate_id);
}

absl::StatusOr<InviteRecord> CachingRoomStore::GetInvite(int64_t invite_id) {
  return store_.GetInvite(invite_id);
}

absl::StatusOr<InviteRecord> CachingRoomStore::RevokeInvite(int64_t invite_id, absl::Time now) {
  return store_.RevokeInvite(invite_id, now);
}

absl::StatusOr<std::vector<InviteRecord>> CachingRoomStore::ListInvites(const InviteQuery& query) {
  return store_.ListInvites(query);
}

absl::StatusOr<std::optional<InviteRecord>> CachingRoomStore::FindBoundInvite(
    int64_t room_id, const std::string& viewer_id) {
  return store_.FindBoundInvite(room_id, viewer_id);
}

absl::StatusOr<InviteGrant> CachingRoomStore::AdmitToPrivateRoom(int64_t room_id,
                                                                 const std::string& viewer_id,
                                                                 const std::string& token_hash,
                                                                 absl::Time now) {
  return store_.AdmitToPrivateRoom(room_id, viewer_id, token_hash, now);
}

}  // namespace livecommerce::room
