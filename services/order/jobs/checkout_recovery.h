#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/periodic_task.h"
#include "services/order/jobs/outbox_relay.h"
#include "services/order/store/order_store.h"

namespace livecommerce::order {

// About once a `period`, checkouts still reserving `checkout_timeout` after they began (the
// process that ran them died) are refused ("checkout was interrupted; try again") and release
// what they reserved, through the outbox, which `relay` then delivers. Safe to run in every
// replica: each checkout changes under its row lock, once. Does not own its arguments.
class CheckoutRecovery final {
 public:
  CheckoutRecovery(OrderStore& orders, OutboxRelay& relay, const common::Clock& clock,
                   absl::Duration checkout_timeout,
                   absl::Duration period = absl::Milliseconds(500));
  void Start() { task_.Start(); }
  void Stop() { task_.Stop(); }
  // One pass (what the thread does each period; tests call it): returns how many checkouts were
  // recovered.
  absl::StatusOr<int> RecoverOnce();

 private:
  OrderStore& orders_;
  OutboxRelay& relay_;
  const common::Clock& clock_;
  absl::Duration checkout_timeout_;
  common::PeriodicTask task_;
};

}  // namespace livecommerce::order
