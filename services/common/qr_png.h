#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecommerce::common {

// `text` as a QR code (error correction level M, byte mode, libqrencode) drawn into an 8-bit
// greyscale PNG: `module_px` pixels per module, a quiet zone of `margin` modules around it (the
// standard asks for 4). INVALID_ARGUMENT when the text is empty or too long for a QR code, or a
// size is out of range (1..32 pixels, 0..16 modules).
absl::StatusOr<std::string> QrCodePng(absl::string_view text, int module_px = 10, int margin = 4);

// `pixels` (width * height bytes, one grey level each, row after row) as a PNG file: no filter,
// zlib-compressed, each chunk with its CRC. Empty when a dimension is 0 or the sizes disagree.
std::string GreyscalePng(const std::string& pixels, int width, int height);

}  // namespace livecommerce::common
