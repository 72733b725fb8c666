#include "services/common/logging.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace livecommerce::common {
namespace {

TEST(LoggingTest, JsonEscape) {
  EXPECT_EQ(JsonEscape("plain"), "plain");
  EXPECT_EQ(JsonEscape("a\"b\\c\nd\te"), "a\\\"b\\\\c\\nd\\te");
  EXPECT_EQ(JsonEscape(std::string("\x01", 1)), "\\u0001");
  EXPECT_EQ(JsonEscape("直播"), "直播");
}

TEST(LoggingTest, RejectsUnknownFormatAndLevel) {
  setenv("LC_LOG_FORMAT", "xml", 1);
  absl::Status bad_format = InitLogging("test");
  EXPECT_EQ(bad_format.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_format.message().find("LC_LOG_FORMAT"), absl::string_view::npos);
  setenv("LC_LOG_FORMAT", "json", 1);
  setenv("LC_LOG_LEVEL", "loud", 1);
  EXPECT_FALSE(InitLogging("test").ok());
  setenv("LC_LOG_LEVEL", "info", 1);
  EXPECT_TRUE(InitLogging("test").ok());
  unsetenv("LC_LOG_FORMAT");
  unsetenv("LC_LOG_LEVEL");
}

}  // namespace
}  // namespace livecommerce::common
