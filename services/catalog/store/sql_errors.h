#pragma once

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/sql.h"

namespace livecommerce::catalog {

// MySQL errors the catalog's stores answer rather than fail on.
inline constexpr int kSqlDuplicateKey = 1062;  // ER_DUP_ENTRY
inline constexpr int kSqlCheckFailed = 4025;   // a CHECK constraint refused the row

// Runs `statement` (an INSERT, UPDATE or DELETE): the rows it changed, or nullopt when the server
// refused it with `error_code`. Any other driver error is thrown on, as SqlStatement::Execute does
// (the pool turns it into a Status).
std::optional<int> ExecuteUnlessRefused(common::SqlStatement statement, int error_code);

// The rows a reader returning StatusOr read: the first error, or all of them.
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

}  // namespace livecommerce::catalog
