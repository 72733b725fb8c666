#include "services/common/validation.h"

#include "absl/strings/str_cat.h"
#include "services/common/status.h"

namespace livecommerce::common {

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char lead = static_cast<unsigned char>(text[i]);
    size_t extra = 0;
    if (lead < 0x80) {
      extra = 0;
    } else if ((lead >> 5) == 0x6 && lead >= 0xc2) {
      extra = 1;
    } else if ((lead >> 4) == 0xe) {
      extra = 2;
    } else if ((lead >> 3) == 0x1e && lead <= 0xf4) {
      extra = 3;
    } else {
      return false;
    }
    if (i + extra >= text.size() && extra > 0) {
      return false;
    }
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) {
        return false;
      }
    }
    i += extra + 1;
  }
  return true;
}

absl::Status ValidateText(absl::string_view field, absl::string_view value, size_t max_bytes,
                          bool required, bool multiline) {
  if (required && value.empty()) {
    return InvalidField(field, "must not be empty");
  }
  if (value.size() > max_bytes) {
    return InvalidField(field, absl::StrCat("must be at most ", max_bytes, " bytes"));
  }
  if (!IsValidUtf8(value)) {
    return InvalidField(field, "must be valid UTF-8");
  }
  for (unsigned char c : value) {
    bool allowed_space = multiline && (c == '\n' || c == '\r' || c == '\t');
    if ((c < 0x20 && !allowed_space) || c == 0x7f) {
      return InvalidField(field, "must not contain control characters");
    }
  }
  return absl::OkStatus();
}

}  // namespace livecommerce::common
