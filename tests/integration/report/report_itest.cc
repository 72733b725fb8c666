// Reports on a fixed data set (sessions, paid orders, credits and refunds delivered as the room,
// order and attribution services publish them) with hand-checked numbers; replays, events in any
// order; authorisation.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "livecommerce/events/v1/events.pb.h"
#include "livecommerce/events/v1/interaction_events.pb.h"
#include "livecommerce/v1/order.pb.h"
#include "services/common/clock.h"
#include "services/common/events.h"
#include "services/common/grpc_server.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "services/report/api/report_service.h"
#include "tests/support/test_env.h"

namespace livecommerce::report {
namespace {

using common::Principal;
using common::Role;

constexpr char kBrand[] = "maison";
const absl::Time kDay = absl::FromUnixSeconds(1795000000);

// Sessions here have all ended: nothing asks the room service for live figures. The private
// rooms admit every viewer but mallory (who holds no invite).
class NoLiveStats final : public LiveStats {
 public:
  absl::StatusOr<LiveFigures> Figures(const std::string&, int64_t) override {
    return absl::UnavailableError("no live session in these tests");
  }
  absl::StatusOr<bool> Admitted(const std::string&, int64_t, const std::string& viewer) override {
    return viewer != "mallory";
  }
};

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mysql_ = livecommerce::testing::ConnectTestMysql(
        {"report_funnel_viewers", "report_session_funnel", "report_session_buyers",
         "report_session_sales", "report_consumed_events", "report_sessions", "report_orders",
         "report_credits", "report_refunds", "report_comments", "report_interacting_viewers",
         "report_session_interaction", "report_engagement_viewers", "report_session_engagement"});
    ASSERT_NE(mysql_, nullptr);
    store_ = std::make_unique<MysqlReportStore>(*mysql_, clock_);
    consumer_ = std::make_unique<common::EventConsumer>(*mysql_, "report_consumed_events", clock_);
    store_->Subscribe(*consumer_);
    service_ = std::make_unique<ReportServiceImpl>(*store_, live_, clock_, codec_);
    server_ = *common::GrpcServer::Start(common::ServerOptions{}, {service_.get()});
    stub_ = v1::ReportService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));

    // Private client session A1; public sessions B1 and B2 of another room.
    room_a_ = Room("VIP preview", 2, 1u << 2, 2, 2);
    room_b_ = Room("Spring show", 1, 1u << 1, 1, 1);
    a1_ = Session(room_a_, kDay, 200, 80, 260);
    b1_ = Session(room_b_, kDay + absl::Hours(2), 10000, 3000, 15000);
    b2_ = Session(room_b_, kDay + absl::Hours(26), 5000, 1500, 7000);
    // A1: alice twice by invite (associate sa-1), bob by share link (sa-2).
    int64_t o1 = o1_ = Paid(a1_, "alice", 1, "sa-1", {{11, 2, 300000}});
    o2_ = Paid(a1_, "alice", 1, "sa-1", {{12, 1, 100000}});
    int64_t o3 = o3_ = Paid(a1_, "bob", 2, "sa-2", {{11, 1, 200000}});
    Paid(b1_, "carol", 6, "", {{12, 1, 50000}});
    Paid(b2_, "dave", 6, "", {{12, 1, 80000}});
    Paid(b2_, "erin", 6, "", {{13, 1, 80000}});
    Paid(0, "frank", 5, "", {{13, 1, 70000}});  // not from a livestream
    Refund(o3, "r1", 200000);                   // in full
    Refund(o1, "r2", 50000);                    // in part
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  // An event as `producer` publishes it, queued for Deliver.
  template <typename Payload>
  void Publish(const std::string& producer, const std::string& brand, const std::string& key,
               const Payload& payload) {
    events::v1::Event e;
    e.set_id(++event_ids_[producer]);
    e.set_producer(producer);
    e.set_type(Payload::descriptor()->full_name());
    e.set_brand_id(brand);
    e.set_key(key);
    common::ToTimestamp(kDay, e.mutable_occurred_at());
    e.set_payload(payload.SerializeAsString());
    queued_.push_back(e);
    published_.push_back(e);
  }
  // Applies the queued events through `consumer` (the fixture's by default), in order, as one
  // delivery (a relay's call) or one event at a time; how many.
  int Deliver(common::EventConsumer* consumer = nullptr, bool one_call = true) {
    common::EventConsumer& to = consumer != nullptr ? *consumer : *consumer_;
    int n = 0;
    if (one_call) {
      std::vector<const events::v1::Event*> all;
      for (const events::v1::Event& e : queued_) all.push_back(&e);
      common::EventConsumer::BatchResult result = to.ApplyAll(all);
      EXPECT_TRUE(result.failure.ok()) << result.failure;
      n = result.applied;
    } else {
      for (const events::v1::Event& e : queued_) {
        absl::Status s = to.Apply(e);
        EXPECT_TRUE(s.ok()) << e.type() << ": " << s;
        ++n;
      }
    }
    queued_.clear();
    return n;
  }

  struct RoomSettings {
    std::string title;
    int visibility, objective, format;
    uint32_t audiences;
  };
  int64_t Room(const std::string& title, int visibility, uint32_t audiences, int objective,
               int format) {
    int64_t id = 100 + static_cast<int64_t>(rooms_.size());
    rooms_[id] = RoomSettings{title, visibility, objective, format, audiences};
    return id;
  }
  // A session that went live and ended, as the room service publishes it.
  int64_t Session(int64_t room, absl::Time started, int64_t reach, int64_t peak, int64_t joins) {
    int64_t id = ++sessions_;
    const RoomSettings& r = rooms_.at(room);
    events::v1::SessionStarted s;
    s.set_session_id(id);
    s.set_room_id(room);
    s.set_title(r.title);
    s.set_visibility(r.visibility);
    s.set_audiences(r.audiences);
    s.set_objective(r.objective);
    s.set_format(r.format);
    common::ToTimestamp(started, s.mutable_started_at());
    Publish("room", kBrand, absl::StrCat(id), s);
    events::v1::SessionEnded e;
    e.set_session_id(id);
    e.set_room_id(room);
    common::ToTimestamp(started + absl::Hours(1), e.mutable_ended_at());
    e.set_duration_seconds(3600);
    e.set_reach(reach);
    e.set_peak_concurrency(peak);
    e.set_total_joins(joins);
    e.set_watch_ms(reach * 600000);  // ten minutes a viewer
    Publish("room", kBrand, absl::StrCat(id), e);
    return id;
  }
  struct Line {
    int64_t product_id, quantity, total_fen;
  };
  // A checkout placed and paid, as the order service publishes it.
  int64_t Paid(int64_t session, const std::string& buyer, int channel, const std::string& associate,
               const std::vector<Line>& lines, const std::string& brand = kBrand,
               int broadcast = 0) {
    int64_t id = 1000 + ++orders_;
    absl::Time paid_at = kDay + absl::Minutes(orders_);
    events::v1::CheckoutStarted checkout;
    checkout.set_order_id(id);
    checkout.set_session_id(session);
    checkout.set_buyer_id(buyer);
    common::ToTimestamp(paid_at, checkout.mutable_placed_at());
    Publish("order", brand, absl::StrCat(id), checkout);
    events::v1::OrderPaid paid;
    paid.set_order_id(id);
    paid.set_session_id(session);
    paid.set_buyer_id(buyer);
    paid.set_channel(channel);
    paid.set_broadcast(broadcast);
    paid.set_associate_id(associate);
    paid.set_currency("CNY");
    int n = 0;
    for (const Line& l : lines) {
      events::v1::OrderLine* line = paid.add_lines();
      line->set_line_no(++n);
      line->set_product_id(l.product_id);
      line->set_sku_id(1);
      line->set_quantity(l.quantity);
      line->set_unit_price_fen(l.total_fen / l.quantity);
      line->set_line_total_fen(l.total_fen);
      paid.set_amount_fen(paid.amount_fen() + l.total_fen);
      paid.set_units(paid.units() + l.quantity);
    }
    common::ToTimestamp(paid_at, paid.mutable_paid_at());
    Publish("order", brand, absl::StrCat(id), paid);
    return id;
  }
  // A checkout placed and not paid (status 1). A checkout still reserving (0) or refused (9)
  // publishes nothing.
  void Unpaid(int64_t session, const std::string& buyer, int status) {
    int64_t id = 1000 + ++orders_;
    if (status != 1) return;
    events::v1::CheckoutStarted checkout;
    checkout.set_order_id(id);
    checkout.set_session_id(session);
    checkout.set_buyer_id(buyer);
    common::ToTimestamp(kDay + absl::Minutes(orders_), checkout.mutable_placed_at());
    Publish("order", kBrand, absl::StrCat(id), checkout);
  }
  void Refund(int64_t order, const std::string& key, int64_t amount,
              const std::string& brand = kBrand) {
    events::v1::OrderRefunded r;
    r.set_refund_id(++refunds_);
    r.set_order_id(order);
    r.set_amount_fen(amount);
    r.set_currency("CNY");
    common::ToTimestamp(kDay + absl::Hours(3), r.mutable_requested_at());
    Publish("order", brand, key, r);
  }
  // The attribution service's decision for a paid order ("" nobody).
  void Credit(int64_t order, const std::string& associate) {
    events::v1::OrderCredited c;
    c.set_order_id(order);
    c.set_associate_id(associate);
    common::ToTimestamp(kDay, c.mutable_credited_at());
    Publish("attribution", kBrand, absl::StrCat(order), c);
  }

  // A comment delivered in a session, as the interaction service publishes it; its id.
  std::string Comment(int64_t session, const std::string& author, const std::string& role,
                      const std::string& brand = kBrand) {
    std::string id = absl::StrCat(9000 + ++comments_);
    events::v1::CommentPosted c;
    c.set_comment_id(id);
    c.set_room_id(absl::StrCat(room_a_));
    c.set_session_id(absl::StrCat(session));
    c.set_author_id(author);
    c.set_author_role(role);
    c.set_text("is the 25 cm in black still available?");
    common::ToTimestamp(kDay + absl::Minutes(comments_), c.mutable_created_at());
    Publish("interaction", brand, id, c);
    return id;
  }
  void Liked(int64_t session, const std::string& viewer, const std::string& brand = kBrand) {
    events::v1::ViewerLiked l;
    l.set_room_id(absl::StrCat(room_a_));
    l.set_session_id(absl::StrCat(session));
    l.set_viewer_id(viewer);
    common::ToTimestamp(kDay, l.mutable_first_liked_at());
    Publish("interaction", brand, absl::StrCat(session, ":", viewer), l);
  }
  void Likes(int64_t session, int64_t total, const std::string& brand = kBrand) {
    events::v1::LikesCounted l;
    l.set_room_id(absl::StrCat(room_a_));
    l.set_session_id(absl::StrCat(session));
    l.set_total(total);
    common::ToTimestamp(kDay, l.mutable_counted_at());
    Publish("interaction", brand, absl::StrCat(session), l);
  }
  // A1's interaction: alice comments twice and likes, bob comments, carol and dave like, the host
  // and an associate comment. 5 comments, 2 commenters, 3 likers, 4 viewers in all; the like
  // totals arrive out of order (the largest, 250, counts).
  void A1Interaction() {
    Comment(a1_, "alice", "viewer");
    Comment(a1_, "ops-1", "host");
    Likes(a1_, 120);
    Liked(a1_, "alice");
    Comment(a1_, "alice", "viewer");
    Comment(a1_, "bob", "viewer");
    Likes(a1_, 250);
    Liked(a1_, "carol");
    Comment(a1_, "sa-1", "associate");
    Liked(a1_, "dave");
    Likes(a1_, 10);
  }
  static void ExpectA1Interaction(const v1::SessionReport& a) {
    EXPECT_EQ(a.comments(), 5);
    EXPECT_EQ(a.commenters(), 2);  // alice and bob; staff are not the audience
    EXPECT_EQ(a.likes(), 250);
    EXPECT_EQ(a.likers(), 3);
    EXPECT_EQ(a.interacting_viewers(), 4);    // alice, bob, carol, dave
    EXPECT_EQ(a.interaction_rate_bp(), 200);  // 4 of 200 reached
  }

  std::unique_ptr<grpc::ClientContext> As(Role role, const std::string& brand = kBrand) {
    auto c = std::make_unique<grpc::ClientContext>();
    common::AttachPrincipal(
        *c, codec_.Encode(Principal{role, brand, "someone", clock_.Now() + absl::Hours(1)}));
    return c;
  }
  v1::SessionReport Report(int64_t session) {
    v1::GetSessionReportRequest r;
    r.set_session_id(absl::StrCat(session));
    v1::GetSessionReportResponse out;
    grpc::Status s = stub_->GetSessionReport(As(Role::kOps).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.report();
  }
  v1::ListSessionReportsRequest Period() {
    v1::ListSessionReportsRequest r;
    r.set_brand_id(kBrand);
    common::ToTimestamp(kDay - absl::Hours(1), r.mutable_from());
    common::ToTimestamp(kDay + absl::Hours(48), r.mutable_to());
    return r;
  }
  static std::map<std::string, v1::SalesFigures> ByKey(
      const google::protobuf::RepeatedPtrField<v1::SalesBreakdown>& rows) {
    std::map<std::string, v1::SalesFigures> out;
    for (const auto& row : rows) out[row.key()] = row.sales();
    return out;
  }

  common::FakeClock clock_{kDay + absl::Hours(72)};
  common::PrincipalCodec codec_{"integration-test-secret-0123456789"};
  NoLiveStats live_;
  std::unique_ptr<common::MysqlPool> mysql_;
  std::unique_ptr<MysqlReportStore> store_;
  std::unique_ptr<common::EventConsumer> consumer_;
  std::unique_ptr<ReportServiceImpl> service_;
  std::unique_ptr<common::GrpcServer> server_;
  std::unique_ptr<v1::ReportService::Stub> stub_;
  int64_t room_a_ = 0, room_b_ = 0, a1_ = 0, b1_ = 0, b2_ = 0, o1_ = 0, o2_ = 0, o3_ = 0;
  int orders_ = 0;
  int64_t sessions_ = 0;
  int64_t refunds_ = 0;
  int comments_ = 0;
  std::map<int64_t, RoomSettings> rooms_;
  std::map<std::string, int64_t> event_ids_;
  std::vector<events::v1::Event> queued_;
  std::vector<events::v1::Event> published_;
};

