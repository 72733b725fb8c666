#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/principal.h"

namespace livecommerce::report {

struct LiveFigures {
  int64_t reach = 0;
  int64_t peak_concurrency = 0;
  int64_t total_joins = 0;
  int64_t watch_ms = 0;
};

// Presence figures of a session still live (the room service writes them to MySQL only when the
// session ends).
class LiveStats {
 public:
  virtual ~LiveStats() = default;
  virtual absl::StatusOr<LiveFigures> Figures(const std::string& brand_id, int64_t room_id) = 0;
  // Whether the viewer may watch the room (a private room: the viewer holds a usable invite).
  virtual absl::StatusOr<bool> Admitted(const std::string& brand_id, int64_t room_id,
                                        const std::string& viewer_id) = 0;
};

class GrpcLiveStats final : public LiveStats {
 public:
  GrpcLiveStats(std::shared_ptr<grpc::ChannelInterface> channel,
                const common::PrincipalCodec& codec)
      : stub_(v1::RoomService::NewStub(channel)), codec_(codec) {}
  absl::StatusOr<LiveFigures> Figures(const std::string& brand_id, int64_t room_id) override;
  absl::StatusOr<bool> Admitted(const std::string& brand_id, int64_t room_id,
                                const std::string& viewer_id) override;

 private:
  std::unique_ptr<v1::RoomService::Stub> stub_;
  const common::PrincipalCodec& codec_;
};

}  // namespace livecommerce::report
