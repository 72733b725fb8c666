// No payment goes untracked: a cancelled or expired WeChat Pay order is closed at WeChat Pay before
// its stock goes back, and a payment that still arrives for it is recorded and refunded once,
// never counted as a sale. Against a local HTTPS server answering as WeChat Pay does, trusted
// through LC_WECHATPAY_CA_FILE, with the real services, Redis and MariaDB.
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "services/order/payment/beast_transport.h"
#include "spdlog/sinks/ringbuffer_sink.h"
#include "spdlog/spdlog.h"
#include "tests/integration/order/order_fixture.h"
#include "tests/integration/order/wechat_pay_server.h"

namespace livecommerce::order {
namespace {

// The CA of the test server, in a file as LC_WECHATPAY_CA_FILE names it.
std::string CaFile() {
  static const std::string path = [] {
    std::string p = (std::filesystem::temp_directory_path() /
                     absl::StrCat("lc-wechatpay-ca-", getpid(), ".pem"))
                        .string();
    std::ofstream(p) << testing::ServerPki().ca.cert_pem;
    return p;
  }();
  return path;
}

// The transport as the binary makes it: from the environment.
absl::StatusOr<std::unique_ptr<BeastWechatPayTransport>> TransportFromEnv(
    const std::string& base_url, const std::string& ca_file) {
  setenv("LC_WECHATPAY_BASE_URL", base_url.c_str(), 1);
  if (ca_file.empty()) {
    unsetenv("LC_WECHATPAY_CA_FILE");
  } else {
    setenv("LC_WECHATPAY_CA_FILE", ca_file.c_str(), 1);
  }
  absl::StatusOr<BeastTransportOptions> options = LoadBeastTransportOptions();
  unsetenv("LC_WECHATPAY_BASE_URL");
  unsetenv("LC_WECHATPAY_CA_FILE");
  if (!options.ok()) return options.status();
  options->timeout = absl::Seconds(5);
  return BeastWechatPayTransport::Create(*std::move(options));
}

class PaymentCloseTest : public AttributedOrderTest {
 protected:
  void SetUp() override {
    AttributedOrderTest::SetUp();
    if (HasFatalFailure()) return;
    wechat_server_ = std::make_unique<testing::WechatPayServer>(clock_);
    auto transport = TransportFromEnv(wechat_server_->base_url(), CaFile());
    ASSERT_TRUE(transport.ok()) << transport.status();
    https_ = *std::move(transport);
    log_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(200);
    spdlog::default_logger()->sinks().push_back(log_);
    Restart();
  }
  void TearDown() override {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), log_), sinks.end());
    AttributedOrderTest::TearDown();
  }

  // A fresh order service (and store) on the same database, talking HTTPS to the test server: what
  // a restart after a crash finds.
  void Restart() {
    server_->Shutdown();
    service_.reset();
    recovery_.reset();
    expiry_.reset();
    relay_.reset();
    orders_ = std::make_unique<MysqlOrderStore>(*mysql_, &order_events_);
    wechat_client_ = std::make_unique<WechatPayClient>(crypto_.get(), https_.get(), &clock_);
    wechat_gateway_ = std::make_unique<WechatPayGateway>(*wechat_client_);
    service_ = std::make_unique<OrderServiceImpl>(*carts_, *orders_, *stock_, AllPayments(), clock_,
                                                  codec_, OrderOptions{}, attribution_client_.get(),
                                                  funnel_.get());
    MakeJobs(attribution_client_.get());
    server_ = *common::GrpcServer::Start(common::ServerOptions{}, {service_.get()});
    stub_ = v1::OrderService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  v1::Order Cancel(const std::string& viewer, const std::string& order_id) {
    v1::CancelOrderRequest cancel;
    cancel.set_order_id(order_id);
    v1::CancelOrderResponse cancelled;
    grpc::Status s = stub_->CancelOrder(As(Viewer(viewer)).get(), cancel, &cancelled);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return cancelled.order();
  }
  v1::Order GetAsOps(const std::string& order_id) {
    v1::GetOrderRequest get;
    get.set_order_id(order_id);
    v1::GetOrderResponse got;
    EXPECT_TRUE(stub_->GetOrder(As(Ops()).get(), get, &got).ok());
    return got.order();
  }
  // Records, at each close call, how much of `sku` was still reserved.
  std::shared_ptr<std::vector<int64_t>> WatchReservedAtClose(const std::string& sku) {
    auto seen = std::make_shared<std::vector<int64_t>>();
    wechat_server_->OnClose([this, sku, seen](const testing::WechatPayServer::Call&) {
      seen->push_back(Sku(sku).reserved());
    });
    return seen;
  }
  std::vector<std::string> ErrorLines() {
    std::vector<std::string> out;
    for (const std::string& line : log_->last_formatted()) {
      if (absl::StrContains(line, "[error]")) out.push_back(line);
    }
    return out;
  }

  std::unique_ptr<testing::WechatPayServer> wechat_server_;
  std::unique_ptr<BeastWechatPayTransport> https_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_;
};

