// Reservations and their WeChat reminders end to end: the room service over gRPC (in-process
// server) on the real Redis and MariaDB, the reminder worker, and a server in this process that
// answers as api.weixin.qq.com does: it counts the messages it delivered per user and template
// and enforces one-time consents (a second message on one consent is refused with 43101).
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "livecommerce/events/v1/events.pb.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/clock.h"
#include "services/common/events.h"
#include "services/common/grpc_server.h"
#include "services/common/http_client.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "services/common/sql.h"
#include "services/common/wechat/platform_client.h"
#include "services/room/api/room_service.h"
#include "services/room/jobs/reminder_sender.h"
#include "services/room/store/mysql_reservation_store.h"
#include "services/room/store/mysql_room_store.h"
#include "services/room/store/redis_presence_store.h"
#include "tests/integration/room/room_itest_base.h"
#include "tests/support/test_env.h"
#include "tests/support/test_http_server.h"

namespace livecommerce::room {
namespace {

namespace http = boost::beast::http;
using common::Principal;
using common::Role;
using Json = nlohmann::json;
using testing::TestAnswer;
using testing::TestHttpServer;

using itest::kBrand;
using itest::kT0;
constexpr char kAppId[] = "wx5f3a9c0d1e2b4a68";
constexpr char kSecret[] = "9f86d081884c7d659a2feaa0c55ad015";
constexpr char kTemplate[] = "tmpl-live-reminder_01";
constexpr char kSendPath[] = "/cgi-bin/message/subscribe/send";
constexpr char kTokenPath[] = "/cgi-bin/stable_token";

TestHttpServer::Response JsonAnswer(const Json& body) {
  return TestAnswer(http::status::ok, body.dump(), "application/json");
}

// api.weixin.qq.com for subscribeMessage.send: tokens "token-1", "token-2" ...; a send with a
// valid token is answered by the next scripted answer if any, else by the consent rules.
class FakeWechat {
 public:
  enum class Script { kThrottled, kBusy, kRevokeToken, kDeliverSlowly };

  FakeWechat()
      : server_([this](const TestHttpServer::Request& request) { return Handle(request); }) {}

  std::string url() const { return server_.url(); }
  int TokenRequests() const { return server_.Count(kTokenPath); }
  int SendRequests() const { return server_.Count(kSendPath); }

  void GrantConsent(const std::string& touser, int times = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    consents_[{touser, kTemplate}] += times;
  }
  int Delivered(const std::string& touser) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = delivered_.find({touser, kTemplate});
    return it == delivered_.end() ? 0 : it->second;
  }
  std::vector<Json> Messages() const {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }
  void Then(Script s) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(s);
  }
  void set_slow_delay(absl::Duration d) { slow_delay_ = d; }

 private:
  std::optional<TestHttpServer::Response> Handle(const TestHttpServer::Request& request) {
    std::string target(request.target());
    if (target == kTokenPath) {
      Json body = Json::parse(request.body(), nullptr, false);
      if (!body.is_object() || body.value("appid", "") != kAppId ||
          body.value("secret", "") != kSecret) {
        return JsonAnswer({{"errcode", 40125}, {"errmsg", "invalid appsecret"}});
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (current_.empty()) {
        current_ = absl::StrCat("token-", ++issued_);
        valid_.insert(current_);
      }
      return JsonAnswer({{"access_token", current_}, {"expires_in", 7200}});
    }
    std::string token;
    if (size_t q = target.find('?'); q != std::string::npos) {
      auto fields = common::ParseFormUrlEncoded(absl::string_view(target).substr(q + 1));
      if (fields.ok()) {
        for (const auto& [name, value] : *fields) {
          if (name == "access_token") token = value;
        }
      }
    }
    Json body = Json::parse(request.body(), nullptr, false);
    std::optional<Script> script;
    TestHttpServer::Response answer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (valid_.count(token) == 0) {
        return JsonAnswer({{"errcode", 40001}, {"errmsg", "invalid credential"}});
      }
      if (!script_.empty()) {
        script = script_.front();
        script_.pop_front();
      }
      if (script == Script::kRevokeToken) {
        // WeChat revoked the token (another process forced a refresh): refused once.
        valid_.erase(token);
        current_.clear();
        return JsonAnswer({{"errcode", 40001}, {"errmsg", "invalid credential"}});
      }
      if (script == Script::kThrottled) {
        return JsonAnswer({{"errcode", 45011}, {"errmsg", "api minute-quota reach limit"}});
      }
      if (script == Script::kBusy) {
        return JsonAnswer({{"errcode", -1}, {"errmsg", "system error"}});
      }
      answer = Deliver(body);
    }
    if (script == Script::kDeliverSlowly) {
      // Delivered, but the answer comes after the client gave up.
      absl::SleepFor(slow_delay_);
    }
    return answer;
  }

