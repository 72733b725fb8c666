// The order service over real gRPC against the real Redis and MariaDB that scripts/test starts,
// with real room, catalog and flash-sale services in the same test: carts, checkout, sandbox
// payment, expiry, recovery of interrupted checkouts, and who may read what.

#include <map>

#include "absl/strings/str_cat.h"
#include "livecommerce/events/v1/events.pb.h"
#include "tests/integration/order/order_fixture.h"

namespace livecommerce::order {
namespace {

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

// An order records which broadcast of its session it was bought from, and its OrderPaid tells the
// report; a broadcast without a session, or an unknown one, is refused and writes nothing.
TEST_F(OrderServiceTest, AnOrderCarriesTheBroadcastItWasBoughtFrom) {
  std::string sku = CreateSku(10);
  v1::CheckoutRequest replay = CheckoutOf("replay-1", {{sku, "", 1}});
  replay.mutable_room()->set_broadcast(v1::BROADCAST_REPLAY);
  v1::Order order;
  grpc::Status s = Checkout("alice", replay, &order);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(order.room().broadcast(), v1::BROADCAST_REPLAY);
  ASSERT_TRUE(Pay("alice", order.id()).ok());
  v1::Order live;
  ASSERT_TRUE(Checkout("bob", CheckoutOf("live-1", {{sku, "", 1}}), &live).ok());
  EXPECT_EQ(live.room().broadcast(), v1::BROADCAST_LIVE);  // a session without one: the live
  ASSERT_TRUE(Pay("bob", live.id()).ok());
  // What the report is told.
  std::map<std::string, int> broadcasts;
  ASSERT_TRUE(mysql_
                  ->Run([&](common::MysqlConnection& c) {
                    std::unique_ptr<sql::ResultSet> rs(
                        c.Prepare("SELECT payload FROM order_event_outbox WHERE subscriber = "
                                  "'report' AND type = 'livecommerce.events.v1.OrderPaid'")
                            .executeQuery());
                    while (rs->next()) {
                      events::v1::OrderPaid paid;
                      EXPECT_TRUE(paid.ParseFromString(rs->getString("payload")));
                      broadcasts[absl::StrCat(paid.order_id())] = paid.broadcast();
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(broadcasts[order.id()], v1::BROADCAST_REPLAY);
  EXPECT_EQ(broadcasts[live.id()], v1::BROADCAST_LIVE);

  int64_t orders = Count("SELECT COUNT(*) FROM orders");
  v1::CheckoutRequest sessionless = CheckoutOf("replay-2", {{sku, "", 1}});
  sessionless.mutable_room()->clear_session_id();
  sessionless.mutable_room()->set_broadcast(v1::BROADCAST_REPLAY);
  s = Checkout("carol", sessionless);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("room.broadcast"), std::string::npos) << s.error_message();
  v1::CheckoutRequest unknown = CheckoutOf("replay-3", {{sku, "", 1}});
  unknown.mutable_room()->set_broadcast(static_cast<v1::Broadcast>(7));
  s = Checkout("carol", unknown);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("room.broadcast"), std::string::npos) << s.error_message();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM orders"), orders);
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
  // One OrderPaid for the report, however often the payment is told.
  EXPECT_EQ(PaidEvents(), 1);
  ASSERT_TRUE(relay_->DeliverOnce().ok());
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
  EXPECT_EQ(PaidEvents(), kBuyers);
  EXPECT_EQ(Count("SELECT SUM(line_total_fen) FROM order_lines"), units * 100000);
  EXPECT_EQ(Sku(sku).reserved(), units);
  ASSERT_TRUE(relay_->DeliverOnce().ok());
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
  auto expired = expiry_->ExpireOnce();
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
                  ->Reserve(kBrand, begun->order.lines[0].reservation_id, line.sku_id, 0, "alice",
                            3, absl::Minutes(20))
                  .ok());
  EXPECT_EQ(Sku(sku).reserved(), 3);
  // A restarted service's recovery job finds it once the checkout has clearly died.
  EXPECT_EQ(*recovery_->RecoverOnce(), 0);
  clock_.Advance(absl::Seconds(61));
  EXPECT_EQ(*recovery_->RecoverOnce(), 1);
  EXPECT_EQ(Sku(sku).reserved(), 0);
  EXPECT_EQ(*recovery_->RecoverOnce(), 0);
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
  ASSERT_TRUE(relay_->DeliverOnce().ok());
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

using WechatPayOrderTest = OrderServiceTest;

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
  EXPECT_EQ(PaidEvents(), 1);
  ASSERT_TRUE(relay_->DeliverOnce().ok());
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
  EXPECT_EQ(PaidEvents(), 0);
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
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE topic = 'refund.request' AND "
                  "status = 0"),
            1);
  EXPECT_TRUE(transport_.refunds_.empty());
  // Back up: the next delivery after the backoff asks once, for one unit.
  transport_.set_fail(false);
  clock_.Advance(absl::Seconds(3));
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  ASSERT_EQ(transport_.refunds_.size(), 1u);
  EXPECT_EQ(transport_.refunds_[0]["amount"]["refund"], order.total().amount_fen() / 2);
  EXPECT_EQ(transport_.refunds_[0]["amount"]["total"], order.total().amount_fen());
  EXPECT_EQ(transport_.refunds_[0]["out_trade_no"], OutTradeNo(std::stoll(order.id())));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE topic = 'refund.request' AND "
                  "status = 1"),
            1);
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  EXPECT_EQ(transport_.refunds_.size(), 1u);
  EXPECT_EQ(transport_.refunds_[0]["out_refund_no"], OutRefundNo(std::stoll(order.id()), "rf.1:a"));
  // WeChat Pay tells how the refund ended: a forged amount changes nothing, the genuine answer
  // settles it once, however often it comes.
  int64_t half = order.total().amount_fen() / 2;
  EXPECT_NE(
      Notify(RefundNotification(order, "rf.1:a", half + 1, "SUCCESS", clock_.Now())).http_status(),
      200);
  EXPECT_EQ(Count("SELECT status FROM refunds"), static_cast<int64_t>(RefundStatus::kRequested));
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(
        Notify(RefundNotification(order, "rf.1:a", half, "SUCCESS", clock_.Now())).http_status(),
        200);
    EXPECT_EQ(Count("SELECT status FROM refunds"), static_cast<int64_t>(RefundStatus::kSucceeded));
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

