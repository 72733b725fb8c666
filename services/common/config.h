#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecommerce::common {

// Configuration comes from LC_* environment variables, each with a local default. A variable that
// is set but malformed or out of range is an INVALID_ARGUMENT error whose message names the
// variable.
std::string EnvString(absl::string_view name, absl::string_view default_value);
absl::StatusOr<int64_t> EnvInt(absl::string_view name, int64_t default_value, int64_t min_value,
                               int64_t max_value);
// A duration in milliseconds.
absl::StatusOr<absl::Duration> EnvMillis(absl::string_view name, int64_t default_ms, int64_t min_ms,
                                         int64_t max_ms);
absl::StatusOr<bool> EnvBool(absl::string_view name, bool default_value);

// Exits the process with the error's message when `value` is an error. Only for start-up.
template <typename T>
T OrExit(absl::StatusOr<T> value);
[[noreturn]] void ExitWithConfigError(const absl::Status& status);

template <typename T>
T OrExit(absl::StatusOr<T> value) {
  if (!value.ok()) {
    ExitWithConfigError(value.status());
  }
  return *std::move(value);
}

struct RedisNodeAddress {
  std::string host;
  int port = 0;
};

// "host:port" (the port after the last ':'); INVALID_ARGUMENT when malformed.
absl::StatusOr<RedisNodeAddress> ParseRedisNodeAddress(absl::string_view text);

struct RedisConfig {
  std::string host = "127.0.0.1";
  int port = 6380;
  // Redis Cluster: the pool reads the slot map from one of `cluster_nodes` (or from host:port when
  // the list is empty) and routes each command to the master of its key's slot.
  bool cluster = false;
  std::vector<RedisNodeAddress> cluster_nodes;
  int db = 0;
  std::string password;
  int pool_size = 16;
  absl::Duration connect_timeout = absl::Milliseconds(500);
  absl::Duration command_timeout = absl::Milliseconds(1000);
};

struct MysqlConfig {
  std::string host = "127.0.0.1";
  int port = 3307;
  std::string user = "lc";
  std::string password = "lc";
  std::string database = "livecommerce";
  int pool_size = 8;
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration io_timeout = absl::Seconds(10);
};

// LC_REDIS_HOST, LC_REDIS_PORT, LC_REDIS_DB, LC_REDIS_PASSWORD, LC_REDIS_POOL_SIZE (per node),
// LC_REDIS_CONNECT_TIMEOUT_MS, LC_REDIS_TIMEOUT_MS, LC_REDIS_CLUSTER (true for Redis Cluster) and
// LC_REDIS_NODES (cluster seed nodes "host:port,host:port"; only with LC_REDIS_CLUSTER, whose
// database must be 0).
absl::StatusOr<RedisConfig> LoadRedisConfig();
// LC_MYSQL_HOST, LC_MYSQL_PORT, LC_MYSQL_USER, LC_MYSQL_PASSWORD, LC_MYSQL_DATABASE,
// LC_MYSQL_POOL_SIZE, LC_MYSQL_CONNECT_TIMEOUT_MS, LC_MYSQL_TIMEOUT_MS.
// A read replica: nullopt unless LC_MYSQL_REPLICA_HOST is set; then `primary` with that host,
// LC_MYSQL_REPLICA_PORT (default the primary's port) and LC_MYSQL_REPLICA_POOL_SIZE (default the
// primary's pool size).
absl::StatusOr<std::optional<MysqlConfig>> LoadMysqlReplicaConfig(const MysqlConfig& primary);
absl::StatusOr<MysqlConfig> LoadMysqlConfig();

}  // namespace livecommerce::common
