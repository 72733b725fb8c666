// RoomServiceImpl: replays of ended sessions, their product moments and replay reach
// (docs/STREAMING.md, "Replays").
#include <spdlog/spdlog.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/room/api/room_protos.h"
#include "services/room/api/room_service.h"
#include "services/room/domain/stream.h"

namespace livecommerce::room {
namespace {

using common::FormatId;
using common::ParseId;
using common::Principal;
using common::Role;
using common::ToTimestamp;

}  // namespace

absl::StatusOr<MysqlReplayStore*> RoomServiceImpl::Replays() {
  if (replays_ == nullptr || streams_ == nullptr) {
    return absl::FailedPreconditionError("replays are not enabled in this deployment");
  }
  return replays_;
}

v1::Replay RoomServiceImpl::ReplayProto(const RoomRecord& room, const SessionRecord& session,
                                        const ReplayRecord& replay,
                                        const std::vector<MomentRecord>& moments) {
  v1::Replay out;
  out.set_room_id(FormatId(room.id));
  out.set_session_id(FormatId(session.id));
  out.set_source(replay.source);
  out.set_duration_seconds(replay.duration_seconds);
  // Signed for this caller now, like the live's: an address passed on stops working.
  *out.mutable_play() = streams_->PlayRecordingOf(replay.location);
  ToTimestamp(session.started_at, out.mutable_session_started_at());
  if (session.ended_at.has_value()) ToTimestamp(*session.ended_at, out.mutable_session_ended_at());
  // Each product's details once per answer; a catalog that cannot be reached leaves them empty
  // rather than failing the replay.
  absl::flat_hash_map<std::string, v1::PinnedProduct> details;
  auto resolve = [&](const MomentRecord& m) -> const v1::PinnedProduct& {
    std::string key = absl::StrCat(m.product_id, "/", m.sku_id);
    auto it = details.find(key);
    if (it != details.end()) return it->second;
    v1::PinnedProduct product;
    product.set_product_id(m.product_id);
    product.set_sku_id(m.sku_id);
    if (absl::Status s = catalog_.Resolve(room.brand_id, product); !s.ok()) {
      spdlog::warn("room {}: replay product details unavailable: {}", room.id,
                   std::string(s.message()));
      product.clear_product_name();
      product.clear_image_url();
      product.clear_price();
    }
    return details.emplace(std::move(key), std::move(product)).first->second;
  };
  absl::flat_hash_set<std::string> presented;
  for (const MomentRecord& m : moments) {
    const v1::PinnedProduct& product = resolve(m);
    v1::ProductMoment* moment = out.add_moments();
    moment->set_kind(m.kind);
    moment->set_product_id(m.product_id);
    moment->set_sku_id(m.sku_id);
    moment->set_offset_ms(m.offset_ms);
    ToTimestamp(m.at, moment->mutable_at());
    moment->set_product_name(product.product_name());
    moment->set_image_url(product.image_url());
    if (product.has_price()) *moment->mutable_price() = product.price();
    // The products presented: each once, where it was first pinned (moments come in order).
    if (m.kind != v1::PRODUCT_MOMENT_KIND_PIN || !presented.insert(m.product_id).second) continue;
    v1::PresentedProduct* first = out.add_products();
    first->set_product_id(m.product_id);
    first->set_sku_id(m.sku_id);
    first->set_offset_ms(m.offset_ms);
    first->set_product_name(product.product_name());
    first->set_image_url(product.image_url());
    if (product.has_price()) *first->mutable_price() = product.price();
  }
  return out;
}

absl::StatusOr<v1::Replay> RoomServiceImpl::ReplayFor(const Principal& caller,
                                                      absl::string_view room_id,
                                                      absl::string_view session_id,
                                                      absl::string_view invite_token) {
  LC_ASSIGN_OR_RETURN(MysqlReplayStore * store, Replays());
  LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, room_id));
  std::optional<int64_t> wanted;
  if (!session_id.empty()) {
    LC_ASSIGN_OR_RETURN(wanted, ParseId("session_id", session_id));
  }
  std::string token_hash;
  if (!invite_token.empty()) {
    LC_RETURN_IF_ERROR(ValidateInviteToken(invite_token));
    token_hash = common::Sha256(invite_token);
  }
  // The live's audience: a viewer of a private room with the invite they hold or the one given
  // (bound to them as a join binds it); in a public room an invite only says who invited them.
  std::string associate_id;
  if (caller.role == Role::kViewer) {
    absl::Time now = clock_.Now();
    if (room.visibility == v1::VISIBILITY_PRIVATE || !token_hash.empty()) {
      absl::StatusOr<InviteGrant> grant =
          rooms_.AdmitToPrivateRoom(room.id, caller.subject, token_hash, now);
      if (grant.ok()) {
        associate_id = grant->associate_id;
      } else if (room.visibility == v1::VISIBILITY_PRIVATE ||
                 grant.status().code() != absl::StatusCode::kPermissionDenied) {
        return grant.status();
      }
    } else {
      LC_ASSIGN_OR_RETURN(std::optional<InviteRecord> invite,
                          rooms_.FindBoundInvite(room.id, caller.subject));
      if (invite.has_value()) associate_id = invite->associate_id;
    }
  } else {
    LC_RETURN_IF_ERROR(CheckCanSee(caller, room));
  }

  int64_t session = 0;
  if (wanted.has_value()) {
    session = *wanted;
  } else {
    LC_ASSIGN_OR_RETURN(session, store->LatestReplaySession(room.id));
    if (session == 0) return absl::NotFoundError("session_id: the room has no replay yet");
  }
  absl::StatusOr<SessionRecord> record = rooms_.GetSession(session);
  if (record.status().code() == absl::StatusCode::kNotFound ||
      (record.ok() && record->room_id != room.id)) {
    return absl::NotFoundError("session_id: no such session");
  }
  LC_RETURN_IF_ERROR(record.status());
  if (record->status != v1::SESSION_STATUS_ENDED) {
    return absl::FailedPreconditionError("session_id: the session has not ended; join the live");
  }
  LC_ASSIGN_OR_RETURN(std::optional<ReplayRecord> replay, store->Find(session));
  if (!replay.has_value()) {
    return absl::NotFoundError("session_id: the session has no replay yet");
  }
  LC_ASSIGN_OR_RETURN(std::vector<MomentRecord> moments, store->Moments(session));
  v1::Replay out = ReplayProto(room, *record, *replay, moments);
  out.set_associate_id(associate_id);
  return out;
}

