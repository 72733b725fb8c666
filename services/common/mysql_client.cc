#include "services/common/mysql_client.h"

#include <cppconn/connection.h>
#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <chrono>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "services/common/log_format.h"

namespace livecommerce::common {
namespace {

constexpr int kMaxDeadlockAttempts = 4;

sql::Driver* Driver() {
  // get_driver_instance is not safe to race on first use.
  static sql::Driver* driver = sql::mysql::get_driver_instance();
  return driver;
}

}  // namespace

bool IsConnectionError(const sql::SQLException& e) {
  switch (e.getErrorCode()) {
    case 2002:  // CR_CONNECTION_ERROR
    case 2003:  // CR_CONN_HOST_ERROR
    case 2006:  // CR_SERVER_GONE_ERROR
    case 2013:  // CR_SERVER_LOST
    case 2055:  // CR_SERVER_LOST_EXTENDED
    case 1927:  // ER_CONNECTION_KILLED
    case 1053:  // ER_SERVER_SHUTDOWN
      return true;
    default:
      return false;
  }
}

absl::Status FromSqlException(const sql::SQLException& e) {
  int code = e.getErrorCode();
  if (IsConnectionError(e)) {
    return absl::UnavailableError("database unavailable");
  }
  if (code == 1062) {
    return absl::AlreadyExistsError("already exists");
  }
  if (code == 1213 || code == 1205) {
    return absl::AbortedError("concurrent update, try again");
  }
  return absl::InternalError(absl::StrCat("database error ", code));
}

std::string ToSqlTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> FromSqlTime(const std::string& text) {
  absl::Time t;
  std::string error;
  if (absl::ParseTime("%Y-%m-%d %H:%M:%E*S", text, absl::UTCTimeZone(), &t, &error)) {
    return t;
  }
  return absl::InternalError(absl::StrCat("bad DATETIME from the database: ", error));
}

std::optional<absl::Time> SqlTimeAt(sql::ResultSet& rs, int column) {
  if (rs.isNull(column)) {
    return std::nullopt;
  }
  absl::StatusOr<absl::Time> t = FromSqlTime(std::string(rs.getString(column)));
  return t.ok() ? std::optional<absl::Time>(*t) : std::nullopt;
}

std::string SqlBlobAt(sql::ResultSet& rs, int column) {
  if (rs.isNull(column)) {
    return "";
  }
  std::unique_ptr<std::istream> in(rs.getBlob(column));
  std::stringstream buffer;
  buffer << in->rdbuf();
  return buffer.str();
}

MysqlConnection::MysqlConnection(std::unique_ptr<sql::Connection> connection)
    : connection_(std::move(connection)) {}

MysqlConnection::~MysqlConnection() {
  statements_.clear();
  try {
    connection_->close();
  } catch (const sql::SQLException&) {
    // Closing a connection that is already gone.
  }
}

sql::PreparedStatement& MysqlConnection::Prepare(const std::string& query) {
  auto it = statements_.find(query);
  if (it == statements_.end()) {
    it = statements_
             .emplace(query,
                      std::unique_ptr<sql::PreparedStatement>(connection_->prepareStatement(query)))
             .first;
  } else {
    it->second->clearParameters();
  }
  return *it->second;
}

int64_t MysqlConnection::LastInsertId() {
  std::unique_ptr<sql::ResultSet> rs(Prepare("SELECT LAST_INSERT_ID()").executeQuery());
  rs->next();
  return rs->getInt64(1);
}

void MysqlConnection::Execute(const std::string& statement) {
  std::unique_ptr<sql::Statement> s(connection_->createStatement());
  s->execute(statement);
}

MysqlPool::MysqlPool(MysqlConfig config)
    : config_(std::move(config)),
      connections_(static_cast<size_t>(config_.pool_size)),
      slots_(connections_.size()) {}

MysqlPool::~MysqlPool() = default;

absl::StatusOr<std::unique_ptr<MysqlPool>> MysqlPool::Create(const MysqlConfig& config) {
  Driver();
  std::unique_ptr<MysqlPool> pool(new MysqlPool(config));
  absl::Status ping = pool->Run([](MysqlConnection& c) {
    c.Execute("DO 1");
    return absl::OkStatus();
  });
  if (!ping.ok()) {
    return absl::UnavailableError(
        absl::StrCat("mysql unavailable at ", config.host, ":", config.port, "/", config.database));
  }
  return pool;
}

absl::StatusOr<std::unique_ptr<MysqlConnection>> MysqlPool::Connect() {
  try {
    sql::ConnectOptionsMap options;
    options["hostName"] = sql::SQLString(absl::StrCat("tcp://", config_.host, ":", config_.port));
    options["userName"] = sql::SQLString(config_.user);
    options["password"] = sql::SQLString(config_.password);
    options["schema"] = sql::SQLString(config_.database);
    options["OPT_CONNECT_TIMEOUT"] =
        static_cast<int>(absl::ToInt64Seconds(config_.connect_timeout) + 1);
    options["OPT_READ_TIMEOUT"] = static_cast<int>(absl::ToInt64Seconds(config_.io_timeout) + 1);
    options["OPT_WRITE_TIMEOUT"] = static_cast<int>(absl::ToInt64Seconds(config_.io_timeout) + 1);
    options["OPT_RECONNECT"] = false;
    options["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
    std::unique_ptr<sql::Connection> raw(Driver()->connect(options));
    auto connection = std::make_unique<MysqlConnection>(std::move(raw));
    connection->Execute("SET time_zone = '+00:00'");
    return connection;
  } catch (const sql::SQLException& e) {
    spdlog::warn("mysql connect failed: error {}", e.getErrorCode());
    return absl::UnavailableError("database unavailable");
  }
}

absl::StatusOr<size_t> MysqlPool::Acquire() {
  absl::StatusOr<size_t> index =
      slots_.Acquire(config_.io_timeout, "database busy: no connection free before the timeout");
  if (!index.ok()) return index.status();
  if (connections_[*index] == nullptr) {
    absl::StatusOr<std::unique_ptr<MysqlConnection>> connection = Connect();
    if (!connection.ok()) {
      Release(*index, false);
      return connection.status();
    }
    connections_[*index] = *std::move(connection);
  }
  return index;
}

PoolStats MysqlPool::Stats() { return slots_.Stats(); }

void MysqlPool::Release(size_t index, bool broken) {
  if (broken) {
    connections_[index].reset();
  }
  slots_.Release(index);
}

absl::Status MysqlPool::Lease(const std::function<absl::Status(MysqlConnection&)>& body,
                              bool transaction) {
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<size_t> index = Acquire();
    if (!index.ok()) {
      return index.status();
    }
    MysqlConnection& connection = *connections_[*index];
    bool broken = false;
    absl::Status status;
    bool retry_deadlock = false;
    try {
      // Connections stay in autocommit; a transaction is opened explicitly (one round trip,
      // where switching autocommit off and on again costs two).
      if (transaction) {
        connection.Execute("START TRANSACTION");
      }
      status = body(connection);
      if (transaction) {
        // COMMIT as a statement: Connector/C++ 1.1's commit() ignores the server's answer, so a
        // COMMIT lost with its connection (the server killed) would pass for a committed
        // transaction and its caller be told "done" for writes that never happened.
        connection.Execute(status.ok() ? "COMMIT" : "ROLLBACK");
      }
    } catch (const sql::SQLException& e) {
      status = FromSqlException(e);
      broken = IsConnectionError(e);
      if (!broken) {
        try {
          if (transaction) {
            connection.Execute("ROLLBACK");
          }
        } catch (const sql::SQLException&) {
          broken = true;
        }
      }
      if (!broken && e.getErrorCode() == 0) {
        // Raised on this side (a query and its reader disagreeing, say): the message is ours and
        // holds no data.
        spdlog::error("mysql: {}", e.what());
      } else if (!broken && e.getErrorCode() != 1062) {
        spdlog::error("mysql error {} (state {})", e.getErrorCode(), std::string(e.getSQLState()));
      }
      retry_deadlock = transaction && (e.getErrorCode() == 1213 || e.getErrorCode() == 1205);
    } catch (const std::exception& e) {
      // Not from the driver (a bug in the body): the transaction must not stay open holding its
      // locks, nor the connection leave the pool. The connection is dropped, which rolls it back.
      spdlog::error("mysql: the body of a {} threw: {}", transaction ? "transaction" : "call",
                    e.what());
      status = absl::InternalError("mysql: unexpected error");
      broken = true;
    }
    Release(*index, broken);
    if (retry_deadlock && attempt < kMaxDeadlockAttempts) {
      continue;
    }
    return status;
  }
}

}  // namespace livecommerce::common