TEST_F(AttributedOrderTest, AnInvitedClientsOrderIsCreditedToTheInvitingAssociate) {
  Invited lin = InviteClient("mei");
  const std::string& lin_id = lin.associate_id;
  const std::string& room_id = lin.room.room_id();
  // Mei buys (with no attribution context of her own) and pays; putting it in her cart first
  // is a funnel step of the session for the report service.
  std::string sku = CreateSku(10);
  v1::CartItem item = Item(sku, 1);
  item.mutable_room()->set_room_id(room_id);
  item.mutable_room()->set_session_id(lin.room.session_id());
  item.clear_attribution();  // (the fixture's associate is no associate of the brand)
  ASSERT_TRUE(Add("mei", item).ok());
  ASSERT_TRUE(Add("mei", item).ok());  // the same viewer again: still one at this step
  int64_t carted = 0;
  for (int i = 0; i < 100 && carted == 0; ++i) {
    auto steps = report_store_->GetFunnel(std::stoll(lin.room.session_id()));
    ASSERT_TRUE(steps.ok());
    carted = (*steps)[report::kAddedToCart];
    if (carted == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ((*report_store_->GetFunnel(std::stoll(lin.room.session_id())))[report::kAddedToCart],
            1);
  v1::CheckoutRequest checkout = CheckoutOf("m1", {{sku, "", 2}});
  checkout.clear_attribution();
  checkout.mutable_room()->set_room_id(room_id);
  checkout.mutable_room()->set_session_id(lin.room.session_id());
  v1::Order order;
  grpc::Status s = Checkout("mei", checkout, &order);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(Pay("mei", order.id()).ok());
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  ASSERT_TRUE(relay_->DeliverOnce().ok());  // a second pass delivers nothing again

  v1::GetOrderAttributionResponse credited = Attribution(order.id());
  EXPECT_EQ(credited.order().associate_id(), lin_id);
  EXPECT_EQ(credited.order().store_id(), lin.store_id);
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
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  ASSERT_TRUE(stub_->RefundOrder(As(Ops()).get(), refund, &refunded).ok());  // a repeat
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  v1::GetOrderAttributionResponse clawed = Attribution(order.id());
  int64_t net = 0;
  for (const v1::LedgerEntry& e : clawed.entries()) net += e.amount().amount_fen();
  EXPECT_EQ(net, 0);
  EXPECT_EQ(clawed.entries().size(), entries * 2);
}

// Genuine WeChat Pay v3 notifications against every mutation the published format invites, with
// the whole chain behind the order service (attribution, report): only the genuine one is
// accepted, and each refused one leaves no payment, conversion, outbox message or ledger entry.
TEST_F(AttributedOrderTest, TheNotificationMatrixAcceptsOnlyGenuineNotifications) {
  Invited lin = InviteClient("mei");
  std::string sku = CreateSku(10);
  v1::Order order = WechatCheckout("nm1", sku, 2, "mei", &lin.room);
  ASSERT_FALSE(order.id().empty());
  int64_t total = order.total().amount_fen();
  absl::Time now = clock_.Now();
  // A resource WeChat Pay never sent, sealed and signed as if it had.
  auto sealed = [&](const nlohmann::json& resource) {
    return Signed("EV-M-" + order.id(), "TRANSACTION.SUCCESS", resource.dump(), "transaction", now);
  };
  // A genuine notification whose body is edited, then signed again so the edit is what is tested.
  auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    v1::HandlePaymentNotificationRequest r = Notification(order, total, now);
    nlohmann::json body = nlohmann::json::parse(r.body());
    edit(body);
    r.set_body(body.dump());
    Resign(r);
    return r;
  };
  std::vector<std::pair<std::string, v1::HandlePaymentNotificationRequest>> cases;
  {
    v1::HandlePaymentNotificationRequest r = Notification(order, total, now);
    std::string body = r.body();
    body[body.size() / 2] ^= 0x01;
    r.set_body(body);
    cases.emplace_back("a flipped body byte", r);
  }
  {
    v1::HandlePaymentNotificationRequest r = Notification(order, total, now);
    r.set_body(nlohmann::json::parse(r.body()).dump(2));
    cases.emplace_back("re-serialised JSON", r);
  }
  cases.emplace_back("timestamp 301 s behind",
                     Notification(order, total, now - absl::Seconds(301)));
  cases.emplace_back("timestamp 301 s ahead", Notification(order, total, now + absl::Seconds(301)));
  {
    v1::HandlePaymentNotificationRequest r = Notification(order, total, now);
    (*r.mutable_headers())["wechatpay-serial"] = "5157F09EFDC096DE15EBE81A47057A72";
    cases.emplace_back("unknown Wechatpay-Serial", r);
  }
  {
    v1::HandlePaymentNotificationRequest r = Notification(order, total, now);
    (*r.mutable_headers())["wechatpay-signature"] =
        "WECHATPAY/SIGNTEST/" + r.headers().at("wechatpay-signature");
    cases.emplace_back("the WECHATPAY/SIGNTEST/ probe", r);
  }
  {
    v1::HandlePaymentNotificationRequest r = Notification(order, total, now);
    Resign(r, testing::MerchantKey().private_pem);
    cases.emplace_back("signed by another key", r);
  }
  for (const char* header :
       {"wechatpay-timestamp", "wechatpay-nonce", "wechatpay-serial", "wechatpay-signature"}) {
    v1::HandlePaymentNotificationRequest r = Notification(order, total, now);
    r.mutable_headers()->erase(header);
    cases.emplace_back(absl::StrCat("no ", header), r);
  }
  cases.emplace_back("a bad GCM tag", edited([](nlohmann::json& body) {
                       std::string sealed;
                       ASSERT_TRUE(common::Base64Decode(
                           body["resource"]["ciphertext"].get<std::string>(), &sealed));
                       sealed.back() ^= 0x01;
                       body["resource"]["ciphertext"] = common::Base64Encode(sealed);
                     }));
  cases.emplace_back("wrong associated data", edited([](nlohmann::json& body) {
                       body["resource"]["associated_data"] = "refund";
                     }));
  {
    v1::HandlePaymentNotificationRequest r = Notification(order, total, now);
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
    cases.emplace_back("sealed under another APIv3 key", r);
  }
  {
    nlohmann::json resource = PaidResource(order, total - 1);
    cases.emplace_back("an amount one fen short", sealed(resource));
  }
  {
    nlohmann::json resource = PaidResource(order, total);
    resource["amount"]["currency"] = "USD";
    cases.emplace_back("another currency", sealed(resource));
  }
  {
    nlohmann::json resource = PaidResource(order, total);
    resource["mchid"] = "1900000109";
    cases.emplace_back("another mchid", sealed(resource));
  }
  {
    nlohmann::json resource = PaidResource(order, total);
    resource["appid"] = "wx0000000000000000";
    cases.emplace_back("another appid", sealed(resource));
  }
  {
    nlohmann::json resource = PaidResource(order, total);
    resource["out_trade_no"] = OutTradeNo(std::stoll(order.id()) + 1000000);
    cases.emplace_back("an out_trade_no that does not exist", sealed(resource));
  }
  {
    nlohmann::json resource = PaidResource(order, total);
    resource["trade_state"] = "NOTPAY";
    cases.emplace_back("trade_state NOTPAY", sealed(resource));
  }

  int false_accepts = 0;
  for (const auto& [name, request] : cases) {
    v1::HandlePaymentNotificationResponse response = Notify(request);
    if (response.http_status() == 200) {
      ++false_accepts;
      ADD_FAILURE() << "accepted: " << name;
    }
    EXPECT_NE(response.http_body().find("FAIL"), std::string::npos) << name;
  }
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  EXPECT_EQ(StatusOf(order.id()), v1::ORDER_STATUS_PENDING_PAYMENT);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM payments"), 0);
  EXPECT_EQ(PaidEvents(), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE topic = 'order.paid'"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM attributed_orders"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM commission_entries"), 0);

  // The genuine one, last, is accepted: the matrix refused for the mutation, not for the order.
  EXPECT_EQ(Notify(Notification(order, total, now)).http_status(), 200);
  EXPECT_EQ(StatusOf(order.id()), v1::ORDER_STATUS_PAID);
  std::printf("RESULT notification_matrix mutations=%zu false_accepts=%d\n", cases.size(),
              false_accepts);
}

// 50 copies of one genuine payment notification, the second half arriving together with copies of
// its refund notification and the outbox relaying both to attribution: one PAID transition, one
// payment, one conversion, one set of commission entries and one set of reversals.
TEST_F(AttributedOrderTest, FiftyCopiesOfANotificationBesideItsRefundPayAndClawBackOnce) {
  Invited lin = InviteClient("mei");
  std::string sku = CreateSku(10);
  v1::Order order = WechatCheckout("nm2", sku, 2, "mei", &lin.room);
  ASSERT_FALSE(order.id().empty());
  int64_t total = order.total().amount_fen();
  const v1::HandlePaymentNotificationRequest paid = Notification(order, total, clock_.Now());
  const v1::HandlePaymentNotificationRequest refunded =
      RefundNotification(order, "rf-all", total, "SUCCESS", clock_.Now());

  std::atomic<int> accepted{0}, refused{0};
  auto send = [&](const v1::HandlePaymentNotificationRequest& r) {
    (Notify(r).http_status() == 200 ? accepted : refused)++;
  };
  // Wave one: 25 copies at once.
  {
    std::latch go(25);
    std::vector<std::thread> threads;
    for (int i = 0; i < 25; ++i) {
      threads.emplace_back([&] {
        go.arrive_and_wait();
        send(paid);
      });
    }
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(accepted.load(), 25);
  EXPECT_EQ(StatusOf(order.id()), v1::ORDER_STATUS_PAID);
  // Ops refund it all; the outbox asks WeChat Pay and tells attribution of the payment.
  v1::RefundOrderRequest refund;
  refund.set_order_id(order.id());
  refund.set_refund_id("rf-all");
  v1::RefundOrderResponse refund_asked;
  ASSERT_TRUE(stub_->RefundOrder(As(Ops()).get(), refund, &refund_asked).ok());
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  ASSERT_EQ(transport_.refunds_.size(), 1u);
  // Wave two: 25 more copies of the payment, 10 of the refund's outcome and the outbox relay, all
  // at once.
  {
    std::latch go(36);
    std::vector<std::thread> threads;
    for (int i = 0; i < 25; ++i) {
      threads.emplace_back([&] {
        go.arrive_and_wait();
        send(paid);
      });
    }
    for (int i = 0; i < 10; ++i) {
      threads.emplace_back([&] {
        go.arrive_and_wait();
        send(refunded);
      });
    }
    threads.emplace_back([&] {
      go.arrive_and_wait();
      for (int i = 0; i < 5; ++i) EXPECT_TRUE(relay_->DeliverOnce().ok());
    });
    for (auto& t : threads) t.join();
  }
  // The refund may have reached attribution before the payment it claws back; it is retried after
  // its backoff.
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Seconds(30));
    ASSERT_TRUE(relay_->DeliverOnce().ok());
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE status = 0"), 0);
  EXPECT_EQ(accepted.load(), 60);  // every copy is acknowledged, so WeChat Pay stops sending
  EXPECT_EQ(refused.load(), 0);
  EXPECT_EQ(StatusOf(order.id()), v1::ORDER_STATUS_REFUNDED);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM payments"), 1);
  EXPECT_EQ(PaidEvents(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM order_outbox WHERE topic = 'order.paid'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM refunds"), 1);
  EXPECT_EQ(Count("SELECT status FROM refunds"), static_cast<int64_t>(RefundStatus::kSucceeded));
  EXPECT_EQ(transport_.refunds_.size(), 1u);
  // Attribution: one credited order, its split once and its reversal once; the net is zero.
  v1::GetOrderAttributionResponse ledger = Attribution(order.id());
  EXPECT_EQ(ledger.order().associate_id(), lin.associate_id);
  int64_t credited = 0, reversed = 0;
  int credits = 0, reversals = 0;
  for (const v1::LedgerEntry& e : ledger.entries()) {
    if (e.amount().amount_fen() > 0) {
      credited += e.amount().amount_fen();
      ++credits;
    } else {
      reversed += e.amount().amount_fen();
      ++reversals;
    }
  }
  EXPECT_EQ(credits, 2);  // associate and store
  EXPECT_EQ(reversals, 2);
  EXPECT_EQ(credited, total * 500 / 10000 + total * 200 / 10000);
  EXPECT_EQ(credited + reversed, 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM attributed_orders"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM attributed_refunds"), 1);
}

}  // namespace
}  // namespace livecommerce::order
