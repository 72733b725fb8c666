// Questions reach the associate: who is asked, which comments count, what the alert keeps.
#include "services/attribution/domain/questions.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "services/common/validation.h"

namespace livecommerce::attribution {
namespace {

const absl::Time kAt = absl::FromUnixSeconds(1800000000);
const AssociateRef kAlice{11, 1, true};
const AssociateRef kBob{12, 2, true};
const AssociateRef kLeft{13, 1, false};

BindingFact Bound(AssociateRef who, absl::Time from, absl::Time until) {
  return BindingFact{who, from, until};
}

// The number of code points of well-formed UTF-8.
int Chars(const std::string& s) {
  int n = 0;
  for (unsigned char b : s) n += (b & 0xC0) != 0x80;
  return n;
}

TEST(QuestionRecipientTest, TheBoundAssociateIsAskedBeforeTheInvitingOne) {
  std::optional<BindingFact> binding = Bound(kAlice, kAt - absl::Hours(1), kAt + absl::Hours(1));
  EXPECT_EQ(QuestionRecipient(binding, kBob, kAt), kAlice.id);
  EXPECT_EQ(QuestionRecipient(binding, std::nullopt, kAt), kAlice.id);
  EXPECT_EQ(BoundRecipient(binding, kAt), kAlice.id);
}

TEST(QuestionRecipientTest, ProtectionEdgesDecideWhetherTheBindingHolds) {
  // Bound exactly at the comment: in force.
  EXPECT_EQ(QuestionRecipient(Bound(kAlice, kAt, kAt + absl::Hours(1)), kBob, kAt), kAlice.id);
  // Protection ending exactly at the comment: over, so the invite decides.
  EXPECT_EQ(QuestionRecipient(Bound(kAlice, kAt - absl::Hours(1), kAt), kBob, kAt), kBob.id);
  EXPECT_EQ(BoundRecipient(Bound(kAlice, kAt - absl::Hours(1), kAt), kAt), 0);
  // Bound only after the comment.
  EXPECT_EQ(QuestionRecipient(Bound(kAlice, kAt + absl::Seconds(1), kAt + absl::Hours(1)),
                              std::nullopt, kAt),
            0);
}

TEST(QuestionRecipientTest, AnAssociateWhoLeftIsNeverAsked) {
  std::optional<BindingFact> left = Bound(kLeft, kAt - absl::Hours(1), kAt + absl::Hours(1));
  EXPECT_EQ(QuestionRecipient(left, kBob, kAt), kBob.id);
  EXPECT_EQ(QuestionRecipient(left, std::nullopt, kAt), 0);
  EXPECT_EQ(QuestionRecipient(std::nullopt, kLeft, kAt), 0);
}

TEST(QuestionRecipientTest, NobodysClientAsksNobody) {
  EXPECT_EQ(QuestionRecipient(std::nullopt, std::nullopt, kAt), 0);
  EXPECT_EQ(QuestionRecipient(std::nullopt, kBob, kAt), kBob.id);
  EXPECT_EQ(QuestionRecipient(std::nullopt, AssociateRef{0, 0, true}, kAt), 0);
}

TEST(QuestionCommentTest, OnlyViewersCommentsAreQuestions) {
  events::v1::CommentPosted c;
  c.set_author_role("viewer");
  EXPECT_TRUE(IsClientComment(c));
  for (const char* staff : {"host", "associate", "", "Viewer"}) {
    c.set_author_role(staff);
    EXPECT_FALSE(IsClientComment(c)) << staff;
  }
}

TEST(QuestionCommentTest, IdsThatDoNotFitAreRefusedNamingTheField) {
  events::v1::CommentPosted c;
  c.set_comment_id("981");
  c.set_author_id("oAbc-12_x");
  c.set_room_id("42");
  c.set_session_id("77");
  c.set_text("is the 25 cm in black still available?");
  EXPECT_TRUE(CheckQuestionComment(c).ok());
  c.set_session_id("");
  EXPECT_TRUE(CheckQuestionComment(c).ok());  // a room between sessions

  auto refused = [](events::v1::CommentPosted bad, const std::string& field) {
    absl::Status s = CheckQuestionComment(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_TRUE(absl::StartsWith(s.message(), field + ":")) << s.message();
    EXPECT_EQ(s.message().find("black"), absl::string_view::npos) << "the text is never quoted";
  };
  events::v1::CommentPosted bad = c;
  bad.set_comment_id("");
  refused(bad, "comment_id");
  bad = c;
  bad.set_comment_id(std::string(65, '9'));
  refused(bad, "comment_id");
  bad = c;
  bad.set_author_id("");
  refused(bad, "author_id");
  bad = c;
  bad.set_author_id("o Abc");
  refused(bad, "author_id");
  bad = c;
  bad.set_author_id(std::string(129, 'o'));
  refused(bad, "author_id");
  bad = c;
  bad.set_room_id("42\n");
  refused(bad, "room_id");
  bad = c;
  bad.set_session_id(std::string(65, '7'));
  refused(bad, "session_id");
}

TEST(QuestionExcerptTest, ShortTextIsKeptAsItIs) {
  EXPECT_EQ(QuestionExcerpt(""), "");
  EXPECT_EQ(QuestionExcerpt("是的，黑色还有吗？"), "是的，黑色还有吗？");
  std::string exactly(kQuestionTextMaxChars, 'a');
  EXPECT_EQ(QuestionExcerpt(exactly), exactly);
}

TEST(QuestionExcerptTest, LongTextIsCutAtACharacterAndMarked) {
  std::string han;
  for (int i = 0; i < 300; ++i) han += "黑";  // 3 bytes each
  std::string cut = QuestionExcerpt(han);
  EXPECT_EQ(Chars(cut), kQuestionTextMaxChars);
  EXPECT_TRUE(common::IsValidUtf8(cut));
  EXPECT_TRUE(absl::EndsWith(cut, "…"));
  EXPECT_TRUE(absl::StartsWith(cut, "黑黑黑"));
  // One character over the limit is cut too.
  std::string over(kQuestionTextMaxChars + 1, 'b');
  std::string want(kQuestionTextMaxChars - 1, 'b');
  want.append("…");
  EXPECT_EQ(QuestionExcerpt(over), want);
  // Four-byte characters (emoji) are never split.
  std::string emoji;
  for (int i = 0; i < 5; ++i) emoji += "😀";
  EXPECT_EQ(QuestionExcerpt(emoji, 3), "😀😀…");
  EXPECT_EQ(QuestionExcerpt("abc", 1), "…");
  EXPECT_EQ(QuestionExcerpt("abc", 0), "");
}

TEST(QuestionExcerptTest, IllFormedUtf8BecomesReplacementCharacters) {
  // A stray continuation byte, a truncated sequence, an overlong form and a surrogate.
  for (std::string bad : {std::string("a\x80z"), std::string("a\xE9z"), std::string("a\xC0\xAFz"),
                          std::string("a\xED\xA0\x80z"), std::string("a\xF4\x90\x80\x80z")}) {
    std::string out = QuestionExcerpt(bad);
    EXPECT_TRUE(common::IsValidUtf8(out)) << out;
    EXPECT_TRUE(absl::StartsWith(out, "a\xEF\xBF\xBD")) << out;
    EXPECT_TRUE(absl::EndsWith(out, "z")) << out;
  }
  // Each invalid byte counts as one character against the limit.
  EXPECT_EQ(QuestionExcerpt(std::string(10, '\xFF'), 4), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD…");
}

TEST(QuestionDedupeKeyTest, OneKeyPerComment) {
  EXPECT_EQ(QuestionDedupeKey("981"), "question:981");
  EXPECT_NE(QuestionDedupeKey("981"), QuestionDedupeKey("98"));
}

}  // namespace
}  // namespace livecommerce::attribution
