#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace livecommerce::common {

// A small thread-safe map whose entries are served for `ttl` (real time) after they were put,
// for reads that may be a little stale (sale settings, SKU details). Emptied when it grows past
// `max_entries`.
//
// Read-through use beside writes in the same process: take Generation() before reading the
// source and store the answer with PutIfUnchanged; Invalidate and Clear advance the generation,
// so a read that raced a write never puts back what the write replaced.
template <typename Key, typename Value>
class TtlCache final {
 public:
  explicit TtlCache(absl::Duration ttl, size_t max_entries = 100000)
      : ttl_(ttl), max_entries_(max_entries) {}

  std::optional<Value> Get(const Key& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || absl::Now() - it->second.second >= ttl_) return std::nullopt;
    return it->second.first;
  }

  void Put(const Key& key, Value value) {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.size() >= max_entries_) entries_.clear();
    entries_[key] = {std::move(value), absl::Now()};
  }

  void Erase(const Key& key) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.erase(key);
  }

  uint64_t Generation() {
    std::lock_guard<std::mutex> lock(mu_);
    return generation_;
  }

  void PutIfUnchanged(const Key& key, Value value, uint64_t generation) {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation != generation_) return;
    if (entries_.size() >= max_entries_) entries_.clear();
    entries_[key] = {std::move(value), absl::Now()};
  }

  void Invalidate(const Key& key) {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    entries_.erase(key);
  }

  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    entries_.clear();
  }

 private:
  absl::Duration ttl_;
  size_t max_entries_;
  std::mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::unordered_map<Key, std::pair<Value, absl::Time>> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace livecommerce::common