TEST_F(ReportTest, SessionReportAddsUpByHand) {
  // 3 sessions started and ended, 7 checkouts placed and paid, 2 refunds.
  ASSERT_EQ(Deliver(), 22);
  v1::SessionReport a = Report(a1_);
  EXPECT_EQ(a.title(), "VIP preview");
  EXPECT_EQ(a.visibility(), v1::VISIBILITY_PRIVATE);
  EXPECT_FALSE(a.live());
  EXPECT_EQ(a.reach(), 200);
  EXPECT_EQ(a.peak_concurrency(), 80);
  EXPECT_EQ(a.total_joins(), 260);
  EXPECT_EQ(a.watch_seconds(), 120000);                 // 200 viewers x 600 s
  EXPECT_NEAR(a.average_concurrency(), 33.333, 0.001);  // 120,000 s over one hour
  EXPECT_EQ(a.sales().orders(), 3);
  EXPECT_EQ(a.sales().buyers(), 2);
  EXPECT_EQ(a.sales().units(), 4);
  EXPECT_EQ(a.sales().gmv().amount_fen(), 600000);
  EXPECT_EQ(a.sales().refunds().amount_fen(), 250000);
  EXPECT_EQ(a.sales().net_sales().amount_fen(), 350000);
  EXPECT_EQ(a.sales().refunded_orders(), 1);
  EXPECT_EQ(a.conversion_rate_bp(), 100);  // 2 buyers / 200 reached
  EXPECT_EQ(a.average_order_value().amount_fen(), 200000);
  auto channels = ByKey(a.by_channel());
  ASSERT_EQ(channels.size(), 2u);
  EXPECT_EQ(channels["CHANNEL_INVITE"].orders(), 2);
  EXPECT_EQ(channels["CHANNEL_INVITE"].buyers(), 1);
  EXPECT_EQ(channels["CHANNEL_INVITE"].gmv().amount_fen(), 400000);
  EXPECT_EQ(channels["CHANNEL_INVITE"].refunds().amount_fen(), 50000);
  EXPECT_EQ(channels["CHANNEL_INVITE"].refunded_orders(), 0);
  EXPECT_EQ(channels["CHANNEL_SHARE_LINK"].refunds().amount_fen(), 200000);
  EXPECT_EQ(channels["CHANNEL_SHARE_LINK"].refunded_orders(), 1);
  auto associates = ByKey(a.by_associate());
  EXPECT_EQ(associates["sa-1"].units(), 3);
  EXPECT_EQ(associates["sa-2"].net_sales().amount_fen(), 0);
  auto products = ByKey(a.by_product());
  ASSERT_EQ(products.size(), 2u);
  EXPECT_EQ(products["11"].orders(), 2);
  EXPECT_EQ(products["11"].buyers(), 2);
  EXPECT_EQ(products["11"].units(), 3);
  EXPECT_EQ(products["11"].gmv().amount_fen(), 500000);
  EXPECT_EQ(products["12"].gmv().amount_fen(), 100000);
  // Bob's order (product 11) refunded in full, and 50,000 of alice's first (all product 11).
  EXPECT_EQ(products["11"].refunds().amount_fen(), 250000);
  EXPECT_EQ(products["11"].refunded_orders(), 1);
  EXPECT_EQ(products["12"].refunds().amount_fen(), 0);

  v1::SessionReport b2 = Report(b2_);
  EXPECT_EQ(b2.sales().buyers(), 2);
  EXPECT_EQ(b2.conversion_rate_bp(), 4);  // 2 / 5000
  EXPECT_EQ(ByKey(b2.by_associate())[""].orders(), 2);
}