grpc::Status RoomServiceImpl::GetReplay(grpc::ServerContext* context,
                                        const v1::GetReplayRequest* request,
                                        v1::GetReplayResponse* response) {
  return frame_.Run(*context, kJoiners, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(
        *response->mutable_replay(),
        ReplayFor(caller, request->room_id(), request->session_id(), request->invite_token()));
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::JoinReplay(grpc::ServerContext* context,
                                         const v1::JoinReplayRequest* request,
                                         v1::JoinReplayResponse* response) {
  return frame_.Run(*context, {Role::kViewer}, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(
        v1::Replay replay,
        ReplayFor(caller, request->room_id(), request->session_id(), request->invite_token()));
    // Replay reach only: live presence (Redis) and the live's counts never see this viewer.
    ReplayView view;
    LC_ASSIGN_OR_RETURN(view.session_id, ParseId("session_id", replay.session_id()));
    LC_ASSIGN_OR_RETURN(view.room_id, ParseId("room_id", replay.room_id()));
    view.viewer_id = caller.subject;
    view.brand_id = caller.brand_id;
    view.associate_id = replay.associate_id();
    view.at = clock_.Now();
    LC_ASSIGN_OR_RETURN(bool first, replays_->RecordView(view));
    response->set_first_view(first);
    *response->mutable_replay() = std::move(replay);
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::SetReplay(grpc::ServerContext* context,
                                        const v1::SetReplayRequest* request,
                                        v1::SetReplayResponse* response) {
  return frame_.Run(*context, {Role::kOps}, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(MysqlReplayStore * store, Replays());
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    if (request->session_id().empty()) return common::InvalidField("session_id", "is required");
    LC_ASSIGN_OR_RETURN(int64_t session_id, ParseId("session_id", request->session_id()));
    LC_RETURN_IF_ERROR(ValidateReplayLocation(request->location()));
    LC_RETURN_IF_ERROR(ValidateReplayDuration(request->duration_seconds()));
    absl::StatusOr<SessionRecord> session = rooms_.GetSession(session_id);
    if (session.status().code() == absl::StatusCode::kNotFound ||
        (session.ok() && session->room_id != room.id)) {
      return absl::NotFoundError("session_id: no such session");
    }
    LC_RETURN_IF_ERROR(session.status());
    // A replay is of a finished session: while it is live, viewers join the live.
    if (session->status != v1::SESSION_STATUS_ENDED) {
      return absl::FailedPreconditionError("session_id: the session has not ended");
    }
    ReplayRecord replay;
    replay.session_id = session->id;
    replay.brand_id = room.brand_id;
    replay.room_id = room.id;
    replay.location = request->location();
    replay.duration_seconds = request->duration_seconds();
    replay.created_at = clock_.Now();
    LC_ASSIGN_OR_RETURN(ReplayRecord stored, store->SetByOps(replay));
    LC_ASSIGN_OR_RETURN(std::vector<MomentRecord> moments, store->Moments(session->id));
    *response->mutable_replay() = ReplayProto(room, *session, stored, moments);
    return absl::OkStatus();
  });
}

}  // namespace livecommerce::room
