#include "services/common/status.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "services/common/admission.h"

namespace livecommerce::common {

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
