#include "tests/support/test_env.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "services/common/migrate.h"

namespace livecommerce::testing {
namespace {

std::string Required(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << name << " is not set: run the tests through scripts/test";
    return "";
  }
  return value;
}

void SplitHostPort(const std::string& address, std::string* host, int* port) {
  std::vector<std::string> parts = absl::StrSplit(address, ':');
  if (parts.size() == 2) {
    *host = parts[0];
    (void)absl::SimpleAtoi(parts[1], port);
  }
}

}  // namespace

common::RedisConfig TestRedisConfig() {
  common::RedisConfig config;
  const char* cluster = std::getenv("LC_TEST_REDIS_CLUSTER");
  if (cluster != nullptr && *cluster != '\0') {
    // A node of the Redis Cluster tests/support/redis_cluster.sh started.
    config.cluster = true;
    SplitHostPort(cluster, &config.host, &config.port);
    config.pool_size = 32;
    return config;
  }
  SplitHostPort(Required("LC_TEST_REDIS"), &config.host, &config.port);
  config.pool_size = 32;
  return config;
}

common::MysqlConfig TestMysqlConfig(const std::string& database) {
  common::MysqlConfig config;
  SplitHostPort(Required("LC_TEST_MYSQL"), &config.host, &config.port);
  config.database = database.empty() ? Required("LC_TEST_MYSQL_DATABASE") : database;
  config.pool_size = 16;
  return config;
}

std::string TestMigrationsDir() { return Required("LC_TEST_MIGRATIONS_DIR"); }

std::unique_ptr<common::RedisPool> ConnectTestRedis() {
  auto pool = common::RedisPool::Create(TestRedisConfig());
  if (!pool.ok()) {
    ADD_FAILURE() << "redis: " << pool.status();
    return nullptr;
  }
  auto flushed = (*pool)->Command({"FLUSHALL"});
  EXPECT_TRUE(flushed.ok()) << flushed.status();
  return *std::move(pool);
}

std::unique_ptr<common::MysqlPool> ConnectTestMysql(const std::vector<std::string>& tables) {
  auto pool = common::MysqlPool::Create(TestMysqlConfig());
  if (!pool.ok()) {
    ADD_FAILURE() << "mysql: " << pool.status();
    return nullptr;
  }
  auto services = common::MigrationServices(TestMigrationsDir());
  if (!services.ok()) {
    ADD_FAILURE() << services.status();
    return nullptr;
  }
  for (const std::string& service : *services) {
    auto migrations = common::LoadMigrations(TestMigrationsDir() + "/" + service);
    if (!migrations.ok()) {
      ADD_FAILURE() << migrations.status();
      return nullptr;
    }
    auto applied = common::ApplyMigrations(**pool, service, *migrations);
    EXPECT_TRUE(applied.ok()) << service << ": " << applied.status();
  }
  // Events and the consumer's record of them go with the rows they are about: a table emptied
  // here restarts its ids, and an event id remembered as applied would drop the next test's event
  // of the same id (an end-to-end test's report service consuming after this test, say).
  std::vector<std::string> emptied = tables;
  for (const char* report :
       {"report_consumed_events", "room_event_outbox", "order_event_outbox",
        "attribution_event_outbox", "report_sessions", "report_orders", "report_credits",
        "report_refunds", "report_session_sales", "report_session_buyers", "report_funnel_viewers",
        "report_session_funnel"}) {
    if (std::find(emptied.begin(), emptied.end(), report) == emptied.end()) {
      emptied.push_back(report);
    }
  }
  absl::Status cleaned = (*pool)->Run([&](common::MysqlConnection& c) {
    c.Execute("SET FOREIGN_KEY_CHECKS = 0");
    for (const std::string& table : emptied) {
      c.Execute("TRUNCATE TABLE " + table);
    }
    c.Execute("SET FOREIGN_KEY_CHECKS = 1");
    return absl::OkStatus();
  });
  EXPECT_TRUE(cleaned.ok()) << cleaned;
  return *std::move(pool);
}

}  // namespace livecommerce::testing
