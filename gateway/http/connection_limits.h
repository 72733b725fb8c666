#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace livecommerce::gateway {

// The open TCP connections of the gateway (LC_GATEWAY_MAX_CONNECTIONS) and of each client address
// (LC_GATEWAY_MAX_CONNECTIONS_PER_IP), HTTP and WebSocket alike: a connection takes a place when it
// is accepted and gives it back when it closes. A limit of 0 is no limit. Thread-safe.
class ConnectionLimits final {
 public:
  enum class Refusal { kNone, kTotal, kAddress };

  ConnectionLimits(size_t max_total, size_t max_per_address)
      : max_total_(max_total), max_per_address_(max_per_address) {}

  // Takes a place for a connection from `address`, or says which limit is full. `counted` false
  // (a trusted proxy, which carries many clients) counts the connection in the total only.
  Refusal TryOpen(const std::string& address, bool counted = true) {
    std::lock_guard<std::mutex> lock(mu_);
    if (max_total_ > 0 && total_ >= max_total_) return Refusal::kTotal;
    if (counted) {
      size_t& used = by_address_[address];
      if (max_per_address_ > 0 && used >= max_per_address_) return Refusal::kAddress;
      ++used;
    }
    ++total_;
    return Refusal::kNone;
  }

  // Gives back a place taken by TryOpen with the same arguments.
  void Close(const std::string& address, bool counted = true) {
    std::lock_guard<std::mutex> lock(mu_);
    if (total_ > 0) --total_;
    if (!counted) return;
    auto it = by_address_.find(address);
    if (it == by_address_.end()) return;
    if (--it->second == 0) by_address_.erase(it);
  }

  size_t open() const {
    std::lock_guard<std::mutex> lock(mu_);
    return total_;
  }
  size_t open(const std::string& address) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_address_.find(address);
    return it == by_address_.end() ? 0 : it->second;
  }
  // Addresses holding at least one connection (the map never keeps an empty entry).
  size_t addresses() const {
    std::lock_guard<std::mutex> lock(mu_);
    return by_address_.size();
  }

 private:
  const size_t max_total_;
  const size_t max_per_address_;
  mutable std::mutex mu_;
  size_t total_ = 0;
  std::unordered_map<std::string, size_t> by_address_;
};

}  // namespace livecommerce::gateway
