#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "services/common/redis_batcher.h"
#include "services/common/redis_client.h"
#include "tests/support/test_env.h"

namespace livecommerce::common {
namespace {

const RedisScript kIncrBy(R"lua(return redis.call('INCRBY', KEYS[1], ARGV[1]))lua");

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = testing::ConnectTestRedis();
    ASSERT_NE(redis_, nullptr);
  }
  std::unique_ptr<RedisPool> redis_;
};

TEST_F(RedisClientTest, CommandsAndReplyTypes) {
  ASSERT_TRUE(redis_->Command({"SET", "lc:{t}:k", "v"}).ok());
  auto value = redis_->Command({"GET", "lc:{t}:k"});
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->type, RedisValue::Type::kString);
  EXPECT_EQ(value->str, "v");
  EXPECT_TRUE(redis_->Command({"GET", "lc:{t}:missing"})->is_nil());
  auto list = redis_->Command({"MGET", "lc:{t}:k", "lc:{t}:missing"});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->elements.size(), 2u);
  EXPECT_TRUE(list->elements[1].is_nil());
}

TEST_F(RedisClientTest, ErrorReplyIsAStatus) {
  ASSERT_TRUE(redis_->Command({"SET", "lc:{t}:s", "text"}).ok());
  auto result = redis_->Command({"INCR", "lc:{t}:s"});
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
}

TEST_F(RedisClientTest, PipelineKeepsOrderAndPerCommandErrors) {
  auto results = redis_->Pipeline({{"SET", "lc:{t}:a", "1"},
                                   {"INCR", "lc:{t}:a"},
                                   {"HSET", "lc:{t}:a", "f", "v"},
                                   {"GET", "lc:{t}:a"}});
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 4u);
  EXPECT_EQ((*results)[1]->integer, 2);
  EXPECT_FALSE((*results)[2].ok());  // WRONGTYPE
  EXPECT_EQ((*results)[3]->str, "2");
}

TEST_F(RedisClientTest, ScriptsReloadAfterScriptFlush) {
  ASSERT_TRUE(redis_->LoadScripts({&kIncrBy}).ok());
  EXPECT_EQ(redis_->Eval(kIncrBy, {"lc:{t}:n"}, {"5"})->integer, 5);
  ASSERT_TRUE(redis_->Command({"SCRIPT", "FLUSH"}).ok());
  auto result = redis_->Eval(kIncrBy, {"lc:{t}:n"}, {"5"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->integer, 10);
  ASSERT_TRUE(redis_->Command({"SCRIPT", "FLUSH"}).ok());
  auto many = redis_->EvalMany(kIncrBy, {{{"lc:{t}:n"}, {"1"}}, {{"lc:{t}:n"}, {"1"}}});
  ASSERT_TRUE(many.ok());
  EXPECT_EQ((*many)[1]->integer, 12);
}

TEST_F(RedisClientTest, ReconnectsAfterTheServerDropsConnections) {
  ASSERT_TRUE(redis_->Command({"SET", "lc:{t}:r", "1"}).ok());
  // Drop every other client connection, as a server restart or failover would.
  auto killer = RedisPool::Create(testing::TestRedisConfig());
  ASSERT_TRUE(killer.ok());
  auto id = (*killer)->Command({"CLIENT", "ID"});
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE((*killer)->Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}).ok());
  auto value = redis_->Command({"GET", "lc:{t}:r"});
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->str, "1");
}

TEST_F(RedisClientTest, UnreachableServerIsUnavailable) {
  RedisConfig config = testing::TestRedisConfig();
  config.port = 1;  // nothing listens there
  config.connect_timeout = absl::Milliseconds(200);
  auto pool = RedisPool::Create(config);
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(RedisClientTest, PoolIsSafeAcrossThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (!redis_->Eval(kIncrBy, {"lc:{t}:shared"}, {"1"}).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(redis_->Command({"GET", "lc:{t}:shared"})->str, "1600");
}

TEST_F(RedisClientTest, BatcherAnswersEveryCallOnceAndKeepsEachResult) {
  RedisScriptBatcher batcher(*redis_);
  const RedisScript failing(R"lua(return redis.error_reply('refused ' .. ARGV[1]))lua");
  std::mutex mu;
  std::condition_variable done;
  int answered = 0, failed = 0;
  std::set<int64_t> seen;
  constexpr int kCalls = 4000;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kCalls; i += 8) {
        const RedisScript& script = i % 100 == 0 ? failing : kIncrBy;
        batcher.Eval(script, RedisScriptCall{{"lc:{t}:batched"}, {"1"}},
                     [&](absl::StatusOr<RedisValue> v) {
                       std::lock_guard<std::mutex> lock(mu);
                       if (v.ok()) {
                         seen.insert(v->integer);
                       } else {
                         ++failed;
                       }
                       if (++answered == kCalls) done.notify_all();
                     });
      }
    });
  }
  for (auto& t : threads) t.join();
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(done.wait_for(lock, std::chrono::seconds(30), [&] { return answered == kCalls; }));
  EXPECT_EQ(failed, kCalls / 100);
  // Every successful call saw its own increment: all values 1..N, each once.
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCalls - kCalls / 100));
  EXPECT_EQ(*seen.rbegin(), kCalls - kCalls / 100);
}

}  // namespace
}  // namespace livecommerce::common
