#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/config.h"
#include "services/common/pool_stats.h"

namespace livecommerce::common {

// A Redis reply as a value. Error replies never appear here: they are returned as a Status.
struct RedisValue {
  enum class Type { kNil, kInteger, kString, kStatus, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;
  std::vector<RedisValue> elements;

  bool is_nil() const { return type == Type::kNil; }
};

// The integer of a reply (nil reads as 0, a numeric string is parsed); INTERNAL for anything else,
// and the reply's own error passes through.
absl::StatusOr<int64_t> IntegerReply(const absl::StatusOr<RedisValue>& value);

// A Lua script known by its SHA1. The pool loads it once and calls it with EVALSHA, loading it
// again when the server answers NOSCRIPT (after a restart, a failover or SCRIPT FLUSH).
class RedisScript final {
 public:
  explicit RedisScript(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha() const { return sha_; }

 private:
  std::string source_;
  std::string sha_;
};

struct RedisScriptCall {
  std::vector<std::string> keys;
  std::vector<std::string> args;
};

class RedisNode;
class RedisCluster;

// A fixed-size pool of hiredis connections with connect and command timeouts. A broken connection
// is dropped and re-established on next use; a command that fails on a connection that had been
// idle in the pool is retried once on a fresh one. Errors: UNAVAILABLE when Redis cannot be reached
// or does not answer in time, INTERNAL for error replies. Thread-safe.
//
// With `config.cluster` the same calls run on a Redis Cluster (see RedisCluster): each command goes
// to the master of its key's slot (EVALSHA: its first key), pipelines and EvalMany are split by
// node and answered in the caller's order, FLUSHALL, FLUSHDB and SCRIPT go to every master, and
// keyless commands (PING, INFO ...) to any master. Every key of one command or script call must
// share one hash tag.
class RedisPool final {
 public:
  static absl::StatusOr<std::unique_ptr<RedisPool>> Create(const RedisConfig& config);
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  absl::StatusOr<RedisValue> Command(const std::vector<std::string>& args);
  // Sends every command before reading any reply: one round trip (per node in a cluster). Each
  // reply has its own status.
  absl::StatusOr<std::vector<absl::StatusOr<RedisValue>>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);
  absl::StatusOr<RedisValue> Eval(const RedisScript& script, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args);
  // Many calls of one script in one round trip. A call answered NOSCRIPT is run again after
  // SCRIPT LOAD on the node that said so.
  absl::StatusOr<std::vector<absl::StatusOr<RedisValue>>> EvalMany(
      const RedisScript& script, const std::vector<RedisScriptCall>& calls);
  // SCRIPT LOAD for each script (on every master of a cluster), so the first calls need no reload.
  absl::Status LoadScripts(const std::vector<const RedisScript*>& scripts);

  const RedisConfig& config() const { return config_; }
  // Connections in use and waits for one (in a cluster: every master's pool added up).
  PoolStats Stats();

 private:
  explicit RedisPool(RedisConfig config);
  // The replies in order and, for each, the node that answered it.
  absl::StatusOr<std::vector<absl::StatusOr<RedisValue>>> Run(
      const std::vector<std::vector<std::string>>& commands, std::vector<RedisNode*>* served_by);

  RedisConfig config_;
  std::unique_ptr<RedisNode> single_;      // a single Redis
  std::unique_ptr<RedisCluster> cluster_;  // or a cluster
};

}  // namespace livecommerce::common