constexpr char kClosedBody[] = R"({"code":"ORDER_CLOSED","message":"订单已关闭"})";
constexpr char kPaidBody[] = R"({"code":"ORDERPAID","message":"订单已支付"})";
constexpr char kSystemErrorBody[] = R"({"code":"SYSTEM_ERROR","message":"系统错误"})";

TEST_F(PaymentCloseTest, CancelClosesAtWechatPayOnceBeforeTheStockGoesBack) {
  std::string sku = CreateSku(10);
  v1::Order order = WechatCheckout("c1", sku, 2);
  ASSERT_FALSE(order.id().empty());
  EXPECT_EQ(wechat_server_->Count("prepay"), 1);  // over HTTPS, trusted through the CA file
  auto reserved_at_close = WatchReservedAtClose(sku);
  EXPECT_EQ(Cancel("o-alice", order.id()).status(), v1::ORDER_STATUS_CANCELLED);
  // Until WeChat Pay has closed it, the buyer could still pay: the stock stays reserved.
  EXPECT_EQ(Sku(sku).reserved(), 2);
  EXPECT_EQ(wechat_server_->Count("close"), 0);
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  std::vector<testing::WechatPayServer::Call> closes = wechat_server_->Calls("close");
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].target, absl::StrCat("/v3/pay/transactions/out-trade-no/",
                                           OutTradeNo(std::stoll(order.id())), "/close"));
  EXPECT_EQ(closes[0].body, nlohmann::json({{"mchid", testing::kMchid}}));
  EXPECT_EQ(closes[0].answered, 204);
  ASSERT_EQ(reserved_at_close->size(), 1u);
  EXPECT_EQ((*reserved_at_close)[0], 2);  // closed before anything was released
  EXPECT_EQ(Sku(sku).reserved(), 0);
  EXPECT_EQ(Sku(sku).on_hand(), 10);
  // Done once: later passes close nothing again, and nothing is left queued.
  clock_.Advance(absl::Minutes(2));
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  EXPECT_EQ(wechat_server_->Count("close"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE status = 0"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE topic = 'reservation.release'"), 1);
}

TEST_F(PaymentCloseTest, ExpiryClosesBeforeReleasingAndALatePaymentIsStillRefunded) {
  std::string sku = CreateSku(10);
  v1::Order order = WechatCheckout("e1", sku, 3);
  auto reserved_at_close = WatchReservedAtClose(sku);
  clock_.Advance(OrderOptions{}.payment_window + absl::Seconds(1));
  auto expired = expiry_->ExpireOnce();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 1);
  EXPECT_EQ(StatusOf(order.id()), v1::ORDER_STATUS_EXPIRED);
  EXPECT_EQ(wechat_server_->Count("close"), 1);
  ASSERT_EQ(reserved_at_close->size(), 1u);
  EXPECT_EQ((*reserved_at_close)[0], 3);
  EXPECT_EQ(Sku(sku).reserved(), 0);
  // A payment WeChat Pay took anyway is recorded and handed back.
  EXPECT_EQ(Notify(Notification(order, order.total().amount_fen(), clock_.Now())).http_status(),
            200);
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  EXPECT_EQ(wechat_server_->Count("refund"), 1);
  EXPECT_EQ(StatusOf(order.id()), v1::ORDER_STATUS_EXPIRED);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM payment_incidents WHERE order_status = 6"), 1);
  EXPECT_EQ(PaidEvents(), 0);
}

