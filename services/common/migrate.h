#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/mysql_client.h"

namespace livecommerce::common {

// A versioned schema change of one service: db/migrations/<service>/NNNN_description.sql. Each
// service owns its tables and migrates only them; versions are numbered per service.
struct Migration {
  int version = 0;
  std::string name;
  std::string sql;
  std::string checksum;  // SHA-256 hex of the file, to detect edits after it was applied
};

// Reads NNNN_description.sql files from `dir`, sorted by version. Duplicate versions or other names
// are INVALID_ARGUMENT.
absl::StatusOr<std::vector<Migration>> LoadMigrations(const std::string& dir);

// Splits a script into statements at semicolons outside quotes and comments.
std::vector<std::string> SplitSqlStatements(absl::string_view sql);

// The services with migrations under `root` (db/migrations): its subdirectories, sorted.
absl::StatusOr<std::vector<std::string>> MigrationServices(const std::string& root);

// Applies, in order, every migration of `service` not yet recorded in schema_migrations, under a
// named lock so concurrent migrators wait for each other. A recorded migration whose file changed
// is FAILED_PRECONDITION. Returns how many were applied.
absl::StatusOr<int> ApplyMigrations(MysqlPool& pool, const std::string& service,
                                    const std::vector<Migration>& migrations);

}  // namespace livecommerce::common
