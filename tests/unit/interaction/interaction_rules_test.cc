// The interaction service's pure rules: comment validation and refusals, the like-batch rule,
// settings from the environment, what a content check does to a comment, and stream entries.
#include <cstdlib>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/interaction/domain/comment.h"
#include "services/interaction/domain/limits.h"

namespace livecommerce::interaction {
namespace {

TEST(CommentTextTest, AcceptsUpToTheLimitInCharactersNotBytes) {
  std::string chinese;
  for (int i = 0; i < 200; ++i) chinese += "好";  // 3 bytes each
  EXPECT_TRUE(ValidateCommentText(chinese, 200).ok());
  absl::Status s = ValidateCommentText(chinese + "好", 200);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RefusalReason(s.message()), kTooLong);
}

TEST(CommentTextTest, RefusesEmptyBlankAndMalformedText) {
  EXPECT_EQ(ValidateCommentText("", 200).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateCommentText("  \n ", 200).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateCommentText("bad \xff byte", 200).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateCommentText("bell \x07", 200).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateCommentText("two\nlines", 200).ok());
  // A huge text is too long before anything else looks at it.
  EXPECT_EQ(RefusalReason(ValidateCommentText(std::string(100000, 'a'), 200).message()), kTooLong);
}

TEST(CountCharsTest, CountsCodePoints) {
  EXPECT_EQ(CountChars(""), 0u);
  EXPECT_EQ(CountChars("abc"), 3u);
  EXPECT_EQ(CountChars("黑色25cm"), 6u);
  EXPECT_EQ(CountChars("👜"), 1u);
}

TEST(RefusalTest, EachReasonHasItsCodeAndParsesBack) {
  struct Case {
    const char* reason;
    absl::StatusCode code;
  } cases[] = {
      {kNotInRoom, absl::StatusCode::kPermissionDenied},
      {kBanned, absl::StatusCode::kPermissionDenied},
      {kMuted, absl::StatusCode::kPermissionDenied},
      {kRoomNotLive, absl::StatusCode::kFailedPrecondition},
      {kTooLong, absl::StatusCode::kInvalidArgument},
      {kBlockedWord, absl::StatusCode::kInvalidArgument},
      {kUnsafeContent, absl::StatusCode::kInvalidArgument},
      {kTooFast, absl::StatusCode::kResourceExhausted},
      {kRoomBusy, absl::StatusCode::kResourceExhausted},
  };
  for (const Case& c : cases) {
    absl::Status s = Refusal(c.reason, "a sentence");
    EXPECT_EQ(s.code(), c.code) << c.reason;
    EXPECT_EQ(RefusalReason(s.message()), c.reason);
  }
  EXPECT_EQ(RefusalReason("text: is required"), "");
  EXPECT_EQ(RefusalReason("no reason"), "");
}

TEST(LikeBatchTest, CountIsOneToFiftyAndTheBatchNeedsAnId) {
  EXPECT_TRUE(ValidateLikeBatch("b-1", 1, 50).ok());
  EXPECT_TRUE(ValidateLikeBatch("b-1", 50, 50).ok());
  EXPECT_EQ(ValidateLikeBatch("b-1", 0, 50).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateLikeBatch("b-1", 51, 50).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateLikeBatch("b-1", -3, 50).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateLikeBatch("", 1, 50).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateLikeBatch("has space", 1, 50).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ValidateLikeBatch("b", 51, 50).message().find("count"), std::string::npos);
}

TEST(AuthorRoleTest, BadgesFollowTheRole) {
  EXPECT_EQ(*AuthorRoleOf(common::Role::kViewer), v1::AUTHOR_ROLE_VIEWER);
  EXPECT_EQ(*AuthorRoleOf(common::Role::kOps), v1::AUTHOR_ROLE_HOST);
  EXPECT_EQ(*AuthorRoleOf(common::Role::kAssociate), v1::AUTHOR_ROLE_ASSOCIATE);
  EXPECT_EQ(AuthorRoleOf(common::Role::kFinance).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(AuthorRoleName(v1::AUTHOR_ROLE_HOST), "host");
  EXPECT_TRUE(IsStaff(common::Role::kOps));
  EXPECT_TRUE(IsStaff(common::Role::kAssociate));
  EXPECT_FALSE(IsStaff(common::Role::kViewer));
}

TEST(DisposeTest, ReviewHoldsRiskyRefusesUnavailableFollowsTheBrand) {
  EXPECT_EQ(Dispose(CheckOutcome::kPass, true), Disposition::kDeliver);
  EXPECT_EQ(Dispose(CheckOutcome::kNotConfigured, true), Disposition::kDeliver);
  EXPECT_EQ(Dispose(CheckOutcome::kReview, false), Disposition::kHold);
  EXPECT_EQ(Dispose(CheckOutcome::kRisky, false), Disposition::kRefuse);
  EXPECT_EQ(Dispose(CheckOutcome::kUnavailable, true), Disposition::kHold);
  EXPECT_EQ(Dispose(CheckOutcome::kUnavailable, false), Disposition::kDeliver);
}

class OptionsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    unsetenv("LC_COMMENT_MIN_INTERVAL_MS");
    unsetenv("LC_COMMENT_MAX_CHARS");
  }
};