TEST_F(PaymentCloseTest, AFailedCloseIsRetriedWithBackoffAndTheStockWaitsForIt) {
  std::string sku = CreateSku(10);
  v1::Order order = WechatCheckout("r1", sku, 2);
  auto reserved_at_close = WatchReservedAtClose(sku);
  wechat_server_->QueueCloseAnswers({{500, kSystemErrorBody}, {503, ""}});
  Cancel("o-alice", order.id());
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  EXPECT_EQ(wechat_server_->Count("close"), 1);
  EXPECT_EQ(Sku(sku).reserved(), 2);
  EXPECT_EQ(Count("SELECT attempts FROM order_outbox WHERE topic = 'payment.close' AND status = 0"),
            1);
  // Not again before its backoff.
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  EXPECT_EQ(wechat_server_->Count("close"), 1);
  clock_.Advance(absl::Seconds(3));
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  EXPECT_EQ(wechat_server_->Count("close"), 2);
  EXPECT_EQ(Sku(sku).reserved(), 2);
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  EXPECT_EQ(wechat_server_->Count("close"), 3);
  EXPECT_EQ(*reserved_at_close, (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(Sku(sku).reserved(), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE status = 0"), 0);
}

TEST_F(PaymentCloseTest, ACrashBeforeOrAfterTheCloseStillClosesThenReleasesOnce) {
  std::string sku = CreateSku(10);
  v1::Order order = WechatCheckout("k1", sku, 2);
  Cancel("o-alice", order.id());
  // The process dies before the relay ran: a new one on the same database picks it up.
  Restart();
  auto reserved_at_close = WatchReservedAtClose(sku);
  EXPECT_EQ(Sku(sku).reserved(), 2);
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  EXPECT_EQ(wechat_server_->Count("close"), 1);
  EXPECT_EQ(*reserved_at_close, std::vector<int64_t>{2});
  EXPECT_EQ(Sku(sku).reserved(), 0);
  // The process died after the close but before it was marked done: closed again (WeChat Pay:
  // already closed), released once.
  ASSERT_TRUE(mysql_
                  ->Run([](common::MysqlConnection& c) {
                    c.Execute("UPDATE order_outbox SET status = 0 WHERE topic = 'payment.close'");
                    return absl::OkStatus();
                  })
                  .ok());
  Restart();
  wechat_server_->QueueCloseAnswers({{400, kClosedBody}});
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  EXPECT_EQ(wechat_server_->Count("close"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE status = 0"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE topic = 'reservation.release'"), 1);
  EXPECT_EQ(Sku(sku).reserved(), 0);
  EXPECT_EQ(Sku(sku).on_hand(), 10);
}

TEST_F(PaymentCloseTest, APaymentAfterCancelIsRecordedRefundedOnceAndNeverCounted) {
  std::string sku = CreateSku(10);
  v1::Order order = WechatCheckout("p1", sku, 2);
  v1::Order other = WechatCheckout("p2", sku, 1);
  int64_t total = order.total().amount_fen();
  // The buyer paid as the order was being cancelled: WeChat Pay will not close it.
  wechat_server_->QueueCloseAnswers({{400, kPaidBody}});
  Cancel("o-alice", order.id());
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  EXPECT_EQ(wechat_server_->Count("close"), 1);
  EXPECT_EQ(Sku(sku).reserved(), 1);  // the cancelled order's stock is back all the same

  // 20 copies of the notification, interleaved with the relay.
  const v1::HandlePaymentNotificationRequest paid = Notification(order, total, clock_.Now());
  std::atomic<int> accepted{0};
  {
    std::latch go(21);
    std::vector<std::thread> threads;
    for (int i = 0; i < 20; ++i) {
      threads.emplace_back([&] {
        go.arrive_and_wait();
        if (Notify(paid).http_status() == 200) ++accepted;
      });
    }
    threads.emplace_back([&] {
      go.arrive_and_wait();
      for (int i = 0; i < 5; ++i) EXPECT_TRUE(relay_->DeliverOnce().ok());
    });
    for (auto& t : threads) t.join();
  }
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Seconds(5));
    ASSERT_TRUE(relay_->DeliverOnce().ok());
  }
  EXPECT_EQ(accepted.load(), 20);  // answered 200: WeChat Pay stops sending
  EXPECT_EQ(StatusOf(order.id()), v1::ORDER_STATUS_CANCELLED);
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM payments WHERE order_id = ", order.id(),
                               " AND transaction_id = '4200001' AND amount_fen = ", total)),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM payments"), 1);
  EXPECT_EQ(PaidEvents(), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE topic = 'order.paid'"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE topic = 'order.refunded'"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM attributed_orders"), 0);
  // Exactly one refund asked of WeChat Pay, for all of it, under the payment's own key.
  std::vector<testing::WechatPayServer::Call> refunds = wechat_server_->Calls("refund");
  ASSERT_EQ(refunds.size(), 1u);
  EXPECT_EQ(refunds[0].body["out_trade_no"], OutTradeNo(std::stoll(order.id())));
  EXPECT_EQ(refunds[0].body["out_refund_no"], OutRefundNo(std::stoll(order.id()), "auto-4200001"));
  EXPECT_EQ(refunds[0].body["amount"]["refund"], total);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM refunds"), 1);
  EXPECT_EQ(Count("SELECT status FROM refunds"), static_cast<int64_t>(RefundStatus::kRequested));

  // Ops read it through the API: on the order, and listed on its own.
  v1::Order seen = GetAsOps(order.id());
  ASSERT_TRUE(seen.has_payment_incident());
  EXPECT_EQ(seen.payment_incident().transaction_id(), "4200001");
  EXPECT_EQ(seen.payment_incident().amount().amount_fen(), total);
  EXPECT_EQ(seen.payment_incident().refund_id(), "auto-4200001");
  EXPECT_EQ(seen.payment_incident().state(), v1::PAYMENT_INCIDENT_STATE_REFUND_REQUESTED);
  EXPECT_FALSE(GetAsOps(other.id()).has_payment_incident());
  v1::ListOrdersRequest list;
  list.set_brand_id(kBrand);
  list.set_payment_incidents_only(true);
  v1::ListOrdersResponse listed;
  ASSERT_TRUE(stub_->ListOrders(As(Ops()).get(), list, &listed).ok());
  ASSERT_EQ(listed.orders_size(), 1);
  EXPECT_EQ(listed.orders(0).id(), order.id());
  EXPECT_TRUE(listed.orders(0).has_payment_incident());
  list.set_payment_incidents_only(false);
  ASSERT_TRUE(stub_->ListOrders(As(Ops()).get(), list, &listed).ok());
  EXPECT_EQ(listed.orders_size(), 2);
  // And the alert: one ERROR line, with ids and amounts but no personal data.
  int incidents = 0;
  for (const std::string& line : ErrorLines()) {
    if (!absl::StrContains(line, "payment incident")) continue;
    if (absl::StrContains(line, "4200001")) ++incidents;
    EXPECT_FALSE(absl::StrContains(line, "o-alice")) << line;
    EXPECT_FALSE(absl::StrContains(line, "13800000000")) << line;
  }
  EXPECT_EQ(incidents, 1);

  // WeChat Pay's refund notification settles it (twice: once), touching no commission.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Notify(RefundNotification(order, "auto-4200001", total, "SUCCESS", clock_.Now()))
                  .http_status(),
              200);
  }
  EXPECT_EQ(Count("SELECT status FROM refunds"), static_cast<int64_t>(RefundStatus::kSucceeded));
  EXPECT_EQ(GetAsOps(order.id()).payment_incident().state(), v1::PAYMENT_INCIDENT_STATE_REFUNDED);
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM commission_entries"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM attributed_refunds"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE status = 0"), 0);
  EXPECT_EQ(wechat_server_->Count("refund"), 1);
  // The other order is untouched and can still be paid normally.
  EXPECT_EQ(Notify(Notification(other, other.total().amount_fen(), clock_.Now(), "4200002"))
                .http_status(),
            200);
  EXPECT_EQ(StatusOf(other.id()), v1::ORDER_STATUS_PAID);
  EXPECT_EQ(PaidEvents(), 1);
}

