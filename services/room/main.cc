// The room service: wiring only.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "services/common/admission.h"
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
#include "services/room/api/room_service.h"
#include "services/room/jobs/peak_sampler.h"
#include "services/room/jobs/reminder_sender.h"
#include "services/room/store/caching_room_store.h"
#include "services/room/store/mysql_reservation_store.h"
#include "services/room/store/mysql_room_store.h"
#include "services/room/store/redis_presence_store.h"
#include "services/room/store/replay_store.h"
#include "services/room/store/stream_store.h"
#include "services/room/stream/provider_config.h"
#include "services/room/stream/room_streams.h"

int main() {
  using namespace livecommerce;
  common::BlockTerminationSignals();
  if (absl::Status s = common::InitLogging("room"); !s.ok()) common::ExitWithConfigError(s);
  common::ServerOptions server_options = common::OrExit(common::LoadServerOptions("ROOM", 7101));
  room::RoomServiceOptions options = common::OrExit(room::LoadRoomServiceOptions());
  common::RedisConfig redis_config = common::OrExit(common::LoadRedisConfig());
  common::MysqlConfig mysql_config = common::OrExit(common::LoadMysqlConfig());
  common::PrincipalCodec codec(common::OrExit(common::LoadInternalSecret()));
  common::wechat::WechatPlatformConfig wechat_config =
      common::OrExit(common::wechat::LoadWechatPlatformConfig());
  // Reminders of reservations (docs/RESERVATIONS.md): WeChat subscription messages when a
  // mini-program is configured, the sandbox sender otherwise.
  room::ReminderSettings reminders =
      common::OrExit(room::LoadReminderSettings(!wechat_config.apps_by_brand.empty()));
  options.reminder_lead = reminders.lead;
  options.reminder_templates = reminders.templates;

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
  // Sessions started and ended and replay views, for the report service (docs/EVENTS.md): written
  // with the change, delivered by the publisher's relay.
  std::unique_ptr<common::EventPublisher> events = common::OrExit(common::EventPublisher::Create(
      "room", {{"report", "127.0.0.1:7105"}}, **mysql, codec, clock));
  room::MysqlRoomStore rooms_of_record(**mysql, &events->outbox());
  // Rooms read by crowds of viewers are kept briefly (docs/RELIABILITY.md, "Read caches").
  room::CachingRoomStore rooms(
      rooms_of_record, common::OrExit(common::EnvMillis("LC_ROOM_CACHE_TTL_MS", 1000, 0, 60000)));
  // Heartbeats past what the store can serve within their bound (25 ms) are refused, not queued:
  // a heartbeat waits at most 15 ms for its Redis pipeline.
  room::RedisPresenceStore presence(
      **redis, options.presence_window,
      common::OrExit(common::LoadAdmissionOptions(absl::Milliseconds(15))));
  if (absl::Status s = presence.LoadScripts(); !s.ok()) {
    spdlog::critical("cannot load presence scripts: {}", s.message());
    return 1;
  }
  room::GrpcCatalogDirectory catalog(
      common::ServiceChannel(common::EnvString("LC_CATALOG_ADDR", "127.0.0.1:7102")), codec,
      absl::Seconds(2));
  // Joins and leaves are told to attribution (empty LC_ATTRIBUTION_ADDR: to nobody).
  std::string attribution_addr = common::EnvString("LC_ATTRIBUTION_ADDR", "127.0.0.1:7104");
  std::unique_ptr<room::GrpcViewerActivity> activity;
  // Associate ids in requests are checked with attribution (without it, every one is refused).
  std::unique_ptr<room::AssociateDirectory> associates =
      std::make_unique<room::NoAssociateDirectory>();
  if (!attribution_addr.empty()) {
    activity =
        std::make_unique<room::GrpcViewerActivity>(common::ServiceChannel(attribution_addr), codec);
    associates = std::make_unique<room::GrpcAssociateDirectory>(
        common::ServiceChannel(attribution_addr), codec, clock, absl::Seconds(2));
  }
  // The stream of each room, through the deployment's provider (docs/STREAMING.md).
  std::unique_ptr<room::stream::StreamProvider> provider =
      common::OrExit(room::stream::LoadStreamProvider());
  room::MysqlStreamStore stream_store(**mysql);
  room::RoomStreams streams(stream_store, rooms, *provider, clock,
                            common::OrExit(room::LoadStreamOptions()));
  room::MysqlReservationStore reservations(**mysql, &events->outbox());
  std::unique_ptr<common::BeastHttpFetcher> wechat_fetcher;
  std::unique_ptr<common::wechat::PlatformClient> wechat;
  std::unique_ptr<room::ReminderSender> reminder_sender;
  if (reminders.sender == "wechat") {
    wechat_fetcher = common::OrExit(
        common::BeastHttpFetcher::Create(common::wechat::WechatFetcherOptions(wechat_config)));
    wechat = common::OrExit(
        common::wechat::PlatformClient::Create(wechat_config, wechat_fetcher.get(), &clock));
    reminder_sender = std::make_unique<room::WechatReminderSender>(*wechat);
  } else {
    reminder_sender = std::make_unique<room::SandboxReminderSender>();
  }
  room::ReminderWorker reminder_worker(reservations, *reminder_sender, reminders.templates, clock,
                                       reminders.worker);
  spdlog::info("reminders: {} sender, lead {} min", reminders.sender,
               absl::ToInt64Minutes(reminders.lead));
  // Replays of ended sessions; a first replay view publishes ReplayViewed to the report.
  room::MysqlReplayStore replays(**mysql, &events->outbox());
  room::RoomServiceImpl service(rooms, presence, catalog, clock, codec, options, activity.get(),
                                associates.get(), &streams, &reservations, &replays);
  // Sessions whose push has not come back within the grace end by themselves.
  common::PeriodicTask stream_watchdog(absl::Seconds(1), [&service] {
    if (absl::StatusOr<int> n = service.EndAbandonedSessions(); !n.ok()) {
      spdlog::warn("stream watchdog: {}", n.status().message());
    }
  });
  room::PeakSampler sampler(rooms, presence, clock, absl::Seconds(1));

  common::ExportPoolMetrics(server_options, redis->get(), mysql->get());
  events->ExportMetrics(*server_options.metrics);
  reminder_worker.ExportMetrics(*server_options.metrics);
  auto server = common::GrpcServer::Start(server_options, {&service});
  if (!server.ok()) {
    spdlog::critical("{}", server.status().message());
    return 1;
  }
  sampler.Start();
  stream_watchdog.Start();
  reminder_worker.Start();
  events->Start();
  spdlog::info("room service listening on port {}", (*server)->port());
  int signal_number = common::WaitForTerminationSignal();
  spdlog::info("signal {}: shutting down", signal_number);
  events->Stop();
  reminder_worker.Stop();
  stream_watchdog.Stop();
  sampler.Stop();
  (*server)->Shutdown();
  spdlog::info("room service stopped");
  return 0;
}
