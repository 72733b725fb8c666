#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace livecommerce::common {

// The metric children of each gRPC method, made once per method and code and then found without
// allocating: lc_grpc_server_handled_total{service,method,code} and, for unary methods,
// lc_grpc_server_handling_seconds{service,method} (a stream's duration is its lifetime, which
// would only drown the unary latencies). Thread-safe.
class RpcMetrics final {
 public:
  static constexpr int kCodes = 17;  // grpc::StatusCode OK .. UNAUTHENTICATED
  // More distinct method names than this (callers can send any path: UNIMPLEMENTED) are counted
  // under service="other", method="other", so a caller cannot blow up the label space.
  static constexpr size_t kMaxMethods = 512;

  struct Method {
    std::string service;  // "livecommerce.v1.OrderService"
    std::string name;     // "Checkout"
    bool unary = true;
    bool log = true;  // health checks and reflection are counted but not logged
    prometheus::Histogram* latency = nullptr;  // unary only
    std::array<std::atomic<prometheus::Counter*>, kCodes> handled{};
  };

  explicit RpcMetrics(prometheus::Registry& registry);

  // The method of a path "/package.Service/Method".
  Method& ForPath(absl::string_view path, grpc::experimental::ServerRpcInfo::Type type);
  prometheus::Counter& Handled(Method& method, int code);

 private:
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_;
  // A standard mutex, not absl::Mutex: Debian's absl is built without ThreadSanitizer, which
  // would not see an absl::Mutex's ordering (scripts/tsan).
  std::shared_mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_ ABSL_GUARDED_BY(mu_);
};

// Creates the per-call interceptor: see ServiceMetrics::NewInterceptorFactory.
class RpcInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  RpcInterceptorFactory(RpcMetrics& metrics, bool access_log)
      : metrics_(metrics), access_log_(access_log) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  RpcMetrics& metrics_;
  bool access_log_;
};

// "OK", "NOT_FOUND" ... for a gRPC status code (UNKNOWN beyond the known ones).
const char* GrpcCodeName(int code);

}  // namespace livecommerce::common
