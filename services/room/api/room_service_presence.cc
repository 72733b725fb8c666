// RoomServiceImpl: presence (join, heartbeat, leave and the gateway's batches).
#include "absl/strings/str_cat.h"
#include "services/common/admission.h"
#include "services/common/crypto.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/room/api/room_protos.h"
#include "services/room/api/room_service.h"

namespace livecommerce::room {
namespace {

using common::FormatId;
using common::InvalidField;
using common::ParseId;
using common::Principal;
using common::Role;
using common::ToTimestamp;

constexpr size_t kMaxBatchEvents = 5000;

}  // namespace

grpc::Status RoomServiceImpl::JoinRoom(grpc::ServerContext* context,
                                       const v1::JoinRoomRequest* request,
                                       v1::JoinRoomResponse* response) {
  return frame_.Run(*context, kJoiners, [&](const Principal& caller) -> absl::Status {
    LC_RETURN_IF_ERROR(ValidateDeviceId(request->device_id()));
    LC_ASSIGN_OR_RETURN(int64_t room_id, ParseId("room_id", request->room_id()));
    absl::StatusOr<LiveSession> live_or = LiveSessionOf(room_id);
    if (!live_or.ok() && live_or.status().code() == absl::StatusCode::kFailedPrecondition) {
      // Not live, or not this brand's room: say which without revealing other brands' rooms.
      LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
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
    if (!request->invite_token().empty()) {
      LC_RETURN_IF_ERROR(ValidateInviteToken(request->invite_token()));
      token_hash = common::Sha256(request->invite_token());
    }
    if (room.visibility == v1::VISIBILITY_PRIVATE && caller.role == Role::kViewer) {
      LC_ASSIGN_OR_RETURN(grant,
                          rooms_.AdmitToPrivateRoom(room.id, caller.subject, token_hash, now));
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
                        presence_.Join(live.presence, caller.subject, request->device_id(), now));
    if (activity_ != nullptr && caller.role == Role::kViewer && (arrived || grant.has_value())) {
      activity_->Joined(room.brand_id, caller.subject, room.id, live.presence.session_id, grant);
    }
    LC_ASSIGN_OR_RETURN(LiveCounts counts, RecentCounts(live.presence));
    response->set_session_id(FormatId(live.presence.session_id));
    v1::RoomStats* stats = response->mutable_stats();
    stats->set_room_id(FormatId(room.id));
    stats->set_session_id(FormatId(live.presence.session_id));
    stats->set_status(room.status);
    stats->set_concurrent_viewers(counts.concurrent);
    stats->set_peak_concurrency(counts.peak);
    stats->set_reach(counts.reach);
    stats->set_total_joins(counts.joins);
    stats->set_watch_seconds(counts.watch_ms / 1000);
    ToTimestamp(now, stats->mutable_as_of());
    if (streams_ != nullptr) {
      // Signed for this viewer now, so an address passed on stops working when it expires.
      if (std::optional<StreamRecord> stream = streams_->Recent(room.id)) {
        *response->mutable_play() = streams_->PlayOf(*stream);
        *stats->mutable_stream() = StatusOf(*stream, streams_->options().grace);
      }
    }
    if (room.pinned.has_value()) {
      *response->mutable_pinned() = ResolvedPin(room);
    }
    if (grant.has_value()) {
      response->set_cohort(grant->cohort);
      response->set_associate_id(grant->associate_id);
    }
    response->set_heartbeat_interval_seconds(
        static_cast<int32_t>(absl::ToInt64Seconds(options_.heartbeat_interval)));
    return absl::OkStatus();
  });
}

absl::StatusOr<RoomServiceImpl::HeartbeatTarget> RoomServiceImpl::PrepareHeartbeat(
    const grpc::ServerContextBase& context, const v1::HeartbeatRequest& request) {
  LC_ASSIGN_OR_RETURN(Principal caller, frame_.Caller(context));
  LC_RETURN_IF_ERROR(ValidateDeviceId(request.device_id()));
  LC_ASSIGN_OR_RETURN(int64_t room_id, ParseId("room_id", request.room_id()));
  LC_ASSIGN_OR_RETURN(LiveSession live, LiveSessionOf(room_id));
  if (live.room.brand_id != caller.brand_id) {
    return absl::NotFoundError("room_id: no such room");
  }
  return HeartbeatTarget{caller.subject, live.presence};
}

// A callback method (see the class comment): the frame's steps are taken here by hand, since the
// answer comes later from the presence store's batch thread.
grpc::ServerUnaryReactor* RoomServiceImpl::Heartbeat(grpc::CallbackServerContext* context,
                                                     const v1::HeartbeatRequest* request,
                                                     v1::HeartbeatResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<HeartbeatTarget> target = PrepareHeartbeat(*context, *request);
  if (!target.ok()) {
    reactor->Finish(common::ToGrpcStatus(target.status()));
    return reactor;
  }
  int32_t interval = static_cast<int32_t>(absl::ToInt64Seconds(options_.heartbeat_interval));
  // Answered from the presence store's batch thread: concurrent heartbeats share pipelines.
  presence_.HeartbeatAsync(
      target->session, target->viewer_id, request->device_id(), clock_.Now(),
      common::DeadlineOf(*context), [reactor, response, interval](absl::StatusOr<bool> present) {
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
  return frame_.Run(*context, kJoiners, [&](const Principal& caller) -> absl::Status {
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
  });
}

// For the gateway only: the heartbeats and leaves of the sockets it holds, in one call.
grpc::Status RoomServiceImpl::BatchPresence(grpc::ServerContext* context,
                                            const v1::BatchPresenceRequest* request,
                                            v1::BatchPresenceResponse* response) {
  return frame_.Run(*context, common::kServiceOnly, [&](const Principal& caller) -> absl::Status {
    if (request->events_size() == 0 ||
        static_cast<size_t>(request->events_size()) > kMaxBatchEvents) {
      return InvalidField("events", absl::StrCat("must hold 1 to ", kMaxBatchEvents, " events"));
    }
    std::vector<PresenceOp> ops;
    std::vector<int64_t> room_of_op;
    std::vector<int> op_of_event(static_cast<size_t>(request->events_size()), -1);
    ops.reserve(static_cast<size_t>(request->events_size()));
    for (int i = 0; i < request->events_size(); ++i) {
      const v1::PresenceEvent& event = request->events(i);
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
      LC_ASSIGN_OR_RETURN(int64_t room_id,
                          ParseId(absl::StrCat(field, ".room_id"), event.room_id()));
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
    for (int i = 0; i < request->events_size(); ++i) {
      int index = op_of_event[static_cast<size_t>(i)];
      bool done = index >= 0 && applied[static_cast<size_t>(index)];
      response->add_applied(done);
      if (!done || activity_ == nullptr) continue;
      const PresenceOp& op = ops[static_cast<size_t>(index)];
      if (op.kind == PresenceOp::Kind::kLeave) {
        activity_->Left(caller.brand_id, op.viewer_id, room_of_op[static_cast<size_t>(index)],
                        op.session.session_id);
      }
    }
    return absl::OkStatus();
  });
}

}  // namespace livecommerce::room
