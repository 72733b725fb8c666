#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "livecommerce/v1/interaction.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/handler.h"
#include "services/interaction/clients/room_access.h"
#include "services/interaction/domain/limits.h"
#include "services/interaction/moderation/content_check.h"
#include "services/interaction/moderation/filter_cache.h"
#include "services/interaction/store/interaction_store.h"
#include "services/interaction/store/live_store.h"

namespace livecommerce::interaction {

// The gRPC face of the interaction service (protos/livecommerce/v1/interaction.proto): comments,
// likes and moderation of live rooms. Rooms, their sessions and who may watch them come from the
// room service (RoomAccessDirectory); comments and moderation are stored in InteractionStore,
// delivered live through LiveStore's per-room stream.
class InteractionServiceImpl final : public v1::InteractionService::Service {
 public:
  // None are owned; all must outlive the service.
  InteractionServiceImpl(InteractionStore& store, LiveStore& live, RoomAccessDirectory& rooms,
                         moderation::ContentChecker& checker, const common::Clock& clock,
                         const common::PrincipalCodec& codec, InteractionOptions options);

  grpc::Status PostComment(grpc::ServerContext* context, const v1::PostCommentRequest* request,
                           v1::PostCommentResponse* response) override;
  grpc::Status ListComments(grpc::ServerContext* context, const v1::ListCommentsRequest* request,
                            v1::ListCommentsResponse* response) override;
  grpc::Status DeleteComment(grpc::ServerContext* context, const v1::DeleteCommentRequest* request,
                             v1::DeleteCommentResponse* response) override;
  grpc::Status MuteViewer(grpc::ServerContext* context, const v1::MuteViewerRequest* request,
                          v1::MuteViewerResponse* response) override;
  grpc::Status BanViewer(grpc::ServerContext* context, const v1::BanViewerRequest* request,
                         v1::BanViewerResponse* response) override;
  grpc::Status SetAnnouncement(grpc::ServerContext* context,
                               const v1::SetAnnouncementRequest* request,
                               v1::SetAnnouncementResponse* response) override;
  grpc::Status ListHeldComments(grpc::ServerContext* context,
                                const v1::ListHeldCommentsRequest* request,
                                v1::ListHeldCommentsResponse* response) override;
  grpc::Status ApproveComment(grpc::ServerContext* context,
                              const v1::ApproveCommentRequest* request,
                              v1::ApproveCommentResponse* response) override;
  grpc::Status SetBlockedWords(grpc::ServerContext* context,
                               const v1::SetBlockedWordsRequest* request,
                               v1::SetBlockedWordsResponse* response) override;
  grpc::Status ListBlockedWords(grpc::ServerContext* context,
                                const v1::ListBlockedWordsRequest* request,
                                v1::ListBlockedWordsResponse* response) override;
  grpc::Status SetModerationSettings(grpc::ServerContext* context,
                                     const v1::SetModerationSettingsRequest* request,
                                     v1::SetModerationSettingsResponse* response) override;
  grpc::Status AddLikes(grpc::ServerContext* context, const v1::AddLikesRequest* request,
                        v1::AddLikesResponse* response) override;
  grpc::Status GetLikes(grpc::ServerContext* context, const v1::GetLikesRequest* request,
                        v1::GetLikesResponse* response) override;

  // Copies the like totals of the sessions liked since the last flush into MySQL (run
  // periodically by main; a read flushes its own session) and publishes their new likers
  // (ViewerLiked, once per session and viewer). How many sessions' totals were written; a
  // session that failed is tried again at the next flush.
  absl::StatusOr<int> FlushLikes();

 private:
  struct LiveRoom {
    RoomAccess access;
    int64_t room_id = 0;
    int64_t session_id = 0;  // 0: none yet
  };
  // The room as the caller may see it: NOT_FOUND for an unknown room or another brand's;
  // not_in_room for a viewer the room does not admit (when `admit_viewer`). `associate`: the
  // caller needs the associate behind a viewer's invite (access.associate_id); otherwise it is
  // only known in private rooms.
  absl::StatusOr<LiveRoom> LoadRoom(const common::Principal& caller, const std::string& room_id,
                                    bool admit_viewer, bool associate = false);
  // Appends a delivered comment to its room's stream and notes it.
  absl::Status Stream(const CommentRecord& record);
  // The comment or a refusal (PostComment's body after validation and the room).
  absl::Status Post(const common::Principal& caller, const LiveRoom& room,
                    const v1::PostCommentRequest& request, v1::AuthorRole role,
                    v1::PostCommentResponse* response);
  ModerationAction Action(const common::Principal& caller, const char* action,
                          std::optional<int64_t> room_id, std::string target,
                          std::string reason) const;
  events::v1::CommentPosted PostedEvent(const CommentRecord& record) const;

  InteractionStore& store_;
  LiveStore& live_;
  RoomAccessDirectory& rooms_;
  moderation::ContentChecker& checker_;
  const common::Clock& clock_;
  const InteractionOptions options_;
  common::HandlerFrame frame_;
  moderation::FilterCache filters_;

  std::mutex likes_mu_;
  // (brand, room, session) liked since the last flush.
  std::set<std::tuple<std::string, int64_t, int64_t>> liked_ ABSL_GUARDED_BY(likes_mu_);
};

}  // namespace livecommerce::interaction
