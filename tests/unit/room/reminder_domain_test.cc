// Reminders' pure logic: what each WeChat answer does to a reminder, the template's fields and
// the templates' configuration.
#include <string>

#include "gtest/gtest.h"
#include "services/room/domain/reminder.h"

namespace livecommerce::room {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);
using Failure = SendResult::Failure;

SendResult Failed(Failure failure, std::optional<int64_t> errcode) {
  SendResult r;
  r.failure = failure;
  r.errcode = errcode;
  r.error = "x";
  return r;
}

TEST(ReminderOutcomeTest, ASendIsSent) {
  SendResult ok;
  ok.ok = true;
  ok.msgid = "m1";
  ReminderOutcome o = DecideReminderOutcome(ok, 1, false, RetryPolicy{}, kNow);
  EXPECT_EQ(o.state, v1::REMINDER_STATE_SENT);
  EXPECT_EQ(o.msgid, "m1");
  EXPECT_EQ(o.sent_at, kNow);
}

TEST(ReminderOutcomeTest, ARefusalIsFinal) {
  ReminderOutcome o =
      DecideReminderOutcome(Failed(Failure::kRefused, 43101), 1, false, RetryPolicy{}, kNow);
  EXPECT_EQ(o.state, v1::REMINDER_STATE_REFUSED);
  EXPECT_EQ(o.errcode, 43101);
  o = DecideReminderOutcome(Failed(Failure::kRefused, 40037), 1, true, RetryPolicy{}, kNow);
  EXPECT_EQ(o.state, v1::REMINDER_STATE_REFUSED);  // a bad template is no sign of a delivery
}

TEST(ReminderOutcomeTest, ConsentUsedUpAfterAnAttemptInFlightMeansItWasDelivered) {
  ReminderOutcome o =
      DecideReminderOutcome(Failed(Failure::kRefused, 43101), 2, true, RetryPolicy{}, kNow);
  EXPECT_EQ(o.state, v1::REMINDER_STATE_SENT);
  EXPECT_EQ(o.errcode, 43101);
  EXPECT_EQ(o.sent_at, kNow);
}

TEST(ReminderOutcomeTest, ThrottledAndBusyBackOffExponentiallyThenFail) {
  RetryPolicy p;
  p.max_attempts = 4;
  p.base_backoff = absl::Seconds(10);
  p.max_backoff = absl::Seconds(25);
  ReminderOutcome o = DecideReminderOutcome(Failed(Failure::kThrottled, 45011), 1, false, p, kNow);
  EXPECT_EQ(o.state, v1::REMINDER_STATE_PENDING);
  EXPECT_EQ(o.retry_at, kNow + absl::Seconds(10));
  EXPECT_FALSE(o.maybe_delivered);
  o = DecideReminderOutcome(Failed(Failure::kTransient, -1), 2, false, p, kNow);
  EXPECT_EQ(o.retry_at, kNow + absl::Seconds(20));
  EXPECT_FALSE(o.maybe_delivered);  // WeChat answered: nothing went out
  o = DecideReminderOutcome(Failed(Failure::kTransient, -1), 3, false, p, kNow);
  EXPECT_EQ(o.retry_at, kNow + absl::Seconds(25));  // capped
  o = DecideReminderOutcome(Failed(Failure::kThrottled, 45009), 1, false, p, kNow);
  EXPECT_EQ(o.retry_at, kNow + absl::Hours(1));  // the daily quota resets tomorrow
  o = DecideReminderOutcome(Failed(Failure::kTransient, -1), 4, false, p, kNow);
  EXPECT_EQ(o.state, v1::REMINDER_STATE_FAILED);
}

TEST(ReminderOutcomeTest, NoAnswerMayHaveBeenADelivery) {
  ReminderOutcome o = DecideReminderOutcome(Failed(Failure::kTransient, std::nullopt), 1, false,
                                            RetryPolicy{}, kNow);
  EXPECT_EQ(o.state, v1::REMINDER_STATE_PENDING);
  EXPECT_TRUE(o.maybe_delivered);
}

TEST(ReminderOutcomeTest, AConfigurationProblemFails) {
  ReminderOutcome o =
      DecideReminderOutcome(Failed(Failure::kFailed, std::nullopt), 1, false, RetryPolicy{}, kNow);
  EXPECT_EQ(o.state, v1::REMINDER_STATE_FAILED);
}

