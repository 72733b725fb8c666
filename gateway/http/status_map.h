#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace livecommerce::gateway {

// The gateway's one map from gRPC status codes to HTTP statuses.
int HttpStatusOf(grpc::StatusCode code);
// The canonical name of a code ("INVALID_ARGUMENT"), used as the error body's "code".
absl::string_view StatusCodeName(grpc::StatusCode code);
// Why a request was refused when the code alone does not say what the client should do
// (docs/API.md lists them): "reason" in the error body.
//   RATE_LIMITED   429 + Retry-After: too many requests from this user or address; slow down.
//   LIMIT_REACHED  429, no Retry-After: a business limit (a per-buyer limit, a quota); retrying
//                  does not help.
//   OVERLOADED     503 + Retry-After: a service is at capacity and shed the request; retry.
//   UNAVAILABLE    503 + Retry-After: a service is down or did not answer; retry.
inline constexpr char kReasonRateLimited[] = "RATE_LIMITED";
inline constexpr char kReasonLimitReached[] = "LIMIT_REACHED";
inline constexpr char kReasonOverloaded[] = "OVERLOADED";
inline constexpr char kReasonUnavailable[] = "UNAVAILABLE";

// {"code": NAME, "message": MESSAGE} as JSON, with "reason": REASON when `reason` is given.
std::string ErrorJson(grpc::StatusCode code, absl::string_view message,
                      absl::string_view reason = "");

}  // namespace livecommerce::gateway
