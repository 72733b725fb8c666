// Carts over real gRPC (port 0) against the real Redis that scripts/test starts.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "livecommerce/v1/order.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/grpc_server.h"
#include "services/common/principal.h"
#include "services/order/api/order_service.h"
#include "services/order/store/redis_cart_store.h"
#include "tests/support/test_env.h"

namespace livecommerce::order {
namespace {

using common::Principal;
using common::Role;

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);

class CartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = testing::ConnectTestRedis();
    ASSERT_NE(redis_, nullptr);
    carts_ = std::make_unique<RedisCartStore>(*redis_, absl::Hours(72));
    ASSERT_TRUE(carts_->LoadScripts().ok());
    service_ = std::make_unique<OrderServiceImpl>(*carts_, clock_, codec_);
    auto server = common::GrpcServer::Start(common::ServerOptions{}, {service_.get()});
    ASSERT_TRUE(server.ok());
    server_ = *std::move(server);
    stub_ = v1::OrderService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  std::unique_ptr<grpc::ClientContext> As(const Principal& p) {
    auto c = std::make_unique<grpc::ClientContext>();
    common::AttachPrincipal(*c, codec_.Encode(p));
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return c;
  }
  Principal Viewer(const std::string& id) {
    return {Role::kViewer, "maison", id, kT0 + absl::Hours(1)};
  }
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

  common::FakeClock clock_{kT0};
  common::PrincipalCodec codec_{"integration-test-secret-0123456789"};
  std::unique_ptr<common::RedisPool> redis_;
  std::unique_ptr<RedisCartStore> carts_;
  std::unique_ptr<OrderServiceImpl> service_;
  std::unique_ptr<common::GrpcServer> server_;
  std::unique_ptr<v1::OrderService::Stub> stub_;
};

TEST_F(CartTest, AddMergesLinesAndKeepsWhereTheyCameFrom) {
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

TEST_F(CartTest, UpdateRemoveAndClear) {
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

TEST_F(CartTest, LimitsAndBadInputChangeNothing) {
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
  Principal ops{Role::kOps, "maison", "ops", kT0 + absl::Hours(1)};
  EXPECT_EQ(stub_->GetCart(As(ops).get(), v1::GetCartRequest(), &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(CartTest, ConcurrentAddsAreExact) {
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

}  // namespace
}  // namespace livecommerce::order
