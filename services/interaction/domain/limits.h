#pragma once

// The interaction service's rules, pure logic: settings, comment validation, refusals and the
// like-batch rule. No I/O.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "livecommerce/v1/interaction.pb.h"
#include "services/common/principal.h"

namespace livecommerce::interaction {

struct InteractionOptions {
  int max_comment_chars = 200;                              // LC_COMMENT_MAX_CHARS, 1..2000
  absl::Duration comment_min_interval = absl::Seconds(3);   // LC_COMMENT_MIN_INTERVAL_MS
  int room_comments_per_second = 200;                       // LC_ROOM_COMMENTS_PER_SECOND
  int recent_comments = 50;                                 // LC_RECENT_COMMENTS, 1..500
  int stream_max_len = 500;                                 // LC_CHAT_STREAM_MAXLEN
  int max_likes_per_batch = 50;                             // LC_LIKES_MAX_PER_BATCH, 1..1000
  int like_batches_per_second = 5;                          // LC_LIKE_BATCHES_PER_SECOND
  absl::Duration like_batch_ttl = absl::Hours(6);           // LC_LIKE_BATCH_TTL_MS
  absl::Duration likes_flush_interval = absl::Seconds(5);   // LC_LIKES_FLUSH_MS
  absl::Duration blocked_words_refresh = absl::Seconds(1);  // LC_BLOCKED_WORDS_REFRESH_MS
  absl::Duration room_access_timeout = absl::Seconds(2);    // LC_ROOM_ACCESS_TIMEOUT_MS
};

// From the environment (the variables above, each with its default). INVALID_ARGUMENT naming the
// variable when one is malformed or out of range.
absl::StatusOr<InteractionOptions> LoadInteractionOptions();

// Machine-readable refusal reasons: a refusal's message is "<reason>: <sentence>".
inline constexpr char kNotInRoom[] = "not_in_room";
inline constexpr char kBanned[] = "banned";
inline constexpr char kMuted[] = "muted";
inline constexpr char kRoomNotLive[] = "room_not_live";
inline constexpr char kTooLong[] = "too_long";
inline constexpr char kBlockedWord[] = "blocked_word";
inline constexpr char kUnsafeContent[] = "unsafe_content";
inline constexpr char kTooFast[] = "too_fast";
inline constexpr char kRoomBusy[] = "room_busy";

// The refusal for `reason` with its code (see interaction.proto).
absl::Status Refusal(absl::string_view reason, absl::string_view sentence);
// The reason of a refusal's message ("" when it has none).
std::string RefusalReason(absl::string_view message);

// UTF-8 code points in `text` (which must be valid UTF-8).
size_t CountChars(absl::string_view text);

// A comment's text: required, valid UTF-8 without control characters (newlines allowed), at most
// `max_chars` characters (too_long). INVALID_ARGUMENT naming `text` otherwise.
absl::Status ValidateCommentText(absl::string_view text, int max_chars);

// A like batch: a valid batch id and 1..max count. INVALID_ARGUMENT naming the field.
absl::Status ValidateLikeBatch(absl::string_view batch_id, int64_t count, int max_count);

// How the author of a comment by `role` is shown. Finance never posts.
absl::StatusOr<v1::AuthorRole> AuthorRoleOf(common::Role role);
absl::string_view AuthorRoleName(v1::AuthorRole role);

// Whether the role is exempt from the per-viewer rate and the room cap (staff).
inline bool IsStaff(common::Role role) {
  return role == common::Role::kOps || role == common::Role::kAssociate;
}

// What the outcome of a content check (and the brand's setting) does to a comment.
enum class CheckOutcome { kPass, kReview, kRisky, kUnavailable, kNotConfigured };
enum class Disposition { kDeliver, kHold, kRefuse };
Disposition Dispose(CheckOutcome outcome, bool hold_when_unavailable);

}  // namespace livecommerce::interaction
