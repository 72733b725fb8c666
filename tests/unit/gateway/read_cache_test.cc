#include "gateway/http/read_cache.h"

#include <gtest/gtest.h>

namespace livecommerce::gateway {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);

std::shared_ptr<const std::string> Body(const std::string& s) {
  return std::make_shared<const std::string>(s);
}

TEST(ReadCacheTest, FreshThenStaleWithOneRefreshThenGone) {
  ReadCache cache(absl::Seconds(1), absl::Seconds(2), 100);
  EXPECT_EQ(cache.Get("k", kT0).body, nullptr);
  cache.Put("k", Body("a"), kT0);
  ReadCache::Lookup fresh = cache.Get("k", kT0 + absl::Milliseconds(999));
  ASSERT_NE(fresh.body, nullptr);
  EXPECT_EQ(*fresh.body, "a");
  EXPECT_FALSE(fresh.refresh);
  // Stale: still served; only the first caller is asked to refresh.
  ReadCache::Lookup first = cache.Get("k", kT0 + absl::Milliseconds(1500));
  ASSERT_NE(first.body, nullptr);
  EXPECT_TRUE(first.refresh);
  ReadCache::Lookup second = cache.Get("k", kT0 + absl::Milliseconds(1600));
  ASSERT_NE(second.body, nullptr);
  EXPECT_FALSE(second.refresh);
  // The refresh lands: fresh again, with the new answer.
  cache.Put("k", Body("b"), kT0 + absl::Milliseconds(1700));
  ReadCache::Lookup after = cache.Get("k", kT0 + absl::Milliseconds(1800));
  EXPECT_EQ(*after.body, "b");
  EXPECT_FALSE(after.refresh);
  // Past fresh + stale nothing is served.
  EXPECT_EQ(cache.Get("k", kT0 + absl::Milliseconds(4700)).body, nullptr);
}

TEST(ReadCacheTest, AnAbandonedRefreshIsAskedForAgain) {
  ReadCache cache(absl::Seconds(1), absl::Seconds(2), 100);
  cache.Put("k", Body("a"), kT0);
  EXPECT_TRUE(cache.Get("k", kT0 + absl::Milliseconds(1100)).refresh);
  EXPECT_FALSE(cache.Get("k", kT0 + absl::Milliseconds(1200)).refresh);
  cache.Abandon("k");
  EXPECT_TRUE(cache.Get("k", kT0 + absl::Milliseconds(1300)).refresh);
}

TEST(ReadCacheTest, KeysAreSeparateAndTheSizeIsBounded) {
  ReadCache cache(absl::Seconds(1), absl::Seconds(1), 2);
  cache.Put("viewer-a", Body("a"), kT0);
  cache.Put("viewer-b", Body("b"), kT0);
  EXPECT_EQ(*cache.Get("viewer-a", kT0).body, "a");
  EXPECT_EQ(*cache.Get("viewer-b", kT0).body, "b");
  cache.Put("viewer-c", Body("c"), kT0);  // full: emptied first
  EXPECT_EQ(cache.Get("viewer-a", kT0).body, nullptr);
  EXPECT_EQ(*cache.Get("viewer-c", kT0).body, "c");
}

}  // namespace
}  // namespace livecommerce::gateway
