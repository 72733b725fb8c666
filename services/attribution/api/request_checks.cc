#include "services/attribution/api/request_checks.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/attribution/domain/commission.h"
#include "services/common/principal.h"
#include "services/common/status.h"

namespace livecommerce::attribution::request_checks {

using common::InvalidField;

namespace {
constexpr size_t kMaxExternalId = 64;
}  // namespace

int64_t IdOf(const std::string& id) {
  int64_t value = 0;
  return absl::SimpleAtoi(id, &value) && value > 0 ? value : 0;
}

absl::Status ValidateExternalId(absl::string_view field, const std::string& value, bool required) {
  if (value.empty()) {
    return required ? InvalidField(field, "is required") : absl::OkStatus();
  }
  if (value.size() > kMaxExternalId || !common::IsValidId(value)) {
    return InvalidField(field, "is not a valid id");
  }
  return absl::OkStatus();
}

absl::Status ValidateViewerId(absl::string_view field, const std::string& value) {
  if (!common::IsValidId(value)) {
    return InvalidField(field, value.empty() ? "is required" : "is not a valid id");
  }
  return absl::OkStatus();
}

absl::Status ValidateMoney(absl::string_view field, const v1::Money& money) {
  if (money.amount_fen() <= 0 || money.amount_fen() > kMaxAmountFen) {
    return InvalidField(absl::StrCat(field, ".amount_fen"),
                        "must be positive and at most 10^15 fen");
  }
  const std::string& c = money.currency();
  if (c.size() != 3 || !absl::ascii_isupper(static_cast<unsigned char>(c[0])) ||
      !absl::ascii_isupper(static_cast<unsigned char>(c[1])) ||
      !absl::ascii_isupper(static_cast<unsigned char>(c[2]))) {
    return InvalidField(absl::StrCat(field, ".currency"), "must be an ISO 4217 code");
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> RequiredTime(absl::string_view field,
                                        const google::protobuf::Timestamp& ts, bool has) {
  if (!has) return InvalidField(field, "is required");
  return common::ParseTimestamp(field, ts);
}

v1::Channel ChannelOfShare(v1::ShareChannel channel) {
  switch (channel) {
    case v1::SHARE_CHANNEL_QR_CODE:
      return v1::CHANNEL_QR_CODE;
    case v1::SHARE_CHANNEL_ARTICLE:
      return v1::CHANNEL_ARTICLE;
    default:
      return v1::CHANNEL_SHARE_LINK;
  }
}

}  // namespace livecommerce::attribution::request_checks
