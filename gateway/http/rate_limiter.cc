#include "gateway/http/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "absl/hash/hash.h"

namespace livecommerce::gateway {

RateLimiter::RateLimiter(double rate, double burst, size_t max_keys)
    : rate_(rate), burst_(std::max(burst, 1.0)), max_keys_per_shard_(max_keys / kShards + 1) {}

RateLimiter::Decision RateLimiter::Take(absl::string_view key, absl::Time now) {
  if (rate_ <= 0) {
    return {};
  }
  Shard& shard = shards_[absl::Hash<absl::string_view>{}(key) % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.buckets.find(std::string(key));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_keys_per_shard_) {
      // Full buckets carry no state worth keeping: forget them first.
      for (auto b = shard.buckets.begin(); b != shard.buckets.end();) {
        double refilled = b->second.tokens + absl::ToDoubleSeconds(now - b->second.updated) * rate_;
        b = refilled >= burst_ ? shard.buckets.erase(b) : std::next(b);
      }
      if (shard.buckets.size() >= max_keys_per_shard_) {
        // Still full: forget the half least recently used.
        std::vector<absl::Time> times;
        times.reserve(shard.buckets.size());
        for (const auto& [k, b] : shard.buckets) times.push_back(b.updated);
        auto middle = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
        std::nth_element(times.begin(), middle, times.end());
        absl::Time cutoff = *middle;
        for (auto b = shard.buckets.begin(); b != shard.buckets.end();) {
          b = b->second.updated <= cutoff ? shard.buckets.erase(b) : std::next(b);
        }
      }
    }
    it = shard.buckets.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& bucket = it->second;
  if (now > bucket.updated) {
    bucket.tokens =
        std::min(burst_, bucket.tokens + absl::ToDoubleSeconds(now - bucket.updated) * rate_);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return {};
  }
  double wait = (1.0 - bucket.tokens) / rate_;
  return {false, std::max(1, static_cast<int>(std::ceil(wait)))};
}

}  // namespace livecommerce::gateway
