#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecommerce::common {

// A connection pool's occupancy, read cheaply (one lock) at scrape time. The totals only grow.
struct PoolStats {
  int64_t size = 0;         // connections the pool may hold
  int64_t in_use = 0;       // leased now
  int64_t waits = 0;        // leases that found no free connection and had to wait
  int64_t timeouts = 0;     // leases refused: no connection came free in time (UNAVAILABLE)
  double wait_seconds = 0;  // time spent waiting for a connection, in all

  PoolStats& operator+=(const PoolStats& other) {
    size += other.size;
    in_use += other.in_use;
    waits += other.waits;
    timeouts += other.timeouts;
    wait_seconds += other.wait_seconds;
    return *this;
  }
};

// The free slots of a fixed-size connection pool (the MySQL and Redis pools): a lease takes one,
// waiting up to a timeout for one to come free, and the waits are counted (PoolStats). What a slot
// holds (its connection) belongs to the lease that has it, outside the lock. Thread-safe.
class FreeSlots final {
 public:
  explicit FreeSlots(size_t size) : size_(size) {
    for (size_t i = 0; i < size; ++i) free_.push_back(i);
  }
  // A free slot; UNAVAILABLE saying `busy` when none comes free within `timeout`.
  absl::StatusOr<size_t> Acquire(absl::Duration timeout, absl::string_view busy);
  void Release(size_t slot);
  PoolStats Stats() const;

 private:
  const size_t size_;
  mutable std::mutex mu_;
  std::condition_variable available_;
  std::vector<size_t> free_ ABSL_GUARDED_BY(mu_);
  int64_t waits_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t timeouts_ ABSL_GUARDED_BY(mu_) = 0;
  double wait_seconds_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace livecommerce::common
