#include "gateway/http/connection_limits.h"

#include <gtest/gtest.h>

namespace livecommerce::gateway {
namespace {

using Refusal = ConnectionLimits::Refusal;

TEST(ConnectionLimitsTest, PerAddressLimitLeavesOtherAddressesAlone) {
  ConnectionLimits limits(/*max_total=*/100, /*max_per_address=*/2);
  EXPECT_EQ(limits.TryOpen("192.0.2.1"), Refusal::kNone);
  EXPECT_EQ(limits.TryOpen("192.0.2.1"), Refusal::kNone);
  EXPECT_EQ(limits.TryOpen("192.0.2.1"), Refusal::kAddress);
  EXPECT_EQ(limits.TryOpen("192.0.2.2"), Refusal::kNone);
  EXPECT_EQ(limits.open("192.0.2.1"), 2u);
  EXPECT_EQ(limits.open(), 3u);
  limits.Close("192.0.2.1");
  EXPECT_EQ(limits.TryOpen("192.0.2.1"), Refusal::kNone);
}

TEST(ConnectionLimitsTest, TotalLimitComesFirst) {
  ConnectionLimits limits(/*max_total=*/3, /*max_per_address=*/2);
  EXPECT_EQ(limits.TryOpen("a"), Refusal::kNone);
  EXPECT_EQ(limits.TryOpen("b"), Refusal::kNone);
  EXPECT_EQ(limits.TryOpen("c"), Refusal::kNone);
  EXPECT_EQ(limits.TryOpen("d"), Refusal::kTotal);
  EXPECT_EQ(limits.open("d"), 0u);
  limits.Close("b");
  EXPECT_EQ(limits.TryOpen("d"), Refusal::kNone);
}

TEST(ConnectionLimitsTest, UncountedPeersUseTheTotalOnly) {
  // A trusted proxy carries many clients: it is held to the total, not to the per-address limit.
  ConnectionLimits limits(/*max_total=*/5, /*max_per_address=*/1);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(limits.TryOpen("10.0.0.1", /*counted=*/false), Refusal::kNone) << i;
  }
  EXPECT_EQ(limits.TryOpen("10.0.0.1", /*counted=*/false), Refusal::kTotal);
  EXPECT_EQ(limits.open("10.0.0.1"), 0u);
  limits.Close("10.0.0.1", /*counted=*/false);
  EXPECT_EQ(limits.open(), 4u);
}

TEST(ConnectionLimitsTest, ZeroIsNoLimitAndClosedAddressesAreForgotten) {
  ConnectionLimits limits(0, 0);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limits.TryOpen("a"), Refusal::kNone);
  for (int i = 0; i < 1000; ++i) limits.Close("a");
  EXPECT_EQ(limits.open(), 0u);
  EXPECT_EQ(limits.addresses(), 0u);  // a fleet of addresses that came and went leaves no memory
}

}  // namespace
}  // namespace livecommerce::gateway
