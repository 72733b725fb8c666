#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "spdlog/common.h"

namespace livecommerce::common {

// Sets up the default spdlog logger for a service: plain text on stderr, or one JSON object per
// line when LC_LOG_FORMAT=json; level from LC_LOG_LEVEL (trace, debug, info, warn, error).
// Timestamps UTC.
// Lines carry the request id of the call the thread is handling (CurrentRequestId): ` rid=<id>`
// after the service name in text, a "request_id" field in JSON.
absl::Status InitLogging(absl::string_view service_name);
// The same, writing to `sink` instead of stderr (tests).
absl::Status InitLogging(absl::string_view service_name, spdlog::sink_ptr sink);

// Escapes a string for inclusion inside a JSON string literal.
std::string JsonEscape(absl::string_view text);

}  // namespace livecommerce::common
