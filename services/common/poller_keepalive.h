#ifndef LIVECOMMERCE_SERVICES_COMMON_POLLER_KEEPALIVE_H_
#define LIVECOMMERCE_SERVICES_COMMON_POLLER_KEEPALIVE_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/time/time.h"

namespace livecommerce::common {

// Keeps gRPC 1.51 reading this process's sockets. With Debian's gRPC (the epoll1 poller, no
// background poller), callbacks (callback servers, callback clients) are run by two "nexting"
// threads, and those threads are also the ones that poll every socket of the process. After one
// second with no callback to run, each sleeps 100 ms (src/cpp/common/completion_queue_cc.cc);
// when both sleep at once, nothing is read: a synchronous server's calls and a client's answers
// wait up to 100 ms, about once a second, whatever the load (docs/RELIABILITY.md, "Polling
// stalls"). A health check on an in-process server of its own every `period` gives those
// threads a callback to run, so they never sleep together. One per process is enough;
// GrpcServer::Start makes one, a process without a server (the gateway) makes its own.
class PollerKeepAlive final {
 public:
  explicit PollerKeepAlive(absl::Duration period = absl::Milliseconds(200));
  ~PollerKeepAlive();
  PollerKeepAlive(const PollerKeepAlive&) = delete;
  PollerKeepAlive& operator=(const PollerKeepAlive&) = delete;

  // Health checks answered so far (each is a callback on each side).
  int64_t completed() const { return completed_.load(std::memory_order_relaxed); }

 private:
  void Run();
  void StartCall();

  const absl::Duration period_;
  std::unique_ptr<grpc::Server> server_;  // in-process only: no port
  std::unique_ptr<grpc::GenericStub> stub_;
  std::atomic<int64_t> completed_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;   // guarded by mu_
  bool in_flight_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace livecommerce::common

#endif  // LIVECOMMERCE_SERVICES_COMMON_POLLER_KEEPALIVE_H_
