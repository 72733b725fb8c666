#include "services/common/sql.h"

#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>

#include "absl/strings/str_cat.h"

namespace livecommerce::common {

uint32_t SqlRow::Index(absl::string_view column) const {
  // Readers mostly read the columns in the order the query names them: the one after the last
  // read is tried first.
  if (next_ < columns_.size() && columns_[next_] == column) return static_cast<uint32_t>(++next_);
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == column) {
      next_ = i + 1;
      return static_cast<uint32_t>(i + 1);
    }
  }
  // A query and its reader disagree: a bug, reported like any driver error (INTERNAL).
  throw sql::SQLException(absl::StrCat("no column ", column, " in the result"));
}

bool SqlRow::IsNull(absl::string_view column) const { return rs_.isNull(Index(column)); }

int64_t SqlRow::Int(absl::string_view column) const {
  uint32_t i = Index(column);
  return rs_.isNull(i) ? 0 : rs_.getInt64(i);
}

std::optional<int64_t> SqlRow::OptInt(absl::string_view column) const {
  uint32_t i = Index(column);
  if (rs_.isNull(i)) return std::nullopt;
  return rs_.getInt64(i);
}

uint64_t SqlRow::UInt(absl::string_view column) const {
  uint32_t i = Index(column);
  return rs_.isNull(i) ? 0 : rs_.getUInt64(i);
}

std::string SqlRow::Str(absl::string_view column) const {
  uint32_t i = Index(column);
  return rs_.isNull(i) ? std::string() : std::string(rs_.getString(i));
}

std::optional<std::string> SqlRow::OptStr(absl::string_view column) const {
  uint32_t i = Index(column);
  if (rs_.isNull(i)) return std::nullopt;
  return std::string(rs_.getString(i));
}

std::string SqlRow::Bytes(absl::string_view column) const {
  return SqlBlobAt(rs_, static_cast<int>(Index(column)));
}

absl::Time SqlRow::Time(absl::string_view column) const {
  return OptTime(column).value_or(absl::UnixEpoch());
}

std::optional<absl::Time> SqlRow::OptTime(absl::string_view column) const {
  return SqlTimeAt(rs_, static_cast<int>(Index(column)));
}

SqlStatement::SqlStatement(MysqlConnection& connection, const std::string& query)
    : statement_(&connection.Prepare(query)) {}

SqlStatement::~SqlStatement() = default;

int SqlStatement::Execute() { return statement_->executeUpdate(); }

std::optional<int> SqlStatement::ExecuteUnless(int error_code) {
  try {
    return statement_->executeUpdate();
  } catch (const sql::SQLException& e) {
    if (e.getErrorCode() == error_code) return std::nullopt;
    throw;
  }
}

int64_t SqlStatement::ForEach(const std::function<void(const SqlRow&)>& fn) {
  std::unique_ptr<sql::ResultSet> rs(statement_->executeQuery());
  sql::ResultSetMetaData* meta = rs->getMetaData();
  std::vector<std::string> columns;
  uint32_t count = meta->getColumnCount();
  columns.reserve(count);
  for (uint32_t i = 1; i <= count; ++i) {
    columns.emplace_back(meta->getColumnLabel(i));
  }
  SqlRow row(*rs, columns);
  int64_t rows = 0;
  while (rs->next()) {
    fn(row);
    ++rows;
  }
  return rows;
}

std::optional<int64_t> SqlStatement::Scalar() {
  std::unique_ptr<sql::ResultSet> rs(statement_->executeQuery());
  if (!rs->next() || rs->isNull(1)) return std::nullopt;
  return rs->getInt64(1);
}

void SqlStatement::BindBool(bool value) { statement_->setInt(next_++, value ? 1 : 0); }
void SqlStatement::BindSigned(int64_t value) { statement_->setInt64(next_++, value); }
void SqlStatement::BindUnsigned(uint64_t value) { statement_->setUInt64(next_++, value); }
void SqlStatement::BindTime(absl::Time value) {
  statement_->setDateTime(next_++, ToSqlTime(value));
}
void SqlStatement::BindNull() { statement_->setNull(next_++, 0); }
void SqlStatement::BindString(absl::string_view value) {
  statement_->setString(next_++, std::string(value));
}
void SqlStatement::BindBytes(absl::string_view bytes) {
  // Sent inline with the statement (a string parameter is binary-safe, and a BLOB column keeps
  // its bytes as they are): setBlob would send each value as a separate long-data packet first.
  statement_->setString(next_++, std::string(bytes));
}

}  // namespace livecommerce::common
