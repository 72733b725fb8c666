#include "gateway/http/rate_limiter.h"

#include <gtest/gtest.h>

namespace livecommerce::gateway {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1800000000);

TEST(RateLimiterTest, AllowsTheBurstThenRefusesWithRetryAfter) {
  RateLimiter limiter(/*rate=*/2, /*burst=*/5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(limiter.Take("viewer-1", kStart).allowed) << i;
  }
  RateLimiter::Decision refused = limiter.Take("viewer-1", kStart);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 1);
  // Another key has its own bucket.
  EXPECT_TRUE(limiter.Take("viewer-2", kStart).allowed);
}

TEST(RateLimiterTest, RefillsAtTheRateUpToTheBurst) {
  RateLimiter limiter(/*rate=*/2, /*burst=*/3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.Take("k", kStart).allowed);
  EXPECT_FALSE(limiter.Take("k", kStart).allowed);
  // Half a second later: one token back.
  EXPECT_TRUE(limiter.Take("k", kStart + absl::Milliseconds(500)).allowed);
  EXPECT_FALSE(limiter.Take("k", kStart + absl::Milliseconds(500)).allowed);
  // An hour later the bucket holds the burst, not more.
  absl::Time later = kStart + absl::Hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Take("k", later).allowed);
  EXPECT_FALSE(limiter.Take("k", later).allowed);
}

TEST(RateLimiterTest, RetryAfterCoversTheWaitForOneToken) {
  RateLimiter limiter(/*rate=*/0.25, /*burst=*/1);
  ASSERT_TRUE(limiter.Take("k", kStart).allowed);
  RateLimiter::Decision refused = limiter.Take("k", kStart);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 4);
}

TEST(RateLimiterTest, ZeroRateMeansNoLimit) {
  RateLimiter limiter(0, 1);
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Take("k", kStart).allowed);
}

TEST(RateLimiterTest, ManyIdleKeysDoNotResetABusyOne) {
  RateLimiter limiter(/*rate=*/1, /*burst=*/1, /*max_keys=*/32);
  // Keys seen long ago hold full buckets: they are the ones forgotten when memory is short.
  for (int i = 0; i < 100; ++i) limiter.Take("idle-" + std::to_string(i), kStart - absl::Hours(1));
  ASSERT_TRUE(limiter.Take("busy", kStart).allowed);
  for (int i = 100; i < 120; ++i)
    limiter.Take("idle-" + std::to_string(i), kStart - absl::Hours(1));
  EXPECT_FALSE(limiter.Take("busy", kStart).allowed);
}

}  // namespace
}  // namespace livecommerce::gateway
