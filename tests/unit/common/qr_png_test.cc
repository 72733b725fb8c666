// QR codes drawn as PNG (share links' codes without WeChat): the file is a valid PNG whose
// pixels are the code, and a QR reader (zbarimg) reads the text back.
#include "services/common/qr_png.h"

#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace livecommerce::common {
namespace {

uint32_t BigEndian32(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

struct Decoded {
  int width = 0;
  int height = 0;
  std::string pixels;  // one byte per pixel, rows without their filter byte
};

// Reads back what GreyscalePng writes, checking every chunk's CRC on the way.
Decoded DecodePng(const std::string& png) {
  Decoded out;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::string idat;
  size_t at = 8;
  std::vector<std::string> types;
  while (at + 12 <= png.size()) {
    uint32_t length = BigEndian32(png, at);
    std::string type = png.substr(at + 4, 4);
    std::string data = png.substr(at + 8, length);
    uint32_t crc = BigEndian32(png, at + 8 + length);
    std::string typed = type + data;
    EXPECT_EQ(crc, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(typed.data()),
                                               static_cast<uInt>(typed.size()))))
        << type;
    types.push_back(type);
    if (type == "IHDR") {
      out.width = static_cast<int>(BigEndian32(data, 0));
      out.height = static_cast<int>(BigEndian32(data, 4));
      EXPECT_EQ(data[8], 8);  // bit depth
      EXPECT_EQ(data[9], 0);  // greyscale
    } else if (type == "IDAT") {
      idat += data;
    }
    at += 12 + length;
  }
  EXPECT_EQ(at, png.size());
  EXPECT_EQ(types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
  uLongf raw_size = static_cast<uLongf>(out.height) * (out.width + 1);
  std::string raw(raw_size, '\0');
  EXPECT_EQ(uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_size,
                       reinterpret_cast<const Bytef*>(idat.data()), idat.size()),
            Z_OK);
  EXPECT_EQ(raw_size, static_cast<uLongf>(out.height) * (out.width + 1));
  for (int y = 0; y < out.height; ++y) {
    size_t row = static_cast<size_t>(y) * (out.width + 1);
    EXPECT_EQ(raw[row], '\0') << "filter of row " << y;
    out.pixels.append(raw, row + 1, out.width);
  }
  return out;
}

bool Dark(const Decoded& d, int x, int y) {
  return d.pixels[static_cast<size_t>(y) * d.width + x] == '\0';
}

TEST(QrPngTest, GreyscalePngRoundTrips) {
  std::string pixels;
  for (int i = 0; i < 6 * 4; ++i) pixels.push_back(static_cast<char>(i * 10));
  Decoded d = DecodePng(GreyscalePng(pixels, 6, 4));
  EXPECT_EQ(d.width, 6);
  EXPECT_EQ(d.height, 4);
  EXPECT_EQ(d.pixels, pixels);
  EXPECT_EQ(GreyscalePng(pixels, 5, 4), "");  // sizes disagree
  EXPECT_EQ(GreyscalePng("", 0, 0), "");
}

TEST(QrPngTest, DrawsTheCodeWithItsFinderPatternsAndQuietZone) {
  absl::StatusOr<std::string> png = QrCodePng("sl=12345", 3, 4);
  ASSERT_TRUE(png.ok()) << png.status();
  Decoded d = DecodePng(*png);
  ASSERT_EQ(d.width, d.height);
  // A version 1 code is 21 modules; with 4 modules of quiet zone each side, 29 × 3 pixels.
  EXPECT_EQ(d.width, 29 * 3);
  auto module = [&](int mx, int my) { return Dark(d, (4 + mx) * 3 + 1, (4 + my) * 3 + 1); };
  // The quiet zone is white all round.
  for (int i = 0; i < d.width; ++i) {
    EXPECT_FALSE(Dark(d, i, 0));
    EXPECT_FALSE(Dark(d, 0, i));
    EXPECT_FALSE(Dark(d, i, d.height - 1));
  }
  // The three finder patterns: a dark ring, a light ring, a dark 3×3 centre.
  for (auto [ox, oy] : {std::pair{0, 0}, std::pair{14, 0}, std::pair{0, 14}}) {
    for (int i = 0; i < 7; ++i) {
      EXPECT_TRUE(module(ox + i, oy));
      EXPECT_TRUE(module(ox, oy + i));
      EXPECT_TRUE(module(ox + 6, oy + i));
      EXPECT_TRUE(module(ox + i, oy + 6));
    }
    for (int i = 1; i < 6; ++i) {
      EXPECT_FALSE(module(ox + i, oy + 1));
      EXPECT_FALSE(module(ox + 1, oy + i));
    }
    EXPECT_TRUE(module(ox + 3, oy + 3));
  }
  // No fourth finder at the bottom right.
  EXPECT_FALSE(module(20, 20) && module(14, 20) && module(20, 14) && !module(15, 15));
}

TEST(QrPngTest, AReaderReadsTheTextBack) {
  for (const std::string text : {"sl=1", "sl=18446744073709551615", "a!#$&'()*+,/:;=?@-._~z"}) {
    absl::StatusOr<std::string> png = QrCodePng(text);
    ASSERT_TRUE(png.ok()) << png.status();
    std::string path = absl::StrCat(::testing::TempDir(), "/qr_png_test_", getpid(), ".png");
    std::ofstream(path, std::ios::binary) << *png;
    std::string command = absl::StrCat("zbarimg --quiet --raw ", path);
    FILE* reader = popen(command.c_str(), "r");
    ASSERT_NE(reader, nullptr);
    std::string read;
    char buffer[256];
    while (size_t n = fread(buffer, 1, sizeof buffer, reader)) read.append(buffer, n);
    int rc = pclose(reader);
    std::remove(path.c_str());
    ASSERT_EQ(rc, 0) << "zbarimg could not read the code of " << text;
    while (!read.empty() && (read.back() == '\n' || read.back() == '\r')) read.pop_back();
    EXPECT_EQ(read, text);
  }
}

TEST(QrPngTest, RefusesWhatCannotBeDrawn) {
  EXPECT_EQ(QrCodePng("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(QrCodePng(std::string(8000, 'x')).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(QrCodePng("a", 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(QrCodePng("a", 4, 17).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(QrCodePng(std::string("a\0b", 3)).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace livecommerce::common
