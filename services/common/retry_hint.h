#pragma once

#include <optional>

#include "absl/time/time.h"
#include "grpcpp/support/status.h"

namespace livecommerce::common {

// The retry hint a server sends with `status` (in the trailing metadata kRetryPushbackMetadata,
// status.h): the one of the service's own overload refusal (Overloaded), or `shed` for gRPC's own
// shedding, RESOURCE_EXHAUSTED that no service answered ("Server Threadpool Exhausted" when a
// sync server's threads are all busy); none for anything else, business limits included.
std::optional<absl::Duration> RetryHintToSend(const grpc::Status& status, absl::Duration shed);

}  // namespace livecommerce::common
