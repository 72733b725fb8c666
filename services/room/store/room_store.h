#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/room/domain/room.h"

namespace livecommerce::room {

struct RoomQuery {
  std::string brand_id;
  RoomStatus status = v1::ROOM_STATUS_UNSPECIFIED;  // UNSPECIFIED: any
  bool public_only = false;
  int64_t after_id = 0;  // page cursor: ids greater than this
  int limit = 20;
};

struct InviteQuery {
  int64_t room_id = 0;
  std::string cohort;        // empty: any
  std::string associate_id;  // empty: any
  int64_t after_id = 0;
  int limit = 50;
};

// What a viewer's join found out about their invite.
struct InviteGrant {
  int64_t invite_id = 0;
  std::string cohort;
  std::string associate_id;
};

// A room and the session that going live opened or ending closed, as committed.
struct RoomSession {
  RoomRecord room;
  SessionRecord session;
};

// Invites an associate issued, and their quota after them.
struct IssuedInvites {
  std::vector<InviteRecord> invites;
  AssociateQuota quota;
};

// The system of record for rooms, sessions and invites (MySQL). Each method is atomic.
// Errors: NOT_FOUND for unknown ids, UNAVAILABLE when the database cannot be reached.
class RoomStore {
 public:
  virtual ~RoomStore() = default;

  virtual absl::StatusOr<RoomRecord> CreateRoom(const RoomRecord& room) = 0;
  virtual absl::StatusOr<RoomRecord> GetRoom(int64_t room_id) = 0;
  // Reads the room under a row lock, lets `mutate` change it (its error aborts with nothing
  // written), then writes it back.
  virtual absl::StatusOr<RoomRecord> UpdateRoom(
      int64_t room_id, const std::function<absl::Status(RoomRecord&)>& mutate) = 0;
  virtual absl::StatusOr<std::vector<RoomRecord>> ListRooms(const RoomQuery& query) = 0;
  // UpdateRoom for a change of the pin: when the pin changed while a session is live, the
  // product moment (room_session_moments: PIN of the new pin, UNPIN of the one removed, its
  // offset from the session's start) is written in the same transaction.
  virtual absl::StatusOr<RoomRecord> UpdatePin(
      int64_t room_id, absl::Time now, const std::function<absl::Status(RoomRecord&)>& mutate) = 0;

  // Opens a new session: FAILED_PRECONDITION unless the room may go live.
  virtual absl::StatusOr<RoomSession> StartSession(int64_t room_id, absl::Time now,
                                                   int presence_buckets) = 0;
  // Closes the live session with the stats `final_stats` returns for it (read while the room is
  // locked, so nothing else ends it twice). FAILED_PRECONDITION unless the room is live.
  virtual absl::StatusOr<RoomSession> EndSession(
      int64_t room_id, absl::Time now,
      const std::function<absl::StatusOr<SessionStats>(const SessionRecord&)>& final_stats) = 0;
  virtual absl::StatusOr<SessionRecord> GetSession(int64_t session_id) = 0;
  virtual absl::StatusOr<std::vector<SessionRecord>> ListSessions(int64_t room_id, int64_t after_id,
                                                                  int limit) = 0;
  virtual absl::StatusOr<std::vector<SessionRecord>> ListLiveSessions() = 0;

  // Inserts invites (their token hashes already set); returns them with ids.
  virtual absl::StatusOr<std::vector<InviteRecord>> CreateInvites(
      const std::vector<InviteRecord>& invites) = 0;
  // Inserts invites `associate_id` issues themselves (their associate_id and issued_by), within
  // the room's per-associate quota, in one transaction under the room's row lock (so concurrent
  // calls never pass the quota together). PERMISSION_DENIED when the room is not open to
  // associates' invites; RESOURCE_EXHAUSTED (nothing written) when the quota would be passed.
  virtual absl::StatusOr<IssuedInvites> CreateAssociateInvites(
      int64_t room_id, const std::string& associate_id,
      const std::vector<InviteRecord>& invites) = 0;
  // The room's quota for `associate_id` and how many invites they issued themselves.
  virtual absl::StatusOr<AssociateQuota> AssociateInviteQuota(int64_t room_id,
                                                              const std::string& associate_id) = 0;
  virtual absl::StatusOr<InviteRecord> GetInvite(int64_t invite_id) = 0;
  virtual absl::StatusOr<InviteRecord> RevokeInvite(int64_t invite_id, absl::Time now) = 0;
  virtual absl::StatusOr<std::vector<InviteRecord>> ListInvites(const InviteQuery& query) = 0;
  // The invite of `room_id` already bound to `viewer_id`, if any.
  virtual absl::StatusOr<std::optional<InviteRecord>> FindBoundInvite(
      int64_t room_id, const std::string& viewer_id) = 0;
  // Admits `viewer_id` to a private room: with the invite they already hold, or else by binding the
  // invite whose token hashes to `token_hash` (empty: none given) to them, atomically, so one
  // invite binds to exactly one viewer however many use it at once. PERMISSION_DENIED when neither
  // works.
  virtual absl::StatusOr<InviteGrant> AdmitToPrivateRoom(int64_t room_id,
                                                         const std::string& viewer_id,
                                                         const std::string& token_hash,
                                                         absl::Time now) = 0;
};

}  // namespace livecommerce::room
