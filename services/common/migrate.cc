#include "services/common/migrate.h"

#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

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

namespace livecommerce::common {
namespace {

constexpr char kCreateTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INT NOT NULL PRIMARY KEY,"
    " name VARCHAR(200) NOT NULL,"
    " checksum CHAR(64) NOT NULL,"
    " applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
    ") ENGINE=InnoDB";

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

absl::StatusOr<int> ApplyMigrations(MysqlPool& pool, const std::vector<Migration>& migrations) {
  return pool.Run([&](MysqlConnection& c) -> absl::StatusOr<int> {
    {
      sql::PreparedStatement& lock = c.Prepare("SELECT GET_LOCK('lc_migrate', 120)");
      std::unique_ptr<sql::ResultSet> rs(lock.executeQuery());
      if (!rs->next() || rs->getInt(1) != 1) {
        return absl::UnavailableError("could not take the migration lock");
      }
    }
    auto unlock = [&c] { c.Execute("DO RELEASE_LOCK('lc_migrate')"); };
    c.Execute(kCreateTable);
    std::map<int, std::string> applied;
    {
      std::unique_ptr<sql::ResultSet> rs(
          c.Prepare("SELECT version, checksum FROM schema_migrations").executeQuery());
      while (rs->next()) {
        applied[rs->getInt(1)] = std::string(rs->getString(2));
      }
    }
    int count = 0;
    for (const Migration& m : migrations) {
      auto it = applied.find(m.version);
      if (it != applied.end()) {
        if (it->second != m.checksum) {
          unlock();
          return absl::FailedPreconditionError(absl::StrCat("migration ", m.version, "_", m.name,
                                                            " was edited after it was applied"));
        }
        continue;
      }
      for (const std::string& statement : SplitSqlStatements(m.sql)) {
        c.Execute(statement);
      }
      sql::PreparedStatement& record =
          c.Prepare("INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)");
      record.setInt(1, m.version);
      record.setString(2, m.name);
      record.setString(3, m.checksum);
      record.executeUpdate();
      spdlog::info("applied migration {:04d}_{}", m.version, m.name);
      ++count;
    }
    unlock();
    return count;
  });
}

}  // namespace livecommerce::common
