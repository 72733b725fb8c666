#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/periodic_task.h"
#include "services/order/jobs/outbox_relay.h"
#include "services/order/store/order_store.h"

namespace livecommerce::order {

// About once a `period`, unpaid orders past their payment window become EXPIRED and give their
// stock back (a WeChat Pay order once it is closed there: payment.close first), through the outbox,
// which `relay` then delivers. Safe to run in every replica: each order changes under its row lock,
// once. Does not own its arguments.
class OrderExpiry final {
 public:
  OrderExpiry(OrderStore& orders, OutboxRelay& relay, const common::Clock& clock,
              absl::Duration period = absl::Milliseconds(500));
  void Start() { task_.Start(); }
  void Stop() { task_.Stop(); }
  // One pass (what the thread does each period; tests call it): returns how many orders expired.
  absl::StatusOr<int> ExpireOnce();

 private:
  OrderStore& orders_;
  OutboxRelay& relay_;
  const common::Clock& clock_;
  common::PeriodicTask task_;
};

}  // namespace livecommerce::order
