#include "services/order/domain/order.h"

#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/common/validation.h"

namespace livecommerce::order {
namespace {

using common::InvalidField;

constexpr char kFailureCodeSeparator = ':';

bool Overflows(int64_t a, int64_t b) {
  return a != 0 && b > std::numeric_limits<int64_t>::max() / a;
}

absl::Status ValidateOptionalId(absl::string_view field, const std::string& id) {
  if (!id.empty() && !common::IsValidId(id)) {
    return InvalidField(field, "is not a valid id");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTransition(OrderStatus from, OrderStatus to) {
  bool allowed = false;
  switch (from) {
    case v1::ORDER_STATUS_PENDING_PAYMENT:
      allowed = to == v1::ORDER_STATUS_PAID || to == v1::ORDER_STATUS_CANCELLED ||
                to == v1::ORDER_STATUS_EXPIRED;
      break;
    case v1::ORDER_STATUS_PAID:
      allowed = to == v1::ORDER_STATUS_FULFILLED || to == v1::ORDER_STATUS_PARTIALLY_REFUNDED ||
                to == v1::ORDER_STATUS_REFUNDED;
      break;
    case v1::ORDER_STATUS_FULFILLED:
      allowed = to == v1::ORDER_STATUS_COMPLETED || to == v1::ORDER_STATUS_PARTIALLY_REFUNDED ||
                to == v1::ORDER_STATUS_REFUNDED;
      break;
    case v1::ORDER_STATUS_COMPLETED:
    case v1::ORDER_STATUS_PARTIALLY_REFUNDED:
      allowed = to == v1::ORDER_STATUS_PARTIALLY_REFUNDED || to == v1::ORDER_STATUS_REFUNDED;
      break;
    default:
      break;
  }
  if (allowed) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "order cannot go from ", v1::OrderStatus_Name(from), " to ", v1::OrderStatus_Name(to)));
}

bool IsPaid(OrderStatus status) {
  return status == v1::ORDER_STATUS_PAID || status == v1::ORDER_STATUS_FULFILLED ||
         status == v1::ORDER_STATUS_COMPLETED || status == v1::ORDER_STATUS_PARTIALLY_REFUNDED ||
         status == v1::ORDER_STATUS_REFUNDED;
}

absl::StatusOr<int64_t> LineTotal(int64_t quantity, int64_t unit_price_fen) {
  if (quantity <= 0) return InvalidField("quantity", "must be positive");
  if (unit_price_fen <= 0) return InvalidField("unit_price.amount_fen", "must be positive");
  if (Overflows(quantity, unit_price_fen)) return InvalidField("quantity", "is too large");
  return quantity * unit_price_fen;
}

absl::StatusOr<int64_t> OrderTotal(const std::vector<LineAmounts>& lines) {
  int64_t total = 0;
  for (const LineAmounts& line : lines) {
    LC_ASSIGN_OR_RETURN(int64_t line_total, LineTotal(line.quantity, line.unit_price_fen));
    if (total > std::numeric_limits<int64_t>::max() - line_total) {
      return InvalidField("lines", "total is too large");
    }
    total += line_total;
  }
  return total;
}

absl::StatusOr<int64_t> RefundAmount(const std::vector<LineAmounts>& lines,
                                     const std::vector<RefundRequestLine>& request) {
  int64_t amount = 0;
  if (request.empty()) {
    for (const LineAmounts& line : lines) {
      amount += (line.quantity - line.refunded_quantity) * line.unit_price_fen;
    }
  } else {
    std::vector<int64_t> asked(lines.size(), 0);
    for (size_t i = 0; i < request.size(); ++i) {
      const RefundRequestLine& r = request[i];
      std::string field = absl::StrCat("lines[", i, "]");
      if (r.line_index >= lines.size()) {
        return InvalidField(absl::StrCat(field, ".line_id"), "is not a line of this order");
      }
      if (r.quantity <= 0) {
        return InvalidField(absl::StrCat(field, ".quantity"), "must be positive");
      }
      asked[r.line_index] += r.quantity;
      const LineAmounts& line = lines[r.line_index];
      if (asked[r.line_index] > line.quantity - line.refunded_quantity) {
        return absl::FailedPreconditionError(
            absl::StrCat(field, ".quantity: more than is left to refund on this line"));
      }
      amount += r.quantity * line.unit_price_fen;
    }
  }
  if (amount <= 0) {
    return absl::FailedPreconditionError("order_id: nothing is left to refund");
  }
  return amount;
}

OrderStatus StatusAfterRefund(const std::vector<LineAmounts>& lines_after) {
  for (const LineAmounts& line : lines_after) {
    if (line.refunded_quantity < line.quantity) {
      return v1::ORDER_STATUS_PARTIALLY_REFUNDED;
    }
  }
  return v1::ORDER_STATUS_REFUNDED;
}

absl::Status ValidateAttribution(const v1::Attribution& attribution) {
  if (!v1::Channel_IsValid(attribution.channel())) {
    return InvalidField("attribution.channel", "is not a channel");
  }
  LC_RETURN_IF_ERROR(ValidateOptionalId("attribution.share_link_id", attribution.share_link_id()));
  return ValidateOptionalId("attribution.associate_id", attribution.associate_id());
}

absl::Status ValidateCartItem(const v1::CartItem& item) {
  LC_RETURN_IF_ERROR(common::ParseId("sku_id", item.sku_id()).status());
  if (!item.sale_id().empty()) {
    LC_RETURN_IF_ERROR(common::ParseId("sale_id", item.sale_id()).status());
  }
  if (item.quantity() <= 0) return InvalidField("quantity", "must be positive");
  if (item.quantity() > kMaxLineQuantity) {
    return InvalidField("quantity", absl::StrCat("must be at most ", kMaxLineQuantity));
  }
  if (!item.room().room_id().empty()) {
    LC_RETURN_IF_ERROR(common::ParseId("room.room_id", item.room().room_id()).status());
  }
  if (!item.room().session_id().empty()) {
    LC_RETURN_IF_ERROR(common::ParseId("room.session_id", item.room().session_id()).status());
  }
  return ValidateAttribution(item.attribution());
}

absl::Status ValidateAddress(const v1::DeliveryAddress& address) {
  LC_RETURN_IF_ERROR(common::ValidateText("address.recipient", address.recipient(), 100, true));
  LC_RETURN_IF_ERROR(common::ValidateText("address.phone", address.phone(), 32, true));
  for (char c : address.phone()) {
    if (!((c >= '0' && c <= '9') || c == '+' || c == '-' || c == ' ')) {
      return InvalidField("address.phone", "must be digits, spaces, + or -");
    }
  }
  LC_RETURN_IF_ERROR(common::ValidateText("address.province", address.province(), 64, true));
  LC_RETURN_IF_ERROR(common::ValidateText("address.city", address.city(), 64, true));
  LC_RETURN_IF_ERROR(common::ValidateText("address.district", address.district(), 64, false));
  LC_RETURN_IF_ERROR(common::ValidateText("address.street", address.street(), 256, true));
  return common::ValidateText("address.postal_code", address.postal_code(), 16, false);
}

std::string EncodeFailure(const absl::Status& status) {
  // An overload (a service shed the checkout's reservation) is kept as what it is to a later
  // retry, a passing unavailability: without its mark a RESOURCE_EXHAUSTED would read as a
  // business limit.
  absl::StatusCode code = common::OverloadRetryAfter(status).has_value()
                              ? absl::StatusCode::kUnavailable
                              : status.code();
  return absl::StrCat(static_cast<int>(code), std::string(1, kFailureCodeSeparator),
                      status.message());
}

absl::Status DecodeFailure(const std::string& failure) {
  size_t at = failure.find(kFailureCodeSeparator);
  int code = static_cast<int>(absl::StatusCode::kInternal);
  if (at == std::string::npos || !absl::SimpleAtoi(failure.substr(0, at), &code)) {
    return absl::InternalError("checkout failed");
  }
  return absl::Status(static_cast<absl::StatusCode>(code), failure.substr(at + 1));
}

std::string CartLineKey(const std::string& sku_id, const std::string& sale_id) {
  return absl::StrCat(sku_id, "|", sale_id);
}

}  // namespace livecommerce::order
