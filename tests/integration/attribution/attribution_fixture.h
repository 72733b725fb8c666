// The attribution service fixture shared by the integration tests: the real service over real
// gRPC and the real MariaDB that scripts/test starts, with a fake clock and fake directories.
#pragma once

#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "livecommerce/v1/attribution.grpc.pb.h"
#include "services/attribution/api/attribution_service.h"
#include "services/attribution/store/mysql_attribution_store.h"
#include "services/common/clock.h"
#include "services/common/grpc_server.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "tests/support/test_env.h"

namespace livecommerce::attribution {

using common::Principal;
using common::Role;

constexpr char kBrand[] = "maison";
const absl::Time kStart = absl::FromUnixSeconds(1793491200);  // 2026-11-01T00:00:00Z

class FakeDirectories final : public Directories {
 public:
  absl::StatusOr<std::string> HostAssociate(const std::string&, const std::string& room) override {
    std::lock_guard<std::mutex> lock(mu_);
    // The room service answers another brand's room as it answers a missing one.
    if (unknown_rooms.count(room)) return absl::NotFoundError("room_id: no such room");
    return hosts[room];
  }
  absl::StatusOr<std::string> ProductCategory(const std::string&,
                                              const std::string& product) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (unknown_products.count(product)) return absl::NotFoundError("product_id: no such product");
    return categories[product];
  }
  std::map<std::string, std::string> hosts;
  std::map<std::string, std::string> categories;
  std::set<std::string> unknown_rooms;     // e.g. another brand's
  std::set<std::string> unknown_products;  // e.g. another brand's

 private:
  std::mutex mu_;
};

class AttributionServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mysql_ = livecommerce::testing::ConnectTestMysql(
        {"client_presence", "unpaid_order_watch", "associate_alerts", "settlement_runs",
         "commission_daily_totals", "commission_entries", "attributed_refunds", "attributed_orders",
         "commission_rule_lines", "commission_rules", "client_binding_locks", "client_bindings",
         "touches", "share_link_codes", "share_links", "associates", "attribution_stores"});
    ASSERT_NE(mysql_, nullptr);
    ASSERT_TRUE(mysql_
                    ->Run([](common::MysqlConnection& c) {
                      c.Execute("UPDATE settlement_clock SET settled_through = '1970-01-01'");
                      return absl::OkStatus();
                    })
                    .ok());
    store_ = std::make_unique<MysqlAttributionStore>(*mysql_);
    options_.attribution.window = absl::Hours(24 * 7);
    options_.attribution.protection = absl::Hours(24 * 2);
    options_.refund_window = absl::Hours(24 * 7);
    options_.rule_cache_ttl = absl::ZeroDuration();
    StartService();
  }

  void StartService() {
    server_.reset();
    service_ = std::make_unique<AttributionServiceImpl>(*store_, directories_, clock_, codec_,
                                                        options_, codes_);
    server_ = *common::GrpcServer::Start(common::ServerOptions{}, {service_.get()});
    stub_ = v1::AttributionService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  std::unique_ptr<grpc::ClientContext> As(Role role, const std::string& subject,
                                          const std::string& brand = kBrand) {
    auto context = std::make_unique<grpc::ClientContext>();
    common::AttachPrincipal(
        *context,
        codec_.Encode(Principal{role, brand, subject, clock_.Now() + absl::Hours(24 * 400)}));
    return context;
  }

  std::string NewStore(const std::string& name) {
    v1::CreateStoreRequest request;
    request.set_name(name);
    v1::CreateStoreResponse response;
    EXPECT_TRUE(stub_->CreateStore(As(Role::kOps, "ops-1").get(), request, &response).ok());
    return response.store().id();
  }

  std::string NewAssociate(const std::string& store_id, const std::string& name) {
    v1::CreateAssociateRequest request;
    request.set_store_id(store_id);
    request.set_name(name);
    v1::CreateAssociateResponse response;
    grpc::Status s = stub_->CreateAssociate(As(Role::kOps, "ops-1").get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.associate().id();
  }

  std::string NewLink(const std::string& associate_id, const std::string& room_id = "501") {
    v1::CreateShareLinkRequest request;
    request.set_target(v1::SHARE_TARGET_ROOM);
    request.set_room_id(room_id);
    request.set_share_channel(v1::SHARE_CHANNEL_PRIVATE_CHAT);
    v1::CreateShareLinkResponse response;
    grpc::Status s =
        stub_->CreateShareLink(As(Role::kAssociate, associate_id).get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.link().id();
  }

  grpc::Status Open(const std::string& viewer, const std::string& link,
                    v1::OpenShareLinkResponse* out = nullptr) {
    v1::OpenShareLinkRequest request;
    request.set_share_link_id(link);
    v1::OpenShareLinkResponse response;
    return stub_->OpenShareLink(As(Role::kViewer, viewer).get(), request,
                                out != nullptr ? out : &response);
  }

  // A brand-wide rule: associate 5%, store 2%, e-commerce team 1%, CRM team 0.5%.
  void StandardRule() {
    v1::CreateCommissionRuleRequest request;
    request.set_scope(v1::RULE_SCOPE_BRAND);
    common::ToTimestamp(kStart - absl::Hours(24 * 365), request.mutable_effective_from());
    for (auto [recipient, bp] :
         std::vector<std::pair<v1::Recipient, int>>{{v1::RECIPIENT_ASSOCIATE, 500},
                                                    {v1::RECIPIENT_STORE, 200},
                                                    {v1::RECIPIENT_ECOMMERCE_TEAM, 100},
                                                    {v1::RECIPIENT_CRM_TEAM, 50}}) {
      v1::SplitLine* line = request.add_lines();
      line->set_recipient(recipient);
      line->set_basis_points(bp);
    }
    v1::CreateCommissionRuleResponse response;
    grpc::Status s =
        stub_->CreateCommissionRule(As(Role::kFinance, "fin-1").get(), request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  v1::PaidOrderEvent Event(const std::string& order_id, const std::string& buyer,
                           int64_t amount_fen, absl::Time paid_at) {
    v1::PaidOrderEvent e;
    e.set_order_id(order_id);
    e.set_buyer_id(buyer);
    e.set_room_id("501");
    e.set_session_id("9001");
    e.mutable_amount()->set_amount_fen(amount_fen);
    e.mutable_amount()->set_currency("CNY");
    common::ToTimestamp(paid_at, e.mutable_paid_at());
    v1::PaidOrderLine* line = e.add_lines();
    line->set_sku_id("31");
    line->set_product_id("21");
    line->set_quantity(1);
    line->set_amount_fen(amount_fen);
    return e;
  }

  grpc::Status Pay(const v1::PaidOrderEvent& e, v1::RecordPaidOrderResponse* out) {
    return stub_->RecordPaidOrder(As(Role::kService, "order").get(), e, out);
  }

  v1::RecordPaidOrderResponse PayOk(const v1::PaidOrderEvent& e) {
    v1::RecordPaidOrderResponse response;
    grpc::Status s = Pay(e, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  grpc::Status Refund(const std::string& order_id, const std::string& refund_id, int64_t fen,
                      v1::RecordRefundResponse* out) {
    v1::RefundEvent e;
    e.set_order_id(order_id);
    e.set_refund_id(refund_id);
    e.mutable_amount()->set_amount_fen(fen);
    e.mutable_amount()->set_currency("CNY");
    common::ToTimestamp(clock_.Now(), e.mutable_refunded_at());
    return stub_->RecordRefund(As(Role::kService, "order").get(), e, out);
  }

  int64_t Scalar(const std::string& query, const std::string& param = "") {
    absl::StatusOr<int64_t> value =
        mysql_->Run([&](common::MysqlConnection& c) -> absl::StatusOr<int64_t> {
          sql::PreparedStatement& s = c.Prepare(query);
          if (!param.empty()) s.setString(1, param);
          std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
          return rs->next() ? rs->getInt64(1) : -1;
        });
    EXPECT_TRUE(value.ok()) << value.status();
    return value.value_or(-1);
  }

  int64_t OrderNet(const std::string& order_id) {
    return Scalar("SELECT COALESCE(SUM(amount_fen), 0) FROM commission_entries WHERE order_id = ?",
                  order_id);
  }

  std::unique_ptr<common::MysqlPool> mysql_;
  std::unique_ptr<MysqlAttributionStore> store_;
  FakeDirectories directories_;
  common::FakeClock clock_{kStart};
  common::PrincipalCodec codec_{"attribution-test-secret-0123456789"};
  AttributionServiceOptions options_;
  ShareCodeMaker* codes_ = nullptr;  // share links' codes: null draws them locally
  std::unique_ptr<AttributionServiceImpl> service_;
  std::unique_ptr<common::GrpcServer> server_;
  std::unique_ptr<v1::AttributionService::Stub> stub_;
};

}  // namespace livecommerce::attribution
