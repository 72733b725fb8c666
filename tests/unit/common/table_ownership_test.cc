// Each service owns its tables (issue 17): the tables a service's migrations create are its own,
// and no service's code or migrations name a table another service owns. Other services learn
// through events (docs/EVENTS.md) or RPCs. This reads the sources: a query naming another
// service's table fails here before it could couple two schemas.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/common/migrate.h"

namespace livecommerce::common {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The text of every string literal of a C++ source, joined by spaces, so that SQL split over
// several adjacent literals reads as one statement.
std::string StringLiterals(const std::string& source) {
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < source.size(); ++i) {
    char c = source[i];
    if (!in_string) {
      if (c == '/' && i + 1 < source.size() && source[i + 1] == '/') {
        while (i < source.size() && source[i] != '\n') ++i;  // a comment
      } else if (c == '\'' && i + 2 < source.size()) {
        i += source[i + 1] == '\\' ? 3 : 2;  // a character literal
      } else if (c == '"') {
        in_string = true;
      }
      continue;
    }
    if (c == '\\' && i + 1 < source.size()) {
      out += source[++i];
    } else if (c == '"') {
      in_string = false;
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// The tables SQL text names after FROM, JOIN, INTO, UPDATE, TABLE (and IF [NOT] EXISTS).
std::set<std::string> NamedTables(std::string sql) {
  // ON DUPLICATE KEY UPDATE names columns, not a table.
  static const std::regex kUpsert(R"(KEY\s+UPDATE)");
  sql = std::regex_replace(sql, kUpsert, "KEY_UPDATE");
  static const std::regex kNamed(
      R"(\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?`?([a-z][a-z0-9_]*)`?)");
  std::set<std::string> tables;
  for (auto it = std::sregex_iterator(sql.begin(), sql.end(), kNamed); it != std::sregex_iterator();
       ++it) {
    tables.insert((*it)[1].str());
  }
  return tables;
}

std::vector<std::string> Services(const fs::path& root) {
  absl::StatusOr<std::vector<std::string>> services = MigrationServices(root.string());
  EXPECT_TRUE(services.ok()) << services.status();
  return services.ok() ? *services : std::vector<std::string>();
}

std::vector<Migration> Migrations(const fs::path& dir) {
  absl::StatusOr<std::vector<Migration>> migrations = LoadMigrations(dir.string());
  EXPECT_TRUE(migrations.ok()) << migrations.status();
  return migrations.ok() ? *migrations : std::vector<Migration>();
}

// table -> the service whose migrations create it.
std::map<std::string, std::string> Owners(const fs::path& root) {
  static const std::regex kCreate(R"(CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?([a-z0-9_]+))");
  std::map<std::string, std::string> owners;
  for (const std::string& service : Services(root)) {
    for (const Migration& m : Migrations(root / service)) {
      for (auto it = std::sregex_iterator(m.sql.begin(), m.sql.end(), kCreate);
           it != std::sregex_iterator(); ++it) {
        EXPECT_EQ(owners.count((*it)[1].str()), 0u) << (*it)[1].str() << " created twice";
        owners[(*it)[1].str()] = service;
      }
    }
  }
  return owners;
}

// "file: table (owned by service)" for every table of another service that `sql` names.
void Foreign(const std::map<std::string, std::string>& owners, const std::string& service,
             const std::string& where, const std::string& sql, std::vector<std::string>& out) {
  for (const std::string& table : NamedTables(sql)) {
    auto owner = owners.find(table);
    if (owner != owners.end() && owner->second != service) {
      out.push_back(where + ": " + table + " (owned by " + owner->second + ")");
    }
  }
}

TEST(TableOwnershipTest, TheScannerFindsTablesInSqlSplitOverLiterals) {
  std::string source =
      "// FROM comments_are_not_sql\n"
      "c.Prepare(\"SELECT a FROM \"\n"
      "          \"orders o JOIN order_lines l ON l.order_id = o.id\");\n"
      "Sql(c, \"INSERT IGNORE INTO report_orders (x) VALUES (?)\", 'x');\n"
      "Sql(c, \"UPDATE `rooms` SET a = 1\");\n"
      "Sql(c, \"INSERT INTO t (n) VALUES (1) ON DUPLICATE KEY UPDATE orders = 2\");\n";
  EXPECT_EQ(NamedTables(StringLiterals(source)),
            (std::set<std::string>{"orders", "order_lines", "report_orders", "rooms", "t"}));
  std::vector<std::string> found;
  Foreign({{"orders", "order"}, {"report_orders", "report"}}, "report", "x.cc",
          StringLiterals(source), found);
  EXPECT_EQ(found, std::vector<std::string>{"x.cc: orders (owned by order)"});
}

TEST(TableOwnershipTest, NoServiceNamesAnotherServicesTables) {
  fs::path source_dir(LC_SOURCE_DIR);
  std::map<std::string, std::string> owners = Owners(source_dir / "db/migrations");
  ASSERT_GT(owners.size(), 40u);
  EXPECT_EQ(owners["orders"], "order");
  EXPECT_EQ(owners["report_sessions"], "report");
  EXPECT_EQ(owners["comments"], "interaction");
  EXPECT_EQ(owners["session_likes"], "interaction");
  EXPECT_EQ(owners["session_likers"], "interaction");
  EXPECT_EQ(owners["report_session_interaction"], "report");
  EXPECT_EQ(owners["report_interacting_viewers"], "report");
  std::vector<std::string> foreign;
  int files = 0;
  for (const std::string& service : Services(source_dir / "db/migrations")) {
    // The service's code.
    ASSERT_TRUE(fs::is_directory(source_dir / "services" / service)) << service;
    for (const auto& entry : fs::recursive_directory_iterator(source_dir / "services" / service)) {
      std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".cc" && ext != ".h")) continue;
      ++files;
      Foreign(owners, service, fs::relative(entry.path(), source_dir).string(),
              StringLiterals(Read(entry.path())), foreign);
    }
    // And its migrations, which run without the other services' schemas.
    for (const Migration& m : Migrations(source_dir / "db/migrations" / service)) {
      Foreign(owners, service, service + "/" + m.name, m.sql, foreign);
    }
  }
  EXPECT_GT(files, 50);
  EXPECT_TRUE(foreign.empty()) << "tables of another service named (use its events or RPCs): "
                               << ::testing::PrintToString(foreign);
}

}  // namespace
}  // namespace livecommerce::common
