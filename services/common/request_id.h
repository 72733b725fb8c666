#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace livecommerce::common {

// The gRPC metadata key (and, as X-Request-Id, the HTTP header) that carries a request id from the
// gateway through every service a request reaches.
inline constexpr char kRequestIdMetadata[] = "x-request-id";
inline constexpr size_t kMaxRequestIdLength = 64;

// A new request id: 16 random lowercase hex characters.
std::string NewRequestId();
inline constexpr size_t kNewRequestIdLength = 16;
// The same, written to `out` (kNewRequestIdLength characters, no terminator): no allocation.
void WriteNewRequestId(char* out);

// Whether `id` may be taken as a request id from a caller: 1 to 64 characters of
// [A-Za-z0-9._-] (it lands in logs and headers as it is).
bool IsValidRequestId(absl::string_view id);

// The request id of the call this thread is handling, or empty. Set by the gRPC server
// interceptor for the handler's thread (and by the gateway while it dispatches a request); read
// by the log pattern and by ServiceCallContext, which passes it on to the next service.
absl::string_view CurrentRequestId();
// Sets (an invalid or empty id clears) this thread's request id.
void SetCurrentRequestId(absl::string_view id);

// Sets this thread's request id for a scope and restores the previous one after.
class ScopedRequestId final {
 public:
  explicit ScopedRequestId(absl::string_view id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  char previous_[kMaxRequestIdLength];
  size_t previous_size_;
};

}  // namespace livecommerce::common
