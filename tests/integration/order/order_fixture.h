// The order service over real gRPC with real room, catalog, flash-sale, attribution and report
// services beside it, against the Redis and MariaDB that scripts/test starts; WeChat Pay
// notifications built to the published format with the test keys.
#pragma once

#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <latch>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "livecommerce/v1/catalog.grpc.pb.h"
#include "livecommerce/v1/flash.grpc.pb.h"
#include "livecommerce/v1/order.grpc.pb.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/attribution/api/attribution_service.h"
#include "services/attribution/clients/directories.h"
#include "services/attribution/store/mysql_attribution_store.h"
#include "services/catalog/api/catalog_service.h"
#include "services/catalog/api/flash_sale_service.h"
#include "services/catalog/clients/room_directory.h"
#include "services/catalog/store/mysql_flash_sale_store.h"
#include "services/catalog/store/mysql_inventory_store.h"
#include "services/catalog/store/mysql_product_store.h"
#include "services/catalog/store/redis_flash_stock_store.h"
#include "services/common/clock.h"
#include "services/common/crypto.h"
#include "services/common/events.h"
#include "services/common/grpc_server.h"
#include "services/common/handler.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "services/order/api/order_service.h"
#include "services/order/clients/attribution_client.h"
#include "services/order/clients/stock_client.h"
#include "services/order/jobs/checkout_recovery.h"
#include "services/order/jobs/order_expiry.h"
#include "services/order/jobs/outbox_relay.h"
#include "services/order/payment/payment_gateway.h"
#include "services/order/payment/wechat_pay.h"
#include "services/order/payment/wechat_pay_client.h"
#include "services/order/store/mysql_order_store.h"
#include "services/order/store/redis_cart_store.h"
#include "services/report/api/report_service.h"
#include "services/report/clients/live_stats.h"
#include "services/report/store/report_store.h"
#include "services/room/api/room_service.h"
#include "services/room/clients/viewer_activity.h"
#include "services/room/store/mysql_room_store.h"
#include "services/room/store/redis_presence_store.h"
#include "tests/support/fake_catalog_directory.h"
#include "tests/support/test_env.h"
#include "tests/unit/order/payment/test_config.h"

namespace livecommerce::order {

using common::Principal;
using common::Role;

constexpr char kBrand[] = "maison";

inline absl::Time StartTime() { return absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())); }

// WeChat Pay's API as the tests need it: answers a JSAPI prepay with a prepay id, signed with the
// platform key as WeChat Pay signs its answers; or fails when told to.
class FakeWechatTransport final : public WechatPayTransport {
 public:
  explicit FakeWechatTransport(const common::Clock& clock) : clock_(clock) {}
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    if (fail_) return absl::UnavailableError("wechat pay unreachable");
    HttpResponse response;
    response.status = 200;
    if (absl::StrContains(request.path, "/refund/")) {
      nlohmann::json asked = nlohmann::json::parse(request.body);
      refunds_.push_back(asked);
      response.body = nlohmann::json{{"refund_id", "50000000382019052709732678859"},
                                     {"out_refund_no", asked["out_refund_no"]},
                                     {"out_trade_no", asked["out_trade_no"]},
                                     {"status", "PROCESSING"},
                                     {"amount", asked["amount"]}}
                          .dump();
    } else {
      response.body = nlohmann::json{{"prepay_id", "wx26112221580621e9b071c00d9e093b0000"}}.dump();
    }
    std::string timestamp = absl::StrCat(absl::ToUnixSeconds(clock_.Now()));
    std::string nonce = "fake-nonce-1";
    response.headers = {{"Wechatpay-Timestamp", timestamp},
                        {"Wechatpay-Nonce", nonce},
                        {"Wechatpay-Serial", testing::kPlatformSerial},
                        {"Wechatpay-Signature", SignNotification(testing::PlatformKey().private_pem,
                                                                 timestamp, nonce, response.body)
                                                    .value()}};
    ++calls_;
    return response;
  }
  void set_fail(bool fail) { fail_ = fail; }
  int calls() const { return calls_; }
  // The refund requests received (called from one thread at a time in these tests).
  std::vector<nlohmann::json> refunds_;

 private:
  const common::Clock& clock_;
  std::atomic<bool> fail_{false};
  std::atomic<int> calls_{0};
};