  TestHttpServer::Response Deliver(const Json& body) {
    std::pair<std::string, std::string> key{body.value("touser", ""),
                                            body.value("template_id", "")};
    int& left = consents_[key];
    if (left <= 0) {
      return JsonAnswer({{"errcode", 43101}, {"errmsg", "user refuse to accept the msg"}});
    }
    --left;
    ++delivered_[key];
    messages_.push_back(body);
    return JsonAnswer({{"errcode", 0}, {"errmsg", "ok"}, {"msgid", 1000 + messages_.size()}});
  }

  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, int> consents_;
  std::map<std::pair<std::string, std::string>, int> delivered_;
  std::vector<Json> messages_;
  std::deque<Script> script_;
  std::set<std::string> valid_;
  std::string current_;
  int issued_ = 0;
  absl::Duration slow_delay_ = absl::Seconds(2);
  TestHttpServer server_;  // last: its handler uses the members above
};

class ReservationTest : public itest::RoomItestBase {
 protected:
  void SetUp() override {
    redis_ = testing::ConnectTestRedis();
    mysql_ = testing::ConnectTestMysql({"room_event_outbox", "room_reminders", "room_reservations",
                                        "room_invites", "room_sessions", "rooms"});
    ASSERT_NE(redis_, nullptr);
    ASSERT_NE(mysql_, nullptr);
    // Longer than the template's 20 characters: the reminder's thing1 is cut to fit.
    room_title_ = "Spring private preview of the new leather collection";
  }

  // Starts the service (with `lead` before the start for BEFORE_START reminders) and a worker
  // sending through the fake WeChat (client timeout `timeout`).
  void Start(absl::Duration lead = absl::ZeroDuration(),
             absl::Duration timeout = absl::Milliseconds(500)) {
    rooms_ = std::make_unique<MysqlRoomStore>(*mysql_, &outbox_);
    reservations_ = std::make_unique<MysqlReservationStore>(*mysql_, &outbox_);
    presence_ = std::make_unique<RedisPresenceStore>(*redis_, absl::Seconds(30));
    ASSERT_TRUE(presence_->LoadScripts().ok());
    RoomServiceOptions options;
    options.reminder_lead = lead;
    service_ =
        std::make_unique<RoomServiceImpl>(*rooms_, *presence_, catalog_, clock_, codec_, options,
                                          nullptr, nullptr, nullptr, reservations_.get());
    Serve(*service_);

    common::wechat::WechatPlatformConfig config;
    config.base_url = wechat_.url();
    config.timeout = timeout;
    config.apps_by_brand[kBrand] = {kAppId, kSecret};
    fetcher_ = *common::BeastHttpFetcher::Create(common::wechat::WechatFetcherOptions(config));
    auto client = common::wechat::PlatformClient::Create(config, fetcher_.get(), &clock_);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    sender_ = std::make_unique<WechatReminderSender>(*client_);
    worker_ = MakeWorker("worker-1");
  }

  std::unique_ptr<ReminderWorker> MakeWorker(const std::string& owner) {
    ReminderWorkerOptions options;
    options.lease = absl::Seconds(60);
    options.retry.max_attempts = 3;
    options.retry.base_backoff = absl::Seconds(10);
    options.owner = owner;
    return std::make_unique<ReminderWorker>(*reservations_, *sender_, ReminderTemplates{}, clock_,
                                            options);
  }

