// Commission arithmetic: splits and refunds over thousands of random amounts and rules, with exact
// sums, no negative sale entry, and refunds that restore the totals exactly.
#include "services/attribution/domain/commission.h"

#include <numeric>
#include <random>

#include "gtest/gtest.h"

namespace livecommerce::attribution {
namespace {

int64_t Sum(const std::vector<int64_t>& v) {
  return std::accumulate(v.begin(), v.end(), int64_t{0});
}

std::vector<int32_t> RandomBasisPoints(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> count(1, 8);
  int n = count(rng);
  std::vector<int32_t> bps;
  int left = kWholeBasisPoints;
  for (int i = 0; i < n && left > 0; ++i) {
    std::uniform_int_distribution<int> bp(1, std::min(left, i == 0 ? 3000 : left));
    bps.push_back(bp(rng));
    left -= bps.back();
  }
  return bps;
}

int64_t RandomAmount(std::mt19937_64& rng) {
  // Mostly everyday prices, sometimes tiny, sometimes huge.
  std::uniform_int_distribution<int> kind(0, 9);
  switch (kind(rng)) {
    case 0:
      return std::uniform_int_distribution<int64_t>(0, 100)(rng);
    case 1:
      return std::uniform_int_distribution<int64_t>(0, kMaxAmountFen)(rng);
    default:
      return std::uniform_int_distribution<int64_t>(1, 5000000000)(rng);
  }
}

TEST(AttributionSplitTest, SharesSumToThePoolAndStayWithinOneFenOfExact) {
  std::mt19937_64 rng(20261126);
  for (int trial = 0; trial < 20000; ++trial) {
    int64_t base = RandomAmount(rng);
    std::vector<int32_t> bps = RandomBasisPoints(rng);
    int32_t total_bp = std::accumulate(bps.begin(), bps.end(), 0);
    std::vector<int64_t> shares = SplitByBasisPoints(base, bps);
    ASSERT_EQ(shares.size(), bps.size());
    ASSERT_EQ(Sum(shares), SplitPool(base, total_bp)) << "base " << base;
    for (size_t i = 0; i < shares.size(); ++i) {
      ASSERT_GE(shares[i], 0);
      __int128 exact = static_cast<__int128>(base) * bps[i];
      int64_t floor = static_cast<int64_t>(exact / kWholeBasisPoints);
      ASSERT_TRUE(shares[i] == floor || shares[i] == floor + 1) << "base " << base << " line " << i;
    }
  }
}

TEST(AttributionSplitTest, IsDeterministicAndFavoursLargestRemainderThenEarlierLine) {
  // 100 fen at 3333/3333/3334 bp: exact 33.33, 33.33, 33.34; pool 100 -> one fen left over, to
  // the largest remainder (the third line).
  EXPECT_EQ(SplitByBasisPoints(100, {3333, 3333, 3334}), (std::vector<int64_t>{33, 33, 34}));
  // 1 fen at 5000/5000: exact 0.5 each, pool 1: the tie goes to the first line.
  EXPECT_EQ(SplitByBasisPoints(1, {5000, 5000}), (std::vector<int64_t>{1, 0}));
  // Pool is floor(base x sum / 10000): 999 fen at 10% = 99.9 -> 99; 59.94 and 39.96 -> the
  // leftover fen goes to the larger remainder.
  EXPECT_EQ(SplitByBasisPoints(999, {600, 400}), (std::vector<int64_t>{59, 40}));
  EXPECT_EQ(SplitByBasisPoints(0, {600, 400}), (std::vector<int64_t>{0, 0}));
}

TEST(AttributionSplitTest, HugeAmountsDoNotOverflow) {
  std::vector<int64_t> shares = SplitByBasisPoints(kMaxAmountFen, {9999, 1});
  EXPECT_EQ(Sum(shares), kMaxAmountFen);
  EXPECT_EQ(shares[1], kMaxAmountFen / 10000);
}

TEST(AttributionApportionTest, SumsExactlyInProportion) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 5000; ++trial) {
    int64_t total = RandomAmount(rng);
    std::vector<int64_t> weights;
    int n = std::uniform_int_distribution<int>(1, 6)(rng);
    for (int i = 0; i < n; ++i) weights.push_back(RandomAmount(rng));
    std::vector<int64_t> shares = Apportion(total, weights);
    ASSERT_EQ(Sum(shares), total);
    for (int64_t s : shares) ASSERT_GE(s, 0);
  }
  EXPECT_EQ(Apportion(10, {1, 1, 1}), (std::vector<int64_t>{4, 3, 3}));
  EXPECT_EQ(Apportion(10, {0, 0}), (std::vector<int64_t>{10, 0}));
}

