#include "services/common/logging.h"

#include <cstdlib>
#include <sstream>

#include "gtest/gtest.h"
#include "services/common/request_id.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

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

TEST(LoggingTest, LinesCarryTheThreadsRequestId) {
  std::ostringstream out;
  ASSERT_TRUE(InitLogging("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out)).ok());
  spdlog::info("outside");
  {
    ScopedRequestId scoped("req-42");
    spdlog::info("inside");
  }
  setenv("LC_LOG_FORMAT", "json", 1);
  ASSERT_TRUE(InitLogging("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out)).ok());
  {
    ScopedRequestId scoped("req-43");
    spdlog::info("inside json");
  }
  unsetenv("LC_LOG_FORMAT");
  std::string text = out.str();
  EXPECT_NE(text.find("[test] outside"), std::string::npos) << text;
  EXPECT_NE(text.find("[test] rid=req-42 inside"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("request_id":"req-43","msg":"inside json")"), std::string::npos) << text;
  ASSERT_TRUE(InitLogging("test").ok());
}

}  // namespace
}  // namespace livecommerce::common