  std::string IssueInvite(const std::string& room_id, const std::string& associate) {
    v1::IssueInvitesRequest request;
    request.set_room_id(room_id);
    request.set_cohort("VIP clients");
    request.set_associate_id(associate);
    request.set_count(1);
    v1::IssueInvitesResponse response;
    grpc::Status status = stub_->IssueInvites(As(Ops()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.invites(0).token();
  }

  grpc::Status Reserve(const Principal& viewer, const std::string& room_id,
                       const std::string& invite_token = "", v1::RoomReservation* out = nullptr,
                       bool accepted = true, const std::string& template_id = kTemplate) {
    v1::ReserveRoomRequest request;
    request.set_room_id(room_id);
    request.mutable_subscribe()->set_template_id(template_id);
    request.mutable_subscribe()->set_accepted(accepted);
    request.set_invite_token(invite_token);
    v1::ReserveRoomResponse response;
    grpc::Status status = stub_->ReserveRoom(As(viewer).get(), request, &response);
    if (out != nullptr) *out = response.reservation();
    return status;
  }

  grpc::Status Cancel(const Principal& viewer, const std::string& room_id) {
    v1::CancelReservationRequest request;
    request.set_room_id(room_id);
    v1::CancelReservationResponse response;
    return stub_->CancelReservation(As(viewer).get(), request, &response);
  }

  std::vector<v1::Reminder> Reminders(const std::string& room_id) {
    v1::ListRemindersRequest request;
    request.set_room_id(room_id);
    v1::ListRemindersResponse response;
    grpc::Status status = stub_->ListReminders(As(Ops()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.reminders().begin(), response.reminders().end()};
  }

  std::vector<v1::RoomReservation> Reservations(const Principal& caller, const std::string& room_id,
                                                grpc::Status* status_out = nullptr) {
    v1::ListReservationsRequest request;
    request.set_room_id(room_id);
    v1::ListReservationsResponse response;
    grpc::Status status = stub_->ListReservations(As(caller).get(), request, &response);
    if (status_out != nullptr) {
      *status_out = status;
    } else {
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
    return {response.reservations().begin(), response.reservations().end()};
  }

  FakeWechat wechat_;
  std::unique_ptr<common::RedisPool> redis_;
  std::unique_ptr<common::MysqlPool> mysql_;
  // The events the stores publish for the report (SessionAudienceBooked, ReminderSent), of one
  // type, in order.
  template <typename Message>
  std::vector<Message> Published() {
    std::vector<Message> out;
    EXPECT_TRUE(mysql_
                    ->Run([&](common::MysqlConnection& c) {
                      common::Sql(
                          c, "SELECT payload FROM room_event_outbox WHERE type = ? ORDER BY id",
                          Message().GetTypeName())
                          .ForEach([&](const common::SqlRow& row) {
                            Message m;
                            EXPECT_TRUE(m.ParseFromString(row.Bytes("payload")));
                            out.push_back(std::move(m));
                          });
                      return absl::OkStatus();
                    })
                    .ok());
    return out;
  }

  common::EventOutbox outbox_{"room", "room_event_outbox", {"report"}};
  std::unique_ptr<MysqlRoomStore> rooms_;
  std::unique_ptr<MysqlReservationStore> reservations_;
  std::unique_ptr<RedisPresenceStore> presence_;
  std::unique_ptr<RoomServiceImpl> service_;
  std::unique_ptr<common::BeastHttpFetcher> fetcher_;
  std::unique_ptr<common::wechat::PlatformClient> client_;
  std::unique_ptr<WechatReminderSender> sender_;
  std::unique_ptr<ReminderWorker> worker_;
};

TEST_F(ReservationTest, GoingLiveRemindsEachReservationOnceWithTheRoomsFields) {
  Start();
  std::string room = CreateRoom(v1::VISIBILITY_PUBLIC).id();
  wechat_.GrantConsent("o-anna");
  wechat_.GrantConsent("o-bea");
  ASSERT_TRUE(Reserve(Viewer("o-anna"), room).ok());
  ASSERT_TRUE(Reserve(Viewer("o-anna"), room).ok());  // twice: still one reservation
  ASSERT_TRUE(Reserve(Viewer("o-bea"), room).ok());
  EXPECT_EQ(worker_->RunOnce(), 0);  // nothing before the live
  ASSERT_FALSE(GoLive(room).empty());
  EXPECT_EQ(worker_->RunOnce(), 2);
  EXPECT_EQ(worker_->RunOnce(), 0);
  EXPECT_EQ(wechat_.Delivered("o-anna"), 1);
  EXPECT_EQ(wechat_.Delivered("o-bea"), 1);
  EXPECT_EQ(wechat_.SendRequests(), 2);
  Json sent = wechat_.Messages()[0];
  EXPECT_EQ(sent["template_id"], kTemplate);
  EXPECT_EQ(sent["page"], absl::StrCat("pages/room/index?room_id=", room, "&from=reminder"));
  EXPECT_EQ(sent["data"]["thing1"]["value"], "Spring private previ");  // 20 characters
  EXPECT_EQ(sent["data"]["time2"]["value"], "2027-01-15 17:00");       // kT0 + 1 h at UTC+8
  EXPECT_EQ(sent["data"]["thing3"]["value"], kBrand);
  for (const v1::Reminder& r : Reminders(room)) {
    EXPECT_EQ(r.kind(), v1::REMINDER_KIND_LIVE);
    EXPECT_EQ(r.state(), v1::REMINDER_STATE_SENT);
    EXPECT_EQ(r.attempts(), 1);
    EXPECT_FALSE(r.msgid().empty());
  }
  // The report is told who reserved as the session started, and each reminder that went out.
  auto booked = Published<events::v1::SessionAudienceBooked>();
  ASSERT_EQ(booked.size(), 1u);
  EXPECT_EQ(booked[0].reserved(), 2);
  EXPECT_EQ(absl::StrCat(booked[0].room_id()), room);
  auto sent_events = Published<events::v1::ReminderSent>();
  ASSERT_EQ(sent_events.size(), 2u);
  std::set<std::string> reminded;
  for (const auto& e : sent_events) {
    EXPECT_EQ(e.session_id(), booked[0].session_id());
    reminded.insert(e.viewer_id());
  }
  EXPECT_EQ(reminded, (std::set<std::string>{"o-anna", "o-bea"}));
  // Ending and going live again writes no second reminder.
  v1::EndSessionRequest end;
  end.set_room_id(room);
  v1::EndSessionResponse ended;
  ASSERT_TRUE(stub_->EndSession(As(Ops()).get(), end, &ended).ok());
  ASSERT_FALSE(GoLive(room).empty());
  EXPECT_EQ(worker_->RunOnce(), 0);
  EXPECT_EQ(Reminders(room).size(), 2u);

  v1::GetReservationRequest get;
  get.set_room_id(room);
  v1::GetReservationResponse mine;
  ASSERT_TRUE(stub_->GetReservation(As(Viewer("o-anna")).get(), get, &mine).ok());
  EXPECT_EQ(mine.reservation().reminder_state(), v1::REMINDER_STATE_SENT);
  EXPECT_TRUE(mine.reservation().viewer_id().empty());
}

TEST_F(ReservationTest, ACrashBetweenSendAndRecordStillRemindsExactlyOnce) {
  Start();
  std::string room = CreateRoom(v1::VISIBILITY_PUBLIC).id();
  wechat_.GrantConsent("o-anna");
  ASSERT_TRUE(Reserve(Viewer("o-anna"), room).ok());
  ASSERT_FALSE(GoLive(room).empty());
  // A worker claims the reminder, sends it, and dies before recording anything.
  auto claimed = reservations_->ClaimDue(clock_.Now(), absl::Seconds(60), 10, "crashed-worker");
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 1u);
  ASSERT_TRUE(sender_->Send(BuildReminderMessage((*claimed)[0], ReminderTemplates{})).ok());
  EXPECT_EQ(wechat_.Delivered("o-anna"), 1);
  // While its lease runs, nobody else touches the row.
  EXPECT_EQ(worker_->RunOnce(), 0);
  clock_.Advance(absl::Seconds(61));
  EXPECT_EQ(worker_->RunOnce(), 1);
  EXPECT_EQ(worker_->RunOnce(), 0);
  // WeChat refused the resend (the one-time consent was used by the first): recorded as sent.
  EXPECT_EQ(wechat_.Delivered("o-anna"), 1);
  EXPECT_EQ(wechat_.SendRequests(), 2);
  std::vector<v1::Reminder> reminders = Reminders(room);
  ASSERT_EQ(reminders.size(), 1u);
  EXPECT_EQ(reminders[0].state(), v1::REMINDER_STATE_SENT);
  EXPECT_EQ(reminders[0].attempts(), 2);
  EXPECT_EQ(reminders[0].last_errcode(), 43101);
  EXPECT_TRUE(reminders[0].sent_at().seconds() > 0);
  EXPECT_EQ(Published<events::v1::ReminderSent>().size(), 1u);  // told to the report once
  // The dead worker's late record is refused: the lease is no longer its.
  RecordedAttempt late;
  late.outcome.state = v1::REMINDER_STATE_SENT;
  EXPECT_EQ(reservations_
                ->RecordOutcome(std::stoll(reminders[0].id()), "crashed-worker", late, clock_.Now())
                .code(),
            absl::StatusCode::kAborted);
}

TEST_F(ReservationTest, ARefusedConsentIsFinalAndNeverRetried) {
  Start();
  std::string room = CreateRoom(v1::VISIBILITY_PUBLIC).id();
  ASSERT_TRUE(Reserve(Viewer("o-cleo"), room).ok());  // the fake holds no consent for her
  ASSERT_FALSE(GoLive(room).empty());
  EXPECT_EQ(worker_->RunOnce(), 1);
  clock_.Advance(absl::Hours(3));
  EXPECT_EQ(worker_->RunOnce(), 0);
  EXPECT_EQ(wechat_.SendRequests(), 1);
  std::vector<v1::Reminder> reminders = Reminders(room);
  ASSERT_EQ(reminders.size(), 1u);
  EXPECT_EQ(reminders[0].state(), v1::REMINDER_STATE_REFUSED);
  EXPECT_EQ(reminders[0].last_errcode(), 43101);
  EXPECT_EQ(reminders[0].attempts(), 1);
}

TEST_F(ReservationTest, ARefusedAccessTokenIsRenewedOnceAndTheSendRetried) {
  Start();
  std::string room = CreateRoom(v1::VISIBILITY_PUBLIC).id();
  wechat_.GrantConsent("o-anna");
  ASSERT_TRUE(Reserve(Viewer("o-anna"), room).ok());
  ASSERT_FALSE(GoLive(room).empty());
  wechat_.Then(FakeWechat::Script::kRevokeToken);
  EXPECT_EQ(worker_->RunOnce(), 1);
  EXPECT_EQ(wechat_.TokenRequests(), 2);
  EXPECT_EQ(wechat_.SendRequests(), 2);
  EXPECT_EQ(wechat_.Delivered("o-anna"), 1);
  std::vector<v1::Reminder> reminders = Reminders(room);
  ASSERT_EQ(reminders.size(), 1u);
  EXPECT_EQ(reminders[0].state(), v1::REMINDER_STATE_SENT);
  EXPECT_EQ(reminders[0].attempts(), 1);
}

TEST_F(ReservationTest, ThrottledAndBusySendsBackOffThenSend) {
  Start();
  std::string room = CreateRoom(v1::VISIBILITY_PUBLIC).id();
  wechat_.GrantConsent("o-anna");
  ASSERT_TRUE(Reserve(Viewer("o-anna"), room).ok());
  ASSERT_FALSE(GoLive(room).empty());
  wechat_.Then(FakeWechat::Script::kThrottled);
  wechat_.Then(FakeWechat::Script::kBusy);
  EXPECT_EQ(worker_->RunOnce(), 1);
  std::vector<v1::Reminder> reminders = Reminders(room);
  ASSERT_EQ(reminders.size(), 1u);
  EXPECT_EQ(reminders[0].state(), v1::REMINDER_STATE_PENDING);
  EXPECT_EQ(reminders[0].last_errcode(), 45011);
  EXPECT_EQ(reminders[0].due_at().seconds(), absl::ToUnixSeconds(clock_.Now() + absl::Seconds(10)));
  EXPECT_EQ(worker_->RunOnce(), 0);  // backing off
  clock_.Advance(absl::Seconds(11));
  EXPECT_EQ(worker_->RunOnce(), 1);  // busy (-1): backs off twice as long
  EXPECT_EQ(Reminders(room)[0].last_errcode(), -1);
  clock_.Advance(absl::Seconds(11));
  EXPECT_EQ(worker_->RunOnce(), 0);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(worker_->RunOnce(), 1);
  reminders = Reminders(room);
  EXPECT_EQ(reminders[0].state(), v1::REMINDER_STATE_SENT);
  EXPECT_EQ(reminders[0].attempts(), 3);
  EXPECT_EQ(wechat_.Delivered("o-anna"), 1);
}

TEST_F(ReservationTest, RetriesAreBoundedThenFailed) {
  Start();
  std::string room = CreateRoom(v1::VISIBILITY_PUBLIC).id();
  wechat_.GrantConsent("o-anna");
  ASSERT_TRUE(Reserve(Viewer("o-anna"), room).ok());
  ASSERT_FALSE(GoLive(room).empty());
  for (int i = 0; i < 3; ++i) wechat_.Then(FakeWechat::Script::kThrottled);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(worker_->RunOnce(), 1);
    clock_.Advance(absl::Minutes(5));
  }
  EXPECT_EQ(worker_->RunOnce(), 0);
  std::vector<v1::Reminder> reminders = Reminders(room);
  EXPECT_EQ(reminders[0].state(), v1::REMINDER_STATE_FAILED);
  EXPECT_EQ(reminders[0].attempts(), 3);
  EXPECT_EQ(wechat_.Delivered("o-anna"), 0);
}

TEST_F(ReservationTest, ASlowAnswerTimesOutAndTheResendIsRecordedAsSent) {
  Start(absl::ZeroDuration(), /*timeout=*/absl::Milliseconds(300));
  wechat_.set_slow_delay(absl::Seconds(1));
  std::string room = CreateRoom(v1::VISIBILITY_PUBLIC).id();
  wechat_.GrantConsent("o-anna");
  ASSERT_TRUE(Reserve(Viewer("o-anna"), room).ok());
  ASSERT_FALSE(GoLive(room).empty());
  wechat_.Then(FakeWechat::Script::kDeliverSlowly);
  absl::Time before = absl::Now();
  EXPECT_EQ(worker_->RunOnce(), 1);
  EXPECT_LT(absl::Now() - before, absl::Seconds(1));  // the worker did not wait for WeChat
  std::vector<v1::Reminder> reminders = Reminders(room);
  EXPECT_EQ(reminders[0].state(), v1::REMINDER_STATE_PENDING);
  EXPECT_EQ(reminders[0].last_errcode(), 0);
  clock_.Advance(absl::Seconds(11));
  EXPECT_EQ(worker_->RunOnce(), 1);
  reminders = Reminders(room);
  EXPECT_EQ(reminders[0].state(), v1::REMINDER_STATE_SENT);
  EXPECT_EQ(reminders[0].last_errcode(), 43101);
  EXPECT_EQ(wechat_.Delivered("o-anna"), 1);
}

TEST_F(ReservationTest, APrivateRoomNeedsItsInvite) {
  Start();
  std::string room = CreateRoom(v1::VISIBILITY_PRIVATE).id();
  std::string other = CreateRoom(v1::VISIBILITY_PRIVATE).id();
  std::string token = IssueInvite(room, "sa-lin");
  std::string other_token = IssueInvite(other, "sa-lin");
  EXPECT_EQ(Reserve(Viewer("o-anna"), room).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reserve(Viewer("o-anna"), room, other_token).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reserve(Viewer("o-anna"), room, "bm90LWEtdG9rZW4").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Another brand's viewer does not see the room at all.
  EXPECT_EQ(Reserve(Viewer("o-anna", "rival"), room, token).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Reservations(Ops(), room).empty());
  // Without the invite she cannot read the room's reservation either, nor cancel one.
  v1::GetReservationRequest get;
  get.set_room_id(room);
  v1::GetReservationResponse mine;
  EXPECT_EQ(stub_->GetReservation(As(Viewer("o-anna")).get(), get, &mine).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Cancel(Viewer("o-anna"), room).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::RoomReservation reservation;
  ASSERT_TRUE(Reserve(Viewer("o-anna"), room, token, &reservation).ok());
  EXPECT_EQ(reservation.associate_id(), "sa-lin");
  EXPECT_FALSE(reservation.invite_id().empty());
  // The invite is hers now: a second viewer with the same token is refused.
  EXPECT_EQ(Reserve(Viewer("o-bea"), room, token).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // She comes back without the token, and reads her reservation.
  EXPECT_TRUE(Reserve(Viewer("o-anna"), room).ok());
  ASSERT_TRUE(stub_->GetReservation(As(Viewer("o-anna")).get(), get, &mine).ok());
  EXPECT_EQ(mine.reservation().id(), reservation.id());
  EXPECT_EQ(mine.reservation().status(), v1::ROOM_RESERVATION_STATUS_RESERVED);
}

TEST_F(ReservationTest, CancellingBeforeTheStartCancelsTheReminders) {
  Start(/*lead=*/absl::Minutes(30));
  std::string room = CreateRoom(v1::VISIBILITY_PUBLIC).id();
  wechat_.GrantConsent("o-anna", 2);
  wechat_.GrantConsent("o-bea", 2);
  ASSERT_TRUE(Reserve(Viewer("o-anna"), room).ok());
  ASSERT_TRUE(Reserve(Viewer("o-bea"), room).ok());
  std::vector<v1::Reminder> reminders = Reminders(room);
  ASSERT_EQ(reminders.size(), 2u);
  EXPECT_EQ(reminders[0].kind(), v1::REMINDER_KIND_BEFORE_START);
  EXPECT_EQ(reminders[0].due_at().seconds(), absl::ToUnixSeconds(kT0 + absl::Minutes(30)));
  ASSERT_TRUE(Cancel(Viewer("o-anna"), room).ok());
  ASSERT_TRUE(Cancel(Viewer("o-anna"), room).ok());  // idempotent
  EXPECT_EQ(Cancel(Viewer("o-cleo"), room).error_code(), grpc::StatusCode::NOT_FOUND);
  clock_.Advance(absl::Minutes(31));
  EXPECT_EQ(worker_->RunOnce(), 1);  // only Bea's BEFORE_START
  ASSERT_FALSE(GoLive(room).empty());
  EXPECT_EQ(worker_->RunOnce(), 1);  // only Bea's LIVE
  EXPECT_EQ(wechat_.Delivered("o-anna"), 0);
  EXPECT_EQ(wechat_.Delivered("o-bea"), 2);
  std::map<std::string, std::vector<v1::ReminderState>> states;
  for (const v1::Reminder& r : Reminders(room)) states[r.viewer_id()].push_back(r.state());
  EXPECT_EQ(states["o-anna"], std::vector<v1::ReminderState>{v1::REMINDER_STATE_CANCELLED});
  EXPECT_EQ(states["o-bea"],
            (std::vector<v1::ReminderState>{v1::REMINDER_STATE_SENT, v1::REMINDER_STATE_SENT}));
  auto list = Reservations(Ops(), room);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].status(), v1::ROOM_RESERVATION_STATUS_CANCELLED);
  EXPECT_EQ(list[1].status(), v1::ROOM_RESERVATION_STATUS_RESERVED);
}

TEST_F(ReservationTest, GoingLiveSupersedesAPendingBeforeStartReminder) {
  Start(/*lead=*/absl::Minutes(30));
  std::string room = CreateRoom(v1::VISIBILITY_PUBLIC).id();
  wechat_.GrantConsent("o-anna");
  ASSERT_TRUE(Reserve(Viewer("o-anna"), room).ok());
  ASSERT_FALSE(GoLive(room).empty());  // early, before the BEFORE_START one was due
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(worker_->RunOnce(), 1);
  EXPECT_EQ(wechat_.Delivered("o-anna"), 1);
  std::map<v1::ReminderKind, v1::ReminderState> states;
  for (const v1::Reminder& r : Reminders(room)) states[r.kind()] = r.state();
  EXPECT_EQ(states[v1::REMINDER_KIND_BEFORE_START], v1::REMINDER_STATE_CANCELLED);
  EXPECT_EQ(states[v1::REMINDER_KIND_LIVE], v1::REMINDER_STATE_SENT);
}

TEST_F(ReservationTest, CancelAndReserveAreRefusedOnceLive) {
  Start();
  std::string room = CreateRoom(v1::VISIBILITY_PUBLIC).id();
  ASSERT_TRUE(Reserve(Viewer("o-anna"), room).ok());
  ASSERT_FALSE(GoLive(room).empty());
  EXPECT_EQ(Cancel(Viewer("o-anna"), room).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reserve(Viewer("o-bea"), room).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ReservationTest, ADeclinedConsentReservesWithoutAReminder) {
  Start();
  std::string room = CreateRoom(v1::VISIBILITY_PUBLIC).id();
  v1::RoomReservation reservation;
  ASSERT_TRUE(Reserve(Viewer("o-anna"), room, "", &reservation, /*accepted=*/false, "").ok());
  EXPECT_FALSE(reservation.reminder_consent());
  ASSERT_FALSE(GoLive(room).empty());
  EXPECT_EQ(worker_->RunOnce(), 0);
  EXPECT_TRUE(Reminders(room).empty());
}

TEST_F(ReservationTest, AnAssociateSeesOnlyTheirOwnClients) {
  Start();
  std::string room = CreateRoom(v1::VISIBILITY_PRIVATE).id();
  ASSERT_TRUE(Reserve(Viewer("o-anna"), room, IssueInvite(room, "sa-lin")).ok());
  ASSERT_TRUE(Reserve(Viewer("o-bea"), room, IssueInvite(room, "sa-mo")).ok());
  std::vector<v1::RoomReservation> lin = Reservations(Associate("sa-lin"), room);
  ASSERT_EQ(lin.size(), 1u);
  EXPECT_EQ(lin[0].viewer_id(), "o-anna");
  EXPECT_EQ(Reservations(Ops(), room).size(), 2u);
  EXPECT_TRUE(Reservations(Associate("sa-nobody"), room).empty());
  grpc::Status status;
  Reservations(Viewer("o-anna"), room, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  Reservations(Ops("rival"), room, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  // Paged.
  v1::ListReservationsRequest request;
  request.set_room_id(room);
  request.set_page_size(1);
  v1::ListReservationsResponse page;
  ASSERT_TRUE(stub_->ListReservations(As(Ops()).get(), request, &page).ok());
  EXPECT_EQ(page.reservations_size(), 1);
  EXPECT_FALSE(page.next_page_token().empty());
}

TEST_F(ReservationTest, BadFieldsAreRefusedByName) {
  Start();
  std::string room = CreateRoom(v1::VISIBILITY_PUBLIC).id();
  grpc::Status s = Reserve(Viewer("o-anna"), room, "", nullptr, true, "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("subscribe.template_id"), std::string::npos);
  s = Reserve(Viewer("o-anna"), room, "", nullptr, true, "bad template!");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("subscribe.template_id"), std::string::npos);
  s = Reserve(Viewer("o-anna"), "not-a-room");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("room_id"), std::string::npos);
  v1::ListReservationsRequest request;
  request.set_room_id(room);
  request.set_status(static_cast<v1::RoomReservationStatus>(42));
  v1::ListReservationsResponse response;
  s = stub_->ListReservations(As(Ops()).get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("status"), std::string::npos);
  EXPECT_TRUE(Reservations(Ops(), room).empty());
}

TEST_F(ReservationTest, TheSandboxSenderRecordsTheMessageInTheReminder) {
  Start();
  SandboxReminderSender sandbox;
  ReminderWorkerOptions options;
  options.owner = "sandbox";
  ReminderWorker worker(*reservations_, sandbox, ReminderTemplates{}, clock_, options);
  std::string room = CreateRoom(v1::VISIBILITY_PUBLIC).id();
  ASSERT_TRUE(Reserve(Viewer("o-anna"), room).ok());
  ASSERT_FALSE(GoLive(room).empty());
  EXPECT_EQ(worker.RunOnce(), 1);
  std::vector<v1::Reminder> reminders = Reminders(room);
  ASSERT_EQ(reminders.size(), 1u);
  EXPECT_EQ(reminders[0].state(), v1::REMINDER_STATE_SENT);
  Json recorded = Json::parse(reminders[0].sandbox_message(), nullptr, false);
  ASSERT_TRUE(recorded.is_object()) << reminders[0].sandbox_message();
  EXPECT_EQ(recorded["touser"], "o-anna");
  EXPECT_EQ(recorded["template_id"], kTemplate);
  EXPECT_EQ(recorded["page"], absl::StrCat("pages/room/index?room_id=", room, "&from=reminder"));
  EXPECT_EQ(recorded["data"]["time2"]["value"], "2027-01-15 17:00");
  EXPECT_EQ(wechat_.SendRequests(), 0);
}

}  // namespace
}  // namespace livecommerce::room