TEST(AttributionRefundTest, PartialRefundsNeverOverReverseAndAFullRefundRestoresExactly) {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 5000; ++trial) {
    int64_t order = std::uniform_int_distribution<int64_t>(1, 100000000)(rng);
    std::vector<int32_t> bps = RandomBasisPoints(rng);
    std::vector<int64_t> sale = SplitByBasisPoints(order, bps);
    std::vector<int64_t> reversed(sale.size(), 0);
    int64_t refunded = 0;
    int refunds = std::uniform_int_distribution<int>(1, 5)(rng);
    for (int r = 0; r < refunds; ++r) {
      int64_t left = order - refunded;
      int64_t amount =
          r == refunds - 1 ? left : std::uniform_int_distribution<int64_t>(0, left)(rng);
      refunded += amount;
      std::vector<int64_t> rev = RefundReversals(sale, reversed, refunded, order);
      for (size_t i = 0; i < sale.size(); ++i) {
        ASSERT_LE(rev[i], 0);
        reversed[i] += rev[i];
        ASSERT_GE(sale[i] + reversed[i], 0) << "never reverses more than was credited";
        // Never more than the refunded share of the entry.
        __int128 share = static_cast<__int128>(sale[i]) * refunded / order;
        ASSERT_LE(-reversed[i], static_cast<int64_t>(share) + 0);
      }
    }
    ASSERT_EQ(refunded, order);
    for (size_t i = 0; i < sale.size(); ++i) {
      ASSERT_EQ(sale[i] + reversed[i], 0) << "a full refund restores the entry exactly";
    }
  }
}

