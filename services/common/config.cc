#include "services/common/config.h"

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace livecommerce::common {
namespace {

const char* Lookup(absl::string_view name) { return std::getenv(std::string(name).c_str()); }

}  // namespace

std::string EnvString(absl::string_view name, absl::string_view default_value) {
  const char* value = Lookup(name);
  return value != nullptr ? std::string(value) : std::string(default_value);
}

absl::StatusOr<int64_t> EnvInt(absl::string_view name, int64_t default_value, int64_t min_value,
                               int64_t max_value) {
  const char* raw = Lookup(name);
  if (raw == nullptr || *raw == '\0') {
    return default_value;
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(raw, &value)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " must be an integer, got '", raw, "'"));
  }
  if (value < min_value || value > max_value) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be between ", min_value, " and ", max_value, ", got ", value));
  }
  return value;
}

absl::StatusOr<absl::Duration> EnvMillis(absl::string_view name, int64_t default_ms, int64_t min_ms,
                                         int64_t max_ms) {
  absl::StatusOr<int64_t> ms = EnvInt(name, default_ms, min_ms, max_ms);
  if (!ms.ok()) {
    return ms.status();
  }
  return absl::Milliseconds(*ms);
}

absl::StatusOr<bool> EnvBool(absl::string_view name, bool default_value) {
  const char* raw = Lookup(name);
  if (raw == nullptr || *raw == '\0') {
    return default_value;
  }
  std::string value = absl::AsciiStrToLower(raw);
  if (value == "1" || value == "true" || value == "yes" || value == "on") {
    return true;
  }
  if (value == "0" || value == "false" || value == "no" || value == "off") {
    return false;
  }
  return absl::InvalidArgumentError(absl::StrCat(name, " must be true or false, got '", raw, "'"));
}

void ExitWithConfigError(const absl::Status& status) {
  std::fprintf(stderr, "configuration error: %s\n", std::string(status.message()).c_str());
  std::exit(2);
}

absl::StatusOr<RedisNodeAddress> ParseRedisNodeAddress(absl::string_view text) {
  size_t colon = text.rfind(':');
  RedisNodeAddress address;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(text.substr(colon + 1), &address.port) || address.port < 1 ||
      address.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("expected host:port, got '", text, "'"));
  }
  address.host = std::string(text.substr(0, colon));
  return address;
}

absl::StatusOr<RedisConfig> LoadRedisConfig() {
  RedisConfig config;
  config.host = EnvString("LC_REDIS_HOST", config.host);
  auto port = EnvInt("LC_REDIS_PORT", config.port, 1, 65535);
  auto db = EnvInt("LC_REDIS_DB", config.db, 0, 15);
  auto pool = EnvInt("LC_REDIS_POOL_SIZE", config.pool_size, 1, 1024);
  auto connect = EnvMillis("LC_REDIS_CONNECT_TIMEOUT_MS", 500, 10, 60000);
  auto timeout = EnvMillis("LC_REDIS_TIMEOUT_MS", 1000, 10, 60000);
  for (const absl::Status& s :
       {port.status(), db.status(), pool.status(), connect.status(), timeout.status()}) {
    if (!s.ok()) {
      return s;
    }
  }
  config.port = static_cast<int>(*port);
  config.db = static_cast<int>(*db);
  config.password = EnvString("LC_REDIS_PASSWORD", "");
  config.pool_size = static_cast<int>(*pool);
  config.connect_timeout = *connect;
  config.command_timeout = *timeout;
  absl::StatusOr<bool> cluster = EnvBool("LC_REDIS_CLUSTER", false);
  if (!cluster.ok()) {
    return cluster.status();
  }
  config.cluster = *cluster;
  std::string nodes = EnvString("LC_REDIS_NODES", "");
  for (absl::string_view item : absl::StrSplit(nodes, ',', absl::SkipWhitespace())) {
    absl::StatusOr<RedisNodeAddress> address =
        ParseRedisNodeAddress(absl::StripAsciiWhitespace(item));
    if (!address.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("LC_REDIS_NODES: ", address.status().message()));
    }
    config.cluster_nodes.push_back(*std::move(address));
  }
  if (!config.cluster_nodes.empty() && !config.cluster) {
    return absl::InvalidArgumentError("LC_REDIS_NODES is only for LC_REDIS_CLUSTER=true");
  }
  if (config.cluster && config.db != 0) {
    return absl::InvalidArgumentError("LC_REDIS_DB must be 0 with LC_REDIS_CLUSTER=true");
  }
  return config;
}

absl::StatusOr<MysqlConfig> LoadMysqlConfig() {
  MysqlConfig config;
  config.host = EnvString("LC_MYSQL_HOST", config.host);
  auto port = EnvInt("LC_MYSQL_PORT", config.port, 1, 65535);
  auto pool = EnvInt("LC_MYSQL_POOL_SIZE", config.pool_size, 1, 512);
  auto connect = EnvMillis("LC_MYSQL_CONNECT_TIMEOUT_MS", 2000, 100, 60000);
  auto timeout = EnvMillis("LC_MYSQL_TIMEOUT_MS", 10000, 100, 600000);
  for (const absl::Status& s : {port.status(), pool.status(), connect.status(), timeout.status()}) {
    if (!s.ok()) {
      return s;
    }
  }
  config.port = static_cast<int>(*port);
  config.user = EnvString("LC_MYSQL_USER", config.user);
  config.password = EnvString("LC_MYSQL_PASSWORD", config.password);
  config.database = EnvString("LC_MYSQL_DATABASE", config.database);
  if (config.database.empty()) {
    return absl::InvalidArgumentError("LC_MYSQL_DATABASE must not be empty");
  }
  config.pool_size = static_cast<int>(*pool);
  config.connect_timeout = *connect;
  config.io_timeout = *timeout;
  return config;
}

absl::StatusOr<std::optional<MysqlConfig>> LoadMysqlReplicaConfig(const MysqlConfig& primary) {
  std::string host = EnvString("LC_MYSQL_REPLICA_HOST", "");
  if (host.empty()) return std::nullopt;
  auto port = EnvInt("LC_MYSQL_REPLICA_PORT", primary.port, 1, 65535);
  auto pool = EnvInt("LC_MYSQL_REPLICA_POOL_SIZE", primary.pool_size, 1, 512);
  for (const absl::Status& s : {port.status(), pool.status()}) {
    if (!s.ok()) return s;
  }
  MysqlConfig replica = primary;
  replica.host = host;
  replica.port = static_cast<int>(*port);
  replica.pool_size = static_cast<int>(*pool);
  return replica;
}

}  // namespace livecommerce::common
