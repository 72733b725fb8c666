// The interaction service's moderation RPCs: ops (speaking as the host) delete, mute, ban,
// announce, approve held comments and manage the brand's blocked words. Each is audited.
#include "absl/strings/str_cat.h"
#include "services/common/log_format.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/common/validation.h"
#include "services/interaction/api/interaction_service.h"

namespace livecommerce::interaction {

using common::InvalidField;
using common::Principal;
using common::Role;

namespace {

constexpr common::Roles kModerators{Role::kOps};
constexpr size_t kMaxReasonBytes = 512;
constexpr int kMaxAnnouncementChars = 500;
constexpr absl::Duration kMaxMute = absl::Hours(24 * 30);

// Appends a moderation entry; the change is stored already, so a failure is only logged (the
// gateway's next history read shows the truth).
void AppendNotice(LiveStore& live, int64_t room_id, const std::string& json, int max_len) {
  absl::StatusOr<std::string> id = live.Append(room_id, json, max_len);
  if (!id.ok()) {
    spdlog::warn("room {}: moderation notice not streamed: {}", room_id, id.status().message());
  }
}

}  // namespace

grpc::Status InteractionServiceImpl::DeleteComment(grpc::ServerContext* context,
                                                   const v1::DeleteCommentRequest* request,
                                                   v1::DeleteCommentResponse* response) {
  return frame_.Run(*context, kModerators, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t id, common::ParseId("comment_id", request->comment_id()));
    LC_RETURN_IF_ERROR(common::ValidateText("reason", request->reason(), kMaxReasonBytes, false));
    LC_ASSIGN_OR_RETURN(
        CommentRecord record,
        store_.Transition(
            caller.brand_id, id, {v1::COMMENT_STATUS_DELIVERED, v1::COMMENT_STATUS_HELD},
            v1::COMMENT_STATUS_DELETED,
            Action(caller, "delete", std::nullopt, "", request->reason()), std::nullopt));
    AppendNotice(live_, record.room_id, CommentDeletedEntry(record, clock_.Now()),
                 options_.stream_max_len);
    ToProto(record, response->mutable_comment());
    return absl::OkStatus();
  });
}

grpc::Status InteractionServiceImpl::MuteViewer(grpc::ServerContext* context,
                                                const v1::MuteViewerRequest* request,
                                                v1::MuteViewerResponse* response) {
  return frame_.Run(*context, kModerators, [&](const Principal& caller) -> absl::Status {
    if (!common::IsValidId(request->viewer_id())) {
      return InvalidField("viewer_id", "is not a valid viewer id");
    }
    absl::Duration duration = absl::Seconds(request->duration_seconds());
    if (duration <= absl::ZeroDuration() || duration > kMaxMute) {
      return InvalidField("duration_seconds", "must be 1 second to 30 days");
    }
    LC_RETURN_IF_ERROR(common::ValidateText("reason", request->reason(), kMaxReasonBytes, false));
    LC_ASSIGN_OR_RETURN(LiveRoom room, LoadRoom(caller, request->room_id(), false));
    ModerationAction action =
        Action(caller, "mute", room.room_id, request->viewer_id(), request->reason());
    absl::Time until = action.at + duration;
    LC_RETURN_IF_ERROR(store_.Mute(room.room_id, request->viewer_id(), until, action));
    AppendNotice(live_, room.room_id,
                 ViewerMutedEntry(room.room_id, request->viewer_id(), until, action.at),
                 options_.stream_max_len);
    common::ToTimestamp(until, response->mutable_muted_until());
    return absl::OkStatus();
  });
}

grpc::Status InteractionServiceImpl::BanViewer(grpc::ServerContext* context,
                                               const v1::BanViewerRequest* request,
                                               v1::BanViewerResponse* /*response*/) {
  return frame_.Run(*context, kModerators, [&](const Principal& caller) -> absl::Status {
    if (!common::IsValidId(request->viewer_id())) {
      return InvalidField("viewer_id", "is not a valid viewer id");
    }
    LC_RETURN_IF_ERROR(common::ValidateText("reason", request->reason(), kMaxReasonBytes, false));
    ModerationAction action =
        Action(caller, "ban", std::nullopt, request->viewer_id(), request->reason());
    std::optional<absl::Time> until;
    if (request->has_until()) {
      LC_ASSIGN_OR_RETURN(absl::Time t, common::ParseTimestamp("until", request->until()));
      if (t <= action.at) return InvalidField("until", "must be in the future");
      until = t;
    }
    return store_.Ban(request->viewer_id(), until, action);
  });
}