// Sales by associate follow the attribution service's decision (OrderCredited), whatever the
// buyer carried into checkout; an order is credited once it is decided, and its refunds wait for
// that and come off the same associate. (With no decision after the wait, the carried associate:
// SessionReportAddsUpByHand.)
TEST_F(ReportTest, SalesByAssociateFollowTheAttributionService) {
  MysqlReportStore store(*mysql_, clock_, nullptr, absl::Hours(1000));
  common::EventConsumer consumer(*mysql_, "report_consumed_events", clock_);
  store.Subscribe(consumer);
  auto attribute = [&](int64_t order, const std::string& associate) { Credit(order, associate); };
  auto apply = [&] {
    Deliver(&consumer);
    EXPECT_TRUE(store.CreditOverdue(100).ok());
  };
  auto by_associate = [&] {
    std::map<std::string, Sales> out;
    absl::StatusOr<std::vector<BreakdownRow>> rows = store.GetBreakdowns(a1_);
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (!rows.ok()) return out;
    for (const BreakdownRow& row : *rows) {
      if (row.dimension == kAssociate) out[row.key] = row.sales;
    }
    return out;
  };
  // Alice's first order credited to associate 42 (she carried sa-1); the others undecided.
  attribute(o1_, "42");
  apply();
  std::map<std::string, Sales> first = by_associate();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first["42"].orders, 1);
  EXPECT_EQ(first["42"].gmv_fen, 300000);
  EXPECT_EQ(first["42"].refunds_fen, 50000);  // r2, of the credited order
  v1::SessionReport waiting = Report(a1_);
  EXPECT_EQ(waiting.sales().orders(), 3);  // the session's own figures do not wait
  EXPECT_EQ(waiting.sales().refunds().amount_fen(), 50000);  // r1 waits for bob's order

  // Alice's second order to 42 too; bob's credited to nobody.
  attribute(o2_, "42");
  attribute(o3_, "");
  apply();
  apply();  // again: nothing counts twice
  std::map<std::string, Sales> second = by_associate();
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second["42"].orders, 2);
  EXPECT_EQ(second["42"].buyers, 1);
  EXPECT_EQ(second["42"].units, 3);
  EXPECT_EQ(second["42"].gmv_fen, 400000);
  EXPECT_EQ(second["42"].refunds_fen, 50000);
  EXPECT_EQ(second[""].orders, 1);
  EXPECT_EQ(second[""].gmv_fen, 200000);
  EXPECT_EQ(second[""].refunds_fen, 200000);
  EXPECT_EQ(second[""].refunded_orders, 1);
  EXPECT_EQ(second.count("sa-1"), 0u);
  v1::SessionReport done = Report(a1_);
  EXPECT_EQ(done.sales().refunds().amount_fen(), 250000);
  EXPECT_EQ(done.sales().refunded_orders(), 1);
}

