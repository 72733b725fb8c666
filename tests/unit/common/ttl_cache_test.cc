#include "services/common/ttl_cache.h"

#include <string>

#include "gtest/gtest.h"

namespace livecommerce::common {
namespace {

TEST(TtlCacheTest, ServesWhatWasPutUntilErased) {
  TtlCache<int, std::string> cache(absl::Hours(1));
  EXPECT_FALSE(cache.Get(1).has_value());
  cache.Put(1, "one");
  EXPECT_EQ(cache.Get(1).value_or(""), "one");
  cache.Erase(1);
  EXPECT_FALSE(cache.Get(1).has_value());
}

TEST(TtlCacheTest, AZeroTtlKeepsNothing) {
  TtlCache<int, std::string> cache(absl::ZeroDuration());
  cache.Put(1, "one");
  EXPECT_FALSE(cache.Get(1).has_value());
}

TEST(TtlCacheTest, AReadThatRacedAnInvalidationIsNotPutBack) {
  TtlCache<int, std::string> cache(absl::Hours(1));
  uint64_t before = cache.Generation();
  // A write lands (and drops the key) while the read of the old value is under way.
  cache.Invalidate(1);
  cache.PutIfUnchanged(1, "stale", before);
  EXPECT_FALSE(cache.Get(1).has_value());

  uint64_t now = cache.Generation();
  cache.PutIfUnchanged(1, "fresh", now);
  EXPECT_EQ(cache.Get(1).value_or(""), "fresh");
}

TEST(TtlCacheTest, ClearDropsEverythingAndFencesReadsUnderWay) {
  TtlCache<int, std::string> cache(absl::Hours(1));
  cache.Put(1, "one");
  cache.Put(2, "two");
  uint64_t before = cache.Generation();
  cache.Clear();
  EXPECT_FALSE(cache.Get(1).has_value());
  EXPECT_FALSE(cache.Get(2).has_value());
  cache.PutIfUnchanged(3, "three", before);
  EXPECT_FALSE(cache.Get(3).has_value());
}

TEST(TtlCacheTest, EmptiesWhenFull) {
  TtlCache<int, std::string> cache(absl::Hours(1), 2);
  cache.Put(1, "one");
  cache.Put(2, "two");
  cache.Put(3, "three");
  EXPECT_FALSE(cache.Get(1).has_value());
  EXPECT_EQ(cache.Get(3).value_or(""), "three");
}

}  // namespace
}  // namespace livecommerce::common
