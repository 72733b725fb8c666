#include "services/common/validation.h"

#include "gtest/gtest.h"

namespace livecommerce::common {
namespace {

TEST(ValidationTest, Utf8) {
  EXPECT_TRUE(IsValidUtf8("hello"));
  EXPECT_TRUE(IsValidUtf8("直播间 ✨"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xe2\x28\xa1"));  // bad continuation
  EXPECT_FALSE(IsValidUtf8("\xff"));
  // What protobuf refuses in a string field (found by tests/fuzz/json_binding_fuzz).
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong 3-byte
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // UTF-16 surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xf0\x8f\xbf\xbf"));  // overlong 4-byte
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("a\xe2\x82"));         // truncated at the end
  EXPECT_TRUE(IsValidUtf8("\xed\x9f\xbf"));       // U+D7FF
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));   // U+1F600
}

TEST(ValidationTest, TextRules) {
  EXPECT_TRUE(ValidateText("title", "Spring show", 200, true).ok());
  absl::Status empty = ValidateText("title", "", 200, true);
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.message().find("title"), absl::string_view::npos);
  EXPECT_FALSE(ValidateText("title", std::string(201, 'a'), 200, true).ok());
  EXPECT_FALSE(ValidateText("title", "a\nb", 200, true).ok());
  EXPECT_TRUE(ValidateText("description", "a\nb", 200, false, true).ok());
  EXPECT_TRUE(ValidateText("description", "", 200, false).ok());
}

}  // namespace
}  // namespace livecommerce::common
