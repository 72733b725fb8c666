// The report service: wiring only.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "services/common/config.h"
#include "services/common/events.h"
#include "services/common/grpc_server.h"
#include "services/common/handler.h"
#include "services/common/log_format.h"
#include "services/common/logging.h"
#include "services/common/mysql_client.h"
#include "services/common/periodic_task.h"
#include "services/common/principal.h"
#include "services/common/service_client.h"
#include "services/report/api/report_service.h"
#include "services/report/clients/live_stats.h"
#include "services/report/store/report_store.h"

int main() {
  using namespace livecommerce;
  common::BlockTerminationSignals();
  if (absl::Status s = common::InitLogging("report"); !s.ok()) common::ExitWithConfigError(s);
  common::ServerOptions server_options = common::OrExit(common::LoadServerOptions("REPORT", 7105));
  common::MysqlConfig mysql_config = common::OrExit(common::LoadMysqlConfig());
  std::optional<common::MysqlConfig> replica_config =
      common::OrExit(common::LoadMysqlReplicaConfig(mysql_config));
  common::PrincipalCodec codec(common::OrExit(common::LoadInternalSecret()));
  absl::Duration consume_interval =
      common::OrExit(common::EnvMillis("LC_REPORT_INTERVAL_MS", 500, 10, 60000));
  // How long a paid order's sale waits for the attribution service's decision before it is put
  // under the associate the buyer carried into checkout.
  absl::Duration credit_wait =
      common::OrExit(common::EnvMillis("LC_REPORT_CREDIT_WAIT_MS", 60000, 0, 3600000));
  std::string room_addr = common::EnvString("LC_ROOM_ADDR", "127.0.0.1:7101");

  auto mysql = common::MysqlPool::Create(mysql_config);
  if (!mysql.ok()) {
    spdlog::critical("{}", mysql.status().message());
    return 1;
  }
  std::unique_ptr<common::MysqlPool> replica;
  if (replica_config.has_value()) {
    auto pool = common::MysqlPool::Create(*replica_config);
    if (!pool.ok()) {
      spdlog::critical("replica: {}", pool.status().message());
      return 1;
    }
    replica = *std::move(pool);
    spdlog::info("reports are read from the replica at {}:{}", replica_config->host,
                 replica_config->port);
  }
  common::SystemClock clock;
  report::MysqlReportStore store(**mysql, clock, replica.get(), credit_wait);
  report::GrpcLiveStats live(common::ServiceChannel(room_addr), codec);
  report::ReportServiceImpl service(store, live, clock, codec);
  // Sessions, paid orders, credits and refunds, comments and likes arrive as events (EventSink)
  // from the room, order, attribution and interaction services' relays.
  common::EventConsumer consumer(**mysql, "report_consumed_events", clock);
  store.Subscribe(consumer);
  common::HandlerFrame frame(codec, clock);
  common::EventSinkService sink(consumer, frame);
  // Paid orders the attribution service did not decide on in time go under the carried associate.
  common::PeriodicTask overdue(consume_interval, [&] {
    if (auto counted = store.CreditOverdue(2000); !counted.ok()) {
      spdlog::warn("report: credits overdue: {}", counted.status().message());
    }
  });
  common::ExportPoolMetrics(server_options, nullptr, mysql->get());
  auto server = common::GrpcServer::Start(server_options, {&service, &sink});
  if (!server.ok()) {
    spdlog::critical("{}", server.status().message());
    return 1;
  }
  overdue.Start();
  spdlog::info("report service listening on port {}", (*server)->port());
  int signal_number = common::WaitForTerminationSignal();
  spdlog::info("signal {}: shutting down", signal_number);
  overdue.Stop();
  (*server)->Shutdown();
  spdlog::info("report service stopped");
  return 0;
}
