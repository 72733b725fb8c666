// MysqlInventoryStore against the real MariaDB that scripts/test starts: reservations of regular
// inventory under contention, idempotency by reservation id, confirm, release and expiry.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "services/catalog/store/mysql_inventory_store.h"
#include "services/catalog/store/mysql_product_store.h"
#include "services/common/clock.h"
#include "services/common/handler.h"
#include "tests/support/test_env.h"

namespace livecommerce::catalog {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);
constexpr char kBrand[] = "maison";

class InventoryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mysql_ = testing::ConnectTestMysql(
        {"sku_reservations", "room_product_prices", "room_products", "skus", "products"});
    ASSERT_NE(mysql_, nullptr);
    products_ = std::make_unique<MysqlProductStore>(*mysql_);
    inventory_ = std::make_unique<MysqlInventoryStore>(*mysql_);
  }

  // A product of `brand` with one SKU holding `on_hand` units; returns the SKU id.
  int64_t CreateSku(int64_t on_hand, const std::string& brand = kBrand) {
    ProductRecord product;
    product.brand_id = brand;
    product.name = "Carré en soie";
    product.list_price_fen = 450000;
    product.currency = "CNY";
    product.status = v1::PRODUCT_STATUS_ACTIVE;
    product.created_by = "ops-1";
    product.created_at = product.updated_at = clock_.Now();
    SkuRecord sku;
    sku.sku_code = "CARRE-" + std::to_string(++skus_made_) + "-" + brand;
    sku.on_hand = on_hand;
    product.skus.push_back(sku);
    auto created = products_->CreateProduct(product);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->skus[0].id : 0;
  }

  SkuRecord Sku(int64_t sku_id) {
    auto sku = products_->GetSku(sku_id);
    EXPECT_TRUE(sku.ok()) << sku.status();
    return sku.ok() ? *sku : SkuRecord{};
  }

  InventoryReservation Request(const std::string& id, int64_t sku_id, int64_t quantity,
                               absl::Duration ttl = absl::Minutes(15),
                               const std::string& buyer = "buyer-1") {
    InventoryReservation r;
    r.reservation_id = id;
    r.brand_id = kBrand;
    r.sku_id = sku_id;
    r.buyer_id = buyer;
    r.quantity = quantity;
    r.expires_at = clock_.Now() + ttl;
    return r;
  }

  int64_t Scalar(const std::string& query) {
    auto n = mysql_->Run([&](common::MysqlConnection& c) -> absl::StatusOr<int64_t> {
      std::unique_ptr<sql::ResultSet> rs(c.Prepare(query).executeQuery());
      rs->next();
      return rs->isNull(1) ? 0 : rs->getInt64(1);
    });
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  common::FakeClock clock_{kT0};
  int skus_made_ = 0;
  std::unique_ptr<common::MysqlPool> mysql_;
  std::unique_ptr<MysqlProductStore> products_;
  std::unique_ptr<MysqlInventoryStore> inventory_;
};

