#pragma once

#include <array>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecommerce::gateway {

// Token buckets by key (a principal, a client IP): `rate` tokens a second up to `burst`. Each
// gateway instance keeps its own buckets in memory. Thread-safe; sharded to keep locks short.
class RateLimiter final {
 public:
  struct Decision {
    bool allowed = true;
    int retry_after_seconds = 0;  // when refused: whole seconds until a token is back (>= 1)
  };

  RateLimiter(double rate, double burst, size_t max_keys = 1000000);
  // Takes one token from `key`'s bucket at `now`.
  Decision Take(absl::string_view key, absl::Time now);
  bool enabled() const { return rate_ > 0; }

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
  };
  static constexpr size_t kShards = 16;

  double rate_;
  double burst_;
  size_t max_keys_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace livecommerce::gateway
