#pragma once

// The order service's outbox: messages to other services, written in the same transaction as the
// change that causes them and delivered (at least once) by the relay (jobs/outbox_relay.h), whose
// table says what each topic does. Consumers are idempotent by the message's key.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/order/domain/order_record.h"

namespace livecommerce::order {

struct OutboxMessage {
  int64_t id = 0;
  std::string brand_id;
  std::string topic;
  std::string key;
  std::string payload;
  int attempts = 0;
};

// Key and payload: a reservation id.
inline constexpr char kTopicConfirmReservation[] = "reservation.confirm";
inline constexpr char kTopicReleaseReservation[] = "reservation.release";
// Key and payload: the order id.
inline constexpr char kTopicOrderPaid[] = "order.paid";
// Key "<order id>:<refund key>", payload "<key>:<amount fen>" (see RefundMessage).
inline constexpr char kTopicOrderRefunded[] = "order.refunded";
inline constexpr char kTopicRefundRequest[] = "refund.request";
// Close a cancelled or expired WeChat Pay order at WeChat Pay (key and payload: the order id); its
// delivery queues the order's reservation.release messages once the order cannot be paid.
inline constexpr char kTopicPaymentClose[] = "payment.close";

// A reservation.confirm or reservation.release message for one reservation of a brand.
OutboxMessage ReservationMessage(const std::string& brand_id, absl::string_view topic,
                                 const std::string& reservation_id);
// The reservation.release messages of every line of `order`.
std::vector<OutboxMessage> ReleaseAll(const OrderRecord& order);
// What ends an unpaid order: a WeChat Pay order is first closed there (the buyer could still pay
// it: its stock goes back only once it cannot be paid); any other releases its reservations at
// once.
std::vector<OutboxMessage> EndUnpaid(const OrderRecord& order);
// The order.paid message of `order`.
OutboxMessage OrderPaidMessage(const OrderRecord& order);
// An order.refunded or refund.request message about refund `refund_key` of an order.
OutboxMessage RefundMessage(const std::string& brand_id, absl::string_view topic, int64_t order_id,
                            const std::string& refund_key, int64_t amount_fen);

// The order id of a message keyed by it (order.paid, payment.close); INTERNAL `malformed` when
// the key is not one.
absl::StatusOr<int64_t> OrderIdOfKey(const std::string& key, absl::string_view malformed);

// The refund an order.refunded message's key names.
struct RefundRef {
  int64_t order_id = 0;
  std::string refund_key;  // may hold ':' itself
};
// INTERNAL "malformed refund message" when `key` is not "<order id>:<refund key>".
absl::StatusOr<RefundRef> ParseRefundKey(const std::string& key);

// What a refund.request message asks.
struct RefundAsk {
  int64_t order_id = 0;
  std::string refund_key;  // may hold ':' itself
  int64_t amount_fen = 0;
};
// INTERNAL "malformed refund request" when `payload` is not "<order id>:<refund key>:<amount>".
absl::StatusOr<RefundAsk> ParseRefundRequest(const std::string& payload);

}  // namespace livecommerce::order
