#include "gateway/server/alert_hub.h"

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <nlohmann/json.hpp>
#include <thread>

namespace livecommerce::gateway {
namespace {

using nlohmann::json;

// WatchAlerts as the attribution service does it (initial metadata at once, what is there, then
// what comes), scripted: a refusal, or an ending after what is there.
class FakeAttribution final : public v1::AttributionService::Service {
 public:
  grpc::Status WatchAlerts(grpc::ServerContext* context, const v1::WatchAlertsRequest* request,
                           grpc::ServerWriter<v1::WatchAlertsResponse>* writer) override {
    std::optional<grpc::Status> ending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto principal = context->client_metadata().find("x-lc-principal");
      principals_.push_back(principal == context->client_metadata().end()
                                ? ""
                                : std::string(principal->second.data(), principal->second.size()));
      after_ids_.push_back(request->after_id());
      if (refuse_.has_value()) return *refuse_;
      if (!endings_.empty()) {
        ending = endings_.front();
        endings_.pop_front();
      }
      ++active_;
    }
    context->AddInitialMetadata("x-lc-stream", "open");
    writer->SendInitialMetadata();
    int64_t after = request->after_id().empty() ? 0 : std::stoll(request->after_id());
    std::unique_lock<std::mutex> lock(mu_);
    while (!context->IsCancelled()) {
      v1::WatchAlertsResponse batch;
      for (const v1::Alert& a : alerts_) {
        if (std::stoll(a.id()) > after) *batch.add_alerts() = a;
      }
      if (batch.alerts_size() > 0) {
        after = std::stoll(batch.alerts(batch.alerts_size() - 1).id());
        lock.unlock();
        bool written = writer->Write(batch);
        lock.lock();
        if (!written) break;
        continue;
      }
      if (ending.has_value()) break;
      changed_.wait_for(lock, std::chrono::milliseconds(20));
    }
    --active_;
    if (context->IsCancelled()) ++cancelled_;
    changed_.notify_all();
    return ending.value_or(grpc::Status::OK);
  }

  void AddAlert(int id, const std::string& viewer) {
    v1::Alert a;
    a.set_id(std::to_string(id));
    a.set_associate_id("7");
    a.set_viewer_id(viewer);
    a.set_kind(v1::ALERT_KIND_ADDED_TO_CART);
    std::lock_guard<std::mutex> lock(mu_);
    alerts_.push_back(a);
    changed_.notify_all();
  }
  void EndNextWith(grpc::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    endings_.push_back(std::move(status));
  }
  void RefuseWith(grpc::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_ = std::move(status);
  }
  std::vector<std::string> after_ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return after_ids_;
  }
  std::vector<std::string> principals() {
    std::lock_guard<std::mutex> lock(mu_);
    return principals_;
  }
  int active() {
    std::lock_guard<std::mutex> lock(mu_);
    return active_;
  }
  int cancelled() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<v1::Alert> alerts_;
  std::deque<grpc::Status> endings_;
  std::optional<grpc::Status> refuse_;
  std::vector<std::string> after_ids_;
  std::vector<std::string> principals_;
  int active_ = 0;
  int cancelled_ = 0;
};

// Records what the hub sends. `written` tokens are kept until Flush (from the test's thread, as
// the server's sockets release them from their own), or held while `hold` is set.
class FakeSocket final : public AlertSocket {
 public:
  explicit FakeSocket(AlertSocketInfo info) : info_(std::move(info)) {}

  void Send(std::vector<std::shared_ptr<const std::string>> messages,
            std::shared_ptr<void> written) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& m : messages) messages_.push_back(json::parse(*m));
    if (written != nullptr) pending_.push_back(std::move(written));
  }
  void Close(uint16_t code, std::string reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (close_code_ == 0) {
      close_code_ = code;
      close_reason_ = std::move(reason);
    }
  }
  const AlertSocketInfo& info() const override { return info_; }

  void Flush() {
    std::vector<std::shared_ptr<void>> released;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (hold_) return;
      released.swap(pending_);
    }
    released.clear();  // outside the lock: the next read starts here
  }
  void Hold(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = hold;
  }
  std::vector<json> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }
  std::vector<std::string> types() {
    std::vector<std::string> out;
    for (const json& m : messages()) out.push_back(m["type"]);
    return out;
  }
  std::vector<std::string> alert_ids() {
    std::vector<std::string> out;
    for (const json& m : messages()) {
      if (m["type"] == "alert") out.push_back(m["alert"]["id"]);
    }
    return out;
  }
  std::pair<uint16_t, std::string> closed() {
    std::lock_guard<std::mutex> lock(mu_);
    return {close_code_, close_reason_};
  }

 private:
  AlertSocketInfo info_;
  std::mutex mu_;
  std::vector<json> messages_;
  std::vector<std::shared_ptr<void>> pending_;
  bool hold_ = false;
  uint16_t close_code_ = 0;
  std::string close_reason_;
};

class AlertHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    options_.retry_initial = absl::Milliseconds(20);
    options_.retry_max = absl::Milliseconds(200);
    options_.tick = absl::Milliseconds(10);
  }
  void TearDown() override {
    if (hub_ != nullptr) hub_->Stop();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  AlertHub& Hub() {
    if (hub_ == nullptr) {
      hub_ = std::make_unique<AlertHub>(
          server_->InProcessChannel(grpc::ChannelArguments()), slots_, metrics_,
          [this](const std::string& id) {
            std::lock_guard<std::mutex> lock(revoked_mu_);
            return revoked_ == id;
          },
          options_);
      hub_->Start();
    }
    return *hub_;
  }

  static AlertSocketInfo Info(std::string after_id = "") {
    AlertSocketInfo info;
    info.brand_id = "demo";
    info.associate_id = "7";
    info.principal = "principal-of-7";
    info.principal_key = "demo/associate/7";
    info.token_id = "tok-1";
    info.expires_at = absl::Now() + absl::Hours(1);
    info.after_id = std::move(after_id);
    return info;
  }

  // Polls `done` (flushing the socket) for up to 5 s.
  bool Eventually(FakeSocket& socket, const std::function<bool()>& done) {
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline) {
      socket.Flush();
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done();
  }

  FakeAttribution service_;
  std::unique_ptr<grpc::Server> server_;
  SocketSlots slots_{2};
  Metrics metrics_{std::vector<std::string>{}};
  AlertHubOptions options_;
  std::mutex revoked_mu_;
  std::string revoked_;
  std::unique_ptr<AlertHub> hub_;
};

TEST_F(AlertHubTest, SubscribesThenPushesEachAlertInOrderAsTheAssociate) {
  service_.AddAlert(1, "local-carol");
  service_.AddAlert(2, "local-dan");
  auto socket = std::make_shared<FakeSocket>(Info());
  Hub().Add(socket);
  ASSERT_TRUE(Eventually(*socket, [&] { return socket->alert_ids().size() == 2; }));
  service_.AddAlert(3, "local-carol");
  ASSERT_TRUE(Eventually(*socket, [&] { return socket->alert_ids().size() == 3; }));

  std::vector<json> messages = socket->messages();
  EXPECT_EQ(messages[0], json::parse(R"({"type":"subscribed","subscribed":{"associate_id":"7",)"
                                     R"("after_id":""}})"));
  EXPECT_EQ(socket->types(), (std::vector<std::string>{"subscribed", "alert", "alert", "alert"}));
  EXPECT_EQ(socket->alert_ids(), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(messages[1]["alert"]["viewer_id"], "local-carol");
  EXPECT_EQ(messages[1]["alert"]["kind"], "ALERT_KIND_ADDED_TO_CART");
  EXPECT_EQ(service_.principals(), (std::vector<std::string>{"principal-of-7"}));
  EXPECT_EQ(metrics_.sockets_open(SocketKind::kAlerts), 1);
  EXPECT_EQ(metrics_.alert_streams_open(), 1);
  EXPECT_EQ(socket->closed().first, 0);
}

TEST_F(AlertHubTest, StartsAfterTheClientsLastAlert) {
  service_.AddAlert(1, "a");
  service_.AddAlert(2, "b");
  auto socket = std::make_shared<FakeSocket>(Info("1"));
  Hub().Add(socket);
  ASSERT_TRUE(Eventually(*socket, [&] { return !socket->alert_ids().empty(); }));
  EXPECT_EQ(socket->alert_ids(), std::vector<std::string>{"2"});
  EXPECT_EQ(socket->messages()[0]["subscribed"]["after_id"], "1");
  EXPECT_EQ(service_.after_ids(), std::vector<std::string>{"1"});
}

TEST_F(AlertHubTest, ReopensAFailedStreamAfterTheLastAlertSent) {
  service_.AddAlert(1, "a");
  service_.EndNextWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "mysql down"));
  auto socket = std::make_shared<FakeSocket>(Info());
  Hub().Add(socket);
  ASSERT_TRUE(Eventually(*socket, [&] { return service_.after_ids().size() == 2; }));
  ASSERT_TRUE(Eventually(*socket, [&] { return socket->types().size() == 4; }));
  service_.AddAlert(2, "b");
  ASSERT_TRUE(Eventually(*socket, [&] { return socket->alert_ids().size() == 2; }));

  EXPECT_EQ(socket->types(), (std::vector<std::string>{"subscribed", "alert", "reconnecting",
                                                       "subscribed", "alert"}));
  json reconnecting = socket->messages()[2]["reconnecting"];
  EXPECT_EQ(reconnecting["code"], "UNAVAILABLE");
  EXPECT_GE(reconnecting["retry_in_ms"].get<int64_t>(), 16);
  EXPECT_EQ(service_.after_ids(), (std::vector<std::string>{"", "1"}));
  EXPECT_EQ(socket->messages()[3]["subscribed"]["after_id"], "1");
  EXPECT_EQ(socket->alert_ids(), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(socket->closed().first, 0);
}

