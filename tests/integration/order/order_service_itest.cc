// The order service over real gRPC against the real Redis and MariaDB that scripts/test starts,
// with real room, catalog and flash-sale services in the same test: carts, checkout, sandbox
// payment, expiry, recovery of interrupted checkouts, and who may read what.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <atomic>
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
#include "services/common/grpc_server.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "services/order/api/order_service.h"
#include "services/order/clients/attribution_client.h"
#include "services/order/clients/stock_client.h"
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
namespace {

using common::Principal;
using common::Role;

constexpr char kBrand[] = "maison";

absl::Time StartTime() { return absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())); }

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
                                                      "refunds",
                                                      "conversions",
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
    room_store_ = std::make_unique<room::MysqlRoomStore>(*mysql_);
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

    carts_ = std::make_unique<RedisCartStore>(*redis_, absl::Hours(72));
    ASSERT_TRUE(carts_->LoadScripts().ok());
    orders_ = std::make_unique<MysqlOrderStore>(*mysql_);
    stock_ = std::make_unique<GrpcStockClient>(catalog_channel, codec_, clock_, absl::Seconds(5));
    crypto_ =
        std::make_unique<WechatPayCrypto>(WechatPayCrypto::Create(testing::TestConfig()).value());
    wechat_client_ = std::make_unique<WechatPayClient>(crypto_.get(), &transport_, &clock_);
    wechat_gateway_ = std::make_unique<WechatPayGateway>(*wechat_client_);
    service_ = std::make_unique<OrderServiceImpl>(*carts_, *orders_, *stock_, AllPayments(), clock_,
                                                  codec_, OrderOptions{});
    server_ = *common::GrpcServer::Start(common::ServerOptions{}, {service_.get()});
    stub_ = v1::OrderService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (catalog_server_) catalog_server_->Shutdown();
    if (room_server_) room_server_->Shutdown();
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
  int64_t Count(const std::string& sql) {
    auto n = mysql_->Run([&](common::MysqlConnection& c) -> absl::StatusOr<int64_t> {
      std::unique_ptr<sql::ResultSet> rs(c.Prepare(sql).executeQuery());
      rs->next();
      return rs->getInt64(1);
    });
    return n.ok() ? *n : -1;
  }

  common::FakeClock clock_{StartTime()};
  common::PrincipalCodec codec_{"integration-test-secret-0123456789"};
  int made_ = 0;
  livecommerce::testing::FakeCatalogDirectory fake_catalog_;
  LateViewerActivity late_activity_;
  std::unique_ptr<common::RedisPool> redis_;
  std::unique_ptr<common::MysqlPool> mysql_;
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
  std::unique_ptr<common::GrpcServer> server_;
  std::unique_ptr<v1::OrderService::Stub> stub_;
};

TEST_F(OrderServiceTest, AddMergesLinesAndKeepsWhereTheyCameFrom) {
  ASSERT_TRUE(Add("alice", Item("11", 1)).ok());
  clock_.Advance(absl::Minutes(1));
  v1::CartItem again = Item("11", 2);
  again.mutable_attribution()->set_associate_id("sa-2");  // a later link does not take the line
  ASSERT_TRUE(Add("alice", again).ok());
  ASSERT_TRUE(Add("alice", Item("11", 1, "5")).ok());  // the flash-sale piece is its own line
  v1::Cart cart = Get("alice");
  ASSERT_EQ(cart.items_size(), 2);
  EXPECT_EQ(cart.items(0).sku_id(), "11");
  EXPECT_EQ(cart.items(0).quantity(), 3);
  EXPECT_EQ(cart.items(0).attribution().associate_id(), "sa-1");
  EXPECT_EQ(cart.items(0).room().session_id(), "70");
  EXPECT_EQ(cart.items(1).sale_id(), "5");
  EXPECT_TRUE(cart.has_expires_at());
  EXPECT_TRUE(Get("bob").items().empty());  // carts are per buyer
}

