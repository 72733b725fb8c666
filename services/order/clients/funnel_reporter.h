#pragma once

#include <memory>
#include <string>

#include "livecommerce/v1/report.grpc.pb.h"
#include "services/common/fire_and_forget.h"
#include "services/common/principal.h"

namespace livecommerce::order {

// Funnel steps the order service sees first, for the report service: a viewer put something in
// the cart during a session. Best effort: never blocks and never fails the caller.
class FunnelReporter {
 public:
  virtual ~FunnelReporter() = default;
  virtual void AddedToCart(const std::string& brand_id, const std::string& viewer_id,
                           const std::string& session_id) = 0;
};

class GrpcFunnelReporter final : public FunnelReporter {
 public:
  GrpcFunnelReporter(std::shared_ptr<grpc::ChannelInterface> channel,
                     const common::PrincipalCodec& codec)
      : stub_(v1::ReportService::NewStub(channel)), codec_(codec) {}
  void AddedToCart(const std::string& brand_id, const std::string& viewer_id,
                   const std::string& session_id) override;

 private:
  std::unique_ptr<v1::ReportService::Stub> stub_;
  const common::PrincipalCodec& codec_;
  common::FireAndForget calls_{1000};
};

}  // namespace livecommerce::order
