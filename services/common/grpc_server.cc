#include "services/common/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <signal.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "services/common/config.h"
#include "services/common/log_format.h"

namespace livecommerce::common {

absl::StatusOr<ServerOptions> LoadServerOptions(const std::string& service_env_prefix,
                                                int default_port) {
  ServerOptions options;
  options.address = EnvString(absl::StrCat("LC_", service_env_prefix, "_ADDR"),
                              absl::StrCat("127.0.0.1:", default_port));
  auto threads = EnvInt("LC_GRPC_MAX_THREADS", options.max_threads, 4, 4096);
  auto grace = EnvMillis("LC_SHUTDOWN_GRACE_MS", 10000, 0, 600000);
  if (!threads.ok()) return threads.status();
  if (!grace.ok()) return grace.status();
  options.max_threads = static_cast<int>(*threads);
  options.shutdown_grace = *grace;
  return options;
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
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.address));
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  return std::unique_ptr<GrpcServer>(
      new GrpcServer(std::move(server), port, options.shutdown_grace));
}

GrpcServer::~GrpcServer() { Shutdown(); }

void GrpcServer::Shutdown() {
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
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
