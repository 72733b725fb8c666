// The attribution service: wiring only.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "services/attribution/api/alert_event_sink.h"
#include "services/attribution/api/attribution_service.h"
#include "services/attribution/clients/directories.h"
#include "services/attribution/store/mysql_attribution_store.h"
#include "services/common/config.h"
#include "services/common/events.h"
#include "services/common/grpc_server.h"
#include "services/common/http_client.h"
#include "services/common/log_format.h"
#include "services/common/logging.h"
#include "services/common/mysql_client.h"
#include "services/common/periodic_task.h"
#include "services/common/principal.h"
#include "services/common/service_client.h"
#include "services/common/wechat/platform_client.h"

int main() {
  using namespace livecommerce;
  common::BlockTerminationSignals();
  if (absl::Status s = common::InitLogging("attribution"); !s.ok()) {
    common::ExitWithConfigError(s);
  }
  common::ServerOptions server_options =
      common::OrExit(common::LoadServerOptions("ATTRIBUTION", 7104));
  attribution::AttributionServiceOptions options =
      common::OrExit(attribution::LoadAttributionServiceOptions());
  common::MysqlConfig mysql_config = common::OrExit(common::LoadMysqlConfig());
  common::PrincipalCodec codec(common::OrExit(common::LoadInternalSecret()));
  absl::Duration settle_every =
      common::OrExit(common::EnvMillis("LC_SETTLEMENT_INTERVAL_MS", 60000, 100, 24 * 3600 * 1000));
  int writers = static_cast<int>(common::OrExit(common::EnvInt("LC_LEDGER_WRITERS", 4, 1, 16)));
  int batch = static_cast<int>(common::OrExit(common::EnvInt("LC_LEDGER_BATCH", 128, 1, 512)));
  std::string room_addr = common::EnvString("LC_ROOM_ADDR", "127.0.0.1:7101");
  std::string catalog_addr = common::EnvString("LC_CATALOG_ADDR", "127.0.0.1:7102");
  common::wechat::WechatPlatformConfig wechat_config =
      common::OrExit(common::wechat::LoadWechatPlatformConfig());
  // The mini-program version share links' codes open (docs/API.md, GetShareLinkCode).
  std::string code_env = common::EnvString("LC_SHARE_CODE_ENV_VERSION", "release");
  if (code_env != "release" && code_env != "trial" && code_env != "develop") {
    common::ExitWithConfigError(
        absl::InvalidArgumentError("LC_SHARE_CODE_ENV_VERSION: must be release, trial or develop"));
  }

  auto mysql = common::MysqlPool::Create(mysql_config);
  if (!mysql.ok()) {
    spdlog::critical("{}", mysql.status().message());
    return 1;
  }
  common::SystemClock clock;
  // Credits decided, for the report service (docs/EVENTS.md): written with each paid order,
  // delivered by the publisher's relay.
  std::unique_ptr<common::EventPublisher> events = common::OrExit(common::EventPublisher::Create(
      "attribution", {{"report", "127.0.0.1:7105"}}, **mysql, codec, clock));
  attribution::MysqlAttributionStore store(**mysql, {writers, batch, &events->outbox()});
  attribution::GrpcDirectories directories(common::ServiceChannel(room_addr),
                                           common::ServiceChannel(catalog_addr), codec, clock,
                                           absl::Seconds(2), absl::Minutes(5));
  // Share links' codes: WeChat's for the brands whose mini-program is configured (LC_WECHAT_APPS),
  // plain QR codes otherwise.
  std::unique_ptr<common::BeastHttpFetcher> fetcher;
  std::unique_ptr<common::wechat::PlatformClient> wechat;
  std::unique_ptr<attribution::ShareCodeMaker> codes;
  if (!wechat_config.apps_by_brand.empty()) {
    fetcher = common::OrExit(
        common::BeastHttpFetcher::Create(common::wechat::WechatFetcherOptions(wechat_config)));
    wechat = common::OrExit(
        common::wechat::PlatformClient::Create(wechat_config, fetcher.get(), &clock));
    codes = std::make_unique<attribution::WechatShareCodeMaker>(*wechat, code_env);
  }
  attribution::AttributionServiceImpl service(store, directories, clock, codec, options,
                                              codes.get());
  // Clients' comments arrive as the interaction service's CommentPosted events (EventSink) and
  // become question alerts for their associates (docs/EVENTS.md).
  common::EventConsumer consumer(**mysql, "attribution_consumed_events", clock);
  common::HandlerFrame frame(codec, clock);
  attribution::AlertEventSink sink(consumer, frame, [&service] { service.NotifyAlerts(); });
  store.SubscribeInteractionEvents(consumer, [&sink] { sink.AlertRaised(); });
  // Settlement and unpaid-order alerts.
  common::PeriodicTask settlement(settle_every, [&] {
    if (auto r = service.SettleOnce(); !r.ok())
      spdlog::warn("settlement: {}", r.status().message());
  });
  common::PeriodicTask unpaid(absl::Seconds(30), [&] {
    if (auto r = service.AlertUnpaidOnce(); !r.ok()) {
      spdlog::warn("unpaid alerts: {}", r.status().message());
    }
  });
  common::ExportPoolMetrics(server_options, nullptr, mysql->get());
  events->ExportMetrics(*server_options.metrics);
  auto server = common::GrpcServer::Start(server_options, {&service, &sink});
  if (!server.ok()) {
    spdlog::critical("{}", server.status().message());
    return 1;
  }
  settlement.Start();
  unpaid.Start();
  events->Start();
  spdlog::info("attribution service listening on port {}", (*server)->port());
  int signal_number = common::WaitForTerminationSignal();
  spdlog::info("signal {}: shutting down", signal_number);
  events->Stop();
  unpaid.Stop();
  settlement.Stop();
  service.EndWatches();
  (*server)->Shutdown();
  spdlog::info("attribution service stopped");
  return 0;
}