TEST_F(OrderServiceTest, UpdateRemoveAndClear) {
  ASSERT_TRUE(Add("alice", Item("11", 1)).ok());
  ASSERT_TRUE(Add("alice", Item("12", 1)).ok());
  v1::UpdateCartItemRequest update;
  update.set_sku_id("11");
  update.set_quantity(5);
  v1::UpdateCartItemResponse updated;
  ASSERT_TRUE(stub_->UpdateCartItem(As(Viewer("alice")).get(), update, &updated).ok());
  EXPECT_EQ(updated.cart().items(0).quantity(), 5);
  update.set_sku_id("99");
  EXPECT_EQ(stub_->UpdateCartItem(As(Viewer("alice")).get(), update, &updated).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::RemoveCartItemRequest remove;
  remove.set_sku_id("11");
  v1::RemoveCartItemResponse removed;
  ASSERT_TRUE(stub_->RemoveCartItem(As(Viewer("alice")).get(), remove, &removed).ok());
  ASSERT_EQ(removed.cart().items_size(), 1);
  v1::ClearCartResponse cleared;
  ASSERT_TRUE(stub_->ClearCart(As(Viewer("alice")).get(), v1::ClearCartRequest(), &cleared).ok());
  EXPECT_TRUE(Get("alice").items().empty());
}

TEST_F(OrderServiceTest, LimitsAndBadInputChangeNothing) {
  ASSERT_TRUE(Add("alice", Item("11", 98)).ok());
  grpc::Status too_many = Add("alice", Item("11", 2));
  EXPECT_EQ(too_many.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Get("alice").items(0).quantity(), 98);
  grpc::Status zero = Add("alice", Item("12", 0));
  EXPECT_EQ(zero.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(zero.error_message().rfind("quantity", 0), 0u);
  EXPECT_EQ(Add("alice", Item("abc", 1)).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  for (int i = 0; i < 49; ++i) ASSERT_TRUE(Add("alice", Item(std::to_string(100 + i), 1)).ok());
  EXPECT_EQ(Add("alice", Item("999", 1)).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Get("alice").items_size(), 50);
  // Carts are for viewers.
  v1::GetCartResponse response;
  Principal ops{Role::kOps, "maison", "ops", clock_.Now() + absl::Hours(1)};
  EXPECT_EQ(stub_->GetCart(As(ops).get(), v1::GetCartRequest(), &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(OrderServiceTest, ConcurrentAddsAreExact) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (!Add("alice", Item("11", 1)).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Get("alice").items(0).quantity(), 80);
}

// In production the sandbox is switched off (LC_PAYMENT_SANDBOX=0): a buyer can neither check out
// with it nor mark an order paid through it, and nothing changes.
TEST_F(OrderServiceTest, ASwitchedOffSandboxRefusesCheckoutAndPayment) {
  std::string sku = CreateSku(10);
  v1::Order order;
  ASSERT_TRUE(Checkout("alice", CheckoutOf("k1", {{sku, "", 1}}), &order).ok());
  OrderOptions production;
  production.default_provider = v1::PAYMENT_PROVIDER_WECHAT_PAY;
  production.sandbox_enabled = false;
  OrderServiceImpl service(*carts_, *orders_, *stock_, AllPayments(), clock_, codec_, production);
  auto server = *common::GrpcServer::Start(common::ServerOptions{}, {&service});
  auto stub = v1::OrderService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server->port()), grpc::InsecureChannelCredentials()));

  v1::CheckoutRequest sandbox_checkout = CheckoutOf("k2", {{sku, "", 1}});
  sandbox_checkout.set_provider(v1::PAYMENT_PROVIDER_SANDBOX);
  v1::CheckoutResponse refused;
  grpc::Status s = stub->Checkout(As(Viewer("bob")).get(), sandbox_checkout, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("provider"), std::string::npos) << s.error_message();
  v1::ConfirmSandboxPaymentRequest pay;
  pay.set_order_id(order.id());
  v1::ConfirmSandboxPaymentResponse paid;
  s = stub->ConfirmSandboxPayment(As(Viewer("alice")).get(), pay, &paid);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  server->Shutdown();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM payments"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM orders"), 1);
  EXPECT_EQ(Sku(sku).reserved(), 1);
}

TEST_F(OrderServiceTest, CheckoutThenPaymentConfirmsTheStockExactlyOnce) {
  std::string sku = CreateSku(10);
  v1::Order order;
  grpc::Status s = Checkout("alice", CheckoutOf("k1", {{sku, "", 2}}), &order);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_PENDING_PAYMENT);
  EXPECT_EQ(order.total().amount_fen(), 200000);
  EXPECT_EQ(order.lines(0).product_name(), "Silk scarf");
  EXPECT_FALSE(order.payment().nonce_str().empty());
  EXPECT_TRUE(order.has_expires_at());
  EXPECT_EQ(Sku(sku).reserved(), 2);
  v1::Order paid;
  ASSERT_TRUE(Pay("alice", order.id(), &paid).ok());
  EXPECT_EQ(paid.status(), v1::ORDER_STATUS_PAID);
  ASSERT_TRUE(Pay("alice", order.id(), &paid).ok());  // a replay pays nothing twice
  EXPECT_EQ(Count("SELECT COUNT(*) FROM payments"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM conversions WHERE amount_fen = 200000 AND units = 2 AND "
                  "associate_id = 'sa-42' AND session_id = 70"),
            1);
  ASSERT_TRUE(service_->DeliverOutboxOnce().ok());
  EXPECT_EQ(Sku(sku).reserved(), 0);
  EXPECT_EQ(Sku(sku).on_hand(), 8);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE topic = 'reservation.confirm' AND "
                  "status = 1"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE topic = 'order.paid'"), 1);
}

