#include "services/common/status.h"

#include <algorithm>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/retry_hint.h"

namespace livecommerce::common {
namespace {

constexpr char kOverloadPayload[] = "type.livecommerce/overload";
constexpr char kRetryField[] = ";retry_ms=";

}  // namespace

absl::Status Overloaded(absl::string_view what, absl::Duration retry_after) {
  int64_t ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(retry_after));
  absl::Status status =
      absl::ResourceExhaustedError(absl::StrCat(what, " is at capacity; retry in ", ms, " ms"));
  status.SetPayload(kOverloadPayload, absl::Cord(absl::StrCat(ms)));
  return status;
}

std::optional<absl::Duration> OverloadRetryAfter(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kResourceExhausted) return std::nullopt;
  auto payload = status.GetPayload(kOverloadPayload);  // absl::optional in this abseil
  int64_t ms = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &ms)) return std::nullopt;
  return absl::Milliseconds(ms);
}

std::optional<absl::Duration> OverloadRetryAfter(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) return std::nullopt;
  const std::string details = status.error_details();  // returned by value
  const std::string expected = absl::StrCat(kOverloadMark, kRetryField);
  if (!absl::StartsWith(details, expected)) return std::nullopt;
  int64_t ms = 0;
  if (!absl::SimpleAtoi(absl::string_view(details).substr(expected.size()), &ms) || ms < 0) {
    return std::nullopt;
  }
  return absl::Milliseconds(ms);
}

std::optional<absl::Duration> RetryHintToSend(const grpc::Status& status, absl::Duration shed) {
  if (std::optional<absl::Duration> retry = OverloadRetryAfter(status)) return retry;
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED && !IsServiceAnswer(status)) {
    return shed;
  }
  return std::nullopt;
}

std::string OverloadDetails(absl::Duration retry_after) {
  return absl::StrCat(kOverloadMark, kRetryField, absl::ToInt64Milliseconds(retry_after));
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) {
    return grpc::Status::OK;
  }
  // An overload is not the service's answer to the request but a refusal to take it: without
  // the mark, with the retry hint (admission.h).
  if (std::optional<absl::Duration> retry = OverloadRetryAfter(status)) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, std::string(status.message()),
                        OverloadDetails(*retry));
  }
  // absl and gRPC share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      kServiceAnswerMark);
}

bool IsServiceAnswer(const grpc::Status& status) {
  return status.error_details() == kServiceAnswerMark;
}

absl::Status InvalidField(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

}  // namespace livecommerce::common
