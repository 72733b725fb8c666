#include "services/room/api/room_service.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "services/common/config.h"
#include "services/common/crypto.h"
#include "services/common/log_format.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::room {
namespace {

using common::FormatId;
using common::InvalidField;
using common::ParseId;
using common::Principal;
using common::Role;
using common::ToTimestamp;

constexpr int kDefaultPageSize = 20;
constexpr int kMaxPageSize = 100;
constexpr size_t kMaxBatchEvents = 5000;

void ToProto(const PinnedRef& pinned, v1::PinnedProduct* out) {
  out->set_product_id(pinned.product_id);
  out->set_sku_id(pinned.sku_id);
  ToTimestamp(pinned.pinned_at, out->mutable_pinned_at());
}

void ToProto(const RoomRecord& room, v1::Room* out) {
  out->set_id(FormatId(room.id));
  out->set_brand_id(room.brand_id);
  out->set_title(room.title);
  out->set_description(room.description);
  out->set_cover_image_url(room.cover_image_url);
  ToTimestamp(room.scheduled_start, out->mutable_scheduled_start());
  if (room.scheduled_end.has_value()) {
    ToTimestamp(*room.scheduled_end, out->mutable_scheduled_end());
  }
  out->set_visibility(room.visibility);
  for (Audience a : room.audiences) {
    out->add_audiences(a);
  }
  out->set_objective(room.objective);
  out->set_format(room.format);
  out->set_status(room.status);
  out->set_current_session_id(FormatId(room.current_session_id));
  out->set_host_associate_id(room.host_associate_id);
  if (room.associate_invites_enabled) {
    out->mutable_associate_invites()->set_enabled(true);
    out->mutable_associate_invites()->set_quota_per_associate(room.associate_invite_quota);
  }
  if (room.pinned.has_value()) {
    ToProto(*room.pinned, out->mutable_pinned());
  }
  ToTimestamp(room.created_at, out->mutable_created_at());
  ToTimestamp(room.updated_at, out->mutable_updated_at());
}

void ToProto(const SessionRecord& session, v1::Session* out) {
  out->set_id(FormatId(session.id));
  out->set_room_id(FormatId(session.room_id));
  out->set_brand_id(session.brand_id);
  out->set_status(session.status);
  ToTimestamp(session.started_at, out->mutable_started_at());
  if (session.ended_at.has_value()) {
    ToTimestamp(*session.ended_at, out->mutable_ended_at());
  }
  out->set_reach(session.stats.reach);
  out->set_peak_concurrency(session.stats.peak_concurrency);
  out->set_total_joins(session.stats.total_joins);
  out->set_duration_seconds(session.duration_seconds);
  out->set_watch_seconds(session.stats.watch_ms / 1000);
}

void ToProto(const InviteRecord& invite, absl::Time now, v1::Invite* out) {
  out->set_id(FormatId(invite.id));
  out->set_room_id(FormatId(invite.room_id));
  out->set_brand_id(invite.brand_id);
  out->set_cohort(invite.cohort);
  out->set_client_ref(invite.client_ref);
  out->set_associate_id(invite.associate_id);
  out->set_status(StatusOf(invite, now));
  if (invite.expires_at.has_value()) {
    ToTimestamp(*invite.expires_at, out->mutable_expires_at());
  }
  out->set_bound_viewer_id(invite.bound_viewer_id);
  if (invite.bound_at.has_value()) {
    ToTimestamp(*invite.bound_at, out->mutable_bound_at());
  }
  if (invite.last_joined_at.has_value()) {
    ToTimestamp(*invite.last_joined_at, out->mutable_last_joined_at());
  }
  out->set_issued_by(invite.issued_by);
  ToTimestamp(invite.created_at, out->mutable_created_at());
}

// Invite tokens are 43 characters of base64url; anything far from that is not worth a lookup.
absl::Status ValidateInviteToken(absl::string_view token) {
  std::string raw;
  if (token.size() > 128 || !common::Base64UrlDecode(token, &raw)) {
    return absl::PermissionDeniedError("invite_token: not a valid invite");
  }
  return absl::OkStatus();
}

bool IsStaff(const Principal& p) {
  return p.role == Role::kOps || p.role == Role::kAssociate || p.role == Role::kService;
}

// Viewers, associates and ops are present in rooms (join, leave, watch); finance and services
// never are.
absl::Status RequireJoiner(const Principal& caller) {
  if (caller.role == Role::kService || caller.role == Role::kFinance) {
    return absl::PermissionDeniedError("only viewers, associates and ops join rooms");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RoomServiceOptions> LoadRoomServiceOptions() {
  RoomServiceOptions options;
  auto window = common::EnvMillis("LC_PRESENCE_WINDOW_MS", 30000, 1000, 3600000);
  auto interval = common::EnvMillis("LC_HEARTBEAT_INTERVAL_MS", 10000, 500, 3600000);
  auto buckets = common::EnvInt("LC_PRESENCE_BUCKETS", 8, 1, 1024);
  if (!window.ok()) return window.status();
  if (!interval.ok()) return interval.status();
  if (!buckets.ok()) return buckets.status();
  if (*interval >= *window) {
    return absl::InvalidArgumentError(
        "LC_HEARTBEAT_INTERVAL_MS must be shorter than LC_PRESENCE_WINDOW_MS");
  }
  options.presence_window = *window;
  options.heartbeat_interval = *interval;
  options.presence_buckets = static_cast<int>(*buckets);
  return options;
}

RoomServiceImpl::RoomServiceImpl(RoomStore& rooms, PresenceStore& presence,
                                 CatalogDirectory& catalog, const common::Clock& clock,
                                 const common::PrincipalCodec& codec, RoomServiceOptions options,
                                 ViewerActivity* activity, AssociateDirectory* associates)
    : rooms_(rooms),
      presence_(presence),
      catalog_(catalog),
      activity_(activity),
      associates_(associates),
      clock_(clock),
      codec_(codec),
      options_(options) {}

v1::PinnedProduct RoomServiceImpl::ResolvedPin(const RoomRecord& room) {
  v1::PinnedProduct pinned;
  if (!room.pinned.has_value()) {
    return pinned;
  }
  ToProto(*room.pinned, &pinned);
  std::string key = absl::StrCat(room.brand_id, "/", pinned.product_id(), "/", pinned.sku_id());
  absl::Time now = absl::Now();
  {
    std::lock_guard<std::mutex> lock(live_mu_);
    auto it = pin_cache_.find(key);
    if (it != pin_cache_.end() && now - it->second.fetched_at < options_.pin_details_ttl) {
      pinned.set_product_name(it->second.details.product_name());
      pinned.set_image_url(it->second.details.image_url());
      *pinned.mutable_price() = it->second.details.price();
      return pinned;
    }
  }
  absl::Status resolved = catalog_.Resolve(room.brand_id, pinned);
  if (!resolved.ok()) {
    spdlog::warn("room {}: pinned product details unavailable: {}", room.id, resolved.message());
    return pinned;
  }
  std::lock_guard<std::mutex> lock(live_mu_);
  if (pin_cache_.size() > 10000) pin_cache_.clear();
  pin_cache_[key] = CachedPin{pinned, now};
  return pinned;
}

absl::StatusOr<Principal> RoomServiceImpl::Caller(const grpc::ServerContextBase& context) const {
  return common::PrincipalFromContext(context, codec_, clock_.Now());
}

absl::StatusOr<RoomRecord> RoomServiceImpl::LoadRoom(const Principal& caller,
                                                     absl::string_view room_id) {
  LC_ASSIGN_OR_RETURN(int64_t id, ParseId("room_id", room_id));
  LC_ASSIGN_OR_RETURN(RoomRecord room, rooms_.GetRoom(id));
  if (room.brand_id != caller.brand_id) {
    return absl::NotFoundError("room_id: no such room");
  }
  return room;
}

absl::Status RoomServiceImpl::RequireOps(const Principal& caller, const RoomRecord& room) const {
  return common::RequireRole(caller, room.brand_id, {Role::kOps});
}

absl::Status RoomServiceImpl::CheckAssociate(const std::string& brand_id, absl::string_view field,
                                             const std::string& associate_id) {
  if (!common::IsValidId(associate_id)) {
    return InvalidField(field, "must be 1-128 characters of letters, digits, _ . : -");
  }
  if (associates_ == nullptr) return absl::OkStatus();
  absl::Status known = associates_->CheckAssociate(brand_id, associate_id);
  if (known.code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(absl::StrCat(field, ": no such associate"));
  }
  return known;
}

absl::Status RoomServiceImpl::CheckCanSee(const Principal& caller, const RoomRecord& room) {
  if (caller.brand_id != room.brand_id) {
    return absl::NotFoundError("room_id: no such room");
  }
  if (room.visibility == v1::VISIBILITY_PUBLIC || IsStaff(caller) ||
      caller.role == Role::kFinance) {
    return absl::OkStatus();
  }
  LC_ASSIGN_OR_RETURN(std::optional<InviteRecord> invite,
                      rooms_.FindBoundInvite(room.id, caller.subject));
  if (!invite.has_value()) {
    return absl::PermissionDeniedError("room_id: this room is private; an invite is needed");
  }
  return CheckInviteUsable(*invite, caller.subject, clock_.Now());
}

absl::StatusOr<RoomServiceImpl::LiveSession> RoomServiceImpl::LiveSessionOf(int64_t room_id) {
  absl::Time now = absl::Now();
  {
    std::lock_guard<std::mutex> lock(live_mu_);
    auto it = live_cache_.find(room_id);
    if (it != live_cache_.end() && now - it->second.fetched_at < options_.live_cache_ttl) {
      return it->second;
    }
  }
  LC_ASSIGN_OR_RETURN(RoomRecord room, rooms_.GetRoom(room_id));
  if (room.status != v1::ROOM_STATUS_LIVE) {
    ForgetLiveSession(room_id);
    return absl::FailedPreconditionError("room_id: the room is not live");
  }
  LC_ASSIGN_OR_RETURN(SessionRecord session, rooms_.GetSession(room.current_session_id));
  LiveSession live{std::move(room), PresenceSession{session.id, session.presence_buckets}, now};
  std::lock_guard<std::mutex> lock(live_mu_);
  live_cache_[room_id] = live;
  return live;
}

absl::StatusOr<LiveCounts> RoomServiceImpl::RecentCounts(const PresenceSession& session) {
  absl::Time now = absl::Now();
  {
    std::lock_guard<std::mutex> lock(live_mu_);
    auto it = counts_cache_.find(session.session_id);
    if (it != counts_cache_.end() && now - it->second.fetched_at < options_.join_counts_ttl) {
      return it->second.counts;
    }
  }
  LC_ASSIGN_OR_RETURN(LiveCounts counts, presence_.Counts(session, clock_.Now()));
  std::lock_guard<std::mutex> lock(live_mu_);
  if (counts_cache_.size() > 10000) {
    counts_cache_.clear();  // ended sessions are never looked up again
  }
  counts_cache_[session.session_id] = CachedCounts{counts, now};
  return counts;
}

void RoomServiceImpl::ForgetLiveSession(int64_t room_id) {
  std::lock_guard<std::mutex> lock(live_mu_);
  live_cache_.erase(room_id);
}

absl::StatusOr<v1::RoomStats> RoomServiceImpl::StatsOf(const RoomRecord& room) {
  v1::RoomStats stats;
  absl::Time now = clock_.Now();
  stats.set_room_id(FormatId(room.id));
  stats.set_status(room.status);
  stats.set_session_id(FormatId(room.current_session_id));
  ToTimestamp(now, stats.mutable_as_of());
  if (room.current_session_id == 0) {
    return stats;
  }
  LC_ASSIGN_OR_RETURN(SessionRecord session, rooms_.GetSession(room.current_session_id));
  if (session.status == v1::SESSION_STATUS_ENDED) {
    stats.set_peak_concurrency(session.stats.peak_concurrency);
    stats.set_reach(session.stats.reach);
    stats.set_total_joins(session.stats.total_joins);
    stats.set_watch_seconds(session.stats.watch_ms / 1000);
    return stats;
  }
  LC_ASSIGN_OR_RETURN(LiveCounts counts,
                      presence_.Counts({session.id, session.presence_buckets}, now));
  stats.set_concurrent_viewers(counts.concurrent);
  stats.set_peak_concurrency(counts.peak);
  stats.set_reach(counts.reach);
  stats.set_total_joins(counts.joins);
  stats.set_watch_seconds(counts.watch_ms / 1000);
  return stats;
}

// ---- Rooms -------------------------------------------------------------------------------------

absl::Status RoomServiceImpl::DoCreateRoom(const grpc::ServerContext& context,
                                           const v1::CreateRoomRequest& request,
                                           v1::CreateRoomResponse& response) {
  LC_ASSIGN_OR_RETURN(Principal caller, Caller(context));
  LC_RETURN_IF_ERROR(common::RequireRole(caller, request.brand_id(), {Role::kOps}));
  absl::Time now = clock_.Now();
  RoomRecord room;
  room.brand_id = request.brand_id();
  room.title = request.title();
  room.description = request.description();
  room.cover_image_url = request.cover_image_url();
  if (request.has_scheduled_start()) {
    LC_ASSIGN_OR_RETURN(room.scheduled_start,
                        common::ParseTimestamp("scheduled_start", request.scheduled_start()));
  } else {
    room.scheduled_start = absl::UnixEpoch();
  }
  if (request.has_scheduled_end()) {
    LC_ASSIGN_OR_RETURN(room.scheduled_end,
                        common::ParseTimestamp("scheduled_end", request.scheduled_end()));
  }
  room.visibility = request.visibility();
  for (int a : request.audiences()) {
    room.audiences.push_back(static_cast<Audience>(a));
  }
  room.objective = request.objective();
  room.format = request.format();
  room.status = v1::ROOM_STATUS_SCHEDULED;
  room.host_associate_id = request.host_associate_id();
  room.associate_invites_enabled = request.associate_invites().enabled();
  room.associate_invite_quota = request.associate_invites().quota_per_associate();
  room.created_by = caller.subject;
  room.created_at = now;
  room.updated_at = now;
  LC_RETURN_IF_ERROR(ValidateRoom(room));
  if (!room.host_associate_id.empty()) {
    LC_RETURN_IF_ERROR(CheckAssociate(room.brand_id, "host_associate_id", room.host_associate_id));
  }
  LC_ASSIGN_OR_RETURN(RoomRecord created, rooms_.CreateRoom(room));
  spdlog::info("room {} created for brand {}", created.id, created.brand_id);
  ToProto(created, response.mutable_room());
  return absl::OkStatus();
}

absl::Status RoomServiceImpl::DoUpdateRoom(const grpc::ServerContext& context,
                                           const v1::UpdateRoomRequest& request,
                                           v1::UpdateRoomResponse& response) {
  LC_ASSIGN_OR_RETURN(Principal caller, Caller(context));
  LC_ASSIGN_OR_RETURN(RoomRecord current, LoadRoom(caller, request.room_id()));
  LC_RETURN_IF_ERROR(RequireOps(caller, current));
  // Parse every timestamp before taking the row lock.
  std::optional<absl::Time> start;
  std::optional<absl::Time> end;
  if (request.has_scheduled_start()) {
    LC_ASSIGN_OR_RETURN(start,
                        common::ParseTimestamp("scheduled_start", request.scheduled_start()));
  }
  if (request.has_scheduled_end()) {
    LC_ASSIGN_OR_RETURN(end, common::ParseTimestamp("scheduled_end", request.scheduled_end()));
  }
  // The new host must be the brand's associate before the row is locked and written.
  if (request.has_host_associate_id() && !request.host_associate_id().empty()) {
    LC_RETURN_IF_ERROR(
        CheckAssociate(current.brand_id, "host_associate_id", request.host_associate_id()));
  }
  absl::Time now = clock_.Now();
  LC_ASSIGN_OR_RETURN(
      RoomRecord updated, rooms_.UpdateRoom(current.id, [&](RoomRecord& room) -> absl::Status {
        RoomRecord before = room;
        if (request.has_title()) room.title = request.title();
        if (request.has_description()) room.description = request.description();
        if (request.has_cover_image_url()) room.cover_image_url = request.cover_image_url();
        if (start.has_value()) room.scheduled_start = *start;
        if (end.has_value()) room.scheduled_end = *end;
        if (request.has_visibility()) room.visibility = request.visibility();
        if (request.has_audiences()) {
          room.audiences.clear();
          for (int a : request.audiences().audiences()) {
            room.audiences.push_back(static_cast<Audience>(a));
          }
        }
        if (request.has_objective()) room.objective = request.objective();
        if (request.has_format()) room.format = request.format();
        if (request.has_host_associate_id()) room.host_associate_id = request.host_associate_id();
        if (request.has_associate_invites()) {
          room.associate_invites_enabled = request.associate_invites().enabled();
          room.associate_invite_quota = request.associate_invites().quota_per_associate();
        }
        room.updated_at = now;
        return CheckUpdateAllowed(before, room);
      }));
  ToProto(updated, response.mutable_room());
  return absl::OkStatus();
}

grpc::Status RoomServiceImpl::CreateRoom(grpc::ServerContext* context,
                                         const v1::CreateRoomRequest* request,
                                         v1::CreateRoomResponse* response) {
  return common::ToGrpcStatus(DoCreateRoom(*context, *request, *response));
}

grpc::Status RoomServiceImpl::UpdateRoom(grpc::ServerContext* context,
                                         const v1::UpdateRoomRequest* request,
                                         v1::UpdateRoomResponse* response) {
  return common::ToGrpcStatus(DoUpdateRoom(*context, *request, *response));
}

grpc::Status RoomServiceImpl::GetRoom(grpc::ServerContext* context,
                                      const v1::GetRoomRequest* request,
                                      v1::GetRoomResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_RETURN_IF_ERROR(CheckCanSee(caller, room));
    ToProto(room, response->mutable_room());
    return absl::OkStatus();
  }());
}

grpc::Status RoomServiceImpl::ListRooms(grpc::ServerContext* context,
                                        const v1::ListRoomsRequest* request,
                                        v1::ListRoomsResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    if (request->brand_id() != caller.brand_id) {
      return absl::PermissionDeniedError("brand_id: caller belongs to another brand");
    }
    if (!v1::RoomStatus_IsValid(request->status())) {
      return InvalidField("status", "is not a room status");
    }
    LC_ASSIGN_OR_RETURN(int limit,
                        common::PageSize(request->page_size(), kDefaultPageSize, kMaxPageSize));
    LC_ASSIGN_OR_RETURN(int64_t after, common::DecodePageToken(request->page_token()));
    RoomQuery query{caller.brand_id, request->status(),
                    !(IsStaff(caller) || caller.role == Role::kFinance), after, limit + 1};
    LC_ASSIGN_OR_RETURN(std::vector<RoomRecord> rooms, rooms_.ListRooms(query));
    bool more = common::TrimPage(rooms, limit);
    for (const RoomRecord& room : rooms) {
      ToProto(room, response->add_rooms());
    }
    if (more) response->set_next_page_token(common::EncodePageToken(rooms.back().id));
    return absl::OkStatus();
  }());
}

