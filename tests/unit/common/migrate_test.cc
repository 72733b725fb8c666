#include "services/common/migrate.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace livecommerce::common {
namespace {

TEST(SplitSqlTest, SplitsAtSemicolonsOutsideQuotesAndComments) {
  std::vector<std::string> statements = SplitSqlStatements(
      "-- a comment; with a semicolon\n"
      "CREATE TABLE t (a TEXT DEFAULT 'x;y');\n"
      "/* block; comment */ INSERT INTO t VALUES (\"q;\");\n"
      "  \n");
  ASSERT_EQ(statements.size(), 2u);
  EXPECT_EQ(statements[0], "CREATE TABLE t (a TEXT DEFAULT 'x;y')");
  EXPECT_EQ(statements[1], "INSERT INTO t VALUES (\"q;\")");
}

TEST(SplitSqlTest, EscapedQuotesStayInside) {
  std::vector<std::string> statements = SplitSqlStatements("SELECT 'it\\'s; fine'; SELECT 2");
  ASSERT_EQ(statements.size(), 2u);
  EXPECT_EQ(statements[1], "SELECT 2");
}

class LoadMigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("lc_migrate_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(LoadMigrationsTest, SortsByVersion) {
  Write("0002_second.sql", "SELECT 2;");
  Write("0001_first.sql", "SELECT 1;");
  auto migrations = LoadMigrations(dir_.string());
  ASSERT_TRUE(migrations.ok()) << migrations.status();
  ASSERT_EQ(migrations->size(), 2u);
  EXPECT_EQ((*migrations)[0].version, 1);
  EXPECT_EQ((*migrations)[0].name, "first");
  EXPECT_EQ((*migrations)[1].version, 2);
  EXPECT_EQ((*migrations)[0].checksum.size(), 64u);
}

TEST_F(LoadMigrationsTest, RefusesBadNamesAndDuplicates) {
  Write("0001_first.sql", "SELECT 1;");
  Write("0001_again.sql", "SELECT 1;");
  EXPECT_FALSE(LoadMigrations(dir_.string()).ok());
  std::filesystem::remove(dir_ / "0001_again.sql");
  Write("notes.txt", "x");
  EXPECT_FALSE(LoadMigrations(dir_.string()).ok());
}

// Each service owns its migrations (db/migrations/<service>/); the six services have theirs.
TEST(LoadMigrationsRepoTest, ProjectMigrationsAreWellFormed) {
  std::string root = std::string(LC_SOURCE_DIR) + "/db/migrations";
  auto services = MigrationServices(root);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_EQ(*services, (std::vector<std::string>{"attribution", "catalog", "interaction", "order",
                                                 "report", "room"}));
  for (const std::string& service : *services) {
    auto migrations = LoadMigrations(root + "/" + service);
    ASSERT_TRUE(migrations.ok()) << service << ": " << migrations.status();
    ASSERT_FALSE(migrations->empty()) << service;
    for (const Migration& m : *migrations) {
      EXPECT_FALSE(SplitSqlStatements(m.sql).empty()) << service << "/" << m.name;
    }
  }
}

}  // namespace
}  // namespace livecommerce::common
