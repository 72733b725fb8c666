// RedisPool in cluster mode against the real 3-master, 3-replica Redis Cluster that
// tests/integration/redis_cluster_test.sh starts (LC_TEST_REDIS_CLUSTER): pipelines split over
// the masters, ASK during a slot migration, MOVED after it, and a flash sale that goes on while a
// master fails over to its replica without overselling or losing an acknowledged reservation.
#include <atomic>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "services/catalog/store/redis_flash_stock_store.h"
#include "services/common/redis_client.h"
#include "services/common/redis_cluster.h"
#include "tests/support/test_env.h"

namespace livecommerce {
namespace {

using common::RedisConfig;
using common::RedisPool;
using common::RedisValue;

bool PollUntil(const std::function<bool()>& done, absl::Duration limit) {
  absl::Time deadline = absl::Now() + limit;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

// A plain connection to one node, for administration (no routing).
std::unique_ptr<RedisPool> Admin(const std::string& host, int port) {
  RedisConfig config;
  config.host = host;
  config.port = port;
  config.pool_size = 2;
  config.command_timeout = absl::Seconds(5);
  auto pool = RedisPool::Create(config);
  return pool.ok() ? *std::move(pool) : nullptr;
}

struct SlotOwner {
  std::string master;  // host:port
  std::string master_id;
  std::string replica;  // host:port, empty when none is listed
};

// Who serves `slot`, as `node` sees it.
std::optional<SlotOwner> OwnerOf(RedisPool& node, int slot) {
  auto slots = node.Command({"CLUSTER", "SLOTS"});
  if (!slots.ok()) return std::nullopt;
  for (const RedisValue& range : slots->elements) {
    if (range.elements.size() < 3 || slot < range.elements[0].integer ||
        slot > range.elements[1].integer) {
      continue;
    }
    SlotOwner owner;
    const RedisValue& master = range.elements[2];
    owner.master = absl::StrCat(master.elements[0].str, ":", master.elements[1].integer);
    owner.master_id = master.elements.size() > 2 ? master.elements[2].str : "";
    if (range.elements.size() > 3) {
      const RedisValue& replica = range.elements[3];
      owner.replica = absl::StrCat(replica.elements[0].str, ":", replica.elements[1].integer);
    }
    return owner;
  }
  return std::nullopt;
}

std::unique_ptr<RedisPool> AdminAt(const std::string& address) {
  std::vector<std::string> parts = absl::StrSplit(address, ':');
  int port = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &port)) return nullptr;
  return Admin(parts[0], port);
}

std::string InfoField(RedisPool& node, const std::string& section, const std::string& field) {
  auto info = node.Command({"INFO", section});
  if (!info.ok()) return "";
  for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
    if (absl::ConsumePrefix(&line, field + ":")) return std::string(line);
  }
  return "";
}

class RedisClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::TestRedisConfig();
    ASSERT_TRUE(config_.cluster) << "LC_TEST_REDIS_CLUSTER is not set: run "
                                    "tests/integration/redis_cluster_test.sh";
    // Long enough to ride out a manual failover's pause of writes.
    config_.command_timeout = absl::Seconds(5);
    redis_ = testing::ConnectTestRedis();
    ASSERT_NE(redis_, nullptr);
    seed_ = Admin(config_.host, config_.port);
    ASSERT_NE(seed_, nullptr);
  }

  // The masters (host:port), as the seed node sees them.
  std::set<std::string> Masters() {
    std::set<std::string> masters;
    for (int slot = 0; slot < common::kRedisClusterSlots; slot += 512) {
      std::optional<SlotOwner> owner = OwnerOf(*seed_, slot);
      if (owner.has_value()) masters.insert(owner->master);
    }
    return masters;
  }
  bool Serves(int slot, const std::string& master) {
    std::optional<SlotOwner> owner = OwnerOf(*seed_, slot);
    return owner.has_value() && owner->master == master;
  }

  RedisConfig config_;
  std::unique_ptr<RedisPool> redis_;
  std::unique_ptr<RedisPool> seed_;
};

