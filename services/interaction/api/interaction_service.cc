#include "services/interaction/api/interaction_service.h"

#include "absl/strings/str_cat.h"
#include "services/common/log_format.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::interaction {

using common::InvalidField;
using common::Principal;
using common::Role;

namespace {

// A comment as `caller` may see it: ops (and services) see who wrote it; associates, like
// viewers, see other authors by their alias only (a viewer's openid is not an associate's to know
// unless the viewer is their client, which the attribution service decides).
void Show(const Principal& caller, const CommentRecord& r, v1::Comment* out) {
  if (caller.role == Role::kOps || caller.role == Role::kService) {
    ToProto(r, out);
    out->set_own(r.author_id == caller.subject);
  } else {
    ToViewerProto(r, caller.subject, out);
  }
}

constexpr common::Roles kPosters{Role::kViewer, Role::kAssociate, Role::kOps};
constexpr common::Roles kReaders{Role::kViewer, Role::kAssociate, Role::kOps, Role::kService};

}  // namespace

InteractionServiceImpl::InteractionServiceImpl(InteractionStore& store, LiveStore& live,
                                               RoomAccessDirectory& rooms,
                                               moderation::ContentChecker& checker,
                                               const common::Clock& clock,
                                               const common::PrincipalCodec& codec,
                                               InteractionOptions options)
    : store_(store),
      live_(live),
      rooms_(rooms),
      checker_(checker),
      clock_(clock),
      options_(options),
      frame_(codec, clock),
      filters_(store, clock, options.blocked_words_refresh) {}

absl::StatusOr<InteractionServiceImpl::LiveRoom> InteractionServiceImpl::LoadRoom(
    const Principal& caller, const std::string& room_id, bool admit_viewer, bool associate) {
  LC_ASSIGN_OR_RETURN(int64_t id, common::ParseId("room_id", room_id));
  bool viewer = caller.role == Role::kViewer;
  // The room's own facts, the same for every caller (so one cached answer serves a room's like
  // batches); a viewer's own (admission to a private room, the associate of their invite) only
  // where they matter, since a public room admits every viewer.
  LC_ASSIGN_OR_RETURN(RoomAccess access, rooms_.Access(caller.brand_id, room_id, ""));
  if (access.brand_id != caller.brand_id) {
    return absl::NotFoundError("room_id: no such room");
  }
  if (viewer && (access.visibility != v1::VISIBILITY_PUBLIC || associate)) {
    LC_ASSIGN_OR_RETURN(access, rooms_.Access(caller.brand_id, room_id, caller.subject));
    if (access.brand_id != caller.brand_id) {
      return absl::NotFoundError("room_id: no such room");
    }
  }
  if (viewer && admit_viewer && !access.admitted) {
    return Refusal(kNotInRoom, "you are not admitted to this room");
  }
  LiveRoom room{access, id, 0};
  if (!access.current_session_id.empty()) {
    LC_ASSIGN_OR_RETURN(room.session_id, common::ParseId("session_id", access.current_session_id));
  }
  return room;
}

events::v1::CommentPosted InteractionServiceImpl::PostedEvent(const CommentRecord& r) const {
  events::v1::CommentPosted posted;
  posted.set_comment_id(r.id > 0 ? common::FormatId(r.id) : "");
  posted.set_room_id(common::FormatId(r.room_id));
  posted.set_session_id(common::FormatId(r.session_id));
  posted.set_author_id(r.author_id);
  posted.set_author_role(std::string(AuthorRoleName(r.author_role)));
  posted.set_reply_to(r.reply_to.has_value() ? common::FormatId(*r.reply_to) : "");
  posted.set_text(r.text);
  common::ToTimestamp(r.created_at, posted.mutable_created_at());
  posted.set_invite_associate_id(r.invite_associate_id);
  return posted;
}

absl::Status InteractionServiceImpl::Stream(const CommentRecord& record) {
  absl::StatusOr<std::string> entry =
      live_.Append(record.room_id, CommentEntry(record), options_.stream_max_len);
  if (!entry.ok()) {
    spdlog::warn("comment {}: not appended to the room's stream: {}", record.id,
                 entry.status().message());
    return absl::UnavailableError("comment: stored but not yet delivered; send it again");
  }
  if (absl::Status s = store_.MarkStreamed(record.id); !s.ok()) {
    // A resend would append it again; the gateway drops an id it has seen.
    spdlog::warn("comment {}: streamed but not marked: {}", record.id, s.message());
  }
  return absl::OkStatus();
}

