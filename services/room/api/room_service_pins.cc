// RoomServiceImpl: stats, the watch stream, the pinned product and viewer access.

#include "absl/strings/str_cat.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/room/api/room_protos.h"
#include "services/room/api/room_service.h"

namespace livecommerce::room {
namespace {

using common::FormatId;
using common::InvalidField;
using common::kAnyRole;
using common::Principal;
using common::Role;
using common::Roles;

// The gateway watches for the sockets it holds (SERVICE); of users, those who join rooms.
constexpr Roles kWatchers{Role::kViewer, Role::kAssociate, Role::kOps, Role::kService};

}  // namespace

std::string RoomServiceImpl::StateKey(const RoomRecord& room) {
  std::string key = absl::StrCat(static_cast<int>(room.status), "/", room.current_session_id);
  if (streams_ != nullptr) {
    if (std::optional<v1::StreamStatus> stream = streams_->StatusOf(room.id)) {
      absl::StrAppend(&key, "/", static_cast<int>(stream->state()));
    }
  }
  return key;
}

grpc::Status RoomServiceImpl::GetRoomStats(grpc::ServerContext* context,
                                           const v1::GetRoomStatsRequest* request,
                                           v1::GetRoomStatsResponse* response) {
  return frame_.Run(*context, kAnyRole, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_RETURN_IF_ERROR(CheckCanSee(caller, room));
    LC_ASSIGN_OR_RETURN(*response->mutable_stats(), StatsOf(room));
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::WatchRoom(grpc::ServerContext* context,
                                        const v1::WatchRoomRequest* request,
                                        grpc::ServerWriter<v1::WatchRoomResponse>* writer) {
  return frame_.Run(*context, kWatchers, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_RETURN_IF_ERROR(CheckCanSee(caller, room));
    std::optional<std::string> last_pin;  // unset until the first pin message is sent
    std::string last_state;               // the room's status, session and stream state last sent
    absl::Time next_stats = absl::InfinitePast();
    uint64_t seen = changes_.Version(room.id);
    while (!context->IsCancelled()) {
      LC_ASSIGN_OR_RETURN(room, rooms_.GetRoom(room.id));
      // A change of the room's status or its stream's state (the host's push starting or
      // stopping) goes out at the next poll, not with the next per-second stats.
      std::string state = StateKey(room);
      if (state != last_state) {
        next_stats = absl::InfinitePast();
        last_state = std::move(state);
      }
      std::string pin_key = room.pinned.has_value()
                                ? absl::StrCat(room.pinned->product_id, "/", room.pinned->sku_id,
                                               "/", absl::ToUnixNanos(room.pinned->pinned_at))
                                : std::string();
      if (!last_pin.has_value() || *last_pin != pin_key) {
        v1::WatchRoomResponse message;
        *message.mutable_pinned() = ResolvedPin(room);
        if (!writer->Write(message)) {
          return absl::OkStatus();
        }
        last_pin = pin_key;
      }
      absl::Time now = clock_.Now();
      if (now >= next_stats) {
        v1::WatchRoomResponse message;
        LC_ASSIGN_OR_RETURN(*message.mutable_stats(), StatsOf(room));
        if (!writer->Write(message)) {
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
          if (!writer->Write(update)) {
            return absl::OkStatus();
          }
        }
      }
      // Woken at once by a change made in this process; another replica's is seen at the poll.
      seen = changes_.WaitForChange(room.id, seen, options_.watch_pin_poll);
    }
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::PinProduct(grpc::ServerContext* context,
                                         const v1::PinProductRequest* request,
                                         v1::PinProductResponse* response) {
  return frame_.Run(*context, {Role::kOps}, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
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
    // The pin and its product moment (the replay's timeline) are written together.
    LC_ASSIGN_OR_RETURN(RoomRecord updated,
                        rooms_.UpdatePin(room.id, now, [&](RoomRecord& r) -> absl::Status {
                          if (r.status != v1::ROOM_STATUS_LIVE) {
                            return absl::FailedPreconditionError(
                                "room_id: products are pinned only while the room is live");
                          }
                          r.pinned = PinnedRef{request->product_id(), request->sku_id(), now};
                          r.updated_at = now;
                          return absl::OkStatus();
                        }));
    changes_.Changed(room.id);
    ToProto(*updated.pinned, response->mutable_pinned());
    response->mutable_pinned()->set_product_name(details.product_name());
    response->mutable_pinned()->set_image_url(details.image_url());
    *response->mutable_pinned()->mutable_price() = details.price();
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::UnpinProduct(grpc::ServerContext* context,
                                           const v1::UnpinProductRequest* request,
                                           v1::UnpinProductResponse* response) {
  return frame_.Run(*context, {Role::kOps}, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    absl::Time now = clock_.Now();
    LC_RETURN_IF_ERROR(rooms_
                           .UpdatePin(room.id, now,
                                      [&](RoomRecord& r) -> absl::Status {
                                        r.pinned.reset();
                                        r.updated_at = now;
                                        return absl::OkStatus();
                                      })
                           .status());
    changes_.Changed(room.id);
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::GetPinnedProduct(grpc::ServerContext* context,
                                               const v1::GetPinnedProductRequest* request,
                                               v1::GetPinnedProductResponse* response) {
  return frame_.Run(*context, kAnyRole, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_RETURN_IF_ERROR(CheckCanSee(caller, room));
    if (room.pinned.has_value()) {
      *response->mutable_pinned() = ResolvedPin(room);
    }
    return absl::OkStatus();
  });
}

// For other services: a room's visibility and state, and whether a viewer is admitted to it.
grpc::Status RoomServiceImpl::GetViewerAccess(grpc::ServerContext* context,
                                              const v1::GetViewerAccessRequest* request,
                                              v1::GetViewerAccessResponse* response) {
  return frame_.Run(*context, common::kServiceOnly, [&](const Principal& caller) -> absl::Status {
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
  });
}

}  // namespace livecommerce::room
