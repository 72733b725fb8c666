#include "services/common/sql.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/mysql_client.h"
#include "services/common/status.h"
#include "tests/support/test_env.h"

namespace livecommerce::common {
namespace {

enum class Colour { kRed = 1, kGreen = 2, kBlue = 7 };
enum PlainState { PLAIN_STATE_UNSPECIFIED = 0, PLAIN_STATE_OPEN = 3 };  // like a protobuf enum

// Every value a row of sql_values can hold, as read back by name.
struct Values {
  int64_t id = 0;
  int64_t small = 0;
  int64_t big = 0;
  uint64_t unsigned_big = 0;
  bool flag = false;
  Colour colour = Colour::kRed;
  PlainState state = PLAIN_STATE_UNSPECIFIED;
  std::optional<std::string> name;
  std::string payload;
  std::optional<absl::Time> at;
  std::optional<int64_t> maybe;
};

Values ReadValues(const SqlRow& row) {
  Values v;
  v.id = row.Int("id");
  v.small = row.Int("small");
  v.big = row.Int("big");
  v.unsigned_big = row.UInt("unsigned_big");
  v.flag = row.Bool("flag");
  v.colour = row.Enum<Colour>("colour");
  v.state = row.Enum<PlainState>("state");
  v.name = row.OptStr("name");
  v.payload = row.Bytes("payload");
  v.at = row.OptTime("at");
  v.maybe = row.OptInt("maybe");
  return v;
}

constexpr char kSelectValues[] =
    "SELECT id, small, big, unsigned_big, flag, colour, state, name, payload, at, maybe "
    "FROM sql_values WHERE id = ?";

// Runs in the scratch database so it can create and drop what it likes.
class SqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pool = MysqlPool::Create(testing::TestMysqlConfig("lc_scratch"));
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    ASSERT_TRUE(pool_
                    ->Run([](MysqlConnection& c) {
                      c.Execute("DROP TABLE IF EXISTS sql_values");
                      c.Execute("DROP TABLE IF EXISTS sql_rows");
                      c.Execute(
                          "CREATE TABLE sql_values (id BIGINT PRIMARY KEY, small INT NULL, "
                          "big BIGINT NULL, unsigned_big BIGINT UNSIGNED NULL, flag TINYINT NULL, "
                          "colour INT NULL, state INT NULL, name VARCHAR(100) NULL, "
                          "payload VARBINARY(64) NULL, at DATETIME(6) NULL, maybe BIGINT NULL) "
                          "ENGINE=InnoDB");
                      c.Execute(
                          "CREATE TABLE sql_rows (id BIGINT PRIMARY KEY, label VARCHAR(20) NOT "
                          "NULL, amount BIGINT NOT NULL) ENGINE=InnoDB");
                      return absl::OkStatus();
                    })
                    .ok());
  }

  absl::StatusOr<std::optional<Values>> Load(int64_t id) {
    return pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<Values>> {
      return Sql(c, kSelectValues, id).One(ReadValues);
    });
  }

  // Rows 1..n with labels "r<i>" and amounts 10*i, inserted with one multi-row statement.
  absl::StatusOr<int> InsertRows(int n) {
    return pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<int> {
      std::string query = "INSERT INTO sql_rows (id, label, amount) VALUES ";
      for (int i = 0; i < n; ++i) absl::StrAppend(&query, i == 0 ? "" : ", ", "(?, ?, ?)");
      SqlStatement insert = Sql(c, query);
      for (int i = 1; i <= n; ++i) insert.Bind(i, absl::StrCat("r", i), int64_t{10} * i);
      return insert.Execute();
    });
  }

  std::unique_ptr<MysqlPool> pool_;
};

TEST_F(SqlTest, BindsEveryTypeAndReadsItBackByName) {
  const absl::Time at = absl::FromUnixMicros(1764139519123456);
  const std::string payload("\x00\x01\xff bytes\x00", 10);
  const uint64_t huge = std::numeric_limits<uint64_t>::max();
  absl::StatusOr<int> inserted = pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<int> {
    return Sql(c,
               "INSERT INTO sql_values (id, small, big, unsigned_big, flag, colour, state, name, "
               "payload, at, maybe) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               int64_t{1}, int32_t{-42}, std::numeric_limits<int64_t>::min(), huge, true,
               Colour::kBlue, PLAIN_STATE_OPEN, std::string("name 'quoted'; --"), SqlBytes{payload},
               at, std::optional<int64_t>(99))
        .Execute();
  });
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(*inserted, 1);

  absl::StatusOr<std::optional<Values>> read = Load(1);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  const Values& v = **read;
  EXPECT_EQ(v.id, 1);
  EXPECT_EQ(v.small, -42);
  EXPECT_EQ(v.big, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(v.unsigned_big, huge);
  EXPECT_TRUE(v.flag);
  EXPECT_EQ(v.colour, Colour::kBlue);
  EXPECT_EQ(v.state, PLAIN_STATE_OPEN);
  EXPECT_EQ(v.name, "name 'quoted'; --");
  EXPECT_EQ(v.payload, payload);
  EXPECT_EQ(v.at, at);
  EXPECT_EQ(v.maybe, 99);
}

