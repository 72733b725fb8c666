#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/time/time.h"

namespace livecommerce::gateway {

// Answers to reads, kept per caller for a short time. An answer younger than `fresh` is served as
// is. One older than that but younger than `fresh + stale` is still served, and the first caller
// to find it so is asked to refresh it in the background (one refresh at a time per key), so a
// steady reader never waits for the service. Older answers are gone. Thread-safe.
class ReadCache final {
 public:
  ReadCache(absl::Duration fresh, absl::Duration stale, size_t max_entries)
      : fresh_(fresh), stale_(stale), max_entries_(max_entries) {}

  struct Lookup {
    std::shared_ptr<const std::string> body;  // null: nothing to serve
    bool refresh = false;  // the caller should fetch the answer again and Put it (or Abandon)
  };

  Lookup Get(const std::string& key, absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return {};
    Entry& e = it->second;
    absl::Duration age = now - e.stored_at;
    if (age < fresh_) return {e.body, false};
    if (age >= fresh_ + stale_) {
      entries_.erase(it);
      return {};
    }
    bool refresh = !e.refreshing;
    e.refreshing = true;
    return {e.body, refresh};
  }

  void Put(const std::string& key, std::shared_ptr<const std::string> body, absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.size() >= max_entries_ && entries_.count(key) == 0) entries_.clear();
    entries_[key] = Entry{std::move(body), now, false};
  }

  // A refresh that failed: the next caller to find the answer stale tries again.
  void Abandon(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) it->second.refreshing = false;
  }

 private:
  struct Entry {
    std::shared_ptr<const std::string> body;
    absl::Time stored_at;
    bool refreshing = false;
  };
  const absl::Duration fresh_;
  const absl::Duration stale_;
  const size_t max_entries_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace livecommerce::gateway