TEST_F(AlertHubTest, AStreamEndingCleanlyIsReopenedToo) {
  service_.EndNextWith(grpc::Status::OK);
  auto socket = std::make_shared<FakeSocket>(Info());
  Hub().Add(socket);
  ASSERT_TRUE(Eventually(*socket, [&] { return service_.after_ids().size() == 2; }));
  ASSERT_TRUE(Eventually(*socket, [&] { return socket->types().size() == 3; }));
  EXPECT_EQ(socket->types(),
            (std::vector<std::string>{"subscribed", "reconnecting", "subscribed"}));
  EXPECT_EQ(socket->messages()[1]["reconnecting"]["code"], "OK");
}

TEST_F(AlertHubTest, ARefusalClosesTheSocketWithTheReasonAndIsNotRetried) {
  service_.RefuseWith(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "role: associates only"));
  auto socket = std::make_shared<FakeSocket>(Info());
  Hub().Add(socket);
  ASSERT_TRUE(Eventually(*socket, [&] { return socket->closed().first != 0; }));
  EXPECT_EQ(socket->closed(), std::make_pair(kClosePolicy, std::string("alerts: PERMISSION_DENIED: "
                                                                       "role: associates only")));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(service_.after_ids().size(), 1u);
  EXPECT_TRUE(socket->messages().empty());
}

TEST_F(AlertHubTest, RemovingTheSocketCancelsItsCallAndFreesItsSlot) {
  ASSERT_TRUE(slots_.TryReserve("demo/associate/7"));
  auto socket = std::make_shared<FakeSocket>(Info());
  Hub().Add(socket);
  ASSERT_TRUE(Eventually(*socket, [&] { return service_.active() == 1; }));
  Hub().Remove(socket.get());
  ASSERT_TRUE(Eventually(
      *socket, [&] { return service_.active() == 0 && metrics_.alert_streams_open() == 0; }));
  EXPECT_EQ(service_.cancelled(), 1);
  EXPECT_EQ(slots_.used("demo/associate/7"), 0);
  EXPECT_EQ(metrics_.sockets_open(SocketKind::kAlerts), 0);
  EXPECT_EQ(Hub().sockets(), 0u);
  // Nothing is reopened for a removed socket.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(service_.after_ids().size(), 1u);
}

TEST_F(AlertHubTest, ReadsTheNextBatchOnlyOnceTheSocketWroteThePrevious) {
  service_.AddAlert(1, "a");
  auto socket = std::make_shared<FakeSocket>(Info());
  socket->Hold(true);
  Hub().Add(socket);
  ASSERT_TRUE(Eventually(*socket, [&] { return socket->alert_ids().size() == 1; }));
  service_.AddAlert(2, "b");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(socket->alert_ids().size(), 1u) << "read on before the socket wrote its batch";
  socket->Hold(false);
  ASSERT_TRUE(Eventually(*socket, [&] { return socket->alert_ids().size() == 2; }));
}