TEST_F(InventoryStoreTest, SixteenThreadsReserveExactlyTheUnitsThereAre) {
  int64_t sku_id = CreateSku(100);
  constexpr int kThreads = 16;
  constexpr int kCallsPerThread = 25;  // 400 attempts at one unit each for 100 units
  std::atomic<int> reserved{0};
  std::atomic<int> sold_out{0};
  std::atomic<int> other_errors{0};
  std::atomic<bool> done{false};
  std::atomic<int64_t> min_available{100};
  std::atomic<int> samples{0};
  // Reads the SKU while the storm runs: available must never go below zero.
  std::thread watcher([&] {
    while (!done.load()) {
      auto sku = products_->GetSku(sku_id);
      if (sku.ok()) {
        int64_t available = sku->available();
        int64_t seen = min_available.load();
        while (available < seen && !min_available.compare_exchange_weak(seen, available)) {
        }
        ++samples;
      }
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        auto r = inventory_->Reserve(Request("order-" + std::to_string(t) + "-" + std::to_string(i),
                                             sku_id, 1, absl::Minutes(15),
                                             "buyer-" + std::to_string(t)));
        if (r.ok()) {
          ++reserved;
        } else if (r.status().code() == absl::StatusCode::kFailedPrecondition) {
          ++sold_out;
        } else {
          ++other_errors;
          ADD_FAILURE() << r.status();
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  done = true;
  watcher.join();

  EXPECT_EQ(reserved.load(), 100);
  EXPECT_EQ(sold_out.load(), kThreads * kCallsPerThread - 100);
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_GE(min_available.load(), 0);
  EXPECT_GT(samples.load(), 0);
  SkuRecord sku = Sku(sku_id);
  EXPECT_EQ(sku.on_hand, 100);
  EXPECT_EQ(sku.reserved, 100);
  EXPECT_EQ(sku.available(), 0);
  // The ledger agrees with the counter.
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM sku_reservations"), 100);
  EXPECT_EQ(Scalar("SELECT SUM(quantity) FROM sku_reservations WHERE state = 1"), 100);
  auto more = inventory_->Reserve(Request("late", sku_id, 1));
  EXPECT_EQ(more.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(more.status().message(), "quantity: only 0 available");
}

TEST_F(InventoryStoreTest, ConcurrentRepeatsOfOneReservationTakeUnitsOnce) {
  int64_t sku_id = CreateSku(50);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      auto r = inventory_->Reserve(Request("order-retry", sku_id, 3));
      if (r.ok()) {
        ++ok;
      } else {
        ADD_FAILURE() << r.status();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 16);
  EXPECT_EQ(Sku(sku_id).reserved, 3);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM sku_reservations"), 1);
}

TEST_F(InventoryStoreTest, ReserveIsIdempotentByReservationId) {
  int64_t sku_id = CreateSku(10);
  int64_t other_sku = CreateSku(10);
  auto first = inventory_->Reserve(Request("order-1", sku_id, 3));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->state, ReservationState::kReserved);
  auto again = inventory_->Reserve(Request("order-1", sku_id, 3));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state, ReservationState::kReserved);
  EXPECT_EQ(again->quantity, 3);
  EXPECT_EQ(Sku(sku_id).reserved, 3);

  // The same id for anything else is refused and changes nothing.
  EXPECT_EQ(inventory_->Reserve(Request("order-1", sku_id, 4)).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(inventory_->Reserve(Request("order-1", other_sku, 3)).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(inventory_->Reserve(Request("order-1", sku_id, 3, absl::Minutes(15), "buyer-2"))
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Sku(sku_id).reserved, 3);
  EXPECT_EQ(Sku(other_sku).reserved, 0);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM sku_reservations"), 1);
}

// Under overload a reserve can wait past its caller's deadline; the caller (the order service)
// then releases the reservation id, which finds nothing. The late reserve must take nothing, or
// its units would stay held until the reservation expired.
TEST_F(InventoryStoreTest, AReserveWhoseCallerGaveUpTakesNothing) {
  int64_t sku_id = CreateSku(10);
  {
    common::ScopedDeadline gone(absl::Now() - absl::Milliseconds(1));
    EXPECT_EQ(inventory_->Reserve(Request("order-late", sku_id, 3)).status().code(),
              absl::StatusCode::kDeadlineExceeded);
  }
  EXPECT_EQ(Sku(sku_id).reserved, 0);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM sku_reservations"), 0);
  EXPECT_EQ(inventory_->Release("order-late", absl::Now()).status().code(),
            absl::StatusCode::kNotFound);

  // Within its deadline the same call reserves.
  common::ScopedDeadline in_time(absl::Now() + absl::Seconds(30));
  auto reserved = inventory_->Reserve(Request("order-late", sku_id, 3));
  ASSERT_TRUE(reserved.ok()) << reserved.status();
  EXPECT_EQ(Sku(sku_id).reserved, 3);
}

TEST_F(InventoryStoreTest, RefusesWhatItCannotDo) {
  int64_t sku_id = CreateSku(2);
  auto too_many = inventory_->Reserve(Request("order-1", sku_id, 3));
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(too_many.status().message(), "quantity: only 2 available");
  EXPECT_EQ(inventory_->Reserve(Request("order-2", 999999, 1)).status().code(),
            absl::StatusCode::kNotFound);
  // A SKU of another brand is not there for this brand.
  int64_t foreign = CreateSku(5, "other-brand");
  EXPECT_EQ(inventory_->Reserve(Request("order-3", foreign, 1)).status().code(),
            absl::StatusCode::kNotFound);
  struct Case {
    InventoryReservation request;
    std::string field;
  };
  std::vector<Case> cases = {
      {Request("order-4", sku_id, 0), "quantity"},
      {Request("order-4", sku_id, -1), "quantity"},
      {Request("", sku_id, 1), "reservation_id"},
      {Request("bad id with spaces", sku_id, 1), "reservation_id"},
      {Request("order-4", sku_id, 1, absl::Minutes(1), ""), "buyer_id"},
  };
  InventoryReservation no_expiry = Request("order-4", sku_id, 1);
  no_expiry.expires_at = absl::UnixEpoch();
  cases.push_back({no_expiry, "expires_at"});
  for (const Case& c : cases) {
    auto r = inventory_->Reserve(c.request);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_EQ(std::string(r.status().message()).rfind(c.field + ":", 0), 0u) << r.status();
  }
  EXPECT_EQ(inventory_->Confirm("no-such-order", clock_.Now()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(inventory_->Release("no-such-order", clock_.Now()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Sku(sku_id).reserved, 0);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM sku_reservations"), 0);
}

TEST_F(InventoryStoreTest, ConfirmTakesTheUnitsForGoodOnce) {
  int64_t sku_id = CreateSku(10);
  ASSERT_TRUE(inventory_->Reserve(Request("order-1", sku_id, 4)).ok());
  auto confirmed = inventory_->Confirm("order-1", clock_.Now());
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();
  EXPECT_EQ(confirmed->state, ReservationState::kConfirmed);
  SkuRecord sku = Sku(sku_id);
  EXPECT_EQ(sku.on_hand, 6);
  EXPECT_EQ(sku.reserved, 0);
  // Repeats change nothing.
  auto again = inventory_->Confirm("order-1", clock_.Now());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state, ReservationState::kConfirmed);
  auto reserve_again = inventory_->Reserve(Request("order-1", sku_id, 4));
  ASSERT_TRUE(reserve_again.ok());
  EXPECT_EQ(reserve_again->state, ReservationState::kConfirmed);
  EXPECT_EQ(Sku(sku_id).on_hand, 6);
  EXPECT_EQ(Sku(sku_id).reserved, 0);
  // Sold units cannot be released.
  EXPECT_EQ(inventory_->Release("order-1", clock_.Now()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Sku(sku_id).on_hand, 6);
}

TEST_F(InventoryStoreTest, ReleaseReturnsTheUnitsExactlyOnce) {
  int64_t sku_id = CreateSku(10);
  ASSERT_TRUE(inventory_->Reserve(Request("order-1", sku_id, 4)).ok());
  ASSERT_TRUE(inventory_->Reserve(Request("order-2", sku_id, 5)).ok());
  EXPECT_EQ(Sku(sku_id).available(), 1);
  auto released = inventory_->Release("order-1", clock_.Now());
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(released->state, ReservationState::kReleased);
  EXPECT_EQ(Sku(sku_id).reserved, 5);
  EXPECT_EQ(Sku(sku_id).available(), 5);
  // Repeats, and a repeated Reserve of the released id, change nothing.
  auto again = inventory_->Release("order-1", clock_.Now());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->state, ReservationState::kReleased);
  auto reserve_again = inventory_->Reserve(Request("order-1", sku_id, 4));
  ASSERT_TRUE(reserve_again.ok());
  EXPECT_EQ(reserve_again->state, ReservationState::kReleased);
  EXPECT_EQ(Sku(sku_id).reserved, 5);
  EXPECT_EQ(Sku(sku_id).on_hand, 10);
  // Too late to pay for a released reservation.
  auto confirm = inventory_->Confirm("order-1", clock_.Now());
  EXPECT_EQ(confirm.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Sku(sku_id).on_hand, 10);
  EXPECT_EQ(Sku(sku_id).reserved, 5);
}

TEST_F(InventoryStoreTest, ExpireDueReturnsUnitsOfOverdueReservationsOnly) {
  int64_t sku_id = CreateSku(20);
  ASSERT_TRUE(inventory_->Reserve(Request("order-a", sku_id, 2, absl::Minutes(5))).ok());
  ASSERT_TRUE(inventory_->Reserve(Request("order-b", sku_id, 3, absl::Minutes(10))).ok());
  ASSERT_TRUE(inventory_->Reserve(Request("order-c", sku_id, 4, absl::Minutes(5))).ok());
  ASSERT_TRUE(inventory_->Reserve(Request("order-d", sku_id, 1, absl::Minutes(5))).ok());
  ASSERT_TRUE(inventory_->Confirm("order-d", clock_.Now()).ok());  // paid: never expires
  EXPECT_EQ(Sku(sku_id).reserved, 9);

  auto none = inventory_->ExpireDue(clock_.Now() + absl::Minutes(1), 100);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, 0);
  EXPECT_EQ(Sku(sku_id).reserved, 9);

  clock_.Advance(absl::Minutes(6));
  auto first = inventory_->ExpireDue(clock_.Now(), 1);  // at most one per call
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 1);
  auto second = inventory_->ExpireDue(clock_.Now(), 10);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, 1);
  auto third = inventory_->ExpireDue(clock_.Now(), 10);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(*third, 0);
  SkuRecord sku = Sku(sku_id);
  EXPECT_EQ(sku.reserved, 3);  // order-b only
  EXPECT_EQ(sku.on_hand, 19);  // order-d sold
  EXPECT_EQ(sku.available(), 16);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM sku_reservations WHERE state = 4"), 2);

  // An expired reservation cannot be confirmed; releasing it is a no-op.
  EXPECT_EQ(inventory_->Confirm("order-a", clock_.Now()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto release = inventory_->Release("order-c", clock_.Now());
  ASSERT_TRUE(release.ok()) << release.status();
  EXPECT_EQ(release->state, ReservationState::kExpired);
  EXPECT_EQ(Sku(sku_id).reserved, 3);
  // The one still in time confirms.
  auto confirmed = inventory_->Confirm("order-b", clock_.Now());
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();
  EXPECT_EQ(Sku(sku_id).reserved, 0);
  EXPECT_EQ(Sku(sku_id).on_hand, 16);
  EXPECT_EQ(inventory_->ExpireDue(clock_.Now(), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(InventoryStoreTest, ConfirmAfterExpiryIsRefusedAndReturnsTheUnitsAtOnce) {
  int64_t sku_id = CreateSku(5);
  ASSERT_TRUE(inventory_->Reserve(Request("order-1", sku_id, 5, absl::Minutes(5))).ok());
  EXPECT_EQ(Sku(sku_id).available(), 0);
  clock_.Advance(absl::Minutes(5));  // expires_at <= now: expired
  auto late = inventory_->Confirm("order-1", clock_.Now());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(late.status().message(), "reservation_id: the reservation has expired");
  // Without waiting for the sweep.
  EXPECT_EQ(Sku(sku_id).reserved, 0);
  EXPECT_EQ(Sku(sku_id).on_hand, 5);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM sku_reservations WHERE state = 4"), 1);
  EXPECT_EQ(inventory_->Confirm("order-1", clock_.Now()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto swept = inventory_->ExpireDue(clock_.Now(), 10);
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 0);
  EXPECT_EQ(Sku(sku_id).reserved, 0);
}

TEST_F(InventoryStoreTest, OnHandCannotGoBelowReserved) {
  int64_t sku_id = CreateSku(10);
  ASSERT_TRUE(inventory_->Reserve(Request("order-1", sku_id, 6)).ok());
  auto refused = products_->SetOnHand(sku_id, 5, clock_.Now());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(refused.status().message()).rfind("on_hand:", 0), 0u);
  EXPECT_EQ(Sku(sku_id).on_hand, 10);
  auto exact = products_->SetOnHand(sku_id, 6, clock_.Now());
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->available(), 0);
  auto more = products_->SetOnHand(sku_id, 30, clock_.Now());
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(more->on_hand, 30);
  EXPECT_EQ(more->reserved, 6);
}

}  // namespace
}  // namespace livecommerce::catalog
