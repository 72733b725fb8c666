#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "livecommerce/v1/order.pb.h"
#include "services/order/domain/order_record.h"

namespace livecommerce::order {

using v1::OrderStatus;

inline constexpr int64_t kMaxLineQuantity = 99;
inline constexpr int kMaxCartLines = 50;

// The lifecycle: PENDING_PAYMENT -> PAID -> FULFILLED -> COMPLETED; PENDING_PAYMENT -> CANCELLED
// (buyer) or EXPIRED (unpaid in time); PAID (or FULFILLED, COMPLETED, PARTIALLY_REFUNDED) ->
// PARTIALLY_REFUNDED or REFUNDED. Anything else is FAILED_PRECONDITION.
absl::Status CheckTransition(OrderStatus from, OrderStatus to);
// The same between states of order rows (the two internal states go nowhere this way).
inline absl::Status CheckTransition(OrderState from, OrderState to) {
  return CheckTransition(static_cast<OrderStatus>(from), static_cast<OrderStatus>(to));
}

// Whether money was taken for an order in this status (so it can be refunded).
bool IsPaid(OrderStatus status);
inline bool IsPaid(OrderState state) { return IsPaid(static_cast<OrderStatus>(state)); }

// Why a checkout was refused, as recorded on its row (OrderRecord::failure) and back: a retry
// with the same idempotency key gets the same answer. An overload is recorded as UNAVAILABLE.
std::string EncodeFailure(const absl::Status& status);
// INTERNAL "checkout failed" when `failure` is not one EncodeFailure wrote.
absl::Status DecodeFailure(const std::string& failure);

// A line of an order for the money arithmetic.
struct LineAmounts {
  int64_t quantity = 0;
  int64_t unit_price_fen = 0;
  int64_t refunded_quantity = 0;
};

// quantity x unit price, INVALID_ARGUMENT on overflow or a non-positive factor.
absl::StatusOr<int64_t> LineTotal(int64_t quantity, int64_t unit_price_fen);
// The sum of line totals, INVALID_ARGUMENT on overflow.
absl::StatusOr<int64_t> OrderTotal(const std::vector<LineAmounts>& lines);

struct RefundRequestLine {
  size_t line_index = 0;
  int64_t quantity = 0;
};
// How much a refund of `request` (empty: everything not refunded yet) returns, in fen, checking
// that no line is refunded beyond what was bought. FAILED_PRECONDITION when nothing is left.
absl::StatusOr<int64_t> RefundAmount(const std::vector<LineAmounts>& lines,
                                     const std::vector<RefundRequestLine>& request);
// The status after refunding: REFUNDED when every unit is refunded, else PARTIALLY_REFUNDED.
OrderStatus StatusAfterRefund(const std::vector<LineAmounts>& lines_after);

absl::Status ValidateCartItem(const v1::CartItem& item);
absl::Status ValidateAttribution(const v1::Attribution& attribution);
absl::Status ValidateAddress(const v1::DeliveryAddress& address);

// The key of a cart line: one line per SKU, and per flash sale.
std::string CartLineKey(const std::string& sku_id, const std::string& sale_id);

}  // namespace livecommerce::order
