#include <gtest/gtest.h>

#include "services/report/domain/report.h"

namespace livecommerce::report {
namespace {

SessionRow Row(int64_t id, int64_t reach, int64_t buyers, int64_t gmv) {
  SessionRow row;
  row.session_id = id;
  row.reach = reach;
  row.sales.buyers = buyers;
  row.sales.orders = buyers;
  row.sales.gmv_fen = gmv;
  row.started_at = absl::FromUnixSeconds(1700000000 + id);
  return row;
}

TEST(ReportMathTest, RatesAreIntegerAndRoundDown) {
  EXPECT_EQ(ConversionRateBp(3, 200), 150);
  EXPECT_EQ(ConversionRateBp(1, 30000), 0);  // 0.33 bp
  EXPECT_EQ(ConversionRateBp(2, 3), 6666);
  EXPECT_EQ(ConversionRateBp(5, 0), 0);
  EXPECT_EQ(AverageOrderValueFen(1001, 3), 333);
  EXPECT_EQ(AverageOrderValueFen(1001, 0), 0);
}

TEST(ReportMathTest, AverageConcurrencyIsWatchTimeOverDuration) {
  EXPECT_DOUBLE_EQ(AverageConcurrency(90 * 1000, 60), 1.5);  // 90 viewer-seconds in a minute
  EXPECT_DOUBLE_EQ(AverageConcurrency(0, 60), 0);
  EXPECT_DOUBLE_EQ(AverageConcurrency(5000, 0), 0);  // no duration yet
}

// Order: line 0 two of product 7 at 100, line 1 one of product 8 at 300.
const std::vector<OrderLineAmounts> kLines = {{7, 2, 100}, {8, 1, 300}};

TEST(ReportRefundTest, NamedLinesGoToTheirProductsAndTheRestToWhatIsLeft) {
  RefundOfOrder one_of_seven{100, {{0, 1}}};
  auto first = LastRefundByProduct(kLines, {one_of_seven});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[7].refunds_fen, 100);
  EXPECT_FALSE(first[7].completed);
  // Then everything left: the other unit of 7 and all of 8, each product completed once.
  RefundOfOrder rest{400, {}};
  auto second = LastRefundByProduct(kLines, {one_of_seven, rest});
  EXPECT_EQ(second[7].refunds_fen, 100);
  EXPECT_TRUE(second[7].completed);
  EXPECT_EQ(second[8].refunds_fen, 300);
  EXPECT_TRUE(second[8].completed);
}

TEST(ReportRefundTest, AnAmountWithoutLinesIsSharedByWhatIsLeft) {
  auto shares = LastRefundByProduct(kLines, {{250, {}}});
  EXPECT_EQ(shares[7].refunds_fen, 100);  // 250 x 200 / 500
  EXPECT_EQ(shares[8].refunds_fen, 150);  // 250 x 300 / 500
  EXPECT_FALSE(shares[7].completed);
  // A failed refund (amount 0) gives nothing back.
  EXPECT_TRUE(LastRefundByProduct(kLines, {{250, {}}, {0, {}}}).empty());
}

TEST(ReportRefundTest, SharesAlwaysSumToTheRefund) {
  std::vector<OrderLineAmounts> lines = {{1, 3, 333}, {2, 7, 101}, {1, 1, 9999}, {3, 2, 1}};
  for (int64_t amount = 1; amount <= 2000; amount += 7) {
    auto shares = LastRefundByProduct(lines, {{amount, {}}});
    int64_t sum = 0;
    for (const auto& [product, share] : shares) sum += share.refunds_fen;
    ASSERT_EQ(sum, amount) << amount;
  }
}

TEST(ReportMathTest, PearsonMatchesKnownValues) {
  // x 1..5 against 2, 4, 5, 4, 5: r = 6 / sqrt(60).
  EXPECT_NEAR(Pearson({1, 2, 3, 4, 5}, {2, 4, 5, 4, 5}), 0.7745966692, 1e-9);
  EXPECT_NEAR(Pearson({1, 2, 3}, {7, 5, 3}), -1.0, 1e-12);
  EXPECT_EQ(Pearson({1, 2, 3}, {4, 4, 4}), 0);  // no variance
  EXPECT_EQ(Pearson({1}, {2}), 0);
}

TEST(ReportMathTest, CorrelationSkipsSessionsWithoutReach) {
  std::vector<SessionRow> rows = {Row(1, 200, 2, 0), Row(2, 10000, 1, 0), Row(3, 5000, 2, 0),
                                  Row(4, 0, 0, 0)};
  Correlation c = ReachConversionCorrelation(rows);
  EXPECT_EQ(c.sample_size, 3);
  EXPECT_NEAR(c.r, -0.8733587925, 1e-9);  // computed independently
}

TEST(ReportMathTest, SortsAsAskedWithNewestBreakingTies) {
  std::vector<SessionRow> rows = {Row(1, 200, 2, 500), Row(2, 10000, 1, 900), Row(3, 300, 3, 500)};
  Sort(rows, v1::SESSION_SORT_REACH);
  EXPECT_EQ(rows[0].session_id, 2);
  Sort(rows, v1::SESSION_SORT_CONVERSION);  // 3/300 = 2/200: newest first
  EXPECT_EQ(rows[0].session_id, 3);
  EXPECT_EQ(rows[1].session_id, 1);
  Sort(rows, v1::SESSION_SORT_GMV);
  EXPECT_EQ(rows[0].session_id, 2);
  Sort(rows, v1::SESSION_SORT_UNSPECIFIED);
  EXPECT_EQ(rows[0].session_id, 3);
}

TEST(ReportMathTest, SegmentsAndFilters) {
  SessionRow a = Row(1, 200, 2, 600000);
  a.visibility = v1::VISIBILITY_PRIVATE;
  a.audiences = (1u << v1::AUDIENCE_CLIENTS) | (1u << v1::AUDIENCE_PROSPECTS);
  SessionRow b = Row(2, 10000, 1, 50000);
  b.visibility = v1::VISIBILITY_PUBLIC;
  b.audiences = 1u << v1::AUDIENCE_FOLLOWERS;
  std::vector<v1::SegmentSummary> segments = Segments({a, b});
  int found = 0;
  for (const v1::SegmentSummary& s : segments) {
    if (s.dimension() == "audience" && s.value() == "AUDIENCE_PROSPECTS") {
      EXPECT_EQ(s.sessions(), 1);
      EXPECT_EQ(s.conversion_rate_bp(), 100);
      ++found;
    }
    if (s.dimension() == "objective") {
      EXPECT_EQ(s.sessions(), 2);
      EXPECT_EQ(s.reach(), 10200);
      EXPECT_EQ(s.gmv().amount_fen(), 650000);
      ++found;
    }
  }
  EXPECT_EQ(found, 2);
  v1::ListSessionReportsRequest filter;
  filter.set_audience(v1::AUDIENCE_CLIENTS);
  EXPECT_TRUE(Matches(a, filter));
  EXPECT_FALSE(Matches(b, filter));
  filter.set_audience(v1::AUDIENCE_UNSPECIFIED);
  filter.set_visibility(v1::VISIBILITY_PUBLIC);
  EXPECT_FALSE(Matches(a, filter));
  EXPECT_TRUE(Matches(b, filter));
}

TEST(ReportMathTest, CsvQuotesWhatNeedsQuoting) {
  SessionRow row = Row(7, 200, 2, 600000);
  row.title = "Spring \"private\", VIP";
  row.sales.refunds_fen = 250000;
  std::string csv = ToCsv({row});
  EXPECT_EQ(csv.rfind("session_id,room_id,title,", 0), 0u);
  EXPECT_NE(csv.find("\"Spring \"\"private\"\", VIP\""), std::string::npos) << csv;
  // Sales, then the (here empty) interaction and before-and-after columns.
  EXPECT_NE(csv.find(",600000,250000,350000,0,100,300000,0,0,0,0,0,0,0,0,0,0,0,0,0\r\n"),
            std::string::npos)
      << csv;
}

SessionRow Interacted(int64_t id, int64_t reach, int64_t buyers, int64_t interacting) {
  SessionRow row = Row(id, reach, buyers, 0);
  row.interaction = Interaction{12, 3, 480, interacting - 1, interacting};
  return row;
}

TEST(ReportInteractionTest, TheInteractionRateIsLikeTheConversionRate) {
  EXPECT_EQ(InteractionRateBp(5, 200), 250);
  EXPECT_EQ(InteractionRateBp(2, 3), 6666);   // rounded down
  EXPECT_EQ(InteractionRateBp(1, 30000), 0);  // 0.33 bp
  EXPECT_EQ(InteractionRateBp(7, 0), 0);      // nobody reached
  EXPECT_EQ(InteractionRateBp(0, 100), 0);
  v1::SessionReport out;
  ToProto(Interacted(9, 200, 2, 5), &out);
  EXPECT_EQ(out.comments(), 12);
  EXPECT_EQ(out.commenters(), 3);
  EXPECT_EQ(out.likes(), 480);
  EXPECT_EQ(out.likers(), 4);
  EXPECT_EQ(out.interacting_viewers(), 5);
  EXPECT_EQ(out.interaction_rate_bp(), 250);
  EXPECT_EQ(out.conversion_rate_bp(), 100);
  std::string csv = ToCsv({Interacted(9, 200, 2, 5)});
  EXPECT_NE(csv.find(",interacting_viewers,interaction_rate_bp,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",100,0,12,3,480,4,5,250,"), std::string::npos) << csv;
}

// Before and after the live: in the report row and the comparison's CSV, after interaction.
TEST(ReportEngagementTest, InvitationsReservationsRemindersAndTheReplayAreCarried) {
  SessionRow row = Row(11, 300, 4, 900000);
  row.engagement = Engagement{40, 12, 9, 25, 3, 2, 210000};
  v1::SessionReport out;
  ToProto(row, &out);
  EXPECT_EQ(out.invited(), 40);
  EXPECT_EQ(out.reserved(), 12);
  EXPECT_EQ(out.reminded(), 9);
  EXPECT_EQ(out.replay_viewers(), 25);
  EXPECT_EQ(out.replay_orders(), 3);
  EXPECT_EQ(out.replay_buyers(), 2);
  EXPECT_EQ(out.replay_gmv().amount_fen(), 210000);
  EXPECT_EQ(out.replay_gmv().currency(), "CNY");
  EXPECT_EQ(out.reach(), 300);  // replay viewers are not reach
  std::string csv = ToCsv({row});
  EXPECT_NE(csv.find(",invited,reserved,reminded,replay_viewers,replay_orders,replay_buyers,"
                     "replay_gmv_fen\r\n"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find(",40,12,9,25,3,2,210000\r\n"), std::string::npos) << csv;
}

TEST(ReportInteractionTest, SortsBySegmentsAndCorrelatesInteraction) {
  // Interaction rates: 1: 10/200 = 500 bp, 2: 100/10000 = 100 bp, 3: 15/300 = 500 bp, 4: no reach.
  std::vector<SessionRow> rows = {Interacted(1, 200, 2, 10), Interacted(2, 10000, 1, 100),
                                  Interacted(3, 300, 3, 15), Interacted(4, 0, 0, 3)};
  Sort(rows, v1::SESSION_SORT_INTERACTION);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].session_id, 3);  // ties with 1 exactly: newest first
  EXPECT_EQ(rows[1].session_id, 1);
  EXPECT_EQ(rows[2].session_id, 2);
  EXPECT_EQ(rows[3].session_id, 4);  // nobody reached: last
  int found = 0;
  for (const v1::SegmentSummary& s : Segments(rows)) {
    if (s.dimension() != "objective") continue;
    EXPECT_EQ(s.interacting_viewers(), 128);
    EXPECT_EQ(s.interaction_rate_bp(), 121);  // 128 / 10500
    ++found;
  }
  EXPECT_EQ(found, 1);
  // Interaction rate 0.05, 0.01, 0.05 against conversion 0.01, 0.0001, 0.01: r = 1.
  Correlation c = InteractionConversionCorrelation(rows);
  EXPECT_EQ(c.sample_size, 3);
  EXPECT_NEAR(c.r, 1.0, 1e-9);
  rows[0].interaction.interacting_viewers = 0;  // session 3 now interacts least
  EXPECT_LT(InteractionConversionCorrelation(rows).r, 1.0 - 1e-3);
}

}  // namespace
}  // namespace livecommerce::report
