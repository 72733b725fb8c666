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
namespace prometheus {
class Exposer;
}

namespace livecommerce::common {

class MysqlPool;
class RedisPool;
class ServiceMetrics;

struct ServerOptions {
  std::string address = "127.0.0.1:0";  // port 0: pick a free port (tests)
  int max_threads = 256;
  int max_message_bytes = 4 * 1024 * 1024;
  absl::Duration shutdown_grace = absl::Seconds(10);
  // Where Prometheus scrapes the service's metrics (/metrics); empty: not served.
  std::string metrics_address;
  // When the address cannot be had: run without serving metrics (a warning) rather than fail.
  // For the local default, which several stacks on one machine (a dev stack, tests) may want.
  bool metrics_best_effort = false;
  // One info line per RPC (method, code, duration, request id).
  bool access_log = true;
  // The service's metrics, to which main() may add gauges before Start; Start makes one if null.
  std::shared_ptr<ServiceMetrics> metrics;
};

// LC_<SERVICE>_ADDR (default 127.0.0.1:<default_port>), LC_GRPC_MAX_THREADS, LC_SHUTDOWN_GRACE_MS,
// LC_METRICS_ADDR (default 127.0.0.1:<default_port + 2000>, so 7103 -> 9103, served best effort;
// a set address must be had; empty: off) and LC_ACCESS_LOG (default on). Makes the service's
// ServiceMetrics.
absl::StatusOr<ServerOptions> LoadServerOptions(const std::string& service_env_prefix,
                                                int default_port);

// Exports the pools' gauges with `options.metrics` (see ServiceMetrics::ExportPools); either
// pool may be null. The pools must outlive the server started with these options.
void ExportPoolMetrics(const ServerOptions& options, RedisPool* redis, MysqlPool* mysql);

// A started gRPC server with health checking (grpc.health.v1) and reflection, every RPC counted,
// timed and logged by ServiceMetrics' interceptor, and the metrics served on
// `options.metrics_address`. Owns no services: they must outlive it (and so must whatever the
// metrics' gauge callbacks read).
class PollerKeepAlive;

class GrpcServer final {
 public:
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const ServerOptions& options, const std::vector<grpc::Service*>& services);
  ~GrpcServer();

  int port() const { return port_; }
  ServiceMetrics& metrics() { return *metrics_; }
  // The metrics port, or 0 when they are not served.
  int metrics_port() const;
  // Marks the server NOT_SERVING, stops accepting calls and waits up to the grace period for calls
  // in flight (streams are cancelled at the deadline). Idempotent.
  void Shutdown();
  void Wait();

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port, absl::Duration grace,
             std::shared_ptr<ServiceMetrics> metrics, std::unique_ptr<prometheus::Exposer> exposer);
  std::shared_ptr<ServiceMetrics> metrics_;  // outlives the server, whose interceptor uses it
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::unique_ptr<grpc::Server> server_;
  // Keeps gRPC's callback threads polling this process's sockets (poller_keepalive.h).
  std::unique_ptr<PollerKeepAlive> keepalive_;
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