TEST_F(RedisClusterTest, PipelinesAreSplitByNodeAndAnsweredInOrder) {
  std::vector<std::vector<std::string>> writes;
  std::vector<std::vector<std::string>> reads;
  for (int i = 0; i < 300; ++i) {
    writes.push_back({"SET", absl::StrCat("lc:{k", i, "}"), absl::StrCat("v", i)});
    reads.push_back({"GET", absl::StrCat("lc:{k", i, "}")});
    reads.push_back({"INCR", absl::StrCat("lc:{n", i, "}")});
  }
  auto written = redis_->Pipeline(writes);
  ASSERT_TRUE(written.ok()) << written.status();
  for (const auto& w : *written) ASSERT_TRUE(w.ok()) << w.status();
  auto read = redis_->Pipeline(reads);
  ASSERT_TRUE(read.ok()) << read.status();
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE((*read)[2 * i].ok()) << (*read)[2 * i].status();
    EXPECT_EQ((*read)[2 * i]->str, absl::StrCat("v", i));
    EXPECT_EQ((*read)[2 * i + 1]->integer, 1);
  }
  // The keys really are spread: every master holds some.
  std::set<std::string> masters = Masters();
  ASSERT_EQ(masters.size(), 3u);
  for (const std::string& master : masters) {
    auto node = AdminAt(master);
    ASSERT_NE(node, nullptr);
    EXPECT_GT(node->Command({"DBSIZE"})->integer, 0) << master;
  }
}

TEST_F(RedisClusterTest, FollowsAskDuringASlotMigrationAndMovedAfterIt) {
  const std::string key = "lc:{migrating}:k";
  const int slot = common::KeySlot(key);
  std::optional<SlotOwner> owner = OwnerOf(*seed_, slot);
  ASSERT_TRUE(owner.has_value());
  // The target: another master.
  std::set<std::string> masters = Masters();
  ASSERT_EQ(masters.size(), 3u);
  std::string target;
  for (const std::string& m : masters) {
    if (m != owner->master) target = m;
  }
  auto source = AdminAt(owner->master);
  auto destination = AdminAt(target);
  ASSERT_NE(source, nullptr);
  ASSERT_NE(destination, nullptr);
  std::string target_id = destination->Command({"CLUSTER", "MYID"})->str;
  std::string source_id = source->Command({"CLUSTER", "MYID"})->str;
  std::string s = absl::StrCat(slot);
  ASSERT_TRUE(destination->Command({"CLUSTER", "SETSLOT", s, "IMPORTING", source_id}).ok());
  ASSERT_TRUE(source->Command({"CLUSTER", "SETSLOT", s, "MIGRATING", target_id}).ok());
  // The key is not on the source: it answers ASK, and the client must ask the target with ASKING.
  auto direct = source->Command({"SET", key, "x"});
  ASSERT_FALSE(direct.ok());
  EXPECT_TRUE(absl::StrContains(direct.status().message(), "ASK")) << direct.status();
  ASSERT_TRUE(redis_->Command({"SET", key, "moved-in"}).ok());
  EXPECT_EQ(redis_->Command({"GET", key})->str, "moved-in");
  // Finish the migration on every master; the client's map is now stale and MOVED sets it right.
  for (const std::string& master : {target, owner->master}) {
    ASSERT_TRUE(AdminAt(master)->Command({"CLUSTER", "SETSLOT", s, "NODE", target_id}).ok());
  }
  for (const std::string& master : masters) {
    ASSERT_TRUE(AdminAt(master)->Command({"CLUSTER", "SETSLOT", s, "NODE", target_id}).ok());
  }
  ASSERT_TRUE(PollUntil([&] { return Serves(slot, target); }, absl::Seconds(5)));
  auto value = redis_->Command({"GET", key});
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->str, "moved-in");
  auto incr = redis_->Pipeline({{"INCR", "lc:{migrating}:n"}, {"INCR", "lc:{other}:n"}});
  ASSERT_TRUE(incr.ok());
  EXPECT_EQ((*incr)[0]->integer, 1);
  EXPECT_EQ((*incr)[1]->integer, 1);
  // Give the slot back, so the layout stays even for the next tests.
  ASSERT_TRUE(destination->Command({"DEL", key, "lc:{migrating}:n"}).ok());
  for (const std::string& master : masters) {
    ASSERT_TRUE(AdminAt(master)->Command({"CLUSTER", "SETSLOT", s, "NODE", source_id}).ok());
  }
  ASSERT_TRUE(PollUntil([&] { return Serves(slot, owner->master); }, absl::Seconds(5)));
}

