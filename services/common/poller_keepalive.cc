#include "services/common/poller_keepalive.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>

#include <chrono>

namespace livecommerce::common {

PollerKeepAlive::PollerKeepAlive(absl::Duration period) : period_(period) {
  // The default health service is a callback service: answering it is a callback too.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) return;  // without a server there is nothing to keep; never seen
  stub_ = std::make_unique<grpc::GenericStub>(server_->InProcessChannel(grpc::ChannelArguments()));
  thread_ = std::thread([this] { Run(); });
}

PollerKeepAlive::~PollerKeepAlive() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
}

void PollerKeepAlive::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (!in_flight_) {
      in_flight_ = true;
      lock.unlock();
      StartCall();
      lock.lock();
    }
    cv_.wait_for(lock, absl::ToChronoMilliseconds(period_), [this] { return stopping_; });
  }
  // The last call's callback uses this object: wait for it.
  cv_.wait(lock, [this] { return !in_flight_; });
}

void PollerKeepAlive::StartCall() {
  struct Call {
    grpc::ClientContext context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
  };
  auto* call = new Call();
  grpc::Slice empty;
  call->request = grpc::ByteBuffer(&empty, 1);  // HealthCheckRequest{}: the whole server
  call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  stub_->UnaryCall(&call->context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                   &call->request, &call->response, [this, call](const grpc::Status&) {
                     delete call;
                     completed_.fetch_add(1, std::memory_order_relaxed);
                     // Notified under the lock: once it is released the owner may be gone.
                     std::lock_guard<std::mutex> lock(mu_);
                     in_flight_ = false;
                     cv_.notify_all();
                   });
}

}  // namespace livecommerce::common