ModerationAction InteractionServiceImpl::Action(const Principal& caller, const char* action,
                                                std::optional<int64_t> room_id, std::string target,
                                                std::string reason) const {
  return ModerationAction{caller.brand_id,
                          caller.subject,
                          std::string(RoleName(caller.role)),
                          action,
                          room_id,
                          std::move(target),
                          std::move(reason),
                          clock_.Now()};
}

grpc::Status InteractionServiceImpl::PostComment(grpc::ServerContext* context,
                                                 const v1::PostCommentRequest* request,
                                                 v1::PostCommentResponse* response) {
  return frame_.Run(*context, kPosters, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(v1::AuthorRole role, AuthorRoleOf(caller.role));
    if (!common::IsValidId(request->client_id())) {
      return InvalidField("client_id", "must be 1..128 of [A-Za-z0-9_.:-]");
    }
    LC_RETURN_IF_ERROR(ValidateCommentText(request->text(), options_.max_comment_chars));
    if (!request->reply_to().empty()) {
      LC_RETURN_IF_ERROR(common::ParseId("reply_to", request->reply_to()).status());
    }
    // The associate behind a viewer's invite is recorded with the comment (question alerts).
    LC_ASSIGN_OR_RETURN(LiveRoom room, LoadRoom(caller, request->room_id(), true, true));
    if (room.access.status != v1::ROOM_STATUS_LIVE || room.session_id == 0) {
      return Refusal(kRoomNotLive, "the room is not live");
    }
    return Post(caller, room, *request, role, response);
  });
}

absl::Status InteractionServiceImpl::Post(const Principal& caller, const LiveRoom& room,
                                          const v1::PostCommentRequest& request,
                                          v1::AuthorRole role, v1::PostCommentResponse* response) {
  // A resend answers what the first send got, whatever changed since (a mute, the rate).
  LC_ASSIGN_OR_RETURN(std::optional<CommentRecord> existing,
                      store_.FindByClientId(room.room_id, caller.subject, request.client_id()));
  if (existing.has_value()) {
    if (existing->status == v1::COMMENT_STATUS_DELIVERED && !existing->streamed) {
      LC_RETURN_IF_ERROR(Stream(*existing));
    }
    ToProto(*existing, response->mutable_comment());
    response->mutable_comment()->set_own(true);
    response->set_duplicate(true);
    return absl::OkStatus();
  }
  absl::Time now = clock_.Now();
  bool viewer = caller.role == Role::kViewer;
  if (viewer) {
    LC_ASSIGN_OR_RETURN(bool banned, store_.IsBanned(caller.brand_id, caller.subject, now));
    if (banned) return Refusal(kBanned, "you may not comment in this brand's rooms");
    LC_ASSIGN_OR_RETURN(std::optional<absl::Time> muted,
                        store_.MutedUntil(room.room_id, caller.subject, now));
    if (muted.has_value()) {
      return Refusal(kMuted, absl::StrCat("you are muted in this room until ",
                                          absl::FormatTime("%Y-%m-%d %H:%M UTC", *muted,
                                                           absl::UTCTimeZone())));
    }
  }
  std::optional<int64_t> reply_to;
  if (!request.reply_to().empty()) {
    LC_ASSIGN_OR_RETURN(int64_t reply_id, common::ParseId("reply_to", request.reply_to()));
    LC_ASSIGN_OR_RETURN(std::optional<CommentRecord> answered,
                        store_.Get(caller.brand_id, reply_id));
    if (!answered.has_value() || answered->session_id != room.session_id ||
        answered->status != v1::COMMENT_STATUS_DELIVERED) {
      return absl::NotFoundError("reply_to: no such comment");
    }
    reply_to = reply_id;
  }
  if (!IsStaff(caller.role)) {
    LC_ASSIGN_OR_RETURN(
        RateVerdict verdict,
        live_.TakeCommentSlot(room.room_id, caller.subject, options_.comment_min_interval,
                              options_.room_comments_per_second, now));
    if (verdict == RateVerdict::kTooFast) {
      return Refusal(kTooFast, "wait a moment before commenting again");
    }
    if (verdict == RateVerdict::kRoomBusy) {
      return Refusal(kRoomBusy, "the room is busy, try again in a moment");
    }
  }
  LC_ASSIGN_OR_RETURN(moderation::BrandFilter filter, filters_.Get(caller.brand_id));
  if (filter.filter->Contains(request.text())) {
    return Refusal(kBlockedWord, "text: contains a word this room does not allow");
  }
  CommentRecord record;
  record.brand_id = caller.brand_id;
  record.room_id = room.room_id;
  record.session_id = room.session_id;
  record.author_id = caller.subject;
  record.author_role = role;
  record.client_id = request.client_id();
  record.text = request.text();
  record.reply_to = reply_to;
  record.status = v1::COMMENT_STATUS_DELIVERED;
  record.invite_associate_id = viewer ? room.access.associate_id : "";
  record.created_at = now;
  if (viewer) {
    switch (Dispose(checker_.Check(caller.brand_id, caller.subject, request.text()),
                    filter.moderation.hold_when_check_unavailable)) {
      case Disposition::kRefuse:
        return Refusal(kUnsafeContent, "text: cannot be published");
      case Disposition::kHold:
        record.status = v1::COMMENT_STATUS_HELD;
        break;
      case Disposition::kDeliver:
        break;
    }
  }
  std::optional<events::v1::CommentPosted> posted;
  if (record.status == v1::COMMENT_STATUS_DELIVERED) posted = PostedEvent(record);
  LC_ASSIGN_OR_RETURN(InteractionStore::Inserted inserted,
                      store_.Insert(std::move(record), std::move(posted)));
  if (inserted.record.status == v1::COMMENT_STATUS_DELIVERED && !inserted.record.streamed) {
    LC_RETURN_IF_ERROR(Stream(inserted.record));
  }
  ToProto(inserted.record, response->mutable_comment());
  response->mutable_comment()->set_own(true);
  response->set_duplicate(inserted.duplicate);
  return absl::OkStatus();
}

