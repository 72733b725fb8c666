#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "services/common/status.h"
#include "services/order/domain/order.h"

namespace livecommerce::order {
namespace {

TEST(OrderTransitionTest, FollowsTheLifecycle) {
  EXPECT_TRUE(CheckTransition(v1::ORDER_STATUS_PENDING_PAYMENT, v1::ORDER_STATUS_PAID).ok());
  EXPECT_TRUE(CheckTransition(v1::ORDER_STATUS_PENDING_PAYMENT, v1::ORDER_STATUS_CANCELLED).ok());
  EXPECT_TRUE(CheckTransition(v1::ORDER_STATUS_PENDING_PAYMENT, v1::ORDER_STATUS_EXPIRED).ok());
  EXPECT_TRUE(CheckTransition(v1::ORDER_STATUS_PAID, v1::ORDER_STATUS_FULFILLED).ok());
  EXPECT_TRUE(CheckTransition(v1::ORDER_STATUS_FULFILLED, v1::ORDER_STATUS_COMPLETED).ok());
  EXPECT_TRUE(CheckTransition(v1::ORDER_STATUS_PAID, v1::ORDER_STATUS_PARTIALLY_REFUNDED).ok());
  EXPECT_TRUE(CheckTransition(v1::ORDER_STATUS_PARTIALLY_REFUNDED, v1::ORDER_STATUS_REFUNDED).ok());
  for (auto [from, to] : std::vector<std::pair<v1::OrderStatus, v1::OrderStatus>>{
           {v1::ORDER_STATUS_PENDING_PAYMENT, v1::ORDER_STATUS_FULFILLED},
           {v1::ORDER_STATUS_PAID, v1::ORDER_STATUS_CANCELLED},
           {v1::ORDER_STATUS_CANCELLED, v1::ORDER_STATUS_PAID},
           {v1::ORDER_STATUS_EXPIRED, v1::ORDER_STATUS_PAID},
           {v1::ORDER_STATUS_REFUNDED, v1::ORDER_STATUS_PARTIALLY_REFUNDED},
           {v1::ORDER_STATUS_PENDING_PAYMENT, v1::ORDER_STATUS_REFUNDED}}) {
    EXPECT_EQ(CheckTransition(from, to).code(), absl::StatusCode::kFailedPrecondition)
        << v1::OrderStatus_Name(from) << " -> " << v1::OrderStatus_Name(to);
  }
  EXPECT_TRUE(IsPaid(v1::ORDER_STATUS_FULFILLED));
  EXPECT_FALSE(IsPaid(v1::ORDER_STATUS_PENDING_PAYMENT));
}

TEST(OrderMoneyTest, TotalsInFenAndOverflowIsRefused) {
  EXPECT_EQ(*OrderTotal({{2, 129900, 0}, {1, 50, 0}}), 259850);
  EXPECT_FALSE(LineTotal(0, 100).ok());
  EXPECT_FALSE(LineTotal(1, 0).ok());
  EXPECT_FALSE(LineTotal(2, std::numeric_limits<int64_t>::max() / 2 + 1).ok());
  EXPECT_FALSE(OrderTotal({{1, std::numeric_limits<int64_t>::max()}, {1, 1}}).ok());
}

TEST(OrderMoneyTest, RefundsNeverExceedWhatWasBought) {
  std::vector<LineAmounts> lines = {{2, 1000, 0}, {1, 500, 0}};
  EXPECT_EQ(*RefundAmount(lines, {}), 2500);
  EXPECT_EQ(*RefundAmount(lines, {{0, 1}}), 1000);
  EXPECT_EQ(RefundAmount(lines, {{0, 1}, {0, 2}}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RefundAmount(lines, {{5, 1}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RefundAmount(lines, {{1, 0}}).status().code(), absl::StatusCode::kInvalidArgument);
  lines[0].refunded_quantity = 2;
  lines[1].refunded_quantity = 1;
  EXPECT_EQ(RefundAmount(lines, {}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusAfterRefund(lines), v1::ORDER_STATUS_REFUNDED);
  lines[1].refunded_quantity = 0;
  EXPECT_EQ(StatusAfterRefund(lines), v1::ORDER_STATUS_PARTIALLY_REFUNDED);
}

TEST(OrderInputTest, CartItemsAndAddressesNameTheBadField) {
  v1::CartItem item;
  item.set_sku_id("12");
  item.set_quantity(2);
  EXPECT_TRUE(ValidateCartItem(item).ok());
  item.set_quantity(0);
  EXPECT_EQ(ValidateCartItem(item).message().substr(0, 8), "quantity");
  item.set_quantity(100);
  EXPECT_FALSE(ValidateCartItem(item).ok());
  item.set_quantity(1);
  item.set_sku_id("x");
  EXPECT_EQ(ValidateCartItem(item).message().substr(0, 6), "sku_id");
  item.set_sku_id("12");
  item.mutable_attribution()->set_channel(static_cast<v1::Channel>(40));
  EXPECT_EQ(ValidateCartItem(item).message().substr(0, 19), "attribution.channel");

  v1::DeliveryAddress address;
  address.set_recipient("王女士");
  address.set_phone("+86 138 0000 0000");
  address.set_province("上海");
  address.set_city("上海");
  address.set_street("南京西路 1266 号");
  EXPECT_TRUE(ValidateAddress(address).ok());
  address.set_phone("call me");
  EXPECT_EQ(ValidateAddress(address).message().substr(0, 13), "address.phone");
  address.set_phone("123");
  address.set_street("");
  EXPECT_EQ(ValidateAddress(address).message().substr(0, 14), "address.street");
}

// A refusal kept on the order's row reads back the same, except an overload: a later retry with
// the key must see a passing unavailability, never a business limit.
TEST(OrderFailureTest, RefusalsReadBackAndAnOverloadAsUnavailable) {
  absl::Status limit = absl::ResourceExhaustedError("quantity: the per-buyer limit is 1");
  absl::Status back = DecodeFailure(EncodeFailure(limit));
  EXPECT_EQ(back.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(back.message(), limit.message());
  absl::Status shed =
      DecodeFailure(EncodeFailure(common::Overloaded("catalog service", absl::Milliseconds(200))));
  EXPECT_EQ(shed.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(shed.message().find("catalog service is at capacity"), std::string::npos);
  EXPECT_EQ(DecodeFailure("not a failure").code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace livecommerce::order
