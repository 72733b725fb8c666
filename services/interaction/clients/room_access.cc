#include "services/interaction/clients/room_access.h"

#include "services/common/service_client.h"

namespace livecommerce::interaction {

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
