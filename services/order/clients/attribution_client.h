#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "livecommerce/v1/attribution.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/fire_and_forget.h"
#include "services/common/principal.h"
#include "services/order/store/order_store.h"

namespace livecommerce::order {

// Where the order service reports what attribution credits and claws back: each paid order and
// each refund, delivered at least once by the outbox relay (the receiver is idempotent by order
// id and by refund id); and, best effort, what a client does (added to cart, ordered) for the
// associate's alerts.
class AttributionClient {
 public:
  virtual ~AttributionClient() = default;
  virtual absl::Status RecordPaidOrder(const OrderRecord& order) = 0;
  virtual absl::Status RecordRefund(const OrderRecord& order, const RefundRecord& refund) = 0;
  // Never blocks and never fails the caller: an activity that cannot be told is dropped.
  virtual void ReportActivity(const std::string& brand_id,
                              const v1::RecordClientActivityRequest& activity) = 0;
};

class GrpcAttributionClient final : public AttributionClient {
 public:
  GrpcAttributionClient(std::shared_ptr<grpc::ChannelInterface> channel,
                        const common::PrincipalCodec& codec, const common::Clock& clock,
                        absl::Duration timeout);
  absl::Status RecordPaidOrder(const OrderRecord& order) override;
  absl::Status RecordRefund(const OrderRecord& order, const RefundRecord& refund) override;
  void ReportActivity(const std::string& brand_id,
                      const v1::RecordClientActivityRequest& activity) override;

 private:
  std::unique_ptr<v1::AttributionService::Stub> stub_;
  const common::PrincipalCodec& codec_;
  const common::Clock& clock_;
  absl::Duration timeout_;
  common::FireAndForget activities_{1000};
};

}  // namespace livecommerce::order