TEST(ReminderDataTest, FillsTheTemplateFromTheRoom) {
  ReminderTemplate t;
  t.status_key = "phrase4";
  ReminderRoom room{7, "maison", "春季私享会：全新皮具系列首发直播，欢迎预约观看", kNow, ""};
  auto data = ReminderData(t, room, v1::REMINDER_KIND_LIVE);
  EXPECT_EQ(data["thing1"], "春季私享会：全新皮具系列首发直播，欢迎预");  // 20 characters
  EXPECT_EQ(data["time2"], "2027-01-15 16:00");
  EXPECT_EQ(data["thing3"], "maison");
  EXPECT_EQ(data["phrase4"], "直播中");
  EXPECT_EQ(ReminderData(t, room, v1::REMINDER_KIND_BEFORE_START)["phrase4"], "即将开始");
  room.host_associate_id = "sa-lin";
  EXPECT_EQ(ReminderData(t, room, v1::REMINDER_KIND_LIVE)["thing3"], "sa-lin");
  t.host_name = "Maison Client Servi";
  EXPECT_EQ(ReminderData(t, room, v1::REMINDER_KIND_LIVE)["thing3"], "Maison Client Servi");
  EXPECT_EQ(ReminderPage(t, 7), "pages/room/index?room_id=7&from=reminder");
}

TEST(ReminderDataTest, FitsValuesToTheirKeysKind) {
  EXPECT_EQ(FitToKey("thing1", std::string(25, 'a')), std::string(20, 'a'));
  EXPECT_EQ(FitToKey("name2", "王小明王小明王小明王小明"), "王小明王小明王小明王");
  EXPECT_EQ(FitToKey("name2", std::string(25, 'b')), std::string(20, 'b'));
  EXPECT_EQ(FitToKey("phrase3", "即将开始了"), "即将开始了");
  EXPECT_EQ(FitToKey("phrase3", "即将开始了吗"), "即将开始了");
  EXPECT_EQ(FitToKey("character_string9", std::string(40, 'c')), std::string(32, 'c'));
  EXPECT_EQ(FitToKey("time4", "2027-01-15 16:00"), "2027-01-15 16:00");
}

TEST(ReminderTemplatesTest, ParsesEachBrandsTemplate) {
  auto parsed = ParseReminderTemplates(R"({"maison": {"template_id": "AbC_12-x",
      "page": "pages/live/room", "fields": {"title": "thing5", "status": "phrase1"},
      "host_name": "Maison"}})");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const ReminderTemplate& t = parsed->For("maison");
  EXPECT_EQ(t.template_id, "AbC_12-x");
  EXPECT_EQ(t.page, "pages/live/room");
  EXPECT_EQ(t.title_key, "thing5");
  EXPECT_EQ(t.time_key, "time2");
  EXPECT_EQ(t.status_key, "phrase1");
  EXPECT_TRUE(parsed->For("other").template_id.empty());
}

TEST(ReminderTemplatesTest, RefusesMalformedEntriesNamingBrandAndField) {
  for (const auto& [json, field] : std::vector<std::pair<std::string, std::string>>{
           {"[]", "JSON object"},
           {R"({"m": {}})", "template_id"},
           {R"({"m": {"template_id": "a b"}})", "template_id"},
           {R"({"m": {"template_id": "t", "page": "/pages/x?a=1"}})", "page"},
           {R"({"m": {"template_id": "t", "fields": {"price": "amount1"}}})", "fields.price"},
           {R"({"m": {"template_id": "t", "fields": {"title": "Thing 1"}}})", "fields.title"}}) {
    auto parsed = ParseReminderTemplates(json);
    ASSERT_FALSE(parsed.ok()) << json;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(field), std::string::npos) << parsed.status();
    EXPECT_NE(parsed.status().message().find("LC_REMINDER_TEMPLATES"), std::string::npos);
  }
}

TEST(ReminderTemplatesTest, TemplateIds) {
  EXPECT_TRUE(IsValidTemplateId("Xk9_-a"));
  EXPECT_FALSE(IsValidTemplateId(""));
  EXPECT_FALSE(IsValidTemplateId("a/b"));
  EXPECT_FALSE(IsValidTemplateId(std::string(129, 'a')));
}

}  // namespace
}  // namespace livecommerce::room
