// The Redis live stock of flash sales against a real Redis: atomic reserve under contention,
// per-buyer limits, bucket refills, idempotency, holds, and reload from a snapshot.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "gtest/gtest.h"
#include "services/catalog/store/redis_flash_stock_store.h"
#include "services/common/admission.h"
#include "tests/support/test_env.h"

namespace livecommerce::catalog {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);
const absl::Time kExpiry = kT0 + absl::Minutes(10);

class FlashStockStoreTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    redis_ = testing::ConnectTestRedis();
    ASSERT_NE(redis_, nullptr);
    store_ = std::make_unique<RedisFlashStockStore>(*redis_);
    ASSERT_TRUE(store_->LoadScripts().ok());
    layout_ = StockLayout{7, GetParam()};
  }
  void LoadUnits(int64_t units) {
    StockSnapshot snapshot;
    snapshot.available = units;
    ASSERT_TRUE(store_->Load(layout_, snapshot).ok());
  }
  StockReserveResult::Outcome Reserve(const std::string& id, const std::string& buyer,
                                      int64_t quantity, int32_t limit = 1000) {
    auto result = store_->Reserve(layout_, id, buyer, quantity, limit, kExpiry, kT0);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->outcome : StockReserveResult::Outcome::kNotLoaded;
  }
  int64_t Remaining() { return store_->Figures(layout_)->remaining; }

  std::unique_ptr<common::RedisPool> redis_;
  std::unique_ptr<RedisFlashStockStore> store_;
  StockLayout layout_;
};

INSTANTIATE_TEST_SUITE_P(SingleKeyAndBuckets, FlashStockStoreTest, ::testing::Values(1, 4, 16));

TEST_P(FlashStockStoreTest, ContendedReservesNeverOversell) {
  LoadUnits(100);
  constexpr int kThreads = 16;
  constexpr int kAttemptsPerThread = 5000 / kThreads + 1;
  std::atomic<int> reserved{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAttemptsPerThread; ++i) {
        std::string buyer = "b" + std::to_string(t * kAttemptsPerThread + i);
        auto r = store_->Reserve(layout_, "r-" + buyer, buyer, 1, 1, kExpiry, kT0);
        if (!r.ok()) {
          ++errors;
        } else if (r->outcome == StockReserveResult::Outcome::kReserved) {
          ++reserved;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(reserved.load(), 100);  // exactly the stock: none oversold, none left unsold
  EXPECT_EQ(Remaining(), 0);
}

// The batched path: thousands of concurrent ReserveAsync calls share pipelines; the outcome must
// be the same as one by one.
TEST_P(FlashStockStoreTest, BatchedReservesNeverOversellOrUndersell) {
  LoadUnits(100);
  std::mutex mu;
  std::condition_variable all_done;
  int finished = 0, reserved = 0, sold_out = 0, errors = 0;
  constexpr int kAttempts = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kAttempts; i += 16) {
        std::string buyer = "b" + std::to_string(i);
        store_->ReserveAsync(layout_, "r-" + buyer, buyer, 1, 1, kExpiry, kT0,
                             absl::InfiniteFuture(), [&](absl::StatusOr<StockReserveResult> r) {
                               std::lock_guard<std::mutex> lock(mu);
                               if (!r.ok()) {
                                 ++errors;
                               } else if (r->outcome == StockReserveResult::Outcome::kReserved) {
                                 ++reserved;
                               } else if (r->outcome == StockReserveResult::Outcome::kSoldOut) {
                                 ++sold_out;
                               }
                               if (++finished == kAttempts) all_done.notify_all();
                             });
      }
    });
  }
  for (auto& t : threads) t.join();
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(
      all_done.wait_for(lock, std::chrono::seconds(60), [&] { return finished == kAttempts; }));
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(reserved, 100);
  EXPECT_EQ(sold_out, kAttempts - 100);
  EXPECT_EQ(Remaining(), 0);
}

