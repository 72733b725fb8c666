#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/redis_client.h"

namespace livecommerce::gateway {

// Where revoked token ids are kept until the token would have expired anyway.
class RevocationStore {
 public:
  virtual ~RevocationStore() = default;
  // Records that `token_id` is revoked; remembered until `expires_at`. UNAVAILABLE when the
  // store cannot be reached.
  virtual absl::Status Revoke(const std::string& token_id, absl::Time expires_at) = 0;
  // Every token id revoked and not yet expired at `now` (and forgets the expired ones).
  virtual absl::StatusOr<std::vector<std::string>> ListRevoked(absl::Time now) = 0;
};

// One sorted set `lc:gateway:revoked` (member: token id, score: expiry in unix seconds).
// Revocations are rare, so every gateway reads the whole set about once a second.
class RedisRevocationStore final : public RevocationStore {
 public:
  explicit RedisRevocationStore(common::RedisPool& redis) : redis_(redis) {}
  absl::Status Revoke(const std::string& token_id, absl::Time expires_at) override;
  absl::StatusOr<std::vector<std::string>> ListRevoked(absl::Time now) override;

 private:
  common::RedisPool& redis_;
};

// The gateway's in-memory copy of the revoked ids, checked on every request without I/O and
// replaced by Refresh (called periodically). Thread-safe.
class RevocationList final {
 public:
  explicit RevocationList(RevocationStore& store) : store_(store) {}
  bool IsRevoked(const std::string& token_id) const;
  // Reads the store; on failure keeps the previous copy and returns the error.
  absl::Status Refresh(absl::Time now);
  // Whether the last refresh succeeded (readiness).
  bool healthy() const;

 private:
  RevocationStore& store_;
  mutable std::shared_mutex mu_;
  std::unordered_set<std::string> revoked_;
  bool healthy_ = false;
};

}  // namespace livecommerce::gateway
