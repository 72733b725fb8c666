// The order service: wiring only.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <vector>

#include "services/common/admission.h"
#include "services/common/config.h"
#include "services/common/events.h"
#include "services/common/grpc_server.h"
#include "services/common/log_format.h"
#include "services/common/logging.h"
#include "services/common/metrics.h"
#include "services/common/mysql_client.h"
#include "services/common/principal.h"
#include "services/common/redis_client.h"
#include "services/common/service_client.h"
#include "services/order/api/order_service.h"
#include "services/order/clients/attribution_client.h"
#include "services/order/clients/funnel_reporter.h"
#include "services/order/clients/stock_client.h"
#include "services/order/jobs/checkout_recovery.h"
#include "services/order/jobs/order_expiry.h"
#include "services/order/jobs/outbox_relay.h"
#include "services/order/payment/beast_transport.h"
#include "services/order/payment/payment_gateway.h"
#include "services/order/store/mysql_order_store.h"
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
  common::MysqlConfig mysql_config = common::OrExit(common::LoadMysqlConfig());
  order::OrderOptions options = common::OrExit(order::LoadOrderOptions());
  std::string catalog_addr = common::EnvString("LC_CATALOG_ADDR", "127.0.0.1:7102");
  // Asked whether a room or session a buyer names is the brand's and one they may see.
  std::string room_addr = common::EnvString("LC_ROOM_ADDR", "127.0.0.1:7101");
  // Where paid orders and refunds are reported (empty: nowhere; they wait in the outbox).
  std::string attribution_addr = common::EnvString("LC_ATTRIBUTION_ADDR", "127.0.0.1:7104");
  // Where cart adds made during a session are reported (empty: nowhere).
  std::string report_addr = common::EnvString("LC_REPORT_ADDR", "127.0.0.1:7105");
  absl::Duration outbox_interval =
      common::OrExit(common::EnvMillis("LC_OUTBOX_INTERVAL_MS", 100, 10, 60000));

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
  order::RedisCartStore carts(**redis, cart_ttl, clock);
  if (absl::Status s = carts.LoadScripts(); !s.ok()) {
    spdlog::critical("cannot load cart scripts: {}", s.message());
    return 1;
  }
  // Checkouts placed, orders paid and refunded, for the report service (docs/EVENTS.md): written
  // with the change, delivered by the publisher's relay.
  std::unique_ptr<common::EventPublisher> events = common::OrExit(common::EventPublisher::Create(
      "order", {{"report", "127.0.0.1:7105"}}, **mysql, codec, clock));
  // Checkouts the database cannot start within their bound are refused before they reserve.
  order::MysqlOrderStore orders(
      **mysql, &events->outbox(),
      common::OrExit(common::LoadAdmissionOptions(absl::Milliseconds(30))));
  std::vector<std::shared_ptr<grpc::ChannelInterface>> catalog_channels;
  for (int i = 0; i < 4; ++i) catalog_channels.push_back(common::ServiceChannel(catalog_addr, i));
  order::GrpcStockClient stock(catalog_channels, codec, clock, absl::Seconds(3));
  order::SandboxGateway sandbox;
  order::Payments payments;
  payments.sandbox = &sandbox;
  // WeChat Pay when it is the chosen provider (or configured at all): its keys come from files.
  std::optional<order::WechatPayCrypto> wechat_crypto;
  std::unique_ptr<order::BeastWechatPayTransport> wechat_transport;
  std::unique_ptr<order::WechatPayClient> wechat_client;
  std::unique_ptr<order::WechatPayGateway> wechat_gateway;
  if (options.default_provider == v1::PAYMENT_PROVIDER_WECHAT_PAY ||
      !common::EnvString("LC_WECHATPAY_MCHID", "").empty()) {
    order::WechatPayConfig config = common::OrExit(order::LoadWechatPayConfig());
    payments.wechat_mchid = config.mchid;
    payments.wechat_appid = config.appid;
    wechat_crypto.emplace(common::OrExit(order::WechatPayCrypto::Create(std::move(config))));
    wechat_transport = common::OrExit(
        order::BeastWechatPayTransport::Create(common::OrExit(order::LoadBeastTransportOptions())));
    wechat_client =
        std::make_unique<order::WechatPayClient>(&*wechat_crypto, wechat_transport.get(), &clock);
    wechat_gateway = std::make_unique<order::WechatPayGateway>(*wechat_client);
    payments.wechat = wechat_gateway.get();
    payments.wechat_crypto = &*wechat_crypto;
    spdlog::info("WeChat Pay configured");
  }
  std::unique_ptr<order::GrpcAttributionClient> attribution;
  if (!attribution_addr.empty()) {
    attribution = std::make_unique<order::GrpcAttributionClient>(
        common::ServiceChannel(attribution_addr), codec, clock, absl::Seconds(5));
  }
  std::unique_ptr<order::GrpcFunnelReporter> funnel;
  if (!report_addr.empty()) {
    funnel =
        std::make_unique<order::GrpcFunnelReporter>(common::ServiceChannel(report_addr), codec);
  }
  // The ids a cart item or checkout names are checked with the services that own them.
  order::GrpcReferenceChecker references(
      common::ServiceChannel(room_addr),
      attribution_addr.empty() ? nullptr : common::ServiceChannel(attribution_addr),
      catalog_channels.at(0), codec, clock, absl::Seconds(3));
  order::OrderServiceImpl service(carts, orders, stock, payments, clock, codec, options,
                                  attribution.get(), funnel.get(), &references);
  // Outbox delivery (often: paid orders' reservations are confirmed through it), expiry of unpaid
  // orders and recovery of interrupted checkouts.
  order::OutboxRelay relay(orders, stock, payments.wechat, attribution.get(), clock,
                           outbox_interval);
  order::OrderExpiry expiry(orders, relay, clock, absl::Milliseconds(500));
  order::CheckoutRecovery recovery(orders, relay, clock, options.checkout_timeout,
                                   absl::Milliseconds(500));
  events->ExportMetrics(*server_options.metrics);
  // Metrics: the pools, and the outbox lag (age of the oldest undelivered message; 0 when none).
  common::ExportPoolMetrics(server_options, redis->get(), mysql->get());
  server_options.metrics->AddCallbackGauge(
      "lc_outbox_lag_seconds", "Age of the oldest undelivered outbox message (0: none).", [&] {
        absl::StatusOr<std::optional<absl::Time>> oldest = orders.OldestPendingOutbox();
        if (!oldest.ok()) return std::nan("");
        return *oldest ? std::max(0.0, absl::ToDoubleSeconds(clock.Now() - **oldest)) : 0.0;
      });
  auto server = common::GrpcServer::Start(server_options, {&service});
  if (!server.ok()) {
    spdlog::critical("{}", server.status().message());
    return 1;
  }
  relay.Start();
  events->Start();
  expiry.Start();
  recovery.Start();
  spdlog::info("order service listening on port {}", (*server)->port());
  int signal_number = common::WaitForTerminationSignal();
  spdlog::info("signal {}: shutting down", signal_number);
  recovery.Stop();
  expiry.Stop();
  events->Stop();
  relay.Stop();
  (*server)->Shutdown();
  spdlog::info("order service stopped");
  return 0;
}
