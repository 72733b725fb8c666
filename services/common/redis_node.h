#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/config.h"
#include "services/common/pool_stats.h"
#include "services/common/redis_client.h"

struct redisContext;

namespace livecommerce::common {

// A fixed-size pool of hiredis connections to one Redis server (RedisPool's building block: one of
// these for a single Redis, one per master in a cluster). A broken connection is dropped and
// re-established on next use; a pipeline that fails on a connection that had been idle in the pool
// (closed by the server) is retried once on a fresh one. Thread-safe.
class RedisNode final {
 public:
  // Uses the pool size, timeouts, password and database of `config`, at host:port.
  RedisNode(const RedisConfig& config, std::string host, int port);
  ~RedisNode();
  RedisNode(const RedisNode&) = delete;
  RedisNode& operator=(const RedisNode&) = delete;

  // Sends every command before reading any reply, on one connection. Each reply has its own status
  // (error replies are INTERNAL "redis: <message>"). UNAVAILABLE when the server cannot be reached
  // or does not answer in time; then `*maybe_sent` (when given) tells whether the commands may
  // have reached the server (false: they surely did not run).
  absl::StatusOr<std::vector<absl::StatusOr<RedisValue>>> RunPipeline(
      const std::vector<std::vector<std::string>>& commands, bool* maybe_sent = nullptr);

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  // "host:port".
  const std::string& address() const { return address_; }
  PoolStats Stats();

 private:
  struct Connection {
    redisContext* context = nullptr;
  };
  class Lease;

  absl::StatusOr<Lease> Acquire();
  void Release(size_t index, bool broken);
  absl::Status Connect(Connection& connection);

  const RedisConfig config_;
  const std::string host_;
  const int port_;
  const std::string address_;
  // One per slot, used only by the lease holding the slot.
  std::vector<Connection> connections_;
  FreeSlots slots_;
};

}  // namespace livecommerce::common
