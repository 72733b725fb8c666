#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"
#include "services/common/principal.h"

namespace livecommerce::common {

// A client context for calling another service on behalf of `brand_id`: a deadline `timeout` from
// now and a signed SERVICE principal naming `caller` (this service), valid from `now` (the
// caller's clock, which the peer shares). Carries the request id this thread is handling
// (CurrentRequestId) in x-request-id, when it has one.
std::unique_ptr<grpc::ClientContext> ServiceCallContext(const PrincipalCodec& codec,
                                                        const std::string& brand_id,
                                                        const std::string& caller,
                                                        absl::Duration timeout,
                                                        absl::Time now = absl::Now());

// A channel to another service at `address` ("host:port", or "dns:///name:port" for every address
// of a name). Calls are spread round robin over the addresses the name resolves to (a headless
// Kubernetes Service gives one per replica); channels with different `index` are separate
// connections.
std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address, int index = 0);

// A peer's gRPC status as an absl::Status. A peer that is down, or does not answer before the
// deadline, is UNAVAILABLE naming `peer`; other codes and messages pass through.
absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view peer);

}  // namespace livecommerce::common
