#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "gtest/gtest.h"
#include "services/common/migrate.h"
#include "services/common/mysql_client.h"
#include "services/common/status.h"
#include "tests/support/test_env.h"

namespace livecommerce::common {
namespace {

// Runs in the scratch database so it can create and drop what it likes.
class MysqlClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pool = MysqlPool::Create(testing::TestMysqlConfig("lc_scratch"));
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    ASSERT_TRUE(pool_
                    ->Run([](MysqlConnection& c) {
                      c.Execute("DROP TABLE IF EXISTS accounts");
                      c.Execute("DROP TABLE IF EXISTS m_one");
                      c.Execute("DROP TABLE IF EXISTS m_two");
                      c.Execute("DROP TABLE IF EXISTS schema_migrations");
                      c.Execute(
                          "CREATE TABLE accounts (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, "
                          "balance BIGINT NOT NULL, at DATETIME(6) NULL) ENGINE=InnoDB");
                      return absl::OkStatus();
                    })
                    .ok());
  }

  absl::StatusOr<int64_t> Balance(int id) {
    return pool_->Run([&](MysqlConnection& c) -> absl::StatusOr<int64_t> {
      sql::PreparedStatement& s = c.Prepare("SELECT balance FROM accounts WHERE id = ?");
      s.setInt(1, id);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      if (!rs->next()) return absl::NotFoundError("no account");
      return rs->getInt64(1);
    });
  }

  absl::Status Insert(MysqlConnection& c, int id, int64_t balance) {
    sql::PreparedStatement& s =
        c.Prepare("INSERT INTO accounts (id, name, balance) VALUES (?, ?, ?)");
    s.setInt(1, id);
    s.setString(2, "a'; DROP TABLE accounts; --");
    s.setInt64(3, balance);
    s.executeUpdate();
    return absl::OkStatus();
  }

  std::unique_ptr<MysqlPool> pool_;
};

TEST_F(MysqlClientTest, PreparedStatementsKeepValuesAsData) {
  ASSERT_TRUE(pool_->Run([&](MysqlConnection& c) { return Insert(c, 1, 100); }).ok());
  EXPECT_EQ(*Balance(1), 100);
  auto name = pool_->Run([](MysqlConnection& c) -> absl::StatusOr<std::string> {
    std::unique_ptr<sql::ResultSet> rs(
        c.Prepare("SELECT name FROM accounts WHERE id = 1").executeQuery());
    rs->next();
    return std::string(rs->getString(1));
  });
  EXPECT_EQ(*name, "a'; DROP TABLE accounts; --");
}

TEST_F(MysqlClientTest, TransactionCommitsOnOkAndRollsBackOnError) {
  ASSERT_TRUE(pool_->InTransaction([&](MysqlConnection& c) { return Insert(c, 1, 100); }).ok());
  absl::Status failed = pool_->InTransaction([&](MysqlConnection& c) -> absl::Status {
    LC_RETURN_IF_ERROR(Insert(c, 2, 50));
    return absl::FailedPreconditionError("changed my mind");
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Balance(2).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*Balance(1), 100);
}

TEST_F(MysqlClientTest, DriverExceptionsBecomeStatusesAndRollBack) {
  ASSERT_TRUE(pool_->Run([&](MysqlConnection& c) { return Insert(c, 1, 100); }).ok());
  absl::Status duplicate = pool_->InTransaction([&](MysqlConnection& c) -> absl::Status {
    LC_RETURN_IF_ERROR(Insert(c, 3, 7));
    return Insert(c, 1, 5);  // duplicate key: throws inside
  });
  EXPECT_EQ(duplicate.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Balance(3).status().code(), absl::StatusCode::kNotFound);
  // The pool is still usable afterwards.
  EXPECT_EQ(*Balance(1), 100);
}

TEST_F(MysqlClientTest, ConditionalUpdatesStayExactUnderConcurrency) {
  ASSERT_TRUE(pool_->Run([&](MysqlConnection& c) { return Insert(c, 1, 500); }).ok());
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        auto rows = pool_->InTransaction([](MysqlConnection& c) -> absl::StatusOr<int> {
          sql::PreparedStatement& s =
              c.Prepare("UPDATE accounts SET balance = balance - 1 WHERE id = 1 AND balance >= 1");
          return s.executeUpdate();
        });
        if (rows.ok() && *rows == 1) ++succeeded;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded.load(), 500);
  EXPECT_EQ(*Balance(1), 0);
}