// ---- Sessions ----------------------------------------------------------------------------------

grpc::Status RoomServiceImpl::GoLive(grpc::ServerContext* context, const v1::GoLiveRequest* request,
                                     v1::GoLiveResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_RETURN_IF_ERROR(RequireOps(caller, room));
    LC_ASSIGN_OR_RETURN(auto started,
                        rooms_.StartSession(room.id, clock_.Now(), options_.presence_buckets));
    ForgetLiveSession(room.id);
    spdlog::info("room {} live, session {}", room.id, started.second.id);
    ToProto(started.first, response->mutable_room());
    ToProto(started.second, response->mutable_session());
    return absl::OkStatus();
  }());
}

absl::Status RoomServiceImpl::DoEndSession(const grpc::ServerContext& context,
                                           const v1::EndSessionRequest& request,
                                           v1::EndSessionResponse& response) {
  LC_ASSIGN_OR_RETURN(Principal caller, Caller(context));
  LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request.room_id()));
  LC_RETURN_IF_ERROR(RequireOps(caller, room));
  absl::Time now = clock_.Now();
  LC_ASSIGN_OR_RETURN(
      auto ended,
      rooms_.EndSession(
          room.id, now, [&](const SessionRecord& session) -> absl::StatusOr<SessionStats> {
            LC_ASSIGN_OR_RETURN(LiveCounts counts,
                                presence_.Counts({session.id, session.presence_buckets}, now));
            return SessionStats{counts.reach, counts.peak, counts.joins, counts.watch_ms};
          }));
  ForgetLiveSession(room.id);
  const SessionRecord& session = ended.second;
  {
    std::lock_guard<std::mutex> lock(live_mu_);
    counts_cache_.erase(session.id);
  }
  // The stats are committed; the presence keys only need to go away eventually.
  absl::Status retired =
      presence_.Retire({session.id, session.presence_buckets}, options_.ended_presence_ttl);
  if (!retired.ok()) {
    spdlog::warn("session {} ended but its presence keys were not retired: {}", session.id,
                 retired.message());
  }
  spdlog::info("session {} of room {} ended: reach {} peak {} joins {}", session.id, room.id,
               session.stats.reach, session.stats.peak_concurrency, session.stats.total_joins);
  ToProto(ended.first, response.mutable_room());
  ToProto(session, response.mutable_session());
  return absl::OkStatus();
}

