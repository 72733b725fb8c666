#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace livecommerce::common {

// Cryptographically random bytes from OpenSSL's generator.
std::string RandomBytes(size_t n);
// An unguessable token: `bytes` random bytes, base64url without padding.
std::string RandomToken(size_t bytes = 32);

std::string Sha256(absl::string_view data);   // raw 32 bytes
std::string Sha1Hex(absl::string_view data);  // lowercase hex (Redis script SHAs)
std::string HmacSha256(absl::string_view key, absl::string_view data);  // raw 32 bytes
// Compares in time independent of where the inputs differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// Standard base64 (RFC 4648 section 4, '+' '/' and '=' padding), as WeChat Pay uses.
std::string Base64Encode(absl::string_view data);
// Returns false on malformed input: wrong length, characters outside the alphabet, bad padding.
bool Base64Decode(absl::string_view text, std::string* out);
std::string Base64UrlEncode(absl::string_view data);
// Returns false on malformed input.
bool Base64UrlDecode(absl::string_view text, std::string* out);
std::string HexEncode(absl::string_view data);

}  // namespace livecommerce::common
