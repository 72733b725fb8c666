// The catalog service: products, room product lists and flash sales. Wiring only.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <algorithm>

#include "services/catalog/api/catalog_service.h"
#include "services/catalog/api/flash_sale_service.h"
#include "services/catalog/clients/room_directory.h"
#include "services/catalog/store/caching_product_store.h"
#include "services/catalog/store/mysql_flash_sale_store.h"
#include "services/catalog/store/mysql_inventory_store.h"
#include "services/catalog/store/mysql_product_store.h"
#include "services/catalog/store/redis_flash_stock_store.h"
#include "services/common/admission.h"
#include "services/common/config.h"
#include "services/common/grpc_server.h"
#include "services/common/log_format.h"
#include "services/common/logging.h"
#include "services/common/mysql_client.h"
#include "services/common/periodic_task.h"
#include "services/common/principal.h"
#include "services/common/redis_client.h"
#include "services/common/service_client.h"

int main() {
  using namespace livecommerce;
  common::BlockTerminationSignals();
  if (absl::Status s = common::InitLogging("catalog"); !s.ok()) common::ExitWithConfigError(s);
  common::ServerOptions server_options = common::OrExit(common::LoadServerOptions("CATALOG", 7102));
  catalog::FlashSaleOptions flash_options = common::OrExit(catalog::LoadFlashSaleOptions());
  common::RedisConfig redis_config = common::OrExit(common::LoadRedisConfig());
  common::MysqlConfig mysql_config = common::OrExit(common::LoadMysqlConfig());
  // Enough connections for the reservation writers to commit in groups.
  mysql_config.pool_size = std::max(mysql_config.pool_size, flash_options.record_threads);
  common::PrincipalCodec codec(common::OrExit(common::LoadInternalSecret()));
  std::string room_addr = common::EnvString("LC_ROOM_ADDR", "127.0.0.1:7101");

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
  catalog::MysqlProductStore products_of_record(**mysql);
  // Room product lists read by crowds of viewers are kept briefly (docs/RELIABILITY.md, "Read
  // caches").
  catalog::CachingProductStore products(
      products_of_record,
      common::OrExit(common::EnvMillis("LC_ROOM_CACHE_TTL_MS", 1000, 0, 60000)));
  catalog::MysqlInventoryStore inventory(**mysql);
  catalog::MysqlFlashSaleStore sales(**mysql);
  // A storm past what the store can serve within the flash bound (30 ms) is refused, not queued:
  // a reserve waits at most 20 ms for its Redis pipeline.
  catalog::RedisFlashStockStore stock(
      **redis, common::OrExit(common::LoadAdmissionOptions(absl::Milliseconds(20))));
  if (absl::Status s = stock.LoadScripts(); !s.ok()) {
    spdlog::critical("cannot load flash stock scripts: {}", s.message());
    return 1;
  }
  catalog::GrpcRoomDirectory rooms(common::ServiceChannel(room_addr), codec, absl::Seconds(2));
  catalog::RebuildQueue rebuilds;
  catalog::CatalogServiceImpl catalog_service(products, inventory, rooms, clock, codec);
  catalog::FlashSaleServiceImpl flash_service(sales, stock, products, inventory, rooms, rebuilds,
                                              clock, codec, flash_options);
  // Expired reservations and holds give their units back; lost live stock is rebuilt.
  common::PeriodicTask sweeper(absl::Milliseconds(500), [&] {
    absl::StatusOr<int> swept = flash_service.SweepOnce();
    if (!swept.ok()) {
      spdlog::warn("flash stock sweep: {}", swept.status().message());
    }
    absl::StatusOr<int> expired = inventory.ExpireDue(clock.Now(), 500);
    if (!expired.ok()) {
      spdlog::warn("inventory sweep: {}", expired.status().message());
    }
  });

  common::ExportPoolMetrics(server_options, redis->get(), mysql->get());
  auto server = common::GrpcServer::Start(server_options, {&catalog_service, &flash_service});
  if (!server.ok()) {
    spdlog::critical("{}", server.status().message());
    return 1;
  }
  sweeper.Start();
  spdlog::info("catalog service listening on port {}", (*server)->port());
  int signal_number = common::WaitForTerminationSignal();
  spdlog::info("signal {}: shutting down", signal_number);
  sweeper.Stop();
  (*server)->Shutdown();
  spdlog::info("catalog service stopped");
  return 0;
}