TEST_P(FlashStockStoreTest, BatchedReserveFindsUnitsInOtherBuckets) {
  LoadUnits(layout_.buckets * 2);
  // One buyer at a time, so every unit outside a buyer's home bucket must be found.
  int reserved = 0;
  for (int i = 0; i < layout_.buckets * 2 + 3; ++i) {
    std::promise<absl::StatusOr<StockReserveResult>> promise;
    store_->ReserveAsync(layout_, "s" + std::to_string(i), "same-buyer-" + std::to_string(i % 3), 1,
                         1000, kExpiry, kT0, absl::InfiniteFuture(),
                         [&](absl::StatusOr<StockReserveResult> r) { promise.set_value(r); });
    absl::StatusOr<StockReserveResult> r = promise.get_future().get();
    ASSERT_TRUE(r.ok()) << r.status();
    if (r->outcome == StockReserveResult::Outcome::kReserved) ++reserved;
  }
  EXPECT_EQ(reserved, layout_.buckets * 2);
  EXPECT_EQ(Remaining(), 0);
}

TEST_P(FlashStockStoreTest, PerBuyerLimitHoldsUnderConcurrency) {
  LoadUnits(100);
  std::atomic<int> reserved{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        if (Reserve("same-" + std::to_string(t) + "-" + std::to_string(i), "greedy", 1, 3) ==
            StockReserveResult::Outcome::kReserved) {
          ++reserved;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(reserved.load(), 3);
  EXPECT_EQ(Remaining(), 97);
  EXPECT_EQ(Reserve("other", "other-buyer", 2, 3), StockReserveResult::Outcome::kReserved);
}

TEST_P(FlashStockStoreTest, ABuyerIsServedWhileAnyBucketHasStock) {
  LoadUnits(layout_.buckets * 3);
  // Drain everything through one buyer at a time: every unit must be reservable, wherever it is.
  int reserved = 0;
  for (int i = 0; i < layout_.buckets * 3 + 5; ++i) {
    if (Reserve("r" + std::to_string(i), "buyer-" + std::to_string(i % 2), 1) ==
        StockReserveResult::Outcome::kReserved) {
      ++reserved;
    }
  }
  EXPECT_EQ(reserved, layout_.buckets * 3);
  EXPECT_EQ(Reserve("late", "late-buyer", 1), StockReserveResult::Outcome::kSoldOut);
}

TEST_P(FlashStockStoreTest, RepeatsChangeNothing) {
  LoadUnits(10);
  EXPECT_EQ(Reserve("r1", "alice", 2), StockReserveResult::Outcome::kReserved);
  auto again = store_->Reserve(layout_, "r1", "alice", 2, 1000, kExpiry, kT0);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->quantity, 2);
  EXPECT_EQ(Remaining(), 8);
  ASSERT_TRUE(store_->Confirm(layout_, "r1", "alice").ok());
  ASSERT_TRUE(store_->Confirm(layout_, "r1", "alice").ok());
  EXPECT_EQ(store_->Figures(layout_)->sold, 2);
  // A confirmed reservation cannot be released.
  EXPECT_EQ(*store_->Release(layout_, "r1", "alice"), 0);
  EXPECT_EQ(Remaining(), 8);
  EXPECT_EQ(Reserve("r2", "bob", 3), StockReserveResult::Outcome::kReserved);
  EXPECT_EQ(*store_->Release(layout_, "r2", "bob"), 3);
  EXPECT_EQ(*store_->Release(layout_, "r2", "bob"), 0);
  EXPECT_EQ(Remaining(), 8);
  // A released id stays used: reserving with it again does not take units.
  auto reused = store_->Reserve(layout_, "r2", "bob", 3, 1000, kExpiry, kT0);
  ASSERT_TRUE(reused.ok());
  EXPECT_TRUE(reused->duplicate);
  EXPECT_EQ(reused->state, StockReserveResult::State::kGone);
  EXPECT_EQ(Remaining(), 8);
}

TEST_P(FlashStockStoreTest, ReleaseGivesBackTheBuyersAllowance) {
  LoadUnits(10);
  EXPECT_EQ(Reserve("r1", "alice", 2, 2), StockReserveResult::Outcome::kReserved);
  EXPECT_EQ(Reserve("r2", "alice", 1, 2), StockReserveResult::Outcome::kLimit);
  ASSERT_EQ(*store_->Release(layout_, "r1", "alice"), 2);
  EXPECT_EQ(Reserve("r3", "alice", 2, 2), StockReserveResult::Outcome::kReserved);
}

TEST_P(FlashStockStoreTest, HoldsComeOutOfStockAndOnlyTheirClientUsesThem) {
  LoadUnits(5);
  auto hold = store_->Hold(layout_, "vip", 3, 41, kExpiry, kT0);
  ASSERT_TRUE(hold.ok());
  EXPECT_EQ(hold->outcome, StockReserveResult::Outcome::kReserved);
  EXPECT_EQ(Remaining(), 2);
  EXPECT_EQ(store_->Figures(layout_)->held, 3);
  // Others can only take the two free units.
  EXPECT_EQ(Reserve("a", "a", 1), StockReserveResult::Outcome::kReserved);
  EXPECT_EQ(Reserve("b", "b", 1), StockReserveResult::Outcome::kReserved);
  EXPECT_EQ(Reserve("c", "c", 1), StockReserveResult::Outcome::kSoldOut);
  // The client buys two of their three held units even though the sale is sold out to others.
  auto vip = store_->Reserve(layout_, "v1", "vip", 2, 1000, kExpiry, kT0);
  ASSERT_TRUE(vip.ok());
  EXPECT_EQ(vip->outcome, StockReserveResult::Outcome::kReserved);
  EXPECT_EQ(vip->from_hold, 2);
  EXPECT_EQ(vip->hold_id, 41);
  EXPECT_EQ(store_->Figures(layout_)->held, 1);
  // A second hold for the same client is refused; releasing the hold returns its last unit.
  EXPECT_EQ(store_->Hold(layout_, "vip", 1, 42, kExpiry, kT0)->outcome,
            StockReserveResult::Outcome::kLimit);
  EXPECT_EQ(*store_->Unhold(layout_, "vip", 41), 1);
  EXPECT_EQ(*store_->Unhold(layout_, "vip", 41), 0);
  EXPECT_EQ(Remaining(), 1);
}

TEST_P(FlashStockStoreTest, MissingStockIsReportedThenReloaded) {
  LoadUnits(10);
  EXPECT_EQ(Reserve("r1", "alice", 2), StockReserveResult::Outcome::kReserved);
  ASSERT_TRUE(redis_->Command({"FLUSHALL"}).ok());
  EXPECT_EQ(Reserve("r2", "bob", 1), StockReserveResult::Outcome::kNotLoaded);
  EXPECT_FALSE(store_->Figures(layout_)->loaded);
  EXPECT_FALSE(store_->Release(layout_, "r1", "alice").ok());  // nothing invented
  // Reload what the record says: alice's live reservation and 8 free units.
  StockSnapshot snapshot;
  snapshot.available = 8;
  FlashReservationRecord alice;
  alice.reservation_id = "r1";
  alice.buyer_id = "alice";
  alice.quantity = 2;
  alice.status = v1::RESERVATION_STATUS_RESERVED;
  alice.expires_at = kExpiry;
  snapshot.reservations.push_back(alice);
  ASSERT_TRUE(store_->Load(layout_, snapshot).ok());
  EXPECT_EQ(Remaining(), 8);
  EXPECT_TRUE(store_->Reserve(layout_, "r1", "alice", 2, 1000, kExpiry, kT0)->duplicate);
  EXPECT_EQ(Reserve("r3", "alice", 1, 2), StockReserveResult::Outcome::kLimit);
  EXPECT_EQ(*store_->Release(layout_, "r1", "alice"), 2);
  EXPECT_EQ(Remaining(), 10);
  auto due = store_->Due(layout_, kExpiry + absl::Seconds(1), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());  // released entries leave the expiry index
}

TEST_P(FlashStockStoreTest, DueListsExpiredEntries) {
  LoadUnits(10);
  ASSERT_TRUE(store_->Reserve(layout_, "short", "a", 1, 10, kT0 + absl::Seconds(30), kT0).ok());
  ASSERT_TRUE(store_->Reserve(layout_, "long", "b", 1, 10, kT0 + absl::Minutes(30), kT0).ok());
  auto due = store_->Due(layout_, kT0 + absl::Minutes(1), 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].member, "short");
  EXPECT_EQ(*store_->ReleaseAt(layout_, (*due)[0].bucket, "short"), 1);
  EXPECT_EQ(Remaining(), 9);
}