TEST_F(OrderServiceTest, ConcurrentCheckoutsAndPaymentsShareTransactionsYetStayExact) {
  // 24 buyers at once, each paying twice (a replay) as soon as the checkout answers, and another
  // viewer trying to pay every order: the writes are committed in groups, and each order is
  // still created, priced, paid and confirmed exactly once.
  std::string sku = CreateSku(100);
  constexpr int kBuyers = 24;
  std::vector<std::string> ids(kBuyers);
  std::atomic<int> failures{0};
  std::atomic<int> strangers_paid{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kBuyers; ++t) {
    threads.emplace_back([&, t] {
      std::string buyer = "buyer-" + std::to_string(t);
      v1::Order order;
      if (!Checkout(buyer, CheckoutOf("k", {{sku, "", 1 + t % 3}}), &order).ok()) {
        ++failures;
        return;
      }
      ids[static_cast<size_t>(t)] = order.id();
      if (Pay("mallory", order.id()).ok()) ++strangers_paid;
      v1::Order paid;
      for (int i = 0; i < 2; ++i) {
        if (!Pay(buyer, order.id(), &paid).ok() || paid.status() != v1::ORDER_STATUS_PAID ||
            paid.total().amount_fen() != (1 + t % 3) * 100000) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(strangers_paid.load(), 0);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), static_cast<size_t>(kBuyers));
  int64_t units = 0;
  for (int t = 0; t < kBuyers; ++t) units += 1 + t % 3;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM orders WHERE status = 2"), kBuyers);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM payments"), kBuyers);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM conversions"), kBuyers);
  EXPECT_EQ(Count("SELECT SUM(units) FROM conversions"), units);
  EXPECT_EQ(Count("SELECT SUM(line_total_fen) FROM order_lines"), units * 100000);
  EXPECT_EQ(Sku(sku).reserved(), units);
  ASSERT_TRUE(service_->DeliverOutboxOnce().ok());
  EXPECT_EQ(Sku(sku).reserved(), 0);
  EXPECT_EQ(Sku(sku).on_hand(), 100 - units);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE status = 0 AND topic <> 'order.paid'"),
            0);
}

