#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace livecommerce::gateway {

// The gateway's one map from gRPC status codes to HTTP statuses.
int HttpStatusOf(grpc::StatusCode code);
// The canonical name of a code ("INVALID_ARGUMENT"), used as the error body's "code".
absl::string_view StatusCodeName(grpc::StatusCode code);
// {"code": NAME, "message": MESSAGE} as JSON.
std::string ErrorJson(grpc::StatusCode code, absl::string_view message);

}  // namespace livecommerce::gateway
