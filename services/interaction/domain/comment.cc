#include "services/interaction/domain/comment.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/crypto.h"
#include "services/common/proto_util.h"
#include "services/interaction/domain/limits.h"

namespace livecommerce::interaction {
namespace {

nlohmann::json Base(const char* type, int64_t room_id, absl::Time at) {
  return nlohmann::json{{"v", 1},
                        {"type", type},
                        {"room_id", common::FormatId(room_id)},
                        {"at", common::FormatRfc3339Millis(at)}};
}

}  // namespace

void ToProto(const CommentRecord& record, v1::Comment* out) {
  out->set_id(common::FormatId(record.id));
  out->set_room_id(common::FormatId(record.room_id));
  out->set_session_id(common::FormatId(record.session_id));
  out->set_author_id(record.author_id);
  out->set_author_role(record.author_role);
  out->set_text(record.text);
  out->set_reply_to(record.reply_to.has_value() ? common::FormatId(*record.reply_to) : "");
  common::ToTimestamp(record.created_at, out->mutable_created_at());
  out->set_status(record.status);
  out->set_author_alias(AuthorAlias(record.room_id, record.author_id));
}

void ToViewerProto(const CommentRecord& record, const std::string& viewer_id, v1::Comment* out) {
  ToProto(record, out);
  bool own = record.author_id == viewer_id;
  out->set_own(own);
  if (!own) out->clear_author_id();
}

std::string AuthorAlias(int64_t room_id, const std::string& author_id) {
  std::string digest = common::Sha256(absl::StrCat("lc-comment-author:", room_id, ":", author_id));
  return absl::BytesToHexString(digest.substr(0, 2));
}

std::string CommentEntry(const CommentRecord& record) {
  nlohmann::json j = Base("comment", record.room_id, record.created_at);
  j["comment_id"] = common::FormatId(record.id);
  j["session_id"] = common::FormatId(record.session_id);
  j["author_id"] = record.author_id;
  j["author_alias"] = AuthorAlias(record.room_id, record.author_id);
  j["badge"] = std::string(AuthorRoleName(record.author_role));
  j["text"] = record.text;
  j["reply_to"] = record.reply_to.has_value() ? common::FormatId(*record.reply_to) : "";
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string CommentDeletedEntry(const CommentRecord& record, absl::Time at) {
  nlohmann::json j = Base("comment_deleted", record.room_id, at);
  j["comment_id"] = common::FormatId(record.id);
  j["session_id"] = common::FormatId(record.session_id);
  return j.dump();
}

std::string ViewerMutedEntry(int64_t room_id, const std::string& viewer_id, absl::Time until,
                             absl::Time at) {
  nlohmann::json j = Base("viewer_muted", room_id, at);
  j["viewer_id"] = viewer_id;
  j["until"] = common::FormatRfc3339Millis(until);
  return j.dump();
}

std::string AnnouncementEntry(int64_t room_id, const std::string& text, absl::Time at) {
  nlohmann::json j = Base("announcement", room_id, at);
  j["text"] = text;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace livecommerce::interaction
