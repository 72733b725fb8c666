// The interaction service: wiring only.
#include "services/common/config.h"
#include "services/common/events.h"
#include "services/common/grpc_server.h"
#include "services/common/http_client.h"
#include "services/common/log_format.h"
#include "services/common/logging.h"
#include "services/common/mysql_client.h"
#include "services/common/periodic_task.h"
#include "services/common/principal.h"
#include "services/common/redis_client.h"
#include "services/common/service_client.h"
#include "services/common/wechat/platform_client.h"
#include "services/interaction/api/interaction_service.h"
#include "services/interaction/clients/room_access.h"
#include "services/interaction/moderation/content_check.h"
#include "services/interaction/store/mysql_interaction_store.h"
#include "services/interaction/store/redis_live_store.h"

int main() {
  using namespace livecommerce;
  common::BlockTerminationSignals();
  if (absl::Status s = common::InitLogging("interaction"); !s.ok()) {
    common::ExitWithConfigError(s);
  }
  common::ServerOptions server_options =
      common::OrExit(common::LoadServerOptions("INTERACTION", 7106));
  interaction::InteractionOptions options = common::OrExit(interaction::LoadInteractionOptions());
  common::RedisConfig redis_config = common::OrExit(common::LoadRedisConfig());
  common::MysqlConfig mysql_config = common::OrExit(common::LoadMysqlConfig());
  common::PrincipalCodec codec(common::OrExit(common::LoadInternalSecret()));
  common::wechat::WechatPlatformConfig wechat_config =
      common::OrExit(common::wechat::LoadWechatPlatformConfig());

  auto redis = common::RedisPool::Create(redis_config);
  if (!redis.ok()) {
    spdlog::critical("{}", redis.status().message());
    return 1;
  }
  auto mysql = common::MysqlPool::Create(mysql_config);
  if (!mysql.ok()) {
    spdlog::critical("{}", mysql.status().message());
    return 1;
  }
  common::SystemClock clock;
  // Comments posted and like totals, for the report service, and comments for the attribution
  // service, which tells a client's associate of their questions (docs/EVENTS.md).
  std::unique_ptr<common::EventPublisher> events = common::OrExit(common::EventPublisher::Create(
      "interaction", {{"report", "127.0.0.1:7105"}, {"attribution", "127.0.0.1:7104"}}, **mysql,
      codec, clock));
  interaction::MysqlInteractionStore store(**mysql, &events->outbox());
  interaction::RedisLiveStore live(**redis);
  if (absl::Status s = live.LoadScripts(); !s.ok()) {
    spdlog::critical("cannot load interaction scripts: {}", s.message());
    return 1;
  }
  interaction::GrpcRoomAccessDirectory room_service(
      common::ServiceChannel(common::EnvString("LC_ROOM_ADDR", "127.0.0.1:7101")), codec,
      options.room_access_timeout);
  interaction::CachedRoomAccessDirectory rooms(room_service, interaction::kRoomAccessCacheTtl,
                                               interaction::kPublicViewerCacheTtl);

  // WeChat's content check for the brands whose mini-program is configured (LC_WECHAT_APPS).
  std::unique_ptr<common::BeastHttpFetcher> fetcher;
  std::unique_ptr<common::wechat::PlatformClient> wechat;
  std::unique_ptr<interaction::moderation::ContentChecker> checker =
      std::make_unique<interaction::moderation::NoContentChecker>();
  if (!wechat_config.apps_by_brand.empty()) {
    fetcher = common::OrExit(
        common::BeastHttpFetcher::Create(common::wechat::WechatFetcherOptions(wechat_config)));
    wechat = common::OrExit(
        common::wechat::PlatformClient::Create(wechat_config, fetcher.get(), &clock));
    checker = std::make_unique<interaction::moderation::WechatContentChecker>(*wechat);
  }

  interaction::InteractionServiceImpl service(store, live, rooms, *checker, clock, codec, options);
  common::PeriodicTask likes_flush(options.likes_flush_interval, [&service] {
    if (absl::StatusOr<int> n = service.FlushLikes(); !n.ok()) {
      spdlog::warn("likes flush: {}", n.status().message());
    }
  });

  common::ExportPoolMetrics(server_options, redis->get(), mysql->get());
  events->ExportMetrics(*server_options.metrics);
  auto server = common::GrpcServer::Start(server_options, {&service});
  if (!server.ok()) {
    spdlog::critical("{}", server.status().message());
    return 1;
  }
  likes_flush.Start();
  events->Start();
  spdlog::info("interaction service listening on port {}", (*server)->port());
  int signal_number = common::WaitForTerminationSignal();
  spdlog::info("signal {}: shutting down", signal_number);
  events->Stop();
  (*server)->Shutdown();
  likes_flush.Stop();
  if (absl::StatusOr<int> n = service.FlushLikes(); !n.ok()) {
    spdlog::warn("likes flush: {}", n.status().message());
  }
  spdlog::info("interaction service stopped");
  return 0;
}
