#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "livecommerce/v1/attribution.grpc.pb.h"
#include "services/common/fire_and_forget.h"
#include "services/common/principal.h"
#include "services/room/store/room_store.h"

namespace livecommerce::room {

// Who is told when a viewer joins or leaves a live session: the attribution service, so that an
// invite issued for an associate counts as that associate's touch, and an associate sees their
// clients join and leave. Best effort: never blocks and never fails the join or the leave.
class ViewerActivity {
 public:
  virtual ~ViewerActivity() = default;
  // `invite`: the invite the viewer came in with, if any.
  virtual void Joined(const std::string& brand_id, const std::string& viewer_id, int64_t room_id,
                      int64_t session_id, const std::optional<InviteGrant>& invite) = 0;
  virtual void Left(const std::string& brand_id, const std::string& viewer_id, int64_t room_id,
                    int64_t session_id) = 0;
};

class GrpcViewerActivity final : public ViewerActivity {
 public:
  GrpcViewerActivity(std::shared_ptr<grpc::ChannelInterface> channel,
                     const common::PrincipalCodec& codec);
  void Joined(const std::string& brand_id, const std::string& viewer_id, int64_t room_id,
              int64_t session_id, const std::optional<InviteGrant>& invite) override;
  void Left(const std::string& brand_id, const std::string& viewer_id, int64_t room_id,
            int64_t session_id) override;

 private:
  void Activity(const std::string& brand_id, const std::string& viewer_id, int64_t room_id,
                int64_t session_id, v1::ActivityKind kind);
  std::unique_ptr<v1::AttributionService::Stub> stub_;
  const common::PrincipalCodec& codec_;
  common::FireAndForget calls_{2000};
};

}  // namespace livecommerce::room