grpc::Status RoomServiceImpl::EndSession(grpc::ServerContext* context,
                                         const v1::EndSessionRequest* request,
                                         v1::EndSessionResponse* response) {
  return common::ToGrpcStatus(DoEndSession(*context, *request, *response));
}

grpc::Status RoomServiceImpl::GetSession(grpc::ServerContext* context,
                                         const v1::GetSessionRequest* request,
                                         v1::GetSessionResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(int64_t id, ParseId("session_id", request->session_id()));
    LC_ASSIGN_OR_RETURN(SessionRecord session, rooms_.GetSession(id));
    if (session.brand_id != caller.brand_id) {
      return absl::NotFoundError("session_id: no such session");
    }
    LC_RETURN_IF_ERROR(common::RequireRole(caller, session.brand_id,
                                           {Role::kOps, Role::kFinance, Role::kService}));
    ToProto(session, response->mutable_session());
    return absl::OkStatus();
  }());
}

grpc::Status RoomServiceImpl::ListSessions(grpc::ServerContext* context,
                                           const v1::ListSessionsRequest* request,
                                           v1::ListSessionsResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_RETURN_IF_ERROR(
        common::RequireRole(caller, room.brand_id, {Role::kOps, Role::kFinance, Role::kService}));
    LC_ASSIGN_OR_RETURN(int limit,
                        common::PageSize(request->page_size(), kDefaultPageSize, kMaxPageSize));
    LC_ASSIGN_OR_RETURN(int64_t after, common::DecodePageToken(request->page_token()));
    LC_ASSIGN_OR_RETURN(std::vector<SessionRecord> sessions,
                        rooms_.ListSessions(room.id, after, limit + 1));
    bool more = common::TrimPage(sessions, limit);
    for (const SessionRecord& s : sessions) {
      ToProto(s, response->add_sessions());
    }
    if (more) response->set_next_page_token(common::EncodePageToken(sessions.back().id));
    return absl::OkStatus();
  }());
}

