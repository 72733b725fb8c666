// The migrated schema compares identifiers byte for byte (issue 16): on a server whose default
// collation folds case and ignores trailing spaces (the project's own servers run with
// utf8mb4_unicode_ci on purpose, as a managed MySQL may), every text column still uses a binary
// NO PAD collation, so brand `ACME-X` is not brand `acme-x` and openids differing in case are two
// users.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "services/common/mysql_client.h"
#include "tests/support/test_env.h"

namespace livecommerce::common {
namespace {

class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override { pool_ = testing::ConnectTestMysql({}); }
  std::unique_ptr<MysqlPool> pool_;
};

TEST_F(SchemaTest, EveryTextColumnComparesByteForByte) {
  std::vector<std::string> folding;
  int text_columns = 0;
  ASSERT_TRUE(pool_
                  ->Run([&](MysqlConnection& c) {
                    std::unique_ptr<sql::ResultSet> rs(
                        c.Prepare("SELECT TABLE_NAME, COLUMN_NAME, COLLATION_NAME "
                                  "FROM information_schema.COLUMNS "
                                  "WHERE TABLE_SCHEMA = DATABASE() AND COLLATION_NAME IS NOT NULL")
                            .executeQuery());
                    while (rs->next()) {
                      ++text_columns;
                      std::string collation = rs->getString("COLLATION_NAME");
                      if (collation.size() < 10 ||
                          collation.compare(collation.size() - 10, 10, "_nopad_bin") != 0) {
                        folding.push_back(std::string(rs->getString("TABLE_NAME")) + "." +
                                          std::string(rs->getString("COLUMN_NAME")) + " (" +
                                          collation + ")");
                      }
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_GT(text_columns, 50);
  EXPECT_TRUE(folding.empty()) << "columns that do not compare byte for byte (a new table must say "
                                  "COLLATE utf8mb4_nopad_bin): "
                               << ::testing::PrintToString(folding);
}

TEST_F(SchemaTest, LookAlikeIdentifiersAreDifferentRows) {
  // Private copies of real identifier columns (same types and collations): a brand and an openid.
  for (const auto& probe :
       {std::pair<std::string, std::string>{"rooms", "brand_id"}, {"orders", "buyer_id"}}) {
    const std::string& table = probe.first;  // not bindings: clang 14 cannot capture those
    const std::string& column = probe.second;
    std::vector<std::string> found;
    ASSERT_TRUE(
        pool_
            ->Run([&](MysqlConnection& c) {
              c.Execute("DROP TEMPORARY TABLE IF EXISTS probe");
              c.Execute("CREATE TEMPORARY TABLE probe AS SELECT " + column + " AS v FROM " + table +
                        " WHERE 1 = 0");
              for (const char* v : {"acme-x", "ACME-X", "acme-x ", "Acme-X", "ａｃｍｅ-x"}) {
                sql::PreparedStatement& insert = c.Prepare("INSERT INTO probe VALUES (?)");
                insert.setString(1, v);
                insert.executeUpdate();
              }
              sql::PreparedStatement& select = c.Prepare("SELECT v FROM probe WHERE v = ?");
              select.setString(1, "acme-x");
              std::unique_ptr<sql::ResultSet> rs(select.executeQuery());
              while (rs->next()) found.push_back(rs->getString(1));
              c.Execute("DROP TEMPORARY TABLE probe");
              return absl::OkStatus();
            })
            .ok());
    EXPECT_EQ(found, std::vector<std::string>{"acme-x"}) << table << "." << column;
  }
}

}  // namespace
}  // namespace livecommerce::common