// Orders bought from the session's replay count into the session, apart from the live's, as a
// whole and per associate; their refunds come off the replay's figures.
TEST_F(ReportTest, ReplaySalesCountApartFromTheLiveAndPerAssociate) {
  ASSERT_EQ(Deliver(), 22);
  int64_t replayed = Paid(a1_, "gina", 1, "sa-1", {{11, 1, 150000}}, kBrand, v1::BROADCAST_REPLAY);
  Paid(a1_, "hank", 2, "sa-2", {{12, 1, 90000}}, kBrand, v1::BROADCAST_REPLAY);
  Refund(replayed, "r-replay", 50000);
  Deliver();
  v1::SessionReport a = Report(a1_);
  EXPECT_EQ(a.sales().orders(), 5);
  EXPECT_EQ(a.sales().gmv().amount_fen(), 840000);
  auto broadcasts = ByKey(a.by_broadcast());
  ASSERT_EQ(broadcasts.size(), 2u);
  // The live's three orders (placed before broadcasts were recorded: counted as live).
  EXPECT_EQ(broadcasts["BROADCAST_LIVE"].orders(), 3);
  EXPECT_EQ(broadcasts["BROADCAST_LIVE"].gmv().amount_fen(), 600000);
  EXPECT_EQ(broadcasts["BROADCAST_LIVE"].refunds().amount_fen(), 250000);
  EXPECT_EQ(broadcasts["BROADCAST_REPLAY"].orders(), 2);
  EXPECT_EQ(broadcasts["BROADCAST_REPLAY"].buyers(), 2);
  EXPECT_EQ(broadcasts["BROADCAST_REPLAY"].units(), 2);
  EXPECT_EQ(broadcasts["BROADCAST_REPLAY"].gmv().amount_fen(), 240000);
  EXPECT_EQ(broadcasts["BROADCAST_REPLAY"].refunds().amount_fen(), 50000);
  EXPECT_EQ(broadcasts["BROADCAST_REPLAY"].net_sales().amount_fen(), 190000);

  std::map<std::pair<std::string, std::string>, v1::SalesFigures> per;
  for (const v1::SalesBreakdown& row : a.by_associate_broadcast()) {
    per[{row.key(), row.broadcast()}] = row.sales();
  }
  ASSERT_EQ(per.size(), 4u);
  EXPECT_EQ((per[{"sa-1", "BROADCAST_LIVE"}].orders()), 2);
  EXPECT_EQ((per[{"sa-1", "BROADCAST_REPLAY"}].orders()), 1);
  EXPECT_EQ((per[{"sa-1", "BROADCAST_REPLAY"}].gmv().amount_fen()), 150000);
  EXPECT_EQ((per[{"sa-1", "BROADCAST_REPLAY"}].refunds().amount_fen()), 50000);
  EXPECT_EQ((per[{"sa-2", "BROADCAST_LIVE"}].orders()), 1);
  EXPECT_EQ((per[{"sa-2", "BROADCAST_REPLAY"}].gmv().amount_fen()), 90000);
  // The associates' totals are the sums of their broadcasts.
  auto associates = ByKey(a.by_associate());
  EXPECT_EQ(associates["sa-1"].orders(), 3);
  EXPECT_EQ(associates["sa-1"].gmv().amount_fen(), 550000);  // 400,000 live + 150,000 replay

  // Every event delivered again: nothing counts twice.
  queued_ = published_;
  Deliver();
  v1::SessionReport again = Report(a1_);
  EXPECT_EQ(ByKey(again.by_broadcast())["BROADCAST_REPLAY"].orders(), 2);
  EXPECT_EQ(ByKey(again.by_broadcast())["BROADCAST_REPLAY"].refunds().amount_fen(), 50000);
}

TEST_F(ReportTest, ReplayedEventsCountOnce) {
  ASSERT_EQ(Deliver(), 22);
  // Every event delivered again (a relay that lost its marks): nothing is counted twice, in one
  // call or one at a time.
  queued_ = published_;
  ASSERT_EQ(Deliver(), 22);
  queued_ = published_;
  ASSERT_EQ(Deliver(nullptr, /*one_call=*/false), 22);
  v1::SessionReport a = Report(a1_);
  EXPECT_EQ(a.sales().orders(), 3);
  EXPECT_EQ(a.sales().buyers(), 2);
  EXPECT_EQ(a.sales().refunds().amount_fen(), 250000);
  // A late refund arrives and is counted once; the order is now refunded in full.
  Refund(o1_, "r3", 250000);
  ASSERT_EQ(Deliver(), 1);
  queued_ = {published_.back()};
  ASSERT_EQ(Deliver(), 1);  // delivered twice, counted once
  a = Report(a1_);
  EXPECT_EQ(a.sales().refunds().amount_fen(), 500000);
  EXPECT_EQ(a.sales().refunded_orders(), 2);
  EXPECT_EQ(a.sales().gmv().amount_fen(), 600000);  // GMV is before refunds
  auto products = ByKey(a.by_product());
  EXPECT_EQ(products["11"].refunds().amount_fen(), 500000);
  EXPECT_EQ(products["11"].refunded_orders(), 2);
}