grpc::Status InteractionServiceImpl::ListComments(grpc::ServerContext* context,
                                                  const v1::ListCommentsRequest* request,
                                                  v1::ListCommentsResponse* response) {
  return frame_.Run(*context, kReaders, [&](const Principal& caller) -> absl::Status {
    bool viewer = caller.role == Role::kViewer;
    if (viewer && (!request->session_id().empty() || !request->page_token().empty())) {
      return InvalidField(request->session_id().empty() ? "page_token" : "session_id",
                          "viewers read the recent comments of the current session only");
    }
    LC_ASSIGN_OR_RETURN(common::PageRequest page,
                        common::ParsePageRequest(request->page_size(), request->page_token(),
                                                 options_.recent_comments, 200));
    LC_ASSIGN_OR_RETURN(LiveRoom room, LoadRoom(caller, request->room_id(), true));
    int64_t session_id = room.session_id;
    if (!request->session_id().empty()) {
      LC_ASSIGN_OR_RETURN(session_id, common::ParseId("session_id", request->session_id()));
    }
    if (session_id == 0) return absl::OkStatus();
    if (!viewer && request->recent()) {
      if (!request->page_token().empty()) {
        return InvalidField("page_token", "recent comments have no pages");
      }
      LC_ASSIGN_OR_RETURN(std::vector<CommentRecord> recent,
                          store_.Recent(caller.brand_id, session_id, page.limit));
      for (const CommentRecord& r : recent) Show(caller, r, response->add_comments());
      LC_ASSIGN_OR_RETURN(*response->mutable_announcement(),
                          store_.Announcement(caller.brand_id, room.room_id));
      return absl::OkStatus();
    }
    if (viewer) {
      if (room.access.status != v1::ROOM_STATUS_LIVE) return absl::OkStatus();
      LC_ASSIGN_OR_RETURN(std::vector<CommentRecord> recent,
                          store_.Recent(caller.brand_id, session_id, options_.recent_comments));
      for (const CommentRecord& r : recent) {
        ToViewerProto(r, caller.subject, response->add_comments());
      }
      LC_ASSIGN_OR_RETURN(*response->mutable_announcement(),
                          store_.Announcement(caller.brand_id, room.room_id));
      return absl::OkStatus();
    }
    LC_ASSIGN_OR_RETURN(
        std::vector<CommentRecord> rows,
        store_.ListSession(caller.brand_id, room.room_id, session_id, page.after, page.fetch()));
    bool more = common::TrimPage(rows, page.limit);
    for (const CommentRecord& r : rows) Show(caller, r, response->add_comments());
    if (more) response->set_next_page_token(common::EncodePageToken(rows.back().id));
    LC_ASSIGN_OR_RETURN(*response->mutable_announcement(),
                        store_.Announcement(caller.brand_id, room.room_id));
    return absl::OkStatus();
  });
}