TEST_F(PaymentCloseTest, AResourceThatDoesNotDecryptIsRefusedAndSaysSo) {
  std::string sku = CreateSku(10);
  v1::Order order = WechatCheckout("d1", sku, 1);
  int64_t total = order.total().amount_fen();
  // Genuinely signed, but sealed under another APIv3 key.
  v1::HandlePaymentNotificationRequest r = Notification(order, total, clock_.Now());
  nlohmann::json body = nlohmann::json::parse(r.body());
  body["resource"] = nlohmann::json::parse(NotificationBodyJson(NotificationEnvelope{
      .id = "x",
      .create_time = "2026-11-26T16:00:06+08:00",
      .event_type = "TRANSACTION.SUCCESS",
      .resource_type = "encrypt-resource",
      .summary = "event",
      .resource = SealResource("0123456789abcdef0123456789abcdef",
                               PaidResource(order, total).dump(), "transaction")
                      .value()}))["resource"];
  r.set_body(body.dump());
  Resign(r);
  v1::HandlePaymentNotificationResponse answer = Notify(r);
  EXPECT_EQ(answer.http_status(), 401);
  EXPECT_TRUE(absl::StrContains(answer.http_body(), "resource: could not be decrypted"))
      << answer.http_body();
  EXPECT_TRUE(absl::StrContains(answer.http_body(), "\"FAIL\"")) << answer.http_body();
  // Wrong associated data, likewise.
  v1::HandlePaymentNotificationRequest ad = Notification(order, total, clock_.Now());
  nlohmann::json ad_body = nlohmann::json::parse(ad.body());
  ad_body["resource"]["associated_data"] = "refund";
  ad.set_body(ad_body.dump());
  Resign(ad);
  EXPECT_TRUE(absl::StrContains(Notify(ad).http_body(), "resource: could not be decrypted"));
  // A bad signature still says so.
  v1::HandlePaymentNotificationRequest forged = Notification(order, total, clock_.Now());
  Resign(forged, testing::MerchantKey().private_pem);
  v1::HandlePaymentNotificationResponse refused = Notify(forged);
  EXPECT_EQ(refused.http_status(), 401);
  EXPECT_TRUE(absl::StrContains(refused.http_body(), "signature verification failed"));
  EXPECT_EQ(StatusOf(order.id()), v1::ORDER_STATUS_PENDING_PAYMENT);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM payments"), 0);
}

