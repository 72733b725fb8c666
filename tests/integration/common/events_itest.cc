// Events end to end over a real MariaDB and real gRPC (services/common/events.h): a producer's
// outbox written in its transaction, the relay delivering to a consumer's EventSink, the consumer
// applying each event once. Redelivery, a failing handler, a sink that is down, another brand's
// events, a rolled-back change and an event type the consumer does not know.
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "livecommerce/events/v1/events.pb.h"
#include "services/common/clock.h"
#include "services/common/events.h"
#include "services/common/grpc_server.h"
#include "services/common/handler.h"
#include "services/common/sql.h"
#include "tests/support/test_env.h"

namespace livecommerce::common {
namespace {

namespace ev = events::v1;

constexpr char kBrand[] = "maison";

// Runs in the scratch database: its own outbox, claim table and a table the consumer writes.
class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pool = MysqlPool::Create(testing::TestMysqlConfig("lc_scratch"));
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    ASSERT_TRUE(pool_
                    ->Run([](MysqlConnection& c) {
                      for (const char* t : {"t_event_outbox", "t_consumed_events", "t_paid"}) {
                        c.Execute(absl::StrCat("DROP TABLE IF EXISTS ", t));
                      }
                      c.Execute(
                          "CREATE TABLE t_event_outbox (id BIGINT UNSIGNED NOT NULL "
                          "AUTO_INCREMENT PRIMARY KEY, subscriber VARCHAR(32) NOT NULL, brand_id "
                          "VARCHAR(128) NOT NULL, event_key VARCHAR(128) NOT NULL, type "
                          "VARCHAR(128) NOT NULL, payload BLOB NOT NULL, occurred_at DATETIME(6) "
                          "NOT NULL, delivered_at DATETIME(6) NULL)");
                      c.Execute(
                          "CREATE TABLE t_consumed_events (producer VARCHAR(32) NOT NULL, "
                          "event_id BIGINT UNSIGNED NOT NULL, type VARCHAR(128) NOT NULL, "
                          "applied_at DATETIME(6) NOT NULL, PRIMARY KEY (producer, event_id))");
                      c.Execute(
                          "CREATE TABLE t_paid (order_id BIGINT NOT NULL PRIMARY KEY, amount_fen "
                          "BIGINT NOT NULL, times INT NOT NULL)");
                      return absl::OkStatus();
                    })
                    .ok());
    // The consumer adds each paid order's amount (times counts how often: once, always).
    consumer_ = std::make_unique<EventConsumer>(*pool_, "t_consumed_events", clock_);
    consumer_->On<ev::OrderPaid>(
        [this](MysqlConnection& c, const ev::Event&, const ev::OrderPaid& paid) -> absl::Status {
          if (paid.amount_fen() < 0) return absl::FailedPreconditionError("a negative amount");
          if (paid.order_id() == refuse_order_ && refuse_ > 0) {
            --refuse_;
            return absl::UnavailableError("not now");
          }
          Sql(c,
              "INSERT INTO t_paid (order_id, amount_fen, times) VALUES (?, ?, 1) ON DUPLICATE KEY "
              "UPDATE amount_fen = amount_fen + VALUES(amount_fen), times = times + 1",
              paid.order_id(), paid.amount_fen())
              .Execute();
          return absl::OkStatus();
        });
    sink_ = std::make_unique<EventSinkService>(*consumer_, frame_);
    StartSink();
    outbox_ = std::make_unique<EventOutbox>("order", "t_event_outbox",
                                            std::vector<std::string>{"report"});
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  void StartSink() {
    ServerOptions options;
    options.address = sink_port_ == 0 ? "127.0.0.1:0" : absl::StrCat("127.0.0.1:", sink_port_);
    server_ = *GrpcServer::Start(options, {sink_.get()});
    sink_port_ = server_->port();
  }
  std::unique_ptr<EventRelay> Relay() {
    EventRelay::Options options;
    options.timeout = absl::Seconds(2);
    return std::make_unique<EventRelay>(
        *pool_, *outbox_,
        std::map<std::string, std::string>{{"report", absl::StrCat("127.0.0.1:", sink_port_)}},
        codec_, clock_, options);
  }
  // A change and its event in one transaction (rolled back when `fail`).
  absl::Status Pay(int64_t order, int64_t amount, const std::string& brand = kBrand,
                   bool fail = false) {
    return pool_->InTransaction([&](MysqlConnection& c) -> absl::Status {
      ev::OrderPaid paid;
      paid.set_order_id(order);
      paid.set_amount_fen(amount);
      outbox_->Publish(c, brand, absl::StrCat(order), paid, clock_.Now());
      if (fail) return absl::AbortedError("the change failed");
      return absl::OkStatus();
    });
  }
  std::map<int64_t, std::pair<int64_t, int64_t>> Paid() {
    std::map<int64_t, std::pair<int64_t, int64_t>> out;
    EXPECT_TRUE(pool_
                    ->Run([&](MysqlConnection& c) {
                      Sql(c, "SELECT order_id, amount_fen, times FROM t_paid")
                          .ForEach([&](const SqlRow& row) {
                            out[row.Int("order_id")] = {row.Int("amount_fen"), row.Int("times")};
                          });
                      return absl::OkStatus();
                    })
                    .ok());
    return out;
  }
  int64_t Undelivered() {
    return *pool_->Run([](MysqlConnection& c) -> absl::StatusOr<int64_t> {
      return Sql(c, "SELECT COUNT(*) FROM t_event_outbox WHERE delivered_at IS NULL")
          .Scalar()
          .value_or(-1);
    });
  }

