#include "services/order/jobs/checkout_recovery.h"

#include "services/common/log_format.h"
#include "services/common/status.h"
#include "services/order/domain/order.h"

namespace livecommerce::order {

CheckoutRecovery::CheckoutRecovery(OrderStore& orders, OutboxRelay& relay,
                                   const common::Clock& clock, absl::Duration checkout_timeout,
                                   absl::Duration period)
    : orders_(orders),
      relay_(relay),
      clock_(clock),
      checkout_timeout_(checkout_timeout),
      task_(period, [this] {
        if (absl::StatusOr<int> recovered = RecoverOnce(); !recovered.ok()) {
          spdlog::warn("recovery: {}", recovered.status().message());
        }
      }) {}

absl::StatusOr<int> CheckoutRecovery::RecoverOnce() {
  absl::Time now = clock_.Now();
  LC_ASSIGN_OR_RETURN(std::vector<int64_t> stale,
                      orders_.Due(OrderState::kReserving, now - checkout_timeout_, 200));
  int recovered = 0;
  for (int64_t id : stale) {
    LC_ASSIGN_OR_RETURN(
        OrderRecord order, orders_.Update(id, [&](OrderRecord& o, std::vector<OutboxMessage>& out) {
          if (o.status != OrderState::kReserving) return absl::OkStatus();
          o.status = OrderState::kRefused;
          o.failure = EncodeFailure(absl::AbortedError("checkout was interrupted; try again"));
          o.updated_at = now;
          out = ReleaseAll(o);
          return absl::OkStatus();
        }));
    if (order.status == OrderState::kRefused) ++recovered;
  }
  if (recovered > 0) (void)relay_.DeliverOnce();
  return recovered;
}

}  // namespace livecommerce::order
