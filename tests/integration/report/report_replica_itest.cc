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
#include "services/common/clock.h"
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
         "report_session_sales", "report_applied", "report_cursors", "order_outbox", "refunds",
         "conversions", "payments", "order_lines", "orders", "room_invites", "room_sessions",
         "rooms"});
    ASSERT_NE(primary_, nullptr);
    auto replica = common::MysqlPool::Create(ReplicaConfig());
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = *std::move(replica);
    store_ = std::make_unique<MysqlReportStore>(*primary_, absl::ZeroDuration(), replica_.get());
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
  int64_t Insert(const std::string& sql) {
    return *primary_->Run([&](MysqlConnection& c) -> absl::StatusOr<int64_t> {
      c.Execute(sql);
      return c.LastInsertId();
    });
  }
  // A paid order of one line in `session`, as the order service writes it.
  void Paid(int64_t session, const std::string& buyer, int64_t amount) {
    std::string at = absl::StrCat("'", common::ToSqlTime(kDay + absl::Minutes(++orders_)), "'");
    int64_t order = Insert(absl::StrCat(
        "INSERT INTO orders (brand_id, buyer_id, idempotency_key, request_hash, status, "
        "total_fen, session_id, channel, associate_id, address, provider, paid_at, created_at, "
        "updated_at) VALUES ('",
        kBrand, "', '", buyer, "', 'k", orders_, "', REPEAT('0', 64), 2, ", amount, ", ", session,
        ", 6, '', '', 1, ", at, ", ", at, ", ", at, ")"));
    Insert(absl::StrCat(
        "INSERT INTO order_lines (order_id, line_no, brand_id, product_id, sku_id, quantity, "
        "unit_price_fen, line_total_fen, reservation_id) VALUES (",
        order, ", 1, '", kBrand, "', 31, 1, 1, ", amount, ", ", amount, ", 'r", order, "')"));
    Insert(absl::StrCat(
        "INSERT INTO conversions (brand_id, order_id, session_id, buyer_id, amount_fen, currency, "
        "units, channel, associate_id, paid_at) VALUES ('",
        kBrand, "', ", order, ", ", session, ", '", buyer, "', ", amount, ", 'CNY', 1, 6, '', ", at,
        ")"));
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
  std::unique_ptr<ReportServiceImpl> service_;
  std::unique_ptr<common::GrpcServer> server_;
  std::unique_ptr<v1::ReportService::Stub> stub_;
  int orders_ = 0;
};

TEST_F(ReportReplicaTest, ReportsAreReadFromTheReplicaAndKeptOnThePrimary) {
  int64_t room = Insert(absl::StrCat(
      "INSERT INTO rooms (brand_id, title, description, scheduled_start, visibility, audiences, "
      "objective, format, status, created_by, created_at, updated_at) VALUES ('",
      kBrand, "', 'Replica show', '', NOW(), 1, 2, 1, 1, 3, 'ops', NOW(), NOW())"));
  int64_t session = Insert(absl::StrCat(
      "INSERT INTO room_sessions (brand_id, room_id, status, presence_buckets, started_at, "
      "ended_at, reach, peak_concurrency, total_joins, duration_seconds) VALUES ('",
      kBrand, "', ", room, ", 2, 4, '2027-01-01 00:00:00', '2027-01-01 01:00:00', 100, 40, 120, ",
      "3600)"));
  Paid(session, "alice", 120000);
  ASSERT_EQ(*service_->ConsumeOnce(), 1);  // applied on the primary
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
  ASSERT_EQ(*service_->ConsumeOnce(), 1);
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
