#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/config.h"
#include "services/common/pool_stats.h"

namespace sql {
class Connection;
class PreparedStatement;
class ResultSet;
class SQLException;
}  // namespace sql

namespace livecommerce::common {

// Maps a Connector/C++ exception to a Status: server gone or unreachable UNAVAILABLE, duplicate key
// ALREADY_EXISTS, deadlock or lock wait timeout ABORTED, anything else INTERNAL.
absl::Status FromSqlException(const sql::SQLException& e);
bool IsConnectionError(const sql::SQLException& e);

// DATETIME(6) text in UTC (every connection runs with time_zone '+00:00').
std::string ToSqlTime(absl::Time t);
absl::StatusOr<absl::Time> FromSqlTime(const std::string& text);
// A DATETIME column of a result row; nullopt when NULL (or unreadable).
std::optional<absl::Time> SqlTimeAt(sql::ResultSet& rs, int column);
// A BLOB column of a result row as bytes; empty when NULL.
std::string SqlBlobAt(sql::ResultSet& rs, int column);

// One pooled connection, leased to one caller at a time. Prepared statements are cached per
// connection so a hot query is prepared once.
class MysqlConnection final {
 public:
  explicit MysqlConnection(std::unique_ptr<sql::Connection> connection);
  ~MysqlConnection();
  // The statement stays owned by the connection; parameters are cleared before it is returned.
  sql::PreparedStatement& Prepare(const std::string& query);
  sql::Connection& raw() { return *connection_; }
  // Runs a statement with no parameters and no result (DDL, SET ...).
  void Execute(const std::string& statement);
  // The id the last INSERT on this connection generated.
  int64_t LastInsertId();

 private:
  std::unique_ptr<sql::Connection> connection_;
  std::map<std::string, std::unique_ptr<sql::PreparedStatement>> statements_;
};

// A fixed-size pool of Connector/C++ connections. Run() leases a connection to a function;
// InTransaction() also wraps it in a transaction that commits when the function returns OK and
// rolls back otherwise, retrying the whole function on deadlock. Exceptions thrown by the driver
// inside the function become a Status (see FromSqlException); a connection that failed is replaced.
// Thread-safe.
class MysqlPool final {
 public:
  static absl::StatusOr<std::unique_ptr<MysqlPool>> Create(const MysqlConfig& config);
  ~MysqlPool();
  MysqlPool(const MysqlPool&) = delete;
  MysqlPool& operator=(const MysqlPool&) = delete;

  template <typename Fn>
  auto Run(Fn&& fn) -> decltype(fn(std::declval<MysqlConnection&>()));
  template <typename Fn>
  auto InTransaction(Fn&& fn) -> decltype(fn(std::declval<MysqlConnection&>()));

  const MysqlConfig& config() const { return config_; }
  // Connections in use and waits for one.
  PoolStats Stats();

 private:
  explicit MysqlPool(MysqlConfig config);
  absl::StatusOr<size_t> Acquire();
  void Release(size_t index, bool broken);
  absl::StatusOr<std::unique_ptr<MysqlConnection>> Connect();
  // Runs `body` on a leased connection, turning driver exceptions into a Status.
  absl::Status Lease(const std::function<absl::Status(MysqlConnection&)>& body, bool transaction);

  MysqlConfig config_;
  // One per slot, used only by the lease holding the slot.
  std::vector<std::unique_ptr<MysqlConnection>> connections_;
  FreeSlots slots_;
};

template <typename Fn>
auto MysqlPool::Run(Fn&& fn) -> decltype(fn(std::declval<MysqlConnection&>())) {
  using Result = decltype(fn(std::declval<MysqlConnection&>()));
  if constexpr (std::is_same_v<Result, absl::Status>) {
    return Lease([&](MysqlConnection& c) { return fn(c); }, false);
  } else {
    std::optional<Result> result;
    absl::Status status = Lease(
        [&](MysqlConnection& c) {
          result.emplace(fn(c));
          return result->status();
        },
        false);
    if (!status.ok()) {
      return status;
    }
    return *std::move(result);
  }
}

template <typename Fn>
auto MysqlPool::InTransaction(Fn&& fn) -> decltype(fn(std::declval<MysqlConnection&>())) {
  using Result = decltype(fn(std::declval<MysqlConnection&>()));
  if constexpr (std::is_same_v<Result, absl::Status>) {
    return Lease([&](MysqlConnection& c) { return fn(c); }, true);
  } else {
    std::optional<Result> result;
    absl::Status status = Lease(
        [&](MysqlConnection& c) {
          result.emplace(fn(c));
          return result->status();
        },
        true);
    if (!status.ok()) {
      return status;
    }
    return *std::move(result);
  }
}

}  // namespace livecommerce::common
