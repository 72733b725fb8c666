#include "services/common/qr_png.h"

#include <qrencode.h>
#include <zlib.h>

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace livecommerce::common {
namespace {

void PutBigEndian32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

// A PNG chunk: length, type, data, and the CRC-32 of type and data.
void PutChunk(std::string& out, const char type[4], const std::string& data) {
  PutBigEndian32(out, static_cast<uint32_t>(data.size()));
  std::string typed(type, 4);
  typed += data;
  out += typed;
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(typed.data()), static_cast<uInt>(typed.size()));
  PutBigEndian32(out, static_cast<uint32_t>(crc));
}

struct QrDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

}  // namespace

std::string GreyscalePng(const std::string& pixels, int width, int height) {
  if (width <= 0 || height <= 0 ||
      pixels.size() != static_cast<size_t>(width) * static_cast<size_t>(height)) {
    return "";
  }
  // Each row starts with its filter type; 0 (none) is enough for two colours.
  std::string raw;
  raw.reserve(static_cast<size_t>(height) * (static_cast<size_t>(width) + 1));
  for (int y = 0; y < height; ++y) {
    raw.push_back('\0');
    raw.append(pixels, static_cast<size_t>(y) * width, width);
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
                reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
                Z_BEST_COMPRESSION) != Z_OK) {
    return "";
  }
  packed.resize(packed_size);

  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string header;
  PutBigEndian32(header, static_cast<uint32_t>(width));
  PutBigEndian32(header, static_cast<uint32_t>(height));
  header.push_back(8);  // bits per sample
  header.push_back(0);  // colour type: greyscale
  header.push_back(0);  // compression: deflate
  header.push_back(0);  // filter method
  header.push_back(0);  // no interlace
  PutChunk(png, "IHDR", header);
  PutChunk(png, "IDAT", packed);
  PutChunk(png, "IEND", "");
  return png;
}

absl::StatusOr<std::string> QrCodePng(absl::string_view text, int module_px, int margin) {
  if (text.empty()) return absl::InvalidArgumentError("text: is empty");
  if (module_px < 1 || module_px > 32) {
    return absl::InvalidArgumentError("module_px: must be 1..32");
  }
  if (margin < 0 || margin > 16) return absl::InvalidArgumentError("margin: must be 0..16");
  // Byte mode keeps the text exactly as given (libqrencode reads it as a C string).
  std::string data(text);
  if (data.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("text: must not contain NUL");
  }
  std::unique_ptr<QRcode, QrDeleter> code(
      QRcode_encodeData(static_cast<int>(data.size()),
                        reinterpret_cast<const unsigned char*>(data.data()), 0, QR_ECLEVEL_M));
  if (code == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("text: cannot be a QR code (", data.size(), " bytes)"));
  }
  const int modules = code->width;
  const int side = (modules + 2 * margin) * module_px;
  std::string pixels(static_cast<size_t>(side) * side, static_cast<char>(0xff));
  for (int my = 0; my < modules; ++my) {
    for (int mx = 0; mx < modules; ++mx) {
      // libqrencode: bit 0 of each byte is the module's colour (1 = dark).
      if ((code->data[my * modules + mx] & 1) == 0) continue;
      for (int dy = 0; dy < module_px; ++dy) {
        size_t row = static_cast<size_t>((margin + my) * module_px + dy) * side;
        pixels.replace(row + static_cast<size_t>((margin + mx) * module_px), module_px, module_px,
                       '\0');
      }
    }
  }
  return GreyscalePng(pixels, side, side);
}

}  // namespace livecommerce::common
