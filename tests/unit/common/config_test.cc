#include "services/common/config.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace livecommerce::common {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void TearDown() override {
    unsetenv("LC_TEST_VALUE");
    unsetenv("LC_REDIS_PORT");
    unsetenv("LC_REDIS_CLUSTER");
    unsetenv("LC_REDIS_NODES");
    unsetenv("LC_REDIS_DB");
    unsetenv("LC_MYSQL_DATABASE");
    for (const char* name :
         {"LC_MYSQL_REPLICA_HOST", "LC_MYSQL_REPLICA_PORT", "LC_MYSQL_REPLICA_POOL_SIZE"}) {
      unsetenv(name);
    }
  }
};

TEST_F(ConfigTest, UnsetVariableGivesDefault) {
  unsetenv("LC_TEST_VALUE");
  EXPECT_EQ(EnvString("LC_TEST_VALUE", "fallback"), "fallback");
  EXPECT_EQ(*EnvInt("LC_TEST_VALUE", 42, 0, 100), 42);
  EXPECT_TRUE(*EnvBool("LC_TEST_VALUE", true));
}

TEST_F(ConfigTest, ParsesSetValues) {
  setenv("LC_TEST_VALUE", "77", 1);
  EXPECT_EQ(*EnvInt("LC_TEST_VALUE", 42, 0, 100), 77);
  EXPECT_EQ(*EnvMillis("LC_TEST_VALUE", 5, 0, 100), absl::Milliseconds(77));
  setenv("LC_TEST_VALUE", "off", 1);
  EXPECT_FALSE(*EnvBool("LC_TEST_VALUE", true));
}

TEST_F(ConfigTest, MalformedValueNamesTheVariable) {
  setenv("LC_TEST_VALUE", "seven", 1);
  absl::StatusOr<int64_t> value = EnvInt("LC_TEST_VALUE", 42, 0, 100);
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(value.status().message().find("LC_TEST_VALUE"), absl::string_view::npos);
  EXPECT_FALSE(EnvBool("LC_TEST_VALUE", true).ok());
}

TEST_F(ConfigTest, OutOfRangeValueIsRefused) {
  setenv("LC_TEST_VALUE", "101", 1);
  EXPECT_FALSE(EnvInt("LC_TEST_VALUE", 42, 0, 100).ok());
  setenv("LC_TEST_VALUE", "-1", 1);
  EXPECT_FALSE(EnvInt("LC_TEST_VALUE", 42, 0, 100).ok());
}

TEST_F(ConfigTest, RedisConfigReportsBadPort) {
  setenv("LC_REDIS_PORT", "70000", 1);
  absl::StatusOr<RedisConfig> config = LoadRedisConfig();
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("LC_REDIS_PORT"), absl::string_view::npos);
}

TEST_F(ConfigTest, RedisClusterSeedNodes) {
  absl::StatusOr<RedisConfig> single = LoadRedisConfig();
  ASSERT_TRUE(single.ok());
  EXPECT_FALSE(single->cluster);
  setenv("LC_REDIS_CLUSTER", "true", 1);
  setenv("LC_REDIS_NODES", "10.0.0.1:7000, redis-1.local:7001", 1);
  absl::StatusOr<RedisConfig> config = LoadRedisConfig();
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->cluster);
  ASSERT_EQ(config->cluster_nodes.size(), 2u);
  EXPECT_EQ(config->cluster_nodes[1].host, "redis-1.local");
  EXPECT_EQ(config->cluster_nodes[1].port, 7001);
  setenv("LC_REDIS_NODES", "10.0.0.1", 1);
  config = LoadRedisConfig();
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("LC_REDIS_NODES"), absl::string_view::npos);
  setenv("LC_REDIS_NODES", "10.0.0.1:7000", 1);
  setenv("LC_REDIS_DB", "2", 1);
  EXPECT_FALSE(LoadRedisConfig().ok());  // a cluster has database 0 only
  unsetenv("LC_REDIS_DB");
  setenv("LC_REDIS_CLUSTER", "false", 1);
  EXPECT_FALSE(LoadRedisConfig().ok());  // seed nodes without cluster mode: a mistake
}

TEST_F(ConfigTest, MysqlDefaultsAreLocal) {
  absl::StatusOr<MysqlConfig> config = LoadMysqlConfig();
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->host, "127.0.0.1");
  EXPECT_EQ(config->port, 3307);
  setenv("LC_MYSQL_DATABASE", "", 1);
  EXPECT_FALSE(LoadMysqlConfig().ok());
}

TEST_F(ConfigTest, AReplicaOnlyWhenItsHostIsSet) {
  MysqlConfig primary;
  primary.port = 3307;
  primary.pool_size = 8;
  primary.database = "shop";
  absl::StatusOr<std::optional<MysqlConfig>> none = LoadMysqlReplicaConfig(primary);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  setenv("LC_MYSQL_REPLICA_HOST", "10.0.0.7", 1);
  absl::StatusOr<std::optional<MysqlConfig>> same_port = LoadMysqlReplicaConfig(primary);
  ASSERT_TRUE(same_port.ok() && same_port->has_value());
  EXPECT_EQ((*same_port)->host, "10.0.0.7");
  EXPECT_EQ((*same_port)->port, 3307);
  EXPECT_EQ((*same_port)->pool_size, 8);
  EXPECT_EQ((*same_port)->database, "shop");  // the rest as for the primary
  setenv("LC_MYSQL_REPLICA_PORT", "3310", 1);
  setenv("LC_MYSQL_REPLICA_POOL_SIZE", "4", 1);
  absl::StatusOr<std::optional<MysqlConfig>> own = LoadMysqlReplicaConfig(primary);
  ASSERT_TRUE(own.ok() && own->has_value());
  EXPECT_EQ((*own)->port, 3310);
  EXPECT_EQ((*own)->pool_size, 4);
  setenv("LC_MYSQL_REPLICA_PORT", "none", 1);
  absl::StatusOr<std::optional<MysqlConfig>> bad = LoadMysqlReplicaConfig(primary);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("LC_MYSQL_REPLICA_PORT"), absl::string_view::npos);
}

}  // namespace
}  // namespace livecommerce::common
