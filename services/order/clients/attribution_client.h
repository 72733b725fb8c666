#pragma once

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/order/store/order_store.h"

namespace livecommerce::order {

// Where the order service reports what attribution credits and claws back: each paid order and
// each refund, delivered at least once by the outbox relay (the receiver is idempotent by order
// id and by refund id).
class AttributionClient {
 public:
  virtual ~AttributionClient() = default;
  virtual absl::Status RecordPaidOrder(const OrderRecord& order) = 0;
  virtual absl::Status RecordRefund(const OrderRecord& order, const RefundRecord& refund) = 0;
};

}  // namespace livecommerce::order