// ---- Invites -----------------------------------------------------------------------------------

absl::Status RoomServiceImpl::DoIssueInvites(const grpc::ServerContext& context,
                                             const v1::IssueInvitesRequest& request,
                                             v1::IssueInvitesResponse& response) {
  LC_ASSIGN_OR_RETURN(Principal caller, Caller(context));
  LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request.room_id()));
  // Ops issue any invite of the brand; an associate only their own, to a room open to them.
  const bool by_associate = caller.role == Role::kAssociate;
  if (by_associate) {
    if (!request.associate_id().empty() && request.associate_id() != caller.subject) {
      return absl::PermissionDeniedError(
          "associate_id: an associate issues invites only on their own behalf");
    }
    if (!room.associate_invites_enabled) {
      return absl::PermissionDeniedError("room_id: this room is not open to associates' invites");
    }
  } else {
    LC_RETURN_IF_ERROR(RequireOps(caller, room));
  }
  const std::string associate_id = by_associate ? caller.subject : request.associate_id();
  LC_RETURN_IF_ERROR(ValidateCohort(request.cohort()));
  if (!associate_id.empty() && !common::IsValidId(associate_id)) {
    return InvalidField("associate_id", "must be 1-128 characters of letters, digits, _ . : -");
  }
  absl::Time now = clock_.Now();
  std::optional<absl::Time> expires;
  if (request.has_expires_at()) {
    LC_ASSIGN_OR_RETURN(expires, common::ParseTimestamp("expires_at", request.expires_at()));
    if (*expires <= now) {
      return InvalidField("expires_at", "must be in the future");
    }
  }
  if (!request.invitees().empty() && request.count() != 0) {
    return InvalidField("count", "give either invitees or count, not both");
  }
  int n = request.invitees().empty() ? request.count() : request.invitees_size();
  if (n < 1 || n > kMaxInvitesPerCall) {
    return InvalidField(request.invitees().empty() ? "count" : "invitees",
                        absl::StrCat("must ask for 1 to ", kMaxInvitesPerCall, " invites"));
  }
  std::vector<InviteRecord> invites;
  std::vector<std::string> tokens;
  invites.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    InviteRecord invite;
    if (!request.invitees().empty()) {
      const std::string& ref = request.invitees(i).client_ref();
      if (!ref.empty() && !common::IsValidId(ref)) {
        return InvalidField(absl::StrCat("invitees[", i, "].client_ref"),
                            "must be 1-128 characters of letters, digits, _ . : -");
      }
      invite.client_ref = ref;
    }
    tokens.push_back(common::RandomToken(32));
    invite.token_hash = common::Sha256(tokens.back());
    invite.brand_id = room.brand_id;
    invite.room_id = room.id;
    invite.cohort = request.cohort();
    invite.associate_id = associate_id;
    invite.expires_at = expires;
    invite.issued_by = caller.subject;
    invite.created_at = now;
    invites.push_back(std::move(invite));
  }
  // The associate must be the brand's before any invite names them.
  if (!associate_id.empty()) {
    LC_RETURN_IF_ERROR(CheckAssociate(room.brand_id, "associate_id", associate_id));
  }
  std::vector<InviteRecord> created;
  if (by_associate) {
    LC_ASSIGN_OR_RETURN(IssuedInvites issued,
                        rooms_.CreateAssociateInvites(room.id, caller.subject, invites));
    created = std::move(issued.invites);
    v1::InviteQuota* quota = response.mutable_quota();
    quota->set_quota(issued.quota.quota);
    quota->set_issued(issued.quota.issued);
    quota->set_left(issued.quota.Left());
  } else {
    LC_ASSIGN_OR_RETURN(created, rooms_.CreateInvites(invites));
  }
  for (size_t i = 0; i < created.size(); ++i) {
    v1::Invite* out = response.add_invites();
    ToProto(created[i], now, out);
    out->set_token(tokens[i]);
  }
  spdlog::info("{} invites issued for room {} (cohort '{}'){}", created.size(), room.id,
               request.cohort(), by_associate ? " by an associate" : "");
  return absl::OkStatus();
}

