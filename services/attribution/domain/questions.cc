#include "services/attribution/domain/questions.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/principal.h"
#include "services/common/status.h"

namespace livecommerce::attribution {

namespace {

// What associate_alerts keeps of the other ids (VARCHAR(64)).
constexpr size_t kMaxExternalId = 64;

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD
constexpr char kEllipsis[] = "\xE2\x80\xA6";     // U+2026

// The length of the well-formed UTF-8 sequence (RFC 3629) that `s` starts with; 0 when the first
// byte does not start one (no overlong forms, surrogates or code points past U+10FFFF).
size_t SequenceLength(absl::string_view s) {
  auto byte = [&s](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80;  // the bounds of the second byte, narrower after some leads
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead == 0xE0) {
    length = 3;
    low = 0xA0;
  } else if (lead == 0xED) {
    length = 3;
    high = 0x9F;
  } else if (lead >= 0xE1 && lead <= 0xEF) {
    length = 3;
  } else if (lead == 0xF0) {
    length = 4;
    low = 0x90;
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    length = 4;
  } else if (lead == 0xF4) {
    length = 4;
    high = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

absl::Status CheckId(absl::string_view field, const std::string& value, bool required) {
  if (value.empty()) {
    return required ? common::InvalidField(field, "is required") : absl::OkStatus();
  }
  if (value.size() > kMaxExternalId || !common::IsValidId(value)) {
    return common::InvalidField(field, "is not a valid id");
  }
  return absl::OkStatus();
}

}  // namespace

bool IsClientComment(const events::v1::CommentPosted& comment) {
  return comment.author_role() == kViewerAuthorRole;
}

absl::Status CheckQuestionComment(const events::v1::CommentPosted& comment) {
  LC_RETURN_IF_ERROR(CheckId("comment_id", comment.comment_id(), true));
  if (!common::IsValidId(comment.author_id())) {
    return common::InvalidField("author_id",
                                comment.author_id().empty() ? "is required" : "is not a valid id");
  }
  LC_RETURN_IF_ERROR(CheckId("room_id", comment.room_id(), false));
  LC_RETURN_IF_ERROR(CheckId("session_id", comment.session_id(), false));
  return absl::OkStatus();
}

int64_t BoundRecipient(const std::optional<BindingFact>& binding, absl::Time at) {
  if (!binding.has_value() || !binding->associate.active || !BindingInForce(*binding, at)) {
    return 0;
  }
  return binding->associate.id;
}

int64_t QuestionRecipient(const std::optional<BindingFact>& binding,
                          const std::optional<AssociateRef>& invite, absl::Time at) {
  if (int64_t bound = BoundRecipient(binding, at); bound != 0) return bound;
  if (invite.has_value() && invite->active && invite->id > 0) return invite->id;
  return 0;
}

std::string QuestionExcerpt(absl::string_view text, int max_chars) {
  if (max_chars <= 0) return "";
  // One more character than fits tells whether the text must be cut.
  std::vector<absl::string_view> chars;
  size_t limit = static_cast<size_t>(max_chars) + 1;
  while (!text.empty() && chars.size() < limit) {
    size_t length = SequenceLength(text);
    chars.push_back(length == 0 ? absl::string_view(kReplacement) : text.substr(0, length));
    text.remove_prefix(length == 0 ? 1 : length);
  }
  bool cut = chars.size() > static_cast<size_t>(max_chars);
  if (cut) chars.resize(static_cast<size_t>(max_chars) - 1);
  std::string out;
  for (absl::string_view c : chars) absl::StrAppend(&out, c);
  if (cut) absl::StrAppend(&out, kEllipsis);
  return out;
}

std::string QuestionDedupeKey(absl::string_view comment_id) {
  return absl::StrCat("question:", comment_id);
}

}  // namespace livecommerce::attribution