grpc::Status InteractionServiceImpl::AddLikes(grpc::ServerContext* context,
                                              const v1::AddLikesRequest* request,
                                              v1::AddLikesResponse* response) {
  return frame_.Run(*context, {Role::kViewer}, [&](const Principal& caller) -> absl::Status {
    LC_RETURN_IF_ERROR(
        ValidateLikeBatch(request->batch_id(), request->count(), options_.max_likes_per_batch));
    LC_ASSIGN_OR_RETURN(LiveRoom room, LoadRoom(caller, request->room_id(), true));
    if (room.access.status != v1::ROOM_STATUS_LIVE || room.session_id == 0) {
      return Refusal(kRoomNotLive, "the room is not live");
    }
    LC_ASSIGN_OR_RETURN(
        LikeOutcome outcome,
        live_.AddLikes(room.room_id, room.session_id, caller.subject, request->batch_id(),
                       request->count(), options_.like_batch_ttl, options_.like_batches_per_second,
                       clock_.Now()));
    if (outcome.kind == LikeOutcome::Kind::kTooFast) {
      return Refusal(kTooFast, "too many like batches, send fewer");
    }
    {
      std::lock_guard<std::mutex> lock(likes_mu_);
      liked_.emplace(caller.brand_id, room.room_id, room.session_id);
    }
    response->set_total(outcome.total);
    response->set_counted(outcome.kind == LikeOutcome::Kind::kCounted);
    return absl::OkStatus();
  });
}

grpc::Status InteractionServiceImpl::GetLikes(grpc::ServerContext* context,
                                              const v1::GetLikesRequest* request,
                                              v1::GetLikesResponse* response) {
  return frame_.Run(*context, kReaders, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(LiveRoom room, LoadRoom(caller, request->room_id(), true));
    if (room.session_id == 0) return absl::OkStatus();
    response->set_session_id(common::FormatId(room.session_id));
    LC_ASSIGN_OR_RETURN(int64_t live, live_.Likes(room.room_id, room.session_id));
    LC_ASSIGN_OR_RETURN(int64_t stored, store_.StoredLikes(caller.brand_id, room.session_id));
    if (live > stored) {
      LC_RETURN_IF_ERROR(
          store_.RecordLikes(caller.brand_id, room.room_id, room.session_id, live, clock_.Now())
              .status());
    }
    // Redis may have lost the counter (a failover): the stored total never goes back.
    response->set_total(std::max(live, stored));
    return absl::OkStatus();
  });
}

namespace {

// New likers read from Redis per page (and recorded per transaction).
constexpr int kLikersPage = 500;

// Records the session's new likers (publishing ViewerLiked for each one not recorded before),
// page by page, forgetting each page in Redis only once it is recorded: a flush that stops
// half-way leaves the rest, and what it recorded but did not forget is found again and recorded
// as nothing new.
absl::Status FlushLikers(InteractionStore& store, LiveStore& live, const common::Clock& clock,
                         const std::string& brand, int64_t room_id, int64_t session_id) {
  std::string cursor;
  do {
    LC_ASSIGN_OR_RETURN(NewLikersPage page,
                        live.NewLikers(room_id, session_id, cursor, kLikersPage));
    if (!page.likers.empty()) {
      LC_RETURN_IF_ERROR(
          store.RecordLikers(brand, room_id, session_id, page.likers, clock.Now()).status());
      std::vector<std::string> viewers;
      viewers.reserve(page.likers.size());
      for (const NewLiker& liker : page.likers) viewers.push_back(liker.viewer_id);
      LC_RETURN_IF_ERROR(live.ForgetNewLikers(room_id, session_id, viewers));
    }
    cursor = page.cursor;
  } while (!cursor.empty());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int> InteractionServiceImpl::FlushLikes() {
  std::set<std::tuple<std::string, int64_t, int64_t>> liked;
  {
    std::lock_guard<std::mutex> lock(likes_mu_);
    liked.swap(liked_);
  }
  int written = 0;
  absl::Status first_error;
  for (const auto& [brand, room_id, session_id] : liked) {
    absl::StatusOr<int64_t> total = live_.Likes(room_id, session_id);
    absl::StatusOr<bool> rose =
        total.ok() ? store_.RecordLikes(brand, room_id, session_id, *total, clock_.Now())
                   : absl::StatusOr<bool>(total.status());
    absl::Status likers = FlushLikers(store_, live_, clock_, brand, room_id, session_id);
    if (!rose.ok() || !likers.ok()) {
      if (first_error.ok()) first_error = !rose.ok() ? rose.status() : likers;
      std::lock_guard<std::mutex> lock(likes_mu_);
      liked_.emplace(brand, room_id, session_id);  // again next time
      continue;
    }
    if (*rose) ++written;
  }
  if (!first_error.ok()) return first_error;
  return written;
}

}  // namespace livecommerce::interaction