grpc::Status RoomServiceImpl::IssueInvites(grpc::ServerContext* context,
                                           const v1::IssueInvitesRequest* request,
                                           v1::IssueInvitesResponse* response) {
  return common::ToGrpcStatus(DoIssueInvites(*context, *request, *response));
}

grpc::Status RoomServiceImpl::RevokeInvite(grpc::ServerContext* context,
                                           const v1::RevokeInviteRequest* request,
                                           v1::RevokeInviteResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(int64_t id, ParseId("invite_id", request->invite_id()));
    LC_ASSIGN_OR_RETURN(InviteRecord invite, rooms_.GetInvite(id));
    if (invite.brand_id != caller.brand_id) {
      return absl::NotFoundError("invite_id: no such invite");
    }
    LC_RETURN_IF_ERROR(common::RequireRole(caller, invite.brand_id, {Role::kOps}));
    absl::Time now = clock_.Now();
    LC_ASSIGN_OR_RETURN(InviteRecord revoked, rooms_.RevokeInvite(id, now));
    ToProto(revoked, now, response->mutable_invite());
    return absl::OkStatus();
  }());
}

grpc::Status RoomServiceImpl::ListInvites(grpc::ServerContext* context,
                                          const v1::ListInvitesRequest* request,
                                          v1::ListInvitesResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    // An associate lists only their own invites (issued by them or on their behalf).
    const bool by_associate = caller.role == Role::kAssociate;
    if (by_associate) {
      if (!request->associate_id().empty() && request->associate_id() != caller.subject) {
        return absl::PermissionDeniedError("associate_id: an associate lists only their own");
      }
    } else {
      LC_RETURN_IF_ERROR(RequireOps(caller, room));
    }
    LC_RETURN_IF_ERROR(ValidateCohort(request->cohort()));
    const std::string associate_id = by_associate ? caller.subject : request->associate_id();
    if (!associate_id.empty() && !by_associate) {
      LC_RETURN_IF_ERROR(CheckAssociate(room.brand_id, "associate_id", associate_id));
    } else if (!associate_id.empty() && !common::IsValidId(associate_id)) {
      return InvalidField("associate_id", "must be 1-128 characters of letters, digits, _ . : -");
    }
    LC_ASSIGN_OR_RETURN(int limit, common::PageSize(request->page_size(), 50, 500));
    LC_ASSIGN_OR_RETURN(int64_t after, common::DecodePageToken(request->page_token()));
    if (by_associate) {
      LC_ASSIGN_OR_RETURN(AssociateQuota quota,
                          rooms_.AssociateInviteQuota(room.id, caller.subject));
      response->mutable_quota()->set_quota(quota.quota);
      response->mutable_quota()->set_issued(quota.issued);
      response->mutable_quota()->set_left(quota.Left());
    }
    InviteQuery query{room.id, request->cohort(), associate_id, after, limit + 1};
    LC_ASSIGN_OR_RETURN(std::vector<InviteRecord> invites, rooms_.ListInvites(query));
    bool more = common::TrimPage(invites, limit);
    absl::Time now = clock_.Now();
    for (const InviteRecord& invite : invites) {
      ToProto(invite, now, response->add_invites());
    }
    if (more) response->set_next_page_token(common::EncodePageToken(invites.back().id));
    return absl::OkStatus();
  }());
}

