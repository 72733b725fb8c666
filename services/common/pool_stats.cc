#include "services/common/pool_stats.h"

#include <chrono>
#include <string>

namespace livecommerce::common {

absl::StatusOr<size_t> FreeSlots::Acquire(absl::Duration timeout, absl::string_view busy) {
  std::unique_lock<std::mutex> lock(mu_);
  if (free_.empty()) {
    // Only a lease that must wait reads the clock twice.
    auto started = std::chrono::steady_clock::now();
    auto deadline = started + std::chrono::microseconds(absl::ToInt64Microseconds(timeout));
    bool got = available_.wait_until(
        lock, deadline, [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return !free_.empty(); });
    waits_++;
    wait_seconds_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!got) {
      timeouts_++;
      return absl::UnavailableError(std::string(busy));
    }
  }
  size_t slot = free_.back();
  free_.pop_back();
  return slot;
}

void FreeSlots::Release(size_t slot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(slot);
  }
  available_.notify_one();
}

PoolStats FreeSlots::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  PoolStats stats;
  stats.size = static_cast<int64_t>(size_);
  stats.in_use = static_cast<int64_t>(size_ - free_.size());
  stats.waits = waits_;
  stats.timeouts = timeouts_;
  stats.wait_seconds = wait_seconds_;
  return stats;
}

}  // namespace livecommerce::common
