#include "services/common/request_id.h"

#include <cstdint>
#include <cstring>
#include <random>

namespace livecommerce::common {
namespace {

// A fixed buffer rather than a std::string: no allocation on the hot path, no destructor at
// thread exit.
struct ThreadRequestId {
  char data[kMaxRequestIdLength];
  size_t size = 0;
};
thread_local ThreadRequestId current;

}  // namespace

void WriteNewRequestId(char* out) {
  // Unpredictability is not needed (an id is no secret), only few collisions: a per-thread
  // engine seeded once from the OS keeps this to a few nanoseconds.
  thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t bits = engine();
  for (size_t i = 0; i < kNewRequestIdLength; ++i) {
    out[i] = kHex[(bits >> (4 * i)) & 0xf];
  }
}

std::string NewRequestId() {
  std::string id(kNewRequestIdLength, '0');
  WriteNewRequestId(id.data());
  return id;
}

bool IsValidRequestId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

absl::string_view CurrentRequestId() { return absl::string_view(current.data, current.size); }

void SetCurrentRequestId(absl::string_view id) {
  if (!IsValidRequestId(id)) {
    current.size = 0;
    return;
  }
  std::memcpy(current.data, id.data(), id.size());
  current.size = id.size();
}

ScopedRequestId::ScopedRequestId(absl::string_view id) : previous_size_(current.size) {
  std::memcpy(previous_, current.data, current.size);
  SetCurrentRequestId(id);
}

ScopedRequestId::~ScopedRequestId() {
  std::memcpy(current.data, previous_, previous_size_);
  current.size = previous_size_;
}

}  // namespace livecommerce::common
