#include "services/order/domain/outbox.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace livecommerce::order {

OutboxMessage ReservationMessage(const std::string& brand_id, absl::string_view topic,
                                 const std::string& reservation_id) {
  return OutboxMessage{0, brand_id, std::string(topic), reservation_id, reservation_id, 0};
}

std::vector<OutboxMessage> ReleaseAll(const OrderRecord& order) {
  std::vector<OutboxMessage> messages;
  for (const OrderLineRecord& line : order.lines) {
    messages.push_back(
        ReservationMessage(order.brand_id, kTopicReleaseReservation, line.reservation_id));
  }
  return messages;
}

std::vector<OutboxMessage> EndUnpaid(const OrderRecord& order) {
  if (order.provider != v1::PAYMENT_PROVIDER_WECHAT_PAY) return ReleaseAll(order);
  std::string id = absl::StrCat(order.id);
  return {OutboxMessage{0, order.brand_id, kTopicPaymentClose, id, id, 0}};
}

OutboxMessage OrderPaidMessage(const OrderRecord& order) {
  std::string id = absl::StrCat(order.id);
  return OutboxMessage{0, order.brand_id, kTopicOrderPaid, id, id, 0};
}

OutboxMessage RefundMessage(const std::string& brand_id, absl::string_view topic, int64_t order_id,
                            const std::string& refund_key, int64_t amount_fen) {
  std::string key = absl::StrCat(order_id, ":", refund_key);
  std::string payload = absl::StrCat(key, ":", amount_fen);
  return OutboxMessage{0, brand_id, std::string(topic), std::move(key), std::move(payload), 0};
}

absl::StatusOr<int64_t> OrderIdOfKey(const std::string& key, absl::string_view malformed) {
  int64_t order_id = 0;
  if (!absl::SimpleAtoi(key, &order_id)) return absl::InternalError(malformed);
  return order_id;
}

absl::StatusOr<RefundRef> ParseRefundKey(const std::string& key) {
  size_t colon = key.find(':');
  RefundRef ref;
  if (colon == std::string::npos || !absl::SimpleAtoi(key.substr(0, colon), &ref.order_id)) {
    return absl::InternalError("malformed refund message");
  }
  ref.refund_key = key.substr(colon + 1);
  return ref;
}

absl::StatusOr<RefundAsk> ParseRefundRequest(const std::string& payload) {
  size_t first = payload.find(':');
  size_t last = payload.rfind(':');
  RefundAsk ask;
  if (first == std::string::npos || last <= first ||
      !absl::SimpleAtoi(payload.substr(0, first), &ask.order_id) ||
      !absl::SimpleAtoi(payload.substr(last + 1), &ask.amount_fen)) {
    return absl::InternalError("malformed refund request");
  }
  ask.refund_key = payload.substr(first + 1, last - first - 1);
  return ask;
}

}  // namespace livecommerce::order
