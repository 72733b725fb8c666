#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

namespace livecommerce::gateway {

// The per-principal WebSocket limit (LC_GATEWAY_MAX_SOCKETS_PER_PRINCIPAL), shared by the room and
// the alerts WebSockets: a slot is taken before a socket is granted and released when it closes or
// never opens. Thread-safe.
class SocketSlots final {
 public:
  explicit SocketSlots(int max_per_principal) : max_(max_per_principal) {}

  // False when `principal_key` already holds the maximum.
  bool TryReserve(const std::string& principal_key) {
    std::lock_guard<std::mutex> lock(mu_);
    int& used = used_[principal_key];
    if (used >= max_) {
      if (used == 0) used_.erase(principal_key);
      return false;
    }
    ++used;
    return true;
  }

  void Release(const std::string& principal_key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = used_.find(principal_key);
    if (it == used_.end()) return;
    if (--it->second <= 0) used_.erase(it);
  }

  int used(const std::string& principal_key) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = used_.find(principal_key);
    return it == used_.end() ? 0 : it->second;
  }

 private:
  const int max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> used_;
};

}  // namespace livecommerce::gateway
