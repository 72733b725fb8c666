#include "services/common/proto_util.h"

#include "gtest/gtest.h"

namespace livecommerce::common {
namespace {

TEST(ProtoUtilTest, TimestampRoundTrip) {
  absl::Time t = absl::FromUnixMicros(1764139519123456);
  google::protobuf::Timestamp ts;
  ToTimestamp(t, &ts);
  EXPECT_EQ(ts.seconds(), 1764139519);
  EXPECT_EQ(ts.nanos(), 123456000);
  EXPECT_EQ(FromTimestamp(ts), t);
}

TEST(ProtoUtilTest, BadTimestampNamesField) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(1);
  ts.set_nanos(-5);
  absl::StatusOr<absl::Time> t = ParseTimestamp("scheduled_start", ts);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("scheduled_start"), absl::string_view::npos);
}

TEST(ProtoUtilTest, ParseId) {
  EXPECT_EQ(*ParseId("room_id", "42"), 42);
  for (const char* bad : {"", "0", "-3", "042", "4x", "99999999999999999999", " 4"}) {
    absl::StatusOr<int64_t> id = ParseId("room_id", bad);
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(id.status().message().find("room_id"), absl::string_view::npos);
  }
}

TEST(ProtoUtilTest, PageTokens) {
  EXPECT_EQ(*DecodePageToken(""), 0);
  EXPECT_EQ(*DecodePageToken(EncodePageToken(987)), 987);
  EXPECT_FALSE(DecodePageToken("not-a-token").ok());
  EXPECT_EQ(*PageSize(0, 20, 100), 20);
  EXPECT_EQ(*PageSize(5, 20, 100), 5);
  EXPECT_FALSE(PageSize(101, 20, 100).ok());
  EXPECT_FALSE(PageSize(-1, 20, 100).ok());
}

TEST(ProtoUtilTest, OnePagingConvention) {
  absl::StatusOr<PageRequest> page = ParsePageRequest(0, "", 3, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->after, 0);
  EXPECT_EQ(page->limit, 3);
  EXPECT_EQ(page->fetch(), 4);  // one row more than the page, to know whether another follows
  page = ParsePageRequest(2, EncodePageToken(41), 3, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->after, 41);
  EXPECT_EQ(page->limit, 2);
  EXPECT_EQ(ParsePageRequest(11, "", 3, 10).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePageRequest(0, "junk", 3, 10).status().code(), absl::StatusCode::kInvalidArgument);

  // A list of exactly a page's rows ends there: no token, so never an empty last page.
  std::vector<int> rows = {1, 2, 3};
  EXPECT_FALSE(TrimPage(rows, 3));
  EXPECT_EQ(rows.size(), 3u);
  rows = {1, 2, 3, 4};
  EXPECT_TRUE(TrimPage(rows, 3));
  EXPECT_EQ(rows, (std::vector<int>{1, 2, 3}));
  rows = {};
  EXPECT_FALSE(TrimPage(rows, 3));
}

}  // namespace
}  // namespace livecommerce::common
