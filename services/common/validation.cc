#include "services/common/validation.h"

#include "absl/strings/str_cat.h"
#include "services/common/status.h"

namespace livecommerce::common {

bool IsValidUtf8(absl::string_view text) {
  // RFC 3629: no overlong forms, no UTF-16 surrogates, nothing past U+10FFFF (what protobuf
  // requires of a string field, or the message fails to parse).
  size_t i = 0;
  while (i < text.size()) {
    unsigned char lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t extra = 0;
    unsigned char low = 0x80, high = 0xbf;  // the range of the byte after the lead
    if (lead >= 0xc2 && lead <= 0xdf) {
      extra = 1;
    } else if (lead == 0xe0) {
      extra = 2;
      low = 0xa0;
    } else if (lead == 0xed) {
      extra = 2;
      high = 0x9f;
    } else if (lead >= 0xe1 && lead <= 0xef) {
      extra = 2;
    } else if (lead == 0xf0) {
      extra = 3;
      low = 0x90;
    } else if (lead >= 0xf1 && lead <= 0xf3) {
      extra = 3;
    } else if (lead == 0xf4) {
      extra = 3;
      high = 0x8f;
    } else {
      return false;
    }
    if (text.size() - i <= extra) {
      return false;
    }
    unsigned char second = static_cast<unsigned char>(text[i + 1]);
    if (second < low || second > high) {
      return false;
    }
    for (size_t k = 2; k <= extra; ++k) {
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
