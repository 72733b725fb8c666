#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace livecommerce::room {

// Wakes this process's room watchers (RoomService.WatchRoom) when a room changes here (its
// session goes live or ends, its stream starts or stops), so that sockets hear of it at once
// rather than at the watcher's next poll. A change made by another replica is still seen at the
// poll. Thread-safe.
class RoomChanges {
 public:
  // The room's change count so far (0 before its first change in this process).
  uint64_t Version(int64_t room_id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = versions_.find(room_id);
    return it == versions_.end() ? 0 : it->second;
  }

  void Changed(int64_t room_id) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (versions_.size() > kMaxRooms && versions_.count(room_id) == 0) {
        // Versions only need to move: starting the map again wakes every waiter once.
        versions_.clear();
        ++epoch_;
      }
      ++versions_[room_id];
    }
    cv_.notify_all();
  }

  // Waits until the room's version differs from `seen`, or `timeout` passes; the version then.
  uint64_t WaitForChange(int64_t room_id, uint64_t seen, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    uint64_t epoch = epoch_;
    auto version = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      auto it = versions_.find(room_id);
      return it == versions_.end() ? uint64_t{0} : it->second;
    };
    cv_.wait_for(
        lock, absl::ToChronoMilliseconds(timeout),
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return epoch_ != epoch || version() != seen; });
    return version();
  }

 private:
  static constexpr size_t kMaxRooms = 100000;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<int64_t, uint64_t> versions_ ABSL_GUARDED_BY(mu_);
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace livecommerce::room
