// The pure parts of Redis Cluster routing: key slots, command routes, redirections, slot maps.
#include "services/common/redis_cluster.h"

#include "gtest/gtest.h"

namespace livecommerce::common {
namespace {

TEST(RedisClusterTest, Crc16MatchesTheXmodemCheckValue) {
  EXPECT_EQ(Crc16Xmodem("123456789"), 0x31C3);
  EXPECT_EQ(Crc16Xmodem(""), 0);
}

TEST(RedisClusterTest, KeySlotsMatchRedis) {
  // Values as CLUSTER KEYSLOT answers them.
  EXPECT_EQ(KeySlot("foo"), 12182);
  EXPECT_EQ(KeySlot("bar"), 5061);
  EXPECT_EQ(KeySlot("123456789"), 12739);
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("{user1000}.followers"));
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
  // Only the first {...} counts, and an empty one means the whole key.
  EXPECT_EQ(KeySlot("foo{bar}{zap}"), KeySlot("bar"));
  EXPECT_EQ(KeySlot("foo{{bar}}zap"), KeySlot("{bar"));
  EXPECT_EQ(KeySlot("foo{}{bar}"), Crc16Xmodem("foo{}{bar}") % 16384);
  EXPECT_EQ(KeySlot("foo{bar"), Crc16Xmodem("foo{bar") % 16384);
}

TEST(RedisClusterTest, ProjectKeysOfOneTagShareASlot) {
  // The keys one script call touches: a presence bucket, a flash stock bucket, a cart.
  EXPECT_EQ(KeySlot("lc:{ses:101:3}:conn"), KeySlot("lc:{ses:101:3}:watch"));
  EXPECT_EQ(KeySlot("lc:{fs:7:0}:avail"), KeySlot("lc:{fs:7:0}:exp"));
  EXPECT_EQ(KeySlot("lc:{cart:maison:b1}:items"), KeySlot("cart:maison:b1"));
}

TEST(RedisClusterTest, CommandsRouteByTheirKey) {
  // The route's key points into the command.
  const std::vector<std::string> get_command = {"GET", "lc:{t}:k"};
  RedisCommandRoute get = RouteOf(get_command);
  EXPECT_EQ(get.kind, RedisCommandRoute::Kind::kKey);
  EXPECT_EQ(get.key, "lc:{t}:k");
  const std::vector<std::string> eval_command = {"EVALSHA",           "abc", "2",
                                                 "lc:{fs:1:0}:avail", "x",   "arg"};
  RedisCommandRoute eval = RouteOf(eval_command);
  EXPECT_EQ(eval.kind, RedisCommandRoute::Kind::kKey);
  EXPECT_EQ(eval.key, "lc:{fs:1:0}:avail");
  EXPECT_EQ(RouteOf({"EVAL", "return 1", "0"}).kind, RedisCommandRoute::Kind::kAnyNode);
  EXPECT_EQ(RouteOf({"ping"}).kind, RedisCommandRoute::Kind::kAnyNode);
  EXPECT_EQ(RouteOf({"CLIENT", "ID"}).kind, RedisCommandRoute::Kind::kAnyNode);
  EXPECT_EQ(RouteOf({"FLUSHALL"}).kind, RedisCommandRoute::Kind::kEveryMaster);
  EXPECT_EQ(RouteOf({"script", "load", "return 1"}).kind, RedisCommandRoute::Kind::kEveryMaster);
}

TEST(RedisClusterTest, ParsesRedirections) {
  auto moved = ParseRedirect("redis: MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->kind, RedisRedirect::Kind::kMoved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->address.host, "127.0.0.1");
  EXPECT_EQ(moved->address.port, 6381);
  auto ask = ParseRedirect("ASK 12182 redis-2.local:7002");
  ASSERT_TRUE(ask.has_value());
  EXPECT_EQ(ask->kind, RedisRedirect::Kind::kAsk);
  EXPECT_EQ(ask->address.host, "redis-2.local");
  EXPECT_EQ(ask->address.port, 7002);
  EXPECT_FALSE(ParseRedirect("redis: ERR unknown command").has_value());
  EXPECT_FALSE(ParseRedirect("MOVED 99999 127.0.0.1:6381").has_value());
  EXPECT_FALSE(ParseRedirect("MOVED 1 127.0.0.1").has_value());
  EXPECT_FALSE(ParseRedirect("NOSCRIPT No matching script").has_value());
  EXPECT_TRUE(IsTransientClusterError("redis: TRYAGAIN Multiple keys request during rehashing"));
  EXPECT_TRUE(IsTransientClusterError("CLUSTERDOWN The cluster is down"));
  EXPECT_FALSE(IsTransientClusterError("redis: ERR wrong number of arguments"));
}

RedisValue Int(int64_t v) {
  RedisValue value;
  value.type = RedisValue::Type::kInteger;
  value.integer = v;
  return value;
}

RedisValue Str(const std::string& s) {
  RedisValue value;
  value.type = RedisValue::Type::kString;
  value.str = s;
  return value;
}

RedisValue Arr(std::vector<RedisValue> elements) {
  RedisValue value;
  value.type = RedisValue::Type::kArray;
  value.elements = std::move(elements);
  return value;
}

TEST(RedisClusterTest, ParsesClusterSlots) {
  // Two ranges on one master, one on another announced without an address, each with a replica.
  RedisValue reply = Arr({
      Arr({Int(0), Int(5460), Arr({Str("127.0.0.1"), Int(7000), Str("id0")}),
           Arr({Str("127.0.0.1"), Int(7003), Str("id3")})}),
      Arr({Int(5461), Int(10922), Arr({Str(""), Int(7001), Str("id1")})}),
      Arr({Int(10923), Int(16383), Arr({Str("127.0.0.1"), Int(7000), Str("id0")})}),
  });
  auto map = ParseClusterSlots(reply, "10.1.1.1");
  ASSERT_TRUE(map.ok()) << map.status();
  ASSERT_EQ(map->masters.size(), 2u);
  EXPECT_EQ(map->masters[0].port, 7000);
  EXPECT_EQ(map->masters[1].host, "10.1.1.1");
  EXPECT_EQ(map->owner[0], 0);
  EXPECT_EQ(map->owner[5460], 0);
  EXPECT_EQ(map->owner[5461], 1);
  EXPECT_EQ(map->owner[10922], 1);
  EXPECT_EQ(map->owner[16383], 0);
}

TEST(RedisClusterTest, SlotsNobodyServesStayUnowned) {
  RedisValue reply = Arr({Arr({Int(0), Int(99), Arr({Str("127.0.0.1"), Int(7000)})})});
  auto map = ParseClusterSlots(reply, "127.0.0.1");
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->owner[99], 0);
  EXPECT_EQ(map->owner[100], -1);
  EXPECT_FALSE(
      ParseClusterSlots(Arr({Arr({Int(0), Int(16384), Arr({Str("h"), Int(1)})})}), "h").ok());
  EXPECT_FALSE(ParseClusterSlots(Str("nope"), "h").ok());
}

}  // namespace
}  // namespace livecommerce::common
