#include "services/interaction/clients/room_access.h"

#include "absl/strings/str_cat.h"
#include "services/common/service_client.h"

namespace livecommerce::interaction {

CachedRoomAccessDirectory::CachedRoomAccessDirectory(RoomAccessDirectory& inner, absl::Duration ttl,
                                                     absl::Duration public_viewer_ttl)
    : inner_(inner), cache_(ttl, 50000), public_viewers_(public_viewer_ttl, 50000) {}

absl::StatusOr<RoomAccess> CachedRoomAccessDirectory::Access(const std::string& brand_id,
                                                             const std::string& room_id,
                                                             const std::string& viewer_id) {
  // Ids have no control characters (common::IsValidId): a newline separates them.
  std::string room_key = absl::StrCat(brand_id, "\n", room_id);
  std::optional<RoomAccess> room = cache_.Get(room_key);
  if (!room.has_value()) {
    absl::StatusOr<RoomAccess> fresh = inner_.Access(brand_id, room_id, "");
    if (!fresh.ok()) return fresh.status();
    cache_.Put(room_key, *fresh);
    room = *std::move(fresh);
  }
  if (viewer_id.empty()) return *std::move(room);
  std::string key = absl::StrCat(room_key, "\n", viewer_id);
  if (room->visibility == v1::VISIBILITY_PUBLIC) {
    // The viewer's invite from the longer-lived entry, the room's state from the fresh one.
    if (std::optional<RoomAccess> viewer = public_viewers_.Get(key)) {
      RoomAccess access = *std::move(room);
      access.admitted = true;
      access.associate_id = viewer->associate_id;
      return access;
    }
  } else if (std::optional<RoomAccess> cached = cache_.Get(key)) {
    return *std::move(cached);
  }
  absl::StatusOr<RoomAccess> access = inner_.Access(brand_id, room_id, viewer_id);
  if (!access.ok()) return access;
  if (access->visibility == v1::VISIBILITY_PUBLIC) {
    public_viewers_.Put(key, *access);
  } else if (access->admitted) {
    // A refusal is not kept: a viewer who has just used an invite may speak at once.
    cache_.Put(key, *access);
  }
  return access;
}

GrpcRoomAccessDirectory::GrpcRoomAccessDirectory(std::shared_ptr<grpc::ChannelInterface> channel,
                                                 const common::PrincipalCodec& codec,
                                                 absl::Duration timeout)
    : stub_(v1::RoomService::NewStub(channel)), codec_(codec), timeout_(timeout) {}

absl::StatusOr<RoomAccess> GrpcRoomAccessDirectory::Access(const std::string& brand_id,
                                                           const std::string& room_id,
                                                           const std::string& viewer_id) {
  v1::GetViewerAccessRequest request;
  request.set_room_id(room_id);
  request.set_viewer_id(viewer_id);
  v1::GetViewerAccessResponse response;
  auto context = common::ServiceCallContext(codec_, brand_id, "interaction", timeout_);
  grpc::Status status = stub_->GetViewerAccess(context.get(), request, &response);
  if (!status.ok()) {
    return common::FromGrpcStatus(status, "room service");
  }
  return RoomAccess{response.brand_id(),           response.visibility(), response.status(),
                    response.current_session_id(), response.admitted(),   response.associate_id()};
}

}  // namespace livecommerce::interaction
