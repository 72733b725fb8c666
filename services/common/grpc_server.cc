#include "services/common/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/exposer.h"
#include "services/common/config.h"
#include "services/common/log_format.h"
#include "services/common/metrics.h"
#include "services/common/poller_keepalive.h"

namespace livecommerce::common {

absl::StatusOr<ServerOptions> LoadServerOptions(const std::string& service_env_prefix,
                                                int default_port) {
  ServerOptions options;
  options.address = EnvString(absl::StrCat("LC_", service_env_prefix, "_ADDR"),
                              absl::StrCat("127.0.0.1:", default_port));
  auto threads = EnvInt("LC_GRPC_MAX_THREADS", options.max_threads, 4, 4096);
  auto grace = EnvMillis("LC_SHUTDOWN_GRACE_MS", 10000, 0, 600000);
  auto access_log = EnvBool("LC_ACCESS_LOG", true);
  if (!threads.ok()) return threads.status();
  if (!grace.ok()) return grace.status();
  if (!access_log.ok()) return access_log.status();
  options.max_threads = static_cast<int>(*threads);
  options.shutdown_grace = *grace;
  options.access_log = *access_log;
  options.metrics_best_effort = std::getenv("LC_METRICS_ADDR") == nullptr;
  options.metrics_address =
      EnvString("LC_METRICS_ADDR", absl::StrCat("127.0.0.1:", default_port + 2000));
  options.metrics = std::make_shared<ServiceMetrics>();
  return options;
}

void ExportPoolMetrics(const ServerOptions& options, RedisPool* redis, MysqlPool* mysql) {
  if (options.metrics != nullptr) options.metrics->ExportPools(redis, mysql);
}

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const ServerOptions& options, const std::vector<grpc::Service*>& services) {
  // Debian's abseil checks every mutex for lock-order cycles, which costs on each gRPC call.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.address, grpc::InsecureServerCredentials(), &port);
  grpc::ResourceQuota quota("lc-server");
  quota.SetMaxThreads(options.max_threads);
  builder.SetResourceQuota(quota);
  // Without this a second process could bind the same port and silently take half the calls.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  for (grpc::Service* service : services) {
    builder.RegisterService(service);
  }
  std::shared_ptr<ServiceMetrics> metrics =
      options.metrics != nullptr ? options.metrics : std::make_shared<ServiceMetrics>();
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(metrics->NewInterceptorFactory(options.access_log));
  builder.experimental().SetInterceptorCreators(std::move(creators));
  // The metrics port first: a port taken fails start-up before any call is accepted.
  std::unique_ptr<prometheus::Exposer> exposer;
  if (!options.metrics_address.empty()) {
    absl::StatusOr<std::unique_ptr<prometheus::Exposer>> exposed =
        metrics->Expose(options.metrics_address);
    if (exposed.ok()) {
      exposer = *std::move(exposed);
    } else if (options.metrics_best_effort) {
      spdlog::warn("{}; metrics not served (set LC_METRICS_ADDR to choose)",
                   exposed.status().message());
    } else {
      return exposed.status();
    }
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.address));
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(server), port, options.shutdown_grace,
                                                    std::move(metrics), std::move(exposer)));
}

GrpcServer::GrpcServer(std::unique_ptr<grpc::Server> server, int port, absl::Duration grace,
                       std::shared_ptr<ServiceMetrics> metrics,
                       std::unique_ptr<prometheus::Exposer> exposer)
    : metrics_(std::move(metrics)),
      exposer_(std::move(exposer)),
      server_(std::move(server)),
      keepalive_(std::make_unique<PollerKeepAlive>()),
      port_(port),
      grace_(grace) {}

GrpcServer::~GrpcServer() {
  Shutdown();
  server_.reset();
  // Before the metrics (members go in reverse order anyway) and before anything main() declared
  // ahead of the server that a gauge callback reads.
  exposer_.reset();
}

int GrpcServer::metrics_port() const {
  if (exposer_ == nullptr) return 0;
  std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void GrpcServer::Shutdown() {
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  keepalive_.reset();
  server_->GetHealthCheckService()->SetServingStatus(false);
  auto deadline = std::chrono::system_clock::now() +
                  std::chrono::milliseconds(absl::ToInt64Milliseconds(grace_));
  server_->Shutdown(deadline);
  server_->Wait();
}

void GrpcServer::Wait() { server_->Wait(); }

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int signal_number = 0;
  sigwait(&set, &signal_number);
  return signal_number;
}

}  // namespace livecommerce::common
