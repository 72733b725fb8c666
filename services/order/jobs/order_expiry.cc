#include "services/order/jobs/order_expiry.h"

#include "services/common/log_format.h"
#include "services/common/status.h"

namespace livecommerce::order {

OrderExpiry::OrderExpiry(OrderStore& orders, OutboxRelay& relay, const common::Clock& clock,
                         absl::Duration period)
    : orders_(orders), relay_(relay), clock_(clock), task_(period, [this] {
        if (absl::StatusOr<int> expired = ExpireOnce(); !expired.ok()) {
          spdlog::warn("expiry: {}", expired.status().message());
        }
      }) {}

absl::StatusOr<int> OrderExpiry::ExpireOnce() {
  absl::Time now = clock_.Now();
  LC_ASSIGN_OR_RETURN(std::vector<int64_t> due, orders_.Due(OrderState::kPendingPayment, now, 200));
  int expired = 0;
  for (int64_t id : due) {
    LC_ASSIGN_OR_RETURN(OrderRecord order,
                        orders_.Update(id, [&](OrderRecord& o, std::vector<OutboxMessage>& out) {
                          if (o.status != OrderState::kPendingPayment ||
                              !o.expires_at.has_value() || *o.expires_at > now) {
                            return absl::OkStatus();  // paid or cancelled meanwhile
                          }
                          o.status = OrderState::kExpired;
                          o.updated_at = now;
                          out = EndUnpaid(o);
                          return absl::OkStatus();
                        }));
    if (order.status == OrderState::kExpired) ++expired;
  }
  if (expired > 0) (void)relay_.DeliverOnce();
  return expired;
}

}  // namespace livecommerce::order