// ---- Presence ----------------------------------------------------------------------------------

absl::Status RoomServiceImpl::DoJoinRoom(const grpc::ServerContext& context,
                                         const v1::JoinRoomRequest& request,
                                         v1::JoinRoomResponse& response) {
  LC_ASSIGN_OR_RETURN(Principal caller, Caller(context));
  LC_RETURN_IF_ERROR(RequireJoiner(caller));
  LC_RETURN_IF_ERROR(ValidateDeviceId(request.device_id()));
  LC_ASSIGN_OR_RETURN(int64_t room_id, ParseId("room_id", request.room_id()));
  absl::StatusOr<LiveSession> live_or = LiveSessionOf(room_id);
  if (!live_or.ok() && live_or.status().code() == absl::StatusCode::kFailedPrecondition) {
    // Not live, or not this brand's room: say which without revealing other brands' rooms.
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request.room_id()));
    return live_or.status();
  }
  LC_ASSIGN_OR_RETURN(LiveSession live, std::move(live_or));
  const RoomRecord& room = live.room;
  if (room.brand_id != caller.brand_id) {
    return absl::NotFoundError("room_id: no such room");
  }
  absl::Time now = clock_.Now();
  std::optional<InviteGrant> grant;
  std::string token_hash;
  if (!request.invite_token().empty()) {
    LC_RETURN_IF_ERROR(ValidateInviteToken(request.invite_token()));
    token_hash = common::Sha256(request.invite_token());
  }
  if (room.visibility == v1::VISIBILITY_PRIVATE && caller.role == Role::kViewer) {
    LC_ASSIGN_OR_RETURN(grant, rooms_.AdmitToPrivateRoom(room.id, caller.subject, token_hash, now));
  } else if (!token_hash.empty()) {
    // In a public room an invite only tells who invited the viewer; a bad one does not stop them.
    absl::StatusOr<InviteGrant> public_grant =
        rooms_.AdmitToPrivateRoom(room.id, caller.subject, token_hash, now);
    if (public_grant.ok()) {
      grant = *public_grant;
    } else if (public_grant.status().code() != absl::StatusCode::kPermissionDenied) {
      return public_grant.status();
    }
  }
  LC_ASSIGN_OR_RETURN(bool arrived,
                      presence_.Join(live.presence, caller.subject, request.device_id(), now));
  if (activity_ != nullptr && caller.role == Role::kViewer && (arrived || grant.has_value())) {
    activity_->Joined(room.brand_id, caller.subject, room.id, live.presence.session_id, grant);
  }
  LC_ASSIGN_OR_RETURN(LiveCounts counts, RecentCounts(live.presence));
  response.set_session_id(FormatId(live.presence.session_id));
  v1::RoomStats* stats = response.mutable_stats();
  stats->set_room_id(FormatId(room.id));
  stats->set_session_id(FormatId(live.presence.session_id));
  stats->set_status(room.status);
  stats->set_concurrent_viewers(counts.concurrent);
  stats->set_peak_concurrency(counts.peak);
  stats->set_reach(counts.reach);
  stats->set_total_joins(counts.joins);
  stats->set_watch_seconds(counts.watch_ms / 1000);
  ToTimestamp(now, stats->mutable_as_of());
  if (room.pinned.has_value()) {
    *response.mutable_pinned() = ResolvedPin(room);
  }
  if (grant.has_value()) {
    response.set_cohort(grant->cohort);
    response.set_associate_id(grant->associate_id);
  }
  response.set_heartbeat_interval_seconds(
      static_cast<int32_t>(absl::ToInt64Seconds(options_.heartbeat_interval)));
  return absl::OkStatus();
}

grpc::Status RoomServiceImpl::JoinRoom(grpc::ServerContext* context,
                                       const v1::JoinRoomRequest* request,
                                       v1::JoinRoomResponse* response) {
  return common::ToGrpcStatus(DoJoinRoom(*context, *request, *response));
}

absl::StatusOr<std::pair<std::string, PresenceSession>> RoomServiceImpl::PrepareHeartbeat(
    const grpc::ServerContextBase& context, const v1::HeartbeatRequest& request) {
  LC_ASSIGN_OR_RETURN(Principal caller, Caller(context));
  LC_RETURN_IF_ERROR(ValidateDeviceId(request.device_id()));
  LC_ASSIGN_OR_RETURN(int64_t room_id, ParseId("room_id", request.room_id()));
  LC_ASSIGN_OR_RETURN(LiveSession live, LiveSessionOf(room_id));
  if (live.room.brand_id != caller.brand_id) {
    return absl::NotFoundError("room_id: no such room");
  }
  return std::make_pair(caller.subject, live.presence);
}

grpc::ServerUnaryReactor* RoomServiceImpl::Heartbeat(grpc::CallbackServerContext* context,
                                                     const v1::HeartbeatRequest* request,
                                                     v1::HeartbeatResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto prepared = PrepareHeartbeat(*context, *request);
  if (!prepared.ok()) {
    reactor->Finish(common::ToGrpcStatus(prepared.status()));
    return reactor;
  }
  int32_t interval = static_cast<int32_t>(absl::ToInt64Seconds(options_.heartbeat_interval));
  // Answered from the presence store's batch thread: concurrent heartbeats share pipelines.
  presence_.HeartbeatAsync(
      prepared->second, prepared->first, request->device_id(), clock_.Now(),
      [reactor, response, interval](absl::StatusOr<bool> present) {
        absl::Status status = present.status();
        if (status.ok() && !*present) {
          status = absl::FailedPreconditionError("device_id: not in the room; join again");
        }
        if (status.ok()) response->set_heartbeat_interval_seconds(interval);
        reactor->Finish(common::ToGrpcStatus(status));
      });
  return reactor;
}