TEST_F(ReportTest, AcrossSessionsWithSegmentsAndCorrelation) {
  ASSERT_EQ(Deliver(), 22);
  v1::ListSessionReportsResponse out;
  grpc::Status s = stub_->ListSessionReports(As(Role::kFinance).get(), Period(), &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.matched(), 3);
  ASSERT_EQ(out.sessions_size(), 3);
  EXPECT_EQ(out.sessions(0).session_id(), absl::StrCat(b2_));  // newest first
  EXPECT_EQ(out.correlation_sample_size(), 3);
  EXPECT_NEAR(out.reach_conversion_correlation(), -0.8733587925, 1e-6);  // computed by hand
  std::map<std::string, v1::SegmentSummary> segments;
  for (const auto& seg : out.segments()) segments[seg.dimension() + "/" + seg.value()] = seg;
  EXPECT_EQ(segments["visibility/VISIBILITY_PUBLIC"].sessions(), 2);
  EXPECT_EQ(segments["visibility/VISIBILITY_PUBLIC"].reach(), 15000);
  EXPECT_EQ(segments["visibility/VISIBILITY_PUBLIC"].buyers(), 3);
  EXPECT_EQ(segments["visibility/VISIBILITY_PUBLIC"].conversion_rate_bp(), 2);
  EXPECT_EQ(segments["visibility/VISIBILITY_PRIVATE"].conversion_rate_bp(), 100);
  EXPECT_EQ(segments["audience/AUDIENCE_CLIENTS"].gmv().amount_fen(), 600000);

  // Filtered and sorted: private sessions only; by conversion.
  v1::ListSessionReportsRequest r = Period();
  r.set_sort(v1::SESSION_SORT_CONVERSION);
  ASSERT_TRUE(stub_->ListSessionReports(As(Role::kOps).get(), r, &out).ok());
  EXPECT_EQ(out.sessions(0).session_id(), absl::StrCat(a1_));
  r.set_visibility(v1::VISIBILITY_PUBLIC);
  out.Clear();
  ASSERT_TRUE(stub_->ListSessionReports(As(Role::kOps).get(), r, &out).ok());
  EXPECT_EQ(out.matched(), 2);
  EXPECT_EQ(out.sessions(0).session_id(), absl::StrCat(b2_));  // 4 bp before 1 bp

  v1::ExportSessionReportsCsvResponse csv;
  ASSERT_TRUE(stub_->ExportSessionReportsCsv(As(Role::kFinance).get(), Period(), &csv).ok());
  EXPECT_EQ(std::count(csv.csv().begin(), csv.csv().end(), '\n'), 4);  // header and 3 rows
  EXPECT_NE(csv.csv().find(absl::StrCat(a1_, ",", room_a_, ",VIP preview,VISIBILITY_PRIVATE")),
            std::string::npos)
      << csv.csv();
}

