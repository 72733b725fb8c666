// The attribution decision: protection and window edges, models, and the reasons given.
#include "services/attribution/domain/attribution_model.h"

#include "gtest/gtest.h"

namespace livecommerce::attribution {
namespace {

const absl::Time kPaid = absl::FromUnixSeconds(1800000000);
const AssociateRef kAlice{11, 1, true};
const AssociateRef kBob{12, 2, true};

TouchFact Touch(int64_t id, AssociateRef who, absl::Time at, std::string room = "") {
  return TouchFact{id, who, std::move(room), v1::CHANNEL_SHARE_LINK, at};
}

TEST(AttributionDecideTest, BoundAssociateWinsJustInsideProtectionAndNotAtItsEnd) {
  AttributionOptions options;
  AttributionFacts facts;
  facts.paid_at = kPaid;
  facts.binding = BindingFact{kAlice, kPaid - absl::Hours(24 * 30), kPaid + absl::Microseconds(1)};
  facts.touches = {Touch(5, kBob, kPaid - absl::Hours(1))};
  AttributionDecision d = Decide(facts, options);
  EXPECT_EQ(d.rule, v1::ATTRIBUTION_RULE_BOUND_CLIENT);
  EXPECT_EQ(d.associate.id, kAlice.id);
  EXPECT_NE(d.reason.find("bound to associate 11"), std::string::npos) << d.reason;

  facts.binding->protected_until = kPaid;  // protection ended exactly at payment
  d = Decide(facts, options);
  EXPECT_EQ(d.rule, v1::ATTRIBUTION_RULE_LAST_TOUCH);
  EXPECT_EQ(d.associate.id, kBob.id);
  EXPECT_NE(d.reason.find("binding to associate 11 ended"), std::string::npos) << d.reason;
}

TEST(AttributionDecideTest, LastTouchJustInsideTheWindowCountsAndJustOutsideDoesNot) {
  AttributionOptions options;
  AttributionFacts facts;
  facts.paid_at = kPaid;
  facts.touches = {Touch(1, kAlice, kPaid - options.window)};
  EXPECT_EQ(Decide(facts, options).associate.id, kAlice.id);
  facts.touches = {Touch(1, kAlice, kPaid - options.window - absl::Microseconds(1))};
  AttributionDecision d = Decide(facts, options);
  EXPECT_EQ(d.rule, v1::ATTRIBUTION_RULE_NO_TOUCH);
  EXPECT_EQ(d.associate.id, 0);
  EXPECT_EQ(d.channel, v1::CHANNEL_ORGANIC);
  // A touch after the payment does not count either.
  facts.touches = {Touch(1, kAlice, kPaid + absl::Microseconds(1))};
  EXPECT_EQ(Decide(facts, options).rule, v1::ATTRIBUTION_RULE_NO_TOUCH);
}

TEST(AttributionDecideTest, FirstTouchModelPicksTheEarliestAndSkipsAssociatesWhoLeft) {
  AttributionOptions options;
  AttributionFacts facts;
  facts.paid_at = kPaid;
  facts.room_id = "77";
  AssociateRef gone{13, 1, false};
  facts.touches = {Touch(1, gone, kPaid - absl::Hours(50), "77"),
                   Touch(2, kAlice, kPaid - absl::Hours(40)),
                   Touch(3, kBob, kPaid - absl::Hours(2), "77")};
  AttributionDecision last = Decide(facts, options);
  EXPECT_EQ(last.rule, v1::ATTRIBUTION_RULE_LAST_TOUCH);
  EXPECT_EQ(last.associate.id, kBob.id);
  EXPECT_EQ(last.touch_id, 3);
  EXPECT_EQ(last.inviting_associate_id, kBob.id);
  options.model = TouchModel::kFirstTouch;
  AttributionDecision first = Decide(facts, options);
  EXPECT_EQ(first.rule, v1::ATTRIBUTION_RULE_FIRST_TOUCH);
  EXPECT_EQ(first.associate.id, kAlice.id);
  EXPECT_EQ(first.touch_id, 2);
}

TEST(AttributionDecideTest, NoTouchIsCreditedToTheEventChannel) {
  AttributionFacts facts;
  facts.paid_at = kPaid;
  facts.event_channel = v1::CHANNEL_SEARCH;
  AttributionDecision d = Decide(facts, AttributionOptions{});
  EXPECT_EQ(d.rule, v1::ATTRIBUTION_RULE_NO_TOUCH);
  EXPECT_EQ(d.channel, v1::CHANNEL_SEARCH);
  EXPECT_NE(d.reason.find("no touch"), std::string::npos);
}

TEST(AttributionDecideTest, TheLinkCarriedAtCheckoutCountsAsTheLatestTouch) {
  AttributionFacts facts;
  facts.paid_at = kPaid;
  facts.touches = {Touch(4, kAlice, kPaid - absl::Hours(3))};
  facts.checkout_claim = TouchFact{0, kBob, "", v1::CHANNEL_QR_CODE, kPaid};
  AttributionDecision d = Decide(facts, AttributionOptions{});
  EXPECT_EQ(d.associate.id, kBob.id);
  EXPECT_EQ(d.touch_id, 0);
  EXPECT_EQ(d.channel, v1::CHANNEL_QR_CODE);
  EXPECT_NE(d.reason.find("carried at checkout"), std::string::npos) << d.reason;
}

}  // namespace
}  // namespace livecommerce::attribution
