#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"

namespace grpc {
class Service;
}

namespace livecommerce::common {

struct ServerOptions {
  std::string address = "127.0.0.1:0";  // port 0: pick a free port (tests)
  int max_threads = 256;
  int max_message_bytes = 4 * 1024 * 1024;
  absl::Duration shutdown_grace = absl::Seconds(10);
};

// LC_<SERVICE>_ADDR (default 127.0.0.1:<default_port>), LC_GRPC_MAX_THREADS, LC_SHUTDOWN_GRACE_MS.
absl::StatusOr<ServerOptions> LoadServerOptions(const std::string& service_env_prefix,
                                                int default_port);

// A started gRPC server with health checking (grpc.health.v1) and reflection. Owns no services:
// they must outlive it.
class GrpcServer final {
 public:
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const ServerOptions& options, const std::vector<grpc::Service*>& services);
  ~GrpcServer();

  int port() const { return port_; }
  // Marks the server NOT_SERVING, stops accepting calls and waits up to the grace period for calls
  // in flight (streams are cancelled at the deadline). Idempotent.
  void Shutdown();
  void Wait();

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port, absl::Duration grace)
      : server_(std::move(server)), port_(port), grace_(grace) {}
  std::unique_ptr<grpc::Server> server_;
  int port_;
  absl::Duration grace_;
  bool shut_down_ = false;
};

// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts afterwards. Call first
// thing in main(), before any thread exists.
void BlockTerminationSignals();
// Waits for SIGINT or SIGTERM (blocked beforehand with BlockTerminationSignals). Returns its
// number.
int WaitForTerminationSignal();

}  // namespace livecommerce::common
