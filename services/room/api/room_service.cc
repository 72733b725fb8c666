#include "services/room/api/room_service.h"

#include "absl/strings/str_cat.h"
#include "services/common/config.h"
#include "services/common/log_format.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/room/api/room_protos.h"

namespace livecommerce::room {
namespace {

using common::FormatId;
using common::InvalidField;
using common::kAnyRole;
using common::ParseId;
using common::Principal;
using common::Role;
using common::Roles;
using common::ToTimestamp;

constexpr int kDefaultPageSize = 20;
constexpr int kMaxPageSize = 100;
constexpr Roles kOpsOnly{Role::kOps};
constexpr Roles kSessionReaders{Role::kOps, Role::kFinance, Role::kService};

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
                                 ViewerActivity* activity, AssociateDirectory* associates,
                                 RoomStreams* streams, ReservationStore* reservations,
                                 MysqlReplayStore* replays)
    : rooms_(rooms),
      presence_(presence),
      catalog_(catalog),
      activity_(activity),
      associates_(associates),
      streams_(streams),
      reservations_(reservations),
      replays_(replays),
      clock_(clock),
      codec_(codec),
      options_(options) {}

// ---- Shared by the sections --------------------------------------------------------------------

v1::PinnedProduct RoomServiceImpl::ResolvedPin(const RoomRecord& room) {
  v1::PinnedProduct pinned;
  if (!room.pinned.has_value()) {
    return pinned;
  }
  ToProto(*room.pinned, &pinned);
  std::string key = absl::StrCat(room.brand_id, "/", pinned.product_id(), "/", pinned.sku_id());
  absl::Time now = wall_clock_.Now();
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

absl::StatusOr<RoomRecord> RoomServiceImpl::LoadRoom(const Principal& caller,
                                                     absl::string_view room_id) {
  LC_ASSIGN_OR_RETURN(int64_t id, ParseId("room_id", room_id));
  LC_ASSIGN_OR_RETURN(RoomRecord room, rooms_.GetRoom(id));
  if (room.brand_id != caller.brand_id) {
    return absl::NotFoundError("room_id: no such room");
  }
  return room;
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
  absl::Time now = wall_clock_.Now();
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
  absl::Time now = wall_clock_.Now();
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
  if (streams_ != nullptr) {
    if (std::optional<v1::StreamStatus> stream = streams_->StatusOf(room.id)) {
      *stats.mutable_stream() = *std::move(stream);
    }
  }
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

grpc::Status RoomServiceImpl::CreateRoom(grpc::ServerContext* context,
                                         const v1::CreateRoomRequest* request,
                                         v1::CreateRoomResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_RETURN_IF_ERROR(common::RequireRole(caller, request->brand_id(), {Role::kOps}));
    absl::Time now = clock_.Now();
    RoomRecord room;
    room.brand_id = request->brand_id();
    room.title = request->title();
    room.description = request->description();
    room.cover_image_url = request->cover_image_url();
    if (request->has_scheduled_start()) {
      LC_ASSIGN_OR_RETURN(room.scheduled_start,
                          common::ParseTimestamp("scheduled_start", request->scheduled_start()));
    } else {
      room.scheduled_start = absl::UnixEpoch();
    }
    if (request->has_scheduled_end()) {
      LC_ASSIGN_OR_RETURN(room.scheduled_end,
                          common::ParseTimestamp("scheduled_end", request->scheduled_end()));
    }
    room.visibility = request->visibility();
    for (int a : request->audiences()) {
      room.audiences.push_back(static_cast<Audience>(a));
    }
    room.objective = request->objective();
    room.format = request->format();
    room.status = v1::ROOM_STATUS_SCHEDULED;
    room.host_associate_id = request->host_associate_id();
    room.associate_invites_enabled = request->associate_invites().enabled();
    room.associate_invite_quota = request->associate_invites().quota_per_associate();
    room.start_on_publish = request->start_on_publish();
    room.created_by = caller.subject;
    room.created_at = now;
    room.updated_at = now;
    LC_RETURN_IF_ERROR(ValidateRoom(room));
    if (!room.host_associate_id.empty()) {
      LC_RETURN_IF_ERROR(
          CheckAssociate(room.brand_id, "host_associate_id", room.host_associate_id));
    }
    LC_ASSIGN_OR_RETURN(RoomRecord created, rooms_.CreateRoom(room));
    spdlog::info("room {} created for brand {}", created.id, created.brand_id);
    ToProto(created, response->mutable_room());
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::UpdateRoom(grpc::ServerContext* context,
                                         const v1::UpdateRoomRequest* request,
                                         v1::UpdateRoomResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(RoomRecord current, LoadRoom(caller, request->room_id()));
    // Parse every timestamp before taking the row lock.
    std::optional<absl::Time> start;
    std::optional<absl::Time> end;
    if (request->has_scheduled_start()) {
      LC_ASSIGN_OR_RETURN(start,
                          common::ParseTimestamp("scheduled_start", request->scheduled_start()));
    }
    if (request->has_scheduled_end()) {
      LC_ASSIGN_OR_RETURN(end, common::ParseTimestamp("scheduled_end", request->scheduled_end()));
    }
    // The new host must be the brand's associate before the row is locked and written.
    if (request->has_host_associate_id() && !request->host_associate_id().empty()) {
      LC_RETURN_IF_ERROR(
          CheckAssociate(current.brand_id, "host_associate_id", request->host_associate_id()));
    }
    absl::Time now = clock_.Now();
    LC_ASSIGN_OR_RETURN(
        RoomRecord updated, rooms_.UpdateRoom(current.id, [&](RoomRecord& room) -> absl::Status {
          RoomRecord before = room;
          if (request->has_title()) room.title = request->title();
          if (request->has_description()) room.description = request->description();
          if (request->has_cover_image_url()) room.cover_image_url = request->cover_image_url();
          if (start.has_value()) room.scheduled_start = *start;
          if (end.has_value()) room.scheduled_end = *end;
          if (request->has_visibility()) room.visibility = request->visibility();
          if (request->has_audiences()) {
            room.audiences.clear();
            for (int a : request->audiences().audiences()) {
              room.audiences.push_back(static_cast<Audience>(a));
            }
          }
          if (request->has_objective()) room.objective = request->objective();
          if (request->has_format()) room.format = request->format();
          if (request->has_host_associate_id()) {
            room.host_associate_id = request->host_associate_id();
          }
          if (request->has_associate_invites()) {
            room.associate_invites_enabled = request->associate_invites().enabled();
            room.associate_invite_quota = request->associate_invites().quota_per_associate();
          }
          if (request->has_start_on_publish()) room.start_on_publish = request->start_on_publish();
          room.updated_at = now;
          return CheckUpdateAllowed(before, room);
        }));
    ToProto(updated, response->mutable_room());
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::GetRoom(grpc::ServerContext* context,
                                      const v1::GetRoomRequest* request,
                                      v1::GetRoomResponse* response) {
  return frame_.Run(*context, kAnyRole, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_RETURN_IF_ERROR(CheckCanSee(caller, room));
    ToProto(room, response->mutable_room());
    if (streams_ != nullptr) {
      if (std::optional<v1::StreamStatus> stream = streams_->StatusOf(room.id)) {
        *response->mutable_room()->mutable_stream() = *std::move(stream);
      }
    }
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::ListRooms(grpc::ServerContext* context,
                                        const v1::ListRoomsRequest* request,
                                        v1::ListRoomsResponse* response) {
  return frame_.Run(*context, kAnyRole, [&](const Principal& caller) -> absl::Status {
    if (request->brand_id() != caller.brand_id) {
      return absl::PermissionDeniedError("brand_id: caller belongs to another brand");
    }
    if (!v1::RoomStatus_IsValid(request->status())) {
      return InvalidField("status", "is not a room status");
    }
    LC_ASSIGN_OR_RETURN(common::PageRequest page,
                        common::ParsePageRequest(request->page_size(), request->page_token(),
                                                 kDefaultPageSize, kMaxPageSize));
    RoomQuery query{caller.brand_id, request->status(),
                    !(IsStaff(caller) || caller.role == Role::kFinance), page.after, page.fetch()};
    LC_ASSIGN_OR_RETURN(std::vector<RoomRecord> rooms, rooms_.ListRooms(query));
    bool more = common::TrimPage(rooms, page.limit);
    for (const RoomRecord& room : rooms) {
      ToProto(room, response->add_rooms());
    }
    if (more) response->set_next_page_token(common::EncodePageToken(rooms.back().id));
    return absl::OkStatus();
  });
}

// ---- Sessions ----------------------------------------------------------------------------------

grpc::Status RoomServiceImpl::GoLive(grpc::ServerContext* context, const v1::GoLiveRequest* request,
                                     v1::GoLiveResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_ASSIGN_OR_RETURN(RoomSession started, StartLive(room.id));
    ToProto(started.room, response->mutable_room());
    ToProto(started.session, response->mutable_session());
    return absl::OkStatus();
  });
}

absl::StatusOr<RoomSession> RoomServiceImpl::StartLive(int64_t room_id) {
  LC_ASSIGN_OR_RETURN(RoomSession started,
                      rooms_.StartSession(room_id, clock_.Now(), options_.presence_buckets));
  ForgetLiveSession(room_id);
  if (streams_ != nullptr) streams_->SessionStarted(room_id);
  changes_.Changed(room_id);
  spdlog::info("room {} live, session {}", room_id, started.session.id);
  return started;
}

absl::StatusOr<RoomSession> RoomServiceImpl::EndLive(int64_t room_id) {
  absl::Time now = clock_.Now();
  LC_ASSIGN_OR_RETURN(
      RoomSession ended,
      rooms_.EndSession(
          room_id, now, [&](const SessionRecord& session) -> absl::StatusOr<SessionStats> {
            LC_ASSIGN_OR_RETURN(LiveCounts counts,
                                presence_.Counts({session.id, session.presence_buckets}, now));
            return SessionStats{counts.reach, counts.peak, counts.joins, counts.watch_ms};
          }));
  ForgetLiveSession(room_id);
  const SessionRecord& session = ended.session;
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
  if (streams_ != nullptr) streams_->SessionEnded(room_id);
  changes_.Changed(room_id);
  spdlog::info("session {} of room {} ended: reach {} peak {} joins {}", session.id, room_id,
               session.stats.reach, session.stats.peak_concurrency, session.stats.total_joins);
  return ended;
}

RoomStreams::SessionControl RoomServiceImpl::SessionControl() {
  return {[this](int64_t room_id) { return StartLive(room_id).status(); },
          [this](int64_t room_id) { return EndLive(room_id).status(); },
          [this](int64_t room_id) { changes_.Changed(room_id); }};
}

grpc::Status RoomServiceImpl::EndSession(grpc::ServerContext* context,
                                         const v1::EndSessionRequest* request,
                                         v1::EndSessionResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_ASSIGN_OR_RETURN(RoomSession ended, EndLive(room.id));
    ToProto(ended.room, response->mutable_room());
    ToProto(ended.session, response->mutable_session());
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::GetSession(grpc::ServerContext* context,
                                         const v1::GetSessionRequest* request,
                                         v1::GetSessionResponse* response) {
  return frame_.Run(*context, kSessionReaders, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t id, ParseId("session_id", request->session_id()));
    LC_ASSIGN_OR_RETURN(SessionRecord session, rooms_.GetSession(id));
    if (session.brand_id != caller.brand_id) {
      return absl::NotFoundError("session_id: no such session");
    }
    ToProto(session, response->mutable_session());
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::ListSessions(grpc::ServerContext* context,
                                           const v1::ListSessionsRequest* request,
                                           v1::ListSessionsResponse* response) {
  return frame_.Run(*context, kSessionReaders, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_ASSIGN_OR_RETURN(common::PageRequest page,
                        common::ParsePageRequest(request->page_size(), request->page_token(),
                                                 kDefaultPageSize, kMaxPageSize));
    LC_ASSIGN_OR_RETURN(std::vector<SessionRecord> sessions,
                        rooms_.ListSessions(room.id, page.after, page.fetch()));
    bool more = common::TrimPage(sessions, page.limit);
    for (const SessionRecord& s : sessions) {
      ToProto(s, response->add_sessions());
    }
    if (more) response->set_next_page_token(common::EncodePageToken(sessions.back().id));
    return absl::OkStatus();
  });
}

}  // namespace livecommerce::room
