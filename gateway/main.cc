// The gateway: wiring only.
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "gateway/auth/authenticator.h"
#include "gateway/auth/login_provider.h"
#include "gateway/auth/revocation.h"
#include "gateway/auth/session_token.h"
#include "gateway/http/metrics.h"
#include "gateway/http/openapi.h"
#include "gateway/routes.h"
#include "gateway/server/alert_hub.h"
#include "gateway/server/gateway.h"
#include "gateway/server/http_server.h"
#include "gateway/server/readiness.h"
#include "gateway/server/room_hub.h"
#include "gateway/server/rpc_client.h"
#include "gateway/server/socket_slots.h"
#include "services/common/config.h"
#include "services/common/grpc_server.h"
#include "services/common/log_format.h"
#include "services/common/logging.h"
#include "services/common/periodic_task.h"
#include "services/common/poller_keepalive.h"
#include "services/common/principal.h"
#include "services/common/redis_client.h"
#include "services/common/worker_pool.h"
#include "services/order/payment/beast_transport.h"

namespace {

using namespace livecommerce;

// code2Session over the order service's Beast HTTPS transport (TLS verified, one connection per
// exchange).
class BeastHttpGetter final : public gateway::HttpGetter {
 public:
  explicit BeastHttpGetter(std::unique_ptr<order::BeastWechatPayTransport> transport)
      : transport_(std::move(transport)) {}
  absl::StatusOr<Response> Get(const std::string& path_and_query) override {
    order::HttpRequest request;
    request.method = "GET";
    request.path = path_and_query;
    request.headers.emplace_back("Accept", "application/json");
    absl::StatusOr<order::HttpResponse> response = transport_->Send(request);
    if (!response.ok()) return response.status();
    return Response{response->status, std::move(response->body)};
  }

 private:
  std::unique_ptr<order::BeastWechatPayTransport> transport_;
};

std::string ReadSecretFile(const std::string& variable) {
  std::string path = common::EnvString(variable, "");
  if (path.empty()) {
    common::ExitWithConfigError(absl::InvalidArgumentError(variable + " must name a file"));
  }
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  std::string secret(absl::StripAsciiWhitespace(content.str()));
  if (!in || secret.empty()) {
    common::ExitWithConfigError(absl::InvalidArgumentError(variable + ": cannot read the file"));
  }
  return secret;
}

}  // namespace

