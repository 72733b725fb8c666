#pragma once

#include <vector>

#include "gateway/http/router.h"

namespace livecommerce::gateway {

// The gateway's HTTP API: every route, in match order (literal segments before parameters).
std::vector<Route> ApiRoutes();

}  // namespace livecommerce::gateway