TEST_F(ReportTest, TheFunnelCountsEachViewerOncePerStep) {
  Deliver();               // the sessions are known (product views of unknown sessions are refused)
  Unpaid(a1_, "gina", 1);  // checked out, not paid
  Unpaid(a1_, "hank", 9);  // refused: never an order
  Unpaid(a1_, "ivan", 0);  // still reserving: not counted until it is decided
  v1::RecordFunnelEventsRequest events;
  for (const auto& [viewer, step] : std::vector<std::pair<std::string, v1::FunnelStep>>{
           {"alice", v1::FUNNEL_STEP_VIEWED_PRODUCT},
           {"alice", v1::FUNNEL_STEP_VIEWED_PRODUCT},
           {"bob", v1::FUNNEL_STEP_VIEWED_PRODUCT},
           {"gina", v1::FUNNEL_STEP_VIEWED_PRODUCT},
           {"hank", v1::FUNNEL_STEP_VIEWED_PRODUCT},
           {"alice", v1::FUNNEL_STEP_ADDED_TO_CART},
           {"bob", v1::FUNNEL_STEP_ADDED_TO_CART},
           {"gina", v1::FUNNEL_STEP_ADDED_TO_CART}}) {
    v1::FunnelEvent* e = events.add_events();
    e->set_session_id(absl::StrCat(a1_));
    e->set_viewer_id(viewer);
    e->set_step(step);
  }
  v1::RecordFunnelEventsResponse recorded;
  for (int i = 0; i < 2; ++i) {  // a repeat counts nobody twice
    grpc::Status s = stub_->RecordFunnelEvents(As(Role::kService).get(), events, &recorded);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // A viewer opening a product (through the gateway) is the same step, for that viewer only.
  v1::RecordProductViewRequest view;
  view.set_session_id(absl::StrCat(a1_));
  view.set_product_id("11");
  v1::RecordProductViewResponse viewed;
  auto as_viewer = [&](const std::string& viewer, const std::string& brand) {
    auto c = std::make_unique<grpc::ClientContext>();
    common::AttachPrincipal(
        *c, codec_.Encode(Principal{Role::kViewer, brand, viewer, clock_.Now() + absl::Hours(1)}));
    return c;
  };
  ASSERT_TRUE(stub_->RecordProductView(as_viewer("julia", kBrand).get(), view, &viewed).ok());
  ASSERT_TRUE(stub_->RecordProductView(as_viewer("alice", kBrand).get(), view, &viewed).ok());
  EXPECT_EQ(stub_->RecordProductView(as_viewer("rex", "rival").get(), view, &viewed).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stub_->RecordProductView(As(Role::kOps).get(), view, &viewed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A viewer the private room does not admit is not counted in its funnel.
  EXPECT_EQ(
      stub_->RecordProductView(as_viewer("mallory", kBrand).get(), view, &viewed).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  Deliver();
  v1::Funnel funnel = Report(a1_).funnel();
  EXPECT_EQ(funnel.joined(), 200);
  EXPECT_EQ(funnel.viewed_product(), 5);  // alice, bob, gina, hank and julia
  EXPECT_EQ(funnel.added_to_cart(), 3);
  EXPECT_EQ(funnel.checked_out(), 3);  // alice, bob, gina
  EXPECT_EQ(funnel.paid(), 2);
  // Every row carries the session's brand (so that the tables can be split by brand).
  for (const char* table :
       {"report_funnel_viewers", "report_session_funnel", "report_session_buyers"}) {
    auto counts = mysql_->Run([&](common::MysqlConnection& c) -> absl::StatusOr<int64_t> {
      sql::PreparedStatement& q =
          c.Prepare(absl::StrCat("SELECT COUNT(*), COALESCE(SUM(brand_id = ?), 0) FROM ", table));
      q.setString(1, kBrand);
      std::unique_ptr<sql::ResultSet> rs(q.executeQuery());
      rs->next();
      EXPECT_GT(rs->getInt64(1), 0) << table;
      return rs->getInt64(1) - rs->getInt64(2);
    });
    ASSERT_TRUE(counts.ok()) << counts.status();
    EXPECT_EQ(*counts, 0) << table << ": rows without the brand";
  }
  // Only services record steps; a bad step names the field.
  EXPECT_EQ(stub_->RecordFunnelEvents(As(Role::kViewer).get(), events, &recorded).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  events.mutable_events(0)->set_step(v1::FUNNEL_STEP_UNSPECIFIED);
  grpc::Status bad = stub_->RecordFunnelEvents(As(Role::kService).get(), events, &recorded);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad.error_message().rfind("events[0].step", 0), 0u) << bad.error_message();
}

TEST_F(ReportTest, OnlyStaffOfTheBrandReadReportsAndBadInputNamesTheField) {
  Deliver();
  v1::GetSessionReportRequest get;
  get.set_session_id(absl::StrCat(a1_));
  v1::GetSessionReportResponse report;
  EXPECT_EQ(stub_->GetSessionReport(As(Role::kViewer).get(), get, &report).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->GetSessionReport(As(Role::kAssociate).get(), get, &report).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->GetSessionReport(As(Role::kOps, "rival").get(), get, &report).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListSessionReportsResponse list;
  EXPECT_EQ(stub_->ListSessionReports(As(Role::kOps, "rival").get(), Period(), &list).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ListSessionReportsRequest bad = Period();
  bad.clear_from();
  grpc::Status s = stub_->ListSessionReports(As(Role::kOps).get(), bad, &list);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("from", 0), 0u) << s.error_message();
  bad = Period();
  bad.set_limit(20000);
  s = stub_->ListSessionReports(As(Role::kOps).get(), bad, &list);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("limit", 0), 0u) << s.error_message();
  get.set_session_id("abc");
  s = stub_->GetSessionReport(As(Role::kOps).get(), get, &report);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// Reports are never written into by another brand: a paid order and a refund of brand "rival" that
// name this brand's session A1, and an order naming a session nobody knows, are consumed (the
// consumer applies them) but counted nowhere; another brand's funnel events and product views
// for A1 count nothing either.
TEST_F(ReportTest, AnotherBrandsOrdersAndEventsNeverCountIntoASession) {
  ASSERT_EQ(Deliver(), 22);
  const v1::SessionReport before = Report(a1_);
  int64_t foreign = Paid(a1_, "xavier", 1, "sa-9", {{11, 1, 990000}}, "rival");
  Refund(foreign, "rx", 990000, "rival");
  Paid(987654, "yann", 1, "", {{11, 1, 10000}});  // no such session
  Unpaid(a1_, "zoe", 1);                          // this brand's: still counts as checked out
  // 2 checkouts placed and paid, a refund, zoe's checkout; one event at a time.
  ASSERT_EQ(Deliver(nullptr, /*one_call=*/false), 6);
  const v1::SessionReport after = Report(a1_);
  EXPECT_EQ(after.sales().orders(), before.sales().orders());
  EXPECT_EQ(after.sales().buyers(), before.sales().buyers());
  EXPECT_EQ(after.sales().units(), before.sales().units());
  EXPECT_EQ(after.sales().gmv().amount_fen(), before.sales().gmv().amount_fen());
  EXPECT_EQ(after.sales().refunds().amount_fen(), before.sales().refunds().amount_fen());
  EXPECT_EQ(ByKey(after.by_product())["11"].gmv().amount_fen(),
            ByKey(before.by_product())["11"].gmv().amount_fen());
  EXPECT_EQ(ByKey(after.by_associate()).count("sa-9"), 0u);
  EXPECT_EQ(after.funnel().paid(), before.funnel().paid());
  EXPECT_EQ(after.funnel().checked_out(), before.funnel().checked_out() + 1);
  absl::StatusOr<int64_t> stray =
      mysql_->Run([&](common::MysqlConnection& c) -> absl::StatusOr<int64_t> {
        std::unique_ptr<sql::ResultSet> rs(
            c.Prepare("SELECT (SELECT COUNT(*) FROM report_session_sales WHERE brand_id = 'rival' "
                      "OR session_id = 987654) + (SELECT COUNT(*) FROM report_session_buyers "
                      "WHERE buyer_id IN ('xavier', 'yann'))")
                .executeQuery());
        rs->next();
        return rs->getInt64(1);
      });
  ASSERT_TRUE(stray.ok());
  EXPECT_EQ(*stray, 0);

  // Funnel events from another brand's service, and a product view by another brand's viewer.
  v1::RecordFunnelEventsRequest events;
  v1::FunnelEvent* e = events.add_events();
  e->set_session_id(absl::StrCat(a1_));
  e->set_viewer_id("xavier");
  e->set_step(v1::FUNNEL_STEP_ADDED_TO_CART);
  v1::RecordFunnelEventsResponse recorded;
  ASSERT_TRUE(stub_->RecordFunnelEvents(As(Role::kService, "rival").get(), events, &recorded).ok());
  v1::RecordProductViewRequest view;
  view.set_session_id(absl::StrCat(a1_));
  view.set_product_id("11");
  v1::RecordProductViewResponse viewed;
  grpc::Status s = stub_->RecordProductView(As(Role::kViewer, "rival").get(), view, &viewed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "session_id: no such session");
  // The uninvited viewer of this brand is refused at the private session's door; the invited one
  // counts.
  auto as_viewer = [&](const std::string& viewer) {
    auto c = std::make_unique<grpc::ClientContext>();
    common::AttachPrincipal(
        *c, codec_.Encode(Principal{Role::kViewer, kBrand, viewer, clock_.Now() + absl::Hours(1)}));
    return c;
  };
  EXPECT_EQ(stub_->RecordProductView(as_viewer("mallory").get(), view, &viewed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(stub_->RecordProductView(as_viewer("alice").get(), view, &viewed).ok());
  const v1::SessionReport funnel = Report(a1_);
  EXPECT_EQ(funnel.funnel().added_to_cart(), before.funnel().added_to_cart());
  EXPECT_EQ(funnel.funnel().viewed_product(), before.funnel().viewed_product() + 1);
}

// Events of different producers arrive in any order (a relay retrying, a service down for a
// while): refunds before their order, orders and checkouts before their session. What cannot
// count yet waits in the report's tables, and the figures come out as in order.
TEST_F(ReportTest, EventsInAnyOrderCountTheSame) {
  std::reverse(queued_.begin(), queued_.end());
  // Before the sessions are known, nothing counts anywhere.
  std::vector<events::v1::Event> sessions_last;
  for (const events::v1::Event& e : queued_) {
    if (e.producer() == "room") sessions_last.push_back(e);
  }
  queued_.erase(std::remove_if(queued_.begin(), queued_.end(),
                               [](const events::v1::Event& e) { return e.producer() == "room"; }),
                queued_.end());
  ASSERT_EQ(Deliver(), 16);
  absl::StatusOr<std::optional<SessionRow>> unknown = store_->GetSession(a1_);
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
  queued_ = sessions_last;
  ASSERT_EQ(Deliver(), 6);
  v1::SessionReport a = Report(a1_);
  EXPECT_EQ(a.sales().orders(), 3);
  EXPECT_EQ(a.sales().buyers(), 2);
  EXPECT_EQ(a.sales().units(), 4);
  EXPECT_EQ(a.sales().gmv().amount_fen(), 600000);
  EXPECT_EQ(a.sales().refunds().amount_fen(), 250000);
  EXPECT_EQ(a.sales().refunded_orders(), 1);
  EXPECT_EQ(a.funnel().checked_out(), 2);  // alice and bob, who waited for the session
  auto products = ByKey(a.by_product());
  EXPECT_EQ(products["11"].refunds().amount_fen(), 250000);
  EXPECT_EQ(products["11"].refunded_orders(), 1);
  auto associates = ByKey(a.by_associate());
  EXPECT_EQ(associates["sa-1"].units(), 3);
  EXPECT_EQ(associates["sa-2"].net_sales().amount_fen(), 0);
  EXPECT_EQ(Report(b2_).sales().buyers(), 2);
}

// The interaction service's events (issue 19): comments of every author, viewers who commented,
// the like total and viewers who liked; the union of commenters and likers is the interacting
// viewers. Delivered again (whole, one at a time, a comment and a like re-published under new
// event ids), each counts once.
TEST_F(ReportTest, InteractionCountsEachCommentAndViewerOnce) {
  ASSERT_EQ(Deliver(), 22);
  v1::SessionReport quiet = Report(b1_);
  EXPECT_EQ(quiet.comments(), 0);
  EXPECT_EQ(quiet.interacting_viewers(), 0);
  EXPECT_EQ(quiet.interaction_rate_bp(), 0);
  size_t first = published_.size();
  A1Interaction();
  ASSERT_EQ(Deliver(), 11);
  ExpectA1Interaction(Report(a1_));
  std::vector<events::v1::Event> interaction(published_.begin() + first, published_.end());
  queued_ = interaction;
  ASSERT_EQ(Deliver(), 11);
  queued_ = interaction;
  ASSERT_EQ(Deliver(nullptr, /*one_call=*/false), 11);
  ExpectA1Interaction(Report(a1_));
  // The same comment and the same first like published again under other event ids.
  for (const events::v1::Event& e : interaction) {
    if (e.type() == "livecommerce.events.v1.LikesCounted") continue;
    events::v1::Event again = e;
    again.set_id(++event_ids_["interaction"]);
    queued_.push_back(again);
  }
  ASSERT_EQ(Deliver(), 8);
  ExpectA1Interaction(Report(a1_));
  // Carol comments now: one more comment and commenter, still 4 viewers; a higher like total.
  Comment(a1_, "carol", "viewer");
  Likes(a1_, 300);
  ASSERT_EQ(Deliver(), 2);
  v1::SessionReport a = Report(a1_);
  EXPECT_EQ(a.comments(), 6);
  EXPECT_EQ(a.commenters(), 3);
  EXPECT_EQ(a.likes(), 300);
  EXPECT_EQ(a.likers(), 3);
  EXPECT_EQ(a.interacting_viewers(), 4);
  // And a viewer seen nowhere before likes: 5.
  Liked(a1_, "erin");
  ASSERT_EQ(Deliver(), 1);
  EXPECT_EQ(Report(a1_).interacting_viewers(), 5);
  EXPECT_EQ(Report(a1_).interaction_rate_bp(), 250);
}

// Interaction events before their session is known and in reverse order count the same; another
// brand's events naming the session count nowhere.
TEST_F(ReportTest, InteractionInAnyOrderAndNeverFromAnotherBrand) {
  std::vector<events::v1::Event> fixture = queued_;
  queued_.clear();
  A1Interaction();
  std::reverse(queued_.begin(), queued_.end());
  ASSERT_EQ(Deliver(), 11);  // the session is not known yet
  Comment(a1_, "xavier", "viewer", "rival");
  Liked(a1_, "yann", "rival");
  Likes(a1_, 99999, "rival");
  ASSERT_EQ(Deliver(nullptr, /*one_call=*/false), 3);
  queued_ = fixture;
  ASSERT_EQ(Deliver(), 22);
  ExpectA1Interaction(Report(a1_));
}

// The cross-session comparison sets interaction beside reach and conversion: every row carries
// it, sessions sort by it, segments add it up, its correlation with conversion, and the CSV.
TEST_F(ReportTest, TheComparisonCarriesInteraction) {
  A1Interaction();
  for (int i = 0; i < 30; ++i) Liked(b1_, absl::StrCat("fan-", i));  // 30 of 10,000: 30 bp
  Comment(b2_, "dave", "viewer");                                    // 1 of 5,000: 2 bp
  Liked(b2_, "dave");
  ASSERT_EQ(Deliver(), 22 + 11 + 32);
  v1::ListSessionReportsRequest r = Period();
  r.set_sort(v1::SESSION_SORT_INTERACTION);
  v1::ListSessionReportsResponse out;
  grpc::Status s = stub_->ListSessionReports(As(Role::kFinance).get(), r, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(out.sessions_size(), 3);
  EXPECT_EQ(out.sessions(0).session_id(), absl::StrCat(a1_));  // 200 bp
  ExpectA1Interaction(out.sessions(0));
  EXPECT_EQ(out.sessions(1).session_id(), absl::StrCat(b1_));
  EXPECT_EQ(out.sessions(1).likers(), 30);
  EXPECT_EQ(out.sessions(1).interaction_rate_bp(), 30);
  EXPECT_EQ(out.sessions(2).session_id(), absl::StrCat(b2_));
  EXPECT_EQ(out.sessions(2).comments(), 1);
  EXPECT_EQ(out.sessions(2).interacting_viewers(), 1);
  EXPECT_EQ(out.sessions(2).interaction_rate_bp(), 2);
  // Interaction rates 0.02, 0.003, 0.0002 against conversion 0.01, 0.0001, 0.0004.
  EXPECT_NEAR(out.interaction_conversion_correlation(), 0.9875955, 1e-6);
  for (const v1::SegmentSummary& seg : out.segments()) {
    if (seg.dimension() == "visibility" && seg.value() == "VISIBILITY_PUBLIC") {
      EXPECT_EQ(seg.interacting_viewers(), 31);
      EXPECT_EQ(seg.interaction_rate_bp(), 20);  // 31 / 15,000
    }
  }
  v1::ExportSessionReportsCsvResponse csv;
  ASSERT_TRUE(stub_->ExportSessionReportsCsv(As(Role::kFinance).get(), r, &csv).ok());
  EXPECT_NE(csv.csv().find(",comments,commenters,likes,likers,interacting_viewers,"
                           "interaction_rate_bp,"),
            std::string::npos)
      << csv.csv();
  EXPECT_NE(csv.csv().find(",5,2,250,3,4,200,"), std::string::npos) << csv.csv();
}

// Before and after the live: the room's invitations and reservations when the session went live,
// the viewers reminded and the replay's viewers, each counted once per viewer whatever is
// delivered again; another brand's events count nowhere; the funnel and the comparison carry them.
TEST_F(ReportTest, TheFunnelRunsFromInvitationToTheReplay) {
  ASSERT_EQ(Deliver(), 22);
  events::v1::SessionAudienceBooked booked;
  booked.set_session_id(a1_);
  booked.set_room_id(room_a_);
  booked.set_invited(40);
  booked.set_reserved(12);
  Publish("room", kBrand, absl::StrCat(a1_), booked);
  auto reminded = [&](const std::string& viewer, const std::string& brand = kBrand) {
    events::v1::ReminderSent r;
    r.set_reminder_id(++comments_);
    r.set_session_id(a1_);
    r.set_room_id(room_a_);
    r.set_viewer_id(viewer);
    Publish("room", brand, absl::StrCat(a1_), r);
  };
  auto replayed = [&](const std::string& viewer, const std::string& brand = kBrand) {
    events::v1::ReplayViewed v;
    v.set_session_id(a1_);
    v.set_room_id(room_a_);
    v.set_viewer_id(viewer);
    Publish("room", brand, absl::StrCat(a1_), v);
  };
  for (const char* viewer : {"alice", "bob", "carol"}) reminded(viewer);
  reminded("alice");             // a second reminder of one viewer
  reminded("mallory", "rival");  // another brand's, naming this session
  replayed("alice");
  replayed("dave");
  replayed("dave");
  replayed("eve", "rival");
  Paid(a1_, "dave", 1, "sa-1", {{11, 1, 120000}}, kBrand, v1::BROADCAST_REPLAY);
  Deliver();
  queued_ = published_;  // everything delivered again
  Deliver();

  v1::SessionReport a = Report(a1_);
  EXPECT_EQ(a.invited(), 40);
  EXPECT_EQ(a.reserved(), 12);
  EXPECT_EQ(a.reminded(), 3);
  EXPECT_EQ(a.replay_viewers(), 2);
  EXPECT_EQ(a.reach(), 200);  // replay viewers are not live reach
  EXPECT_EQ(a.replay_orders(), 1);
  EXPECT_EQ(a.replay_buyers(), 1);
  EXPECT_EQ(a.replay_gmv().amount_fen(), 120000);
  const v1::Funnel& f = a.funnel();
  EXPECT_EQ(f.invited(), 40);
  EXPECT_EQ(f.reserved(), 12);
  EXPECT_EQ(f.reminded(), 3);
  EXPECT_EQ(f.joined(), 200);
  EXPECT_EQ(f.bought_live(), 2);  // alice and bob
  EXPECT_EQ(f.replay_viewers(), 2);
  EXPECT_EQ(f.bought_replay(), 1);
  EXPECT_EQ(f.paid(), 3);

  // The comparison carries them, and its CSV.
  v1::ListSessionReportsResponse out;
  ASSERT_TRUE(stub_->ListSessionReports(As(Role::kOps).get(), Period(), &out).ok());
  bool found = false;
  for (const v1::SessionReport& row : out.sessions()) {
    if (row.session_id() != absl::StrCat(a1_)) continue;
    found = true;
    EXPECT_EQ(row.reserved(), 12);
    EXPECT_EQ(row.replay_viewers(), 2);
    EXPECT_EQ(row.replay_gmv().amount_fen(), 120000);
  }
  EXPECT_TRUE(found);
  v1::ExportSessionReportsCsvResponse csv;
  ASSERT_TRUE(stub_->ExportSessionReportsCsv(As(Role::kFinance).get(), Period(), &csv).ok());
  EXPECT_NE(csv.csv().find(",invited,reserved,reminded,replay_viewers,replay_orders,"
                           "replay_buyers,replay_gmv_fen\r\n"),
            std::string::npos);
  EXPECT_NE(csv.csv().find(",40,12,3,2,1,1,120000\r\n"), std::string::npos) << csv.csv();
}

}  // namespace
}  // namespace livecommerce::report