int main() {
  // gRPC's mutexes are absl::Mutex; its deadlock graph bookkeeping costs on every lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  common::BlockTerminationSignals();
  if (absl::Status s = common::InitLogging("gateway"); !s.ok()) common::ExitWithConfigError(s);
  gateway::HttpServerOptions server_options = common::OrExit(gateway::LoadHttpServerOptions());
  gateway::GatewayOptions options = common::OrExit(gateway::LoadGatewayOptions());
  common::PrincipalCodec principals(common::OrExit(common::LoadInternalSecret()));
  gateway::SessionTokenCodec tokens(common::OrExit(gateway::LoadSessionSecret()));
  common::RedisConfig redis_config = common::OrExit(common::LoadRedisConfig());
  redis_config.pool_size = 2;  // the revocation list
  gateway::ChatHubOptions chat_options = common::OrExit(gateway::LoadChatHubOptions());
  gateway::RoomHubOptions hub_options;
  // One limit for the room and the alerts WebSockets together.
  gateway::SocketSlots socket_slots(static_cast<int>(
      common::OrExit(common::EnvInt("LC_GATEWAY_MAX_SOCKETS_PER_PRINCIPAL", 5, 1, 100000))));
  hub_options.presence_flush =
      common::OrExit(common::EnvMillis("LC_GATEWAY_PRESENCE_FLUSH_MS", 1000, 50, 60000));
  std::string provider = common::EnvString("LC_LOGIN_PROVIDER", "local");
  if (provider != "local" && provider != "wechat") {
    common::ExitWithConfigError(
        absl::InvalidArgumentError("LC_LOGIN_PROVIDER must be local or wechat"));
  }
  std::map<std::string, std::string> addresses = {
      {"livecommerce.v1.RoomService", common::EnvString("LC_ROOM_ADDR", "127.0.0.1:7101")},
      {"livecommerce.v1.CatalogService", common::EnvString("LC_CATALOG_ADDR", "127.0.0.1:7102")},
      {"livecommerce.v1.FlashSaleService", common::EnvString("LC_CATALOG_ADDR", "127.0.0.1:7102")},
      {"livecommerce.v1.OrderService", common::EnvString("LC_ORDER_ADDR", "127.0.0.1:7103")},
      {"livecommerce.v1.AttributionService",
       common::EnvString("LC_ATTRIBUTION_ADDR", "127.0.0.1:7104")},
      {"livecommerce.v1.ReportService", common::EnvString("LC_REPORT_ADDR", "127.0.0.1:7105")},
      {"livecommerce.v1.InteractionService",
       common::EnvString("LC_INTERACTION_ADDR", "127.0.0.1:7106")},
  };

  common::WorkerPool login_pool(4);
  std::unique_ptr<gateway::LoginProvider> login;
  std::unique_ptr<BeastHttpGetter> wechat_http;
  if (provider == "wechat") {
    gateway::WechatLoginOptions wechat;
    wechat.app_id = common::EnvString("LC_WECHAT_APPID", "");
    wechat.brand_id = common::EnvString("LC_WECHAT_BRAND", "");
    if (wechat.app_id.empty() || !common::IsValidId(wechat.brand_id)) {
      common::ExitWithConfigError(absl::InvalidArgumentError(
          "LC_LOGIN_PROVIDER=wechat needs LC_WECHAT_APPID and LC_WECHAT_BRAND"));
    }
    wechat.app_secret = ReadSecretFile("LC_WECHAT_APP_SECRET_FILE");
    order::BeastTransportOptions transport_options;
    transport_options.base_url =
        common::EnvString("LC_WECHAT_API_BASE_URL", "https://api.weixin.qq.com");
    transport_options.timeout = absl::Seconds(5);
    auto transport = order::BeastWechatPayTransport::Create(transport_options);
    if (!transport.ok()) {
      common::ExitWithConfigError(absl::InvalidArgumentError(
          std::string("LC_WECHAT_API_BASE_URL: ") + std::string(transport.status().message())));
    }
    wechat_http = std::make_unique<BeastHttpGetter>(*std::move(transport));
    login = std::make_unique<gateway::WechatLoginProvider>(wechat, *wechat_http, login_pool);
  } else {
    login = std::make_unique<gateway::LocalLoginProvider>();
  }

  auto redis = common::RedisPool::Create(redis_config);
  if (!redis.ok()) {
    spdlog::critical("{}", redis.status().message());
    return 1;
  }
  gateway::RedisRevocationStore revocation_store(**redis);
  gateway::RevocationList revoked(revocation_store);
  // The rooms' chat streams are read on connections of their own, beside the revocation list's.
  auto chat_redis = common::RedisPool::Create(redis_config);
  if (!chat_redis.ok()) {
    spdlog::critical("{}", chat_redis.status().message());
    return 1;
  }
  if (absl::Status s = revoked.Refresh(absl::Now()); !s.ok()) {
    spdlog::warn("revocation list unavailable: {}", s.message());
  }
  common::PeriodicTask revocation_refresh(absl::Seconds(1), [&revoked] {
    if (absl::Status s = revoked.Refresh(absl::Now()); !s.ok()) {
      spdlog::warn("revocation list unavailable: {}", s.message());
    }
  });
  gateway::Authenticator authenticator(tokens, principals, revoked);

  // gRPC's callback threads keep polling the services' answers (poller_keepalive.h): without it,
  // an answer can wait 100 ms about once a second.
  common::PollerKeepAlive poller_keepalive;
  // A service that stops keeping up gets no more than this many calls waiting from this gateway.
  gateway::RpcClient rpc(addresses, 2,
                         static_cast<int>(common::OrExit(
                             common::EnvInt("LC_GATEWAY_MAX_IN_FLIGHT", 1024, 1, 1000000))));
  gateway::Router router(gateway::ApiRoutes());
  std::vector<std::string> route_names;
  for (const gateway::Route& route : router.routes()) route_names.push_back(route.name);
  gateway::Metrics metrics(route_names);
  gateway::RoomHub hub(rpc.ChannelFor("livecommerce.v1.RoomService"), principals, socket_slots,
                       metrics, hub_options);
  gateway::AlertHub alerts(
      rpc.ChannelFor("livecommerce.v1.AttributionService"), socket_slots, metrics,
      [&revoked](const std::string& token_id) { return revoked.IsRevoked(token_id); }, {});
  gateway::ChatHub chat(**chat_redis, rpc, principals, metrics, chat_options);
  gateway::Readiness readiness(rpc, absl::Seconds(2),
                               {{"redis", [&revoked] { return revoked.healthy(); }}});
  // LC_GATEWAY_CONSOLE_DIR: the built console (console/dist), served under /console/.
  std::optional<gateway::StaticFiles> console;
  if (std::string dir = common::EnvString("LC_GATEWAY_CONSOLE_DIR", ""); !dir.empty()) {
    absl::StatusOr<gateway::StaticFiles> loaded = gateway::StaticFiles::Load(dir, "/console");
    if (!loaded.ok()) {
      spdlog::critical("LC_GATEWAY_CONSOLE_DIR: {}", loaded.status().message());
      return 1;
    }
    console = *std::move(loaded);
    spdlog::info("console: {} files under /console/", console->size());
  }
  gateway::Gateway gateway_api(
      gateway::Gateway::Deps{&router, &rpc, &authenticator, &tokens, login.get(), &socket_slots,
                             &readiness, &metrics, &principals, console ? &*console : nullptr},
      gateway::BuildOpenApi(router.routes()), options);
  gateway::HttpServer server(server_options, gateway_api, hub, alerts, metrics, &chat);

  readiness.CheckNow();
  readiness.Start();
  revocation_refresh.Start();
  hub.Start();
  alerts.Start();
  chat.Start();
  if (absl::Status s = server.Start(); !s.ok()) {
    spdlog::critical("{}", s.message());
    return 1;
  }
  spdlog::info("gateway service listening on port {} (login provider: {})", server.port(),
               provider);
  int signal_number = common::WaitForTerminationSignal();
  spdlog::info("signal {}: shutting down", signal_number);
  readiness.Drain();
  server.Stop();
  alerts.Stop();
  chat.Stop();
  hub.Stop();
  readiness.Stop();
  revocation_refresh.Stop();
  spdlog::info("gateway service stopped");
  return 0;
}