TEST_F(MysqlClientTest, TimesRoundTripInUtc) {
  absl::Time t = absl::FromUnixMicros(1764139519123456);
  ASSERT_TRUE(pool_
                  ->Run([&](MysqlConnection& c) -> absl::Status {
                    sql::PreparedStatement& s = c.Prepare(
                        "INSERT INTO accounts (id, name, balance, at) VALUES (9, 'x', 0, ?)");
                    s.setDateTime(1, ToSqlTime(t));
                    s.executeUpdate();
                    return absl::OkStatus();
                  })
                  .ok());
  auto read = pool_->Run([](MysqlConnection& c) -> absl::StatusOr<absl::Time> {
    std::unique_ptr<sql::ResultSet> rs(
        c.Prepare("SELECT at, UNIX_TIMESTAMP(at) FROM accounts WHERE id = 9").executeQuery());
    rs->next();
    EXPECT_EQ(rs->getInt64(2), 1764139519);
    return FromSqlTime(std::string(rs->getString(1)));
  });
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, t);
}

TEST_F(MysqlClientTest, MigrationsApplyOnceAndDetectEdits) {
  auto dir = std::filesystem::temp_directory_path() / ("lc_mig_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "0001_one.sql") << "CREATE TABLE m_one (id INT PRIMARY KEY);";
  std::ofstream(dir / "0002_two.sql")
      << "CREATE TABLE m_two (id INT PRIMARY KEY);\nINSERT INTO m_two VALUES (1);";
  auto migrations = LoadMigrations(dir.string());
  ASSERT_TRUE(migrations.ok());
  EXPECT_EQ(*ApplyMigrations(*pool_, "one", *migrations), 2);
  EXPECT_EQ(*ApplyMigrations(*pool_, "one", *migrations), 0);  // nothing twice
  std::ofstream(dir / "0002_two.sql") << "CREATE TABLE m_two (id BIGINT PRIMARY KEY);";
  auto edited = LoadMigrations(dir.string());
  ASSERT_TRUE(edited.ok());
  auto result = ApplyMigrations(*pool_, "one", *edited);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  std::filesystem::remove_all(dir);
}

// Versions are numbered per service: another service's version 1 is its own.
TEST_F(MysqlClientTest, EachServiceHasItsOwnHistory) {
  auto dir = std::filesystem::temp_directory_path() / ("lc_mig_s_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "a");
  std::filesystem::create_directories(dir / "b");
  std::ofstream(dir / "a" / "0001_one.sql") << "CREATE TABLE m_one (id INT PRIMARY KEY);";
  std::ofstream(dir / "b" / "0001_two.sql") << "CREATE TABLE m_two (id INT PRIMARY KEY);";
  EXPECT_EQ(*MigrationServices(dir.string()), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*ApplyMigrations(*pool_, "a", *LoadMigrations((dir / "a").string())), 1);
  EXPECT_EQ(*ApplyMigrations(*pool_, "b", *LoadMigrations((dir / "b").string())), 1);
  EXPECT_EQ(*ApplyMigrations(*pool_, "a", *LoadMigrations((dir / "a").string())), 0);
  std::filesystem::remove_all(dir);
}

// A database migrated when the whole schema had one history (no service column) keeps what it
// applied: each service adopts the versions it has files of and applies only newer ones.
TEST_F(MysqlClientTest, AHistoryFromBeforeServicesOwnedMigrationsIsAdopted) {
  ASSERT_TRUE(pool_
                  ->Run([](MysqlConnection& c) {
                    c.Execute(
                        "CREATE TABLE schema_migrations (version INT NOT NULL PRIMARY KEY, name "
                        "VARCHAR(200) NOT NULL, checksum CHAR(64) NOT NULL, applied_at "
                        "DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))");
                    c.Execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES "
                        "(1, 'one', 'old'), (2, 'two', 'old')");
                    c.Execute("CREATE TABLE m_one (id INT PRIMARY KEY)");
                    return absl::OkStatus();
                  })
                  .ok());
  auto dir = std::filesystem::temp_directory_path() / ("lc_mig_l_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // Version 1 ran before (m_one exists: running it again would fail); version 3 is new.
  std::ofstream(dir / "0001_one.sql") << "CREATE TABLE m_one (id INT PRIMARY KEY);";
  std::ofstream(dir / "0003_two.sql") << "CREATE TABLE m_two (id INT PRIMARY KEY);";
  auto applied = ApplyMigrations(*pool_, "svc", *LoadMigrations(dir.string()));
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 1);
  EXPECT_EQ(*ApplyMigrations(*pool_, "svc", *LoadMigrations(dir.string())), 0);
  std::filesystem::remove_all(dir);
}

TEST_F(MysqlClientTest, UnreachableServerIsUnavailable) {
  MysqlConfig config = testing::TestMysqlConfig("lc_scratch");
  config.port = 1;
  auto pool = MysqlPool::Create(config);
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(MysqlClientTest, ReconnectsAfterConnectionIsKilled) {
  auto id = pool_->Run([](MysqlConnection& c) -> absl::StatusOr<int64_t> {
    std::unique_ptr<sql::ResultSet> rs(c.Prepare("SELECT CONNECTION_ID()").executeQuery());
    rs->next();
    return rs->getInt64(1);
  });
  ASSERT_TRUE(id.ok());
  // Kill every connection of the pool from outside.
  auto killer = MysqlPool::Create(testing::TestMysqlConfig("lc_scratch"));
  ASSERT_TRUE(killer.ok());
  ASSERT_TRUE((*killer)
                  ->Run([&](MysqlConnection& c) {
                    c.Execute("KILL CONNECTION " + std::to_string(*id));
                    return absl::OkStatus();
                  })
                  .ok());
  // The first use of a killed connection fails as UNAVAILABLE and drops it; then the pool recovers.
  bool recovered = false;
  for (int i = 0; i < 20 && !recovered; ++i) {
    absl::Status s = pool_->Run([&](MysqlConnection& c) { return Insert(c, 100 + i, 1); });
    if (s.ok()) {
      recovered = true;
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    }
  }
  EXPECT_TRUE(recovered);
}

// A COMMIT lost with its connection (the server killed while the transaction commits) is a
// failure, never a success: the chaos harness (tests/chaos) found payments acknowledged to buyers
// that were not in MySQL after mariadbd was killed, because the driver's commit() ignored it.
TEST_F(MysqlClientTest, ACommitLostWithItsConnectionIsNotASuccess) {
  auto killer = MysqlPool::Create(testing::TestMysqlConfig("lc_scratch"));
  ASSERT_TRUE(killer.ok());
  absl::Status s = pool_->InTransaction([&](MysqlConnection& c) -> absl::Status {
    LC_RETURN_IF_ERROR(Insert(c, 7, 700));
    std::unique_ptr<sql::ResultSet> rs(c.Prepare("SELECT CONNECTION_ID()").executeQuery());
    rs->next();
    std::string id = std::to_string(rs->getInt64(1));
    // The connection goes between the last write and the COMMIT.
    return (*killer)->Run([&](MysqlConnection& k) {
      k.Execute("KILL CONNECTION " + id);
      return absl::OkStatus();
    });
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_EQ(Balance(7).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace livecommerce::common
