#pragma once

#include <string>
#include <vector>

#include "gateway/http/router.h"
#include "google/protobuf/descriptor.h"

namespace livecommerce::gateway {

// The OpenAPI 3.0 document of `routes`, built from the table itself and the protos' descriptors
// (request and response schemas follow protobuf's JSON mapping), so it cannot drift from what
// the gateway serves. RPC routes whose method is not in the descriptor pool are left out.
std::string BuildOpenApi(const std::vector<Route>& routes);

}  // namespace livecommerce::gateway
