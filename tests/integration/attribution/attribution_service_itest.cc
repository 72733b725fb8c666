// The attribution service over real gRPC against the real MariaDB that scripts/test starts, with a
// fake clock: links, touches and bindings; paid orders credited once however often (and however
// concurrently) they are delivered; exact splits and refund clawbacks; window and protection
// edges; reassignment; settlement and receivables; statements; alerts; who may read what.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/integration/attribution/attribution_fixture.h"

namespace livecommerce::attribution {
namespace {

using common::Principal;
using common::Role;

TEST_F(AttributionServiceTest, OpeningALinkBindsTheViewerAndThePaidOrderIsSplitExactly) {
  StandardRule();
  std::string store = NewStore("Shanghai IFC");
  std::string alice = NewAssociate(store, "Alice");
  std::string link = NewLink(alice);
  v1::OpenShareLinkResponse opened;
  ASSERT_TRUE(Open("viewer-1", link, &opened).ok());
  EXPECT_EQ(opened.link().room_id(), "501");
  EXPECT_EQ(opened.touch().associate_id(), alice);
  EXPECT_EQ(opened.attribution().share_link_id(), link);

  clock_.Advance(absl::Hours(1));
  v1::RecordPaidOrderResponse paid = PayOk(Event("1001", "viewer-1", 1234567, clock_.Now()));
  EXPECT_FALSE(paid.replayed());
  EXPECT_EQ(paid.order().rule(), v1::ATTRIBUTION_RULE_BOUND_CLIENT);
  EXPECT_EQ(paid.order().associate_id(), alice);
  EXPECT_EQ(paid.order().store_id(), store);
  ASSERT_EQ(paid.entries_size(), 4);
  int64_t sum = 0;
  for (const v1::LedgerEntry& e : paid.entries()) {
    EXPECT_GE(e.amount().amount_fen(), 0);
    sum += e.amount().amount_fen();
  }
  EXPECT_EQ(sum, SplitPool(1234567, 850));
  EXPECT_EQ(paid.entries(0).amount().amount_fen(), 61728);  // 5% of 12345.67 yuan, rounded down
  EXPECT_EQ(OrderNet("1001"), sum);
}

TEST_F(AttributionServiceTest, APageThatEndsTheListHasNoNextPage) {
  // One paging convention everywhere: a token only when more rows follow.
  for (int i = 0; i < 3; ++i) NewStore(absl::StrCat("Store ", i));
  auto list = [&](int size, const std::string& token) {
    v1::ListStoresRequest request;
    request.set_page_size(size);
    request.set_page_token(token);
    v1::ListStoresResponse response;
    EXPECT_TRUE(stub_->ListStores(As(Role::kOps, "ops-1").get(), request, &response).ok());
    return response;
  };
  v1::ListStoresResponse all = list(3, "");
  EXPECT_EQ(all.stores_size(), 3);
  EXPECT_TRUE(all.next_page_token().empty());
  v1::ListStoresResponse first = list(2, "");
  EXPECT_EQ(first.stores_size(), 2);
  ASSERT_FALSE(first.next_page_token().empty());
  v1::ListStoresResponse last = list(2, first.next_page_token());
  EXPECT_EQ(last.stores_size(), 1);
  EXPECT_TRUE(last.next_page_token().empty());
  EXPECT_NE(last.stores(0).id(), first.stores(1).id());
}

TEST_F(AttributionServiceTest, RandomOrdersSumExactlyInTheLedger) {
  StandardRule();
  std::string alice = NewAssociate(NewStore("Beijing SKP"), "Alice");
  ASSERT_TRUE(Open("viewer-r", NewLink(alice)).ok());
  std::mt19937_64 rng(5);
  std::map<std::string, int64_t> amounts;
  for (int i = 0; i < 150; ++i) {
    int64_t amount = std::uniform_int_distribution<int64_t>(1, 900000000)(rng);
    std::string id = absl::StrCat("r", i);
    amounts[id] = amount;
    PayOk(Event(id, "viewer-r", amount, clock_.Now()));
  }
  for (const auto& [id, amount] : amounts) {
    ASSERT_EQ(OrderNet(id), SplitPool(amount, 850)) << id;
    ASSERT_EQ(
        Scalar("SELECT COUNT(*) FROM commission_entries WHERE order_id = ? AND amount_fen < 0", id),
        0);
  }
}

TEST_F(AttributionServiceTest, AReplayedPaymentCreditsOnce) {
  StandardRule();
  std::string alice = NewAssociate(NewStore("Chengdu"), "Alice");
  ASSERT_TRUE(Open("viewer-2", NewLink(alice)).ok());
  v1::PaidOrderEvent e = Event("2001", "viewer-2", 50000, clock_.Now());
  v1::RecordPaidOrderResponse first = PayOk(e);
  clock_.Advance(absl::Minutes(5));
  v1::RecordPaidOrderResponse again = PayOk(e);
  EXPECT_FALSE(first.replayed());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.order().associate_id(), alice);
  ASSERT_EQ(again.entries_size(), first.entries_size());
  for (int i = 0; i < first.entries_size(); ++i) {
    EXPECT_EQ(again.entries(i).amount().amount_fen(), first.entries(i).amount().amount_fen());
  }
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM commission_entries WHERE order_id = ?", "2001"), 4);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM attributed_orders WHERE order_id = ?", "2001"), 1);
}

