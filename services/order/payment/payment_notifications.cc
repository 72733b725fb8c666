#include "services/order/payment/payment_notifications.h"

#include <variant>

#include "absl/strings/str_cat.h"
#include "services/common/log_format.h"
#include "services/common/status.h"
#include "services/common/validation.h"
#include "services/order/domain/outbox.h"

namespace livecommerce::order {

PaymentNotifications::PaymentNotifications(OrderStore& orders, const Payments& payments,
                                           const common::Clock& clock)
    : orders_(orders), payments_(payments), clock_(clock) {}

absl::StatusOr<NotificationReply> PaymentNotifications::Handle(
    const v1::HandlePaymentNotificationRequest& request) {
  if (request.provider() != v1::PAYMENT_PROVIDER_WECHAT_PAY || payments_.wechat_crypto == nullptr) {
    return common::InvalidField("provider", "is not a provider that notifies here");
  }
  absl::Status handled = ApplyWechat(request);
  if (!handled.ok()) {
    // The reason only (messages are written to be safe): never the body, headers or keys.
    spdlog::warn("payment notification refused: {}: {}", absl::StatusCodeToString(handled.code()),
                 handled.message());
    return NotificationRejected(handled);
  }
  return NotificationAccepted();
}

absl::Status PaymentNotifications::ApplyWechat(
    const v1::HandlePaymentNotificationRequest& request) {
  HttpHeaders headers(request.headers().begin(), request.headers().end());
  LC_ASSIGN_OR_RETURN(WechatPayNotification notification,
                      payments_.wechat_crypto->VerifyNotification(NotificationHeadersFrom(headers),
                                                                  request.body(), clock_.Now()));
  if (const RefundResult* refund = std::get_if<RefundResult>(&notification.event)) {
    return SettleRefund(*refund);
  }
  if (const PaidTransaction* paid = std::get_if<PaidTransaction>(&notification.event)) {
    return Pay(*paid);
  }
  return absl::OkStatus();  // other events: authentic, nothing to do
}

absl::Status PaymentNotifications::Pay(const PaidTransaction& paid) {
  LC_ASSIGN_OR_RETURN(int64_t order_id, OrderIdFromOutTradeNo(paid.out_trade_no));
  LC_ASSIGN_OR_RETURN(OrderRecord order, orders_.Get(order_id));
  if (order.provider != v1::PAYMENT_PROVIDER_WECHAT_PAY) {
    return absl::FailedPreconditionError("out_trade_no: not a WeChat Pay order");
  }
  LC_RETURN_IF_ERROR(CheckPaidTransaction(paid, payments_.wechat_mchid, payments_.wechat_appid,
                                          OutTradeNo(order.id), order.total_fen, order.currency));
  if (IsNoLongerPayable(order.status)) return RecordLatePayment(order, paid);
  PaymentRecord payment{v1::PAYMENT_PROVIDER_WECHAT_PAY, paid.transaction_id, paid.total_fen,
                        paid.currency};
  absl::StatusOr<OrderChange> result = orders_.MarkPaid(order.id, payment, clock_.Now(), nullptr);
  if (!result.ok() && result.status().code() == absl::StatusCode::kFailedPrecondition) {
    // Cancelled or expired since it was read: the payment came too late all the same.
    LC_ASSIGN_OR_RETURN(OrderRecord now, orders_.Get(order.id));
    if (IsNoLongerPayable(now.status)) return RecordLatePayment(now, paid);
  }
  LC_RETURN_IF_ERROR(result.status());
  if (result->changed) {
    spdlog::info("order {} paid through WeChat Pay", order.id);
  }
  return absl::OkStatus();
}

absl::Status PaymentNotifications::RecordLatePayment(const OrderRecord& order,
                                                     const PaidTransaction& paid) {
  PaymentRecord payment{v1::PAYMENT_PROVIDER_WECHAT_PAY, paid.transaction_id, paid.total_fen,
                        paid.currency};
  // One refund per payment, however often its notification comes: the key follows from it.
  RefundRecord refund;
  refund.refund_key = absl::StrCat("auto-", paid.transaction_id);
  refund.amount_fen = paid.total_fen;
  refund.reason = "paid after the order was cancelled or expired";
  refund.requested_by = "system";
  refund.status = RefundStatus::kRequested;
  // No order.refunded message: nothing was credited for this order, nothing is clawed back.
  std::vector<OutboxMessage> messages = {RefundMessage(
      order.brand_id, kTopicRefundRequest, order.id, refund.refund_key, paid.total_fen)};
  LC_ASSIGN_OR_RETURN(bool recorded,
                      orders_.RecordLatePayment(order.id, payment, refund, messages, clock_.Now()));
  if (recorded) {
    // The alert for ops (ids and amounts only): the buyer paid for an order that no longer was.
    spdlog::error(
        "payment incident: order {} of brand {} was paid through WeChat Pay after it was {}; the "
        "payment ({} fen {}) is recorded and refund {} was requested automatically",
        order.id, order.brand_id, StateName(order.status), paid.total_fen, paid.currency,
        refund.refund_key);
  }
  return absl::OkStatus();
}

absl::Status PaymentNotifications::SettleRefund(const RefundResult& refund) {
  LC_ASSIGN_OR_RETURN(int64_t order_id, OrderIdFromOutTradeNo(refund.out_trade_no));
  LC_ASSIGN_OR_RETURN(std::vector<RefundRecord> refunds, orders_.ListRefunds(order_id));
  for (const RefundRecord& r : refunds) {
    if (OutRefundNo(order_id, r.refund_key) != refund.out_refund_no) continue;
    LC_RETURN_IF_ERROR(CheckRefundResult(refund, payments_.wechat_mchid,
                                         OutRefundNo(order_id, r.refund_key), r.amount_fen));
    RefundStatus status =
        refund.refund_status == "SUCCESS" ? RefundStatus::kSucceeded : RefundStatus::kFailed;
    LC_ASSIGN_OR_RETURN(bool changed,
                        orders_.SettleRefund(order_id, r.refund_key, status, clock_.Now()));
    if (changed && status == RefundStatus::kFailed) {
      // The money did not go back (the buyer's account closed ...): finance must act.
      spdlog::warn("order {}: WeChat Pay refund {}: {}", order_id, refund.refund_id,
                   refund.refund_status);
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("out_refund_no: no such refund of this order");
}

}  // namespace livecommerce::order
