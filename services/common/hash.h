#pragma once

#include <cstdint>

#include "absl/strings/string_view.h"

namespace livecommerce::common {

// FNV-1a, 64 bit: a hash that is the same in every process and release, for placing an id in a
// bucket.
inline uint64_t StableHash(absl::string_view data) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace livecommerce::common