TEST(AttributionSplitLinesTest, NamesTheFieldAtFault) {
  EXPECT_TRUE(ValidateSplitLines({{v1::RECIPIENT_ASSOCIATE, "", 500}}).ok());
  EXPECT_EQ(ValidateSplitLines({}).message(), "lines: must have at least one split line");
  absl::Status over =
      ValidateSplitLines({{v1::RECIPIENT_ASSOCIATE, "", 6000}, {v1::RECIPIENT_STORE, "", 4001}});
  EXPECT_EQ(over.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(over.message().find("lines:"), std::string::npos);
  EXPECT_EQ(ValidateSplitLines({{v1::RECIPIENT_STORE, "", 0}}).message(),
            "lines[0].basis_points: must be between 1 and 10000");
  EXPECT_EQ(ValidateSplitLines({{v1::RECIPIENT_NAMED_PARTY, "", 10}}).message(),
            "lines[0].party: must not be empty");
  EXPECT_EQ(ValidateSplitLines({{v1::RECIPIENT_UNSPECIFIED, "", 10}}).message(),
            "lines[0].recipient: is not a recipient");
  EXPECT_TRUE(ValidateSplitLines({{v1::RECIPIENT_ASSOCIATE, "", 10000}}).ok());
}

RuleSpec Rule(int64_t id, int version, v1::RuleScope scope, std::string scope_id, int64_t from_s,
              std::vector<SplitLineSpec> lines, std::optional<int64_t> to_s = std::nullopt) {
  RuleSpec r;
  r.id = id;
  r.version = version;
  r.scope = scope;
  r.scope_id = std::move(scope_id);
  r.effective_from = absl::FromUnixSeconds(from_s);
  if (to_s.has_value()) r.effective_to = absl::FromUnixSeconds(*to_s);
  r.lines = std::move(lines);
  return r;
}

TEST(AttributionRuleInForceTest, RoomBeatsCategoryBeatsBrandAndHighestVersionInForceWins) {
  std::vector<RuleSpec> rules = {
      Rule(1, 1, v1::RULE_SCOPE_BRAND, "", 0, {{v1::RECIPIENT_ASSOCIATE, "", 100}}),
      Rule(2, 2, v1::RULE_SCOPE_BRAND, "", 1000, {{v1::RECIPIENT_ASSOCIATE, "", 200}}, 2000),
      Rule(3, 1, v1::RULE_SCOPE_CATEGORY, "bags", 0, {{v1::RECIPIENT_ASSOCIATE, "", 300}}),
      Rule(4, 1, v1::RULE_SCOPE_ROOM, "9", 0, {{v1::RECIPIENT_ASSOCIATE, "", 400}}),
  };
  EXPECT_EQ(RuleInForce(rules, absl::FromUnixSeconds(500), "", "")->id, 1);
  EXPECT_EQ(RuleInForce(rules, absl::FromUnixSeconds(1000), "", "")->id, 2);
  EXPECT_EQ(RuleInForce(rules, absl::FromUnixSeconds(1999), "", "")->id, 2);
  EXPECT_EQ(RuleInForce(rules, absl::FromUnixSeconds(2000), "", "")->id, 1);  // v2 ended
  EXPECT_EQ(RuleInForce(rules, absl::FromUnixSeconds(500), "", "bags")->id, 3);
  EXPECT_EQ(RuleInForce(rules, absl::FromUnixSeconds(500), "9", "bags")->id, 4);
  EXPECT_EQ(RuleInForce({}, absl::FromUnixSeconds(500), "9", "bags"), nullptr);
}

TEST(AttributionSaleEntriesTest, SplitsPerRuleAndLeavesOutRecipientsTheOrderDoesNotHave) {
  std::vector<RuleSpec> rules = {
      Rule(1, 1, v1::RULE_SCOPE_BRAND, "", 0,
           {{v1::RECIPIENT_ASSOCIATE, "", 500},
            {v1::RECIPIENT_STORE, "", 200},
            {v1::RECIPIENT_HOST_ASSOCIATE, "", 100},
            {v1::RECIPIENT_ECOMMERCE_TEAM, "", 100},
            {v1::RECIPIENT_NAMED_PARTY, "Agency A", 50}}),
      Rule(2, 1, v1::RULE_SCOPE_CATEGORY, "watches", 0, {{v1::RECIPIENT_ASSOCIATE, "", 300}}),
  };
  Parties parties{7, 3, 0, 0};
  std::vector<EntryDraft> entries = SaleEntries(100001, {{60000, ""}, {40000, "watches"}}, rules,
                                                absl::FromUnixSeconds(10), "", parties);
  // Rule 1 governs 60001 fen (the extra fen by largest remainder), rule 2 40000 fen.
  ASSERT_EQ(entries.size(), 5u);  // no host: that line is left out
  EXPECT_EQ(entries[0].recipient, v1::RECIPIENT_ASSOCIATE);
  EXPECT_EQ(entries[0].recipient_id, "7");
  EXPECT_EQ(entries[0].base_fen, 60001);
  EXPECT_EQ(entries[1].recipient, v1::RECIPIENT_STORE);
  EXPECT_EQ(entries[1].recipient_id, "3");
  EXPECT_EQ(entries[2].recipient, v1::RECIPIENT_ECOMMERCE_TEAM);
  EXPECT_EQ(entries[2].line_no, 3);
  EXPECT_EQ(entries[3].recipient_id, "Agency A");
  EXPECT_EQ(entries[4].rule_id, 2);
  EXPECT_EQ(entries[4].amount_fen, 1200);
  int64_t rule1 = 0;
  for (int i = 0; i < 4; ++i) rule1 += entries[i].amount_fen;
  EXPECT_EQ(rule1, SplitPool(60001, 850));

  // No associate: only the team and party lines remain.
  std::vector<EntryDraft> organic =
      SaleEntries(100000, {}, rules, absl::FromUnixSeconds(10), "", Parties{});
  ASSERT_EQ(organic.size(), 2u);
  EXPECT_EQ(organic[0].recipient, v1::RECIPIENT_ECOMMERCE_TEAM);
  EXPECT_EQ(organic[0].amount_fen, 1000);
}

}  // namespace
}  // namespace livecommerce::attribution