// The room service's viewer activity, pointed at the attribution service once that is started
// (it needs the room service's address first); until then joins and leaves go nowhere.
class LateViewerActivity final : public room::ViewerActivity {
 public:
  void Joined(const std::string& brand, const std::string& viewer, int64_t room_id,
              int64_t session_id, const std::optional<room::InviteGrant>& invite) override {
    if (target != nullptr) target->Joined(brand, viewer, room_id, session_id, invite);
  }
  void Left(const std::string& brand, const std::string& viewer, int64_t room_id,
            int64_t session_id) override {
    if (target != nullptr) target->Left(brand, viewer, room_id, session_id);
  }
  room::ViewerActivity* target = nullptr;
};

class OrderServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = livecommerce::testing::ConnectTestRedis();
    mysql_ = livecommerce::testing::ConnectTestMysql({"report_funnel_viewers",
                                                      "report_session_funnel",
                                                      "client_presence",
                                                      "unpaid_order_watch",
                                                      "associate_alerts",
                                                      "commission_entries",
                                                      "attributed_refunds",
                                                      "attributed_orders",
                                                      "commission_rule_lines",
                                                      "commission_rules",
                                                      "client_binding_locks",
                                                      "client_bindings",
                                                      "touches",
                                                      "share_links",
                                                      "associates",
                                                      "attribution_stores",
                                                      "order_outbox",
                                                      "payment_incidents",
                                                      "refunds",
                                                      "payments",
                                                      "order_lines",
                                                      "orders",
                                                      "flash_reservations",
                                                      "flash_holds",
                                                      "flash_sales",
                                                      "sku_reservations",
                                                      "room_product_prices",
                                                      "room_products",
                                                      "skus",
                                                      "products",
                                                      "room_invites",
                                                      "room_sessions",
                                                      "rooms"});
    ASSERT_NE(redis_, nullptr);
    ASSERT_NE(mysql_, nullptr);
    room_store_ = std::make_unique<room::MysqlRoomStore>(*mysql_, &room_events_);
    presence_ = std::make_unique<room::RedisPresenceStore>(*redis_, absl::Seconds(30));
    ASSERT_TRUE(presence_->LoadScripts().ok());
    room_service_ = std::make_unique<room::RoomServiceImpl>(
        *room_store_, *presence_, fake_catalog_, clock_, codec_, room::RoomServiceOptions{},
        &late_activity_);
    room_server_ = *common::GrpcServer::Start(common::ServerOptions{}, {room_service_.get()});
    auto room_channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(room_server_->port()),
                                            grpc::InsecureChannelCredentials());
    room_stub_ = v1::RoomService::NewStub(room_channel);
    directory_ =
        std::make_unique<catalog::GrpcRoomDirectory>(room_channel, codec_, absl::Seconds(5));
    products_ = std::make_unique<catalog::MysqlProductStore>(*mysql_);
    inventory_ = std::make_unique<catalog::MysqlInventoryStore>(*mysql_);
    sales_ = std::make_unique<catalog::MysqlFlashSaleStore>(*mysql_);
    stock_store_ = std::make_unique<catalog::RedisFlashStockStore>(*redis_);
    ASSERT_TRUE(stock_store_->LoadScripts().ok());
    catalog_service_ = std::make_unique<catalog::CatalogServiceImpl>(*products_, *inventory_,
                                                                     *directory_, clock_, codec_);
    flash_service_ = std::make_unique<catalog::FlashSaleServiceImpl>(
        *sales_, *stock_store_, *products_, *inventory_, *directory_, rebuilds_, clock_, codec_,
        catalog::FlashSaleOptions{});
    catalog_server_ = *common::GrpcServer::Start(common::ServerOptions{},
                                                 {catalog_service_.get(), flash_service_.get()});
    auto catalog_channel = grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(catalog_server_->port()), grpc::InsecureChannelCredentials());
    catalog_stub_ = v1::CatalogService::NewStub(catalog_channel);
    flash_stub_ = v1::FlashSaleService::NewStub(catalog_channel);

    carts_ = std::make_unique<RedisCartStore>(*redis_, absl::Hours(72), clock_);
    ASSERT_TRUE(carts_->LoadScripts().ok());
    orders_ = std::make_unique<MysqlOrderStore>(*mysql_, &order_events_);
    stock_ = std::make_unique<GrpcStockClient>(catalog_channel, codec_, clock_, absl::Seconds(5));
    crypto_ =
        std::make_unique<WechatPayCrypto>(WechatPayCrypto::Create(testing::TestConfig()).value());
    wechat_client_ = std::make_unique<WechatPayClient>(crypto_.get(), &transport_, &clock_);
    wechat_gateway_ = std::make_unique<WechatPayGateway>(*wechat_client_);
    service_ = std::make_unique<OrderServiceImpl>(*carts_, *orders_, *stock_, AllPayments(), clock_,
                                                  codec_, OrderOptions{});
    MakeJobs();
    server_ = *common::GrpcServer::Start(common::ServerOptions{}, {service_.get()});
    stub_ = v1::OrderService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (catalog_server_) catalog_server_->Shutdown();
    if (room_server_) room_server_->Shutdown();
  }

  // The background jobs as main.cc wires them (not started: the tests run their passes), over the
  // current store, WeChat Pay gateway and (when given) attribution.
  void MakeJobs(AttributionClient* attribution = nullptr) {
    recovery_.reset();
    expiry_.reset();
    relay_ = std::make_unique<OutboxRelay>(*orders_, *stock_, wechat_gateway_.get(), attribution,
                                           clock_);
    expiry_ = std::make_unique<OrderExpiry>(*orders_, *relay_, clock_);
    recovery_ = std::make_unique<CheckoutRecovery>(*orders_, *relay_, clock_,
                                                   OrderOptions{}.checkout_timeout);
  }
  // The sandbox and the test WeChat Pay merchant.
  Payments AllPayments() {
    Payments payments;
    payments.sandbox = &sandbox_;
    payments.wechat = wechat_gateway_.get();
    payments.wechat_crypto = crypto_.get();
    payments.wechat_mchid = testing::kMchid;
    payments.wechat_appid = testing::kAppid;
    return payments;
  }
  std::unique_ptr<grpc::ClientContext> As(const Principal& p) {
    auto c = std::make_unique<grpc::ClientContext>();
    common::AttachPrincipal(*c, codec_.Encode(p));
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return c;
  }
  Principal Viewer(const std::string& id) {
    return {Role::kViewer, kBrand, id, clock_.Now() + absl::Hours(2)};
  }
  Principal Ops() { return {Role::kOps, kBrand, "ops-1", clock_.Now() + absl::Hours(2)}; }

  v1::CartItem Item(const std::string& sku, int64_t quantity, const std::string& sale = "") {
    v1::CartItem item;
    item.set_sku_id(sku);
    item.set_sale_id(sale);
    item.set_quantity(quantity);
    item.mutable_room()->set_room_id("7");
    item.mutable_room()->set_session_id("70");
    item.mutable_attribution()->set_channel(v1::CHANNEL_SHARE_LINK);
    item.mutable_attribution()->set_associate_id("sa-1");
    return item;
  }
  grpc::Status Add(const std::string& viewer, const v1::CartItem& item, v1::Cart* out = nullptr) {
    v1::AddCartItemRequest r;
    *r.mutable_item() = item;
    v1::AddCartItemResponse response;
    grpc::Status s = stub_->AddCartItem(As(Viewer(viewer)).get(), r, &response);
    if (out != nullptr) *out = response.cart();
    return s;
  }
  v1::Cart Get(const std::string& viewer) {
    v1::GetCartResponse response;
    EXPECT_TRUE(stub_->GetCart(As(Viewer(viewer)).get(), v1::GetCartRequest(), &response).ok());
    return response.cart();
  }

  // A product with one SKU of `on_hand` units at 1,000.00 CNY; returns the SKU id.
  std::string CreateSku(int64_t on_hand) {
    v1::CreateProductRequest r;
    r.set_brand_id(kBrand);
    r.set_name("Silk scarf");
    r.mutable_list_price()->set_amount_fen(100000);
    r.mutable_list_price()->set_currency("CNY");
    v1::NewSku* sku = r.add_skus();
    sku->set_sku_code("SCARF-" + std::to_string(++made_));
    sku->set_on_hand(on_hand);
    v1::CreateProductResponse out;
    EXPECT_TRUE(catalog_stub_->CreateProduct(As(Ops()).get(), r, &out).ok());
    v1::ActivateProductRequest activate;
    activate.set_product_id(out.product().id());
    v1::ActivateProductResponse activated;
    EXPECT_TRUE(catalog_stub_->ActivateProduct(As(Ops()).get(), activate, &activated).ok());
    return out.product().skus(0).id();
  }
  v1::Sku Sku(const std::string& sku_id) {
    v1::GetSkuRequest r;
    r.set_sku_id(sku_id);
    v1::GetSkuResponse out;
    EXPECT_TRUE(catalog_stub_->GetSku(As(Ops()).get(), r, &out).ok());
    return out.sku();
  }
  std::string CreateSale(const std::string& sku_id, int64_t stock, int64_t price_fen) {
    v1::CreateRoomRequest room;
    room.set_brand_id(kBrand);
    room.set_title("Room");
    common::ToTimestamp(clock_.Now(), room.mutable_scheduled_start());
    room.set_visibility(v1::VISIBILITY_PUBLIC);
    room.add_audiences(v1::AUDIENCE_CLIENTS);
    room.set_objective(v1::OBJECTIVE_PURCHASE);
    room.set_format(v1::FORMAT_SALES_DRIVEN);
    v1::CreateRoomResponse created_room;
    EXPECT_TRUE(room_stub_->CreateRoom(As(Ops()).get(), room, &created_room).ok());
    v1::CreateFlashSaleRequest r;
    r.set_room_id(created_room.room().id());
    r.set_sku_id(sku_id);
    r.mutable_sale_price()->set_amount_fen(price_fen);
    r.mutable_sale_price()->set_currency("CNY");
    r.set_total_stock(stock);
    r.set_per_buyer_limit(static_cast<int32_t>(stock));
    common::ToTimestamp(clock_.Now(), r.mutable_starts_at());
    common::ToTimestamp(clock_.Now() + absl::Hours(1), r.mutable_ends_at());
    v1::CreateFlashSaleResponse out;
    grpc::Status s = flash_stub_->CreateFlashSale(As(Ops()).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.sale().id();
  }
  v1::CheckoutRequest CheckoutOf(const std::string& key,
                                 std::vector<std::tuple<std::string, std::string, int64_t>> lines) {
    v1::CheckoutRequest r;
    r.set_idempotency_key(key);
    for (auto& [sku, sale, quantity] : lines) {
      v1::CheckoutLine* l = r.add_lines();
      l->set_sku_id(sku);
      l->set_sale_id(sale);
      l->set_quantity(quantity);
    }
    v1::DeliveryAddress* a = r.mutable_address();
    a->set_recipient("Ms Wang");
    a->set_phone("13800000000");
    a->set_province("Shanghai");
    a->set_city("Shanghai");
    a->set_street("1266 West Nanjing Road");
    r.mutable_room()->set_room_id("7");
    r.mutable_room()->set_session_id("70");
    r.mutable_attribution()->set_channel(v1::CHANNEL_INVITE);
    r.mutable_attribution()->set_associate_id("sa-42");
    return r;
  }
  grpc::Status Checkout(const std::string& viewer, const v1::CheckoutRequest& r,
                        v1::Order* out = nullptr) {
    v1::CheckoutResponse response;
    grpc::Status s = stub_->Checkout(As(Viewer(viewer)).get(), r, &response);
    if (out != nullptr) *out = response.order();
    return s;
  }
  grpc::Status Pay(const std::string& viewer, const std::string& order_id,
                   v1::Order* out = nullptr) {
    v1::ConfirmSandboxPaymentRequest r;
    r.set_order_id(order_id);
    v1::ConfirmSandboxPaymentResponse response;
    grpc::Status s = stub_->ConfirmSandboxPayment(As(Viewer(viewer)).get(), r, &response);
    if (out != nullptr) *out = response.order();
    return s;
  }
  v1::Order WechatCheckout(const std::string& key, const std::string& sku, int64_t quantity,
                           const std::string& viewer = "o-alice",
                           const v1::RoomContext* room = nullptr) {
    v1::CheckoutRequest r = CheckoutOf(key, {{sku, "", quantity}});
    r.set_provider(v1::PAYMENT_PROVIDER_WECHAT_PAY);
    if (room != nullptr) {
      r.clear_attribution();
      *r.mutable_room() = *room;
    }
    v1::Order order;
    grpc::Status s = Checkout(viewer, r, &order);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return order;
  }
  // A notification passed on by the gateway.
  v1::HandlePaymentNotificationResponse Notify(const v1::HandlePaymentNotificationRequest& r) {
    v1::HandlePaymentNotificationResponse response;
    Principal gateway{Role::kService, kBrand, "gateway", clock_.Now() + absl::Hours(1)};
    grpc::Status s = stub_->HandlePaymentNotification(As(gateway).get(), r, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }
  v1::OrderStatus StatusOf(const std::string& order_id) {
    v1::GetOrderRequest get;
    get.set_order_id(order_id);
    v1::GetOrderResponse got;
    EXPECT_TRUE(stub_->GetOrder(As(Ops()).get(), get, &got).ok());
    return got.order().status();
  }
  int64_t Count(const std::string& sql) {
    auto n = mysql_->Run([&](common::MysqlConnection& c) -> absl::StatusOr<int64_t> {
      std::unique_ptr<sql::ResultSet> rs(c.Prepare(sql).executeQuery());
      rs->next();
      return rs->getInt64(1);
    });
    return n.ok() ? *n : -1;
  }
  // OrderPaid events published for the report (one per paid order, whatever is retried).
  int64_t PaidEvents() {
    return Count(
        "SELECT COUNT(*) FROM order_event_outbox WHERE subscriber = 'report' AND type = "
        "'livecommerce.events.v1.OrderPaid'");
  }

  common::FakeClock clock_{StartTime()};
  common::PrincipalCodec codec_{"integration-test-secret-0123456789"};
  int made_ = 0;
  livecommerce::testing::FakeCatalogDirectory fake_catalog_;
  LateViewerActivity late_activity_;
  std::unique_ptr<common::RedisPool> redis_;
  std::unique_ptr<common::MysqlPool> mysql_;
  // Events as main.cc publishes them (delivered where a test starts a report service).
  common::EventOutbox room_events_{"room", "room_event_outbox", {"report"}};
  common::EventOutbox order_events_{"order", "order_event_outbox", {"report"}};
  std::unique_ptr<room::MysqlRoomStore> room_store_;
  std::unique_ptr<room::RedisPresenceStore> presence_;
  std::unique_ptr<room::RoomServiceImpl> room_service_;
  std::unique_ptr<common::GrpcServer> room_server_;
  std::unique_ptr<v1::RoomService::Stub> room_stub_;
  std::unique_ptr<catalog::GrpcRoomDirectory> directory_;
  std::unique_ptr<catalog::MysqlProductStore> products_;
  std::unique_ptr<catalog::MysqlInventoryStore> inventory_;
  std::unique_ptr<catalog::MysqlFlashSaleStore> sales_;
  std::unique_ptr<catalog::RedisFlashStockStore> stock_store_;
  catalog::RebuildQueue rebuilds_;
  std::unique_ptr<catalog::CatalogServiceImpl> catalog_service_;
  std::unique_ptr<catalog::FlashSaleServiceImpl> flash_service_;
  std::unique_ptr<common::GrpcServer> catalog_server_;
  std::unique_ptr<v1::CatalogService::Stub> catalog_stub_;
  std::unique_ptr<v1::FlashSaleService::Stub> flash_stub_;
  std::unique_ptr<RedisCartStore> carts_;
  std::unique_ptr<MysqlOrderStore> orders_;
  std::unique_ptr<GrpcStockClient> stock_;
  SandboxGateway sandbox_;
  FakeWechatTransport transport_{clock_};
  std::unique_ptr<WechatPayCrypto> crypto_;
  std::unique_ptr<WechatPayClient> wechat_client_;
  std::unique_ptr<WechatPayGateway> wechat_gateway_;
  std::unique_ptr<OrderServiceImpl> service_;
  std::unique_ptr<OutboxRelay> relay_;
  std::unique_ptr<OrderExpiry> expiry_;
  std::unique_ptr<CheckoutRecovery> recovery_;
  std::unique_ptr<common::GrpcServer> server_;
  std::unique_ptr<v1::OrderService::Stub> stub_;
};

// A notification body sealed with the APIv3 key and signed with the platform key.
inline v1::HandlePaymentNotificationRequest Signed(const std::string& id,
                                                   const std::string& event_type,
                                                   const std::string& plaintext,
                                                   const std::string& associated, absl::Time now) {
  NotificationEnvelope envelope;
  envelope.id = id;
  envelope.create_time = "2026-11-26T16:00:06+08:00";
  envelope.event_type = event_type;
  envelope.resource_type = "encrypt-resource";
  envelope.summary = "event";
  envelope.resource = SealResource(testing::kApiV3Key, plaintext, associated).value();
  v1::HandlePaymentNotificationRequest request;
  request.set_provider(v1::PAYMENT_PROVIDER_WECHAT_PAY);
  request.set_body(NotificationBodyJson(envelope));
  std::string timestamp = absl::StrCat(absl::ToUnixSeconds(now));
  (*request.mutable_headers())["wechatpay-timestamp"] = timestamp;
  (*request.mutable_headers())["wechatpay-nonce"] = "n0nce" + id;
  (*request.mutable_headers())["wechatpay-serial"] = testing::kPlatformSerial;
  (*request.mutable_headers())["wechatpay-signature"] =
      SignNotification(testing::PlatformKey().private_pem, timestamp, "n0nce" + id, request.body())
          .value();
  return request;
}

// The resource of a successful payment, as WeChat Pay encrypts it.
inline nlohmann::json PaidResource(const v1::Order& order, int64_t total_fen,
                                   const std::string& transaction_id = "4200001") {
  return nlohmann::json{{"appid", testing::kAppid},
                        {"mchid", testing::kMchid},
                        {"out_trade_no", OutTradeNo(std::stoll(order.id()))},
                        {"transaction_id", transaction_id},
                        {"trade_type", "JSAPI"},
                        {"trade_state", "SUCCESS"},
                        {"trade_state_desc", "ok"},
                        {"success_time", "2026-11-26T16:00:05+08:00"},
                        {"payer", {{"openid", order.buyer_id()}}},
                        {"amount",
                         {{"total", total_fen},
                          {"payer_total", total_fen},
                          {"currency", "CNY"},
                          {"payer_currency", "CNY"}}}};
}

inline v1::HandlePaymentNotificationRequest Notification(
    const v1::Order& order, int64_t total_fen, absl::Time now,
    const std::string& transaction_id = "4200001") {
  return Signed("EV-" + order.id(), "TRANSACTION.SUCCESS",
                PaidResource(order, total_fen, transaction_id).dump(), "transaction", now);
}

// The request signed again, with its own timestamp and nonce, over the body it now has.
inline void Resign(v1::HandlePaymentNotificationRequest& request,
                   const std::string& private_pem = testing::PlatformKey().private_pem) {
  const auto& headers = request.headers();
  (*request.mutable_headers())["wechatpay-signature"] =
      SignNotification(private_pem, headers.at("wechatpay-timestamp"),
                       headers.at("wechatpay-nonce"), request.body())
          .value();
}

// A refund notification as WeChat Pay sends it when a refund is settled.
inline v1::HandlePaymentNotificationRequest RefundNotification(const v1::Order& order,
                                                               const std::string& refund_id,
                                                               int64_t refund_fen,
                                                               const std::string& outcome,
                                                               absl::Time now) {
  int64_t order_id = std::stoll(order.id());
  std::string plaintext = nlohmann::json{
      {"mchid", testing::kMchid},
      {"out_trade_no", OutTradeNo(order_id)},
      {"transaction_id", "4200001"},
      {"out_refund_no", OutRefundNo(order_id, refund_id)},
      {"refund_id", "50000000382019052709732678859"},
      {"refund_status", outcome},
      {"success_time", "2026-11-26T16:10:05+08:00"},
      {"amount",
       {{"total", order.total().amount_fen()},
        {"refund", refund_fen},
        {"payer_total", order.total().amount_fen()},
        {"payer_refund",
         refund_fen}}}}.dump();
  return Signed("EV-R-" + order.id() + refund_id, "REFUND." + outcome, plaintext, "refund", now);
}

// The whole chain across services: an associate's invite brings a viewer into a private session;
// the room service records the invite as the associate's touch; the viewer buys and pays; the
// order service's outbox tells attribution, which credits the associate and splits the
// commission; a refund claws it back. Replays credit nothing twice.
class AttributedOrderTest : public OrderServiceTest {
 protected:
  void SetUp() override {
    OrderServiceTest::SetUp();
    ASSERT_TRUE(mysql_
                    ->Run([](common::MysqlConnection& c) {
                      c.Execute("UPDATE settlement_clock SET settled_through = '1970-01-01'");
                      return absl::OkStatus();
                    })
                    .ok());
    attribution_store_ = std::make_unique<attribution::MysqlAttributionStore>(*mysql_);
    directories_ = std::make_unique<attribution::GrpcDirectories>(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(room_server_->port()),
                            grpc::InsecureChannelCredentials()),
        grpc::CreateChannel("127.0.0.1:" + std::to_string(catalog_server_->port()),
                            grpc::InsecureChannelCredentials()),
        codec_, clock_, absl::Seconds(5), absl::Seconds(1));
    attribution::AttributionServiceOptions options;
    attribution_service_ = std::make_unique<attribution::AttributionServiceImpl>(
        *attribution_store_, *directories_, clock_, codec_, options);
    attribution_server_ =
        *common::GrpcServer::Start(common::ServerOptions{}, {attribution_service_.get()});
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(attribution_server_->port()),
                                       grpc::InsecureChannelCredentials());
    attribution_stub_ = v1::AttributionService::NewStub(channel);
    viewer_activity_ = std::make_unique<room::GrpcViewerActivity>(channel, codec_);
    late_activity_.target = viewer_activity_.get();
    attribution_client_ =
        std::make_unique<GrpcAttributionClient>(channel, codec_, clock_, absl::Seconds(5));
    // The report service, hearing of cart adds (live figures from the real room service).
    report_store_ = std::make_unique<report::MysqlReportStore>(*mysql_, clock_);
    live_stats_ = std::make_unique<report::GrpcLiveStats>(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(room_server_->port()),
                            grpc::InsecureChannelCredentials()),
        codec_);
    report_service_ =
        std::make_unique<report::ReportServiceImpl>(*report_store_, *live_stats_, clock_, codec_);
    report_consumer_ =
        std::make_unique<common::EventConsumer>(*mysql_, "report_consumed_events", clock_);
    report_store_->Subscribe(*report_consumer_);
    report_sink_ = std::make_unique<common::EventSinkService>(*report_consumer_, report_frame_);
    report_server_ = *common::GrpcServer::Start(common::ServerOptions{},
                                                {report_service_.get(), report_sink_.get()});
    std::map<std::string, std::string> sinks = {
        {"report", "127.0.0.1:" + std::to_string(report_server_->port())}};
    room_relay_ =
        std::make_unique<common::EventRelay>(*mysql_, room_events_, sinks, codec_, clock_);
    order_relay_ =
        std::make_unique<common::EventRelay>(*mysql_, order_events_, sinks, codec_, clock_);
    funnel_ = std::make_unique<GrpcFunnelReporter>(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(report_server_->port()),
                            grpc::InsecureChannelCredentials()),
        codec_);
    // The order service again, now reporting to attribution and checking the ids it is given
    // with the services that own them, as main.cc wires it.
    references_ = std::make_unique<GrpcReferenceChecker>(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(room_server_->port()),
                            grpc::InsecureChannelCredentials()),
        channel,
        grpc::CreateChannel("127.0.0.1:" + std::to_string(catalog_server_->port()),
                            grpc::InsecureChannelCredentials()),
        codec_, clock_, absl::Seconds(5), absl::ZeroDuration());
    server_->Shutdown();
    service_ = std::make_unique<OrderServiceImpl>(*carts_, *orders_, *stock_, AllPayments(), clock_,
                                                  codec_, OrderOptions{}, attribution_client_.get(),
                                                  funnel_.get(), references_.get());
    MakeJobs(attribution_client_.get());
    server_ = *common::GrpcServer::Start(common::ServerOptions{}, {service_.get()});
    stub_ = v1::OrderService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }
  // Runs the room and order services' event relays once (the binaries run them every 200 ms).
  void DeliverEvents() {
    absl::StatusOr<int> rooms = room_relay_->DeliverDue();
    EXPECT_TRUE(rooms.ok()) << rooms.status();
    absl::StatusOr<int> orders = order_relay_->DeliverDue();
    EXPECT_TRUE(orders.ok()) << orders.status();
  }
  void TearDown() override {
    late_activity_.target = nullptr;
    if (report_server_) report_server_->Shutdown();
    if (attribution_server_) attribution_server_->Shutdown();
    OrderServiceTest::TearDown();
  }
  std::unique_ptr<grpc::ClientContext> AsRole(Role role, const std::string& subject) {
    return As(Principal{role, kBrand, subject, clock_.Now() + absl::Hours(2)});
  }
  struct Invited {
    std::string associate_id;
    std::string store_id;
    v1::RoomContext room;
  };
  // The brand's store with its associate Lin, a rule (associate 5 %, store 2 %), and a private
  // session that `viewer` joins through Lin's invite and so becomes Lin's client.
  Invited InviteClient(const std::string& viewer) {
    // The brand's store, its associate, and a rule: associate 5 %, store 2 %.
    v1::CreateStoreRequest store;
    store.set_name("Shanghai IFC");
    v1::CreateStoreResponse made_store;
    EXPECT_TRUE(
        attribution_stub_->CreateStore(AsRole(Role::kOps, "ops").get(), store, &made_store).ok());
    v1::CreateAssociateRequest associate;
    associate.set_store_id(made_store.store().id());
    associate.set_name("Lin");
    v1::CreateAssociateResponse lin;
    EXPECT_TRUE(
        attribution_stub_->CreateAssociate(AsRole(Role::kOps, "ops").get(), associate, &lin).ok());
    std::string lin_id = lin.associate().id();
    v1::CreateCommissionRuleRequest rule;
    rule.set_scope(v1::RULE_SCOPE_BRAND);
    common::ToTimestamp(clock_.Now() - absl::Hours(24), rule.mutable_effective_from());
    for (auto [recipient, bp] : std::vector<std::pair<v1::Recipient, int>>{
             {v1::RECIPIENT_ASSOCIATE, 500}, {v1::RECIPIENT_STORE, 200}}) {
      v1::SplitLine* line = rule.add_lines();
      line->set_recipient(recipient);
      line->set_basis_points(bp);
    }
    v1::CreateCommissionRuleResponse made_rule;
    EXPECT_TRUE(attribution_stub_
                    ->CreateCommissionRule(AsRole(Role::kFinance, "fin").get(), rule, &made_rule)
                    .ok());

    // A private session; Lin's invite brings the viewer in.
    v1::CreateRoomRequest room;
    room.set_brand_id(kBrand);
    room.set_title("Private preview");
    common::ToTimestamp(clock_.Now(), room.mutable_scheduled_start());
    room.set_visibility(v1::VISIBILITY_PRIVATE);
    room.add_audiences(v1::AUDIENCE_CLIENTS);
    room.set_objective(v1::OBJECTIVE_PURCHASE);
    room.set_format(v1::FORMAT_SALES_DRIVEN);
    v1::CreateRoomResponse made_room;
    EXPECT_TRUE(room_stub_->CreateRoom(As(Ops()).get(), room, &made_room).ok());
    std::string room_id = made_room.room().id();
    v1::IssueInvitesRequest issue;
    issue.set_room_id(room_id);
    issue.set_count(1);
    issue.set_associate_id(lin_id);
    v1::IssueInvitesResponse invites;
    EXPECT_TRUE(room_stub_->IssueInvites(As(Ops()).get(), issue, &invites).ok());
    v1::GoLiveRequest live;
    live.set_room_id(room_id);
    v1::GoLiveResponse lived;
    EXPECT_TRUE(room_stub_->GoLive(As(Ops()).get(), live, &lived).ok());
    DeliverEvents();  // the report learns of the session
    v1::JoinRoomRequest join;
    join.set_room_id(room_id);
    join.set_device_id("phone");
    join.set_invite_token(invites.invites(0).token());
    v1::JoinRoomResponse joined;
    EXPECT_TRUE(room_stub_->JoinRoom(As(Viewer(viewer)).get(), join, &joined).ok());
    EXPECT_EQ(joined.associate_id(), lin_id);
    // The touch reaches attribution in the background: Mei becomes Lin's client.
    bool bound = false;
    for (int i = 0; i < 100 && !bound; ++i) {
      v1::GetClientBindingRequest get;
      get.set_viewer_id(viewer);
      v1::GetClientBindingResponse binding;
      bound = attribution_stub_->GetClientBinding(AsRole(Role::kOps, "ops").get(), get, &binding)
                  .ok() &&
              binding.binding().associate_id() == lin_id;
      if (!bound) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(bound);

    Invited invited;
    invited.associate_id = lin_id;
    invited.store_id = made_store.store().id();
    invited.room.set_room_id(room_id);
    invited.room.set_session_id(joined.session_id());
    return invited;
  }
  v1::GetOrderAttributionResponse Attribution(const std::string& order_id) {
    v1::GetOrderAttributionRequest get;
    get.set_order_id(order_id);
    v1::GetOrderAttributionResponse out;
    grpc::Status s =
        attribution_stub_->GetOrderAttribution(AsRole(Role::kFinance, "fin").get(), get, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  std::unique_ptr<attribution::MysqlAttributionStore> attribution_store_;
  std::unique_ptr<attribution::GrpcDirectories> directories_;
  std::unique_ptr<attribution::AttributionServiceImpl> attribution_service_;
  std::unique_ptr<common::GrpcServer> attribution_server_;
  std::unique_ptr<v1::AttributionService::Stub> attribution_stub_;
  std::unique_ptr<room::GrpcViewerActivity> viewer_activity_;
  std::unique_ptr<GrpcAttributionClient> attribution_client_;
  std::unique_ptr<GrpcReferenceChecker> references_;
  std::unique_ptr<report::MysqlReportStore> report_store_;
  std::unique_ptr<report::GrpcLiveStats> live_stats_;
  std::unique_ptr<report::ReportServiceImpl> report_service_;
  std::unique_ptr<common::EventConsumer> report_consumer_;
  common::HandlerFrame report_frame_{codec_, clock_};
  std::unique_ptr<common::EventSinkService> report_sink_;
  std::unique_ptr<common::EventRelay> room_relay_;
  std::unique_ptr<common::EventRelay> order_relay_;
  std::unique_ptr<common::GrpcServer> report_server_;
  std::unique_ptr<GrpcFunnelReporter> funnel_;
};

}  // namespace livecommerce::order