// Past what its queue can serve quickly, the store refuses at once (common/admission.h): a storm
// against a queue of 64 drained one Redis call at a time. Every reserve it accepted is answered
// within a short wait (an unbounded queue would make the last wait for all before it), every
// refusal carries the retry hint and leaves no trace in the stock, and a reserve whose caller's
// deadline passed while it waited is dropped without taking stock.
TEST_P(FlashStockStoreTest, AStormPastTheQueueIsRefusedAtOnceAndChangesNothing) {
  common::AdmissionOptions admission;
  admission.max_queued = 64;
  admission.max_queue_delay = absl::Milliseconds(3);
  admission.retry_after = absl::Milliseconds(300);
  RedisFlashStockStore small(*redis_, admission, /*max_batch=*/1);
  ASSERT_TRUE(small.LoadScripts().ok());
  LoadUnits(100);

  constexpr int kAttempts = 8000;
  struct Outcome {
    absl::Time submitted;
    absl::Time answered;
    absl::StatusOr<StockReserveResult> result = absl::UnknownError("unanswered");
  };
  std::vector<Outcome> outcomes(kAttempts);
  std::mutex mu;
  std::condition_variable all_done;
  int finished = 0;
  for (int i = 0; i < kAttempts; ++i) {
    std::string buyer = "b" + std::to_string(i);
    outcomes[i].submitted = absl::Now();
    small.ReserveAsync(layout_, "r-" + buyer, buyer, 1, 1, kExpiry, kT0, absl::InfiniteFuture(),
                       [&, i](absl::StatusOr<StockReserveResult> r) {
                         std::lock_guard<std::mutex> lock(mu);
                         outcomes[i].answered = absl::Now();
                         outcomes[i].result = std::move(r);
                         if (++finished == kAttempts) all_done.notify_all();
                       });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(
        all_done.wait_for(lock, std::chrono::seconds(60), [&] { return finished == kAttempts; }));
  }
  int reserved = 0;
  int refused = 0;
  absl::Duration slowest_accepted;
  for (int i = 0; i < kAttempts; ++i) {
    const Outcome& o = outcomes[i];
    if (!o.result.ok()) {
      ASSERT_EQ(common::OverloadRetryAfter(o.result.status()), absl::Milliseconds(300))
          << o.result.status();
      ++refused;
      // Refused: nothing of it reached Redis.
      std::string buyer = "b" + std::to_string(i);
      EXPECT_EQ(*small.Release(layout_, "r-" + buyer, buyer), 0);
      continue;
    }
    slowest_accepted = std::max(slowest_accepted, o.answered - o.submitted);
    if (o.result->outcome == StockReserveResult::Outcome::kReserved) ++reserved;
  }
  EXPECT_GT(refused, 0);
  EXPECT_GE(kAttempts - refused, 64);  // it kept serving while it refused
  EXPECT_LT(slowest_accepted, absl::Milliseconds(250));
  // Exactly the units the accepted reserves took are gone.
  EXPECT_EQ(reserved, std::min(100, kAttempts - refused));
  EXPECT_EQ(Remaining(), 100 - reserved);

  // A reserve whose caller gave up while it waited takes nothing.
  LoadUnits(5);
  std::promise<absl::StatusOr<StockReserveResult>> late;
  small.ReserveAsync(layout_, "r-late", "late-buyer", 1, 1, kExpiry, kT0,
                     absl::Now() - absl::Milliseconds(1),
                     [&](absl::StatusOr<StockReserveResult> r) { late.set_value(std::move(r)); });
  absl::StatusOr<StockReserveResult> answer = late.get_future().get();
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kDeadlineExceeded) << answer.status();
  EXPECT_EQ(Remaining(), 5);
  EXPECT_EQ(*small.Release(layout_, "r-late", "late-buyer"), 0);
}

}  // namespace
}  // namespace livecommerce::catalog
