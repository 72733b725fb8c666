// The order service: wiring only.
#include "services/common/config.h"
#include "services/common/grpc_server.h"
#include "services/common/log_format.h"
#include "services/common/logging.h"
#include "services/common/principal.h"
#include "services/common/redis_client.h"
#include "services/order/api/order_service.h"
#include "services/order/store/redis_cart_store.h"

int main() {
  using namespace livecommerce;
  common::BlockTerminationSignals();
  if (absl::Status s = common::InitLogging("order"); !s.ok()) common::ExitWithConfigError(s);
  common::ServerOptions server_options = common::OrExit(common::LoadServerOptions("ORDER", 7103));
  common::RedisConfig redis_config = common::OrExit(common::LoadRedisConfig());
  absl::Duration cart_ttl = common::OrExit(
      common::EnvMillis("LC_CART_TTL_MS", 3 * 24 * 3600 * 1000LL, 60000, 90LL * 24 * 3600 * 1000));
  common::PrincipalCodec codec(common::OrExit(common::LoadInternalSecret()));

  auto redis = common::RedisPool::Create(redis_config);
  if (!redis.ok()) {
    spdlog::critical("{}", redis.status().message());
    return 1;
  }
  common::SystemClock clock;
  order::RedisCartStore carts(**redis, cart_ttl);
  if (absl::Status s = carts.LoadScripts(); !s.ok()) {
    spdlog::critical("cannot load cart scripts: {}", s.message());
    return 1;
  }
  order::OrderServiceImpl service(carts, clock, codec);
  auto server = common::GrpcServer::Start(server_options, {&service});
  if (!server.ok()) {
    spdlog::critical("{}", server.status().message());
    return 1;
  }
  spdlog::info("order service listening on port {}", (*server)->port());
  int signal_number = common::WaitForTerminationSignal();
  spdlog::info("signal {}: shutting down", signal_number);
  (*server)->Shutdown();
  spdlog::info("order service stopped");
  return 0;
}
