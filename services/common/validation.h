#pragma once

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace livecommerce::common {

// Well-formed UTF-8 (RFC 3629): no overlong forms, surrogates or code points past U+10FFFF.
bool IsValidUtf8(absl::string_view text);

// A user-supplied text field: at most `max_bytes` of valid UTF-8 without control characters
// (newlines and tabs allowed when `multiline`). INVALID_ARGUMENT naming `field`.
absl::Status ValidateText(absl::string_view field, absl::string_view value, size_t max_bytes,
                          bool required, bool multiline = false);

}  // namespace livecommerce::common