TEST_F(OrderServiceTest, ConcurrentDuplicateCheckoutsMakeOneOrder) {
  std::string sku = CreateSku(10);
  std::vector<std::string> ids(8);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      v1::Order order;
      if (!Checkout("alice", CheckoutOf("same-key", {{sku, "", 3}}), &order).ok()) ++failures;
      ids[static_cast<size_t>(t)] = order.id();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM orders"), 1);
  EXPECT_EQ(Sku(sku).reserved(), 3);
  // The same key for another request is refused and changes nothing.
  grpc::Status other = Checkout("alice", CheckoutOf("same-key", {{sku, "", 4}}));
  EXPECT_EQ(other.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(other.error_message().rfind("idempotency_key", 0), 0u);
  EXPECT_EQ(Sku(sku).reserved(), 3);
}

TEST_F(OrderServiceTest, RefusedCheckoutReleasesWhatItTook) {
  std::string sku = CreateSku(10);
  std::string flash_sku = CreateSku(5);
  std::string sale = CreateSale(flash_sku, 1, 50000);
  ASSERT_TRUE(Checkout("bob", CheckoutOf("b1", {{flash_sku, sale, 1}})).ok());
  grpc::Status refused = Checkout("alice", CheckoutOf("a1", {{sku, "", 2}, {flash_sku, sale, 1}}));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(refused.error_message().rfind("lines[1]", 0), 0u) << refused.error_message();
  EXPECT_EQ(Sku(sku).reserved(), 0);  // the first line's units went back
  // The same key gets the same answer and reserves nothing.
  EXPECT_EQ(Checkout("alice", CheckoutOf("a1", {{sku, "", 2}, {flash_sku, sale, 1}})).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Sku(sku).reserved(), 0);
  v1::ListOrdersRequest list;
  list.set_brand_id(kBrand);
  v1::ListOrdersResponse listed;
  ASSERT_TRUE(stub_->ListOrders(As(Viewer("alice")).get(), list, &listed).ok());
  EXPECT_EQ(listed.orders_size(), 0);
}

TEST_F(OrderServiceTest, BadCheckoutsNameTheFieldAndReserveNothing) {
  std::string sku = CreateSku(10);
  v1::CheckoutRequest no_key = CheckoutOf("", {{sku, "", 1}});
  EXPECT_EQ(Checkout("alice", no_key).error_message().rfind("idempotency_key", 0), 0u);
  v1::CheckoutRequest zero = CheckoutOf("z", {{sku, "", 0}});
  EXPECT_EQ(Checkout("alice", zero).error_message().rfind("lines[0].quantity", 0), 0u);
  v1::CheckoutRequest no_address = CheckoutOf("n", {{sku, "", 1}});
  no_address.mutable_address()->clear_street();
  EXPECT_EQ(Checkout("alice", no_address).error_message().rfind("address.street", 0), 0u);
  EXPECT_EQ(Checkout("alice", CheckoutOf("u", {{"999999", "", 1}})).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM orders WHERE status NOT IN (0, 9)"), 0);
  EXPECT_EQ(Sku(sku).reserved(), 0);
}

TEST_F(OrderServiceTest, UnpaidOrdersExpireAndTheirStockReturns) {
  std::string sku = CreateSku(10);
  v1::Order order;
  ASSERT_TRUE(Checkout("alice", CheckoutOf("e1", {{sku, "", 4}}), &order).ok());
  EXPECT_EQ(Sku(sku).reserved(), 4);
  clock_.Advance(absl::Minutes(16));
  auto expired = service_->ExpireOnce();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 1);
  EXPECT_EQ(Sku(sku).reserved(), 0);
  EXPECT_EQ(Pay("alice", order.id()).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  v1::GetOrderRequest get;
  get.set_order_id(order.id());
  v1::GetOrderResponse got;
  ASSERT_TRUE(stub_->GetOrder(As(Viewer("alice")).get(), get, &got).ok());
  EXPECT_EQ(got.order().status(), v1::ORDER_STATUS_EXPIRED);
}

TEST_F(OrderServiceTest, AnInterruptedCheckoutLeaksNoStock) {
  std::string sku = CreateSku(10);
  // What a checkout that died after recording the order and reserving one line leaves behind.
  OrderRecord draft;
  draft.brand_id = kBrand;
  draft.buyer_id = "alice";
  draft.idempotency_key = "crashed";
  draft.request_hash = std::string(64, '0');
  draft.created_at = clock_.Now();
  draft.updated_at = clock_.Now();
  OrderLineRecord line;
  line.line_no = 1;
  line.sku_id = std::stoll(sku);
  line.quantity = 3;
  draft.lines.push_back(line);
  auto begun = orders_->BeginCheckout(draft);
  ASSERT_TRUE(begun.ok()) << begun.status();
  ASSERT_TRUE(stock_
                  ->Reserve(kBrand, begun->first.lines[0].reservation_id, line.sku_id, 0, "alice",
                            3, absl::Minutes(20))
                  .ok());
  EXPECT_EQ(Sku(sku).reserved(), 3);
  // A restarted service's recovery job finds it once the checkout has clearly died.
  EXPECT_EQ(*service_->RecoverOnce(), 0);
  clock_.Advance(absl::Seconds(61));
  EXPECT_EQ(*service_->RecoverOnce(), 1);
  EXPECT_EQ(Sku(sku).reserved(), 0);
  EXPECT_EQ(*service_->RecoverOnce(), 0);
}

TEST_F(OrderServiceTest, ViewersSeeOnlyTheirOwnOrders) {
  std::string sku = CreateSku(10);
  v1::Order order;
  ASSERT_TRUE(Checkout("alice", CheckoutOf("v1", {{sku, "", 1}}), &order).ok());
  v1::GetOrderRequest get;
  get.set_order_id(order.id());
  v1::GetOrderResponse got;
  EXPECT_EQ(stub_->GetOrder(As(Viewer("bob")).get(), get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Pay("bob", order.id()).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ListOrdersRequest list;
  list.set_brand_id(kBrand);
  list.set_buyer_id("alice");  // ignored for viewers
  v1::ListOrdersResponse listed;
  ASSERT_TRUE(stub_->ListOrders(As(Viewer("bob")).get(), list, &listed).ok());
  EXPECT_EQ(listed.orders_size(), 0);
  ASSERT_TRUE(stub_->GetOrder(As(Ops()).get(), get, &got).ok());
  EXPECT_EQ(got.order().address().recipient(), "Ms Wang");
  ASSERT_TRUE(stub_->ListOrders(As(Ops()).get(), list, &listed).ok());
  EXPECT_EQ(listed.orders_size(), 1);
  Principal other_ops{Role::kOps, "other-brand", "ops-9", clock_.Now() + absl::Hours(1)};
  EXPECT_EQ(stub_->GetOrder(As(other_ops).get(), get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(OrderServiceTest, CancelReleasesAndFulfilmentFollowsPayment) {
  std::string sku = CreateSku(10);
  v1::Order first, second;
  ASSERT_TRUE(Checkout("alice", CheckoutOf("c1", {{sku, "", 2}}), &first).ok());
  ASSERT_TRUE(Checkout("alice", CheckoutOf("c2", {{sku, "", 1}}), &second).ok());
  v1::CancelOrderRequest cancel;
  cancel.set_order_id(first.id());
  v1::CancelOrderResponse cancelled;
  ASSERT_TRUE(stub_->CancelOrder(As(Viewer("alice")).get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.order().status(), v1::ORDER_STATUS_CANCELLED);
  EXPECT_EQ(Sku(sku).reserved(), 1);
  v1::FulfillOrderRequest fulfil;
  fulfil.set_order_id(second.id());
  v1::FulfillOrderResponse fulfilled;
  EXPECT_EQ(stub_->FulfillOrder(As(Ops()).get(), fulfil, &fulfilled).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // not paid yet
  ASSERT_TRUE(Pay("alice", second.id()).ok());
  cancel.set_order_id(second.id());
  EXPECT_EQ(stub_->CancelOrder(As(Viewer("alice")).get(), cancel, &cancelled).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(stub_->FulfillOrder(As(Viewer("alice")).get(), fulfil, &fulfilled).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->FulfillOrder(As(Ops()).get(), fulfil, &fulfilled).ok());
  v1::CompleteOrderRequest complete;
  complete.set_order_id(second.id());
  v1::CompleteOrderResponse completed;
  ASSERT_TRUE(stub_->CompleteOrder(As(Ops()).get(), complete, &completed).ok());
  EXPECT_EQ(completed.order().status(), v1::ORDER_STATUS_COMPLETED);
}

TEST_F(OrderServiceTest, FlashPiecesFromTheCartPayTheSalePrice) {
  std::string sku = CreateSku(5);
  std::string sale = CreateSale(sku, 3, 60000);
  ASSERT_TRUE(Add("alice", Item(sku, 1, sale)).ok());
  v1::CheckoutRequest r = CheckoutOf("cart-1", {});
  r.set_from_cart(true);
  v1::Order order;
  grpc::Status s = Checkout("alice", r, &order);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(order.total().amount_fen(), 60000);
  EXPECT_TRUE(Get("alice").items().empty());  // the cart was used
  ASSERT_TRUE(Pay("alice", order.id()).ok());
  ASSERT_TRUE(service_->DeliverOutboxOnce().ok());
  v1::GetFlashSaleRequest get;
  get.set_sale_id(sale);
  v1::GetFlashSaleResponse got;
  ASSERT_TRUE(flash_stub_->GetFlashSale(As(Ops()).get(), get, &got).ok());
  EXPECT_EQ(got.sale().sold(), 1);
  EXPECT_EQ(got.sale().remaining(), 2);
}

TEST_F(OrderServiceTest, RefundsWholeOrPerLineNeverBeyondWhatWasPaid) {
  std::string a = CreateSku(10);
  std::string b = CreateSku(10);
  v1::Order order;
  ASSERT_TRUE(Checkout("alice", CheckoutOf("r1", {{a, "", 2}, {b, "", 1}}), &order).ok());
  v1::RefundOrderRequest refund;
  refund.set_order_id(order.id());
  refund.set_refund_id("ref-1");
  v1::RefundOrderResponse refunded;
  EXPECT_EQ(stub_->RefundOrder(As(Ops()).get(), refund, &refunded).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // not paid
  ASSERT_TRUE(Pay("alice", order.id()).ok());
  EXPECT_EQ(stub_->RefundOrder(As(Viewer("alice")).get(), refund, &refunded).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::RefundLine* line = refund.add_lines();
  line->set_line_id("1");
  line->set_quantity(1);
  ASSERT_TRUE(stub_->RefundOrder(As(Ops()).get(), refund, &refunded).ok());
  EXPECT_EQ(refunded.order().status(), v1::ORDER_STATUS_PARTIALLY_REFUNDED);
  EXPECT_EQ(refunded.order().refunded().amount_fen(), 100000);
  // The same refund id again changes nothing.
  ASSERT_TRUE(stub_->RefundOrder(As(Ops()).get(), refund, &refunded).ok());
  EXPECT_EQ(refunded.order().refunded().amount_fen(), 100000);
  // More than is left on a line is refused, and changes nothing.
  refund.set_refund_id("ref-2");
  line->set_quantity(2);
  EXPECT_EQ(stub_->RefundOrder(As(Ops()).get(), refund, &refunded).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  line->set_line_id("9");
  EXPECT_EQ(stub_->RefundOrder(As(Ops()).get(), refund, &refunded).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // The rest, whole.
  refund.clear_lines();
  refund.set_refund_id("ref-3");
  ASSERT_TRUE(stub_->RefundOrder(As(Ops()).get(), refund, &refunded).ok());
  EXPECT_EQ(refunded.order().status(), v1::ORDER_STATUS_REFUNDED);
  EXPECT_EQ(refunded.order().refunded().amount_fen(), 300000);
  refund.set_refund_id("ref-4");
  EXPECT_EQ(stub_->RefundOrder(As(Ops()).get(), refund, &refunded).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM refunds"), 2);
  EXPECT_EQ(Count("SELECT SUM(amount_fen) FROM refunds"), 300000);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE topic = 'order.refunded'"), 2);
}

// A WeChat Pay payment notification for `order`, sealed and signed as WeChat Pay posts it.
// A notification body sealed with the APIv3 key and signed with the platform key.
v1::HandlePaymentNotificationRequest Signed(const std::string& id, const std::string& event_type,
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

v1::HandlePaymentNotificationRequest Notification(const v1::Order& order, int64_t total_fen,
                                                  absl::Time now,
                                                  const std::string& transaction_id = "4200001") {
  std::string plaintext = nlohmann::json{
      {"appid", testing::kAppid},
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
        {"payer_currency",
         "CNY"}}}}.dump();
  return Signed("EV-" + order.id(), "TRANSACTION.SUCCESS", plaintext, "transaction", now);
}

// A refund notification as WeChat Pay sends it when a refund is settled.
v1::HandlePaymentNotificationRequest RefundNotification(const v1::Order& order,
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

class WechatPayOrderTest : public OrderServiceTest {
 protected:
  v1::Order WechatCheckout(const std::string& key, const std::string& sku, int64_t quantity) {
    v1::CheckoutRequest r = CheckoutOf(key, {{sku, "", quantity}});
    r.set_provider(v1::PAYMENT_PROVIDER_WECHAT_PAY);
    v1::Order order;
    grpc::Status s = Checkout("o-alice", r, &order);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return order;
  }
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
};

TEST_F(WechatPayOrderTest, CheckoutReturnsSignedMiniProgramParameters) {
  std::string sku = CreateSku(10);
  v1::Order order = WechatCheckout("w1", sku, 1);
  EXPECT_EQ(order.payment().provider(), v1::PAYMENT_PROVIDER_WECHAT_PAY);
  EXPECT_EQ(order.payment().package(), "prepay_id=wx26112221580621e9b071c00d9e093b0000");
  EXPECT_EQ(order.payment().sign_type(), "RSA");
  std::string signature;
  ASSERT_TRUE(common::Base64Decode(order.payment().pay_sign(), &signature));
  auto merchant = RsaKey::FromPublicKeyPem(testing::MerchantKey().public_pem);
  ASSERT_TRUE(merchant.ok());
  EXPECT_TRUE(
      merchant->VerifySha256(PaySignMessage(testing::kAppid, order.payment().time_stamp(),
                                            order.payment().nonce_str(), order.payment().package()),
                             signature));
  EXPECT_EQ(transport_.calls(), 1);
}

TEST_F(WechatPayOrderTest, AGenuineNotificationPaysOnceHoweverOftenItComes) {
  std::string sku = CreateSku(10);
  v1::Order order = WechatCheckout("w2", sku, 2);
  v1::HandlePaymentNotificationRequest genuine =
      Notification(order, order.total().amount_fen(), clock_.Now());
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        if (Notify(genuine).http_status() == 200) ++accepted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 24);
  EXPECT_EQ(StatusOf(order.id()), v1::ORDER_STATUS_PAID);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM payments"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM conversions"), 1);
  ASSERT_TRUE(service_->DeliverOutboxOnce().ok());
  EXPECT_EQ(Sku(sku).on_hand(), 8);
  EXPECT_EQ(Sku(sku).reserved(), 0);
}

TEST_F(WechatPayOrderTest, ForgedOrMismatchedNotificationsChangeNothing) {
  std::string sku = CreateSku(10);
  v1::Order order = WechatCheckout("w3", sku, 1);
  int64_t total = order.total().amount_fen();
  v1::HandlePaymentNotificationRequest flipped = Notification(order, total, clock_.Now());
  std::string body = flipped.body();
  body[body.size() / 2] ^= 0x01;
  flipped.set_body(body);
  EXPECT_EQ(Notify(flipped).http_status(), 401);
  v1::HandlePaymentNotificationRequest stale =
      Notification(order, total, clock_.Now() - absl::Seconds(301));
  EXPECT_EQ(Notify(stale).http_status(), 401);
  v1::HandlePaymentNotificationRequest unknown_serial = Notification(order, total, clock_.Now());
  (*unknown_serial.mutable_headers())["wechatpay-serial"] = "0000";
  EXPECT_EQ(Notify(unknown_serial).http_status(), 401);
  v1::HandlePaymentNotificationResponse cheap =
      Notify(Notification(order, total - 1, clock_.Now()));
  EXPECT_NE(cheap.http_status(), 200);
  EXPECT_NE(std::string(cheap.http_body()).find("FAIL"), std::string::npos);
  v1::Order other = order;
  other.set_id("999999");
  EXPECT_NE(Notify(Notification(other, total, clock_.Now())).http_status(), 200);
  // Only the gateway passes notifications on.
  v1::HandlePaymentNotificationResponse response;
  EXPECT_EQ(stub_
                ->HandlePaymentNotification(As(Viewer("o-alice")).get(),
                                            Notification(order, total, clock_.Now()), &response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(StatusOf(order.id()), v1::ORDER_STATUS_PENDING_PAYMENT);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM payments"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM conversions"), 0);
}

TEST_F(WechatPayOrderTest, RefundsAreAskedOfWechatPayThroughTheOutboxUntilItAccepts) {
  std::string sku = CreateSku(10);
  v1::Order order = WechatCheckout("w5", sku, 2);
  ASSERT_EQ(Notify(Notification(order, order.total().amount_fen(), clock_.Now())).http_status(),
            200);
  v1::RefundOrderRequest refund;
  refund.set_order_id(order.id());
  refund.set_refund_id("rf.1:a");  // '.' and ':' are not allowed in WeChat's out_refund_no
  v1::RefundLine* line = refund.add_lines();
  line->set_line_id("1");
  line->set_quantity(1);
  v1::RefundOrderResponse refunded;
  ASSERT_TRUE(stub_->RefundOrder(As(Ops()).get(), refund, &refunded).ok());
  EXPECT_EQ(refunded.order().status(), v1::ORDER_STATUS_PARTIALLY_REFUNDED);
  // WeChat Pay is down: the request stays queued.
  transport_.set_fail(true);
  ASSERT_TRUE(service_->DeliverOutboxOnce().ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE topic = 'refund.request' AND "
                  "status = 0"),
            1);
  EXPECT_TRUE(transport_.refunds_.empty());
  // Back up: the next delivery after the backoff asks once, for one unit.
  transport_.set_fail(false);
  clock_.Advance(absl::Seconds(3));
  ASSERT_TRUE(service_->DeliverOutboxOnce().ok());
  ASSERT_EQ(transport_.refunds_.size(), 1u);
  EXPECT_EQ(transport_.refunds_[0]["amount"]["refund"], order.total().amount_fen() / 2);
  EXPECT_EQ(transport_.refunds_[0]["amount"]["total"], order.total().amount_fen());
  EXPECT_EQ(transport_.refunds_[0]["out_trade_no"], OutTradeNo(std::stoll(order.id())));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE topic = 'refund.request' AND "
                  "status = 1"),
            1);
  ASSERT_TRUE(service_->DeliverOutboxOnce().ok());
  EXPECT_EQ(transport_.refunds_.size(), 1u);
  EXPECT_EQ(transport_.refunds_[0]["out_refund_no"], OutRefundNo(std::stoll(order.id()), "rf.1:a"));
  // WeChat Pay tells how the refund ended: a forged amount changes nothing, the genuine answer
  // settles it once, however often it comes.
  int64_t half = order.total().amount_fen() / 2;
  EXPECT_NE(
      Notify(RefundNotification(order, "rf.1:a", half + 1, "SUCCESS", clock_.Now())).http_status(),
      200);
  EXPECT_EQ(Count("SELECT status FROM refunds"), kRefundRequested);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(
        Notify(RefundNotification(order, "rf.1:a", half, "SUCCESS", clock_.Now())).http_status(),
        200);
    EXPECT_EQ(Count("SELECT status FROM refunds"), kRefundSucceeded);
  }
  // A refund this order never asked for is refused.
  EXPECT_NE(
      Notify(RefundNotification(order, "rf-unknown", half, "SUCCESS", clock_.Now())).http_status(),
      200);
}

TEST_F(WechatPayOrderTest, NoPrepayMeansNoOrderAndTheStockReturns) {
  std::string sku = CreateSku(10);
  transport_.set_fail(true);
  v1::CheckoutRequest r = CheckoutOf("w4", {{sku, "", 3}});
  r.set_provider(v1::PAYMENT_PROVIDER_WECHAT_PAY);
  EXPECT_EQ(Checkout("o-alice", r).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Sku(sku).reserved(), 0);
  // A retry with the same key is not told to try again forever (the key's checkout is over), and
  // a new key goes through once the provider is back.
  transport_.set_fail(false);
  grpc::Status replay = Checkout("o-alice", r);
  EXPECT_EQ(replay.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(replay.error_message(), "new idempotency_key"))
      << replay.error_message();
  EXPECT_EQ(Sku(sku).reserved(), 0);
  r.set_idempotency_key("w4-again");
  EXPECT_TRUE(Checkout("o-alice", r).ok());
  EXPECT_EQ(Sku(sku).reserved(), 3);
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
    report_store_ = std::make_unique<report::MysqlReportStore>(*mysql_);
    live_stats_ = std::make_unique<report::GrpcLiveStats>(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(room_server_->port()),
                            grpc::InsecureChannelCredentials()),
        codec_);
    report_service_ =
        std::make_unique<report::ReportServiceImpl>(*report_store_, *live_stats_, clock_, codec_);
    report_server_ = *common::GrpcServer::Start(common::ServerOptions{}, {report_service_.get()});
    funnel_ = std::make_unique<GrpcFunnelReporter>(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(report_server_->port()),
                            grpc::InsecureChannelCredentials()),
        codec_);
    // The order service again, now reporting to attribution.
    server_->Shutdown();
    Payments payments;
    payments.sandbox = &sandbox_;
    service_ = std::make_unique<OrderServiceImpl>(*carts_, *orders_, *stock_, payments, clock_,
                                                  codec_, OrderOptions{}, attribution_client_.get(),
                                                  funnel_.get());
    server_ = *common::GrpcServer::Start(common::ServerOptions{}, {service_.get()});
    stub_ = v1::OrderService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
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
  std::unique_ptr<report::MysqlReportStore> report_store_;
  std::unique_ptr<report::GrpcLiveStats> live_stats_;
  std::unique_ptr<report::ReportServiceImpl> report_service_;
  std::unique_ptr<common::GrpcServer> report_server_;
  std::unique_ptr<GrpcFunnelReporter> funnel_;
};

TEST_F(AttributedOrderTest, AnInvitedClientsOrderIsCreditedToTheInvitingAssociate) {
  // The brand's store, its associate, and a rule: associate 5 %, store 2 %.
  v1::CreateStoreRequest store;
  store.set_name("Shanghai IFC");
  v1::CreateStoreResponse made_store;
  ASSERT_TRUE(
      attribution_stub_->CreateStore(AsRole(Role::kOps, "ops").get(), store, &made_store).ok());
  v1::CreateAssociateRequest associate;
  associate.set_store_id(made_store.store().id());
  associate.set_name("Lin");
  v1::CreateAssociateResponse lin;
  ASSERT_TRUE(
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
  ASSERT_TRUE(
      attribution_stub_->CreateCommissionRule(AsRole(Role::kFinance, "fin").get(), rule, &made_rule)
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
  ASSERT_TRUE(room_stub_->CreateRoom(As(Ops()).get(), room, &made_room).ok());
  std::string room_id = made_room.room().id();
  v1::IssueInvitesRequest issue;
  issue.set_room_id(room_id);
  issue.set_count(1);
  issue.set_associate_id(lin_id);
  v1::IssueInvitesResponse invites;
  ASSERT_TRUE(room_stub_->IssueInvites(As(Ops()).get(), issue, &invites).ok());
  v1::GoLiveRequest live;
  live.set_room_id(room_id);
  v1::GoLiveResponse lived;
  ASSERT_TRUE(room_stub_->GoLive(As(Ops()).get(), live, &lived).ok());
  v1::JoinRoomRequest join;
  join.set_room_id(room_id);
  join.set_device_id("phone");
  join.set_invite_token(invites.invites(0).token());
  v1::JoinRoomResponse joined;
  ASSERT_TRUE(room_stub_->JoinRoom(As(Viewer("mei")).get(), join, &joined).ok());
  EXPECT_EQ(joined.associate_id(), lin_id);
  // The touch reaches attribution in the background: Mei becomes Lin's client.
  bool bound = false;
  for (int i = 0; i < 100 && !bound; ++i) {
    v1::GetClientBindingRequest get;
    get.set_viewer_id("mei");
    v1::GetClientBindingResponse binding;
    bound =
        attribution_stub_->GetClientBinding(AsRole(Role::kOps, "ops").get(), get, &binding).ok() &&
        binding.binding().associate_id() == lin_id;
    if (!bound) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(bound);

  // Mei buys (with no attribution context of her own) and pays; putting it in her cart first
  // is a funnel step of the session for the report service.
  std::string sku = CreateSku(10);
  v1::CartItem item = Item(sku, 1);
  item.mutable_room()->set_room_id(room_id);
  item.mutable_room()->set_session_id(joined.session_id());
  ASSERT_TRUE(Add("mei", item).ok());
  ASSERT_TRUE(Add("mei", item).ok());  // the same viewer again: still one at this step
  int64_t carted = 0;
  for (int i = 0; i < 100 && carted == 0; ++i) {
    auto steps = report_store_->GetFunnel(std::stoll(joined.session_id()));
    ASSERT_TRUE(steps.ok());
    carted = (*steps)[report::kAddedToCart];
    if (carted == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ((*report_store_->GetFunnel(std::stoll(joined.session_id())))[report::kAddedToCart], 1);
  v1::CheckoutRequest checkout = CheckoutOf("m1", {{sku, "", 2}});
  checkout.clear_attribution();
  checkout.mutable_room()->set_room_id(room_id);
  checkout.mutable_room()->set_session_id(joined.session_id());
  v1::Order order;
  grpc::Status s = Checkout("mei", checkout, &order);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(Pay("mei", order.id()).ok());
  ASSERT_TRUE(service_->DeliverOutboxOnce().ok());
  ASSERT_TRUE(service_->DeliverOutboxOnce().ok());  // a second pass delivers nothing again

  v1::GetOrderAttributionResponse credited = Attribution(order.id());
  EXPECT_EQ(credited.order().associate_id(), lin_id);
  EXPECT_EQ(credited.order().store_id(), made_store.store().id());
  int64_t associate_fen = 0, store_fen = 0;
  for (const v1::LedgerEntry& e : credited.entries()) {
    if (e.recipient() == v1::RECIPIENT_ASSOCIATE) associate_fen += e.amount().amount_fen();
    if (e.recipient() == v1::RECIPIENT_STORE) store_fen += e.amount().amount_fen();
  }
  EXPECT_EQ(associate_fen, order.total().amount_fen() * 500 / 10000);
  EXPECT_EQ(store_fen, order.total().amount_fen() * 200 / 10000);
  size_t entries = credited.entries().size();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE topic = 'order.paid' AND status = 1"),
            1);

  // A refund in full claws the commission back to zero, once.
  v1::RefundOrderRequest refund;
  refund.set_order_id(order.id());
  refund.set_refund_id("rf-all");
  v1::RefundOrderResponse refunded;
  ASSERT_TRUE(stub_->RefundOrder(As(Ops()).get(), refund, &refunded).ok());
  ASSERT_TRUE(service_->DeliverOutboxOnce().ok());
  ASSERT_TRUE(stub_->RefundOrder(As(Ops()).get(), refund, &refunded).ok());  // a repeat
  ASSERT_TRUE(service_->DeliverOutboxOnce().ok());
  v1::GetOrderAttributionResponse clawed = Attribution(order.id());
  int64_t net = 0;
  for (const v1::LedgerEntry& e : clawed.entries()) net += e.amount().amount_fen();
  EXPECT_EQ(net, 0);
  EXPECT_EQ(clawed.entries().size(), entries * 2);
}

}  // namespace
}  // namespace livecommerce::order