TEST(WechatPayCaFileTest, TheTestServerIsTrustedOnlyThroughTheCaFile) {
  common::FakeClock clock(StartTime());
  testing::WechatPayServer server(clock);
  HttpRequest request;
  request.method = "POST";
  request.path = "/v3/pay/transactions/out-trade-no/LC0000000001/close";
  request.body = R"({"mchid":"1900009191"})";
  request.headers = {{"Authorization", "WECHATPAY2-SHA256-RSA2048 mchid=\"1900009191\""}};
  auto trusted = TransportFromEnv(server.base_url(), CaFile());
  ASSERT_TRUE(trusted.ok()) << trusted.status();
  auto answer = (*trusted)->Send(request);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 204);
  // Without it, the system store does not know the test CA.
  auto untrusted = TransportFromEnv(server.base_url(), "");
  ASSERT_TRUE(untrusted.ok()) << untrusted.status();
  EXPECT_EQ((*untrusted)->Send(request).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(server.Count("close"), 1);
  // A file that is missing or holds no certificate stops start-up, naming the variable.
  auto missing = TransportFromEnv(server.base_url(), "/nonexistent/ca.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "LC_WECHATPAY_CA_FILE"));
  std::string junk = CaFile() + ".junk";
  std::ofstream(junk) << "not a certificate";
  auto bad = TransportFromEnv(server.base_url(), junk);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "LC_WECHATPAY_CA_FILE"));
  std::remove(junk.c_str());
}

}  // namespace
}  // namespace livecommerce::order
