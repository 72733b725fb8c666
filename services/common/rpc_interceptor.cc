#include "services/common/rpc_interceptor.h"

#include <chrono>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "services/common/admission.h"
#include "services/common/log_format.h"
#include "services/common/metrics.h"
#include "services/common/request_id.h"
#include "services/common/retry_hint.h"
#include "services/common/status.h"
#include "services/common/tsan.h"

namespace livecommerce::common {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

constexpr std::array<const char*, RpcMetrics::kCodes> kCodeNames = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

// One per call: times it from creation to the status, and keeps its request id.
class RpcInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcInterceptor(RpcMetrics& metrics, RpcMetrics::Method& method, bool access_log)
      : metrics_(metrics),
        method_(method),
        access_log_(access_log && method.log),
        started_(std::chrono::steady_clock::now()) {
    HandOver(this);
  }

  // gRPC runs a call's hook points one at a time but not always on one thread, and destroys the
  // interceptor with the call's context on whichever thread finishes it (tsan.h).
  ~RpcInterceptor() override {
    TakeOver(this);
    // A call that ended without sending a status (the client went away first).
    if (!recorded_) Record(grpc::StatusCode::CANCELLED);
  }

  void Intercept(InterceptorBatchMethods* methods) override {
    TakeOver(this);
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      TakeRequestId(methods->GetRecvInitialMetadata());
      SetCurrentRequestId(request_id());
    }
    // The handler runs on this thread right after the request message (sync and callback unary
    // handlers alike); a stream's reads happen on the handler's thread.
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      SetCurrentRequestId(request_id());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      Record(status.error_code());
      // An overload refusal carries its retry hint where gRPC clients look for one.
      // So does gRPC's own shedding (a sync server's threads all busy): a second, as the gateway
      // answers it.
      if (std::optional<absl::Duration> retry = RetryHintToSend(status, absl::Seconds(1))) {
        methods->GetSendTrailingMetadata()->emplace(
            kRetryPushbackMetadata, std::to_string(absl::ToInt64Milliseconds(*retry)));
      }
      // The handler is done: its thread no longer serves this request.
      if (CurrentRequestId() == request_id()) SetCurrentRequestId("");
    }
    HandOver(this);
    methods->Proceed();
  }

 private:
  absl::string_view request_id() const { return absl::string_view(id_, id_size_); }

  void TakeRequestId(std::multimap<grpc::string_ref, grpc::string_ref>* metadata) {
    if (metadata != nullptr) {
      auto it = metadata->find(kRequestIdMetadata);
      if (it != metadata->end()) {
        absl::string_view id(it->second.data(), it->second.size());
        if (IsValidRequestId(id)) {
          std::memcpy(id_, id.data(), id.size());
          id_size_ = id.size();
          return;
        }
      }
    }
    // A call that came without one (a background job's, a probe's) gets its own.
    WriteNewRequestId(id_);
    id_size_ = kNewRequestIdLength;
  }

  void Record(grpc::StatusCode code) {
    recorded_ = true;
    int index = static_cast<int>(code);
    if (index < 0 || index >= RpcMetrics::kCodes) index = grpc::StatusCode::UNKNOWN;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    metrics_.Handled(method_, index).Increment();
    if (method_.latency != nullptr) method_.latency->Observe(seconds);
    if (access_log_) {
      // The line carries the id through the log pattern, even when the status is sent from
      // another thread than the handler's.
      ScopedRequestId scoped(request_id());
      spdlog::info("rpc {}/{} {} {:.2f}ms", method_.service, method_.name, kCodeNames[index],
                   seconds * 1000);
    }
  }

  RpcMetrics& metrics_;
  RpcMetrics::Method& method_;
  bool access_log_;
  std::chrono::steady_clock::time_point started_;
  bool recorded_ = false;
  char id_[kMaxRequestIdLength];
  size_t id_size_ = 0;
};

}  // namespace

const char* GrpcCodeName(int code) {
  return code >= 0 && code < RpcMetrics::kCodes ? kCodeNames[code] : "UNKNOWN";
}

RpcMetrics::RpcMetrics(prometheus::Registry& registry)
    : handled_(prometheus::BuildCounter()
                   .Name("lc_grpc_server_handled_total")
                   .Help("RPCs completed by the server, by service, method and status code.")
                   .Register(registry)),
      handling_(prometheus::BuildHistogram()
                    .Name("lc_grpc_server_handling_seconds")
                    .Help("Time from a unary RPC's arrival to its status, by service and method.")
                    .Register(registry)) {}

RpcMetrics::Method& RpcMetrics::ForPath(absl::string_view path, ServerRpcInfo::Type type) {
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = methods_.find(path);
    if (it != methods_.end()) return *it->second;
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto it = methods_.find(path);
  if (it != methods_.end()) return *it->second;
  std::string key(path);
  auto method = std::make_unique<Method>();
  if (methods_.size() >= kMaxMethods) {
    key = "other";
    it = methods_.find(key);
    if (it != methods_.end()) return *it->second;
    method->service = "other";
    method->name = "other";
  } else {
    absl::string_view rest = path;
    if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    size_t slash = rest.find('/');
    method->service = std::string(rest.substr(0, slash));
    method->name = slash == absl::string_view::npos ? "" : std::string(rest.substr(slash + 1));
  }
  method->unary = type == ServerRpcInfo::Type::UNARY;
  method->log =
      !absl::StartsWith(path, "/grpc.health.") && !absl::StartsWith(path, "/grpc.reflection.");
  if (method->unary) {
    method->latency =
        &handling_.Add({{"service", method->service}, {"method", method->name}}, LatencyBuckets());
  }
  Method& result = *method;
  methods_.emplace(std::move(key), std::move(method));
  return result;
}

prometheus::Counter& RpcMetrics::Handled(Method& method, int code) {
  prometheus::Counter* counter = method.handled[code].load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Family::Add returns the existing child for the same labels, so a race only repeats it.
    counter = &handled_.Add(
        {{"service", method.service}, {"method", method.name}, {"code", kCodeNames[code]}});
    method.handled[code].store(counter, std::memory_order_release);
  }
  return *counter;
}

grpc::experimental::Interceptor* RpcInterceptorFactory::CreateServerInterceptor(
    ServerRpcInfo* info) {
  const char* path = info->method() != nullptr ? info->method() : "";
  RpcMetrics::Method& method = metrics_.ForPath(path, info->type());
  return new RpcInterceptor(metrics_, method, access_log_);
}

}  // namespace livecommerce::common
