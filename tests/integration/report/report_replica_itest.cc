// Reports read from a MariaDB replica while the aggregates are kept on the primary. Run by
// tests/e2e/report_replica_test.sh, which starts a primary (LC_TEST_MYSQL) and a read-only replica
// of it (LC_TEST_MYSQL_REPLICA); the lc user may stop and start the replica's replication.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "livecommerce/events/v1/events.pb.h"
#include "services/common/clock.h"
#include "services/common/events.h"
#include "services/common/grpc_server.h"
#include "services/common/proto_util.h"
#include "services/report/api/report_service.h"
#include "services/report/store/report_store.h"
#include "tests/support/test_env.h"

namespace livecommerce::report {
namespace {

using common::MysqlConnection;
using common::Principal;
using common::Role;

constexpr char kBrand[] = "replica-brand";
const absl::Time kDay = absl::FromUnixSeconds(1798761600);  // 2027-01-01

class NoLiveStats final : public LiveStats {
 public:
  absl::StatusOr<LiveFigures> Figures(const std::string&, int64_t) override {
    return absl::UnavailableError("no room service here");
  }
  absl::StatusOr<bool> Admitted(const std::string&, int64_t, const std::string&) override {
    return absl::UnavailableError("no room service here");
  }
};

common::MysqlConfig ReplicaConfig() {
  common::MysqlConfig config = livecommerce::testing::TestMysqlConfig();
  const char* replica = std::getenv("LC_TEST_MYSQL_REPLICA");
  EXPECT_NE(replica, nullptr) << "LC_TEST_MYSQL_REPLICA: run through report_replica_test.sh";
  if (replica == nullptr) return config;
  std::string address = replica;
  config.host = address.substr(0, address.rfind(':'));
  EXPECT_TRUE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &config.port));
  return config;
}

class ReportReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    primary_ = livecommerce::testing::ConnectTestMysql(
        {"report_funnel_viewers", "report_session_funnel", "report_session_buyers",
         "report_session_sales", "report_consumed_events", "report_sessions", "report_orders",
         "report_credits", "report_refunds"});
    ASSERT_NE(primary_, nullptr);
    auto replica = common::MysqlPool::Create(ReplicaConfig());
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = *std::move(replica);
    store_ = std::make_unique<MysqlReportStore>(*primary_, clock_, replica_.get());
    consumer_ =
        std::make_unique<common::EventConsumer>(*primary_, "report_consumed_events", clock_);
    store_->Subscribe(*consumer_);
    service_ = std::make_unique<ReportServiceImpl>(*store_, live_, clock_, codec_);
    server_ = *common::GrpcServer::Start(common::ServerOptions{}, {service_.get()});
    stub_ = v1::ReportService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  void Exec(common::MysqlPool& pool, const std::string& sql) {
    absl::Status s = pool.Run([&](MysqlConnection& c) -> absl::Status {
      c.Execute(sql);
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << sql << ": " << s.message();
  }
  // Applies an event as `producer` publishes it (through the primary: the consumer writes there).
  template <typename Payload>
  void Apply(const std::string& producer, const Payload& payload) {
    events::v1::Event e;
    e.set_id(++event_id_);
    e.set_producer(producer);
    e.set_type(Payload::descriptor()->full_name());
    e.set_brand_id(kBrand);
    e.set_payload(payload.SerializeAsString());
    absl::Status applied = consumer_->Apply(e);
    ASSERT_TRUE(applied.ok()) << applied;
  }
  // A session that ran for an hour, as the room service publishes it.
  int64_t Session() {
    int64_t id = 77;
    events::v1::SessionStarted started;
    started.set_session_id(id);
    started.set_room_id(7);
    started.set_title("Replica show");
    started.set_visibility(1);
    started.set_audiences(2);
    started.set_objective(1);
    started.set_format(1);
    common::ToTimestamp(kDay, started.mutable_started_at());
    Apply("room", started);
    events::v1::SessionEnded ended;
    ended.set_session_id(id);
    ended.set_room_id(7);
    common::ToTimestamp(kDay + absl::Hours(1), ended.mutable_ended_at());
    ended.set_duration_seconds(3600);
    ended.set_reach(100);
    ended.set_peak_concurrency(40);
    ended.set_total_joins(120);
    Apply("room", ended);
    return id;
  }
  // A paid order of one line in `session`, as the order service publishes it.
  void Paid(int64_t session, const std::string& buyer, int64_t amount) {
    events::v1::OrderPaid paid;
    paid.set_order_id(++orders_);
    paid.set_session_id(session);
    paid.set_buyer_id(buyer);
    paid.set_channel(6);
    paid.set_currency("CNY");
    paid.set_amount_fen(amount);
    paid.set_units(1);
    events::v1::OrderLine* line = paid.add_lines();
    line->set_line_no(1);
    line->set_product_id(31);
    line->set_quantity(1);
    line->set_unit_price_fen(amount);
    line->set_line_total_fen(amount);
    common::ToTimestamp(kDay + absl::Minutes(orders_), paid.mutable_paid_at());
    Apply("order", paid);
  }
  // Orders of the session's sales row as `pool` sees it (-1: no row yet).
  int64_t OrdersIn(common::MysqlPool& pool, int64_t session) {
    return *pool.Run([&](MysqlConnection& c) -> absl::StatusOr<int64_t> {
      sql::PreparedStatement& s = c.Prepare(
          "SELECT orders FROM report_session_sales WHERE session_id = ? AND dimension = 0");
      s.setInt64(1, session);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      return rs->next() ? rs->getInt64(1) : -1;
    });
  }
  // Waits until the replica has caught up with `orders` orders in the session (10 s at most).
  bool ReplicaHas(int64_t session, int64_t orders) {
    for (int i = 0; i < 200; ++i) {
      if (OrdersIn(*replica_, session) == orders) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  v1::SessionReport Report(int64_t session) {
    grpc::ClientContext context;
    common::AttachPrincipal(context, codec_.Encode(Principal{Role::kOps, kBrand, "ops",
                                                             clock_.Now() + absl::Hours(1)}));
    v1::GetSessionReportRequest request;
    request.set_session_id(absl::StrCat(session));
    v1::GetSessionReportResponse response;
    grpc::Status s = stub_->GetSessionReport(&context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.report();
  }

  common::FakeClock clock_{kDay + absl::Hours(24)};
  common::PrincipalCodec codec_{"replica-test-secret-0123456789abcdef"};
  NoLiveStats live_;
  std::unique_ptr<common::MysqlPool> primary_;
  std::unique_ptr<common::MysqlPool> replica_;
  std::unique_ptr<MysqlReportStore> store_;
  std::unique_ptr<common::EventConsumer> consumer_;
  std::unique_ptr<ReportServiceImpl> service_;
  std::unique_ptr<common::GrpcServer> server_;
  std::unique_ptr<v1::ReportService::Stub> stub_;
  int orders_ = 0;
  int64_t event_id_ = 0;
};

TEST_F(ReportReplicaTest, ReportsAreReadFromTheReplicaAndKeptOnThePrimary) {
  int64_t session = Session();
  Paid(session, "alice", 120000);  // applied on the primary
  ASSERT_TRUE(ReplicaHas(session, 1));
  EXPECT_EQ(Report(session).sales().orders(), 1);

  // The replica can not be written: the consumer could only have written through the primary.
  absl::Status write = replica_->Run([&](MysqlConnection& c) -> absl::Status {
    c.Execute("UPDATE report_session_sales SET orders = 99");
    return absl::OkStatus();
  });
  EXPECT_FALSE(write.ok());

  // With replication paused, a second sale reaches the primary's aggregates but not the report,
  // which is read from the replica.
  Exec(*replica_, "STOP SLAVE");
  Paid(session, "bob", 80000);
  EXPECT_EQ(OrdersIn(*primary_, session), 2);
  v1::SessionReport lagging = Report(session);
  EXPECT_EQ(lagging.sales().orders(), 1);
  EXPECT_EQ(lagging.sales().gmv().amount_fen(), 120000);

  // Replication resumes: the report catches up.
  Exec(*replica_, "START SLAVE");
  ASSERT_TRUE(ReplicaHas(session, 2));
  v1::SessionReport caught_up = Report(session);
  EXPECT_EQ(caught_up.sales().orders(), 2);
  EXPECT_EQ(caught_up.sales().gmv().amount_fen(), 200000);
}

}  // namespace
}  // namespace livecommerce::report
