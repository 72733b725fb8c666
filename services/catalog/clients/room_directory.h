#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/principal.h"

namespace livecommerce::catalog {

// What the catalog needs to know about a room from the room service.
struct RoomAccess {
  std::string brand_id;
  v1::Visibility visibility = v1::VISIBILITY_UNSPECIFIED;
  v1::RoomStatus status = v1::ROOM_STATUS_UNSPECIFIED;
  bool admitted = false;     // the viewer asked about may watch the room
  std::string cohort;        // the viewer's invite cohort, if any
  std::string associate_id;  // the associate behind the viewer's invite, if any
};

// The room service as seen by the catalog. NOT_FOUND for an unknown room or one of another brand;
// UNAVAILABLE when the room service cannot be reached.
class RoomDirectory {
 public:
  virtual ~RoomDirectory() = default;
  // `viewer_id` may be empty to ask about the room only.
  virtual absl::StatusOr<RoomAccess> Access(const std::string& brand_id, const std::string& room_id,
                                            const std::string& viewer_id) = 0;
};

class GrpcRoomDirectory final : public RoomDirectory {
 public:
  GrpcRoomDirectory(std::shared_ptr<grpc::ChannelInterface> channel,
                    const common::PrincipalCodec& codec, absl::Duration timeout);
  absl::StatusOr<RoomAccess> Access(const std::string& brand_id, const std::string& room_id,
                                    const std::string& viewer_id) override;

 private:
  std::unique_ptr<v1::RoomService::Stub> stub_;
  const common::PrincipalCodec& codec_;
  absl::Duration timeout_;
};

}  // namespace livecommerce::catalog
