#include "services/common/migrate.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"
#include "services/common/log_format.h"
#include "services/common/sql.h"

namespace livecommerce::common {
namespace {

// The history of every service's migrations, one row per (service, version).
constexpr char kCreateTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " service VARCHAR(32) NOT NULL,"
    " version INT NOT NULL,"
    " name VARCHAR(200) NOT NULL,"
    " checksum CHAR(64) NOT NULL,"
    " applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
    " PRIMARY KEY (service, version)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin";

// A database migrated before migrations were owned per service has a history without the
// service column: its rows become service '' (one sequence for the whole schema), which each
// service adopts for the versions it has files of (AdoptLegacy).
void UpgradeHistory(MysqlConnection& c) {
  bool has_service =
      Sql(c,
          "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
          "AND TABLE_NAME = 'schema_migrations' AND COLUMN_NAME = 'service'")
          .Scalar()
          .value_or(0) > 0;
  if (has_service) return;
  c.Execute(
      "ALTER TABLE schema_migrations ADD COLUMN service VARCHAR(32) NOT NULL DEFAULT '' FIRST, "
      "DROP PRIMARY KEY, ADD PRIMARY KEY (service, version)");
  spdlog::info("schema_migrations: the single history became service ''");
}

// Versions of the single history that `service` has files of count as applied for it.
void AdoptLegacy(MysqlConnection& c, const std::string& service,
                 const std::vector<Migration>& migrations) {
  for (const Migration& m : migrations) {
    int adopted = Sql(c,
                      "INSERT IGNORE INTO schema_migrations (service, version, name, checksum) "
                      "SELECT ?, version, ?, ? FROM schema_migrations WHERE service = '' AND "
                      "version = ?",
                      service, m.name, m.checksum, m.version)
                      .Execute();
    if (adopted > 0) spdlog::info("{}: migration {:04d} was applied before", service, m.version);
  }
}

}  // namespace

absl::StatusOr<std::vector<Migration>> LoadMigrations(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(absl::StrCat("migrations directory not found: ", dir));
  }
  static const std::regex kName(R"(^(\d{4})_([a-z0-9_]+)\.sql$)");
  std::map<int, Migration> by_version;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    std::string file = entry.path().filename().string();
    if (!entry.is_regular_file()) {
      continue;
    }
    std::smatch match;
    if (!std::regex_match(file, match, kName)) {
      return absl::InvalidArgumentError(
          absl::StrCat("migration file name must be NNNN_description.sql: ", file));
    }
    Migration migration;
    (void)absl::SimpleAtoi(match[1].str(), &migration.version);
    migration.name = match[2].str();
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    migration.sql = buffer.str();
    migration.checksum = HexEncode(Sha256(migration.sql));
    if (by_version.count(migration.version) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("two migrations share version ", migration.version));
    }
    by_version.emplace(migration.version, std::move(migration));
  }
  std::vector<Migration> migrations;
  for (auto& [version, migration] : by_version) {
    migrations.push_back(std::move(migration));
  }
  return migrations;
}

std::vector<std::string> SplitSqlStatements(absl::string_view sql) {
  std::vector<std::string> statements;
  std::string current;
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (quote != 0) {
      current += c;
      if (c == '\\' && i + 1 < sql.size()) {
        current += sql[++i];
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n') ++i;
      current += '\n';
      continue;
    }
    if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      size_t end = sql.find("*/", i + 2);
      i = end == absl::string_view::npos ? sql.size() : end + 1;
      current += ' ';
      continue;
    }
    if (c == '\'' || c == '"' || c == '`') {
      quote = c;
      current += c;
      continue;
    }
    if (c == ';') {
      std::string trimmed(absl::StripAsciiWhitespace(current));
      if (!trimmed.empty()) statements.push_back(std::move(trimmed));
      current.clear();
      continue;
    }
    current += c;
  }
  std::string trimmed(absl::StripAsciiWhitespace(current));
  if (!trimmed.empty()) statements.push_back(std::move(trimmed));
  return statements;
}

absl::StatusOr<std::vector<std::string>> MigrationServices(const std::string& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::InvalidArgumentError(absl::StrCat("migrations directory not found: ", root));
  }
  std::vector<std::string> services;
  for (const fs::directory_entry& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) services.push_back(entry.path().filename().string());
  }
  std::sort(services.begin(), services.end());
  return services;
}

absl::StatusOr<int> ApplyMigrations(MysqlPool& pool, const std::string& service,
                                    const std::vector<Migration>& migrations) {
  return pool.Run([&](MysqlConnection& c) -> absl::StatusOr<int> {
    if (Sql(c, "SELECT GET_LOCK('lc_migrate', 120)").Scalar().value_or(0) != 1) {
      return absl::UnavailableError("could not take the migration lock");
    }
    auto unlock = [&c] { c.Execute("DO RELEASE_LOCK('lc_migrate')"); };
    c.Execute(kCreateTable);
    UpgradeHistory(c);
    AdoptLegacy(c, service, migrations);
    std::map<int, std::string> applied;
    Sql(c, "SELECT version, checksum FROM schema_migrations WHERE service = ?", service)
        .ForEach([&](const SqlRow& row) {
          applied[static_cast<int>(row.Int("version"))] = row.Str("checksum");
        });
    int count = 0;
    for (const Migration& m : migrations) {
      auto it = applied.find(m.version);
      if (it != applied.end()) {
        if (it->second != m.checksum) {
          unlock();
          return absl::FailedPreconditionError(absl::StrCat("migration ", service, "/", m.version,
                                                            "_", m.name,
                                                            " was edited after it was applied"));
        }
        continue;
      }
      for (const std::string& statement : SplitSqlStatements(m.sql)) {
        c.Execute(statement);
      }
      Sql(c, "INSERT INTO schema_migrations (service, version, name, checksum) VALUES (?, ?, ?, ?)",
          service, m.version, m.name, m.checksum)
          .Execute();
      spdlog::info("applied migration {}/{:04d}_{}", service, m.version, m.name);
      ++count;
    }
    unlock();
    return count;
  });
}

}  // namespace livecommerce::common