grpc::Status RoomServiceImpl::LeaveRoom(grpc::ServerContext* context,
                                        const v1::LeaveRoomRequest* request,
                                        v1::LeaveRoomResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(RequireJoiner(caller));
    LC_RETURN_IF_ERROR(ValidateDeviceId(request->device_id()));
    LC_ASSIGN_OR_RETURN(int64_t room_id, ParseId("room_id", request->room_id()));
    absl::StatusOr<LiveSession> live = LiveSessionOf(room_id);
    if (!live.ok() && live.status().code() == absl::StatusCode::kFailedPrecondition) {
      return absl::OkStatus();  // the session is over: nobody is present any more
    }
    if (!live.ok()) {
      return live.status();
    }
    if (live->room.brand_id != caller.brand_id) {
      return absl::NotFoundError("room_id: no such room");
    }
    LC_RETURN_IF_ERROR(
        presence_.Leave(live->presence, caller.subject, request->device_id(), clock_.Now()));
    if (activity_ != nullptr && caller.role == Role::kViewer) {
      activity_->Left(live->room.brand_id, caller.subject, live->room.id,
                      live->presence.session_id);
    }
    return absl::OkStatus();
  }());
}

absl::Status RoomServiceImpl::DoBatchPresence(const grpc::ServerContext& context,
                                              const v1::BatchPresenceRequest& request,
                                              v1::BatchPresenceResponse& response) {
  LC_ASSIGN_OR_RETURN(Principal caller, Caller(context));
  if (caller.role != Role::kService) {
    return absl::PermissionDeniedError("BatchPresence is for the gateway only");
  }
  if (request.events_size() == 0 || static_cast<size_t>(request.events_size()) > kMaxBatchEvents) {
    return InvalidField("events", absl::StrCat("must hold 1 to ", kMaxBatchEvents, " events"));
  }
  std::vector<PresenceOp> ops;
  std::vector<int64_t> room_of_op;
  std::vector<int> op_of_event(static_cast<size_t>(request.events_size()), -1);
  ops.reserve(static_cast<size_t>(request.events_size()));
  for (int i = 0; i < request.events_size(); ++i) {
    const v1::PresenceEvent& event = request.events(i);
    std::string field = absl::StrCat("events[", i, "]");
    if (!common::IsValidId(event.viewer_id())) {
      return InvalidField(absl::StrCat(field, ".viewer_id"), "is not a valid viewer id");
    }
    if (!ValidateDeviceId(event.device_id()).ok()) {
      return InvalidField(absl::StrCat(field, ".device_id"),
                          "must be 1-64 characters of letters, digits, _ . : -");
    }
    if (event.kind() != v1::PresenceEvent::KIND_HEARTBEAT &&
        event.kind() != v1::PresenceEvent::KIND_LEAVE) {
      return InvalidField(absl::StrCat(field, ".kind"), "must be KIND_HEARTBEAT or KIND_LEAVE");
    }
    LC_ASSIGN_OR_RETURN(int64_t room_id, ParseId(absl::StrCat(field, ".room_id"), event.room_id()));
    absl::StatusOr<LiveSession> live = LiveSessionOf(room_id);
    if (!live.ok() && live.status().code() != absl::StatusCode::kFailedPrecondition &&
        live.status().code() != absl::StatusCode::kNotFound) {
      return live.status();
    }
    if (!live.ok() || live->room.brand_id != caller.brand_id) {
      continue;  // not live (or not this brand's): the event is not applied
    }
    op_of_event[static_cast<size_t>(i)] = static_cast<int>(ops.size());
    room_of_op.push_back(room_id);
    ops.push_back(PresenceOp{live->presence, event.viewer_id(), event.device_id(),
                             event.kind() == v1::PresenceEvent::KIND_LEAVE
                                 ? PresenceOp::Kind::kLeave
                                 : PresenceOp::Kind::kHeartbeat});
  }
  std::vector<bool> applied;
  if (!ops.empty()) {
    LC_ASSIGN_OR_RETURN(applied, presence_.Apply(ops, clock_.Now()));
  }
  for (int i = 0; i < request.events_size(); ++i) {
    int index = op_of_event[static_cast<size_t>(i)];
    bool done = index >= 0 && applied[static_cast<size_t>(index)];
    response.add_applied(done);
    if (!done || activity_ == nullptr) continue;
    const PresenceOp& op = ops[static_cast<size_t>(index)];
    if (op.kind == PresenceOp::Kind::kLeave) {
      activity_->Left(caller.brand_id, op.viewer_id, room_of_op[static_cast<size_t>(index)],
                      op.session.session_id);
    }
  }
  return absl::OkStatus();
}

grpc::Status RoomServiceImpl::BatchPresence(grpc::ServerContext* context,
                                            const v1::BatchPresenceRequest* request,
                                            v1::BatchPresenceResponse* response) {
  return common::ToGrpcStatus(DoBatchPresence(*context, *request, *response));
}

// ---- Stats and pin -----------------------------------------------------------------------------

grpc::Status RoomServiceImpl::GetRoomStats(grpc::ServerContext* context,
                                           const v1::GetRoomStatsRequest* request,
                                           v1::GetRoomStatsResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_RETURN_IF_ERROR(CheckCanSee(caller, room));
    LC_ASSIGN_OR_RETURN(*response->mutable_stats(), StatsOf(room));
    return absl::OkStatus();
  }());
}