grpc::Status InteractionServiceImpl::SetAnnouncement(grpc::ServerContext* context,
                                                     const v1::SetAnnouncementRequest* request,
                                                     v1::SetAnnouncementResponse* /*response*/) {
  return frame_.Run(*context, kModerators, [&](const Principal& caller) -> absl::Status {
    if (!request->text().empty()) {
      LC_RETURN_IF_ERROR(
          common::ValidateText("text", request->text(), 4 * kMaxAnnouncementChars, false, true));
      if (CountChars(request->text()) > static_cast<size_t>(kMaxAnnouncementChars)) {
        return InvalidField("text",
                            absl::StrCat("is longer than ", kMaxAnnouncementChars, " characters"));
      }
    }
    LC_ASSIGN_OR_RETURN(LiveRoom room, LoadRoom(caller, request->room_id(), false));
    ModerationAction action = Action(caller, "announce", room.room_id, "", "");
    LC_RETURN_IF_ERROR(store_.SetAnnouncement(room.room_id, request->text(), action));
    AppendNotice(live_, room.room_id, AnnouncementEntry(room.room_id, request->text(), action.at),
                 options_.stream_max_len);
    return absl::OkStatus();
  });
}

grpc::Status InteractionServiceImpl::ListHeldComments(grpc::ServerContext* context,
                                                      const v1::ListHeldCommentsRequest* request,
                                                      v1::ListHeldCommentsResponse* response) {
  return frame_.Run(*context, kModerators, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(
        common::PageRequest page,
        common::ParsePageRequest(request->page_size(), request->page_token(), 50, 200));
    LC_ASSIGN_OR_RETURN(LiveRoom room, LoadRoom(caller, request->room_id(), false));
    LC_ASSIGN_OR_RETURN(std::vector<CommentRecord> rows,
                        store_.ListHeld(caller.brand_id, room.room_id, page.after, page.fetch()));
    bool more = common::TrimPage(rows, page.limit);
    for (const CommentRecord& r : rows) ToProto(r, response->add_comments());
    if (more) response->set_next_page_token(common::EncodePageToken(rows.back().id));
    return absl::OkStatus();
  });
}

grpc::Status InteractionServiceImpl::ApproveComment(grpc::ServerContext* context,
                                                    const v1::ApproveCommentRequest* request,
                                                    v1::ApproveCommentResponse* response) {
  return frame_.Run(*context, kModerators, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t id, common::ParseId("comment_id", request->comment_id()));
    LC_ASSIGN_OR_RETURN(std::optional<CommentRecord> held, store_.Get(caller.brand_id, id));
    if (!held.has_value()) return absl::NotFoundError("comment_id: no such comment");
    LC_ASSIGN_OR_RETURN(
        CommentRecord record,
        store_.Transition(caller.brand_id, id, {v1::COMMENT_STATUS_HELD},
                          v1::COMMENT_STATUS_DELIVERED,
                          Action(caller, "approve", std::nullopt, "", ""), PostedEvent(*held)));
    LC_RETURN_IF_ERROR(Stream(record));
    ToProto(record, response->mutable_comment());
    return absl::OkStatus();
  });
}

grpc::Status InteractionServiceImpl::SetBlockedWords(grpc::ServerContext* context,
                                                     const v1::SetBlockedWordsRequest* request,
                                                     v1::SetBlockedWordsResponse* response) {
  return frame_.Run(*context, kModerators, [&](const Principal& caller) -> absl::Status {
    std::vector<std::string> words(request->words().begin(), request->words().end());
    for (size_t i = 0; i < words.size(); ++i) {
      if (!common::IsValidUtf8(words[i])) {
        return InvalidField(absl::StrCat("words[", i, "]"), "is not valid UTF-8");
      }
    }
    absl::StatusOr<moderation::WordFilter> built = moderation::WordFilter::Build(words);
    if (!built.ok()) return InvalidField("words", built.status().message());
    LC_ASSIGN_OR_RETURN(int64_t version, store_.SetBlockedWords(
                                             words, Action(caller, "set_words", std::nullopt, "",
                                                           absl::StrCat(words.size(), " words"))));
    filters_.Invalidate(caller.brand_id);
    response->set_version(version);
    return absl::OkStatus();
  });
}

grpc::Status InteractionServiceImpl::ListBlockedWords(
    grpc::ServerContext* context, const v1::ListBlockedWordsRequest* /*request*/,
    v1::ListBlockedWordsResponse* response) {
  return frame_.Run(*context, kModerators, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(BlockedWordList list, store_.BlockedWords(caller.brand_id));
    for (std::string& w : list.words) response->add_words(std::move(w));
    response->set_version(list.moderation.words_version);
    response->set_hold_when_check_unavailable(list.moderation.hold_when_check_unavailable);
    return absl::OkStatus();
  });
}

grpc::Status InteractionServiceImpl::SetModerationSettings(
    grpc::ServerContext* context, const v1::SetModerationSettingsRequest* request,
    v1::SetModerationSettingsResponse* /*response*/) {
  return frame_.Run(*context, kModerators, [&](const Principal& caller) -> absl::Status {
    LC_RETURN_IF_ERROR(store_.SetHoldWhenCheckUnavailable(
        request->hold_when_check_unavailable(),
        Action(caller, "set_settings", std::nullopt, "",
               request->hold_when_check_unavailable() ? "hold when unchecked"
                                                      : "deliver when unchecked")));
    filters_.Invalidate(caller.brand_id);
    return absl::OkStatus();
  });
}

}  // namespace livecommerce::interaction
