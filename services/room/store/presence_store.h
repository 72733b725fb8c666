#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/room/domain/room.h"

namespace livecommerce::room {

// Where a session's presence lives: its id and how many buckets its viewers are spread over.
struct PresenceSession {
  int64_t session_id = 0;
  int buckets = 1;
};

struct PresenceOp {
  enum class Kind { kHeartbeat, kLeave };
  PresenceSession session;
  std::string viewer_id;
  std::string device_id;
  Kind kind = Kind::kHeartbeat;
};

struct LiveCounts {
  int64_t concurrent = 0;
  int64_t peak = 0;
  int64_t reach = 0;
  int64_t joins = 0;
  // Viewer-milliseconds watched: each stay from arrival to its last heartbeat or leave.
  int64_t watch_ms = 0;
};

// Real-time presence of viewers in live sessions (Redis). A viewer is present while any of their
// devices sent a join or heartbeat within the window; one viewer on several devices counts once.
// Each change is atomic. Errors: UNAVAILABLE when Redis cannot be reached.
class PresenceStore {
 public:
  virtual ~PresenceStore() = default;
  // Returns true when the viewer was not present before (a new arrival, counted in total joins).
  virtual absl::StatusOr<bool> Join(const PresenceSession& session, const std::string& viewer_id,
                                    const std::string& device_id, absl::Time now) = 0;
  // Returns false when this device of the viewer is not present (it must join again).
  virtual absl::StatusOr<bool> Heartbeat(const PresenceSession& session,
                                         const std::string& viewer_id, const std::string& device_id,
                                         absl::Time now) = 0;
  // Heartbeat, answered through `done` (possibly on another thread, which `done` must not block).
  // Stores may batch concurrent calls, refusing what they cannot take quickly and dropping what
  // is still waiting at `deadline` (common/admission.h); this default calls Heartbeat at once.
  virtual void HeartbeatAsync(const PresenceSession& session, const std::string& viewer_id,
                              const std::string& device_id, absl::Time now, absl::Time deadline,
                              std::function<void(absl::StatusOr<bool>)> done) {
    (void)deadline;
    done(Heartbeat(session, viewer_id, device_id, now));
  }
  virtual absl::Status Leave(const PresenceSession& session, const std::string& viewer_id,
                             const std::string& device_id, absl::Time now) = 0;
  // Applies many heartbeats and leaves in one round trip; one result per op as for Heartbeat
  // (leaves always true).
  virtual absl::StatusOr<std::vector<bool>> Apply(const std::vector<PresenceOp>& ops,
                                                  absl::Time now) = 0;
  // Current counts; also raises the session's recorded peak to the current concurrency.
  virtual absl::StatusOr<LiveCounts> Counts(const PresenceSession& session, absl::Time now) = 0;
  // Lets the session's keys expire after `ttl` (once its final stats are recorded).
  virtual absl::Status Retire(const PresenceSession& session, absl::Duration ttl) = 0;
};

}  // namespace livecommerce::room
