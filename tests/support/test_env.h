#pragma once

#include <memory>
#include <string>
#include <vector>

#include "services/common/config.h"
#include "services/common/mysql_client.h"
#include "services/common/redis_client.h"

namespace livecommerce::testing {

// The servers scripts/test started: LC_TEST_REDIS and LC_TEST_MYSQL (host:port),
// LC_TEST_MYSQL_DATABASE, LC_TEST_MIGRATIONS_DIR. A missing variable fails the test (never skips).
// With LC_TEST_REDIS_CLUSTER (host:port of one node) the Redis pools run in cluster mode there
// instead (FLUSHALL then goes to every master).
common::RedisConfig TestRedisConfig();
common::MysqlConfig TestMysqlConfig(const std::string& database = "");
std::string TestMigrationsDir();

std::unique_ptr<common::RedisPool> ConnectTestRedis();
// Connects to the test database, applies the migrations and empties `tables`.
std::unique_ptr<common::MysqlPool> ConnectTestMysql(const std::vector<std::string>& tables);

}  // namespace livecommerce::testing
