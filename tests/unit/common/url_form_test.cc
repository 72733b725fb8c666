#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "services/common/http_client.h"

namespace livecommerce::common {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

Fields Parse(absl::string_view text) {
  absl::StatusOr<Fields> fields = ParseFormUrlEncoded(text);
  EXPECT_TRUE(fields.ok()) << fields.status();
  return fields.ok() ? *fields : Fields{};
}

TEST(ParseFormUrlEncodedTest, DecodesPlusAndPercentEscapes) {
  EXPECT_EQ(Parse("a=1&b=x+y&c=%41%2b%2F%25&%6Eame=v"),
            (Fields{{"a", "1"}, {"b", "x y"}, {"c", "A+/%"}, {"name", "v"}}));
  // A literal '+' only survives as %2B.
  EXPECT_EQ(Parse("key=a%2Bb"), (Fields{{"key", "a+b"}}));
  EXPECT_EQ(Parse("key=a+b"), (Fields{{"key", "a b"}}));
}

TEST(ParseFormUrlEncodedTest, KeepsRepeatedFieldsInOrder) {
  EXPECT_EQ(Parse("name=one&type=live&name=two"),
            (Fields{{"name", "one"}, {"type", "live"}, {"name", "two"}}));
}

TEST(ParseFormUrlEncodedTest, HandlesEmptyAndBareFields) {
  EXPECT_EQ(Parse(""), Fields{});
  EXPECT_EQ(Parse("&&a=1&"), (Fields{{"a", "1"}}));
  EXPECT_EQ(Parse("flag&swfurl=&=v"), (Fields{{"flag", ""}, {"swfurl", ""}, {"", "v"}}));
  // Only the first '=' separates.
  EXPECT_EQ(Parse("a=b=c"), (Fields{{"a", "b=c"}}));
}

TEST(ParseFormUrlEncodedTest, RefusesBrokenPercentEscapes) {
  for (absl::string_view bad : {"a=%zz", "a=%4", "a=%", "%g1=1", "a=1&b=%0"}) {
    absl::StatusOr<Fields> fields = ParseFormUrlEncoded(bad);
    EXPECT_EQ(fields.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(PercentEncodeTest, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(PercentEncode("Ab9-._~"), "Ab9-._~");
  EXPECT_EQ(PercentEncode("a b+/?&=%"), "a%20b%2B%2F%3F%26%3D%25");
  EXPECT_EQ(PercentEncode("\xe7\x9b\xb4"), "%E7%9B%B4");
  // What PercentEncode writes, the form parser reads back.
  EXPECT_EQ(Parse("k=" + PercentEncode("x+y /z")), (Fields{{"k", "x+y /z"}}));
}

TEST(ParseHttpUrlTest, SplitsHostPortAndTarget) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl("http://127.0.0.1:8088/control");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme, "http");
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, "8088");
  EXPECT_EQ(url->target, "/control");
  EXPECT_EQ(HostHeader(*url), "127.0.0.1:8088");

  url = ParseHttpUrl("https://live.tencentcloudapi.com");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(HostHeader(*url), "live.tencentcloudapi.com");

  url = ParseHttpUrl("http://example.com?x=1");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->target, "/?x=1");
  EXPECT_EQ(HostHeader(*url), "example.com");
}

TEST(ParseHttpUrlTest, RefusesWhatItCannotFetch) {
  for (absl::string_view bad :
       {"ftp://example.com/", "http://", "http://user@example.com/", "http://example.com:0/",
        "http://example.com:70000/", "http://[::1]/", "http://example.com/a b",
        "http://example.com/#frag", "example.com", "http://exa_mple.com/"}) {
    EXPECT_EQ(ParseHttpUrl(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace livecommerce::common
