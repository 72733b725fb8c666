#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "services/room/store/redis_presence_store.h"
#include "tests/support/test_env.h"

namespace livecommerce::room {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);

class PresenceStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = testing::ConnectTestRedis();
    ASSERT_NE(redis_, nullptr);
    store_ = std::make_unique<RedisPresenceStore>(*redis_, absl::Seconds(30));
    ASSERT_TRUE(store_->LoadScripts().ok());
  }
  std::unique_ptr<common::RedisPool> redis_;
  std::unique_ptr<RedisPresenceStore> store_;
  PresenceSession session_{101, 8};
};

TEST_F(PresenceStoreTest, ConcurrentJoinsCountExactly) {
  constexpr int kThreads = 8;
  constexpr int kViewersPerThread = 500;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kViewersPerThread; ++i) {
        std::string viewer = "v" + std::to_string(t * kViewersPerThread + i);
        // Every viewer joins from a phone; every fifth also from a tablet, from another thread's
        // point of view at the same time.
        if (!store_->Join(session_, viewer, "phone", kT0).ok()) ++failures;
        if (i % 5 == 0 && !store_->Join(session_, viewer, "tablet", kT0).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  auto counts = store_->Counts(session_, kT0);
  ASSERT_TRUE(counts.ok()) << counts.status();
  constexpr int kViewers = kThreads * kViewersPerThread;
  EXPECT_EQ(counts->concurrent, kViewers);  // exact: the second device does not count
  EXPECT_EQ(counts->joins, kViewers);
  EXPECT_NEAR(static_cast<double>(counts->reach), kViewers, kViewers * 0.03);  // HyperLogLog
  EXPECT_EQ(counts->peak, kViewers);
}

TEST_F(PresenceStoreTest, ViewersWhoStopHeartbeatingDropOut) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store_->Join(session_, "v" + std::to_string(i), "d", kT0).ok());
  }
  // A sample while all ten are present records the peak.
  EXPECT_EQ(store_->Counts(session_, kT0)->peak, 10);
  absl::Time t1 = kT0 + absl::Seconds(20);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(*store_->Heartbeat(session_, "v" + std::to_string(i), "d", t1));
  }
  absl::Time t2 = kT0 + absl::Seconds(35);  // the six silent viewers are past the 30 s window
  auto counts = store_->Counts(session_, t2);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->concurrent, 4);
  EXPECT_EQ(counts->reach, 10);
  // An expired device must join again.
  EXPECT_FALSE(*store_->Heartbeat(session_, "v9", "d", t2));
  EXPECT_TRUE(*store_->Heartbeat(session_, "v0", "d", t2));
  // Rejoining counts as a new arrival, not as a new unique viewer.
  EXPECT_TRUE(*store_->Join(session_, "v9", "d", t2));
  counts = store_->Counts(session_, t2);
  EXPECT_EQ(counts->concurrent, 5);
  EXPECT_EQ(counts->joins, 11);
  EXPECT_EQ(counts->reach, 10);
  EXPECT_EQ(counts->peak, 10);
}

TEST_F(PresenceStoreTest, OneViewerOnTwoDevicesLeavesWhenBothLeave) {
  EXPECT_TRUE(*store_->Join(session_, "alice", "phone", kT0));
  EXPECT_FALSE(*store_->Join(session_, "alice", "laptop", kT0));  // already present
  EXPECT_EQ(store_->Counts(session_, kT0)->concurrent, 1);
  ASSERT_TRUE(store_->Leave(session_, "alice", "phone", kT0).ok());
  EXPECT_EQ(store_->Counts(session_, kT0)->concurrent, 1);
  EXPECT_FALSE(*store_->Heartbeat(session_, "alice", "phone", kT0));
  EXPECT_TRUE(*store_->Heartbeat(session_, "alice", "laptop", kT0));
  ASSERT_TRUE(store_->Leave(session_, "alice", "laptop", kT0).ok());
  EXPECT_EQ(store_->Counts(session_, kT0)->concurrent, 0);
  EXPECT_EQ(store_->Counts(session_, kT0)->joins, 1);
}

TEST_F(PresenceStoreTest, BatchAppliesHeartbeatsAndLeaves) {
  ASSERT_TRUE(store_->Join(session_, "a", "d", kT0).ok());
  ASSERT_TRUE(store_->Join(session_, "b", "d", kT0).ok());
  absl::Time t1 = kT0 + absl::Seconds(25);
  auto applied = store_->Apply({{session_, "a", "d", PresenceOp::Kind::kHeartbeat},
                                {session_, "b", "d", PresenceOp::Kind::kLeave},
                                {session_, "ghost", "d", PresenceOp::Kind::kHeartbeat}},
                               t1);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(store_->Counts(session_, kT0 + absl::Seconds(40))->concurrent, 1);
}

