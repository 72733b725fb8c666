#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace livecommerce::common {

// Sets up the default spdlog logger for a service: plain text on stderr, or one JSON object per
// line when LC_LOG_FORMAT=json; level from LC_LOG_LEVEL (trace, debug, info, warn, error).
// Timestamps UTC.
absl::Status InitLogging(absl::string_view service_name);

// Escapes a string for inclusion inside a JSON string literal.
std::string JsonEscape(absl::string_view text);

}  // namespace livecommerce::common