TEST_F(RedisClusterTest, ScriptsAreReloadedOnTheNodeThatLostThem) {
  const common::RedisScript incr(R"lua(return redis.call('INCRBY', KEYS[1], ARGV[1]))lua");
  std::vector<common::RedisScriptCall> calls;
  for (int i = 0; i < 30; ++i) calls.push_back({{absl::StrCat("lc:{s", i, "}")}, {"2"}});
  ASSERT_TRUE(redis_->LoadScripts({&incr}).ok());
  // One master forgets its scripts (as after a restart or a failover to a fresh replica).
  auto one = AdminAt(OwnerOf(*seed_, 0)->master);
  ASSERT_TRUE(one->Command({"SCRIPT", "FLUSH"}).ok());
  auto results = redis_->EvalMany(incr, calls);
  ASSERT_TRUE(results.ok()) << results.status();
  for (const auto& r : *results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->integer, 2);
  }
}

// A flash sale of kUnits units over 16 buckets (spread over the three masters) with many buyers
// reserving and a third of them confirming; meanwhile the master of bucket 0 hands over to its
// replica (CLUSTER FAILOVER: coordinated, the replica catches up before it takes over, so no
// acknowledged write is lost). Afterwards exactly kUnits are reserved, each acknowledged
// reservation is in Redis, and each acknowledged confirmation is confirmed there. Buyers come at a
// steady pace until the failover is over, and stop at two thirds of the stock until then, so the
// sale is under way before, during and after it.
TEST_F(RedisClusterTest, FlashSaleSurvivesAMasterFailover) {
  constexpr int64_t kUnits = 900;
  constexpr int kBuyers = 3600;
  constexpr int kThreads = 16;
  auto pool = RedisPool::Create(config_);
  ASSERT_TRUE(pool.ok()) << pool.status();
  catalog::RedisFlashStockStore store(**pool);
  ASSERT_TRUE(store.LoadScripts().ok());
  const catalog::StockLayout layout{42, 16};
  catalog::StockSnapshot snapshot;
  snapshot.available = kUnits;
  ASSERT_TRUE(store.Load(layout, snapshot).ok());

  const int slot = common::KeySlot("lc:{fs:42:0}:avail");
  std::optional<SlotOwner> before;
  ASSERT_TRUE(PollUntil(
      [&] {
        before = OwnerOf(*seed_, slot);
        return before.has_value() && !before->replica.empty();
      },
      absl::Seconds(10)));
  auto replica = AdminAt(before->replica);
  ASSERT_NE(replica, nullptr);
  ASSERT_TRUE(
      PollUntil([&] { return InfoField(*replica, "replication", "master_link_status") == "up"; },
                absl::Seconds(10)));

  const absl::Time t0 = absl::Now();
  const absl::Time expiry = t0 + absl::Hours(1);
  std::mutex mu;
  std::set<std::string> reserved;   // acknowledged reservations
  std::set<std::string> confirmed;  // acknowledged confirmations
  std::atomic<int64_t> reserved_count{0};
  std::atomic<int> next_buyer{0};
  std::atomic<int> retries{0};
  std::atomic<int> after_failover{0};
  std::atomic<bool> failed_over{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = next_buyer++; i < kBuyers; i = next_buyer++) {
        if (!failed_over) {
          absl::SleepFor(absl::Milliseconds(20));
          while (!failed_over && reserved_count.load() >= 2 * kUnits / 3) {
            absl::SleepFor(absl::Milliseconds(5));
          }
        }
        std::string buyer = absl::StrCat("buyer-", i);
        std::string id = absl::StrCat("r-", i);
        // A client whose call fails tries again with the same reservation id: at most once.
        absl::StatusOr<catalog::StockReserveResult> r;
        for (int attempt = 0; attempt < 20; ++attempt) {
          r = store.Reserve(layout, id, buyer, 1, 1, expiry, t0);
          if (r.ok()) break;
          ++retries;
        }
        if (!r.ok()) {
          ADD_FAILURE() << "reserve " << id << ": " << r.status();
          continue;
        }
        if (r->outcome != catalog::StockReserveResult::Outcome::kReserved) continue;
        {
          std::lock_guard<std::mutex> lock(mu);
          reserved.insert(id);
          ++reserved_count;
        }
        if (failed_over) ++after_failover;
        if ((i + t) % 3 != 0) continue;
        absl::Status c;
        for (int attempt = 0; attempt < 20; ++attempt) {
          c = store.Confirm(layout, id, buyer);
          if (c.ok()) break;
          ++retries;
        }
        if (!c.ok()) {
          ADD_FAILURE() << "confirm " << id << ": " << c;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        confirmed.insert(id);
      }
    });
  }
  // Mid-sale: a third of the stock gone, then the replica takes over.
  bool started = PollUntil([&] { return reserved_count.load() >= kUnits / 3; }, absl::Seconds(30));
  const int64_t at_failover = reserved_count.load();
  absl::StatusOr<RedisValue> failover =
      started ? replica->Command({"CLUSTER", "FAILOVER"})
              : absl::StatusOr<RedisValue>(absl::DeadlineExceededError("sale did not start"));
  bool promoted = failover.ok() &&
                  PollUntil([&] { return InfoField(*replica, "replication", "role") == "master"; },
                            absl::Seconds(15));
  failed_over = true;
  absl::Time failover_done = absl::Now();
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(failover.ok()) << failover.status();
  ASSERT_TRUE(promoted) << "the replica did not take over";

  // The replica now serves bucket 0, as the whole cluster sees it.
  ASSERT_TRUE(PollUntil([&] { return Serves(slot, before->replica); }, absl::Seconds(10)));
  EXPECT_GT(after_failover.load(), 0) << "the sale was over before the failover finished";
  std::cout << "failover started at " << at_failover << " units reserved, done "
            << absl::ToInt64Milliseconds(failover_done - t0)
            << " ms into the sale; reservations after it: " << after_failover.load()
            << "; client retries: " << retries.load() << "\n";

  // No oversell, nothing left unsold, nothing lost.
  auto figures = store.Figures(layout);
  ASSERT_TRUE(figures.ok()) << figures.status();
  EXPECT_TRUE(figures->loaded);
  EXPECT_EQ(static_cast<int64_t>(reserved.size()), kUnits);
  EXPECT_EQ(figures->remaining, 0);
  EXPECT_EQ(static_cast<int64_t>(reserved.size()) + figures->remaining, kUnits);
  EXPECT_EQ(figures->sold, static_cast<int64_t>(confirmed.size()));
  std::map<std::string, std::string> entries;  // reservation id -> entry in Redis
  for (int b = 0; b < layout.buckets; ++b) {
    auto res = (*pool)->Command({"HGETALL", absl::StrCat("lc:{fs:42:", b, "}:res")});
    ASSERT_TRUE(res.ok()) << res.status();
    for (size_t i = 0; i + 1 < res->elements.size(); i += 2) {
      entries[res->elements[i].str] = res->elements[i + 1].str;
    }
  }
  EXPECT_EQ(entries.size(), reserved.size());
  for (const std::string& id : reserved) {
    auto it = entries.find(id);
    ASSERT_NE(it, entries.end()) << "acknowledged reservation " << id << " lost";
    char expected = confirmed.count(id) > 0 ? 'C' : 'R';
    EXPECT_EQ(it->second[0], expected) << id << " " << it->second;
  }
}

}  // namespace
}  // namespace livecommerce