  FakeClock clock_{absl::FromUnixSeconds(1795000000)};
  PrincipalCodec codec_{"events-test-secret-0123456789abcdef"};
  HandlerFrame frame_{codec_, clock_};
  std::unique_ptr<MysqlPool> pool_;
  std::unique_ptr<EventConsumer> consumer_;
  std::unique_ptr<EventSinkService> sink_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<EventOutbox> outbox_;
  int sink_port_ = 0;
  int64_t refuse_order_ = 0;  // the order whose event fails `refuse_` times
  int refuse_ = 0;
};

TEST_F(EventsTest, DeliveredOnceEvenWhenDeliveredAgain) {
  ASSERT_TRUE(Pay(1, 100).ok());
  ASSERT_TRUE(Pay(2, 250).ok());
  ASSERT_FALSE(Pay(3, 999, kBrand, /*fail=*/true).ok());  // rolled back: no event either
  EXPECT_EQ(Undelivered(), 2);
  EXPECT_GT(*Relay()->Lag(), absl::ZeroDuration() - absl::Seconds(1));
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(*Relay()->Lag(), absl::Seconds(5));
  EXPECT_EQ(*Relay()->DeliverDue(), 2);
  EXPECT_EQ(Undelivered(), 0);
  EXPECT_EQ(*Relay()->Lag(), absl::ZeroDuration());
  EXPECT_EQ(*Relay()->DeliverDue(), 0);
  // The marks are lost (the relay died between the call and the update): all sent again.
  ASSERT_TRUE(pool_
                  ->Run([](MysqlConnection& c) {
                    c.Execute("UPDATE t_event_outbox SET delivered_at = NULL");
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(*Relay()->DeliverDue(), 2);
  auto paid = Paid();
  ASSERT_EQ(paid.size(), 2u);
  EXPECT_EQ(paid[1], std::make_pair(int64_t{100}, int64_t{1}));
  EXPECT_EQ(paid[2], std::make_pair(int64_t{250}, int64_t{1}));
}

TEST_F(EventsTest, WhatFailsIsRetriedLaterAndWhatCameBeforeItIsKept) {
  ASSERT_TRUE(Pay(1, 100).ok());
  ASSERT_TRUE(Pay(2, 200).ok());
  ASSERT_TRUE(Pay(3, 300).ok());
  refuse_order_ = 2;
  refuse_ = 2;  // the batch fails, then event 2 alone fails: 1 is applied, 2 and 3 wait
  auto relay = Relay();
  EXPECT_EQ(*relay->DeliverDue(), 1);
  EXPECT_EQ(Paid().size(), 1u);
  EXPECT_EQ(Undelivered(), 2);
  EXPECT_EQ(*relay->DeliverDue(), 0);  // backing off: not yet
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(*relay->DeliverDue(), 2);
  auto paid = Paid();
  ASSERT_EQ(paid.size(), 3u);
  for (const auto& [order, amount_times] : paid) {
    EXPECT_EQ(amount_times.first, order * 100);
    EXPECT_EQ(amount_times.second, 1);
  }
}

TEST_F(EventsTest, ASinkThatIsDownLosesNothing) {
  server_->Shutdown();
  server_.reset();
  ASSERT_TRUE(Pay(1, 100).ok());
  auto relay = Relay();
  EXPECT_EQ(*relay->DeliverDue(), 0);
  EXPECT_EQ(Undelivered(), 1);
  StartSink();                         // back on the same port
  EXPECT_EQ(*relay->DeliverDue(), 0);  // backing off: not yet
  // Once the backoff has passed, the event goes (gRPC reconnects to the sink in its own time).
  int delivered = 0;
  for (int i = 0; i < 100 && delivered == 0; ++i) {
    clock_.Advance(absl::Minutes(10));
    delivered = *relay->DeliverDue();
    if (delivered == 0) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(delivered, 1);
  EXPECT_EQ(Paid()[1].second, 1);
}

TEST_F(EventsTest, OnlyServicesOfTheEventsBrandDeliver) {
  auto stub = ev::EventSink::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", sink_port_),
                                                         grpc::InsecureChannelCredentials()));
  ev::DeliverEventsRequest request;
  ev::Event* e = request.add_events();
  e->set_id(7);
  e->set_producer("order");
  e->set_type(ev::OrderPaid::descriptor()->full_name());
  e->set_brand_id(kBrand);
  ev::OrderPaid paid;
  paid.set_order_id(7);
  paid.set_amount_fen(700);
  e->set_payload(paid.SerializeAsString());
  auto call = [&](Role role, const std::string& brand) {
    grpc::ClientContext context;
    AttachPrincipal(context,
                    codec_.Encode(Principal{role, brand, "x", clock_.Now() + absl::Hours(1)}));
    ev::DeliverEventsResponse response;
    return stub->DeliverEvents(&context, request, &response).error_code();
  };
  EXPECT_EQ(call(Role::kOps, kBrand), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(call(Role::kViewer, kBrand), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(call(Role::kService, "rival"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Paid().empty());
  EXPECT_EQ(call(Role::kService, kBrand), grpc::StatusCode::OK);
  EXPECT_EQ(call(Role::kService, kBrand), grpc::StatusCode::OK);  // again: applied once
  EXPECT_EQ(Paid()[7], std::make_pair(int64_t{700}, int64_t{1}));
  // A type this consumer does not handle is acknowledged and skipped; a payload that does not
  // parse is refused (and would be retried until the consumer is fixed).
  e->set_id(8);
  e->set_type("livecommerce.events.v1.SessionStarted");
  EXPECT_EQ(call(Role::kService, kBrand), grpc::StatusCode::OK);
  e->set_id(9);
  e->set_type(ev::OrderPaid::descriptor()->full_name());
  e->set_payload("\xff\xff not a proto");
  EXPECT_EQ(call(Role::kService, kBrand), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Paid().size(), 1u);
}

}  // namespace
}  // namespace livecommerce::common