TEST_F(AttributionServiceTest, EightConcurrentDuplicatesCreditOnceAmongOtherOrders) {
  StandardRule();
  std::string alice = NewAssociate(NewStore("Hangzhou"), "Alice");
  ASSERT_TRUE(Open("viewer-3", NewLink(alice)).ok());
  for (int round = 0; round < 5; ++round) {
    std::atomic<int> fresh{0}, replayed{0}, failed{0};
    std::vector<std::thread> threads;
    std::string dup = absl::StrCat("dup-", round);
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        // Each thread also sends an order of its own, so duplicates share batches with others.
        for (const std::string& id : {dup, absl::StrCat("own-", round, "-", t)}) {
          v1::RecordPaidOrderResponse response;
          grpc::Status s = Pay(Event(id, "viewer-3", 88800, clock_.Now()), &response);
          if (!s.ok()) {
            ++failed;
          } else if (id == dup) {
            (response.replayed() ? replayed : fresh)++;
          }
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(fresh.load(), 1);
    EXPECT_EQ(replayed.load(), 7);
    EXPECT_EQ(Scalar("SELECT COUNT(*) FROM commission_entries WHERE order_id = ?", dup), 4);
    EXPECT_EQ(OrderNet(dup), SplitPool(88800, 850));
  }
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM attributed_orders"), 5 * 9);
}

TEST_F(AttributionServiceTest, RefundsClawBackProportionallyAndAFullRefundRestoresZero) {
  StandardRule();
  std::string alice = NewAssociate(NewStore("Shenzhen"), "Alice");
  ASSERT_TRUE(Open("viewer-4", NewLink(alice)).ok());
  PayOk(Event("3001", "viewer-4", 100001, clock_.Now()));
  int64_t credited = OrderNet("3001");

  v1::RecordRefundResponse part;
  ASSERT_TRUE(Refund("3001", "rf-1", 33333, &part).ok());
  EXPECT_FALSE(part.replayed());
  EXPECT_EQ(part.refunded().amount_fen(), 33333);
  ASSERT_EQ(part.entries_size(), 4);
  int64_t reversed = 0;
  for (const v1::LedgerEntry& e : part.entries()) {
    EXPECT_EQ(e.kind(), v1::ENTRY_KIND_REVERSAL);
    EXPECT_LE(e.amount().amount_fen(), 0);
    reversed += e.amount().amount_fen();
  }
  EXPECT_LE(-reversed, credited * 33333 / 100001 + 0);
  EXPECT_GE(-reversed, credited * 33333 / 100001 - 4);

  v1::RecordRefundResponse replay;
  ASSERT_TRUE(Refund("3001", "rf-1", 33333, &replay).ok());
  EXPECT_TRUE(replay.replayed());
  EXPECT_EQ(OrderNet("3001"), credited + reversed);

  v1::RecordRefundResponse too_much;
  grpc::Status over = Refund("3001", "rf-2", 66669, &too_much);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StartsWith(over.error_message(), "amount:")) << over.error_message();

  v1::RecordRefundResponse rest;
  ASSERT_TRUE(Refund("3001", "rf-2", 66668, &rest).ok());
  EXPECT_EQ(rest.refunded().amount_fen(), 100001);
  EXPECT_EQ(OrderNet("3001"), 0) << "a full refund restores every recipient exactly";
  EXPECT_EQ(
      Scalar("SELECT COUNT(*) FROM commission_entries WHERE order_id = ? AND kind = 1", "3001"), 4);

  v1::RecordRefundResponse early;
  EXPECT_EQ(Refund("no-such-order", "rf-1", 100, &early).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(AttributionServiceTest, EntriesSettleAfterTheRefundWindowAndLaterRefundsAreReceivables) {
  StandardRule();
  std::string alice = NewAssociate(NewStore("Nanjing"), "Alice");
  ASSERT_TRUE(Open("viewer-5", NewLink(alice)).ok());
  absl::Time paid_at = clock_.Now();
  PayOk(Event("4001", "viewer-5", 200000, paid_at));

  clock_.Set(paid_at + options_.refund_window - absl::Seconds(1));
  ASSERT_TRUE(service_->SettleOnce().ok());
  v1::GetOrderAttributionRequest get;
  get.set_order_id("4001");
  v1::GetOrderAttributionResponse before;
  ASSERT_TRUE(stub_->GetOrderAttribution(As(Role::kFinance, "fin-1").get(), get, &before).ok());
  for (const v1::LedgerEntry& e : before.entries()) EXPECT_EQ(e.status(), v1::ENTRY_STATUS_PENDING);

  // Settlement is daily: the run after the midnight that follows the end of the window.
  clock_.Set(paid_at + options_.refund_window);
  ASSERT_TRUE(service_->SettleOnce().ok());
  v1::GetOrderAttributionResponse at_end;
  ASSERT_TRUE(stub_->GetOrderAttribution(As(Role::kFinance, "fin-1").get(), get, &at_end).ok());
  for (const v1::LedgerEntry& e : at_end.entries()) EXPECT_EQ(e.status(), v1::ENTRY_STATUS_PENDING);
  clock_.Set(paid_at + options_.refund_window + absl::Hours(24));
  ASSERT_TRUE(service_->SettleOnce().ok());
  v1::GetOrderAttributionResponse after;
  ASSERT_TRUE(stub_->GetOrderAttribution(As(Role::kFinance, "fin-1").get(), get, &after).ok());
  for (const v1::LedgerEntry& e : after.entries()) EXPECT_EQ(e.status(), v1::ENTRY_STATUS_SETTLED);

  clock_.Advance(absl::Hours(1));
  v1::RecordRefundResponse late;
  ASSERT_TRUE(Refund("4001", "rf-late", 200000, &late).ok());
  for (const v1::LedgerEntry& e : late.entries()) EXPECT_EQ(e.kind(), v1::ENTRY_KIND_RECEIVABLE);
  EXPECT_EQ(OrderNet("4001"), 0);

  // The receivable is carried into the statement of the period it was booked in.
  v1::GetStatementRequest request;
  common::ToTimestamp(clock_.Now() - absl::Hours(2), request.mutable_period_start());
  common::ToTimestamp(clock_.Now() + absl::Hours(1), request.mutable_period_end());
  request.mutable_filter()->set_associate_id(alice);
  v1::GetStatementResponse statement;
  ASSERT_TRUE(stub_->GetStatement(As(Role::kFinance, "fin-1").get(), request, &statement).ok());
  ASSERT_EQ(statement.statement().totals_size(), 1);
  EXPECT_EQ(statement.statement().totals(0).sales_fen(), 0);
  EXPECT_EQ(statement.statement().totals(0).receivables_fen(), -10000);
}

TEST_F(AttributionServiceTest, ProtectionEdgesAnotherAssociatesLinkDoesNotStealWithinIt) {
  StandardRule();
  std::string store = NewStore("Wuhan");
  std::string alice = NewAssociate(store, "Alice");
  std::string bob = NewAssociate(store, "Bob");
  absl::Time t0 = clock_.Now();
  ASSERT_TRUE(Open("viewer-6", NewLink(alice)).ok());
  clock_.Advance(absl::Hours(24));
  ASSERT_TRUE(Open("viewer-6", NewLink(bob)).ok());  // within Alice's protection

  absl::Time end = t0 + options_.attribution.protection;
  v1::RecordPaidOrderResponse inside =
      PayOk(Event("5001", "viewer-6", 1000, end - absl::Microseconds(1)));
  EXPECT_EQ(inside.order().rule(), v1::ATTRIBUTION_RULE_BOUND_CLIENT);
  EXPECT_EQ(inside.order().associate_id(), alice);
  v1::RecordPaidOrderResponse outside = PayOk(Event("5002", "viewer-6", 1000, end));
  EXPECT_EQ(outside.order().rule(), v1::ATTRIBUTION_RULE_LAST_TOUCH);
  EXPECT_EQ(outside.order().associate_id(), bob);
  EXPECT_TRUE(absl::StrContains(outside.order().reason(), "ended")) << outside.order().reason();
}

TEST_F(AttributionServiceTest, WindowEdgesLastTouchJustInsideAndNothingJustOutside) {
  StandardRule();
  std::string carol = NewAssociate(NewStore("Xi'an"), "Carol");
  absl::Time t1 = clock_.Now();
  ASSERT_TRUE(Open("viewer-7", NewLink(carol)).ok());
  absl::Time edge = t1 + options_.attribution.window;
  v1::RecordPaidOrderResponse inside = PayOk(Event("6001", "viewer-7", 1000, edge));
  EXPECT_EQ(inside.order().rule(), v1::ATTRIBUTION_RULE_LAST_TOUCH);
  EXPECT_EQ(inside.order().associate_id(), carol);
  v1::RecordPaidOrderResponse outside =
      PayOk(Event("6002", "viewer-7", 1000, edge + absl::Microseconds(1)));
  EXPECT_EQ(outside.order().rule(), v1::ATTRIBUTION_RULE_NO_TOUCH);
  EXPECT_EQ(outside.order().associate_id(), "");
  // With no associate, only the teams are credited.
  ASSERT_EQ(outside.entries_size(), 2);
  EXPECT_EQ(outside.entries(0).recipient(), v1::RECIPIENT_ECOMMERCE_TEAM);
}

TEST_F(AttributionServiceTest, OpsReassignmentMovesTheClientAndIsRecorded) {
  StandardRule();
  std::string store = NewStore("Suzhou");
  std::string alice = NewAssociate(store, "Alice");
  std::string bob = NewAssociate(store, "Bob");
  ASSERT_TRUE(Open("viewer-8", NewLink(alice)).ok());
  // Alice leaves; ops hand her client to Bob.
  v1::UpdateAssociateRequest leave;
  leave.set_associate_id(alice);
  leave.set_status(v1::ASSOCIATE_STATUS_LEFT);
  v1::UpdateAssociateResponse left;
  ASSERT_TRUE(stub_->UpdateAssociate(As(Role::kOps, "ops-1").get(), leave, &left).ok());
  clock_.Advance(absl::Minutes(1));
  v1::ReassignClientRequest reassign;
  reassign.set_viewer_id("viewer-8");
  reassign.set_associate_id(bob);
  reassign.set_note("Alice left the store");
  v1::ReassignClientResponse moved;
  ASSERT_TRUE(stub_->ReassignClient(As(Role::kOps, "ops-7").get(), reassign, &moved).ok());
  EXPECT_EQ(moved.binding().associate_id(), bob);

  v1::GetClientBindingRequest get;
  get.set_viewer_id("viewer-8");
  v1::GetClientBindingResponse binding;
  ASSERT_TRUE(stub_->GetClientBinding(As(Role::kOps, "ops-1").get(), get, &binding).ok());
  EXPECT_EQ(binding.binding().reason(), v1::BINDING_REASON_REASSIGNED);
  EXPECT_EQ(binding.binding().previous_associate_id(), alice);
  EXPECT_EQ(binding.binding().changed_by(), "ops-7");
  EXPECT_EQ(binding.binding().note(), "Alice left the store");
  EXPECT_EQ(binding.history_size(), 2);

  v1::ListClientsRequest list;
  v1::ListClientsResponse bobs;
  ASSERT_TRUE(stub_->ListClients(As(Role::kAssociate, bob).get(), list, &bobs).ok());
  ASSERT_EQ(bobs.clients_size(), 1);
  EXPECT_EQ(bobs.clients(0).viewer_id(), "viewer-8");
  v1::ListClientsResponse alices;
  ASSERT_TRUE(stub_->ListClients(As(Role::kAssociate, alice).get(), list, &alices).ok());
  EXPECT_EQ(alices.clients_size(), 0);

  v1::RecordPaidOrderResponse paid = PayOk(Event("7001", "viewer-8", 5000, clock_.Now()));
  EXPECT_EQ(paid.order().associate_id(), bob);
  EXPECT_EQ(paid.order().rule(), v1::ATTRIBUTION_RULE_BOUND_CLIENT);
}

TEST_F(AttributionServiceTest, CategoryAndRoomRulesSplitPerLineAndCreditTheHostAndInviter) {
  StandardRule();
  std::string store = NewStore("Macau");
  std::string alice = NewAssociate(store, "Alice");
  std::string hugo = NewAssociate(store, "Hugo");
  directories_.hosts["501"] = hugo;
  directories_.categories["21"] = "handbags";
  directories_.categories["22"] = "watches";
  // Watches pay the associate 3 % and the host 1 %; the room rule is for another room.
  v1::CreateCommissionRuleRequest watches;
  watches.set_scope(v1::RULE_SCOPE_CATEGORY);
  watches.set_scope_id("watches");
  common::ToTimestamp(kStart - absl::Hours(1), watches.mutable_effective_from());
  for (auto [recipient, bp] :
       std::vector<std::pair<v1::Recipient, int>>{{v1::RECIPIENT_ASSOCIATE, 300},
                                                  {v1::RECIPIENT_HOST_ASSOCIATE, 100},
                                                  {v1::RECIPIENT_INVITING_ASSOCIATE, 50}}) {
    v1::SplitLine* line = watches.add_lines();
    line->set_recipient(recipient);
    line->set_basis_points(bp);
  }
  v1::CreateCommissionRuleResponse created;
  ASSERT_TRUE(
      stub_->CreateCommissionRule(As(Role::kFinance, "fin-1").get(), watches, &created).ok());
  EXPECT_EQ(created.rule().version(), 1);
  // The rule's lines carry its brand, like every row of a brand's data.
  auto lines = mysql_->Run([&](common::MysqlConnection& c) -> absl::StatusOr<int64_t> {
    sql::PreparedStatement& q =
        c.Prepare("SELECT COUNT(*) FROM commission_rule_lines WHERE rule_id = ? AND brand_id = ?");
    q.setString(1, created.rule().id());
    q.setString(2, kBrand);
    std::unique_ptr<sql::ResultSet> rs(q.executeQuery());
    rs->next();
    return rs->getInt64(1);
  });
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_EQ(*lines, 3);
  ASSERT_TRUE(Open("viewer-13", NewLink(alice, "501")).ok());

  v1::PaidOrderEvent e = Event("c-1", "viewer-13", 300000, clock_.Now());
  e.mutable_lines(0)->set_amount_fen(100000);  // a handbag: the brand rule
  v1::PaidOrderLine* watch = e.add_lines();
  watch->set_sku_id("32");
  watch->set_product_id("22");
  watch->set_quantity(1);
  watch->set_amount_fen(200000);
  v1::RecordPaidOrderResponse paid = PayOk(e);
  EXPECT_EQ(paid.order().host_associate_id(), hugo);
  EXPECT_EQ(paid.order().inviting_associate_id(), alice);
  std::map<std::pair<v1::Recipient, std::string>, int64_t> by;
  for (const v1::LedgerEntry& entry : paid.entries()) {
    by[{entry.recipient(), entry.recipient_id()}] += entry.amount().amount_fen();
  }
  // Brand rule on 1,000 yuan: 50 + 20 + 10 + 5 yuan; watch rule on 2,000 yuan: 60 + 20 + 10.
  EXPECT_EQ((by[{v1::RECIPIENT_ASSOCIATE, alice}]), 5000 + 6000);
  EXPECT_EQ((by[{v1::RECIPIENT_STORE, store}]), 2000);
  EXPECT_EQ((by[{v1::RECIPIENT_HOST_ASSOCIATE, hugo}]), 2000);
  EXPECT_EQ((by[{v1::RECIPIENT_INVITING_ASSOCIATE, alice}]), 1000);
  EXPECT_EQ(OrderNet("c-1"), 5000 + 2000 + 1000 + 500 + 6000 + 2000 + 1000);
}

TEST_F(AttributionServiceTest, AssociatesReadOnlyTheirOwnAndViewersNothing) {
  StandardRule();
  std::string store = NewStore("Tianjin");
  std::string alice = NewAssociate(store, "Alice");
  std::string bob = NewAssociate(store, "Bob");
  ASSERT_TRUE(Open("viewer-9", NewLink(alice)).ok());
  ASSERT_TRUE(Open("viewer-10", NewLink(bob)).ok());
  PayOk(Event("8001", "viewer-9", 10000, clock_.Now()));
  PayOk(Event("8002", "viewer-10", 20000, clock_.Now()));

  v1::ListCommissionEntriesRequest others;
  others.mutable_filter()->set_associate_id(bob);
  v1::ListCommissionEntriesResponse entries;
  grpc::Status refused =
      stub_->ListCommissionEntries(As(Role::kAssociate, alice).get(), others, &entries);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  v1::GetStatementRequest statement;
  common::ToTimestamp(kStart - absl::Hours(1), statement.mutable_period_start());
  common::ToTimestamp(kStart + absl::Hours(1), statement.mutable_period_end());
  statement.mutable_filter()->set_associate_id(bob);
  v1::GetStatementResponse st;
  EXPECT_EQ(stub_->GetStatement(As(Role::kAssociate, alice).get(), statement, &st).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->GetStatement(As(Role::kViewer, "viewer-9").get(), statement, &st).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ListCommissionEntriesRequest mine;
  EXPECT_EQ(stub_->ListCommissionEntries(As(Role::kViewer, "viewer-9").get(), mine, &entries)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Alice sees her own entry only; finance sees everything.
  ASSERT_TRUE(stub_->ListCommissionEntries(As(Role::kAssociate, alice).get(), mine, &entries).ok());
  ASSERT_EQ(entries.entries_size(), 1);
  EXPECT_EQ(entries.entries(0).recipient_id(), alice);
  EXPECT_EQ(entries.entries(0).amount().amount_fen(), 500);
  v1::ListCommissionEntriesResponse all;
  ASSERT_TRUE(stub_->ListCommissionEntries(As(Role::kFinance, "fin-1").get(), mine, &all).ok());
  EXPECT_EQ(all.entries_size(), 8);

  // Another associate's attributed order is not found for Alice.
  v1::GetOrderAttributionRequest get;
  get.set_order_id("8002");
  v1::GetOrderAttributionResponse order;
  EXPECT_EQ(stub_->GetOrderAttribution(As(Role::kAssociate, alice).get(), get, &order).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // A finance user of another brand sees nothing of this one.
  v1::ListCommissionEntriesResponse foreign;
  ASSERT_TRUE(
      stub_->ListCommissionEntries(As(Role::kFinance, "fin-2", "other-brand").get(), mine, &foreign)
          .ok());
  EXPECT_EQ(foreign.entries_size(), 0);
  // Only the order service may report payments.
  v1::RecordPaidOrderResponse paid;
  EXPECT_EQ(stub_
                ->RecordPaidOrder(As(Role::kAssociate, alice).get(),
                                  Event("8003", "viewer-9", 1, clock_.Now()), &paid)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AttributionServiceTest, BadInputIsInvalidArgumentNamingTheField) {
  v1::PaidOrderEvent e = Event("9001", "viewer-1", 100, clock_.Now());
  e.clear_amount();
  v1::RecordPaidOrderResponse paid;
  grpc::Status s = Pay(e, &paid);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "amount: is required");
  e = Event("9001", "viewer-1", -5, clock_.Now());
  EXPECT_TRUE(absl::StartsWith(Pay(e, &paid).error_message(), "amount.amount_fen:"));
  e = Event("bad id!", "viewer-1", 5, clock_.Now());
  EXPECT_TRUE(absl::StartsWith(Pay(e, &paid).error_message(), "order_id:"));
  e = Event("9001", "viewer-1", 5, clock_.Now());
  e.mutable_lines(0)->set_amount_fen(-1);
  EXPECT_TRUE(absl::StartsWith(Pay(e, &paid).error_message(), "lines[0].amount_fen:"));

  v1::CreateCommissionRuleRequest rule;
  rule.set_scope(v1::RULE_SCOPE_BRAND);
  common::ToTimestamp(kStart, rule.mutable_effective_from());
  for (int bp : {6000, 4001}) {
    v1::SplitLine* l = rule.add_lines();
    l->set_recipient(v1::RECIPIENT_ASSOCIATE);
    l->set_basis_points(bp);
  }
  v1::CreateCommissionRuleResponse created;
  s = stub_->CreateCommissionRule(As(Role::kFinance, "fin-1").get(), rule, &created);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "lines:")) << s.error_message();
  EXPECT_EQ(stub_->CreateCommissionRule(As(Role::kOps, "ops-1").get(), rule, &created).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AttributionServiceTest, StatementsAreRepeatableAndExportAsCsv) {
  StandardRule();
  std::string store = NewStore("Guangzhou");
  std::string alice = NewAssociate(store, "Alice");
  ASSERT_TRUE(Open("viewer-11", NewLink(alice)).ok());
  for (int i = 0; i < 7; ++i)
    PayOk(Event(absl::StrCat("s", i), "viewer-11", 10001 * (i + 1), clock_.Now()));
  clock_.Advance(absl::Minutes(1));
  v1::RecordRefundResponse refund;
  ASSERT_TRUE(Refund("s3", "rf-1", 20000, &refund).ok());

  v1::GetStatementRequest request;
  common::ToTimestamp(kStart - absl::Hours(24), request.mutable_period_start());
  common::ToTimestamp(kStart + absl::Hours(24), request.mutable_period_end());
  request.set_grouping(v1::STATEMENT_GROUPING_RECIPIENT);
  request.set_page_size(10);
  v1::GetStatementResponse first, second;
  ASSERT_TRUE(stub_->GetStatement(As(Role::kFinance, "fin-1").get(), request, &first).ok());
  ASSERT_TRUE(stub_->GetStatement(As(Role::kFinance, "fin-1").get(), request, &second).ok());
  EXPECT_EQ(first.SerializeAsString(), second.SerializeAsString());
  const v1::Statement& st = first.statement();
  ASSERT_EQ(st.totals_size(), 1);
  int64_t net = Scalar("SELECT SUM(amount_fen) FROM commission_entries");
  EXPECT_EQ(st.totals(0).net_fen(), net);
  EXPECT_EQ(st.totals(0).sales_fen() + st.totals(0).reversals_fen(), net);
  EXPECT_EQ(st.totals(0).sale_entries(), 7 * 4);
  EXPECT_EQ(st.groups_size(), 4);  // associate, store, two teams
  int64_t groups = 0;
  for (const v1::StatementGroup& g : st.groups()) groups += g.totals().net_fen();
  EXPECT_EQ(groups, net);
  EXPECT_EQ(st.lines_size(), 10);
  EXPECT_FALSE(st.next_page_token().empty());
  // Paging through the lines visits each entry once.
  int lines = st.lines_size();
  std::string token = st.next_page_token();
  while (!token.empty()) {
    request.set_page_token(token);
    v1::GetStatementResponse page;
    ASSERT_TRUE(stub_->GetStatement(As(Role::kFinance, "fin-1").get(), request, &page).ok());
    lines += page.statement().lines_size();
    token = page.statement().next_page_token();
  }
  EXPECT_EQ(lines, Scalar("SELECT COUNT(*) FROM commission_entries"));

  v1::ExportStatementCsvRequest csv_request;
  *csv_request.mutable_period_start() = request.period_start();
  *csv_request.mutable_period_end() = request.period_end();
  csv_request.set_grouping(v1::STATEMENT_GROUPING_ASSOCIATE);
  v1::ExportStatementCsvResponse csv;
  ASSERT_TRUE(stub_->ExportStatementCsv(As(Role::kFinance, "fin-1").get(), csv_request, &csv).ok());
  EXPECT_TRUE(absl::StartsWith(csv.csv(), "order_id,booked_at,kind,status,recipient"));
  EXPECT_TRUE(absl::StrContains(csv.csv(), "ENTRY_KIND_REVERSAL"));
  EXPECT_TRUE(absl::StrContains(csv.csv(), absl::StrCat("group,,", alice, ",CNY,")));
  EXPECT_TRUE(csv.next_page_token().empty());
  // Whatever the grouping, the lines of a CSV add up to its total row: the lines are the rows the
  // grouping counts (by associate: the associates' entries, not the store's).
  for (v1::StatementGrouping grouping :
       {v1::STATEMENT_GROUPING_RECIPIENT, v1::STATEMENT_GROUPING_ASSOCIATE,
        v1::STATEMENT_GROUPING_STORE}) {
    csv_request.set_grouping(grouping);
    ASSERT_TRUE(
        stub_->ExportStatementCsv(As(Role::kFinance, "fin-1").get(), csv_request, &csv).ok());
    std::vector<std::string> rows = absl::StrSplit(csv.csv(), "\r\n");
    int64_t lines_fen = 0, total_fen = 0;
    bool in_lines = true;
    int line_rows = 0;
    for (size_t i = 1; i < rows.size(); ++i) {
      if (rows[i].empty()) {
        in_lines = false;
        continue;
      }
      std::vector<std::string> cells = absl::StrSplit(rows[i], ',');
      if (in_lines) {
        ASSERT_EQ(cells.size(), 16u) << rows[i];
        lines_fen += std::stoll(cells[12]);
        ++line_rows;
      } else if (cells[0] == "all") {
        total_fen += std::stoll(cells[7]);
      }
    }
    EXPECT_GT(line_rows, 0) << v1::StatementGrouping_Name(grouping);
    EXPECT_EQ(lines_fen, total_fen) << v1::StatementGrouping_Name(grouping);
  }
}

TEST_F(AttributionServiceTest, AssociatesAreAlertedAboutTheirClients) {
  StandardRule();
  std::string alice = NewAssociate(NewStore("Qingdao"), "Alice");
  ASSERT_TRUE(Open("viewer-12", NewLink(alice)).ok());
  v1::RecordClientActivityRequest joined;
  joined.set_viewer_id("viewer-12");
  joined.set_kind(v1::ACTIVITY_KIND_JOINED_LIVESTREAM);
  joined.set_room_id("501");
  joined.set_session_id("9001");
  v1::RecordClientActivityResponse alert;
  ASSERT_TRUE(stub_->RecordClientActivity(As(Role::kService, "room").get(), joined, &alert).ok());
  EXPECT_EQ(alert.alert().kind(), v1::ALERT_KIND_JOINED_LIVESTREAM);
  EXPECT_EQ(alert.alert().associate_id(), alice);

  v1::ListWatchingClientsRequest watching;
  watching.set_room_id("501");
  v1::ListWatchingClientsResponse now;
  ASSERT_TRUE(stub_->ListWatchingClients(As(Role::kAssociate, alice).get(), watching, &now).ok());
  ASSERT_EQ(now.viewer_ids_size(), 1);
  EXPECT_EQ(now.viewer_ids(0), "viewer-12");

  v1::RecordClientActivityRequest created;
  created.set_viewer_id("viewer-12");
  created.set_kind(v1::ACTIVITY_KIND_ORDER_CREATED);
  created.set_order_id("u-1");
  ASSERT_TRUE(stub_->RecordClientActivity(As(Role::kService, "order").get(), created, &alert).ok());
  created.set_order_id("u-2");
  ASSERT_TRUE(stub_->RecordClientActivity(As(Role::kService, "order").get(), created, &alert).ok());
  PayOk(Event("u-2", "viewer-12", 3000, clock_.Now()));
  clock_.Advance(options_.unpaid_alert_after + absl::Seconds(1));
  absl::StatusOr<int> raised = service_->AlertUnpaidOnce();
  ASSERT_TRUE(raised.ok()) << raised.status();
  EXPECT_EQ(*raised, 1);  // u-1 only: u-2 was paid

  v1::ListAlertsRequest list;
  v1::ListAlertsResponse alerts;
  ASSERT_TRUE(stub_->ListAlerts(As(Role::kAssociate, alice).get(), list, &alerts).ok());
  std::vector<v1::AlertKind> kinds;
  for (const v1::Alert& a : alerts.alerts()) kinds.push_back(a.kind());
  EXPECT_EQ(kinds, (std::vector<v1::AlertKind>{v1::ALERT_KIND_JOINED_LIVESTREAM,
                                               v1::ALERT_KIND_PAID, v1::ALERT_KIND_UNPAID_ORDER}));

  // The stream pushes what is there, then what comes.
  grpc::ClientContext stream_context;
  common::AttachPrincipal(stream_context, codec_.Encode(Principal{Role::kAssociate, kBrand, alice,
                                                                  clock_.Now() + absl::Hours(1)}));
  stream_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::WatchAlertsRequest watch;
  watch.set_after_id(alerts.alerts(2).id());
  auto reader = stub_->WatchAlerts(&stream_context, watch);
  v1::RecordClientActivityRequest carted;
  carted.set_viewer_id("viewer-12");
  carted.set_kind(v1::ACTIVITY_KIND_ADDED_TO_CART);
  carted.set_sku_id("31");
  ASSERT_TRUE(stub_->RecordClientActivity(As(Role::kService, "order").get(), carted, &alert).ok());
  v1::WatchAlertsResponse pushed;
  ASSERT_TRUE(reader->Read(&pushed));
  ASSERT_EQ(pushed.alerts_size(), 1);
  EXPECT_EQ(pushed.alerts(0).kind(), v1::ALERT_KIND_ADDED_TO_CART);
  stream_context.TryCancel();
}

// Every id a request names as a reference to another object is checked against the caller's brand
// before anything is written: another brand's real associate or store, and rooms and products the
// room service and the catalog do not know for this brand (another brand's), are NOT_FOUND naming
// the field, exactly like ids that do not exist, and nothing changes.
TEST_F(AttributionServiceTest, AnotherBrandsReferencesAreUnknownAndChangeNothing) {
  std::string store = NewStore("Shanghai IFC");
  std::string lin = NewAssociate(store, "Lin");
  // The rival brand's real store and associate.
  v1::CreateStoreRequest rival_store_request;
  rival_store_request.set_name("Rival Beijing");
  v1::CreateStoreResponse rival_store;
  ASSERT_TRUE(
      stub_->CreateStore(As(Role::kOps, "ops-9", "rival").get(), rival_store_request, &rival_store)
          .ok());
  v1::CreateAssociateRequest rival_request;
  rival_request.set_store_id(rival_store.store().id());
  rival_request.set_name("Rex");
  v1::CreateAssociateResponse rival;
  ASSERT_TRUE(
      stub_->CreateAssociate(As(Role::kOps, "ops-9", "rival").get(), rival_request, &rival).ok());
  const std::string rex = rival.associate().id();
  const std::string rival_store_id = rival_store.store().id();
  directories_.unknown_rooms.insert("777");
  directories_.unknown_products.insert("888");

  auto expect_unknown = [](const grpc::Status& s, const std::string& message) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << message << ": " << s.error_message();
    EXPECT_EQ(s.error_message(), message);
  };
  auto ops = [&] { return As(Role::kOps, "ops-1"); };
  auto finance = [&] { return As(Role::kFinance, "fin-1"); };

  // Stores and associates.
  v1::CreateAssociateRequest associate;
  associate.set_store_id(rival_store_id);
  associate.set_name("Mole");
  v1::CreateAssociateResponse made;
  expect_unknown(stub_->CreateAssociate(ops().get(), associate, &made), "store_id: no such store");
  v1::UpdateAssociateRequest move;
  move.set_associate_id(lin);
  move.set_store_id(rival_store_id);
  v1::UpdateAssociateResponse moved;
  expect_unknown(stub_->UpdateAssociate(ops().get(), move, &moved), "store_id: no such store");
  move.clear_store_id();
  move.set_associate_id(rex);
  move.set_name("Taken");
  expect_unknown(stub_->UpdateAssociate(ops().get(), move, &moved),
                 "associate_id: no such associate");
  v1::ListAssociatesRequest list_associates;
  list_associates.set_store_id(rival_store_id);
  v1::ListAssociatesResponse associates;
  expect_unknown(stub_->ListAssociates(ops().get(), list_associates, &associates),
                 "store_id: no such store");
  v1::GetAssociateRequest get_associate;
  get_associate.set_associate_id(rex);
  v1::GetAssociateResponse got_associate;
  expect_unknown(
      stub_->GetAssociate(As(Role::kService, "room").get(), get_associate, &got_associate),
      "associate_id: no such associate");
  get_associate.set_associate_id(lin);
  EXPECT_TRUE(stub_->GetAssociate(As(Role::kService, "room").get(), get_associate, &got_associate)
                  .ok());  // the room service checks associates this way

  // Share links: for another brand's associate, to another brand's room or product.
  v1::CreateShareLinkRequest link;
  link.set_associate_id(rex);
  link.set_target(v1::SHARE_TARGET_ROOM);
  link.set_room_id("501");
  link.set_share_channel(v1::SHARE_CHANNEL_PRIVATE_CHAT);
  v1::CreateShareLinkResponse linked;
  expect_unknown(stub_->CreateShareLink(ops().get(), link, &linked),
                 "associate_id: no such associate");
  link.set_associate_id(lin);
  link.set_room_id("777");
  expect_unknown(stub_->CreateShareLink(ops().get(), link, &linked), "room_id: no such room");
  link.set_target(v1::SHARE_TARGET_PRODUCT);
  link.set_room_id("");
  link.set_product_id("888");
  expect_unknown(stub_->CreateShareLink(As(Role::kAssociate, lin).get(), link, &linked),
                 "product_id: no such product");
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM share_links"), 0);

  // Touches from the room service: another brand's associate or room.
  v1::RecordTouchRequest touch;
  touch.set_viewer_id("mei");
  touch.set_associate_id(rex);
  touch.set_room_id("501");
  v1::RecordTouchResponse touched;
  expect_unknown(stub_->RecordTouch(As(Role::kService, "room").get(), touch, &touched),
                 "associate_id: no such associate");
  touch.set_associate_id(lin);
  touch.set_room_id("777");
  expect_unknown(stub_->RecordTouch(As(Role::kService, "room").get(), touch, &touched),
                 "room_id: no such room");
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM touches"), 0);

  // Clients: reassigned to another brand's associate; listed for one.
  v1::ReassignClientRequest reassign;
  reassign.set_viewer_id("mei");
  reassign.set_associate_id(rex);
  v1::ReassignClientResponse reassigned;
  expect_unknown(stub_->ReassignClient(ops().get(), reassign, &reassigned),
                 "associate_id: no such associate");
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM client_bindings"), 0);
  v1::ListClientsRequest clients;
  clients.set_associate_id(rex);
  v1::ListClientsResponse listed_clients;
  expect_unknown(stub_->ListClients(ops().get(), clients, &listed_clients),
                 "associate_id: no such associate");
  v1::ListShareLinksRequest links;
  links.set_associate_id(rex);
  v1::ListShareLinksResponse listed_links;
  expect_unknown(stub_->ListShareLinks(finance().get(), links, &listed_links),
                 "associate_id: no such associate");
  v1::ListAttributedOrdersRequest orders;
  orders.set_associate_id(rex);
  v1::ListAttributedOrdersResponse listed_orders;
  expect_unknown(stub_->ListAttributedOrders(finance().get(), orders, &listed_orders),
                 "associate_id: no such associate");

  // Commission rules scoped to another brand's room.
  v1::CreateCommissionRuleRequest rule;
  rule.set_scope(v1::RULE_SCOPE_ROOM);
  rule.set_scope_id("777");
  common::ToTimestamp(kStart, rule.mutable_effective_from());
  v1::SplitLine* line = rule.add_lines();
  line->set_recipient(v1::RECIPIENT_ASSOCIATE);
  line->set_basis_points(500);
  v1::CreateCommissionRuleResponse ruled;
  expect_unknown(stub_->CreateCommissionRule(finance().get(), rule, &ruled),
                 "scope_id: no such room");
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM commission_rules"), 0);
  rule.set_scope_id("501");
  EXPECT_TRUE(stub_->CreateCommissionRule(finance().get(), rule, &ruled).ok());
  v1::ListCommissionRulesRequest rules;
  rules.set_scope(v1::RULE_SCOPE_ROOM);
  rules.set_scope_id("777");
  v1::ListCommissionRulesResponse listed_rules;
  expect_unknown(stub_->ListCommissionRules(finance().get(), rules, &listed_rules),
                 "scope_id: no such room");

  // Ledger and statements filtered by another brand's associate or store.
  v1::ListCommissionEntriesRequest entries;
  entries.mutable_filter()->set_associate_id(rex);
  v1::ListCommissionEntriesResponse listed_entries;
  expect_unknown(stub_->ListCommissionEntries(finance().get(), entries, &listed_entries),
                 "filter.associate_id: no such associate");
  v1::GetStatementRequest statement;
  common::ToTimestamp(kStart - absl::Hours(24), statement.mutable_period_start());
  common::ToTimestamp(kStart + absl::Hours(24), statement.mutable_period_end());
  statement.mutable_filter()->set_store_id(rival_store_id);
  v1::GetStatementResponse stated;
  expect_unknown(stub_->GetStatement(finance().get(), statement, &stated),
                 "filter.store_id: no such store");
  statement.mutable_filter()->clear_store_id();
  statement.mutable_filter()->set_recipient(v1::RECIPIENT_STORE);
  statement.mutable_filter()->set_recipient_id(rival_store_id);
  expect_unknown(stub_->GetStatement(finance().get(), statement, &stated),
                 "filter.recipient_id: no such store");
  v1::ExportStatementCsvRequest csv;
  *csv.mutable_period_start() = statement.period_start();
  *csv.mutable_period_end() = statement.period_end();
  csv.mutable_filter()->set_associate_id(rex);
  v1::ExportStatementCsvResponse exported;
  expect_unknown(stub_->ExportStatementCsv(finance().get(), csv, &exported),
                 "filter.associate_id: no such associate");
  statement.mutable_filter()->set_recipient_id(store);
  EXPECT_TRUE(stub_->GetStatement(finance().get(), statement, &stated).ok());

  // An associate's watching clients in another brand's room.
  v1::ListWatchingClientsRequest watching;
  watching.set_room_id("777");
  v1::ListWatchingClientsResponse watchers;
  expect_unknown(stub_->ListWatchingClients(As(Role::kAssociate, lin).get(), watching, &watchers),
                 "room_id: no such room");
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM associates WHERE brand_id = 'maison'"), 1);
}

}  // namespace
}  // namespace livecommerce::attribution