TEST_F(OptionsTest, DefaultsAndOverrides) {
  absl::StatusOr<InteractionOptions> defaults = LoadInteractionOptions();
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->max_comment_chars, 200);
  EXPECT_EQ(defaults->max_likes_per_batch, 50);
  EXPECT_EQ(defaults->recent_comments, 50);
  setenv("LC_COMMENT_MIN_INTERVAL_MS", "1500", 1);
  absl::StatusOr<InteractionOptions> set = LoadInteractionOptions();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->comment_min_interval, absl::Milliseconds(1500));
}

TEST_F(OptionsTest, BadValuesNameTheVariable) {
  setenv("LC_COMMENT_MIN_INTERVAL_MS", "soon", 1);
  absl::StatusOr<InteractionOptions> bad = LoadInteractionOptions();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("LC_COMMENT_MIN_INTERVAL_MS"), std::string::npos);
  unsetenv("LC_COMMENT_MIN_INTERVAL_MS");
  setenv("LC_COMMENT_MAX_CHARS", "0", 1);
  bad = LoadInteractionOptions();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("LC_COMMENT_MAX_CHARS"), std::string::npos);
}

TEST(StreamEntryTest, CommentEntryCarriesWhatAGatewayNeeds) {
  CommentRecord r;
  r.id = 42;
  r.room_id = 7;
  r.session_id = 9;
  r.author_id = "sa-1";
  r.author_role = v1::AUTHOR_ROLE_ASSOCIATE;
  r.text = "黑色 \"25\" 还有吗?";
  r.reply_to = 41;
  r.created_at = absl::FromUnixMillis(1800000000123);
  nlohmann::json j = nlohmann::json::parse(CommentEntry(r));
  EXPECT_EQ(j["v"], 1);
  EXPECT_EQ(j["type"], "comment");
  EXPECT_EQ(j["comment_id"], "42");
  EXPECT_EQ(j["room_id"], "7");
  EXPECT_EQ(j["session_id"], "9");
  EXPECT_EQ(j["badge"], "associate");
  EXPECT_EQ(j["text"], r.text);
  EXPECT_EQ(j["reply_to"], "41");
  EXPECT_EQ(j["at"], "2027-01-15T08:00:00.123Z");

  nlohmann::json deleted = nlohmann::json::parse(CommentDeletedEntry(r, r.created_at));
  EXPECT_EQ(deleted["type"], "comment_deleted");
  EXPECT_EQ(deleted["comment_id"], "42");
  EXPECT_FALSE(deleted.contains("text"));
  nlohmann::json muted = nlohmann::json::parse(
      ViewerMutedEntry(7, "oV1", r.created_at + absl::Minutes(10), r.created_at));
  EXPECT_EQ(muted["type"], "viewer_muted");
  EXPECT_EQ(muted["viewer_id"], "oV1");
  EXPECT_EQ(muted["until"], "2027-01-15T08:10:00.123Z");
  EXPECT_EQ(nlohmann::json::parse(AnnouncementEntry(7, "", r.created_at))["type"], "announcement");
}

}  // namespace
TEST(CommentViewTest, OtherViewersSeeAnAliasNeverTheOpenid) {
  CommentRecord r;
  r.id = 5;
  r.room_id = 7;
  r.author_id = "oAliceOpenid";
  r.author_role = v1::AUTHOR_ROLE_VIEWER;
  r.text = "hi";
  v1::Comment theirs;
  ToViewerProto(r, "oBobOpenid", &theirs);
  EXPECT_EQ(theirs.author_id(), "");
  EXPECT_FALSE(theirs.own());
  EXPECT_EQ(theirs.author_alias().size(), 4u);
  v1::Comment mine;
  ToViewerProto(r, "oAliceOpenid", &mine);
  EXPECT_EQ(mine.author_id(), "oAliceOpenid");
  EXPECT_TRUE(mine.own());
  // Stable per room and author, different across rooms and authors, hex.
  EXPECT_EQ(AuthorAlias(7, "oAliceOpenid"), theirs.author_alias());
  EXPECT_EQ(AuthorAlias(7, "oAliceOpenid"), AuthorAlias(7, "oAliceOpenid"));
  int same_other_room = 0;
  for (int room = 8; room < 40; ++room) {
    if (AuthorAlias(room, "oAliceOpenid") == theirs.author_alias()) ++same_other_room;
  }
  EXPECT_LT(same_other_room, 2);
  EXPECT_NE(AuthorAlias(7, "oBobOpenid"), AuthorAlias(7, "oAliceOpenid"));
  EXPECT_EQ(theirs.author_alias().find_first_not_of("0123456789abcdef"), std::string::npos);
  // The stream entry carries the alias for the gateway to show instead of the openid.
  EXPECT_EQ(nlohmann::json::parse(CommentEntry(r))["author_alias"], theirs.author_alias());
}

}  // namespace livecommerce::interaction
