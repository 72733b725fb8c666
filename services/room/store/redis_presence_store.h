#pragma once

#include "services/common/redis_batcher.h"
#include "services/common/redis_client.h"
#include "services/room/store/presence_store.h"

namespace livecommerce::room {

// Presence in Redis. Per session and bucket (hash tag {ses:<id>:<bucket>}): a sorted set of present
// viewers scored by their latest heartbeat, a hash of each viewer's devices and their last
// heartbeats, a HyperLogLog of everyone who joined (reach) and a join counter. A viewer always
// hashes to the same bucket, so bucket counts add up exactly. The peak lives under {ses:<id>}.
// Every change is one Lua script on one bucket; expired viewers are swept by the scripts as they
// run.
class RedisPresenceStore final : public PresenceStore {
 public:
  RedisPresenceStore(common::RedisPool& redis, absl::Duration window,
                     common::AdmissionOptions admission = common::AdmissionOptions::Unbounded());

  absl::Status LoadScripts();
  absl::StatusOr<bool> Join(const PresenceSession& session, const std::string& viewer_id,
                            const std::string& device_id, absl::Time now) override;
  absl::StatusOr<bool> Heartbeat(const PresenceSession& session, const std::string& viewer_id,
                                 const std::string& device_id, absl::Time now) override;
  // Concurrent heartbeats share Redis pipelines; the queue admits what it can serve quickly.
  void HeartbeatAsync(const PresenceSession& session, const std::string& viewer_id,
                      const std::string& device_id, absl::Time now, absl::Time deadline,
                      std::function<void(absl::StatusOr<bool>)> done) override;
  absl::Status Leave(const PresenceSession& session, const std::string& viewer_id,
                     const std::string& device_id, absl::Time now) override;
  absl::StatusOr<std::vector<bool>> Apply(const std::vector<PresenceOp>& ops,
                                          absl::Time now) override;
  absl::StatusOr<LiveCounts> Counts(const PresenceSession& session, absl::Time now) override;
  absl::Status Retire(const PresenceSession& session, absl::Duration ttl) override;

 private:
  common::RedisScriptCall TouchCall(const PresenceSession& session, const std::string& viewer_id,
                                    const std::string& device_id, absl::Time now, bool join) const;
  common::RedisScriptCall LeaveCall(const PresenceSession& session, const std::string& viewer_id,
                                    const std::string& device_id, absl::Time now) const;

  common::RedisPool& redis_;
  absl::Duration window_;
  common::RedisScriptBatcher batcher_;
};

}  // namespace livecommerce::room
