#pragma once

#include "absl/status/statusor.h"
#include "livecommerce/v1/order.pb.h"
#include "services/common/clock.h"
#include "services/order/payment/payment_gateway.h"
#include "services/order/payment/wechat_pay.h"
#include "services/order/store/order_store.h"

namespace livecommerce::order {

// What a provider's notification does to the orders, as the gateway passes it on untouched:
// verified (signature, time, decryption) before anything changes. A genuine payment of the right
// amount pays its order once, however often it comes; a payment of an order that was cancelled or
// expired meanwhile is recorded and refunded automatically, once, with an alert for ops (a payment
// incident on the order); a refund's outcome settles that refund. Does not own its arguments.
class PaymentNotifications final {
 public:
  PaymentNotifications(OrderStore& orders, const Payments& payments, const common::Clock& clock);

  // The answer for the provider: accepted, or rejected (it retries) with the reason, which is
  // also logged. INVALID_ARGUMENT "provider" when the request is not from a provider that
  // notifies here.
  absl::StatusOr<NotificationReply> Handle(const v1::HandlePaymentNotificationRequest& request);

 private:
  // Verifies a WeChat Pay notification and applies it.
  absl::Status ApplyWechat(const v1::HandlePaymentNotificationRequest& request);
  // A verified payment: the order it pays becomes PAID (or, no longer payable, an incident).
  absl::Status Pay(const PaidTransaction& paid);
  // A verified refund notification: the refund it answers gets its outcome.
  absl::Status SettleRefund(const RefundResult& refund);
  // A genuine payment of an order that was cancelled or expired: recorded and refunded
  // automatically (once however often it comes), with an alert for ops; the order stays as it is.
  absl::Status RecordLatePayment(const OrderRecord& order, const PaidTransaction& paid);

  OrderStore& orders_;
  const Payments& payments_;
  const common::Clock& clock_;
};

}  // namespace livecommerce::order
