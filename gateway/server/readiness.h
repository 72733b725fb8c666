#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "gateway/server/rpc_client.h"
#include "services/common/periodic_task.h"

namespace livecommerce::gateway {

// Asks each service the gateway needs for its gRPC health (grpc.health.v1.Health/Check) every
// `period`, on its own thread; /readyz answers from the last round without waiting.
class Readiness final {
 public:
  // `extra`: more named checks (Redis), run in the same round.
  Readiness(RpcClient& rpc, absl::Duration period,
            std::map<std::string, std::function<bool()>> extra);
  ~Readiness();
  void Start();
  void Stop();
  // Stops reporting ready (shutting down) whatever the services say.
  void Drain() { draining_ = true; }

  bool ready() const;
  // {"ready": true, "checks": {"livecommerce.v1.RoomService": "SERVING", ...}}
  std::string Json() const;
  // Runs one round now.
  void CheckNow();

 private:
  RpcClient& rpc_;
  std::map<std::string, std::function<bool()>> extra_;
  std::unique_ptr<common::PeriodicTask> task_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> results_;
  bool ready_ = false;
  std::atomic<bool> draining_{false};
};

}  // namespace livecommerce::gateway