absl::Status RoomServiceImpl::DoWatchRoom(grpc::ServerContext& context,
                                          const v1::WatchRoomRequest& request,
                                          grpc::ServerWriter<v1::WatchRoomResponse>& writer) {
  LC_ASSIGN_OR_RETURN(Principal caller, Caller(context));
  // The gateway watches for the sockets it holds (SERVICE); of users, those who join rooms.
  if (caller.role != Role::kService) LC_RETURN_IF_ERROR(RequireJoiner(caller));
  LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request.room_id()));
  LC_RETURN_IF_ERROR(CheckCanSee(caller, room));
  std::optional<std::string> last_pin;  // unset until the first pin message is sent
  absl::Time next_stats = absl::InfinitePast();
  while (!context.IsCancelled()) {
    LC_ASSIGN_OR_RETURN(room, rooms_.GetRoom(room.id));
    std::string pin_key = room.pinned.has_value()
                              ? absl::StrCat(room.pinned->product_id, "/", room.pinned->sku_id, "/",
                                             absl::ToUnixNanos(room.pinned->pinned_at))
                              : std::string();
    if (!last_pin.has_value() || *last_pin != pin_key) {
      v1::WatchRoomResponse message;
      *message.mutable_pinned() = ResolvedPin(room);
      if (!writer.Write(message)) {
        return absl::OkStatus();
      }
      last_pin = pin_key;
    }
    absl::Time now = clock_.Now();
    if (now >= next_stats) {
      v1::WatchRoomResponse message;
      LC_ASSIGN_OR_RETURN(*message.mutable_stats(), StatsOf(room));
      if (!writer.Write(message)) {
        return absl::OkStatus();
      }
      next_stats = now + options_.watch_stats_interval;
      absl::StatusOr<std::vector<v1::FlashStock>> stock =
          catalog_.RoomFlashStock(room.brand_id, FormatId(room.id));
      if (stock.ok() && !stock->empty()) {
        v1::WatchRoomResponse update;
        for (v1::FlashStock& sale : *stock) {
          *update.mutable_flash_stock()->add_sales() = std::move(sale);
        }
        if (!writer.Write(update)) {
          return absl::OkStatus();
        }
      }
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(absl::ToInt64Milliseconds(options_.watch_pin_poll)));
  }
  return absl::OkStatus();
}

grpc::Status RoomServiceImpl::WatchRoom(grpc::ServerContext* context,
                                        const v1::WatchRoomRequest* request,
                                        grpc::ServerWriter<v1::WatchRoomResponse>* writer) {
  return common::ToGrpcStatus(DoWatchRoom(*context, *request, *writer));
}

grpc::Status RoomServiceImpl::PinProduct(grpc::ServerContext* context,
                                         const v1::PinProductRequest* request,
                                         v1::PinProductResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_RETURN_IF_ERROR(RequireOps(caller, room));
    if (!common::IsValidId(request->product_id())) {
      return InvalidField("product_id", "is not a valid product id");
    }
    if (!request->sku_id().empty() && !common::IsValidId(request->sku_id())) {
      return InvalidField("sku_id", "is not a valid SKU id");
    }
    // Only a product of the brand's catalog can be pinned.
    v1::PinnedProduct details;
    details.set_product_id(request->product_id());
    details.set_sku_id(request->sku_id());
    LC_RETURN_IF_ERROR(catalog_.Resolve(room.brand_id, details));
    absl::Time now = clock_.Now();
    LC_ASSIGN_OR_RETURN(RoomRecord updated,
                        rooms_.UpdateRoom(room.id, [&](RoomRecord& r) -> absl::Status {
                          if (r.status != v1::ROOM_STATUS_LIVE) {
                            return absl::FailedPreconditionError(
                                "room_id: products are pinned only while the room is live");
                          }
                          r.pinned = PinnedRef{request->product_id(), request->sku_id(), now};
                          r.updated_at = now;
                          return absl::OkStatus();
                        }));
    ToProto(*updated.pinned, response->mutable_pinned());
    response->mutable_pinned()->set_product_name(details.product_name());
    response->mutable_pinned()->set_image_url(details.image_url());
    *response->mutable_pinned()->mutable_price() = details.price();
    return absl::OkStatus();
  }());
}

grpc::Status RoomServiceImpl::UnpinProduct(grpc::ServerContext* context,
                                           const v1::UnpinProductRequest* request,
                                           v1::UnpinProductResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_RETURN_IF_ERROR(RequireOps(caller, room));
    absl::Time now = clock_.Now();
    return rooms_
        .UpdateRoom(room.id,
                    [&](RoomRecord& r) -> absl::Status {
                      r.pinned.reset();
                      r.updated_at = now;
                      return absl::OkStatus();
                    })
        .status();
  }());
}

grpc::Status RoomServiceImpl::GetPinnedProduct(grpc::ServerContext* context,
                                               const v1::GetPinnedProductRequest* request,
                                               v1::GetPinnedProductResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_RETURN_IF_ERROR(CheckCanSee(caller, room));
    if (room.pinned.has_value()) {
      *response->mutable_pinned() = ResolvedPin(room);
    }
    return absl::OkStatus();
  }());
}

grpc::Status RoomServiceImpl::GetViewerAccess(grpc::ServerContext* context,
                                              const v1::GetViewerAccessRequest* request,
                                              v1::GetViewerAccessResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    if (caller.role != Role::kService) {
      return absl::PermissionDeniedError("GetViewerAccess is for other services only");
    }
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    response->set_brand_id(room.brand_id);
    response->set_visibility(room.visibility);
    response->set_status(room.status);
    response->set_current_session_id(FormatId(room.current_session_id));
    response->set_admitted(room.visibility == v1::VISIBILITY_PUBLIC);
    if (request->viewer_id().empty()) {
      return absl::OkStatus();
    }
    if (!common::IsValidId(request->viewer_id())) {
      return InvalidField("viewer_id", "is not a valid viewer id");
    }
    LC_ASSIGN_OR_RETURN(std::optional<InviteRecord> invite,
                        rooms_.FindBoundInvite(room.id, request->viewer_id()));
    if (invite.has_value() && CheckInviteUsable(*invite, request->viewer_id(), clock_.Now()).ok()) {
      response->set_admitted(true);
      response->set_cohort(invite->cohort);
      response->set_associate_id(invite->associate_id);
    }
    return absl::OkStatus();
  }());
}

}  // namespace livecommerce::room
