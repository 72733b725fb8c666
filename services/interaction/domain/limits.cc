#include "services/interaction/domain/limits.h"

#include "absl/strings/str_cat.h"
#include "services/common/config.h"
#include "services/common/principal.h"
#include "services/common/status.h"
#include "services/common/validation.h"

namespace livecommerce::interaction {

absl::StatusOr<InteractionOptions> LoadInteractionOptions() {
  InteractionOptions o;
  LC_ASSIGN_OR_RETURN(int64_t max_chars, common::EnvInt("LC_COMMENT_MAX_CHARS", 200, 1, 2000));
  o.max_comment_chars = static_cast<int>(max_chars);
  LC_ASSIGN_OR_RETURN(o.comment_min_interval,
                      common::EnvMillis("LC_COMMENT_MIN_INTERVAL_MS", 3000, 0, 3600 * 1000));
  LC_ASSIGN_OR_RETURN(int64_t room_cap,
                      common::EnvInt("LC_ROOM_COMMENTS_PER_SECOND", 200, 1, 100000));
  o.room_comments_per_second = static_cast<int>(room_cap);
  LC_ASSIGN_OR_RETURN(int64_t recent, common::EnvInt("LC_RECENT_COMMENTS", 50, 1, 500));
  o.recent_comments = static_cast<int>(recent);
  LC_ASSIGN_OR_RETURN(int64_t maxlen, common::EnvInt("LC_CHAT_STREAM_MAXLEN", 500, 50, 100000));
  o.stream_max_len = static_cast<int>(maxlen);
  LC_ASSIGN_OR_RETURN(int64_t per_batch, common::EnvInt("LC_LIKES_MAX_PER_BATCH", 50, 1, 1000));
  o.max_likes_per_batch = static_cast<int>(per_batch);
  LC_ASSIGN_OR_RETURN(int64_t batches, common::EnvInt("LC_LIKE_BATCHES_PER_SECOND", 5, 1, 1000));
  o.like_batches_per_second = static_cast<int>(batches);
  LC_ASSIGN_OR_RETURN(o.like_batch_ttl, common::EnvMillis("LC_LIKE_BATCH_TTL_MS", 6 * 3600 * 1000,
                                                          60 * 1000, 7 * 24 * 3600 * 1000LL));
  LC_ASSIGN_OR_RETURN(o.likes_flush_interval,
                      common::EnvMillis("LC_LIKES_FLUSH_MS", 5000, 100, 3600 * 1000));
  LC_ASSIGN_OR_RETURN(o.blocked_words_refresh,
                      common::EnvMillis("LC_BLOCKED_WORDS_REFRESH_MS", 1000, 0, 3600 * 1000));
  LC_ASSIGN_OR_RETURN(o.room_access_timeout,
                      common::EnvMillis("LC_ROOM_ACCESS_TIMEOUT_MS", 2000, 10, 60 * 1000));
  return o;
}

absl::Status Refusal(absl::string_view reason, absl::string_view sentence) {
  std::string message = absl::StrCat(reason, ": ", sentence);
  if (reason == kNotInRoom || reason == kBanned || reason == kMuted) {
    return absl::PermissionDeniedError(message);
  }
  if (reason == kRoomNotLive) return absl::FailedPreconditionError(message);
  if (reason == kTooFast || reason == kRoomBusy) return absl::ResourceExhaustedError(message);
  return absl::InvalidArgumentError(message);
}

std::string RefusalReason(absl::string_view message) {
  size_t colon = message.find(": ");
  if (colon == absl::string_view::npos) return "";
  absl::string_view reason = message.substr(0, colon);
  for (absl::string_view known : {kNotInRoom, kBanned, kMuted, kRoomNotLive, kTooLong, kBlockedWord,
                                  kUnsafeContent, kTooFast, kRoomBusy}) {
    if (reason == known) return std::string(reason);
  }
  return "";
}

size_t CountChars(absl::string_view text) {
  size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

absl::Status ValidateCommentText(absl::string_view text, int max_chars) {
  // 4 bytes per character at most: the byte bound only keeps absurd inputs out before counting.
  if (text.size() > static_cast<size_t>(max_chars) * 4 + 4 ||
      (common::IsValidUtf8(text) && CountChars(text) > static_cast<size_t>(max_chars))) {
    return Refusal(kTooLong, absl::StrCat("text: is longer than ", max_chars, " characters"));
  }
  LC_RETURN_IF_ERROR(common::ValidateText("text", text, text.size() + 1, /*required=*/true,
                                          /*multiline=*/true));
  if (text.find_first_not_of(" \t\r\n") == absl::string_view::npos) {
    return common::InvalidField("text", "is blank");
  }
  return absl::OkStatus();
}

absl::Status ValidateLikeBatch(absl::string_view batch_id, int64_t count, int max_count) {
  if (!common::IsValidId(batch_id)) {
    return common::InvalidField("batch_id", "must be 1..128 of [A-Za-z0-9_.:-]");
  }
  if (count < 1 || count > max_count) {
    return common::InvalidField("count", absl::StrCat("must be 1..", max_count));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::AuthorRole> AuthorRoleOf(common::Role role) {
  switch (role) {
    case common::Role::kViewer:
      return v1::AUTHOR_ROLE_VIEWER;
    case common::Role::kOps:
      return v1::AUTHOR_ROLE_HOST;
    case common::Role::kAssociate:
      return v1::AUTHOR_ROLE_ASSOCIATE;
    default:
      return absl::PermissionDeniedError(
          absl::StrCat("the ", common::RoleName(role), " role may not post comments"));
  }
}

absl::string_view AuthorRoleName(v1::AuthorRole role) {
  switch (role) {
    case v1::AUTHOR_ROLE_HOST:
      return "host";
    case v1::AUTHOR_ROLE_ASSOCIATE:
      return "associate";
    default:
      return "viewer";
  }
}

Disposition Dispose(CheckOutcome outcome, bool hold_when_unavailable) {
  switch (outcome) {
    case CheckOutcome::kPass:
    case CheckOutcome::kNotConfigured:
      return Disposition::kDeliver;
    case CheckOutcome::kReview:
      return Disposition::kHold;
    case CheckOutcome::kRisky:
      return Disposition::kRefuse;
    case CheckOutcome::kUnavailable:
      return hold_when_unavailable ? Disposition::kHold : Disposition::kDeliver;
  }
  return Disposition::kHold;
}

}  // namespace livecommerce::interaction
