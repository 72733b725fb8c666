#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/principal.h"

namespace livecommerce::interaction {

// What the interaction service needs to know about a room, from the room service.
struct RoomAccess {
  std::string brand_id;
  v1::Visibility visibility = v1::VISIBILITY_UNSPECIFIED;
  v1::RoomStatus status = v1::ROOM_STATUS_UNSPECIFIED;
  std::string current_session_id;  // the live session, else the last one ("" before any)
  bool admitted = false;           // the viewer asked about may watch (and talk in) the room
  std::string associate_id;        // the associate behind the viewer's invite, if any
};

// The room service as the interaction service sees it. NOT_FOUND for an unknown room or one of
// another brand; UNAVAILABLE when the room service cannot be reached.
class RoomAccessDirectory {
 public:
  virtual ~RoomAccessDirectory() = default;
  // `viewer_id` may be empty to ask about the room only.
  virtual absl::StatusOr<RoomAccess> Access(const std::string& brand_id, const std::string& room_id,
                                            const std::string& viewer_id) = 0;
};

class GrpcRoomAccessDirectory final : public RoomAccessDirectory {
 public:
  GrpcRoomAccessDirectory(std::shared_ptr<grpc::ChannelInterface> channel,
                          const common::PrincipalCodec& codec, absl::Duration timeout);
  absl::StatusOr<RoomAccess> Access(const std::string& brand_id, const std::string& room_id,
                                    const std::string& viewer_id) override;

 private:
  std::unique_ptr<v1::RoomService::Stub> stub_;
  const common::PrincipalCodec& codec_;
  absl::Duration timeout_;
};

}  // namespace livecommerce::interaction
