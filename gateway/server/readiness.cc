#include "gateway/server/readiness.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <future>

#include "absl/strings/str_cat.h"
#include "services/common/logging.h"

namespace livecommerce::gateway {
namespace {

// grpc.health.v1.HealthCheckRequest{service: ""} is the empty message; the answer's field 1
// (status) is SERVING when it reads 1. Encoded by hand: the health protos are not installed.
std::string CheckHealth(std::shared_ptr<grpc::Channel> channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  grpc::Slice empty;
  grpc::ByteBuffer request(&empty, 1);  // an empty message (a default ByteBuffer is no message)
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(status); });
  grpc::Status status = done.get_future().get();
  if (!status.ok()) {
    return "UNREACHABLE";
  }
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) {
    return "UNKNOWN";
  }
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  if (bytes.size() == 2 && bytes[0] == 0x08) {
    return bytes[1] == 1 ? "SERVING" : "NOT_SERVING";
  }
  return "NOT_SERVING";
}

}  // namespace

Readiness::Readiness(RpcClient& rpc, absl::Duration period,
                     std::map<std::string, std::function<bool()>> extra)
    : rpc_(rpc), extra_(std::move(extra)) {
  task_ = std::make_unique<common::PeriodicTask>(period, [this] { CheckNow(); });
}

Readiness::~Readiness() { Stop(); }

void Readiness::Start() { task_->Start(); }
void Readiness::Stop() { task_->Stop(); }

void Readiness::CheckNow() {
  std::map<std::string, std::string> results;
  bool ready = true;
  for (const auto& [service, address] : rpc_.addresses()) {
    std::string state = CheckHealth(rpc_.ChannelFor(service));
    ready = ready && state == "SERVING";
    results[service] = state;
  }
  for (const auto& [name, check] : extra_) {
    bool ok = check();
    ready = ready && ok;
    results[name] = ok ? "SERVING" : "UNREACHABLE";
  }
  std::lock_guard<std::mutex> lock(mu_);
  results_ = std::move(results);
  ready_ = ready;
}

bool Readiness::ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ready_ && !draining_;
}

std::string Readiness::Json() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out = absl::StrCat("{\"ready\":", ready_ && !draining_ ? "true" : "false",
                                 ",\"draining\":", draining_ ? "true" : "false", ",\"checks\":{");
  bool first = true;
  for (const auto& [name, state] : results_) {
    absl::StrAppend(&out, first ? "" : ",", "\"", common::JsonEscape(name), "\":\"", state, "\"");
    first = false;
  }
  absl::StrAppend(&out, "}}");
  return out;
}

}  // namespace livecommerce::gateway