TEST_F(SqlTest, BindsNullsAndReadsThemAsEmpty) {
  absl::StatusOr<int> inserted = pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<int> {
    return Sql(c,
               "INSERT INTO sql_values (id, small, big, unsigned_big, flag, colour, state, name, "
               "payload, at, maybe) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               int64_t{2}, SqlNull{}, std::optional<int64_t>(), std::optional<uint64_t>(),
               std::optional<bool>(), std::optional<Colour>(), SqlNull{},
               std::optional<std::string>(), SqlNull{}, std::optional<absl::Time>(), SqlNull{})
        .Execute();
  });
  ASSERT_TRUE(inserted.ok()) << inserted.status();

  struct Read {
    bool small_null, name_null, at_null;
    int64_t small;
    uint64_t unsigned_big;
    bool flag;
    std::string name;
    std::optional<std::string> opt_name;
    std::string payload;
    absl::Time at;
    std::optional<absl::Time> opt_at;
    std::optional<int64_t> maybe;
  };
  auto read = pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<Read>> {
    return Sql(c, kSelectValues, 2).One([](const SqlRow& row) {
      return Read{row.IsNull("small"), row.IsNull("name"),       row.IsNull("at"),
                  row.Int("small"),    row.UInt("unsigned_big"), row.Bool("flag"),
                  row.Str("name"),     row.OptStr("name"),       row.Bytes("payload"),
                  row.Time("at"),      row.OptTime("at"),        row.OptInt("maybe")};
    });
  });
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  const Read& r = **read;
  EXPECT_TRUE(r.small_null);
  EXPECT_TRUE(r.name_null);
  EXPECT_TRUE(r.at_null);
  EXPECT_EQ(r.small, 0);
  EXPECT_EQ(r.unsigned_big, 0u);
  EXPECT_FALSE(r.flag);
  EXPECT_EQ(r.name, "");
  EXPECT_EQ(r.opt_name, std::nullopt);
  EXPECT_EQ(r.payload, "");
  EXPECT_EQ(r.at, absl::UnixEpoch());
  EXPECT_EQ(r.opt_at, std::nullopt);
  EXPECT_EQ(r.maybe, std::nullopt);
}

TEST_F(SqlTest, StringsBindFromEveryStringType) {
  const char* c_string = "from a C string";
  absl::string_view view = "from a view";
  absl::StatusOr<int> inserted = pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<int> {
    return Sql(c, "INSERT INTO sql_rows (id, label, amount) VALUES (?, ?, 1), (?, ?, 2), (?, ?, 3)",
               1, "a literal", 2, c_string, 3, view)
        .Execute();
  });
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(*inserted, 3);
  auto labels = pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<std::string>> {
    return Sql(c, "SELECT label FROM sql_rows ORDER BY id").All([](const SqlRow& row) {
      return row.Str("label");
    });
  });
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(*labels, (std::vector<std::string>{"a literal", "from a C string", "from a view"}));
}

TEST_F(SqlTest, BindLoopsBuildMultiRowStatements) {
  absl::StatusOr<int> inserted = InsertRows(5);
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(*inserted, 5);

  struct Row {
    int64_t id;
    std::string label;
    int64_t amount;
  };
  auto rows = pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<Row>> {
    return Sql(c, "SELECT amount, label, id FROM sql_rows WHERE id >= ? ORDER BY id", 2)
        .All([](const SqlRow& row) {
          return Row{row.Int("id"), row.Str("label"), row.Int("amount")};
        });
  });
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  for (size_t i = 0; i < rows->size(); ++i) {
    int64_t id = static_cast<int64_t>(i) + 2;
    EXPECT_EQ((*rows)[i].id, id);
    EXPECT_EQ((*rows)[i].label, absl::StrCat("r", id));
    EXPECT_EQ((*rows)[i].amount, 10 * id);
  }
}

TEST_F(SqlTest, ExecuteCountsTheRowsItChanged) {
  ASSERT_TRUE(InsertRows(4).ok());
  auto counts = pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<int>> {
    std::vector<int> changed;
    changed.push_back(
        Sql(c, "UPDATE sql_rows SET amount = amount + 1 WHERE id IN (?, ?)", 1, 3).Execute());
    changed.push_back(Sql(c, "UPDATE sql_rows SET amount = amount + 1 WHERE id = ?", 99).Execute());
    // A row set to the value it has is matched but not changed (the stores rely on this).
    changed.push_back(Sql(c, "UPDATE sql_rows SET amount = ? WHERE id = ?", 20, 2).Execute());
    changed.push_back(Sql(c, "DELETE FROM sql_rows WHERE amount > ?", 25).Execute());
    return changed;
  });
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(*counts, (std::vector<int>{2, 0, 0, 2}));  // rows 3 (31) and 4 (40) deleted
}

