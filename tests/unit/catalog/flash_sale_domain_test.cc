#include <numeric>

#include "gtest/gtest.h"
#include "services/catalog/domain/flash_sale.h"

namespace livecommerce::catalog {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);

FlashSaleRecord ValidSale() {
  FlashSaleRecord sale;
  sale.sale_price_fen = 129900;
  sale.currency = "CNY";
  sale.total_stock = 100;
  sale.per_buyer_limit = 2;
  sale.starts_at = kT0;
  sale.ends_at = kT0 + absl::Minutes(30);
  sale.buckets = 4;
  return sale;
}

void ExpectField(const FlashSaleRecord& sale, absl::string_view field) {
  absl::Status status = ValidateNewSale(sale);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << field;
  EXPECT_EQ(status.message().substr(0, field.size()), field) << status;
}

TEST(FlashSaleTest, ValidatesNewSales) {
  EXPECT_TRUE(ValidateNewSale(ValidSale()).ok());
  FlashSaleRecord s = ValidSale();
  s.sale_price_fen = 0;
  ExpectField(s, "sale_price.amount_fen");
  s = ValidSale();
  s.sale_price_fen = -5;
  ExpectField(s, "sale_price.amount_fen");
  s = ValidSale();
  s.currency = "cny";
  ExpectField(s, "sale_price.currency");
  s = ValidSale();
  s.total_stock = 0;
  ExpectField(s, "total_stock");
  s = ValidSale();
  s.per_buyer_limit = 0;
  ExpectField(s, "per_buyer_limit");
  s = ValidSale();
  s.per_buyer_limit = 101;  // above stock
  ExpectField(s, "per_buyer_limit");
  s = ValidSale();
  s.ends_at = s.starts_at - absl::Seconds(1);
  ExpectField(s, "ends_at");
  s = ValidSale();
  s.buckets = 0;
  ExpectField(s, "buckets");
}

TEST(FlashSaleTest, StatusFollowsTheWindowUnlessEndedOrCancelled) {
  FlashSaleRecord s = ValidSale();
  EXPECT_EQ(EffectiveStatus(s, kT0 - absl::Seconds(1)), v1::FLASH_SALE_STATUS_SCHEDULED);
  EXPECT_EQ(EffectiveStatus(s, kT0), v1::FLASH_SALE_STATUS_ACTIVE);
  EXPECT_EQ(EffectiveStatus(s, kT0 + absl::Minutes(30)), v1::FLASH_SALE_STATUS_ENDED);
  EXPECT_TRUE(CheckReservable(s, kT0 + absl::Minutes(1)).ok());
  EXPECT_EQ(CheckReservable(s, kT0 - absl::Seconds(1)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckReservable(s, kT0 + absl::Hours(1)).code(), absl::StatusCode::kFailedPrecondition);
  s.status = v1::FLASH_SALE_STATUS_CANCELLED;
  EXPECT_EQ(EffectiveStatus(s, kT0 + absl::Minutes(1)), v1::FLASH_SALE_STATUS_CANCELLED);
  EXPECT_FALSE(CheckReservable(s, kT0 + absl::Minutes(1)).ok());
}

TEST(FlashSaleTest, SplitStockKeepsEveryUnit) {
  for (int64_t units : {0, 1, 7, 1000, 1001}) {
    for (int buckets : {1, 3, 4, 16}) {
      std::vector<int64_t> split = SplitStock(units, buckets);
      ASSERT_EQ(split.size(), static_cast<size_t>(buckets));
      EXPECT_EQ(std::accumulate(split.begin(), split.end(), int64_t{0}), units);
      auto [lo, hi] = std::minmax_element(split.begin(), split.end());
      EXPECT_LE(*hi - *lo, 1);
    }
  }
}

TEST(FlashSaleTest, InputChecks) {
  EXPECT_TRUE(ValidateReservationId("ord-123:line-1").ok());
  EXPECT_FALSE(ValidateReservationId("").ok());
  EXPECT_FALSE(ValidateReservationId(std::string(65, 'r')).ok());
  EXPECT_FALSE(ValidateReservationId("a b").ok());
  EXPECT_TRUE(ValidateQuantity(1).ok());
  EXPECT_FALSE(ValidateQuantity(0).ok());
  EXPECT_FALSE(ValidateQuantity(-1).ok());
  EXPECT_EQ(HomeBucket("buyer-1", 4), HomeBucket("buyer-1", 4));
  EXPECT_EQ(HomeBucket("buyer-1", 1), 0);
}

}  // namespace
}  // namespace livecommerce::catalog