// Watch time is each viewer's stay from arriving to their last heartbeat or leave, counted once
// whatever the devices do. Expected figures worked out by hand, per viewer.
TEST_F(PresenceStoreTest, WatchTimeCountsEachStayOnce) {
  auto at = [](int seconds) { return kT0 + absl::Seconds(seconds); };
  // v1: joins at 0, heartbeats at 10 and 20, leaves at 25: 25 s.
  ASSERT_TRUE(store_->Join(session_, "v1", "phone", at(0)).ok());
  ASSERT_TRUE(*store_->Heartbeat(session_, "v1", "phone", at(10)));
  ASSERT_TRUE(*store_->Heartbeat(session_, "v1", "phone", at(20)));
  ASSERT_TRUE(store_->Leave(session_, "v1", "phone", at(25)).ok());
  // A leave repeated (a retry) adds nothing.
  ASSERT_TRUE(store_->Leave(session_, "v1", "phone", at(26)).ok());
  // v2: joins at 5, heartbeats at 15, then goes silent: 10 s.
  ASSERT_TRUE(store_->Join(session_, "v2", "phone", at(5)).ok());
  ASSERT_TRUE(*store_->Heartbeat(session_, "v2", "phone", at(15)));
  // v3: phone at 0, tablet joins at 8, phone leaves at 12, tablet heartbeats at 20 and leaves at
  // 30: one stay of 30 s, the overlap counted once.
  ASSERT_TRUE(store_->Join(session_, "v3", "phone", at(0)).ok());
  ASSERT_TRUE(store_->Join(session_, "v3", "tablet", at(8)).ok());
  ASSERT_TRUE(store_->Leave(session_, "v3", "phone", at(12)).ok());
  ASSERT_TRUE(*store_->Heartbeat(session_, "v3", "tablet", at(20)));
  ASSERT_TRUE(store_->Leave(session_, "v3", "tablet", at(30)).ok());
  // v4: joins at 0 and is silent past the 30 s window (0 s), joins again at 40 and heartbeats at
  // 50: 10 s.
  ASSERT_TRUE(store_->Join(session_, "v4", "phone", at(0)).ok());
  ASSERT_TRUE(*store_->Join(session_, "v4", "phone", at(40)));
  ASSERT_TRUE(*store_->Heartbeat(session_, "v4", "phone", at(50)));
  // v5: joins at 0, heartbeats at 10, a late heartbeat stamped 8 (adds nothing), heartbeats at 20
  // through a batch: 20 s.
  ASSERT_TRUE(store_->Join(session_, "v5", "phone", at(0)).ok());
  ASSERT_TRUE(*store_->Heartbeat(session_, "v5", "phone", at(10)));
  ASSERT_TRUE(*store_->Heartbeat(session_, "v5", "phone", at(8)));
  auto applied = store_->Apply({{session_, "v5", "phone", PresenceOp::Kind::kHeartbeat}}, at(20));
  ASSERT_TRUE(applied.ok()) << applied.status();
  auto counts = store_->Counts(session_, at(60));
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->watch_ms, (25 + 10 + 30 + 10 + 20) * 1000);
  EXPECT_EQ(counts->joins, 6);  // v4 arrived twice
}

TEST_F(PresenceStoreTest, SurvivesScriptFlush) {
  ASSERT_TRUE(store_->Join(session_, "a", "d", kT0).ok());
  ASSERT_TRUE(redis_->Command({"SCRIPT", "FLUSH"}).ok());
  EXPECT_TRUE(*store_->Heartbeat(session_, "a", "d", kT0));
}

TEST_F(PresenceStoreTest, SessionsAreIndependent) {
  PresenceSession other{202, 4};
  ASSERT_TRUE(store_->Join(session_, "a", "d", kT0).ok());
  ASSERT_TRUE(store_->Join(other, "b", "d", kT0).ok());
  ASSERT_TRUE(store_->Join(other, "c", "d", kT0).ok());
  EXPECT_EQ(store_->Counts(session_, kT0)->concurrent, 1);
  EXPECT_EQ(store_->Counts(other, kT0)->concurrent, 2);
}

TEST_F(PresenceStoreTest, RetireSetsExpiry) {
  ASSERT_TRUE(store_->Join(session_, "a", "d", kT0).ok());
  ASSERT_TRUE(store_->Counts(session_, kT0).ok());
  ASSERT_TRUE(store_->Retire(session_, absl::Seconds(60)).ok());
  int bucket = PresenceBucket("a", session_.buckets);
  auto ttl = redis_->Command({"TTL", "lc:{ses:101:" + std::to_string(bucket) + "}:conn"});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 60);
}

}  // namespace
}  // namespace livecommerce::room
