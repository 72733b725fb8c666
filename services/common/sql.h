#pragma once

// The one way a store writes a query: Sql(connection, query, args...) prepares the statement
// (cached on the connection) and binds every argument by its type in one call; the result is read
// row by row into structs by column name.
//
//   std::optional<RoomRecord> room =
//       Sql(c, "SELECT id, title FROM rooms WHERE id = ? AND brand_id = ?", id, brand)
//           .One([](const SqlRow& row) { return RoomRecord{row.Int("id"), row.Str("title")}; });
//   int changed = Sql(c, "UPDATE rooms SET title = ? WHERE id = ?", title, id).Execute();
//
// Arguments bind as: integers (signed as BIGINT, unsigned as BIGINT UNSIGNED), bool, enums (their
// integer), strings, absl::Time (DATETIME(6) in UTC), SqlBytes (a BLOB), SqlNull and
// std::optional<T> (NULL when empty). A column name that the result does not have is a
// programming error: the query fails with INTERNAL (through the driver exception the pool maps).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/mysql_client.h"

namespace sql {
class PreparedStatement;
class ResultSet;
}  // namespace sql

namespace livecommerce::common {

// Binds SQL NULL.
struct SqlNull {};
// Binds bytes as a BLOB (the bytes must outlive the statement's execution).
struct SqlBytes {
  absl::string_view bytes;
};

// One row of a result, read by column name (the column's name or its AS alias).
class SqlRow {
 public:
  bool IsNull(absl::string_view column) const;
  // 0 when NULL.
  int64_t Int(absl::string_view column) const;
  std::optional<int64_t> OptInt(absl::string_view column) const;
  uint64_t UInt(absl::string_view column) const;
  bool Bool(absl::string_view column) const { return Int(column) != 0; }
  template <typename E>
  E Enum(absl::string_view column) const {
    static_assert(std::is_enum_v<E>);
    return static_cast<E>(Int(column));
  }
  // "" when NULL.
  std::string Str(absl::string_view column) const;
  std::optional<std::string> OptStr(absl::string_view column) const;
  // A BLOB's bytes; empty when NULL.
  std::string Bytes(absl::string_view column) const;
  // The epoch when NULL.
  absl::Time Time(absl::string_view column) const;
  std::optional<absl::Time> OptTime(absl::string_view column) const;

 private:
  friend class SqlStatement;
  SqlRow(sql::ResultSet& rs, const std::vector<std::string>& columns)
      : rs_(rs), columns_(columns) {}
  // The 1-based index of `column`; throws the driver's exception when the result has no such
  // column.
  uint32_t Index(absl::string_view column) const;

  sql::ResultSet& rs_;
  const std::vector<std::string>& columns_;
  mutable size_t next_ = 0;  // the column after the one read last
};

// A prepared statement with its arguments bound in order. Made by Sql(); used once.
// MySQL errors a store may answer rather than fail on (SqlStatement::ExecuteUnless).
inline constexpr int kSqlDuplicateKey = 1062;  // ER_DUP_ENTRY
inline constexpr int kSqlCheckFailed = 4025;   // a CHECK constraint refused the row

class SqlStatement {
 public:
  SqlStatement(MysqlConnection& connection, const std::string& query);
  ~SqlStatement();
  SqlStatement(SqlStatement&&) = default;

  // Binds more arguments after those already bound (for multi-row INSERTs built in a loop).
  template <typename... Args>
  SqlStatement& Bind(const Args&... args) {
    (BindOne(args), ...);
    return *this;
  }

  // Runs an INSERT, UPDATE or DELETE; the rows it changed.
  int Execute();
  // Like Execute, but nullopt when the server refuses the statement with `error_code` (e.g.
  // kSqlDuplicateKey); any other error is thrown on, as Execute does.
  std::optional<int> ExecuteUnless(int error_code);
  // Runs a query and calls `fn` on each row; how many rows there were.
  int64_t ForEach(const std::function<void(const SqlRow&)>& fn);
  // Every row read with `read` (a callable taking const SqlRow&).
  template <typename Read>
  auto All(Read&& read)
      -> std::vector<std::decay_t<decltype(read(std::declval<const SqlRow&>()))>> {
    std::vector<std::decay_t<decltype(read(std::declval<const SqlRow&>()))>> out;
    ForEach([&](const SqlRow& row) { out.push_back(read(row)); });
    return out;
  }
  // The first row read with `read`; nullopt when there is none.
  template <typename Read>
  auto One(Read&& read)
      -> std::optional<std::decay_t<decltype(read(std::declval<const SqlRow&>()))>> {
    std::optional<std::decay_t<decltype(read(std::declval<const SqlRow&>()))>> out;
    ForEach([&](const SqlRow& row) {
      if (!out.has_value()) out.emplace(read(row));
    });
    return out;
  }
  // The first column of the first row as an integer (COUNT, SUM, MAX ...); nullopt when there is no
  // row or the value is NULL.
  std::optional<int64_t> Scalar();

 private:
  template <typename T>
  void BindOne(const T& value) {
    if constexpr (std::is_same_v<T, bool>) {
      BindBool(value);
    } else if constexpr (std::is_enum_v<T>) {
      BindSigned(static_cast<int64_t>(value));
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      BindSigned(static_cast<int64_t>(value));
    } else if constexpr (std::is_integral_v<T>) {
      BindUnsigned(static_cast<uint64_t>(value));
    } else if constexpr (std::is_same_v<T, absl::Time>) {
      BindTime(value);
    } else if constexpr (std::is_same_v<T, SqlNull>) {
      BindNull();
    } else if constexpr (std::is_same_v<T, SqlBytes>) {
      BindBytes(value.bytes);
    } else if constexpr (std::is_convertible_v<const T&, absl::string_view>) {
      BindString(absl::string_view(value));
    } else {
      BindOptional(value);
    }
  }
  template <typename T>
  void BindOptional(const std::optional<T>& value) {
    if (value.has_value()) {
      BindOne(*value);
    } else {
      BindNull();
    }
  }
  void BindBool(bool value);
  void BindSigned(int64_t value);
  void BindUnsigned(uint64_t value);
  void BindTime(absl::Time value);
  void BindNull();
  void BindBytes(absl::string_view bytes);
  void BindString(absl::string_view value);

  sql::PreparedStatement* statement_;
  uint32_t next_ = 1;
  std::vector<std::unique_ptr<std::istringstream>> blobs_;
};

// Prepares `query` on `connection` and binds `args` to its placeholders in order.
template <typename... Args>
SqlStatement Sql(MysqlConnection& connection, const std::string& query, const Args&... args) {
  SqlStatement statement(connection, query);
  statement.Bind(args...);
  return statement;
}

// The rows of a reader that answers StatusOr (a row it may refuse): the first refusal, or all.
template <typename T>
absl::StatusOr<std::vector<T>> AllRead(std::vector<absl::StatusOr<T>> rows) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (absl::StatusOr<T>& row : rows) {
    if (!row.ok()) return row.status();
    out.push_back(*std::move(row));
  }
  return out;
}

}  // namespace livecommerce::common