TEST_F(AlertHubTest, ClosesWhenTheTokenExpiresOrIsRevoked) {
  AlertSocketInfo expiring = Info();
  expiring.expires_at = absl::Now() + absl::Milliseconds(100);
  auto expired = std::make_shared<FakeSocket>(expiring);
  AlertSocketInfo revocable = Info();
  revocable.token_id = "tok-2";
  auto revoked = std::make_shared<FakeSocket>(revocable);
  Hub().Add(expired);
  Hub().Add(revoked);
  ASSERT_TRUE(Eventually(*expired, [&] { return expired->closed().first != 0; }));
  EXPECT_EQ(expired->closed(), std::make_pair(kClosePolicy, std::string("token: expired")));
  EXPECT_EQ(revoked->closed().first, 0);
  {
    std::lock_guard<std::mutex> lock(revoked_mu_);
    revoked_ = "tok-2";
  }
  ASSERT_TRUE(Eventually(*revoked, [&] { return revoked->closed().first != 0; }));
  EXPECT_EQ(revoked->closed(), std::make_pair(kClosePolicy, std::string("token: revoked")));
}

TEST(AlertHubPureTest, RetryDelaysDoubleUpToTheCapWithJitter) {
  AlertHubOptions o;
  auto ms = [&](int failures, double jitter) {
    return absl::ToDoubleMilliseconds(AlertRetryDelay(failures, o, jitter));
  };
  EXPECT_NEAR(ms(1, 0.5), 500, 0.01);
  EXPECT_NEAR(ms(2, 0.5), 1000, 0.01);
  EXPECT_NEAR(ms(3, 0.5), 2000, 0.01);
  EXPECT_NEAR(ms(10, 0.5), 30000, 0.01);
  EXPECT_NEAR(ms(1000, 0.5), 30000, 0.01);
  EXPECT_NEAR(ms(1, 0.0), 400, 0.01);
  EXPECT_NEAR(ms(1, 0.999), 599.8, 0.01);
  EXPECT_NEAR(ms(1000, 0.999), 35988, 0.01);
}

TEST(AlertHubPureTest, WhichEndingsAreRetried) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::OK, grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::INTERNAL,
        grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::CANCELLED,
        grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::UNKNOWN}) {
    EXPECT_TRUE(AlertStreamRetryable(code)) << code;
  }
  for (grpc::StatusCode code :
       {grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::UNAUTHENTICATED,
        grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::NOT_FOUND,
        grpc::StatusCode::UNIMPLEMENTED, grpc::StatusCode::FAILED_PRECONDITION}) {
    EXPECT_FALSE(AlertStreamRetryable(code)) << code;
  }
}

TEST(AlertHubPureTest, CloseReasonsFitAFrameAndShowOnlySafeMessages) {
  EXPECT_EQ(AlertCloseReason(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "after_id: bad")),
            "alerts: INVALID_ARGUMENT: after_id: bad");
  EXPECT_EQ(AlertCloseReason(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "/x/y at 10.0.0.1")),
            "alerts: UNIMPLEMENTED");
  std::string long_message(200, 'x');
  long_message += "\xE4\xB8\xAD";  // a character that must not be cut in half
  std::string reason =
      AlertCloseReason(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, long_message));
  EXPECT_LE(reason.size(), 123u);
  std::string cjk = "associate: ";
  for (int i = 0; i < 100; ++i) cjk += "\xE4\xB8\xAD";
  reason = AlertCloseReason(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, cjk));
  EXPECT_LE(reason.size(), 123u);
  // Whole characters only: what follows the prefix is a whole number of 3-byte characters.
  size_t cjk_start = reason.find('\xE4');
  ASSERT_NE(cjk_start, std::string::npos);
  EXPECT_EQ((reason.size() - cjk_start) % 3, 0u) << reason;
}

TEST(AlertHubPureTest, MessagesCarryTheirTypeFirst) {
  v1::Alert alert;
  alert.set_id("42");
  alert.set_kind(v1::ALERT_KIND_PAID);
  alert.mutable_amount()->set_amount_fen(2590000);
  alert.mutable_amount()->set_currency("CNY");
  std::string text = AlertMessageJson(alert);
  EXPECT_EQ(text.rfind("{\"type\":\"alert\",\"alert\":{", 0), 0u) << text;
  json parsed = json::parse(text);
  EXPECT_EQ(parsed["alert"]["kind"], "ALERT_KIND_PAID");
  EXPECT_EQ(parsed["alert"]["amount"]["amount_fen"], "2590000");
  EXPECT_EQ(ReconnectingJson(grpc::StatusCode::UNAVAILABLE, absl::Milliseconds(512)),
            R"({"type":"reconnecting","reconnecting":{"code":"UNAVAILABLE","retry_in_ms":512}})");
  EXPECT_EQ(SubscribedJson("7", "41"),
            R"({"type":"subscribed","subscribed":{"associate_id":"7","after_id":"41"}})");
}

}  // namespace
}  // namespace livecommerce::gateway
