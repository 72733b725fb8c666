#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"

namespace livecommerce::common {

// Set as the error details of every status a service answers itself (ToGrpcStatus), so a caller
// can tell the service's own refusals from gRPC's: RESOURCE_EXHAUSTED with this mark is a
// business limit (a per-buyer limit, a quota), without it an overloaded server ("Server
// Threadpool Exhausted", a full resource quota) or the service's own admission refusing load it
// cannot carry quickly (Overloaded below: details kOverloadMark with a retry hint).
inline constexpr char kServiceAnswerMark[] = "livecommerce";

// Whether `status` was answered by a service's own code rather than by gRPC itself.
bool IsServiceAnswer(const grpc::Status& status);

// The one map from absl::Status to grpc::Status used by every service. Messages pass through as
// they are: they are written to be safe for users and name the offending field.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The status details of an overload refusal sent over gRPC: "<mark>;retry_ms=<n>" (admission.h
// says when a service refuses).
inline constexpr char kOverloadMark[] = "livecommerce-overload";
// gRPC's trailing metadata key for a server's retry hint, in milliseconds.
inline constexpr char kRetryPushbackMetadata[] = "grpc-retry-pushback-ms";

// RESOURCE_EXHAUSTED "<what> is at capacity; retry in <n> ms", carrying `retry_after`: a refusal
// to take the request, which ToGrpcStatus sends without the service mark and with the hint.
absl::Status Overloaded(absl::string_view what, absl::Duration retry_after);
// The retry hint of an Overloaded status; nullopt for any other status.
std::optional<absl::Duration> OverloadRetryAfter(const absl::Status& status);
// The same from a status received over gRPC (its details); nullopt when it is not one.
std::optional<absl::Duration> OverloadRetryAfter(const grpc::Status& status);
// The gRPC status details of an overload with this hint.
std::string OverloadDetails(absl::Duration retry_after);

// INVALID_ARGUMENT whose message names `field`.
absl::Status InvalidField(absl::string_view field, absl::string_view problem);

}  // namespace livecommerce::common

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define LC_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status lc_status_ = (expr);      \
    if (!lc_status_.ok()) return lc_status_; \
  } while (false)

#define LC_CONCAT_INNER_(a, b) a##b
#define LC_CONCAT_(a, b) LC_CONCAT_INNER_(a, b)
// Declares `lhs` from a StatusOr, returning its status from the enclosing function on error.
#define LC_ASSIGN_OR_RETURN(lhs, expr) \
  LC_ASSIGN_OR_RETURN_IMPL_(LC_CONCAT_(lc_statusor_, __LINE__), lhs, expr)
#define LC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(*tmp)
