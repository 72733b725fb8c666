#pragma once

// A comment and the entries of a room's live stream (the Redis Stream the gateways read; the
// format is in docs/INTERACTION.md). Pure logic, no I/O.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "livecommerce/v1/interaction.pb.h"

namespace livecommerce::interaction {

struct CommentRecord {
  int64_t id = 0;
  std::string brand_id;
  int64_t room_id = 0;
  int64_t session_id = 0;
  std::string author_id;
  v1::AuthorRole author_role = v1::AUTHOR_ROLE_UNSPECIFIED;
  std::string client_id;
  std::string text;
  std::optional<int64_t> reply_to;
  v1::CommentStatus status = v1::COMMENT_STATUS_UNSPECIFIED;
  std::string invite_associate_id;
  bool streamed = false;
  absl::Time created_at;
};

// A moderation action for the audit table.
struct ModerationAction {
  std::string brand_id;
  std::string actor_id;
  std::string actor_role;
  std::string action;  // delete, mute, ban, announce, approve, set_words, set_settings
  std::optional<int64_t> room_id;
  std::string target;
  std::string reason;
  absl::Time at;
};

// Every field, for staff; `own` is left false.
void ToProto(const CommentRecord& record, v1::Comment* out);
// As a viewer whose openid is `viewer_id` sees it: author_id only on their own comments.
void ToViewerProto(const CommentRecord& record, const std::string& viewer_id, v1::Comment* out);

// What other viewers see of an author: four hex characters of a hash of the room and the author,
// stable for the room (readers can tell two authors apart) and saying nothing of the openid.
std::string AuthorAlias(int64_t room_id, const std::string& author_id);

// Stream entry payloads (JSON text), version 1.
std::string CommentEntry(const CommentRecord& record);
std::string CommentDeletedEntry(const CommentRecord& record, absl::Time at);
std::string ViewerMutedEntry(int64_t room_id, const std::string& viewer_id, absl::Time until,
                             absl::Time at);
std::string AnnouncementEntry(int64_t room_id, const std::string& text, absl::Time at);

}  // namespace livecommerce::interaction