TEST_F(SqlTest, ScalarReadsTheFirstColumnOrNothing) {
  ASSERT_TRUE(InsertRows(3).ok());
  auto scalars =
      pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<std::optional<int64_t>>> {
        return std::vector<std::optional<int64_t>>{
            Sql(c, "SELECT COUNT(*) FROM sql_rows WHERE amount >= ?", 20).Scalar(),
            Sql(c, "SELECT SUM(amount) FROM sql_rows").Scalar(),
            Sql(c, "SELECT MAX(amount) FROM sql_rows WHERE id > ?", 100).Scalar(),  // NULL
            Sql(c, "SELECT amount FROM sql_rows WHERE id = ?", 100).Scalar(),       // no row
        };
      });
  ASSERT_TRUE(scalars.ok()) << scalars.status();
  EXPECT_EQ((*scalars)[0], 2);
  EXPECT_EQ((*scalars)[1], 60);
  EXPECT_EQ((*scalars)[2], std::nullopt);
  EXPECT_EQ((*scalars)[3], std::nullopt);
}

TEST_F(SqlTest, OneIsEmptyWithoutRowsAndTheFirstRowOtherwise) {
  ASSERT_TRUE(InsertRows(3).ok());
  auto none = Load(12345);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());

  auto first = pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<std::string>> {
    return Sql(c, "SELECT label FROM sql_rows ORDER BY id DESC").One([](const SqlRow& row) {
      return row.Str("label");
    });
  });
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, "r3");

  auto visited = pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<int64_t> {
    int64_t total = 0;
    int64_t rows = Sql(c, "SELECT amount AS a FROM sql_rows").ForEach([&](const SqlRow& row) {
      total += row.Int("a");
    });
    EXPECT_EQ(total, 60);
    return rows;
  });
  ASSERT_TRUE(visited.ok()) << visited.status();
  EXPECT_EQ(*visited, 3);
}

TEST_F(SqlTest, AStatementIsReusedWithFreshArguments) {
  ASSERT_TRUE(InsertRows(3).ok());
  auto amounts = pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<int64_t>> {
    std::vector<int64_t> out;
    for (int id : {3, 1, 2}) {
      out.push_back(Sql(c, "SELECT amount FROM sql_rows WHERE id = ?", id).Scalar().value_or(-1));
    }
    return out;
  });
  ASSERT_TRUE(amounts.ok()) << amounts.status();
  EXPECT_EQ(*amounts, (std::vector<int64_t>{30, 10, 20}));
}

TEST_F(SqlTest, AnUnknownColumnNameIsAnError) {
  ASSERT_TRUE(InsertRows(1).ok());
  absl::StatusOr<std::optional<int64_t>> read =
      pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<int64_t>> {
        return Sql(c, "SELECT amount FROM sql_rows WHERE id = ?", 1).One([](const SqlRow& row) {
          return row.Int("amount_fen");
        });
      });
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInternal) << read.status();
  // An aggregate without an alias is not readable by a name it does not have.
  absl::Status unnamed = pool_->Run([&](MysqlConnection& c) -> absl::Status {
    Sql(c, "SELECT COUNT(*) FROM sql_rows").ForEach([](const SqlRow& row) { (void)row.Int("n"); });
    return absl::OkStatus();
  });
  EXPECT_EQ(unnamed.code(), absl::StatusCode::kInternal) << unnamed;
  // The pool is still usable afterwards.
  auto count = pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<int64_t> {
    return Sql(c, "SELECT COUNT(*) AS n FROM sql_rows")
        .One([](const SqlRow& row) { return row.Int("n"); })
        .value_or(-1);
  });
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 1);
}

TEST_F(SqlTest, AFailedStatementRollsTheTransactionBack) {
  ASSERT_TRUE(InsertRows(1).ok());
  absl::Status duplicate = pool_->InTransaction([&](MysqlConnection& c) -> absl::Status {
    Sql(c, "INSERT INTO sql_rows (id, label, amount) VALUES (?, ?, ?)", 2, "two", 2).Execute();
    Sql(c, "INSERT INTO sql_rows (id, label, amount) VALUES (?, ?, ?)", 1, "again", 1).Execute();
    return absl::OkStatus();
  });
  EXPECT_EQ(duplicate.code(), absl::StatusCode::kAlreadyExists) << duplicate;
  auto count = pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<int64_t> {
    return Sql(c, "SELECT COUNT(*) FROM sql_rows").Scalar().value_or(-1);
  });
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 1);
}

}  // namespace
}  // namespace livecommerce::common
