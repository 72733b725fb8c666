#pragma once

// The order as the service records it: the rows of orders, order_lines, refunds, payments and
// payment_incidents as plain structs (the store reads and writes them; the domain and the handlers
// work on them).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "livecommerce/v1/order.pb.h"

namespace livecommerce::order {

// The status of an order row: the public OrderStatus values, and two of a checkout that is not (or
// not yet) an order, which nobody outside the service ever sees. Stored as its integer.
enum class OrderState : int {
  kReserving = 0,  // checkout in progress: stock being reserved
  kPendingPayment = v1::ORDER_STATUS_PENDING_PAYMENT,
  kPaid = v1::ORDER_STATUS_PAID,
  kFulfilled = v1::ORDER_STATUS_FULFILLED,
  kCompleted = v1::ORDER_STATUS_COMPLETED,
  kCancelled = v1::ORDER_STATUS_CANCELLED,
  kExpired = v1::ORDER_STATUS_EXPIRED,
  kPartiallyRefunded = v1::ORDER_STATUS_PARTIALLY_REFUNDED,
  kRefunded = v1::ORDER_STATUS_REFUNDED,
  kRefused = 9,  // checkout refused (sold out, limit ...): no order
};

// The public status of a state (UNSPECIFIED for the two internal ones).
inline v1::OrderStatus PublicStatus(OrderState state) {
  if (state == OrderState::kReserving || state == OrderState::kRefused) {
    return v1::ORDER_STATUS_UNSPECIFIED;
  }
  return static_cast<v1::OrderStatus>(state);
}
// The state of a public status.
inline OrderState StateOf(v1::OrderStatus status) { return static_cast<OrderState>(status); }
// The state's name, for messages and logs ("ORDER_STATUS_PAID"; empty for kRefused).
inline const std::string& StateName(OrderState state) {
  return v1::OrderStatus_Name(static_cast<int>(state));
}
// CANCELLED or EXPIRED: a payment that still arrives is refunded (a payment incident).
inline bool IsNoLongerPayable(OrderState state) {
  return state == OrderState::kCancelled || state == OrderState::kExpired;
}

// The outcome of a refund at its provider. Stored as its integer.
enum class RefundStatus : int {
  kRequested = 1,  // asked of the provider, no answer yet
  kSucceeded = 2,  // the money went back
  kFailed = 3,     // the provider gave up (abnormal or closed)
};

struct OrderLineRecord {
  int line_no = 0;
  int64_t product_id = 0;
  int64_t sku_id = 0;
  int64_t sale_id = 0;  // 0: regular stock
  std::string product_name;
  int64_t quantity = 0;
  int64_t unit_price_fen = 0;
  int64_t line_total_fen = 0;
  int64_t refunded_quantity = 0;
  std::string reservation_id;
};

struct OrderRecord {
  int64_t id = 0;
  std::string brand_id;
  std::string buyer_id;
  std::string idempotency_key;
  std::string request_hash;
  OrderState status = OrderState::kReserving;
  std::string failure;  // "<code>:<message>" when refused
  std::string currency = "CNY";
  int64_t total_fen = 0;
  int64_t refunded_fen = 0;
  int64_t room_id = 0;
  int64_t session_id = 0;
  v1::Broadcast broadcast = v1::BROADCAST_UNSPECIFIED;  // LIVE or REPLAY when in a session
  v1::Attribution attribution;
  v1::DeliveryAddress address;
  v1::PaymentProvider provider = v1::PAYMENT_PROVIDER_SANDBOX;
  v1::PaymentParams payment_params;
  std::optional<absl::Time> expires_at;
  std::optional<absl::Time> paid_at;
  absl::Time created_at;
  absl::Time updated_at;
  std::vector<OrderLineRecord> lines;
};

struct RefundRecord {
  std::string refund_key;
  int64_t amount_fen = 0;
  std::string lines;  // serialised request lines
  std::string reason;
  RefundStatus status = RefundStatus::kRequested;
  std::string requested_by;
  absl::Time created_at;
};

struct PaymentRecord {
  v1::PaymentProvider provider = v1::PAYMENT_PROVIDER_SANDBOX;
  std::string transaction_id;
  int64_t amount_fen = 0;
  std::string currency;
};

// A payment that arrived for an order no longer payable (CANCELLED or EXPIRED): recorded, not
// counted as a sale, refunded automatically (`refund_key`).
struct PaymentIncidentRecord {
  int64_t order_id = 0;
  OrderState order_status = OrderState::kReserving;  // when the payment arrived
  PaymentRecord payment;
  std::string refund_key;
  RefundStatus refund_status = RefundStatus::kRequested;  // of that refund
  absl::Time created_at;
};

}  // namespace livecommerce::order
